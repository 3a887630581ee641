import BerthCore
import BerthEngine
import BerthWorkloads

/// A ReplicaSet as the controllers see it: its spec, the annotations the deployment controller
/// keeps on it, its pods and its status.
final class ReplicaSetState {
  @exclusivity(unchecked) var namespace: String
  @exclusivity(unchecked) var name: String
  @exclusivity(unchecked) var uid: UInt64
  @exclusivity(unchecked) var replicas: Int
  @exclusivity(unchecked) var selector: LabelSelector
  /// Index into `Simulation.templates`.
  @exclusivity(unchecked) var template: Int32
  @exclusivity(unchecked) var templateHash = ""
  @exclusivity(unchecked) var minReadySeconds: Int64
  /// The owning Deployment (index into the deployment controller's), or -1.
  @exclusivity(unchecked) var deployment: Int32 = -1
  /// `deployment.kubernetes.io/revision`.
  @exclusivity(unchecked) var revision = 0
  /// `deployment.kubernetes.io/desired-replicas` and `max-replicas`.
  @exclusivity(unchecked) var desiredReplicas: Int?
  @exclusivity(unchecked) var maxReplicas: Int?
  @exclusivity(unchecked) var created: VirtualTime
  /// Its pods not yet gone (and some gone since the last reconcile: `gone` of them), oldest
  /// first.
  @exclusivity(unchecked) var pods: [PodID] = []
  /// Of `pods`: those neither finished nor being deleted (active), the active ones Ready, and
  /// the gone ones; kept as pods change (`ReplicaSetController.podChanged`).
  @exclusivity(unchecked) var active = 0
  @exclusivity(unchecked) var ready = 0
  @exclusivity(unchecked) var gone = 0
  @exclusivity(unchecked) var statusReplicas = 0
  @exclusivity(unchecked) var readyReplicas = 0
  @exclusivity(unchecked) var availableReplicas = 0
  @exclusivity(unchecked) var deleted = false
  @exclusivity(unchecked) var availabilityCheck: TimerHandle?
  /// The first pod made from its current template: later ones copy its row.
  @exclusivity(unchecked) var prototype: PodID?
  /// Its first status series in the recorder.
  @exclusivity(unchecked) var series = -1
  /// The object as the user wrote it (nil for a Deployment's ReplicaSet).
  @exclusivity(unchecked) var document: ObjectDocument?

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
final class ReplicaSetController: QueuedController {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) var rng: SplitMix64
  @exclusivity(unchecked) var sets: [ReplicaSetState] = []
  @exclusivity(unchecked) private var index = ObjectIndex()
  @exclusivity(unchecked) var queue = WorkQueue()
  /// Scratch: per node, pods of the family being ranked by `podsToDelete` (zero between calls).
  @exclusivity(unchecked) private var colocated: [Int32] = []

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

  /// New pods no longer copy the prototype's row (the template changed, or the set is gone).
  private func dropPrototype(_ rs: ReplicaSetState) {
    if let p = rs.prototype { sim.setPrototype(p, false) }
    rs.prototype = nil
  }

  /// A ReplicaSet the user wrote (created, or its spec replaced).
  func apply(_ object: ReplicaSetObject) {
    if let i = find(namespace: object.namespace, name: object.name) {
      let rs = sets[i]
      rs.replicas = object.replicas
      rs.minReadySeconds = object.minReadySeconds
      rs.template = sim.addTemplate(object.template)
      dropPrototype(rs)
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

  /// One of the ReplicaSet's pods changed: its counts follow, and it reconciles.
  func podChanged(_ pod: PodID, of i: Int) {
    let rs = sets[i]
    let (new, changed) = sim.viewChange(pod)
    if changed & OwnerView.active != 0 { rs.active += new & OwnerView.active != 0 ? 1 : -1 }
    if changed & OwnerView.ready != 0 { rs.ready += new & OwnerView.ready != 0 ? 1 : -1 }
    if changed & OwnerView.gone != 0 { rs.gone += new & OwnerView.gone != 0 ? 1 : -1 }
    markDirty(i)
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let i = Int(t.payload)
    sets[i].availabilityCheck = nil
    markDirty(i)
  }

  func sync(_ i: Int) {
    let rs = sets[i]
    if rs.gone > 0 {
      rs.pods.removeAll(where: sim.isGone)
      rs.gone = 0
      // The deployment controller hears of pods that are gone (Recreate waits for them).
      if rs.deployment >= 0 { sim.deployments.markDirty(Int(rs.deployment)) }
    }
    if rs.deleted {
      dropPrototype(rs)
      for p in rs.pods { sim.deletePod(p) }
      publish(i, replicas: 0, ready: 0, available: 0)
      return
    }
    let diff = rs.active - rs.replicas
    if diff < 0 {
      for _ in 0..<(-diff) {
        let name = uniqueName(prefix: rs.name + "-")
        let pod: PodID
        // A VPA recommendation that changed since the prototype was admitted: admit afresh.
        if let prototype = rs.prototype, !sim.verticalAutoscaling.isCurrent(prototype) {
          dropPrototype(rs)
        }
        if let prototype = rs.prototype {
          pod = sim.createPod(copying: prototype, name: name)
        } else {
          var spec = sim.templates[Int(rs.template)].pod
          spec.name = name
          spec.namespace = rs.namespace
          if spec.defaultSpreadSelector == nil { spec.defaultSpreadSelector = rs.selector }
          pod = sim.createPod(spec, template: rs.template, ownerKind: .replicaSet, owner: Int32(i))
          rs.prototype = pod
          sim.setPrototype(pod, true)
        }
        rs.pods.append(pod)
        sim.records[pod.index].ownerView = OwnerView.active
        rs.active += 1
        sim.recorder.event(
          kind: "ReplicaSet", namespace: rs.namespace, name: rs.name, type: .normal,
          reason: "SuccessfulCreate", message: "Created pod: \(name)")
      }
    } else if diff > 0 {
      for pod in podsToDelete(rs.pods.filter(sim.isActive), count: diff, of: i) {
        sim.recorder.event(
          kind: "ReplicaSet", namespace: rs.namespace, name: rs.name, type: .normal,
          reason: "SuccessfulDelete", message: "Deleted pod: \(sim.name(pod))")
        sim.deletePod(pod)
      }
    }
    // Status: ready pods, and those ready for minReadySeconds (available).
    var available = rs.ready
    if rs.minReadySeconds > 0 {
      available = 0
      var nextAvailable = Int64.max
      let minReady = rs.minReadySeconds * 1_000_000_000
      let pods = sim.cluster.pods
      for p in rs.pods where sim.records[p.index].ownerView & OwnerView.ready != 0 {
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
    }
    publish(i, replicas: rs.active, ready: rs.ready, available: available)
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
  /// - Complexity: O(related pods + active · log count).
  private func podsToDelete(_ active: [PodID], count: Int, of i: Int) -> [PodID] {
    guard count < active.count else { return active }
    let rs = sets[i]
    // Related pods: those of every ReplicaSet of the same Deployment (or of this one), counted
    // per node in a scratch column that is zeroed again before returning.
    let family =
      rs.deployment >= 0 ? sim.deployments.deployments[Int(rs.deployment)].replicaSets : [i]
    let pods = sim.cluster.pods
    if colocated.count < sim.cluster.nodes.count {
      colocated.append(
        contentsOf: repeatElement(0, count: sim.cluster.nodes.count - colocated.count))
    }
    forEachBound(in: family) { colocated[$0] += 1 }
    defer { forEachBound(in: family) { colocated[$0] = 0 } }
    let now = sim.now.nanoseconds
    // Ties go by creation order (`PodRecord.serial`): rows are reused, so ids say nothing.
    let keyed: [(PodDeletionKey, UInt32, PodID)] = active.map { p in
      let bound = pods.isBound(p)
      let phase: PodDeletionKey.Phase =
        switch pods.phase(of: p) {
        case .running: .running
        case .unknown: .unknown
        default: .pending
        }
      let readyAt = pods.readyAt[p.index]
      let record = sim.records[p.index]
      return (
        PodDeletionKey(
          assigned: bound, phase: phase, ready: sim.isReady(p),
          colocated: bound ? Int(colocated[Int(record.node)]) : 0,
          readySince: readyAt == PodTable.never ? nil : readyAt, restarts: pods.restarts[p.index],
          created: pods.createdAt[p.index], uid: record.uid
        ).prepared(now: now), record.serial, p
      )
    }
    return Self.first(count, of: keyed, now: now)
  }

  /// Calls `body` with the node of every bound pod of the ReplicaSets.
  private func forEachBound(in family: [Int], _ body: (Int) -> Void) {
    let pods = sim.cluster.pods
    for s in family {
      for p in sets[s].pods where pods.isBound(p) {
        let n = sim.records[p.index].node
        if n >= 0 { body(Int(n)) }
      }
    }
  }

  /// The first `count` pods in deletion order (ties by `serial`, the order of creation), in
  /// that order: a bounded max-heap of the best so far when `count` is small, a full sort
  /// otherwise.
  static func first(
    _ count: Int, of keyed: [(PodDeletionKey, serial: UInt32, PodID)], now: Int64
  ) -> [PodID] {
    typealias Keyed = (PodDeletionKey, serial: UInt32, PodID)
    func before(_ a: Keyed, _ b: Keyed) -> Bool {
      if PodDeletionKey.deletedFirst(a.0, b.0, now: now) { return true }
      if PodDeletionKey.deletedFirst(b.0, a.0, now: now) { return false }
      return a.serial < b.serial
    }
    guard count > 0 else { return [] }
    guard count * 4 < keyed.count else {
      return keyed.sorted(by: before).prefix(count).map(\.2)
    }
    // heap[0] is the last of the best `count` so far; a candidate enters only before it.
    var heap = Array(keyed.prefix(count))
    func siftDown(_ start: Int) {
      var k = start
      while true {
        let l = 2 * k + 1
        guard l < heap.count else { return }
        var m = l
        if l + 1 < heap.count && before(heap[l], heap[l + 1]) { m = l + 1 }
        guard before(heap[k], heap[m]) else { return }
        heap.swapAt(k, m)
        k = m
      }
    }
    for k in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(k) }
    for candidate in keyed.dropFirst(count) where before(candidate, heap[0]) {
      heap[0] = candidate
      siftDown(0)
    }
    return heap.sorted(by: before).map(\.2)
  }
}
