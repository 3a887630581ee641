import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// After nodes come and go, the scheduler walks the node tree's list — zones round-robin, only
/// existing nodes, counted for `percentageOfNodesToScore` and the "0/N nodes" messages — as
/// kube-scheduler rebuilds its snapshot list after every node addition or removal. Proof: a
/// churned cluster (rows reused, walk split into runs) decides every pod as a cluster built
/// afresh from the same nodes in walk order (rows in order, one run) does.
struct NodeChurnTests {
  /// One seeded churn: nodes added, removed (their pods deleted first), re-added under the
  /// same name, moved between zones; after each round, a batch of pods is scheduled on the
  /// churned cluster and on a fresh one, by fresh schedulers of the same seed.
  static func compare(seed: UInt64, nodeCount: Int, percentage: Int32?) throws -> (
    decisions: Int, runs: Int
  ) {
    var rng = SplitMix64(seed: seed)
    let (randomNodes, randomPods, randomProfile) = RandomCluster.make(seed: seed)
    var profile = randomProfile
    profile.percentageOfNodesToScore = percentage
    // A pool of node specs: the random cluster's kinds of node, many of them, in four zones.
    let pool = Self.pool(of: randomNodes, count: nodeCount) { _ in
      ["a", "b", "c", "d"][rng.nextInt(below: 4)]
    }
    let churned = Cluster(nodes: Array(pool.prefix(nodeCount * 2 / 3)))
    for ns in RandomCluster.namespaces { churned.declareNamespace(ns.name, labels: ns.labels) }
    var absent = Array(pool.suffix(nodeCount - nodeCount * 2 / 3))
    var placed: [(spec: PodSpec, node: String)] = []
    var decisions = 0
    var runs = 0
    for round in 0..<6 {
      // Churn: removals (pods there deleted), additions (some re-adding removed names), zone moves.
      for _ in 0..<(1 + rng.nextInt(below: nodeCount / 6)) {
        let live = churned.walk.rows
        switch rng.nextInt(below: 3) {
        case 0 where live.count > 1:
          let row = live[rng.nextInt(below: live.count)]
          let node = NodeID(UInt32(row))
          for p in churned.podsOn(node) { churned.unbind(p) }
          let name = churned.nodes.name(node)
          placed.removeAll { $0.node == name }
          absent.append(churned.nodes.specs[row])
          churned.removeNode(node)
          if rng.nextInt(below: 2) == 0 { churned.releaseRemovedNodeRows() }
        case 1 where !absent.isEmpty:
          churned.addNode(absent.remove(at: rng.nextInt(below: absent.count)))
        default:
          let row = live[rng.nextInt(below: live.count)]
          var spec = churned.nodes.specs[row]
          spec.labels["topology.kubernetes.io/zone"] =
            ["a", "b", "c", "d", "e"][
              rng.nextInt(below: 5)]
          churned.updateNode(NodeID(UInt32(row)), to: spec)
        }
      }
      Self.checkInvariants(churned)
      runs = max(runs, churned.walk.runCount)
      // The same nodes, built afresh in walk order, with the same pods bound by node name.
      let fresh = Cluster(nodes: churned.walk.rows.map { churned.nodes.specs[$0] })
      #expect(fresh.walk.isIdentity)
      for ns in RandomCluster.namespaces { fresh.declareNamespace(ns.name, labels: ns.labels) }
      for (spec, node) in placed {
        fresh.bind(try fresh.addPod(spec), to: try #require(fresh.nodes.id(named: node)))
      }
      let a = Scheduler(cluster: churned, profile: profile, seed: seed &+ UInt64(round))
      let b = Scheduler(cluster: fresh, profile: profile, seed: seed &+ UInt64(round))
      for (k, template) in randomPods.enumerated() {
        var spec = template
        spec.name = "r\(round)-\(k)"
        let pa = try churned.addPod(spec)
        let pb = try fresh.addPod(spec)
        let x = a.scheduleOne(pa)
        let y = b.scheduleOne(pb)
        decisions += 1
        let context = "seed \(seed) round \(round) pod \(spec.name)"
        #expect(
          x.node.map { churned.nodes.name($0) } == y.node.map { fresh.nodes.name($0) }, "\(context)"
        )
        Self.expectSameCycle(x, y, a, b, context)
        if let node = x.node {
          placed.append((spec, churned.nodes.name(node)))
        } else if a.lastRejection == nil {
          #expect(a.diagnose(pa).message == b.diagnose(pb).message, "\(context): diagnosis")
        }
      }
      Self.checkInvariants(churned)
    }
    return (decisions, runs)
  }

  /// `count` node specs of the random cluster's kinds, named `n0`… (the random pods pin some to
  /// nodes by these names), each in `zone(i)`, schedulable, with room for ten pods.
  static func pool(of kinds: [NodeSpec], count: Int, zone: (Int) -> String) -> [NodeSpec] {
    (0..<count).map { i in
      var spec = kinds[i % kinds.count]
      spec.name = "n\(i)"
      spec.labels["kubernetes.io/hostname"] = spec.name
      spec.labels["topology.kubernetes.io/zone"] = zone(i)
      spec.unschedulable = false
      if spec.allocatable.pods < 10 { spec.allocatable.pods = 10 }
      spec.allocatable.cpuMillis = max(spec.allocatable.cpuMillis, 4000)
      spec.allocatable.memoryBytes = max(spec.allocatable.memoryBytes, 8 << 30)
      return spec
    }
  }

  /// Two schedulers' cycles for the same pod examined and found the same, and left the same
  /// start index.
  static func expectSameCycle(
    _ x: ScheduleOutcome, _ y: ScheduleOutcome, _ a: Scheduler, _ b: Scheduler, _ context: String
  ) {
    #expect(x.evaluatedNodes == y.evaluatedNodes, "\(context): evaluated")
    #expect(x.feasibleNodes == y.feasibleNodes, "\(context): feasible")
    #expect(x.topScore == y.topScore, "\(context): top score")
    #expect(a.nextStartNodeIndex == b.nextStartNodeIndex, "\(context): start index")
  }

  /// Every invariant but over-commitment of a resource the random profile may ignore.
  static func checkInvariants(_ cluster: Cluster) {
    let problems = cluster.invariantViolations().filter {
      if case .overAllocatable = $0.kind { return false }
      return true
    }
    #expect(problems.isEmpty, "\(problems.map(\.description))")
  }

  @Test("pods pinned to many nodes by name walk them in node-tree order after churn")
  func narrowed() throws {
    var rng = SplitMix64(seed: 99)
    let specs = (0..<300).map { i in
      Builders.node(
        "n\(i)", cpu: 8000, memory: 16 << 30,
        labels: ["topology.kubernetes.io/zone": ["a", "b", "c"][i % 3]])
    }
    let churned = Cluster(nodes: specs)
    // Remove a node of zone a early in the list, add two: the walk is no longer in row order.
    churned.removeNode(try #require(churned.nodes.id(named: "n3")))
    churned.releaseRemovedNodeRows()
    churned.addNode(
      Builders.node("x0", cpu: 8000, memory: 16 << 30, labels: ["topology.kubernetes.io/zone": "c"])
    )
    churned.addNode(
      Builders.node("x1", cpu: 8000, memory: 16 << 30, labels: ["topology.kubernetes.io/zone": "a"])
    )
    #expect(!churned.walk.isIdentity)
    let fresh = Cluster(nodes: churned.walk.rows.map { churned.nodes.specs[$0] })
    var profile = Profile.default
    profile.percentageOfNodesToScore = 30
    let a = Scheduler(cluster: churned, profile: profile, seed: 4)
    let b = Scheduler(cluster: fresh, profile: profile, seed: 4)
    let names = churned.walk.rows.map { churned.nodes.names[$0] }
    for k in 0..<60 {
      // 150 of the nodes: more than the 100 a cycle looks for, so the order decides which.
      let pinned = Array(names.shuffled(using: &rng).prefix(150))
      var spec = Builders.pod("p\(k)", cpu: Int64(100 + rng.nextInt(below: 900)))
      // A term per node (upstream allows one name per matchFields requirement; terms are ORed).
      spec.affinity = NodeAffinity(
        required: NodeSelector(
          terms: pinned.map {
            NodeSelectorTerm(matchFields: [.init(key: "metadata.name", operator: .in, values: [$0])]
            )
          }))
      let pa = try churned.addPod(spec)
      let x = a.scheduleOne(pa)
      let y = b.scheduleOne(try fresh.addPod(spec))
      #expect(x.node != nil, "\(a.diagnose(pa).message)")
      #expect(x.node.map { churned.nodes.name($0) } == y.node.map { fresh.nodes.name($0) })
      #expect(
        x.evaluatedNodes == y.evaluatedNodes && x.evaluatedNodes == 100, "\(x.evaluatedNodes)")
      #expect(a.nextStartNodeIndex == b.nextStartNodeIndex)
    }
  }

  @Test(
    "a walk of one row per run (zones added one after another) is filtered and scored in row order with the walk-order pass's decisions, windows, totals and diagnoses"
  )
  func rowOrderPasses() throws {
    var decisions = 0
    var scored = 0
    for seed in UInt64(1)...80 {
      var rng = SplitMix64(seed: seed)
      let (randomNodes, randomPods, randomProfile) = RandomCluster.make(seed: seed)
      var profile = randomProfile
      profile.percentageOfNodesToScore = [nil, 20, 60][Int(seed % 3)]
      let count = 60 + rng.nextInt(below: 240)
      let zones = ["a", "b", "c", "d"]
      let specs = Self.pool(of: randomNodes, count: count) { zones[$0 % zones.count] }
      // One zone after another, one node at a time: rows by zone, the walk round-robin over
      // zones, so nearly every run is one row long.
      let a = Cluster()
      for zone in zones {
        for spec in specs where spec.labels["topology.kubernetes.io/zone"] == zone {
          a.addNode(spec)
        }
      }
      // Some churn: removed rows are not walked.
      for _ in 0..<(count / 10) {
        let live = a.walk.rows
        a.removeNode(NodeID(UInt32(live[rng.nextInt(below: live.count)])))
      }
      for ns in RandomCluster.namespaces { a.declareNamespace(ns.name, labels: ns.labels) }
      let b = a.copy()
      #expect(a.walk.runCount * 2 > a.walk.count, "seed \(seed): the walk is fragmented")
      let rowOrder = Scheduler(cluster: a, profile: profile, seed: seed)
      let walkOrder = Scheduler(cluster: b, profile: profile, seed: seed)
      walkOrder.reordersFragmentedWalks = false
      for (k, template) in randomPods.enumerated() {
        var spec = template
        spec.name = "p\(k)"
        let pa = try a.addPod(spec)
        let pb = try b.addPod(spec)
        let x = rowOrder.scheduleOne(pa)
        let y = walkOrder.scheduleOne(pb)
        decisions += 1
        let context = "seed \(seed) pod \(spec.name)"
        #expect(x.node == y.node, "\(context)")
        Self.expectSameCycle(x, y, rowOrder, walkOrder, context)
        if x.topScore != nil {
          scored += 1
          for seg in walkOrder.lastWindow.segments {
            for r in seg where rowOrder.total[r] != walkOrder.total[r] {
              Issue.record(
                "\(context) row \(r): total \(rowOrder.total[r]) != \(walkOrder.total[r])")
            }
          }
        }
        if x.node == nil && rowOrder.lastRejection == nil {
          #expect(rowOrder.diagnose(pa).message == walkOrder.diagnose(pb).message, "\(context)")
        }
      }
      Self.checkInvariants(a)
    }
    #expect(decisions > 1000)
    #expect(scored > 300)
  }

  @Test("a churned cluster decides as one built afresh from its node list (small, all nodes)")
  func small() throws {
    var decisions = 0
    var runs = 0
    for seed in UInt64(1)...60 {
      let r = try Self.compare(seed: seed, nodeCount: 24, percentage: nil)
      decisions += r.decisions
      runs = max(runs, r.runs)
    }
    #expect(decisions > 1000)
    #expect(runs > 4, "the churn splits the walk into runs")
  }

  @Test("a churned cluster decides as one built afresh from its node list (300 nodes, windows)")
  func windows() throws {
    for (seed, percentage) in [(UInt64(3), Int32?.none), (5, 10), (8, 35), (13, nil)] {
      let r = try Self.compare(seed: seed, nodeCount: 300, percentage: percentage)
      #expect(r.runs > 20, "seed \(seed): the churn splits the walk into runs")
    }
  }
}
