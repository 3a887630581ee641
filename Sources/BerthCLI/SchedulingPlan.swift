import BerthCore
import BerthTraces

/// Which pods of a cluster dump a `berth schedule` run schedules, and what the others are.
///
/// As in a live cluster: a pod with `spec.nodeName` is already bound (the cluster holds it on
/// its node) and is not scheduled again; a pod whose `spec.schedulerName` names no profile of
/// the configuration is left pending for that other scheduler; every other pod goes through the
/// profile its `schedulerName` names, as kube-scheduler routes pods to its profiles.
struct SchedulingPlan {
  /// Per pod (cluster row), whether this run schedules it.
  let scheduled: [Bool]
  /// Per pod, the index of its profile (in the configuration's order) when it is scheduled.
  let profile: [Int?]
  /// Pods to schedule per profile, in the configuration's order.
  let podsPerProfile: [Int]
  let profileNames: [String]
  /// Per pod, the reason it is not scheduled, if it is not.
  let reason: [Reason?]
  /// Pods gated by `spec.schedulingGates` (never attempted while gated).
  let gated: [Bool]
  /// Scheduler names of pods left to other schedulers, with their counts, by name.
  let otherSchedulers: [(name: String, pods: Int)]

  enum Reason: Equatable {
    case alreadyBound
    /// For a scheduler that is not one of the configuration's profiles.
    case otherScheduler
  }

  /// - Parameter profileNames: the configuration's profiles' `schedulerName`s (distinct).
  init(pods: [PodSpec], profileNames: [String]) {
    precondition(Set(profileNames).count == profileNames.count, "profile names are distinct")
    var index: [String: Int] = [:]
    for (k, name) in profileNames.enumerated() { index[name] = k }
    var scheduled: [Bool] = []
    var profile: [Int?] = []
    var reason: [Reason?] = []
    var others: [String: Int] = [:]
    var perProfile = [Int](repeating: 0, count: profileNames.count)
    scheduled.reserveCapacity(pods.count)
    for p in pods {
      let k = p.nodeName.isEmpty ? index[p.schedulerName] : nil
      scheduled.append(k != nil)
      profile.append(k)
      if let k { perProfile[k] += 1 }
      if !p.nodeName.isEmpty {
        reason.append(.alreadyBound)
      } else if k == nil {
        reason.append(.otherScheduler)
        others[p.schedulerName, default: 0] += 1
      } else {
        reason.append(nil)
      }
    }
    self.scheduled = scheduled
    self.profile = profile
    podsPerProfile = perProfile
    self.profileNames = profileNames
    self.reason = reason
    gated = pods.map { !$0.schedulingGates.isEmpty }
    otherSchedulers = others.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  /// One line on what the input holds beyond pods to schedule.
  func summary(omitted: Manifest.Omitted) -> String {
    let bound = reason.filter { $0 == .alreadyBound }.count
    var toSchedule = "pods to schedule: \(scheduled.filter { $0 }.count)"
    if profileNames.count > 1 {
      toSchedule +=
        " ("
        + zip(profileNames, podsPerProfile).map { "\(Escaped($0)) \($1)" }.joined(separator: ", ")
        + ")"
    }
    var parts = [toSchedule, "already bound (spec.nodeName): \(bound)"]
    let others = otherSchedulers.reduce(0) { $0 + $1.pods }
    if others > 0 {
      parts.append(
        "left pending for other schedulers: \(others) ("
          + otherSchedulers.map { "\(Escaped($0.name)) \($0.pods)" }.joined(separator: ", ") + ")")
    }
    if omitted.finished > 0 {
      parts.append("finished (Succeeded/Failed, holding nothing): \(omitted.finished)")
    }
    if !omitted.boundToMissingNode.isEmpty {
      parts.append("bound to missing nodes, left out: \(omitted.boundToMissingNode.count)")
    }
    return parts.joined(separator: "  ")
  }

  /// Every pod's row for `--out`: the run's own rows for the pods it scheduled (a node,
  /// `unschedulable` or `preempted`), the node of a pod that was already bound, `gated` for a
  /// pod its gates kept from scheduling, and `pending` for one left to another scheduler.
  func placements(_ rows: [(pod: String, node: String)], cluster: Cluster) -> [(
    pod: String, node: String
  )] {
    var byName: [String: String] = [:]
    for r in rows { byName[r.pod] = r.node }
    return (0..<cluster.pods.count).map { p in
      let id = PodID(UInt32(p))
      let name = cluster.pods.name(id)
      switch reason[p] {
      case .alreadyBound?:
        return (name, cluster.pods.boundNode(id).map { cluster.nodes.name($0) } ?? "unschedulable")
      case .otherScheduler?:
        return (name, "pending")
      case nil:
        if gated[p] && !cluster.pods.isBound(id) { return (name, "gated") }
        return (name, byName[name] ?? "unschedulable")
      }
    }
  }
}
