import BerthCore
import BerthTestSupport
import Testing

@testable import BerthScheduling

/// The scheduling queue and DefaultPreemption in virtual time, with hand-computed outcomes.
struct PreemptionTests {
  struct P {
    var name: String
    var cpu: Int64
    var priority: Int32 = 0
    var node: String = ""
    var at: Int64 = 0
    var labels: [String: String] = [:]
    var never = false
    var nodeSelector: [String: String] = [:]
  }

  /// Nodes of 1 CPU each (n0, n1, … labelled `slot` = index); pods arrive at `at` seconds,
  /// pinned with `node` when given.
  static func run(nodes: Int, _ pods: [P], budgets: [PodDisruptionBudgetSpec] = []) throws -> (
    QueueRun, Cluster
  ) {
    let c = Cluster(
      nodes: (0..<nodes).map {
        Builders.node("n\($0)", cpu: 1000, memory: 1 << 34, labels: ["slot": "\($0)"])
      })
    for b in budgets { c.addDisruptionBudget(b) }
    let run = QueueRun(scheduler: Scheduler(cluster: c, seed: 1, tieBreak: .lowestIndex), seed: 1)
    for spec in pods {
      var s = Builders.pod(
        spec.name, cpu: spec.cpu, nodeSelector: spec.nodeSelector, nodeName: spec.node)
      s.priority = spec.priority
      s.labels = spec.labels
      s.preemptLowerPriority = !spec.never
      run.submit(try c.addPod(s), at: .seconds(spec.at))
    }
    run.run()
    #expect(c.invariantViolations().isEmpty)
    return (run, c)
  }

  static func node(_ c: Cluster, _ pod: String) -> String? {
    c.pods.boundNode(c.pods.id(named: pod)!).map { c.nodes.name($0) }
  }

  static func victims(_ run: QueueRun, _ c: Cluster) -> [[String]] {
    run.preemptions.map { $0.decision.victims.map { c.pods.name($0) } }
  }

  @Test(
    "the node whose most important victim has the lowest priority wins; victims leave after their grace period"
  )
  func lowestHighestVictim() throws {
    let (run, c) = try Self.run(
      nodes: 2,
      [
        P(name: "a", cpu: 500, priority: 1, node: "n0"),
        P(name: "b", cpu: 500, priority: 2, node: "n0"),
        P(name: "c", cpu: 500, priority: 5, node: "n1"),
        P(name: "d", cpu: 500, priority: 1, node: "n1"),
        P(name: "p", cpu: 1000, priority: 10, at: 1),
      ])
    #expect(run.preemptions.count == 1 && c.nodes.name(run.preemptions[0].decision.node) == "n0")
    #expect(Self.victims(run, c) == [["b", "a"]])
    #expect(Self.node(c, "p") == "n0" && Self.node(c, "c") == "n1" && Self.node(c, "a") == nil)
    // Arrived at 1 s, victims gone at 31 s: pending 30 s.
    let wait = run.pendingTimes().first { c.pods.name($0.pod) == "p" }?.wait
    #expect(wait == .seconds(Int64(30)))
  }

  @Test("reprieve: the most important lower-priority pod that still leaves room is spared")
  func reprieve() throws {
    let (run, c) = try Self.run(
      nodes: 1,
      [
        P(name: "a", cpu: 300, priority: 1), P(name: "b", cpu: 300, priority: 2),
        P(name: "c", cpu: 300, priority: 3),
        P(name: "p", cpu: 600, priority: 10, at: 1),
      ])
    #expect(Self.victims(run, c) == [["b", "a"]])
    #expect(Self.node(c, "c") == "n0" && Self.node(c, "p") == "n0")
  }

  @Test(
    "a PodDisruptionBudget already at zero steers preemption to the node without a violation, over a lower victim priority"
  )
  func budgets() throws {
    let web = PodDisruptionBudgetSpec(
      name: "web", selector: LabelSelector(matchLabels: ["app": "web"]), minAvailable: .int(1))
    let (run, c) = try Self.run(
      nodes: 2,
      [
        P(name: "w", cpu: 1000, priority: 0, node: "n0", labels: ["app": "web"]),
        P(name: "x", cpu: 1000, priority: 1, node: "n1", labels: ["app": "db"]),
        P(name: "p", cpu: 1000, priority: 10, at: 1),
      ], budgets: [web])
    #expect(run.preemptions.map { c.nodes.name($0.decision.node) } == ["n1"])
    #expect(run.preemptions[0].decision.pdbViolations == 0 && Self.node(c, "w") == "n0")
  }

  @Test("when every candidate violates a budget, the fewest violations win and are reported")
  func violatingOnly() throws {
    let all = PodDisruptionBudgetSpec(
      name: "all",
      selector: LabelSelector(matchExpressions: [.init(key: "app", operator: .exists)]),
      maxUnavailable: .int(0))
    let (run, c) = try Self.run(
      nodes: 2,
      [
        P(name: "w1", cpu: 500, priority: 1, node: "n0", labels: ["app": "web"]),
        P(name: "w2", cpu: 500, priority: 1, node: "n0", labels: ["app": "web"]),
        P(name: "x", cpu: 1000, priority: 1, node: "n1", labels: ["app": "db"]),
        P(name: "p", cpu: 1000, priority: 10, at: 1),
      ], budgets: [all])
    #expect(run.preemptions.count == 1)
    let d = run.preemptions[0].decision
    #expect(c.nodes.name(d.node) == "n1" && d.pdbViolations == 1 && Self.victims(run, c) == [["x"]])
  }

  @Test("equal highest priority: the smaller priority sum wins")
  func prioritySum() throws {
    let (run, c) = try Self.run(
      nodes: 2,
      [
        P(name: "a", cpu: 500, priority: 3, node: "n0"),
        P(name: "b", cpu: 500, priority: 1, node: "n0"),
        P(name: "c", cpu: 500, priority: 3, node: "n1"),
        P(name: "d", cpu: 500, priority: 3, node: "n1"),
        P(name: "p", cpu: 1000, priority: 10, at: 1),
      ])
    #expect(run.preemptions.map { c.nodes.name($0.decision.node) } == ["n0"])
  }

  @Test("all else equal, evict the victims that started latest")
  func latestStart() throws {
    let (run, c) = try Self.run(
      nodes: 2,
      [
        P(name: "old", cpu: 1000, priority: 1, node: "n0", at: 0),
        P(name: "new", cpu: 1000, priority: 1, node: "n1", at: 10),
        P(name: "p", cpu: 1000, priority: 10, at: 20),
      ])
    #expect(Self.victims(run, c) == [["new"]])
  }

  @Test(
    "no preemption for policy Never, for pods without lower-priority victims, or on unresolvable nodes"
  )
  func ineligible() throws {
    let (never, c1) = try Self.run(
      nodes: 1,
      [
        P(name: "a", cpu: 1000, priority: 1),
        P(name: "p", cpu: 1000, priority: 10, at: 1, never: true),
      ])
    #expect(
      never.preemptions.isEmpty && Self.node(c1, "p") == nil
        && never.stillPending.map { c1.pods.name($0) } == ["p"])
    let (equal, _) = try Self.run(
      nodes: 1,
      [P(name: "a", cpu: 1000, priority: 10), P(name: "p", cpu: 1000, priority: 10, at: 1)])
    #expect(equal.preemptions.isEmpty)
    // n0 fails the pod's nodeSelector (unresolvable), so only n1's pod can be a victim.
    let (selector, c3) = try Self.run(
      nodes: 2,
      [
        P(name: "a", cpu: 1000, priority: 1, node: "n0"),
        P(name: "b", cpu: 1000, priority: 5, node: "n1"),
        P(name: "p", cpu: 1000, priority: 10, at: 1, nodeSelector: ["slot": "1"]),
      ])
    #expect(Self.victims(selector, c3) == [["b"]])
  }

  @Test(
    "a nominated node is reserved: an equal-priority pod arriving while victims terminate goes elsewhere or waits"
  )
  func nominatedReservation() throws {
    // n0: 2 CPUs with a 1-CPU low-priority pod. p (2 CPUs) evicts it and is nominated to n0; m
    // (1 CPU, same priority as p) arrives before the victim is gone and would take n0's free CPU.
    let c = Cluster(nodes: [Builders.node("n0", cpu: 2000, memory: 1 << 34)])
    let run = QueueRun(scheduler: Scheduler(cluster: c, seed: 1), seed: 1)
    for (name, cpu, prio, at) in [
      ("a", Int64(1000), Int32(1), Int64(0)), ("p", 2000, 10, 1), ("m", 1000, 10, 5),
    ] {
      var s = Builders.pod(name, cpu: cpu)
      s.priority = prio
      run.submit(try c.addPod(s), at: .seconds(at))
    }
    run.run()
    #expect(Self.node(c, "p") == "n0" && Self.node(c, "m") == nil && Self.node(c, "a") == nil)
    #expect(run.stillPending.map { c.pods.name($0) } == ["m"])
  }

  @Test("a nominated pod of lower priority reserves nothing")
  func nominatedLowerPriority() throws {
    let c = Cluster(nodes: [Builders.node("n0", cpu: 2000, memory: 1 << 34)])
    let s = Scheduler(cluster: c, seed: 1)
    var q = Builders.pod("q", cpu: 2000)
    q.priority = 5
    let qID = try c.addPod(q)
    s.nominate(qID, to: NodeID(0))
    var high = Builders.pod("high", cpu: 1000)
    high.priority = 10
    #expect(s.scheduleOne(try c.addPod(high)).node == NodeID(0))
    var equal = Builders.pod("equal", cpu: 1000)
    equal.priority = 5
    #expect(s.scheduleOne(try c.addPod(equal)).node == nil)
    #expect(c.invariantViolations().isEmpty && !c.pods.isBound(qID))
  }

  @Test(
    "a pod's nominated node is checked with the other pods nominated there of equal or higher priority"
  )
  func nominatedNodeCheck() throws {
    let c = Cluster(nodes: [
      Builders.node("n0", cpu: 2000, memory: 1 << 34),
      Builders.node("n1", cpu: 2000, memory: 1 << 34),
    ])
    let s = Scheduler(cluster: c, seed: 1)
    func pod(_ name: String, cpu: Int64, priority: Int32) throws -> PodID {
      var spec = Builders.pod(name, cpu: cpu)
      spec.priority = priority
      return try c.addPod(spec)
    }
    let p = try pod("p", cpu: 1500, priority: 10)
    let rival = try pod("rival", cpu: 1000, priority: 20)
    let n0 = try #require(c.nodes.id(named: "n0"))
    s.nominate(p, to: n0)
    s.nominate(rival, to: n0)
    // Alone, p fits n0; with the higher-priority rival placed there it does not.
    #expect(s.check(p, on: n0) == nil)
    #expect(s.check(p, on: n0, withNominatedPods: true)?.plugin == .nodeResourcesFit)
    // The rival itself ignores p (lower priority), and nothing changed in the cluster.
    #expect(s.check(rival, on: n0, withNominatedPods: true) == nil)
    #expect(!c.pods.isBound(p) && !c.pods.isBound(rival) && c.invariantViolations().isEmpty)
  }

  // MARK: Queue

  @Test(
    "activeQ order: higher priority first, then arrival; a waiting pod retries when a pod leaves")
  func queueOrder() throws {
    var order: [String] = []
    let c = Cluster(nodes: [Builders.node("n0", cpu: 1000, memory: 1 << 34)])
    let run = QueueRun(scheduler: Scheduler(cluster: c, seed: 1), seed: 1)
    run.onCycle = { pod, outcome, _ in
      order.append(c.pods.name(pod) + (outcome.node == nil ? "✗" : "✓"))
    }
    for (name, prio, cpu) in [("low", Int32(1), Int64(600)), ("high", 5, 600), ("mid", 3, 300)] {
      var s = Builders.pod(name, cpu: cpu)
      s.priority = prio
      s.preemptLowerPriority = false
      run.submit(try c.addPod(s), at: .zero)
    }
    run.run()
    #expect(order == ["high✓", "mid✓", "low✗"])
    #expect(run.stillPending.map { c.pods.name($0) } == ["low"])
  }

  @Test("backoff doubles from 1 s to a 10 s cap; expirations truncate to the second")
  func backoff() {
    let q = SchedulingQueue()
    let pod = PodID(0)
    q.add(pod, priority: 0, gated: false, at: .zero)
    var durations: [Int64] = []
    for _ in 0..<6 {
      _ = q.pop()
      durations.append(q.backoffDuration(pod).nanoseconds / 1_000_000_000)
      q.addUnschedulable(pod, rejectedBy: 1, at: .seconds(2.5))
      q.move(on: .nodeAdd, plugins: [.nodeResourcesFit], at: .seconds(2.5))
    }
    #expect(durations == [1, 2, 4, 8, 10, 10])
    #expect(q.backoffExpiration(pod) == .seconds(Int64(12)))
  }

  @Test(
    "events move only pods whose rejecting plugin registered for them; the 5-minute flush retries the rest"
  )
  func events() {
    let q = SchedulingQueue()
    let plugins: [PluginName] = [.taintToleration, .nodeResourcesFit]
    q.add(PodID(0), priority: 0, gated: false, at: .zero)
    q.add(PodID(1), priority: 0, gated: false, at: .zero)
    _ = q.pop()
    _ = q.pop()
    q.addUnschedulable(PodID(0), rejectedBy: 0b01, at: .zero)  // taints
    q.addUnschedulable(PodID(1), rejectedBy: 0b10, at: .zero)  // resources
    #expect(q.move(on: .assignedPodDelete, plugins: plugins, at: .seconds(0.5)) == 1)
    #expect(q.location[1] == .backoff && q.location[0] == .unschedulable)
    #expect(q.nextUnschedulableFlush() == .seconds(Int64(330)))
    #expect(q.flushUnschedulable(at: .seconds(Int64(300)), skip: { _ in false }) == 0)
    #expect(q.flushUnschedulable(at: .seconds(Int64(330)), skip: { _ in false }) == 1)
    #expect(q.location[0] == .active)
  }

  @Test(
    "with a cycle duration pods queue behind each other and an arrival during a cycle is popped next by priority"
  )
  func cycleDuration() throws {
    func run(cycle: VirtualTime) throws -> (order: [String], waits: [String: VirtualTime]) {
      let c = Cluster(nodes: [Builders.node("n0", cpu: 4000, memory: 1 << 34)])
      var settings = QueueSettings()
      settings.cycleDuration = cycle
      let run = QueueRun(scheduler: Scheduler(cluster: c, seed: 1), seed: 1, settings: settings)
      var order: [String] = []
      run.onCycle = { pod, _, _ in order.append(c.pods.name(pod)) }
      for name in ["low1", "low2", "low3"] {
        run.submit(try c.addPod(Builders.pod(name, cpu: 100)), at: .zero)
      }
      var high = Builders.pod("high", cpu: 100)
      high.priority = 10
      run.submit(try c.addPod(high), at: .seconds(0.5))
      run.run()
      return (
        order,
        Dictionary(uniqueKeysWithValues: run.pendingTimes().map { (c.pods.name($0.pod), $0.wait) })
      )
    }
    let instant = try run(cycle: .zero)
    #expect(instant.order == ["low1", "low2", "low3", "high"])
    #expect(instant.waits.values.allSatisfy { $0 == .zero })
    let timed = try run(cycle: .seconds(Int64(1)))
    #expect(timed.order == ["low1", "high", "low2", "low3"], "high arrived during low1's cycle")
    #expect(timed.waits["low1"] == .zero && timed.waits["high"] == .seconds(0.5))
    #expect(timed.waits["low2"] == .seconds(Int64(2)) && timed.waits["low3"] == .seconds(Int64(3)))
  }

  @Test("gated pods are never attempted and stay pending")
  func gates() throws {
    let c = Cluster(nodes: [Builders.node("n0", cpu: 1000, memory: 1 << 34)])
    let run = QueueRun(scheduler: Scheduler(cluster: c, seed: 1), seed: 1)
    var s = Builders.pod("g", cpu: 100)
    s.schedulingGates = ["example.com/quota"]
    run.submit(try c.addPod(s), at: .zero)
    run.run()
    #expect(run.cycles == 0 && run.queue.gatedCount == 1 && run.stillPending.count == 1)
  }
}

/// The queue and preemption over random clusters: properties that must hold whatever the seed.
struct QueuePropertyTests {
  @Test(
    "random queue runs: consistent cluster, victims of lower priority, stuck pods fit nowhere, same seed same run"
  )
  func randomRuns() throws {
    var preemptions = 0
    var stuck = 0
    var checks = 0
    for seed in UInt64(1)...150 {
      func run() throws -> (QueueRun, Cluster) {
        let (nodes, specs, profile) = RandomCluster.make(seed: seed)
        var rng = SplitMix64(seed: seed ^ 0x9E37)
        let c = Cluster(nodes: nodes)
        for ns in RandomCluster.namespaces { c.declareNamespace(ns.name, labels: ns.labels) }
        let q = QueueRun(scheduler: Scheduler(cluster: c, profile: profile, seed: seed), seed: seed)
        // After every event and every settle: a consistent cluster, and time never going back.
        let ignored = profile.arguments[NodeResourcesFitArguments.self].ignoredResourceGroups
        var last = VirtualTime.zero
        q.engine.checksInvariants = true
        q.engine.invariants = { e in
          let v = e.cluster.invariantViolations().filter {
            !$0.isOverAllocatable(inResourceGroups: ignored)
          }
          #expect(v.isEmpty, "seed \(seed) at \(e.now): \(v.prefix(2))")
          #expect(e.now >= last, "seed \(seed): time went back")
          last = e.now
          checks += 1
        }
        for var spec in specs {
          spec.priority = Int32(rng.nextInt(below: 4)) * 10
          spec.terminationGracePeriodSeconds = Int64(rng.nextInt(below: 3)) * 15
          q.submit(try c.addPod(spec), at: .seconds(Int64(rng.nextInt(below: 60))))
        }
        q.run()
        return (q, c)
      }
      let (q, c) = try run()
      let ignored = q.scheduler.profile.arguments[NodeResourcesFitArguments.self]
        .ignoredResourceGroups
      let violations = c.invariantViolations().filter {
        !$0.isOverAllocatable(inResourceGroups: ignored)
      }
      #expect(violations.isEmpty, "seed \(seed): \(violations.prefix(2))")
      for p in q.preemptions {
        let prio = c.pods.priority[p.preemptor.index]
        #expect(p.decision.victims.allSatisfy { c.pods.priority[$0.index] < prio }, "seed \(seed)")
        #expect(
          p.decision.victims.allSatisfy { c.pods.deletedAt[$0.index] != PodTable.never },
          "seed \(seed): every victim is gone")
      }
      preemptions += q.preemptions.count
      // The run ends at a fixed point: no waiting pod fits any node now.
      for pod in q.stillPending where c.pods.constraints(of: pod).schedulingGates.isEmpty {
        stuck += 1
        for n in 0..<c.nodes.count {
          #expect(
            q.scheduler.check(pod, on: NodeID(UInt32(n))) != nil,
            "seed \(seed): \(c.pods.name(pod)) fits \(c.nodes.names[n]) but waits")
        }
      }
      let (q2, c2) = try run()
      #expect(
        (0..<c.pods.count).map { c.pods.node[$0] } == (0..<c2.pods.count).map { c2.pods.node[$0] },
        "seed \(seed): not deterministic")
      #expect(q.now == q2.now && q.cycles == q2.cycles)
    }
    #expect(preemptions > 50)
    #expect(stuck > 100)
    #expect(checks > 1_000, "invariants checked after every event")
  }
}

/// Profiles of one run share the start index, the tie-breaking and preemption draws and the
/// nominations: two identical profiles under different names, with pods split between them,
/// decide exactly as one profile does.
struct ProfileSharingTests {
  @Test("two identical profiles splitting the pods decide as one profile, over random queue runs")
  func identicalProfiles() throws {
    var preemptions = 0
    for seed in UInt64(1)...150 {
      func run(split: Bool) throws -> (QueueRun, Cluster) {
        let (nodes, specs, profile) = RandomCluster.make(seed: seed)
        var rng = SplitMix64(seed: seed ^ 0x9E37)
        let c = Cluster(nodes: nodes)
        for ns in RandomCluster.namespaces { c.declareNamespace(ns.name, labels: ns.labels) }
        let first = Scheduler(cluster: c, profile: profile, seed: seed)
        var twin = profile
        twin.schedulerName = "twin"
        let schedulers =
          split
          ? [first, Scheduler(cluster: c, profile: twin, seed: seed &+ 1, sharingWith: first)]
          : [first]
        let q = QueueRun(schedulers: schedulers, profileOf: { $0.index % 2 }, seed: seed)
        for var spec in specs {
          spec.priority = Int32(rng.nextInt(below: 4)) * 10
          spec.terminationGracePeriodSeconds = Int64(rng.nextInt(below: 3)) * 15
          q.submit(try c.addPod(spec), at: .seconds(Int64(rng.nextInt(below: 60))))
        }
        q.run()
        return (q, c)
      }
      let (one, c1) = try run(split: false)
      let (two, c2) = try run(split: true)
      #expect(
        (0..<c1.pods.count).map { c1.pods.node[$0] }
          == (0..<c2.pods.count).map { c2.pods.node[$0] }, "seed \(seed)")
      #expect(one.cycles == two.cycles && one.now == two.now, "seed \(seed)")
      #expect(
        one.preemptions.map(\.decision.victims) == two.preemptions.map(\.decision.victims),
        "seed \(seed)")
      preemptions += two.preemptions.count
    }
    #expect(preemptions > 15)
  }
}

/// DefaultPreemption dry-runs a node by arithmetic on its requested amounts when
/// NodeResourcesFit is the only active filter reading the pods on a node. Here one preemption
/// does that and one unbinds and rebinds every pod, on twin random clusters filled with pods of
/// random priorities (a PodDisruptionBudget over half of them in some); high-priority pods that
/// fit nowhere must get the same decision — node, victims in order, violations, candidates —
/// and the decisions are carried out on both.
struct ArithmeticDryRunTests {
  @Test("dry runs by arithmetic choose exactly the victims the unbind-and-rebind dry runs choose")
  func arithmeticAgreesWithRebinding() throws {
    var decisions = 0
    var arithmetic = 0
    for seed in UInt64(1)...120 {
      let (nodes, specs, profile) = RandomCluster.make(seed: seed)
      guard !specs.isEmpty else { continue }
      var rng = SplitMix64(seed: seed ^ 0x9E3)
      let (clusters, schedulers) = RandomCluster.twins(nodes, profile: profile, seed: seed)
      if rng.nextInt(below: 2) == 0 {
        let budget = PodDisruptionBudgetSpec(
          name: "x", selector: LabelSelector(matchLabels: ["app": "x"]),
          maxUnavailable: .int(rng.nextInt(below: 2)))
        for c in clusters { c.addDisruptionBudget(budget) }
      }
      let preemption = schedulers.map { DefaultPreemption(scheduler: $0, seed: seed) }
      preemption[1].dryRunsByArithmetic = false
      for step in 0..<120 {
        var spec = specs[rng.nextInt(below: specs.count)]
        spec.name = "p\(step)"
        spec.nodeName = ""
        let high = step >= 40 && rng.nextInt(below: 3) == 0
        spec.priority = high ? 10 : Int32(rng.nextInt(below: 4))
        spec.preemptLowerPriority = true
        if high {
          for c in spec.containers.indices {
            spec.containers[c].requests["cpu"] = Quantity(
              milli: Int64(500 + rng.nextInt(below: 3000)))
          }
        }
        let ids = try clusters.map { try $0.addPod(spec) }
        let outcomes = zip(schedulers, ids).map { $0.scheduleOne($1) }
        #expect(outcomes[0] == outcomes[1], "seed \(seed) step \(step)")
        guard outcomes[0].node == nil, high else { continue }
        // The potential nodes (NodeResourcesFit's rows in column passes) as node by node.
        let info = PodInfo(ids[0], in: clusters[0])
        let s0 = schedulers[0]
        let reference = s0.lastWindow.rows.filter { r in
          let code = Int(s0.status[r])
          return code != 0 && code != 255
            && !s0.isUnresolvable(filter: code - 1, info, node: NodeID(UInt32(r)))
        }
        #expect(preemption[0].potentialNodes(info) == reference, "seed \(seed) step \(step)")
        let d = zip(preemption, ids).map { $0.preempt($1, nominated: nil) }
        #expect(d[0] == d[1], "seed \(seed) step \(step)")
        guard let decision = d[0], d[0] == d[1] else { continue }
        decisions += 1
        for (s, id) in zip(schedulers, ids) {
          for v in decision.victims { s.cluster.unbind(v) }
          if s.fits(id, on: decision.node) { s.cluster.bind(id, to: decision.node) }
        }
      }
      arithmetic += preemption[0].arithmeticPreemptions
    }
    #expect(
      decisions > 300 && arithmetic > 300,
      "the runs exercise preemption: \(decisions) decisions, \(arithmetic) by arithmetic")
  }
}
