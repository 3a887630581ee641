import BerthCore
import BerthEngine
import BerthWorkloads

/// A ReplicaSet as the controllers see it: its spec, the annotations the deployment controller
/// keeps on it, its pods and its status.
final class ReplicaSetState {
  var namespace: String
  var name: String
  var uid: UInt64
  var replicas: Int
  var selector: LabelSelector
  /// Index into `Simulation.templates`.
  var template: Int32
  var templateHash = ""
  var minReadySeconds: Int64
  /// The owning Deployment (index into the deployment controller's), or -1.
  var deployment: Int32 = -1
  /// `deployment.kubernetes.io/revision`.
  var revision = 0
  /// `deployment.kubernetes.io/desired-replicas` and `max-replicas`.
  var desiredReplicas: Int?
  var maxReplicas: Int?
  var created: VirtualTime
  /// Its pods not yet gone, oldest first.
  var pods: [PodID] = []
  var statusReplicas = 0
  var readyReplicas = 0
  var availableReplicas = 0
  var deleted = false
  var availabilityCheck: TimerHandle?
  /// Its first status series in the recorder.
  var series = -1
  /// The object as the user wrote it (nil for a Deployment's ReplicaSet).
  var document: ObjectDocument?

  init(
    namespace: String, name: String, uid: UInt64, replicas: Int, selector: LabelSelector,
    template: Int32, minReadySeconds: Int64, created: VirtualTime
  ) {
    self.namespace = namespace
    self.name = name
    self.uid = uid
    self.replicas = replicas
    self.selector = selector
    self.template = template
    self.minReadySeconds = minReadySeconds
    self.created = created
  }
}

/// The ReplicaSet controller (`pkg/controller/replicaset`): keeps `spec.replicas` pods that are
/// neither finished nor being deleted, creating pods from the template and deleting the ones
/// upstream's ranking puts first; counts ready and available pods into the status.
final class ReplicaSetController: Component {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  var rng: SplitMix64
  var sets: [ReplicaSetState] = []
  private var index = ObjectIndex()
  private var queue = WorkQueue()

  init(_ sim: Simulation, rng: SplitMix64) {
    self.sim = sim
    self.rng = rng
  }

  var name: String { "replicaset-controller" }

  func find(namespace: String, name: String) -> Int? {
    index[namespace, name].flatMap { sets[$0].deleted ? nil : $0 }
  }

  func isPending(_ i: Int) -> Bool { queue.contains(i) }

  func markDirty(_ i: Int) { queue.add(i) }

  /// A ReplicaSet the user wrote (created, or its spec replaced).
  func apply(_ object: ReplicaSetObject) {
    if let i = find(namespace: object.namespace, name: object.name) {
      let rs = sets[i]
      rs.replicas = object.replicas
      rs.minReadySeconds = object.minReadySeconds
      rs.template = sim.addTemplate(object.template)
      rs.document = object.document
      markDirty(i)
      return
    }
    let i = create(
      namespace: object.namespace, name: object.name, replicas: object.replicas,
      selector: object.selector, template: sim.addTemplate(object.template),
      minReadySeconds: object.minReadySeconds)
    sets[i].document = object.document
  }

  /// Creates a ReplicaSet; returns its index.
  func create(
    namespace: String, name: String, replicas: Int, selector: LabelSelector, template: Int32,
    minReadySeconds: Int64, deployment: Int32 = -1
  ) -> Int {
    let rs = ReplicaSetState(
      namespace: namespace, name: name, uid: rng.next(), replicas: replicas, selector: selector,
      template: template, minReadySeconds: minReadySeconds, created: sim.now)
    rs.deployment = deployment
    sets.append(rs)
    index[namespace, name] = sets.count - 1
    rs.series = sim.recorder.series(
      kind: "ReplicaSet", namespace: namespace, name: name, fields: Self.fields)
    markDirty(sets.count - 1)
    return sets.count - 1
  }

  static let fields = ["replicas", "readyReplicas", "availableReplicas"]

  /// Deletes the ReplicaSet; the garbage collector deletes its pods (background propagation).
  func delete(_ i: Int) {
    let rs = sets[i]
    guard !rs.deleted else { return }
    rs.deleted = true
    index[rs.namespace, rs.name] = nil
    for p in rs.pods { sim.deletePod(p) }
    sim.recorder.event(
      kind: "ReplicaSet", namespace: rs.namespace, name: rs.name, type: .normal,
      reason: "Deleted", message: "Deleted replica set \(rs.name)")
    markDirty(i)
  }

  func settle(_ engine: Engine) -> Bool {
    guard !queue.isEmpty else { return false }
    for i in queue.take() {
      queue.done(i)
      reconcile(i)
    }
    return true
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let i = Int(t.payload)
    sets[i].availabilityCheck = nil
    markDirty(i)
  }

  private func reconcile(_ i: Int) {
    let rs = sets[i]
    let known = rs.pods.count
    rs.pods.removeAll(where: sim.isGone)
    // The deployment controller hears of pods that are gone (Recreate waits for them).
    if rs.pods.count != known && rs.deployment >= 0 {
      sim.deployments.markDirty(Int(rs.deployment))
    }
    if rs.deleted {
      for p in rs.pods { sim.deletePod(p) }
      publish(i, replicas: 0, ready: 0, available: 0)
      return
    }
    var active = rs.pods.filter(sim.isActive)
    let diff = active.count - rs.replicas
    if diff < 0 {
      let template = sim.templates[Int(rs.template)]
      for _ in 0..<(-diff) {
        var spec = template.pod
        spec.name = uniqueName(prefix: rs.name + "-")
        spec.namespace = rs.namespace
        if spec.defaultSpreadSelector == nil { spec.defaultSpreadSelector = rs.selector }
        let pod = sim.createPod(
          spec, template: rs.template, ownerKind: .replicaSet, owner: Int32(i))
        rs.pods.append(pod)
        active.append(pod)
        sim.recorder.event(
          kind: "ReplicaSet", namespace: rs.namespace, name: rs.name, type: .normal,
          reason: "SuccessfulCreate", message: "Created pod: \(spec.name)")
      }
    } else if diff > 0 {
      for pod in podsToDelete(active, count: diff, of: rs) {
        sim.recorder.event(
          kind: "ReplicaSet", namespace: rs.namespace, name: rs.name, type: .normal,
          reason: "SuccessfulDelete", message: "Deleted pod: \(sim.name(pod))")
        sim.deletePod(pod)
      }
      active.removeAll(where: { !sim.isActive($0) })
    }
    // Status: ready pods, and those ready for minReadySeconds (available).
    var ready = 0
    var available = 0
    var nextAvailable = Int64.max
    let minReady = rs.minReadySeconds * 1_000_000_000
    let pods = sim.cluster.pods
    for p in active where sim.isReady(p) {
      ready += 1
      let due = pods.readyAt[p.index] + minReady
      if due <= sim.now.nanoseconds {
        available += 1
      } else {
        nextAvailable = min(nextAvailable, due)
      }
    }
    if nextAvailable != Int64.max {
      if let h = rs.availabilityCheck { sim.engine.cancel(h) }
      rs.availabilityCheck = sim.engine.schedule(
        self, at: VirtualTime(nanoseconds: nextAvailable), payload: UInt64(i))
    }
    publish(i, replicas: active.count, ready: ready, available: available)
  }

  private func publish(_ i: Int, replicas: Int, ready: Int, available: Int) {
    let rs = sets[i]
    guard
      rs.statusReplicas != replicas || rs.readyReplicas != ready
        || rs.availableReplicas != available
    else { return }
    rs.statusReplicas = replicas
    rs.readyReplicas = ready
    rs.availableReplicas = available
    sim.recorder.set(series: rs.series, replicas)
    sim.recorder.set(series: rs.series + 1, ready)
    sim.recorder.set(series: rs.series + 2, available)
    if rs.deployment >= 0 { sim.deployments.markDirty(Int(rs.deployment)) }
  }

  /// `generateName`: the prefix and five random characters, drawn again on a collision.
  func uniqueName(prefix: String) -> String {
    while true {
      let name = prefix + SafeName.suffix(&rng)
      if sim.cluster.pods.id(named: name) == nil { return name }
    }
  }

  /// `getPodsToDelete`: the first `count` of the active pods in upstream's ranking, where
  /// pods sharing a node with more pods of the same Deployment go first.
  private func podsToDelete(_ active: [PodID], count: Int, of rs: ReplicaSetState) -> [PodID] {
    guard count < active.count else { return active }
    // Related pods: those of every ReplicaSet of the same Deployment (or of this one).
    var related: [PodID] = rs.pods
    if rs.deployment >= 0 {
      related = sim.deployments.deployments[Int(rs.deployment)].replicaSets.flatMap {
        sets[$0].pods
      }
    }
    var onNode: [Int32: Int] = [:]  // lookups only
    for p in related {
      let n = sim.records[p.index].node
      if n >= 0 && sim.cluster.pods.isBound(p) { onNode[n, default: 0] += 1 }
    }
    let pods = sim.cluster.pods
    let now = sim.now.nanoseconds
    let keyed: [(PodDeletionKey, PodID)] = active.map { p in
      let bound = pods.isBound(p)
      let phase: PodDeletionKey.Phase =
        switch pods.phase(of: p) {
        case .running: .running
        case .unknown: .unknown
        default: .pending
        }
      let readyAt = pods.readyAt[p.index]
      return (
        PodDeletionKey(
          assigned: bound, phase: phase, ready: sim.isReady(p),
          colocated: bound ? onNode[sim.records[p.index].node] ?? 0 : 0,
          readySince: readyAt == PodTable.never ? nil : readyAt, restarts: pods.restarts[p.index],
          created: pods.createdAt[p.index], uid: sim.records[p.index].uid
        ).prepared(now: now), p
      )
    }
    let sorted = keyed.sorted { a, b in
      if PodDeletionKey.deletedFirst(a.0, b.0, now: now) { return true }
      if PodDeletionKey.deletedFirst(b.0, a.0, now: now) { return false }
      return a.1.rawValue < b.1.rawValue
    }
    return sorted.prefix(count).map(\.1)
  }
}
