import BerthCore
import BerthTraces

/// Which pods of a cluster dump a `berth schedule` run schedules, and what the others are.
///
/// As in a live cluster: a pod with `spec.nodeName` is already bound (the cluster holds it on
/// its node) and is not scheduled again; a pod whose `spec.schedulerName` names another
/// scheduler is left pending for it; every other pod goes through this run's profile.
struct SchedulingPlan {
  /// Per pod (cluster row), whether this run schedules it.
  let scheduled: [Bool]
  /// Per pod, the reason it is not scheduled, if it is not.
  let reason: [Reason?]
  /// Pods gated by `spec.schedulingGates` (never attempted while gated).
  let gated: [Bool]
  /// Scheduler names of pods left to other schedulers, with their counts, by name.
  let otherSchedulers: [(name: String, pods: Int)]

  enum Reason: Equatable {
    case alreadyBound
    /// For a scheduler this run does not run; `configured` when a profile of the
    /// configuration has that name (Berth runs the first profile only).
    case otherScheduler(configured: Bool)
  }

  init(pods: [PodSpec], schedulerName: String, profileNames: [String]) {
    var scheduled: [Bool] = []
    var reason: [Reason?] = []
    var others: [String: Int] = [:]
    scheduled.reserveCapacity(pods.count)
    for p in pods {
      if !p.nodeName.isEmpty {
        scheduled.append(false)
        reason.append(.alreadyBound)
      } else if p.schedulerName != schedulerName {
        scheduled.append(false)
        reason.append(.otherScheduler(configured: profileNames.contains(p.schedulerName)))
        others[p.schedulerName, default: 0] += 1
      } else {
        scheduled.append(true)
        reason.append(nil)
      }
    }
    self.scheduled = scheduled
    self.reason = reason
    gated = pods.map { !$0.schedulingGates.isEmpty }
    otherSchedulers = others.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
  }

  /// One line on what the input holds beyond pods to schedule.
  func summary(omitted: Manifest.Omitted) -> String {
    let bound = reason.filter { $0 == .alreadyBound }.count
    var parts = ["pods to schedule: \(scheduled.filter { $0 }.count)", "already bound (spec.nodeName): \(bound)"]
    let others = otherSchedulers.reduce(0) { $0 + $1.pods }
    if others > 0 {
      parts.append("left pending for other schedulers: \(others) ("
        + otherSchedulers.map { "\(Escaped($0.name)) \($0.pods)" }.joined(separator: ", ") + ")")
    }
    if omitted.finished > 0 { parts.append("finished (Succeeded/Failed, holding nothing): \(omitted.finished)") }
    if !omitted.boundToMissingNode.isEmpty { parts.append("bound to missing nodes, left out: \(omitted.boundToMissingNode.count)") }
    return parts.joined(separator: "  ")
  }

  /// Every pod's row for `--out`: the run's own rows for the pods it scheduled (a node,
  /// `unschedulable` or `preempted`), the node of a pod that was already bound, `gated` for a
  /// pod its gates kept from scheduling, and `pending` for one left to another scheduler.
  func placements(_ rows: [(pod: String, node: String)], cluster: Cluster) -> [(pod: String, node: String)] {
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
