import BerthCore
import BerthEngine

/// The node lifecycle controller and the node verbs: a node that stops reporting turns
/// NotReady (status Unknown) after `node-monitor-grace-period`, is tainted
/// `node.kubernetes.io/unreachable` (NoSchedule and NoExecute), its pods lose Ready and are
/// evicted when their toleration of the taint runs out (300 s by the DefaultTolerationSeconds
/// admission plugin unless they say otherwise); cordon, drain (through PodDisruptionBudgets,
/// retried every 5 s as `kubectl drain` does), node addition and removal.
final class NodeLifecycle: Component {
  enum Tag: UInt32 { case notReady, evict, drain }

  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) private var alive: [Bool] = []
  @exclusivity(unchecked) private var ready: [Bool] = []
  @exclusivity(unchecked) private var removed: [Bool] = []
  @exclusivity(unchecked) private var notReadyTimer: [TimerHandle?] = []
  @exclusivity(unchecked) private var evictions: [[TimerHandle]] = []
  @exclusivity(unchecked) private var draining: [Int] = []
  @exclusivity(unchecked) private var drainTimer: TimerHandle?
  /// Nodes not removed, and those of them Ready.
  @exclusivity(unchecked) private(set) var nodeCount = 0
  @exclusivity(unchecked) private(set) var readyCount = 0

  static let unreachable = "node.kubernetes.io/unreachable"
  static let drainRetry = VirtualTime.seconds(Int64(5))

  init(_ sim: Simulation) { self.sim = sim }

  var name: String { "node-lifecycle-controller" }

  func start(_ engine: Engine) {
    for n in 0..<sim.cluster.nodes.count { track(n) }
  }

  /// Starts tracking node row `n`: a new row, or the row of a removed node taken by a new one.
  private func track(_ n: Int) {
    while alive.count <= n {
      alive.append(true)
      ready.append(true)
      removed.append(true)
      notReadyTimer.append(nil)
      evictions.append([])
    }
    assert(removed[n] && notReadyTimer[n] == nil && evictions[n].isEmpty, "a node row in use")
    alive[n] = true
    ready[n] = true
    removed[n] = false
    nodeCount += 1
    readyCount += 1
    let name = sim.cluster.nodes.name(NodeID(UInt32(n)))
    sim.recorder.series(kind: "Node", namespace: "-", name: name, fields: ["ready"])
    sim.recorder.set(kind: "Node", namespace: "-", name: name, values: [1], fields: ["ready"])
    sim.recorder.nodesChanged(self)
  }

  func spec(_ n: Int) -> NodeSpec { sim.cluster.nodes.specs[n] }
  /// Whether row `n` holds no node: removed, or a row this controller never tracked that holds
  /// no node (one a what-if added and took back).
  /// Calls `body` with each row below `count` whose node is not removed, in row order: the
  /// flags read once, not retained and released per row as `isRemoved` reads them.
  @inline(__always)
  func forEachLiveRow(below count: Int, _ body: (Int) -> Void) {
    // SAFETY: the buffer is read within its count while `body` runs; `body` adds and removes
    // no node (callers sum columns).
    // Rows past the flags (a dry run's template nodes, taken back) are asked of the cluster,
    // taken once too.
    let cluster = sim.cluster
    removed.withUnsafeBufferPointer { removed in
      for n in 0..<count where n < removed.count ? !removed[n] : cluster.exists(NodeID(UInt32(n))) {
        body(n)
      }
    }
  }

  func isRemoved(_ n: Int) -> Bool {
    n < removed.count ? removed[n] : !sim.cluster.exists(NodeID(UInt32(n)))
  }
  func isReady(_ n: Int) -> Bool { n < ready.count && ready[n] && !removed[n] }
  func isAlive(_ n: Int) -> Bool { n >= alive.count || alive[n] }

  /// What is wrong with the kept counts, if anything (the invariants' check).
  func countViolation() -> String? {
    let nodes = removed.filter { !$0 }.count
    let readyNodes = zip(ready, removed).filter { $0 && !$1 }.count
    guard (nodeCount, readyCount) != (nodes, readyNodes) else { return nil }
    return
      "node lifecycle counts \(nodeCount) nodes, \(readyCount) ready; has \(nodes), \(readyNodes)"
  }

  func node(named name: String) -> Int? {
    guard let id = sim.cluster.nodes.id(named: name), !removed[id.index] else { return nil }
    return id.index
  }

  private func update(_ n: Int, _ change: (inout NodeSpec) -> Void) {
    var s = spec(n)
    change(&s)
    sim.queue.updateNode(NodeID(UInt32(n)), to: s)
    sim.daemonSets.nodesChanged()
  }

  private func pods(on n: Int) -> [PodID] { sim.cluster.podsOn(NodeID(UInt32(n))) }

  private func nodeEvent(_ n: Int, type: EventType = .normal, _ reason: String, _ message: String) {
    sim.recorder.event(
      kind: "Node", namespace: "", name: sim.cluster.nodes.name(NodeID(UInt32(n))), type: type,
      reason: reason, message: message)
  }

  // MARK: Verbs

  func fail(_ n: Int) {
    guard alive[n] else { return }
    alive[n] = false
    for p in pods(on: n) { sim.kubelet.suspend(p) }
    notReadyTimer[n] = sim.engine.schedule(
      self, after: sim.settings.nodeMonitorGracePeriod, tag: Tag.notReady.rawValue,
      payload: UInt64(n))
  }

  func recover(_ n: Int) {
    guard !alive[n] else { return }
    alive[n] = true
    if let t = notReadyTimer[n] {
      sim.engine.cancel(t)
      notReadyTimer[n] = nil
    }
    for t in evictions[n] { sim.engine.cancel(t) }
    evictions[n] = []
    if !ready[n] {
      ready[n] = true
      if !removed[n] { readyCount += 1 }
      update(n) { s in s.taints.removeAll { $0.key == Self.unreachable } }
      let name = sim.cluster.nodes.name(NodeID(UInt32(n)))
      nodeEvent(n, "NodeReady", "Node \(name) status is now: NodeReady")
      sim.recorder.set(kind: "Node", namespace: "-", name: name, values: [1], fields: ["ready"])
      sim.recorder.nodesChanged(self)
    }
    for p in pods(on: n) { sim.kubelet.resume(p) }
  }

  func cordon(_ n: Int, _ on: Bool) {
    update(n) { $0.unschedulable = on }
  }

  func drain(_ n: Int) {
    cordon(n, true)
    if !draining.contains(n) { draining.append(n) }
    drainStep()
  }

  @discardableResult
  func add(_ spec: NodeSpec) -> Int {
    let id = sim.queue.addNode(spec)
    sim.kubelet.nodeAdded(id.index)
    track(id.index)
    sim.daemonSets.nodesChanged()
    return id.index
  }

  /// Puts `taint` on node `n`, or takes every taint of its key and effect off.
  func setTaint(_ n: Int, _ taint: Taint, present: Bool) {
    update(n) { s in
      s.taints.removeAll { $0.key == taint.key && $0.effect == taint.effect }
      if present { s.taints.append(taint) }
    }
  }

  /// The Node object is deleted: its pods are gone at once (the pod garbage collector) and the
  /// node leaves the cluster; its row is taken by a node added once nothing names it any more
  /// (`Simulation.releaseRows`).
  func remove(_ n: Int) {
    for p in pods(on: n) { sim.remove(p) }
    guard !removed[n] else { return }
    removed[n] = true
    nodeCount -= 1
    if ready[n] { readyCount -= 1 }
    sim.recorder.nodesChanged(self)
    alive[n] = false
    if let t = notReadyTimer[n] { sim.engine.cancel(t) }
    notReadyTimer[n] = nil
    for t in evictions[n] { sim.engine.cancel(t) }
    evictions[n] = []
    draining.removeAll { $0 == n }
    let name = sim.cluster.nodes.name(NodeID(UInt32(n)))
    sim.queue.removeNode(NodeID(UInt32(n)))
    sim.daemonSets.nodeRemoved(n)
    nodeEvent(n, "RemovingNode", "Node \(name) event: Removing Node \(name) from Controller")
    sim.recorder.set(kind: "Node", namespace: "-", name: name, values: [0], fields: ["ready"])
    sim.recorder.nodesChanged(self)
  }

  // MARK: Timers

  func fire(_ t: Timer, _ engine: Engine) {
    switch Tag(rawValue: t.tag) {
    case .notReady: markNotReady(Int(t.payload))
    case .evict:
      guard let pod = sim.pod(fromHandle: t.payload), !sim.cluster.pods.isTerminating(pod)
      else { return }
      sim.recorder.event(
        pod: pod, in: sim, type: .normal, reason: "TaintManagerEviction",
        message: "Marking for deletion Pod \(sim.namespace(pod))/\(sim.name(pod))")
      sim.records[pod.index].disrupted = true
      sim.deletePod(pod)
    case .drain:
      drainTimer = nil
      drainStep()
    case nil: preconditionFailure("unknown node lifecycle timer")
    }
  }

  private func markNotReady(_ n: Int) {
    notReadyTimer[n] = nil
    guard !alive[n], ready[n] else { return }
    ready[n] = false
    if !removed[n] { readyCount -= 1 }
    let name = sim.cluster.nodes.name(NodeID(UInt32(n)))
    nodeEvent(n, "NodeNotReady", "Node \(name) status is now: NodeNotReady")
    sim.recorder.set(kind: "Node", namespace: "-", name: name, values: [0], fields: ["ready"])
    sim.recorder.nodesChanged(self)
    update(n) { s in
      for effect in [TaintEffect.noSchedule, .noExecute]
      where !s.taints.contains(where: { $0.key == Self.unreachable && $0.effect == effect }) {
        s.taints.append(Taint(key: Self.unreachable, effect: effect))
      }
    }
    let taint = Taint(key: Self.unreachable, effect: .noExecute)
    for p in pods(on: n) {
      sim.records[p.index].markedNotReady = true
      sim.kubelet.loseReady(p)
      sim.recorder.event(
        pod: p, in: sim, type: .warning, reason: "NodeNotReady", message: "Node is not ready")
      guard !sim.cluster.pods.isTerminating(p) else { continue }
      let tolerating = sim.cluster.pods.constraints(of: p).tolerations.filter {
        $0.tolerates(taint)
      }
      let seconds: Int64?
      if tolerating.isEmpty {
        seconds = sim.settings.defaultTolerationSeconds
      } else if tolerating.contains(where: { $0.tolerationSeconds == nil }) {
        seconds = nil
      } else {
        seconds = Swift.max(0, tolerating.compactMap(\.tolerationSeconds).min() ?? 0)
      }
      guard let s = seconds else { continue }
      evictions[n].append(
        sim.engine.schedule(
          self, after: .seconds(s), tag: Tag.evict.rawValue, payload: sim.handle(p)))
    }
  }

  /// `status.disruptionsAllowed` as the disruption controller publishes it: the budget's pods
  /// that exist are expected; the Ready ones not being deleted are healthy.
  func disruptionsAllowed(_ b: Int) -> Int {
    var expected = 0
    var healthy = 0
    for p in 0..<sim.cluster.pods.count {
      let id = PodID(UInt32(p))
      guard !sim.isGone(id), sim.cluster.budget(b, covers: id) else { continue }
      expected += 1
      if sim.isReady(id) && !sim.cluster.pods.isTerminating(id) { healthy += 1 }
    }
    return sim.cluster.disruptionBudgets[b].disruptionsAllowed(expected: expected, healthy: healthy)
  }

  /// The Eviction API: refused (false) while a PodDisruptionBudget covering the pod allows no
  /// disruption, unless `respectingBudgets` is off (a spot reclaim does not ask); else the
  /// event, the DisruptionTarget condition and a graceful deletion.
  @discardableResult
  func evict(_ p: PodID, reason: String, message: String, respectingBudgets: Bool = true) -> Bool {
    if respectingBudgets {
      for b in 0..<sim.cluster.disruptionBudgets.count
      where sim.cluster.budget(b, covers: p) && disruptionsAllowed(b) <= 0 {
        return false
      }
    }
    sim.recorder.event(pod: p, in: sim, type: .normal, reason: reason, message: message)
    sim.records[p.index].disrupted = true
    sim.deletePod(p)
    return true
  }

  /// One round of `kubectl drain`: every pod on the draining nodes whose disruption budgets
  /// allow it is evicted; the rest are tried again 5 s later.
  /// One round of `kubectl drain --ignore-daemonsets`: daemon pods stay (their controller would
  /// put them back at once).
  private func drainStep() {
    var blocked = false
    for n in draining {
      for p in pods(on: n)
      where !sim.cluster.pods.isTerminating(p) && sim.records[p.index].ownerKind != .daemonSet {
        let evicted = evict(
          p, reason: "Evicted",
          message: "Evicted by drain of \(sim.cluster.nodes.name(NodeID(UInt32(n))))")
        if !evicted { blocked = true }
      }
    }
    draining.removeAll { n in
      pods(on: n).allSatisfy { sim.records[$0.index].ownerKind == .daemonSet }
    }
    if blocked && drainTimer == nil {
      drainTimer = sim.engine.schedule(self, after: Self.drainRetry, tag: Tag.drain.rawValue)
    }
  }
}
