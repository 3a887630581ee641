import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// The scheduler keeps node-local filter verdicts (NodeResourcesFit, NodeAffinity) and raw
/// scores (NodeResourcesFit, BalancedAllocation, ImageLocality) across cycles and recomputes a
/// row only when the pod's shape, the node count or the node changed. Here a scheduler with the
/// caches and one without run the same random operations on two identical clusters and must
/// agree on every decision.
struct ScoreCacheTests {
  @Test(
    "cached node-local verdicts and scores decide exactly as fresh ones over random runs of repeated pods, unbinds and new nodes"
  )
  func cacheAgreesWithFreshScores() throws {
    var cycles = 0
    var reusedCycles = 0
    for seed in UInt64(1)...200 {
      let (nodes, specs, profile) = RandomCluster.make(seed: seed)
      guard !specs.isEmpty else { continue }
      var rng = SplitMix64(seed: seed ^ 0x5CA1E)
      let (clusters, schedulers) = RandomCluster.twins(nodes, profile: profile, seed: seed)
      schedulers[1].cachesNodeLocalResults = false
      schedulers[1].reusesFailedPasses = false
      let templates = (0..<3).map { _ in specs[rng.nextInt(below: specs.count)] }
      var template = 0
      var bound: [PodID] = []
      var added = 0
      for step in 0..<150 {
        let roll = rng.nextInt(below: 100)
        if roll < 15, !bound.isEmpty {
          RandomCluster.unbindAny(&bound, in: clusters, rng: &rng)
        } else if roll < 19 {
          RandomCluster.addAny(of: nodes, numbered: &added, to: clusters, rng: &rng)
        } else {
          if rng.nextInt(below: 100) < 20 { template = rng.nextInt(below: templates.count) }
          var spec = templates[template]
          spec.name = "p\(step)"
          spec.nodeName = ""
          let ids = try clusters.map { try $0.addPod(spec) }
          let outcomes = zip(schedulers, ids).map { $0.scheduleOne($1) }
          #expect(outcomes[0] == outcomes[1], "seed \(seed) step \(step)")
          if outcomes[0] != outcomes[1] { return }
          if outcomes[0].node != nil { bound.append(ids[0]) }
          cycles += 1
          if outcomes[0].feasibleNodes > 1 { reusedCycles += 1 }
        }
      }
      // Resources in an ignored group may be over-committed (the filter does not check them).
      let ignored = profile.arguments[NodeResourcesFitArguments.self].ignoredResourceGroups
      let violations = clusters[0].invariantViolations().filter {
        !$0.isOverAllocatable(inResourceGroups: ignored)
      }
      #expect(violations.isEmpty, "seed \(seed): \(violations.prefix(2))")
    }
    #expect(
      cycles > 10_000 && reusedCycles > 3_000,
      "the runs exercise the cache: \(cycles) cycles, \(reusedCycles) scored")
  }
}

/// Plugins remember what they derived from a constraint set (taint bitsets, compiled selectors,
/// image sums) while identical pods follow one another; taints, labels and images arrive only
/// with nodes, so a node added mid-run must reach the next identical pod's decision.
struct ConstraintMemoTests {
  @Test("a taint first registered by a node added mid-run rejects the next identical pod")
  func newTaintReachesIdenticalPods() throws {
    let cluster = Cluster(nodes: [
      Builders.node("a", cpu: 1000, memory: 1 << 30, pods: 1),
      Builders.node("b", cpu: 1000, memory: 1 << 30, pods: 1),
    ])
    let scheduler = Scheduler(cluster: cluster, seed: 1, tieBreak: .lowestIndex)
    for i in 0..<2 {
      #expect(
        scheduler.scheduleOne(try cluster.addPod(Builders.pod("p\(i)", cpu: 100))).node != nil)
    }
    cluster.addNode(
      Builders.node(
        "c", cpu: 1000, memory: 1 << 30,
        taints: [Taint(key: "dedicated", value: "gpu", effect: .noSchedule)]))
    let third = scheduler.scheduleOne(try cluster.addPod(Builders.pod("p2", cpu: 100)))
    #expect(third.node == nil, "the only node with room carries an untolerated NoSchedule taint")
    let tolerant = Builders.pod(
      "p3", cpu: 100,
      tolerations: [
        Toleration(key: "dedicated", operator: .equal, value: "gpu", effect: .noSchedule)
      ])
    #expect(
      scheduler.scheduleOne(try cluster.addPod(tolerant)).node.map { cluster.nodes.names[$0.index] }
        == "c")
  }

  @Test("an image first held by a node added mid-run scores for the next identical pod")
  func newImageReachesIdenticalPods() throws {
    let nodes = (0..<3).map { Builders.node("n\($0)", cpu: 4000, memory: 8 << 30) }
    let cluster = Cluster(nodes: nodes)
    var profile = Profile.default
    profile.scores = [.init(name: .imageLocality, weight: 1)]
    let scheduler = Scheduler(cluster: cluster, profile: profile, seed: 1, tieBreak: .lowestIndex)
    let first = scheduler.scheduleOne(
      try cluster.addPod(Builders.pod("p0", cpu: 100, image: "nginx:1.25")))
    #expect(first.topScore == 0, "no node holds the image yet")
    cluster.addNode(
      Builders.node(
        "holder", cpu: 4000, memory: 8 << 30,
        images: [NodeSpec.Image(names: ["nginx:1.25"], sizeBytes: 900 << 20)]))
    let second = scheduler.scheduleOne(
      try cluster.addPod(Builders.pod("p1", cpu: 100, image: "nginx:1.25")))
    #expect(second.node.map { cluster.nodes.names[$0.index] } == "holder")
    #expect((second.topScore ?? 0) > 0)
  }
}

extension ScoreCacheTests {
  @Test(
    "more node changes between two cycles than the journal holds empty the caches: a node filled before them is seen full"
  )
  func journalOverflowForgetsEverything() throws {
    let cluster = Cluster(nodes: [
      Builders.node("a", cpu: 1000, memory: 1 << 30),
      Builders.node("b", cpu: 100_000, memory: 1 << 36),
    ])
    let scheduler = Scheduler(cluster: cluster, seed: 1, tieBreak: .lowestIndex)
    let first = scheduler.scheduleOne(try cluster.addPod(Builders.pod("s0", cpu: 500)))
    #expect(first.feasibleNodes == 2)
    let a = try #require(cluster.nodes.id(named: "a"))
    let b = try #require(cluster.nodes.id(named: "b"))
    let room = cluster.nodes.allocatableCPU[a.index] - cluster.nodes.requestedCPU[a.index]
    cluster.bind(try cluster.addPod(Builders.pod("filler", cpu: room)), to: a)
    let churn = try cluster.addPod(Builders.pod("churn", cpu: 1))
    for _ in 0..<(NodeTable.journalCapacity / 2 + 1) {
      cluster.bind(churn, to: b)
      cluster.unbind(churn)
    }
    let next = scheduler.scheduleOne(try cluster.addPod(Builders.pod("s1", cpu: 500)))
    #expect(next.feasibleNodes == 1, "node a has no CPU left")
    #expect(next.node == b)
  }
}

/// A pass that found no node answers the next pod of the same filter shape while no node
/// changed. Here one scheduler reuses failed passes and one always filters; on two identical
/// clusters they run the same random runs of oversized pods (several filter shapes, images
/// differing within a shape), binds, unbinds, new nodes, taints and cordons, and must agree
/// on every outcome, every diagnosis and the start index.
struct FailedPassReuseTests {
  @Test("a reused failed pass decides and diagnoses exactly as a fresh pass over random runs")
  func reuseAgreesWithFreshPasses() throws {
    var failures = 0
    var reused = 0
    for seed in UInt64(1)...150 {
      let (nodes, specs, profile) = RandomCluster.make(seed: seed)
      guard !specs.isEmpty else { continue }
      var rng = SplitMix64(seed: seed ^ 0xFA11ED)
      let (clusters, schedulers) = RandomCluster.twins(nodes, profile: profile, seed: seed)
      schedulers[1].reusesFailedPasses = false
      // Templates scaled up so that most pods fit nowhere once the cluster fills.
      let templates = (0..<3).map { k -> PodSpec in
        var spec = specs[rng.nextInt(below: specs.count)]
        for c in spec.containers.indices {
          spec.containers[c].requests["cpu"] = Quantity(milli: Int64(500 + 1500 * k))
          spec.containers[c].requests["memory"] = Quantity(integer: Int64(1 + k) << 30)
        }
        return spec
      }
      var bound: [PodID] = []
      var added = 0
      for step in 0..<160 {
        let roll = rng.nextInt(below: 100)
        if roll < 6, !bound.isEmpty {
          RandomCluster.unbindAny(&bound, in: clusters, rng: &rng)
        } else if roll < 9 {
          RandomCluster.addAny(of: nodes, numbered: &added, to: clusters, rng: &rng)
        } else if roll < 11 {
          RandomCluster.toggleCordonOrTaint(of: clusters, rng: &rng)
        } else {
          var spec = templates[rng.nextInt(below: templates.count)]
          spec.name = "p\(step)"
          spec.nodeName = ""
          // Same filter shape, different image: one pass must still answer both.
          for c in spec.containers.indices { spec.containers[c].image = "app-\(step % 4):v1" }
          let ids = try clusters.map { try $0.addPod(spec) }
          let outcomes = zip(schedulers, ids).map { $0.scheduleOne($1) }
          #expect(outcomes[0] == outcomes[1], "seed \(seed) step \(step)")
          if outcomes[0] != outcomes[1] { return }
          if outcomes[0].node == nil {
            failures += 1
            let messages = zip(schedulers, ids).map { $0.diagnose($1).message }
            #expect(messages[0] == messages[1], "seed \(seed) step \(step)")
          } else {
            bound.append(ids[0])
          }
          #expect(schedulers[0].lastWindow == schedulers[1].lastWindow, "seed \(seed) step \(step)")
        }
      }
      reused += schedulers[0].reusedFailedPasses
    }
    #expect(
      failures > 3_000 && reused > 1_000,
      "the runs exercise reuse: \(failures) failed cycles, \(reused) answered by a kept pass")
  }
}

extension RandomCluster {
  /// Two identical clusters of `nodes` with the random namespaces declared, and a scheduler
  /// each: the first as configured, the second for the caller to turn into the reference.
  static func twins(_ nodes: [NodeSpec], profile: Profile, seed: UInt64) -> (
    [Cluster], [Scheduler]
  ) {
    let clusters = [Cluster(nodes: nodes), Cluster(nodes: nodes)]
    for c in clusters {
      for ns in RandomCluster.namespaces { c.declareNamespace(ns.name, labels: ns.labels) }
    }
    return (clusters, clusters.map { Scheduler(cluster: $0, profile: profile, seed: seed) })
  }

  /// Unbinds a random pod of `bound` (removing it from the list) on every cluster.
  static func unbindAny(_ bound: inout [PodID], in clusters: [Cluster], rng: inout SplitMix64) {
    let pod = bound.remove(at: rng.nextInt(below: bound.count))
    for c in clusters { c.unbind(pod) }
  }

  /// `steps` random steps on twin clusters of `nodes` (`twins`, the schedulers set up by
  /// `configure`): a pod unbound (`odds.unbind` %, by default 10), a node added (4), a cordon or
  /// taint toggled (6), else a random pod of `specs` scheduled on both, `check` called with the
  /// two schedulers and outcomes. Stops at the first step `check` rejects. - Returns: the
  /// cycles run and the schedulers.
  static func runTwins(
    _ nodes: [NodeSpec], specs: [PodSpec], profile: Profile, seed: UInt64,
    steps: Int, odds: (unbind: Int, addNode: Int, toggle: Int) = (10, 4, 6),
    random: inout SplitMix64, configure: ([Scheduler]) -> Void,
    check: (_ schedulers: [Scheduler], _ outcomes: [ScheduleOutcome], _ step: Int) -> Bool
  ) throws -> (cycles: Int, schedulers: [Scheduler]) {
    let (clusters, schedulers) = twins(nodes, profile: profile, seed: seed)
    configure(schedulers)
    var bound: [PodID] = []
    var added = 0
    var cycles = 0
    for step in 0..<steps {
      let roll = random.nextInt(below: 100)
      if roll < odds.unbind, !bound.isEmpty {
        unbindAny(&bound, in: clusters, rng: &random)
      } else if roll < odds.unbind + odds.addNode {
        addAny(of: nodes, numbered: &added, to: clusters, rng: &random)
      } else if roll < odds.unbind + odds.addNode + odds.toggle {
        toggleCordonOrTaint(of: clusters, rng: &random)
      } else {
        var spec = specs[random.nextInt(below: specs.count)]
        spec.name = "p\(step)"
        spec.nodeName = ""
        let ids = try clusters.map { try $0.addPod(spec) }
        let outcomes = zip(schedulers, ids).map { $0.scheduleOne($1) }
        guard check(schedulers, outcomes, step) else { break }
        if outcomes[0].node != nil { bound.append(ids[0]) }
        cycles += 1
      }
    }
    return (cycles, schedulers)
  }

  /// Adds a copy of a random node of `nodes`, named `extra-<number>`, to every cluster.
  static func addAny(
    of nodes: [NodeSpec], numbered number: inout Int, to clusters: [Cluster],
    rng: inout SplitMix64
  ) {
    var node = nodes[rng.nextInt(below: nodes.count)]
    node.name = "extra-\(number)"
    node.labels["kubernetes.io/hostname"] = node.name
    number += 1
    for c in clusters { c.addNode(node) }
  }
}
