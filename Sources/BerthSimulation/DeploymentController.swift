import BerthCore
import BerthEngine
import BerthWorkloads

/// A Deployment as its controller sees it.
final class DeploymentState {
  @exclusivity(unchecked) var object: DeploymentObject
  @exclusivity(unchecked) var uid: UInt64
  /// Index into `Simulation.templates` of the current template.
  @exclusivity(unchecked) var template: Int32
  /// Its ReplicaSets (indices into the ReplicaSet controller's), creation order.
  @exclusivity(unchecked) var replicaSets: [Int] = []
  @exclusivity(unchecked) var collisionCount: Int32 = 0
  @exclusivity(unchecked) var created: VirtualTime
  @exclusivity(unchecked) var deleted = false
  // status
  @exclusivity(unchecked) var replicas = 0
  @exclusivity(unchecked) var updatedReplicas = 0
  @exclusivity(unchecked) var readyReplicas = 0
  @exclusivity(unchecked) var availableReplicas = 0
  @exclusivity(unchecked) var unavailableReplicas = 0
  /// The Progressing condition: status, reason, lastUpdateTime.
  @exclusivity(unchecked) var progressing: (status: Bool, reason: String, updated: VirtualTime)?
  @exclusivity(unchecked) var available: Bool?
  @exclusivity(unchecked) var deadlineCheck: TimerHandle?
  /// When `deadlineCheck` fires.
  @exclusivity(unchecked) var deadlineDue = VirtualTime.zero
  @exclusivity(unchecked) var series = -1

  init(object: DeploymentObject, uid: UInt64, template: Int32, created: VirtualTime) {
    self.object = object
    self.uid = uid
    self.template = template
    self.created = created
  }
}

/// The Deployment controller (`pkg/controller/deployment`): RollingUpdate and Recreate
/// rollouts, proportional scaling of a rollout in progress, revisions and their history limit,
/// pause, and the Progressing and Available conditions — upstream's sync, step for step.
final class DeploymentController: QueuedController {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) var rng: SplitMix64
  @exclusivity(unchecked) var deployments: [DeploymentState] = []
  @exclusivity(unchecked) private var index = ObjectIndex()
  @exclusivity(unchecked) var queue = WorkQueue()

  init(_ sim: Simulation, rng: SplitMix64) {
    self.sim = sim
    self.rng = rng
  }

  var name: String { "deployment-controller" }
  private var sets: ReplicaSetController { sim.replicaSets }

  static let fields = [
    "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas",
  ]

  func find(namespace: String, name: String) -> Int? {
    index[namespace, name].flatMap {
      deployments[$0].deleted ? nil : $0
    }
  }

  func markDirty(_ i: Int) { queue.add(i) }

  func apply(_ object: DeploymentObject) {
    if let i = find(namespace: object.namespace, name: object.name) {
      let d = deployments[i]
      if d.object.template.identity != object.template.identity {
        d.template = sim.addTemplate(object.template)
      }
      d.object = object
      markDirty(i)
      return
    }
    let d = DeploymentState(
      object: object, uid: rng.next(), template: sim.addTemplate(object.template),
      created: sim.now)
    deployments.append(d)
    index[object.namespace, object.name] = deployments.count - 1
    d.series = sim.recorder.series(
      kind: "Deployment", namespace: object.namespace, name: object.name, fields: Self.fields)
    markDirty(deployments.count - 1)
  }

  func delete(_ i: Int) {
    let d = deployments[i]
    guard !d.deleted else { return }
    d.deleted = true
    index[d.object.namespace, d.object.name] = nil
    if let h = d.deadlineCheck { sim.engine.cancel(h) }
    for r in d.replicaSets { sets.delete(r) }
    publishStatus(i, replicas: 0, updated: 0, ready: 0, available: 0, unavailable: 0)
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let i = Int(t.payload)
    deployments[i].deadlineCheck = nil
    markDirty(i)
  }

  // MARK: syncDeployment

  func sync(_ i: Int) {
    let d = deployments[i]
    guard !d.deleted else { return }
    d.replicaSets.removeAll { sets.sets[$0].deleted }
    // `getAllReplicaSetsAndSyncRevision(false)`, which the scaling check and every path
    // after it start from (a rollout creates the new ReplicaSet if it is missing).
    let (new, old) = newAndOld(i, create: false)
    if d.object.paused || isScalingEvent(d, new: new, old: old) {
      scaleOnly(i, new: new, old: old)
      return
    }
    switch d.object.strategy {
    case .recreate: rolloutRecreate(i, new: new, old: old)
    case .rollingUpdate: rolloutRolling(i, new: new, old: old)
    }
  }

  private func rs(_ r: Int) -> ReplicaSetState { sets.sets[r] }

  private func maxSurge(_ d: DeploymentState) -> Int {
    DeploymentRules.maxSurge(d.object.strategy, replicas: d.object.replicas)
  }

  private func maxUnavailable(_ d: DeploymentState) -> Int {
    DeploymentRules.maxUnavailable(d.object.strategy, replicas: d.object.replicas)
  }

  /// The ReplicaSets ordered by creation (ties by name), as `ReplicaSetsByCreationTimestamp`.
  /// A Deployment's list is kept in creation order, so this mostly only checks.
  private func byCreation(_ list: [Int]) -> [Int] {
    func before(_ a: Int, _ b: Int) -> Bool {
      let x = rs(a)
      let y = rs(b)
      return x.created != y.created ? x.created < y.created : x.name < y.name
    }
    for k in list.indices.dropFirst() where before(list[k], list[k - 1]) {
      return list.sorted(by: before)
    }
    return list
  }

  /// `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the Deployment's.
  private func findNew(_ d: DeploymentState) -> Int? {
    let identity = sim.templateIdentity[Int(d.template)]
    return byCreation(d.replicaSets).first {
      sim.templateIdentity[Int(rs($0).template)] == identity
    }
  }

  /// `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet (its revision brought up to one
  /// past the old ones'), created if asked and missing; and the old ones.
  private func newAndOld(_ i: Int, create: Bool) -> (new: Int?, old: [Int]) {
    let d = deployments[i]
    let existing = findNew(d)
    let old = d.replicaSets.filter { $0 != existing }
    let maxOld = old.map { rs($0).revision }.max() ?? 0
    let revision = maxOld + 1
    if let n = existing {
      let r = rs(n)
      if r.revision < revision { r.revision = revision }
      if r.minReadySeconds != d.object.minReadySeconds {
        r.minReadySeconds = d.object.minReadySeconds
        sets.markDirty(n)
      }
      if d.progressing == nil { d.progressing = (true, "FoundNewReplicaSet", sim.now) }
      return (n, old)
    }
    guard create else { return (nil, old) }
    let allReplicas = old.map { rs($0).replicas }.reduce(0, +)
    let replicas = DeploymentRules.newReplicaSetReplicas(
      strategy: d.object.strategy, replicas: d.object.replicas, allReplicas: allReplicas,
      newReplicas: 0)
    var template = d.object.template
    var hash = template.hash(collisionCount: d.collisionCount)
    // A name taken by a ReplicaSet with another template is a hash collision: count it and
    // hash again, as upstream does.
    while let other = sets.find(namespace: d.object.namespace, name: d.object.name + "-" + hash),
      sim.templateIdentity[Int(rs(other).template)] != sim.templateIdentity[Int(d.template)]
    {
      d.collisionCount += 1
      hash = template.hash(collisionCount: d.collisionCount)
    }
    template.pod.labels["pod-template-hash"] = hash
    var selector = d.object.selector
    selector.matchLabels.append(LabelPair(key: "pod-template-hash", value: hash))
    selector.matchLabels.sort { $0.key < $1.key }
    let name = d.object.name + "-" + hash
    let n = sets.create(
      namespace: d.object.namespace, name: name, replicas: replicas, selector: selector,
      template: sim.addTemplate(template), minReadySeconds: d.object.minReadySeconds,
      deployment: Int32(i))
    let r = rs(n)
    r.templateHash = hash
    r.revision = revision
    r.desiredReplicas = d.object.replicas
    r.maxReplicas = d.object.replicas + maxSurge(d)
    d.replicaSets.append(n)
    if replicas > 0 {
      sim.recorder.event(
        kind: "Deployment", namespace: d.object.namespace, name: d.object.name, type: .normal,
        reason: "ScalingReplicaSet", message: "Scaled up replica set \(name) from 0 to \(replicas)")
    }
    d.progressing = (true, "NewReplicaSetCreated", sim.now)
    return (n, old)
  }

  /// `scaleReplicaSetAndRecordEvent`: returns whether the size changed.
  @discardableResult
  private func scale(_ r: Int, to n: Int, _ d: DeploymentState) -> Bool {
    let set = rs(r)
    let sizeChanged = set.replicas != n
    let desired = d.object.replicas
    let max = d.object.replicas + maxSurge(d)
    guard sizeChanged || set.desiredReplicas != desired || set.maxReplicas != max else {
      return false
    }
    set.desiredReplicas = desired
    set.maxReplicas = max
    if sizeChanged {
      let verb = n > set.replicas ? "up" : "down"
      sim.recorder.event(
        kind: "Deployment", namespace: d.object.namespace, name: d.object.name, type: .normal,
        reason: "ScalingReplicaSet",
        message: "Scaled \(verb) replica set \(set.name) from \(set.replicas) to \(n)")
      set.replicas = n
      sets.markDirty(r)
    }
    return sizeChanged
  }

  private func active(_ list: [Int]) -> [Int] { list.filter { rs($0).replicas > 0 } }

  /// `isScalingEvent`: an active ReplicaSet was last sized for another replica count.
  private func isScalingEvent(_ d: DeploymentState, new: Int?, old: [Int]) -> Bool {
    for r in old + (new.map { [$0] } ?? []) where rs(r).replicas > 0 {
      if let desired = rs(r).desiredReplicas, desired != d.object.replicas { return true }
    }
    return false
  }

  // MARK: sync (scaling, paused)

  private func scaleOnly(_ i: Int, new: Int?, old: [Int]) {
    let d = deployments[i]
    scaleProportionally(i, new: new, old: old)
    if d.object.paused { cleanup(i, old: old) }
    syncStatus(i, new: new, progress: false)
  }

  /// `scale`: one active ReplicaSet takes the whole count; a saturated new one lets the old go;
  /// a rolling update in progress spreads the change in proportion to the sizes.
  private func scaleProportionally(_ i: Int, new: Int?, old: [Int]) {
    let d = deployments[i]
    let replicas = d.object.replicas
    if let target = activeOrLatest(new: new, old: old) {
      if rs(target).replicas != replicas { scale(target, to: replicas, d) }
      return
    }
    if let n = new, isSaturated(d, n) {
      for r in active(old) { scale(r, to: 0, d) }
      return
    }
    guard case .rollingUpdate = d.object.strategy else { return }
    var all = active(old + (new.map { [$0] } ?? []))
    let current = all.map { rs($0).replicas }.reduce(0, +)
    let allowed = replicas > 0 ? replicas + maxSurge(d) : 0
    let toAdd = allowed - current
    all.sort { a, b in
      let x = rs(a)
      let y = rs(b)
      if x.replicas != y.replicas { return x.replicas > y.replicas }
      // Equal sizes: the newer first when adding, the older first when removing.
      if x.created != y.created { return toAdd > 0 ? x.created > y.created : x.created < y.created }
      return x.name < y.name
    }
    var added = 0
    var sizes = all.map { rs($0).replicas }
    if toAdd != 0 {
      for (k, r) in all.enumerated() {
        let set = rs(r)
        let fraction = DeploymentRules.replicaSetFraction(
          replicaSetReplicas: set.replicas, deploymentReplicas: replicas, maxSurge: maxSurge(d),
          annotatedMaxReplicas: set.maxReplicas, statusReplicas: d.replicas)
        let p = DeploymentRules.replicaSetProportion(
          replicaSetReplicas: set.replicas, fraction: fraction, toAdd: toAdd, added: added)
        sizes[k] = set.replicas + p
        added += p
      }
      if !all.isEmpty {
        sizes[0] = Swift.max(0, sizes[0] + toAdd - added)
      }
    }
    for (k, r) in all.enumerated() { scale(r, to: sizes[k], d) }
  }

  /// `FindActiveOrLatest`: the only active ReplicaSet; with none active, the new one or else
  /// the newest old one; nil when several are active.
  private func activeOrLatest(new: Int?, old: [Int]) -> Int? {
    if new == nil && old.isEmpty { return nil }
    let newestFirst = byCreation(old).reversed()
    let all = active(Array(newestFirst) + (new.map { [$0] } ?? []))
    switch all.count {
    case 0: return new ?? newestFirst.first
    case 1: return all[0]
    default: return nil
    }
  }

  private func isSaturated(_ d: DeploymentState, _ r: Int) -> Bool {
    let set = rs(r)
    return set.desiredReplicas == d.object.replicas && set.replicas == d.object.replicas
      && set.availableReplicas == d.object.replicas
  }

  // MARK: Rolling update

  private func rolloutRolling(_ i: Int, new existing: Int?, old: [Int]) {
    let d = deployments[i]
    guard let new = existing ?? newAndOld(i, create: true).new else { return }
    let all = old + [new]
    if reconcileNew(d, all: all, new: new) {
      syncStatus(i, new: new, progress: true)
      return
    }
    if reconcileOld(d, all: all, old: active(old), new: new) {
      syncStatus(i, new: new, progress: true)
      return
    }
    if isComplete(d, new: new) { cleanup(i, old: old) }
    syncStatus(i, new: new, progress: true)
  }

  private func reconcileNew(_ d: DeploymentState, all: [Int], new: Int) -> Bool {
    let replicas = d.object.replicas
    let current = rs(new).replicas
    if current == replicas { return false }
    if current > replicas { return scale(new, to: replicas, d) }
    let target = DeploymentRules.newReplicaSetReplicas(
      strategy: d.object.strategy, replicas: replicas,
      allReplicas: all.map { rs($0).replicas }.reduce(0, +), newReplicas: current)
    return scale(new, to: target, d)
  }

  private func reconcileOld(_ d: DeploymentState, all: [Int], old: [Int], new: Int) -> Bool {
    let oldCount = old.map { rs($0).replicas }.reduce(0, +)
    if oldCount == 0 { return false }
    let allCount = all.map { rs($0).replicas }.reduce(0, +)
    let minAvailable = d.object.replicas - maxUnavailable(d)
    let newUnavailable = rs(new).replicas - rs(new).availableReplicas
    let maxScaledDown = allCount - minAvailable - newUnavailable
    if maxScaledDown <= 0 { return false }
    // cleanupUnhealthyReplicas: old ReplicaSets' unavailable pods go first.
    var cleaned = 0
    for r in byCreation(old) {
      if cleaned >= maxScaledDown { break }
      let set = rs(r)
      if set.replicas == 0 || set.replicas == set.availableReplicas { continue }
      let down = min(maxScaledDown - cleaned, set.replicas - set.availableReplicas)
      scale(r, to: set.replicas - down, d)
      cleaned += down
    }
    // scaleDownOldReplicaSetsForRollingUpdate: then available ones, oldest first, as long as
    // enough stay available.
    let available = (old + [new]).map { rs($0).availableReplicas }.reduce(0, +)
    var scaledDown = 0
    if available > minAvailable {
      let total = available - minAvailable
      for r in byCreation(old) {
        if scaledDown >= total { break }
        let set = rs(r)
        if set.replicas == 0 { continue }
        let down = min(set.replicas, total - scaledDown)
        scale(r, to: set.replicas - down, d)
        scaledDown += down
      }
    }
    return cleaned + scaledDown > 0
  }

  // MARK: Recreate

  private func rolloutRecreate(_ i: Int, new existing: Int?, old: [Int]) {
    let d = deployments[i]
    var new = existing
    var scaledDown = false
    for r in active(old) where scale(r, to: 0, d) { scaledDown = true }
    if scaledDown {
      syncStatus(i, new: new, progress: true)
      return
    }
    // Old pods still running (or terminating) hold the new ones back.
    let oldRunning = old.contains { r in
      rs(r).pods.contains { !sim.isGone($0) && !sim.cluster.pods.phase(of: $0).isFinished }
    }
    if oldRunning {
      syncStatus(i, new: new, progress: true)
      return
    }
    if new == nil { new = newAndOld(i, create: true).new }
    guard let n = new else { return }
    scale(n, to: d.object.replicas, d)
    if isComplete(d, new: n) { cleanup(i, old: old) }
    syncStatus(i, new: n, progress: true)
  }

  // MARK: History and status

  /// `cleanupDeployment`: old ReplicaSets beyond `revisionHistoryLimit`, lowest revision
  /// first, are deleted once empty.
  private func cleanup(_ i: Int, old: [Int]) {
    let d = deployments[i]
    let diff = old.count - d.object.revisionHistoryLimit
    guard diff > 0 else { return }
    let byRevision = old.sorted { a, b in
      let x = rs(a)
      let y = rs(b)
      if x.revision != y.revision { return x.revision < y.revision }
      return x.created != y.created ? x.created < y.created : x.name < y.name
    }
    for r in byRevision.prefix(diff) {
      let set = rs(r)
      if set.statusReplicas != 0 || set.replicas != 0 { continue }
      sets.delete(r)
    }
    d.replicaSets.removeAll { sets.sets[$0].deleted }
  }

  /// `DeploymentComplete`.
  private func isComplete(_ d: DeploymentState, new: Int?) -> Bool {
    let s = computeStatus(d, new: new)
    return s.updated == d.object.replicas && s.replicas == d.object.replicas
      && s.available == d.object.replicas
  }

  private func computeStatus(_ d: DeploymentState, new: Int?) -> (
    replicas: Int, updated: Int, ready: Int, available: Int, unavailable: Int
  ) {
    var (replicas, ready, available, total) = (0, 0, 0, 0)
    for r in d.replicaSets {
      let set = rs(r)
      replicas += set.statusReplicas
      ready += set.readyReplicas
      available += set.availableReplicas
      total += set.replicas
    }
    return (
      replicas, new.map { rs($0).statusReplicas } ?? 0, ready, available,
      Swift.max(0, total - available)
    )
  }

  /// `syncRolloutStatus` (with `progress`) or `syncDeploymentStatus`: the counts, the
  /// Available condition and, during a rollout, the Progressing condition and its deadline.
  private func syncStatus(_ i: Int, new: Int?, progress: Bool) {
    let d = deployments[i]
    let s = computeStatus(d, new: new)
    let name = d.object.name
    let namespace = d.object.namespace
    d.available = s.available >= d.object.replicas - maxUnavailable(d)
    if progress && !d.object.paused {
      let newName = new.map { rs($0).name } ?? ""
      let complete =
        s.updated == d.object.replicas && s.replicas == d.object.replicas
        && s.available == d.object.replicas
      let alreadyComplete =
        s.replicas == s.updated && d.progressing?.reason == "NewReplicaSetAvailable"
      if !alreadyComplete {
        let oldReplicas = d.replicas - d.updatedReplicas
        let progressed =
          s.updated > d.updatedReplicas || (s.replicas - s.updated) < oldReplicas
          || s.ready > d.readyReplicas || s.available > d.availableReplicas
        if complete {
          d.progressing = (true, "NewReplicaSetAvailable", sim.now)
        } else if progressed {
          d.progressing = (true, "ReplicaSetUpdated", sim.now)
        } else if let p = d.progressing, p.reason != "ProgressDeadlineExceeded",
          sim.now.nanoseconds > p.updated.nanoseconds + d.object.progressDeadlineSeconds
            * 1_000_000_000
        {
          d.progressing = (false, "ProgressDeadlineExceeded", sim.now)
          sim.recorder.event(
            kind: "Deployment", namespace: namespace, name: name, type: .warning,
            reason: "ProgressDeadlineExceeded",
            message: "ReplicaSet \"\(newName)\" has timed out progressing.")
        }
      }
      // requeueStuckDeployment: a second after the deadline would pass, unless the rollout
      // finished (a finished rollout that loses pods later is not stuck: its condition stays)
      // or timed out already. A check already due earlier stays (the deadline only moves
      // later; the sync it causes schedules the next): a rollout's every step needs no timer
      // of its own.
      var due: VirtualTime?
      if !complete, let p = d.progressing, p.status, p.reason != "NewReplicaSetAvailable" {
        let t = p.updated + .seconds(d.object.progressDeadlineSeconds + 1)
        if t > sim.now { due = t }
      }
      if let h = d.deadlineCheck, due == nil || d.deadlineDue > due! {
        sim.engine.cancel(h)
        d.deadlineCheck = nil
      }
      if let due, d.deadlineCheck == nil {
        d.deadlineCheck = sim.engine.schedule(self, at: due, payload: UInt64(i), daemon: true)
        d.deadlineDue = due
      }
    }
    publishStatus(
      i, replicas: s.replicas, updated: s.updated, ready: s.ready, available: s.available,
      unavailable: s.unavailable)
  }

  private func publishStatus(
    _ i: Int, replicas: Int, updated: Int, ready: Int, available: Int, unavailable: Int
  ) {
    let d = deployments[i]
    guard
      d.replicas != replicas || d.updatedReplicas != updated || d.readyReplicas != ready
        || d.availableReplicas != available || d.unavailableReplicas != unavailable
    else { return }
    d.replicas = replicas
    d.updatedReplicas = updated
    d.readyReplicas = ready
    d.availableReplicas = available
    d.unavailableReplicas = unavailable
    sim.recorder.set(series: d.series, replicas)
    sim.recorder.set(series: d.series + 1, updated)
    sim.recorder.set(series: d.series + 2, ready)
    sim.recorder.set(series: d.series + 3, available)
    sim.recorder.set(series: d.series + 4, unavailable)
  }

  // MARK: kubectl rollout undo

  /// The template of revision `to` (default: the previous one), with its hash label removed;
  /// nil when there is no such revision.
  func rollbackTemplate(_ i: Int, to revision: Int?) -> (ObjectDocument, Int)? {
    let d = deployments[i]
    let byRevision = d.replicaSets.sorted { rs($0).revision < rs($1).revision }
    let target: Int?
    if let revision {
      target = byRevision.first { rs($0).revision == revision }
    } else {
      target = byRevision.count >= 2 ? byRevision[byRevision.count - 2] : nil
    }
    guard let t = target else { return nil }
    var doc = sim.templates[Int(rs(t).template)].document
    if case .map(var labels) = doc.at(["metadata", "labels"]) ?? .null {
      labels.removeAll { $0.key == "pod-template-hash" }
      doc.set(["metadata", "labels"], .map(labels))
    }
    return (doc, rs(t).revision)
  }
}
