import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// Node updates — cordons, labels, taints, resizes, images — on a live cluster: counters stay
/// exact, every cache the scheduler and its plugins keep sees the new node, and the queue moves
/// the pods an update may help.
struct NodeUpdateTests {
  static let gi: Int64 = 1 << 30
  static let zone = "topology.kubernetes.io/zone"

  /// A random change of `spec` that keeps its name and GPUs and still holds what `cluster` has
  /// bound on `node`.
  static func mutate(_ spec: NodeSpec, node: NodeID, in cluster: Cluster, rng: inout SplitMix64)
    -> NodeSpec
  {
    var s = spec
    switch rng.nextInt(below: 6) {
    case 0: s.unschedulable.toggle()
    case 1: s.labels[zone] = ["a", "b", "c", "d", "e"][rng.nextInt(below: 5)]
    case 2:
      if s.labels["tier"] == nil {
        s.labels["tier"] = ["web", "db", "new"][rng.nextInt(below: 3)]
      } else {
        s.labels["tier"] = nil
      }
    case 3:
      if s.taints.isEmpty {
        s.taints = [
          Taint(
            key: ["dedicated", "spot", "fresh-\(rng.nextInt(below: 3))"][rng.nextInt(below: 3)],
            value: "x", effect: [.noSchedule, .preferNoSchedule, .noExecute][rng.nextInt(below: 3)])
        ]
      } else {
        s.taints = []
      }
    case 4:
      let i = node.index
      // Grow or shrink, never below what is bound there.
      s.allocatable.cpuMillis = max(
        cluster.nodes.requestedCPU[i],
        s.allocatable.cpuMillis + Int64(rng.nextInt(below: 4001)) - 2000)
      s.allocatable.pods = max(
        cluster.nodes.podCount[i], s.allocatable.pods + Int64(rng.nextInt(below: 5)) - 2)
    default:
      s.images =
        rng.nextInt(below: 2) == 0
        ? []
        : [
          NodeSpec.Image(
            names: ["nginx:1.25"], sizeBytes: Int64(100 + rng.nextInt(below: 900)) << 20)
        ]
    }
    return s
  }

  @Test("counters, columns and side tables stay exact over random updates, bindings and new nodes")
  func countersStayExact() throws {
    for seed in UInt64(1)...60 {
      let (nodes, specs, _) = RandomCluster.make(seed: seed)
      guard !nodes.isEmpty else { continue }
      var rng = SplitMix64(seed: seed ^ 0xD0DE)
      let c = Cluster(nodes: nodes)
      for ns in RandomCluster.namespaces { c.declareNamespace(ns.name, labels: ns.labels) }
      let scheduler = Scheduler(cluster: c, seed: seed)
      var bound: [PodID] = []
      for (step, spec) in specs.enumerated() {
        let pod = try c.addPod(spec)
        if scheduler.scheduleOne(pod).node != nil { bound.append(pod) }
        for _ in 0..<2 {
          let node = NodeID(UInt32(rng.nextInt(below: c.nodes.count)))
          c.updateNode(
            node, to: Self.mutate(c.nodes.specs[node.index], node: node, in: c, rng: &rng))
        }
        if rng.nextInt(below: 5) == 0, !bound.isEmpty {
          c.unbind(bound.remove(at: rng.nextInt(below: bound.count)))
        }
        let problems = c.invariantViolations()
        #expect(problems.isEmpty, "seed \(seed) step \(step): \(problems.prefix(2))")
        if !problems.isEmpty { return }
      }
    }
  }

  @Test("a scheduler that lived through updates decides as a fresh one would, pod after pod")
  func cachesFollowUpdates() throws {
    var compared = 0
    for seed in UInt64(1)...120 {
      var (nodes, specs, profile) = RandomCluster.make(seed: seed)
      guard !nodes.isEmpty else { continue }
      // Every node examined and ties to the lowest row: a fresh scheduler's start index and draws
      // cannot make it differ.
      profile.percentageOfNodesToScore = 100
      var rng = SplitMix64(seed: seed ^ 0xFEED)
      let c = Cluster(nodes: nodes)
      for ns in RandomCluster.namespaces { c.declareNamespace(ns.name, labels: ns.labels) }
      let lived = Scheduler(cluster: c, profile: profile, seed: seed, tieBreak: .lowestIndex)
      for (step, spec) in specs.enumerated() {
        for _ in 0..<rng.nextInt(below: 3) {
          let node = NodeID(UInt32(rng.nextInt(below: c.nodes.count)))
          c.updateNode(
            node, to: Self.mutate(c.nodes.specs[node.index], node: node, in: c, rng: &rng))
        }
        if rng.nextInt(below: 60) == 0 {
          var extra = nodes[rng.nextInt(below: nodes.count)]
          extra.name = "extra-\(step)"
          extra.labels["kubernetes.io/hostname"] = extra.name
          c.addNode(extra)
        }
        // The same pod twice (shape caches), judged first by a fresh scheduler on a copy.
        for twice in 0..<2 {
          var s = spec
          s.name = "\(spec.name)-\(twice)"
          let copy = c.copy()
          let fresh = Scheduler(cluster: copy, profile: profile, seed: seed, tieBreak: .lowestIndex)
          let expected = fresh.scheduleOne(try copy.addPod(s), bind: false)
          let actual = lived.scheduleOne(try c.addPod(s), bind: false)
          // Every row's verdict and every feasible row's total, not just the winner.
          let rows = 0..<c.nodes.count
          let verdicts = rows.allSatisfy { lived.status[$0] == fresh.status[$0] }
          let totals =
            actual.topScore == nil
            || rows.allSatisfy { lived.status[$0] != 0 || lived.total[$0] == fresh.total[$0] }
          #expect(actual == expected && verdicts && totals, "seed \(seed) step \(step)")
          if actual != expected || !verdicts || !totals { return }
          if let node = actual.node { c.bind(PodID(UInt32(c.pods.count - 1)), to: node) }
          compared += 1
        }
      }
    }
    #expect(compared > 3_000)
  }

  @Test(
    "what plugins derived from the nodes follows an update: a new label value, a key a node loses, an image's spread"
  )
  func derivedStateFollowsUpdates() throws {
    // NodeAffinity: `zone NotIn (a)` compiled while the zone had values a and b.
    let c = Cluster(
      nodes: ["a", "b"].enumerated().map {
        Builders.node(
          "n\($0.offset)", cpu: 4000, memory: 4 * Self.gi,
          labels: [Self.zone: $0.element, "tier": "web"])
      })
    let scheduler = Scheduler(cluster: c, seed: 1, tieBreak: .lowestIndex)
    var notA = Builders.pod("not-a", cpu: 100)
    notA.affinity = NodeAffinity(
      required: NodeSelector(terms: [
        NodeSelectorTerm(matchExpressions: [.init(key: Self.zone, operator: .notIn, values: ["a"])])
      ]))
    #expect(scheduler.scheduleOne(try c.addPod(notA), bind: false).feasibleNodes == 1)
    var moved = c.nodes.specs[0]
    moved.labels[Self.zone] = "z"
    c.updateNode(NodeID(0), to: moved)
    notA.name = "not-a-2"
    #expect(
      scheduler.scheduleOne(try c.addPod(notA), bind: false).feasibleNodes == 2, "zone z is not a")
    // PodTopologySpread: every node carried `tier`, so no node could miss it; then one loses it.
    var spread = Builders.pod("spread", cpu: 100)
    spread.labels = ["app": "s"]
    spread.topologySpreadConstraints = [
      TopologySpreadConstraint(
        maxSkew: 1, topologyKey: "tier", doNotSchedule: true,
        labelSelector: LabelSelector(matchLabels: ["app": "s"]))
    ]
    #expect(scheduler.scheduleOne(try c.addPod(spread), bind: false).feasibleNodes == 2)
    var bare = c.nodes.specs[1]
    bare.labels["tier"] = nil
    c.updateNode(NodeID(1), to: bare)
    spread.name = "spread-2"
    let after = scheduler.scheduleOne(try c.addPod(spread), bind: false)
    #expect(
      after.feasibleNodes == 1 && after.node == NodeID(0), "a node without the key is rejected")
    // ImageLocality: an image on both nodes counts half as much once one node drops it.
    let image = NodeSpec.Image(names: ["big:1"], sizeBytes: 800 << 20)
    let d = Cluster(
      nodes: (0..<2).map {
        Builders.node("m\($0)", cpu: 4000, memory: 4 * Self.gi, images: [image])
      })
    var profile = Profile.default
    profile.scores = [.init(name: .imageLocality, weight: 1)]
    let imaging = Scheduler(cluster: d, profile: profile, seed: 1, tieBreak: .lowestIndex)
    let both = imaging.scheduleOne(
      try d.addPod(Builders.pod("i0", cpu: 100, image: "big:1")), bind: false)
    var dropped = d.nodes.specs[1]
    dropped.images = []
    d.updateNode(NodeID(1), to: dropped)
    let one = imaging.scheduleOne(
      try d.addPod(Builders.pod("i1", cpu: 100, image: "big:1")), bind: false)
    // ImageLocality's 0…100 from the clamped sum, in MiB: (800 − 23)·100 / (1000 − 23) = 79.
    let full: Int64 = 79
    let half: Int64 = 38  // (400 − 23)·100 / 977
    #expect(both.topScore == full)
    #expect(one.node == NodeID(0) && one.topScore == half, "spread 1/2 halves the size")
  }

  @Test(
    "update hints: uncordon, a tolerated taint set, a matching label, more allocatable, a spread key"
  )
  func hints() throws {
    let base = Builders.node("n", cpu: 1000, memory: Self.gi, labels: [Self.zone: "a"])
    let c = Cluster(nodes: [base])
    var pod = Builders.pod("p", cpu: 800, memory: 1 << 20)
    pod.nodeSelector = ["disk": "ssd"]
    pod.topologySpreadConstraints = [
      TopologySpreadConstraint(
        maxSkew: 1, topologyKey: Self.zone, doNotSchedule: true,
        labelSelector: LabelSelector(matchLabels: ["app": "x"]))
    ]
    _ = try c.addPod(pod)
    let node = NodeID(0)
    func hint(_ plugin: PluginName, _ change: (inout NodeSpec) -> Void) throws -> Bool {
      let old = c.nodes.specs[0]
      var new = old
      change(&new)
      let changes = c.updateNode(node, to: new)
      defer { c.updateNode(node, to: old) }
      let scheduler = Scheduler(cluster: c, seed: 1)
      let f = try #require(scheduler.filterPlugins.first { $0.name == plugin })
      return f.queueingHint(
        PodInfo(PodID(0), in: c), after: .nodeUpdated(node, old: old, changes: changes), cluster: c)
    }
    c.updateNode(
      node,
      to: {
        var s = base
        s.unschedulable = true
        s.taints = [Taint(key: "t", effect: .noSchedule)]
        return s
      }())
    #expect(try hint(.nodeUnschedulable) { $0.unschedulable = false })
    #expect(try !hint(.nodeUnschedulable) { $0.labels["x"] = "y" })
    #expect(try hint(.taintToleration) { $0.taints = [] })
    #expect(try !hint(.taintToleration) { $0.taints = [Taint(key: "u", effect: .noExecute)] })
    #expect(
      try hint(.taintToleration) { $0.taints = [Taint(key: "t", effect: .preferNoSchedule)] },
      "soft taints do not reject")
    #expect(try hint(.nodeAffinity) { $0.labels["disk"] = "ssd" })
    #expect(try !hint(.nodeAffinity) { $0.labels["disk"] = "hdd" })
    #expect(try hint(.nodeResourcesFit) { $0.allocatable.cpuMillis = 2000 })
    #expect(
      try hint(.nodeResourcesFit) { $0.allocatable.memoryBytes = 2 * Self.gi },
      "it requests memory, which grew")
    #expect(
      try !hint(.nodeResourcesFit) { $0.allocatable.cpuMillis = 900 },
      "it still fits empty, but nothing grew")
    #expect(
      try !hint(.nodeResourcesFit) {
        $0.allocatable.cpuMillis = 700
        $0.allocatable.memoryBytes = 2 * Self.gi
      }, "no longer fits empty")
    #expect(try hint(.nodeResourcesFit) { $0.allocatable.pods = 200 }, "more pods allowed")
    #expect(try hint(.podTopologySpread) { $0.labels[Self.zone] = "b" })
    #expect(try hint(.podTopologySpread) { $0.labels[Self.zone] = nil })
    #expect(try !hint(.podTopologySpread) { $0.labels["rack"] = "r1" })
    // Registrations by kind of change.
    #expect(
      ClusterEvent.nodeUpdate(.labels).concerns(.nodeAffinity)
        && !ClusterEvent.nodeUpdate(.labels).concerns(.nodeUnschedulable))
    #expect(
      ClusterEvent.nodeUpdate(.taints).concerns(.taintToleration)
        && !ClusterEvent.nodeUpdate(.taints).concerns(.nodeResourcesFit))
    #expect(
      ClusterEvent.nodeUpdate(.allocatable).concerns(.nodeResourcesFit)
        && !ClusterEvent.nodeUpdate(.images).concerns(.podTopologySpread))
  }

  @Test(
    "a pod waiting because every node is cordoned binds when one is uncordoned, not when another is relabelled"
  )
  func uncordonMovesThePod() throws {
    let nodes = (0..<2).map { i in
      var n = Builders.node("n\(i)", cpu: 4000, memory: 4 * Self.gi)
      n.unschedulable = true
      return n
    }
    let c = Cluster(nodes: nodes)
    let run = QueueRun(scheduler: Scheduler(cluster: c, seed: 1), seed: 1)
    let pod = try c.addPod(Builders.pod("p", cpu: 100))
    run.submit(pod, at: .zero)
    run.run()
    #expect(run.queue.location[pod.index] == .unschedulable)
    var relabelled = c.nodes.specs[1]
    relabelled.labels["tier"] = "web"
    #expect(run.updateNode(NodeID(1), to: relabelled) == .labels)
    #expect(
      run.queue.location[pod.index] == .unschedulable,
      "a label change does not concern NodeUnschedulable")
    var open = c.nodes.specs[0]
    open.unschedulable = false
    #expect(run.updateNode(NodeID(0), to: open) == .taints)
    run.run()
    #expect(run.stillPending.isEmpty && c.pods.node[pod.index] == 0)
  }
}
