import BerthCore
import BerthEngine
import BerthWorkloads

/// A StatefulSet as its controller sees it.
final class StatefulSetState {
  @exclusivity(unchecked) var object: StatefulSetObject
  @exclusivity(unchecked) var uid: UInt64
  /// The update revision's template (index into `Simulation.templates`) and its hash; and the
  /// current revision's hash (the one every pod had before the update began).
  @exclusivity(unchecked) var template: Int32
  @exclusivity(unchecked) var updateRevision: String
  @exclusivity(unchecked) var currentRevision: String
  /// Template per revision hash (pods being recreated at the current revision under OnDelete
  /// or a partition need its template).
  @exclusivity(unchecked) var revisions: [String: Int32] = [:]  // lookups only
  @exclusivity(unchecked) var history = RevisionHistory()
  @exclusivity(unchecked) var deleted = false
  /// Its pods not yet gone, by ordinal (lookups only).
  @exclusivity(unchecked) var pods: [Int: PodID] = [:]
  @exclusivity(unchecked) var recheck = Recheck()
  @exclusivity(unchecked) var status = Status()
  @exclusivity(unchecked) var series = -1

  struct Status: Equatable {
    var replicas = 0
    var ready = 0
    var current = 0
    var updated = 0
    var available = 0
  }

  init(object: StatefulSetObject, uid: UInt64, template: Int32, revision: String) {
    self.object = object
    self.uid = uid
    self.template = template
    updateRevision = revision
    currentRevision = revision
    revisions[revision] = template
  }
}

/// The StatefulSet controller (`pkg/controller/statefulset`): pods `<name>-<ordinal>` with
/// stable names, created in ordinal order and each only once the one before is Running and
/// Ready (OrderedReady) or all at once (Parallel); scaled down from the highest ordinal, one at
/// a time once the previous is gone (OrderedReady); failed pods deleted and made again under
/// the same name; a new revision rolled out from the highest ordinal down to the partition, one
/// pod at a time (RollingUpdate), or only as pods are deleted (OnDelete).
final class StatefulSetController: QueuedController {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) var rng: SplitMix64
  @exclusivity(unchecked) var sets: [StatefulSetState] = []
  @exclusivity(unchecked) private var index = ObjectIndex()
  @exclusivity(unchecked) var queue = WorkQueue()

  static let fields = [
    "replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas",
  ]

  init(_ sim: Simulation, rng: SplitMix64) {
    self.sim = sim
    self.rng = rng
  }

  var name: String { "statefulset-controller" }

  func find(namespace: String, name: String) -> Int? {
    index[namespace, name].flatMap { sets[$0].deleted ? nil : $0 }
  }

  func markDirty(_ i: Int) { queue.add(i) }

  func isPending(_ i: Int) -> Bool { queue.contains(i) }

  func podChanged(_ pod: PodID, of i: Int) {
    _ = sim.viewChange(pod)
    markDirty(i)
  }

  /// Creates a StatefulSet or replaces its spec; a new template is a new update revision.
  func apply(_ object: StatefulSetObject) {
    if let i = find(namespace: object.namespace, name: object.name) {
      let s = sets[i]
      if sim.templateIdentity[Int(s.template)] != sim.identityID(object.template.identity) {
        let hash = object.template.hash(collisionCount: 0)
        if let known = s.revisions[hash] {
          s.template = known
        } else {
          s.template = stamp(object.template, hash: hash)
          s.revisions[hash] = s.template
        }
        s.updateRevision = hash
        s.history.record(identity: sim.templateIdentity[Int(s.template)], template: s.template)
      }
      s.object = object
      markDirty(i)
      return
    }
    let hash = object.template.hash(collisionCount: 0)
    let s = StatefulSetState(
      object: object, uid: rng.next(), template: stamp(object.template, hash: hash),
      revision: hash)
    s.history.record(identity: sim.templateIdentity[Int(s.template)], template: s.template)
    sets.append(s)
    index[object.namespace, object.name] = sets.count - 1
    s.series = sim.recorder.series(
      kind: "StatefulSet", namespace: object.namespace, name: object.name, fields: Self.fields)
    markDirty(sets.count - 1)
  }

  private func stamp(_ t: PodTemplate, hash: String) -> Int32 {
    var template = t
    template.pod.labels["controller-revision-hash"] = hash
    return sim.addTemplate(template)
  }

  /// Deletes the StatefulSet; the garbage collector deletes its pods.
  func delete(_ i: Int) {
    let s = sets[i]
    guard !s.deleted else { return }
    s.deleted = true
    index[s.object.namespace, s.object.name] = nil
    s.recheck.cancel(sim.engine)
    // By ordinal (the garbage collector's order does not matter, but runs must repeat).
    for (_, p) in s.pods.sorted(by: { $0.key < $1.key }) { sim.deletePod(p) }
    markDirty(i)
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let i = Int(t.payload)
    sets[i].recheck.fired()
    markDirty(i)
  }

  private func recheck(_ i: Int, at time: Int64) {
    sets[i].recheck.ask(self, sim.engine, object: i, at: time)
  }

  // MARK: Pod state

  private func revision(_ s: StatefulSetState, _ pod: PodID) -> String {
    sim.cluster.pods.labelSets[sim.cluster.pods.labels[pod.index]]["controller-revision-hash"]
      ?? ""
  }

  private func isTerminating(_ pod: PodID) -> Bool { sim.cluster.pods.isTerminating(pod) }

  private func isRunningAndReady(_ pod: PodID) -> Bool {
    sim.cluster.pods.phase(of: pod) == .running && sim.isReady(pod)
  }

  /// Running, Ready for minReadySeconds; when not yet, a sync is asked for when it will be.
  private func isRunningAndAvailable(_ i: Int, _ pod: PodID) -> Bool {
    guard isRunningAndReady(pod) else { return false }
    let due = sim.cluster.pods.readyAt[pod.index] + sets[i].object.minReadySeconds * 1_000_000_000
    if due <= sim.now.nanoseconds { return true }
    recheck(i, at: due)
    return false
  }

  private func isFailed(_ pod: PodID) -> Bool {
    let phase = sim.cluster.pods.phase(of: pod)
    return phase == .failed || phase == .succeeded
  }

  private func isHealthy(_ i: Int, _ pod: PodID) -> Bool {
    isRunningAndAvailable(i, pod) && !isTerminating(pod)
  }

  // MARK: Sync

  /// `updateStatefulSet` (one pass of `defaultStatefulSetControl`): replicas in ordinal order,
  /// then the condemned ones in reverse, then the rolling update; OrderedReady stops at the
  /// first pod it must wait for.
  func sync(_ i: Int) {
    let s = sets[i]
    s.pods = s.pods.filter { !sim.isGone($0.value) }
    if s.deleted {
      publish(i, StatefulSetState.Status())
      return
    }
    defer { updateStatus(i) }
    let monotonic = !s.object.parallel
    let start = s.object.ordinalsStart
    let range = start..<(start + s.object.replicas)
    // Replicas: failed pods deleted (made again once gone), missing ones created.
    for ordinal in range {
      if let pod = s.pods[ordinal] {
        if isFailed(pod) && !isTerminating(pod) {
          sim.recorder.event(
            kind: "StatefulSet", namespace: s.object.namespace, name: s.object.name,
            type: .warning, reason: "RecreatingFailedPod",
            message:
              "StatefulSet \(s.object.namespace)/\(s.object.name) is recreating failed Pod \(sim.name(pod))"
          )
          delete(i, pod, reason: "")
          if monotonic { return }
          continue
        }
        if monotonic && (isTerminating(pod) || !isRunningAndAvailable(i, pod)) { return }
      } else {
        create(i, ordinal: ordinal)
        if monotonic { return }
      }
    }
    // Condemned: ordinals beyond the range, highest first.
    let condemned = s.pods.keys.filter { !range.contains($0) }.sorted(by: >)
    let firstUnhealthy = range.lazy.compactMap { s.pods[$0] }.first { !self.isHealthy(i, $0) }
    for ordinal in condemned {
      guard let pod = s.pods[ordinal] else { continue }
      if isTerminating(pod) {
        if monotonic { return }
        continue
      }
      if monotonic && !isRunningAndReady(pod) && firstUnhealthy != nil && firstUnhealthy != pod {
        return
      }
      delete(i, pod, reason: "delete")
      if monotonic { return }
    }
    guard case .rollingUpdate(let partition) = s.object.updateStrategy else { return }
    // Rolling update: from the highest ordinal down to the partition, one pod at a time.
    let updateMin = start + partition
    for ordinal in range.reversed() where ordinal >= updateMin {
      guard let pod = s.pods[ordinal] else { return }
      if revision(s, pod) != s.updateRevision && !isTerminating(pod) {
        delete(i, pod, reason: "update")
        return
      }
      if !isHealthy(i, pod) { return }
    }
  }

  /// A pod for the ordinal: the update revision's template, unless a partition or OnDelete
  /// keeps that ordinal at the current revision.
  private func create(_ i: Int, ordinal: Int) {
    let s = sets[i]
    var template = s.template
    let keepsCurrent: Bool
    switch s.object.updateStrategy {
    case .onDelete: keepsCurrent = false
    case .rollingUpdate(let partition): keepsCurrent = ordinal < s.object.ordinalsStart + partition
    }
    if keepsCurrent, let current = s.revisions[s.currentRevision] { template = current }
    var spec = sim.templates[Int(template)].pod
    spec.name = s.object.name + "-" + String(ordinal)
    spec.namespace = s.object.namespace
    spec.labels["statefulset.kubernetes.io/pod-name"] = spec.name
    spec.labels["apps.kubernetes.io/pod-index"] = String(ordinal)
    if spec.defaultSpreadSelector == nil { spec.defaultSpreadSelector = s.object.selector }
    let pod = sim.createPod(spec, template: template, ownerKind: .statefulSet, owner: Int32(i))
    sim.records[pod.index].completionIndex = Int32(ordinal)
    sim.records[pod.index].ownerView = OwnerView.active
    s.pods[ordinal] = pod
    sim.recorder.event(
      kind: "StatefulSet", namespace: s.object.namespace, name: s.object.name, type: .normal,
      reason: "SuccessfulCreate",
      message: "create Pod \(spec.name) in StatefulSet \(s.object.name) successful")
  }

  private func delete(_ i: Int, _ pod: PodID, reason: String) {
    let s = sets[i]
    sim.recorder.event(
      kind: "StatefulSet", namespace: s.object.namespace, name: s.object.name, type: .normal,
      reason: "SuccessfulDelete",
      message: "delete Pod \(sim.name(pod)) in StatefulSet \(s.object.name) successful")
    sim.deletePod(pod)
  }

  // MARK: Status

  /// `computeReplicaStatus`: pods not terminating count; current and updated by revision; once
  /// every replica is at the update revision, it becomes the current one.
  private func updateStatus(_ i: Int) {
    let s = sets[i]
    var st = StatefulSetState.Status()
    for (_, pod) in s.pods where !isTerminating(pod) && !sim.isGone(pod) {
      st.replicas += 1
      if isRunningAndReady(pod) {
        st.ready += 1
        if isRunningAndAvailable(i, pod) { st.available += 1 }
      }
      let r = revision(s, pod)
      if r == s.currentRevision { st.current += 1 }
      if r == s.updateRevision { st.updated += 1 }
    }
    if s.currentRevision != s.updateRevision && st.updated == s.object.replicas
      && st.ready == s.object.replicas && st.replicas == s.object.replicas
    {
      s.currentRevision = s.updateRevision
      st.current = st.updated
    }
    publish(i, st)
  }

  private func publish(_ i: Int, _ st: StatefulSetState.Status) {
    let s = sets[i]
    guard s.status != st else { return }
    s.status = st
    for (k, v) in [st.replicas, st.ready, st.current, st.updated, st.available].enumerated() {
      sim.recorder.set(series: s.series + k, v)
    }
  }
}
