import BerthCore
import BerthEngine
import BerthScheduling
import BerthTestSupport
import Testing

/// A component that logs what reaches it and runs the test's reactions.
final class Probe: Component {
  let name: String
  let watches: ClusterChangeKinds
  var log: [String] = []
  var onFire: ((Timer, Engine) -> Void)?
  var onSettle: ((Engine) -> Bool)?
  var quiescent = true

  init(_ name: String, watches: ClusterChangeKinds = []) {
    self.name = name
    self.watches = watches
  }

  func fire(_ timer: Timer, _ engine: Engine) {
    log.append("\(engine.now.seconds) fire \(timer.tag)/\(timer.payload)")
    onFire?(timer, engine)
  }

  func observe(_ change: ClusterChange, _ engine: Engine) {
    log.append("\(engine.now.seconds) \(change)")
  }

  func settle(_ engine: Engine) -> Bool { onSettle?(engine) ?? false }
  var isQuiescent: Bool { quiescent }
}

struct EngineTests {
  static func seconds(_ s: Int64) -> VirtualTime { .seconds(s) }

  /// An engine on an empty cluster with one probe component.
  static func withProbe() -> (Engine, Probe) {
    let engine = Engine(cluster: Cluster())
    let p = Probe("p")
    engine.add(p)
    return (engine, p)
  }

  @Test("timers fire in (time, order scheduled); a run without a limit ends when none is left")
  func oneShots() {
    let (engine, p) = Self.withProbe()
    engine.schedule(p, at: Self.seconds(2), tag: 1)
    engine.schedule(p, at: Self.seconds(1), tag: 2)
    engine.schedule(p, at: Self.seconds(2), tag: 3)
    #expect(engine.run() == .quiescent)
    #expect(p.log == ["1.0 fire 2/0", "2.0 fire 1/0", "2.0 fire 3/0"])
    #expect(engine.now == Self.seconds(2) && engine.eventsRun == 3)
  }

  @Test("a periodic timer fires every period until cancelled, even from its own firing")
  func periodic() {
    let (engine, p) = Self.withProbe()
    var fired = 0
    p.onFire = { t, e in
      fired += 1
      if fired == 4 { #expect(e.cancel(t.handle)) }
    }
    let h = engine.every(Self.seconds(15), p, tag: 9)
    // A daemon: with nothing else pending the run does not start time moving.
    #expect(engine.run() == .quiescent && fired == 0)
    #expect(engine.run(until: Self.seconds(100)) == .reachedLimit)
    #expect(fired == 4)
    #expect(p.log.map { $0.split(separator: " ")[0] } == ["15.0", "30.0", "45.0", "60.0"])
    #expect(!engine.isPending(h) && engine.now == Self.seconds(100))
    #expect(engine.pendingEvents == 0)
  }

  @Test("run(until:) runs events at the limit, keeps later ones, and resumes from there")
  func limits() {
    let (engine, p) = Self.withProbe()
    for s in [5, 10, 15] as [Int64] { engine.schedule(p, at: Self.seconds(s), tag: UInt32(s)) }
    #expect(engine.run(until: Self.seconds(10)) == .reachedLimit)
    #expect(p.log == ["5.0 fire 5/0", "10.0 fire 10/0"])
    #expect(engine.now == Self.seconds(10) && engine.pendingEvents == 1)
    #expect(engine.run() == .quiescent)
    #expect(p.log.last == "15.0 fire 15/0")
  }

  @Test("a cancelled one-shot never fires and no longer keeps the run going")
  func cancelOneShot() {
    let (engine, p) = Self.withProbe()
    let h = engine.schedule(p, at: Self.seconds(50))
    engine.schedule(p, at: Self.seconds(1), tag: 1)
    p.onFire = { t, e in if t.tag == 1 { #expect(e.cancel(h)) } }
    #expect(engine.run() == .quiescent)
    #expect(p.log == ["1.0 fire 1/0"] && engine.now == Self.seconds(1))
  }

  @Test(
    "changes reach the components watching their kind, in order, after the event that made them")
  func changeFeed() throws {
    let cluster = Cluster()
    let engine = Engine(cluster: cluster)
    let actor = Probe("actor")
    let nodes = Probe("nodes", watches: [.nodeAdded])
    let binds = Probe("binds", watches: [.assignedPodAdded, .assignedPodDeleted])
    engine.add(actor)
    engine.add(nodes)
    engine.add(binds)
    var pod: PodID?
    actor.onFire = { t, _ in
      switch t.tag {
      case 1:
        cluster.addNode(Builders.node("n0", cpu: 1000, memory: 1 << 30))
        pod = try? cluster.addPod(Builders.pod("p", cpu: 100))
      case 2: cluster.bind(pod!, to: NodeID(0))
      default: cluster.unbind(pod!)
      }
    }
    engine.schedule(actor, at: Self.seconds(1), tag: 1)
    engine.schedule(actor, at: Self.seconds(2), tag: 2)
    engine.schedule(actor, at: Self.seconds(3), tag: 3)
    engine.run()
    #expect(nodes.log == ["1.0 nodeAdded(node#0)"])
    #expect(binds.log.count == 2)
    #expect(binds.log[0].hasPrefix("2.0 assignedPodAdded"))
    #expect(binds.log[1].hasPrefix("3.0 assignedPodDeleted"))
    #expect(!cluster.hasChanges)
  }

  @Test("what-if mutations (a cycle trying nominated pods, preemption's dry run) are not changes")
  func whatIf() throws {
    let cluster = Cluster(nodes: [Builders.node("n0", cpu: 1000, memory: 1 << 30)])
    let engine = Engine(cluster: cluster)
    let w = Probe("w", watches: .all)
    engine.add(w)
    let pod = try cluster.addPod(Builders.pod("p", cpu: 100))
    engine.deliverChanges()
    #expect(w.log.count == 1, "the pod's creation")
    cluster.whatIf {
      cluster.bind(pod, to: NodeID(0))
      cluster.unbind(pod)
    }
    engine.deliverChanges()
    #expect(w.log.count == 1)
  }

  @Test("components settle in order until none has work; non-quiescent components keep a run going")
  func settleAndQuiescence() {
    let engine = Engine(cluster: Cluster())
    let a = Probe("a")
    let b = Probe("b")
    engine.add(a)
    engine.add(b)
    var work = 3
    var order: [String] = []
    a.onSettle = { _ in
      guard work > 0 else { return false }
      work -= 1
      order.append("a")
      return true
    }
    b.onSettle = { _ in
      order.append("b")
      return false
    }
    b.quiescent = false
    b.onFire = { _, _ in b.quiescent = true }
    engine.schedule(b, at: Self.seconds(7), daemon: true)
    #expect(engine.run() == .quiescent)
    #expect(order.prefix(6) == ["a", "b", "a", "b", "a", "b"])
    #expect(engine.now == Self.seconds(7), "b's daemon timer ran because b was not quiescent")
  }

  @Test("pass() runs the events due meanwhile and leaves the clock at the end of the span")
  func pass() {
    let (engine, p) = Self.withProbe()
    engine.schedule(p, at: Self.seconds(1), tag: 1)
    engine.schedule(p, at: Self.seconds(3), tag: 3)
    engine.pass(Self.seconds(2))
    #expect(p.log == ["1.0 fire 1/0"] && engine.now == Self.seconds(2))
  }

  @Test(
    "a component adding a node directly wakes the pod waiting for room: the queue hears it through the feed"
  )
  func controllerWakesQueue() throws {
    let cluster = Cluster(nodes: [Builders.node("small", cpu: 500, memory: 1 << 30)])
    let engine = Engine(cluster: cluster)
    engine.checksInvariants = true
    let q = QueueRun(scheduler: Scheduler(cluster: cluster, seed: 1), seed: 1, engine: engine)
    let provisioner = Probe("provisioner")
    engine.add(provisioner)
    provisioner.onFire = { _, _ in
      cluster.addNode(Builders.node("big", cpu: 4000, memory: 1 << 32))
    }
    let pod = try cluster.addPod(Builders.pod("wants-2-cpu", cpu: 2000))
    q.submit(pod, at: .zero)
    engine.schedule(provisioner, at: Self.seconds(40))
    q.run()
    #expect(cluster.pods.boundNode(pod).map { cluster.nodes.name($0) } == "big")
    #expect(
      cluster.pods.time(cluster.pods.scheduledAt, of: pod) == Self.seconds(40),
      "bound when the node came, not at a flush")
    #expect(q.cycles == 2)
  }
}

/// The pod table's lifecycle columns, as the scheduling queue writes them.
struct LifecycleColumnTests {
  @Test("new pods are pending with nothing happened; bulk-added pods too")
  func defaults() throws {
    let c = Cluster(nodes: [Builders.node("n0", cpu: 1000, memory: 1 << 30)])
    let one = try c.addPod(Builders.pod("one", cpu: 100))
    let many = try c.addPods(
      Builders.pod("x", cpu: 100), count: 5, namePrefix: "m-", firstNumber: 0)
    #expect(c.pods.columnLengthsAreEqual())
    for p in [one] + many.map({ PodID(UInt32($0)) }) {
      #expect(c.pods.phase(of: p) == .pending)
      #expect(c.pods.time(c.pods.createdAt, of: p) == nil)
      #expect(c.pods.time(c.pods.scheduledAt, of: p) == nil)
      #expect(!c.pods.isTerminating(p) && c.pods.restarts[p.index] == 0)
      #expect(c.pods.conditions[p.index] == 0)
    }
    #expect(c.copy().pods.columnLengthsAreEqual())
  }

  @Test(
    "a queue run records creation and binding; a victim is terminating for its grace period, then deleted"
  )
  func preemptionTimeline() throws {
    let c = Cluster(nodes: [Builders.node("n0", cpu: 1000, memory: 1 << 30)])
    let q = QueueRun(scheduler: Scheduler(cluster: c, seed: 1), seed: 1)
    var low = Builders.pod("low", cpu: 800)
    low.terminationGracePeriodSeconds = 30
    let lowID = try c.addPod(low)
    q.submit(lowID, at: .zero)
    var high = Builders.pod("high", cpu: 800)
    high.priority = 100
    let highID = try c.addPod(high)
    q.submit(highID, at: .seconds(Int64(10)))
    var sawTerminating = false
    q.onCycle = { pod, _, decision in
      if pod == highID, decision != nil {
        sawTerminating = c.pods.isTerminating(lowID)
        #expect(c.pods.time(c.pods.deletionDueAt, of: lowID) == .seconds(Int64(40)))
      }
    }
    q.run()
    #expect(sawTerminating)
    let pods = c.pods
    #expect(pods.time(pods.createdAt, of: lowID) == .zero)
    #expect(pods.time(pods.scheduledAt, of: lowID) == .zero)
    #expect(pods.time(pods.deletedAt, of: lowID) == .seconds(Int64(40)))
    #expect(!pods.isTerminating(lowID))
    #expect(pods.time(pods.createdAt, of: highID) == .seconds(Int64(10)))
    #expect(pods.time(pods.scheduledAt, of: highID) == .seconds(Int64(40)))
    #expect(PodConditions(rawValue: pods.conditions[highID.index]).contains(.podScheduled))
    #expect(q.pendingTimes().first { $0.pod == highID }?.wait == .seconds(Int64(30)))
    #expect(q.stillPending.isEmpty)
  }
}
