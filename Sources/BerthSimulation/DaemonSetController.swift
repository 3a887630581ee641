import BerthCore
import BerthEngine
import BerthWorkloads

/// A DaemonSet as its controller sees it.
final class DaemonSetState {
  @exclusivity(unchecked) var object: DaemonSetObject
  @exclusivity(unchecked) var uid: UInt64
  /// Index into `Simulation.templates` of the current template (with its hash labels).
  @exclusivity(unchecked) var template: Int32
  /// `controller-revision-hash` of the current template, and `pod-template-generation`.
  @exclusivity(unchecked) var hash: String
  @exclusivity(unchecked) var generation = 1
  @exclusivity(unchecked) var history = RevisionHistory()
  @exclusivity(unchecked) var deleted = false
  /// Its pods not yet gone, oldest first.
  @exclusivity(unchecked) var pods: [PodID] = []
  /// Per node: whether a daemon pod should run there, and whether one already there may stay
  /// (`nodeShouldRunDaemonPod`), for the node shape and template they were worked out for.
  @exclusivity(unchecked) var shouldRun: [Bool] = []
  @exclusivity(unchecked) var shouldContinue: [Bool] = []
  @exclusivity(unchecked) var placementFor: (shape: UInt64, template: Int32)?
  /// Per node: the failed-pod back-off (ns until which a failed pod is left alone, and the next
  /// delay).
  @exclusivity(unchecked) var backOff: [Int: (until: Int64, delay: Int64)] = [:]
  @exclusivity(unchecked) var recheck = Recheck()
  @exclusivity(unchecked) var status = Status()
  @exclusivity(unchecked) var series = -1

  struct Status: Equatable {
    var desired = 0
    var current = 0
    var ready = 0
    var available = 0
    var updated = 0
    var misscheduled = 0
    var unavailable = 0
  }

  init(object: DaemonSetObject, uid: UInt64, template: Int32, hash: String) {
    self.object = object
    self.uid = uid
    self.template = template
    self.hash = hash
  }
}

/// The DaemonSet controller (`pkg/controller/daemon`): one pod on every node the template's
/// node selector, required node affinity and tolerations admit — nodes added later included —
/// each pod pinned to its node by node affinity on the node's name and placed by the scheduler,
/// as upstream; failed pods replaced after a per-node back-off (1 s doubling to 15 min); a new
/// template rolled out node by node (RollingUpdate with maxUnavailable, or maxSurge) or on
/// deletion (OnDelete).
final class DaemonSetController: QueuedController {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) var rng: SplitMix64
  @exclusivity(unchecked) var sets: [DaemonSetState] = []
  @exclusivity(unchecked) private var index = ObjectIndex()
  @exclusivity(unchecked) var queue = WorkQueue()

  static let fields = [
    "desiredNumberScheduled", "currentNumberScheduled", "numberReady", "numberAvailable",
    "updatedNumberScheduled", "numberMisscheduled", "numberUnavailable",
  ]
  static let failedBackOffInitial: Int64 = 1_000_000_000
  static let failedBackOffMaximum: Int64 = 900_000_000_000

  init(_ sim: Simulation, rng: SplitMix64) {
    self.sim = sim
    self.rng = rng
  }

  var name: String { "daemonset-controller" }

  func find(namespace: String, name: String) -> Int? {
    index[namespace, name].flatMap { sets[$0].deleted ? nil : $0 }
  }

  func markDirty(_ i: Int) { queue.add(i) }

  func isPending(_ i: Int) -> Bool { queue.contains(i) }

  /// Nodes came, went or changed: every DaemonSet looks again.
  func nodesChanged() {
    for i in sets.indices where !sets[i].deleted { markDirty(i) }
  }

  /// A node was deleted: its failed-pod back-offs go with it (its row may soon hold another).
  func nodeRemoved(_ n: Int) {
    for ds in sets { ds.backOff[n] = nil }
    nodesChanged()
  }

  func podChanged(_ pod: PodID, of i: Int) {
    _ = sim.viewChange(pod)
    markDirty(i)
  }

  /// Creates a DaemonSet or replaces its spec; a new template is a new generation.
  func apply(_ object: DaemonSetObject) {
    if let i = find(namespace: object.namespace, name: object.name) {
      let ds = sets[i]
      if sim.templateIdentity[Int(ds.template)] != sim.identityID(object.template.identity) {
        ds.generation += 1
        (ds.template, ds.hash) = stamp(object.template, generation: ds.generation)
        ds.history.record(identity: sim.templateIdentity[Int(ds.template)], template: ds.template)
      }
      ds.object = object
      markDirty(i)
      return
    }
    let (template, hash) = stamp(object.template, generation: 1)
    let ds = DaemonSetState(object: object, uid: rng.next(), template: template, hash: hash)
    ds.history.record(identity: sim.templateIdentity[Int(template)], template: template)
    sets.append(ds)
    index[object.namespace, object.name] = sets.count - 1
    ds.series = sim.recorder.series(
      kind: "DaemonSet", namespace: object.namespace, name: object.name, fields: Self.fields)
    markDirty(sets.count - 1)
  }

  /// The template with the labels the controller puts on its pods and the tolerations it adds
  /// (`AddOrUpdateDaemonPodTolerations`): daemons stay on not-ready, unreachable, pressured and
  /// cordoned nodes.
  private func stamp(_ t: PodTemplate, generation: Int) -> (Int32, String) {
    var template = t
    let hash = t.hash(collisionCount: 0)
    template.pod.labels["controller-revision-hash"] = hash
    template.pod.labels["pod-template-generation"] = String(generation)
    var tolerations: [(String, TaintEffect)] = [
      ("node.kubernetes.io/not-ready", .noExecute), ("node.kubernetes.io/unreachable", .noExecute),
      ("node.kubernetes.io/disk-pressure", .noSchedule),
      ("node.kubernetes.io/memory-pressure", .noSchedule),
      ("node.kubernetes.io/pid-pressure", .noSchedule),
      ("node.kubernetes.io/unschedulable", .noSchedule),
    ]
    if t.document["spec"]?["hostNetwork"]?.string == "true" {
      tolerations.append(("node.kubernetes.io/network-unavailable", .noSchedule))
    }
    for (key, effect) in tolerations
    where !template.pod.tolerations.contains(where: {
      $0.key == key && $0.operator == .exists && $0.effect == effect
    }) {
      template.pod.tolerations.append(Toleration(key: key, operator: .exists, effect: effect))
    }
    return (sim.addTemplate(template), hash)
  }

  /// Deletes the DaemonSet; the garbage collector deletes its pods.
  func delete(_ i: Int) {
    let ds = sets[i]
    guard !ds.deleted else { return }
    ds.deleted = true
    index[ds.object.namespace, ds.object.name] = nil
    ds.recheck.cancel(sim.engine)
    for p in ds.pods { sim.deletePod(p) }
    markDirty(i)
  }

  func fire(_ t: Timer, _ engine: Engine) {
    let i = Int(t.payload)
    sets[i].recheck.fired()
    markDirty(i)
  }

  /// Asks for another sync at `time` (the earliest asked for wins).
  private func recheck(_ i: Int, at time: Int64) {
    sets[i].recheck.ask(self, sim.engine, object: i, at: time)
  }

  // MARK: Placement

  /// `nodeShouldRunDaemonPod` for every node: the template's node selector and required node
  /// affinity match the node, and it tolerates the node's NoSchedule taints (shouldRun) and
  /// NoExecute taints (shouldContinueRunning as well).
  private func place(_ ds: DaemonSetState) {
    let shape = sim.cluster.nodeShapeVersion
    if let p = ds.placementFor, p.shape == shape, p.template == ds.template,
      ds.shouldRun.count == sim.cluster.nodes.count
    {
      return
    }
    let pod = sim.templates[Int(ds.template)].pod
    let n = sim.cluster.nodes.count
    ds.shouldRun = [Bool](repeating: false, count: n)
    ds.shouldContinue = [Bool](repeating: false, count: n)
    for k in 0..<n where !sim.nodes.isRemoved(k) {
      let (run, stay) = Self.shouldRun(pod, on: sim.cluster.nodes.specs[k])
      ds.shouldRun[k] = run
      ds.shouldContinue[k] = stay
    }
    ds.placementFor = (shape, ds.template)
  }

  /// `nodeShouldRunDaemonPod` for one node: whether a daemon pod of this template should run
  /// there, and whether one already there may stay.
  static func shouldRun(_ pod: PodSpec, on node: NodeSpec) -> (run: Bool, stay: Bool) {
    guard pod.nodeName.isEmpty || pod.nodeName == node.name,
      pod.nodeSelector.allSatisfy({ node.labels[$0.key] == $0.value })
    else { return (false, false) }
    if let required = pod.affinity?.required,
      !required.matches(labels: node.labels, nodeName: node.name)
    {
      return (false, false)
    }
    var run = true
    var stay = true
    for taint in node.taints where !pod.tolerations.contains(where: { $0.tolerates(taint) }) {
      switch taint.effect {
      case .noExecute:
        run = false
        stay = false
      case .noSchedule: run = false
      default: break
      }
    }
    return (run, stay)
  }

  /// The requests of the daemon pods that would run on a node of this shape (the Cluster
  /// Autoscaler counts them into a node group's template).
  func podsRequests(on node: NodeSpec) -> (cpuMillis: Int64, memoryBytes: Int64, pods: Int64) {
    var total: (cpuMillis: Int64, memoryBytes: Int64, pods: Int64) = (0, 0, 0)
    for ds in sets where !ds.deleted {
      let pod = sim.templates[Int(ds.template)].pod
      guard Self.shouldRun(pod, on: node).run,
        let r = try? PodRequests.effective(pod)
      else { continue }
      total.cpuMillis += r.cpuMillis
      total.memoryBytes += r.memoryBytes
      total.pods += 1
    }
    return total
  }

  // MARK: Sync

  func sync(_ i: Int) {
    let ds = sets[i]
    ds.pods.removeAll(where: sim.isGone)
    if ds.deleted {
      publish(i, DaemonSetState.Status())
      return
    }
    place(ds)
    // Pods by node again only after pods were created: deleted ones stay listed (terminating or
    // gone) until the next sync, as they would in a fresh listing.
    var byNode = podsByNode(ds)
    if manage(i, byNode) { byNode = podsByNode(ds) }
    if case .rollingUpdate(let surge, let unavailable) = ds.object.updateStrategy,
      rollingUpdate(i, byNode, maxSurge: surge, maxUnavailable: unavailable)
    {
      byNode = podsByNode(ds)
    }
    updateStatus(i, byNode)
  }

  /// The DaemonSet's pods by the node they are pinned to, each node's oldest first: a
  /// counting sort into two flat arrays, O(nodes + pods) with no hashing (a dictionary of
  /// arrays here was 35 % of a 5,000-node day with three DaemonSets).
  struct PodsByNode {
    /// Node n's pods are `pods[start[n]..<start[n + 1]]`.
    private var start: [Int32]
    private var pods: [PodID]

    init(_ list: [PodID], nodes: Int, node: (PodID) -> Int) {
      start = [Int32](repeating: 0, count: nodes + 2)
      for p in list {
        let n = node(p)
        if n >= 0 && n < nodes { start[n + 2] += 1 }
      }
      for n in 0..<nodes { start[n + 2] += start[n + 1] }
      // start[n + 1] is now where node n's pods begin; filling moves it to their end, which is
      // where node n + 1's begin.
      pods = [PodID](repeating: PodID(0), count: Int(start[nodes + 1]))
      for p in list {
        let n = node(p)
        guard n >= 0 && n < nodes else { continue }
        pods[Int(start[n + 1])] = p
        start[n + 1] += 1
      }
    }

    subscript(n: Int) -> ArraySlice<PodID> { pods[Int(start[n])..<Int(start[n + 1])] }
    /// How many pods node n has, and its oldest (without making a slice).
    func count(_ n: Int) -> Int { Int(start[n + 1] - start[n]) }
    func first(_ n: Int) -> PodID { pods[Int(start[n])] }
  }

  private func podsByNode(_ ds: DaemonSetState) -> PodsByNode {
    let nodes = sim.cluster.nodes.count
    // SAFETY: the records are only read, within the closure; every pod's row is in them.
    return sim.records.withUnsafeBufferPointer { records in
      PodsByNode(ds.pods, nodes: nodes) { Int(records[$0.index].targetNode) }
    }
  }

  /// What the rolling update reads of a DaemonSet's pods, taken once per pass: read through
  /// `sim` node by node, every access counted references (a third of a 5,000-node day with
  /// three DaemonSets).
  struct PodView {
    let table: PodTable
    let records: UnsafeBufferPointer<PodRecord>
    let template: Int32
    let minReady: Int64
    let now: Int64

    func isNew(_ p: PodID) -> Bool { records[p.index].template == template }
    func isReady(_ p: PodID) -> Bool {
      table.conditions[p.index] & PodConditions.ready.rawValue != 0
    }
    /// Ready for `minReadySeconds`.
    func isAvailable(_ p: PodID) -> Bool {
      isReady(p) && table.readyAt[p.index] + minReady <= now
    }
  }

  /// Runs `body` with a view of `ds`'s pods (the records read in place: nothing in `body` may
  /// create or delete pods).
  private func withPodView<R>(_ ds: DaemonSetState, _ body: (PodView) -> R) -> R {
    // SAFETY: the records buffer is only read, within `body`.
    sim.records.withUnsafeBufferPointer { records in
      body(
        PodView(
          table: sim.cluster.pods, records: records, template: ds.template,
          minReady: ds.object.minReadySeconds * 1_000_000_000, now: sim.now.nanoseconds))
    }
  }

  private func isNew(_ ds: DaemonSetState, _ pod: PodID) -> Bool {
    sim.records[pod.index].template == ds.template
  }

  private func isAvailable(_ ds: DaemonSetState, _ pod: PodID) -> Bool {
    guard sim.isReady(pod) else { return false }
    let due = sim.cluster.pods.readyAt[pod.index] + ds.object.minReadySeconds * 1_000_000_000
    return due <= sim.now.nanoseconds
  }

  /// `manage` and `podsShouldBeOnNode`: pods created where one should run and none exists,
  /// failed pods deleted (after the node's back-off), pods deleted where none may stay, and
  /// surplus pods deleted.
  /// - Returns: whether pods were created.
  private func manage(_ i: Int, _ byNode: PodsByNode) -> Bool {
    let ds = sets[i]
    let allowsSurge: Bool
    if case .rollingUpdate(let surge, _) = ds.object.updateStrategy {
      allowsSurge = surge.scaled(total: 100) > 0
    } else {
      allowsSurge = false
    }
    var toCreate: [Int] = []
    var toDelete: [PodID] = []
    let table = sim.cluster.pods
    let terminating = { (p: PodID) in table.isTerminating(p) }
    // Read once: the loop calls out, so the properties would be read (and counted) per node.
    let shouldRun = ds.shouldRun
    let shouldContinue = ds.shouldContinue
    for n in 0..<sim.cluster.nodes.count {
      let count = byNode.count(n)
      if shouldRun[n] && count == 0 {
        toCreate.append(n)
        continue
      }
      if count == 1 && shouldContinue[n] {
        // One pod, neither terminating nor failed: nothing to do (the common case).
        let p = byNode.first(n)
        if !table.isTerminating(p) && table.phase[p.index] != PodPhase.failed.code { continue }
      }
      let pods = byNode[n]
      if shouldContinue[n] && !pods.isEmpty {
        var running: [PodID] = []
        for p in pods where !terminating(p) {
          guard sim.cluster.pods.phase(of: p) == .failed else {
            running.append(p)
            continue
          }
          let now = sim.now.nanoseconds
          let b = ds.backOff[n] ?? (Int64.min, Self.failedBackOffInitial)
          if now < b.until {
            recheck(i, at: b.until)
            continue
          }
          ds.backOff[n] = (
            now + b.delay, Swift.min(b.delay * 2, Self.failedBackOffMaximum)
          )
          sim.recorder.event(
            kind: "DaemonSet", namespace: ds.object.namespace, name: ds.object.name,
            type: .warning, reason: "FailedDaemonPod",
            message:
              "Found failed daemon pod \(ds.object.namespace)/\(sim.name(p)) on node \(sim.cluster.nodes.name(NodeID(UInt32(n)))), will try to kill it"
          )
          toDelete.append(p)
        }
        if !allowsSurge {
          // More than one running: all but the oldest go.
          toDelete += running.dropFirst()
        } else {
          // The oldest new and oldest old pod may both stay while the new one is not yet
          // available and the old one is ready.
          var oldestNew: PodID?
          var oldestOld: PodID?
          for p in running {
            if isNew(ds, p) {
              if oldestNew == nil {
                oldestNew = p
                continue
              }
            } else if oldestOld == nil {
              oldestOld = p
              continue
            }
            toDelete.append(p)
          }
          if let new = oldestNew, let old = oldestOld,
            !sim.isReady(old) || isAvailable(ds, new)
          {
            toDelete.append(old)
          }
        }
      } else if !shouldContinue[n] && !pods.isEmpty {
        toDelete += pods.filter { !terminating($0) }
      }
    }
    syncNodes(i, delete: toDelete, create: toCreate)
    return !toCreate.isEmpty
  }

  /// `syncNodes`: deletes, then creates one pod pinned to each node.
  private func syncNodes(_ i: Int, delete: [PodID], create: [Int]) {
    let ds = sets[i]
    for p in delete where !sim.cluster.pods.isTerminating(p) && !sim.isGone(p) {
      sim.recorder.event(
        kind: "DaemonSet", namespace: ds.object.namespace, name: ds.object.name, type: .normal,
        reason: "SuccessfulDelete", message: "Deleted pod: \(sim.name(p))")
      sim.deletePod(p)
    }
    for n in create {
      let node = sim.cluster.nodes.name(NodeID(UInt32(n)))
      var spec = sim.templates[Int(ds.template)].pod
      spec.name = sim.replicaSets.uniqueName(prefix: ds.object.name + "-")
      spec.namespace = ds.object.namespace
      // `ReplaceDaemonSetPodNodeNameNodeAffinity`: every required term is pinned to the node
      // by its name (a term of its own when there are none).
      let pin = NodeSelectorRequirement(key: "metadata.name", operator: .in, values: [node])
      var affinity = spec.affinity ?? NodeAffinity()
      var terms = affinity.required?.terms ?? []
      if terms.isEmpty { terms = [NodeSelectorTerm()] }
      for k in terms.indices { terms[k].matchFields = [pin] }
      affinity.required = NodeSelector(terms: terms)
      spec.affinity = affinity
      let pod = sim.createPod(spec, template: ds.template, ownerKind: .daemonSet, owner: Int32(i))
      sim.records[pod.index].targetNode = Int32(n)
      sim.records[pod.index].ownerView = OwnerView.active
      ds.pods.append(pod)
      sim.recorder.event(
        kind: "DaemonSet", namespace: ds.object.namespace, name: ds.object.name, type: .normal,
        reason: "SuccessfulCreate", message: "Created pod: \(spec.name)")
    }
  }

  // MARK: Rolling update

  /// `rollingUpdate`: without surge, old pods are deleted on at most maxUnavailable nodes
  /// lacking an available pod (unavailable old pods at once); with surge, new pods start beside
  /// old ones on at most maxSurge nodes, and each old pod goes once its new one is available.
  /// Nodes are visited in index order (upstream walks a Go map, in no fixed order).
  /// - Returns: whether pods were created.
  private func rollingUpdate(
    _ i: Int, _ byNode: PodsByNode, maxSurge: IntOrPercent, maxUnavailable: IntOrPercent
  ) -> Bool {
    let ds = sets[i]
    let shouldRun = ds.shouldRun
    var desired = 0
    for run in shouldRun where run { desired += 1 }
    let surge = maxSurge.scaled(total: desired, roundUp: true)
    let unavailable = maxUnavailable.scaled(total: desired, roundUp: true)
    let nodes = sim.cluster.nodes.count
    let (toDelete, toCreate, nextCheck) = withPodView(ds) { view in
      var nextCheck = Int64.max
      func note(_ pod: PodID) {
        guard view.isReady(pod), !view.isAvailable(pod) else { return }
        nextCheck = Swift.min(nextCheck, view.table.readyAt[pod.index] + view.minReady)
      }
      var toDelete: [PodID] = []
      var toCreate: [Int] = []
      if surge == 0 {
        var numUnavailable = 0
        var allowed: [PodID] = []
        var candidates: [PodID] = []
        for n in 0..<nodes where shouldRun[n] {
          let (new, old, ok) = updatedPods(view, byNode, n)
          guard ok else {
            numUnavailable += 1
            continue
          }
          switch (new, old) {
          case (nil, nil): numUnavailable += 1
          case (let new?, nil):
            note(new)
            if !view.isAvailable(new) { numUnavailable += 1 }
          case (_, let old?):
            if !view.isAvailable(old) {
              allowed.append(old)
            } else if numUnavailable < unavailable {
              candidates.append(old)
            }
          }
        }
        let remaining = Swift.max(0, Swift.min(unavailable - numUnavailable, candidates.count))
        toDelete = allowed + candidates.prefix(remaining)
      } else {
        var numSurge = 0
        var allowed: [Int] = []
        var candidates: [Int] = []
        for n in 0..<nodes where shouldRun[n] {
          let (new, old, ok) = updatedPods(view, byNode, n)
          guard ok else {
            numSurge += 1
            continue
          }
          switch (new, old) {
          case (_, nil): continue
          case (nil, let old?):
            if !view.isAvailable(old) {
              allowed.append(n)
            } else if numSurge < surge {
              candidates.append(n)
            }
          case (let new?, let old?):
            note(new)
            if !view.isAvailable(new) {
              numSurge += 1
            } else {
              toDelete.append(old)
            }
          }
        }
        let remaining = Swift.max(0, Swift.min(surge - numSurge, candidates.count))
        toCreate = allowed + candidates.prefix(remaining)
      }
      return (toDelete, toCreate, nextCheck)
    }
    if nextCheck != Int64.max { recheck(i, at: nextCheck) }
    syncNodes(i, delete: toDelete, create: toCreate)
    return !toCreate.isEmpty
  }

  /// `findUpdatedPodsOnNode`: the node's new and old pod (those being deleted left out); not ok
  /// when it has two of either.
  private func updatedPods(_ view: PodView, _ byNode: PodsByNode, _ n: Int) -> (
    new: PodID?, old: PodID?, ok: Bool
  ) {
    let table = view.table
    if byNode.count(n) == 1 {
      // The common case, without a slice.
      let p = byNode.first(n)
      if table.isTerminating(p) { return (nil, nil, true) }
      return view.isNew(p) ? (p, nil, true) : (nil, p, true)
    }
    var new: PodID?
    var old: PodID?
    for p in byNode[n] where !table.isTerminating(p) {
      if view.isNew(p) {
        if new != nil { return (nil, nil, false) }
        new = p
      } else {
        if old != nil { return (nil, nil, false) }
        old = p
      }
    }
    return (new, old, true)
  }

  // MARK: Status

  /// `updateDaemonSetStatus`: per node that should run a pod and has one, its oldest pod
  /// counts as scheduled, ready, available and updated as it is; pods on nodes that should not
  /// run one are misscheduled.
  private func updateStatus(_ i: Int, _ byNode: PodsByNode) {
    let ds = sets[i]
    var s = DaemonSetState.Status()
    var nextCheck = Int64.max
    let table = sim.cluster.pods
    let minReady = ds.object.minReadySeconds * 1_000_000_000
    let now = sim.now.nanoseconds
    let template = ds.template
    let shouldRun = ds.shouldRun
    let records = sim.records  // read only here: no copy
    for n in 0..<sim.cluster.nodes.count {
      let count = byNode.count(n)
      if shouldRun[n] {
        s.desired += 1
        guard count > 0 else { continue }
        let first = byNode.first(n)
        s.current += 1
        if table.conditions[first.index] & PodConditions.ready.rawValue != 0 {
          s.ready += 1
          let due = table.readyAt[first.index] + minReady
          if due <= now {
            s.available += 1
          } else {
            nextCheck = Swift.min(nextCheck, due)
          }
        }
        if records[first.index].template == template { s.updated += 1 }
      } else if count > 0 {
        s.misscheduled += 1
      }
    }
    s.unavailable = s.desired - s.available
    if nextCheck != Int64.max { recheck(i, at: nextCheck) }
    publish(i, s)
  }

  private func publish(_ i: Int, _ s: DaemonSetState.Status) {
    let ds = sets[i]
    guard ds.status != s else { return }
    ds.status = s
    for (k, v) in [
      s.desired, s.current, s.ready, s.available, s.updated, s.misscheduled, s.unavailable,
    ].enumerated() {
      sim.recorder.set(series: ds.series + k, v)
    }
  }
}
