import BerthCore
import BerthTestSupport
import Testing

struct ClusterTests {
  @Test("a pod phase's code is its place in allCases, and codes out of range read Unknown")
  func phaseCodes() {
    for (i, phase) in PodPhase.allCases.enumerated() {
      #expect(phase.code == UInt8(i))
      #expect(PodPhase(code: UInt8(i)) == phase)
    }
    #expect(PodPhase(code: 5) == .unknown && PodPhase(code: 255) == .unknown)
  }

  @Test("node rows interleave zones in node-tree order")
  func nodeTree() {
    #expect(NodeTree.iterationOrder(zoneKeys: ["a", "a", "b"]) == [0, 2, 1])
    #expect(
      NodeTree.iterationOrder(zoneKeys: ["c", "a", "a", "b", "a", "b", "c", "a"]) == [
        0, 1, 3, 6, 2, 5, 4, 7,
      ])
    #expect(NodeTree.iterationOrder(zoneKeys: []) == [])
  }

  /// The nodes of upstream's node-tree tests (node_tree_test.go): zone keys `region:\0:zone`.
  static let upstreamZones: [String] = [
    "",  // node-0: no labels
    "region-1:\u{0}:",  // node-1: region only
    ":\u{0}:zone-2",  // node-2: zone only
    "region-1:\u{0}:zone-2",  // node-3
    "region-1:\u{0}:zone-2",  // node-4
    "region-1:\u{0}:zone-3",  // node-5
    "region-2:\u{0}:zone-2",  // node-6
    "region-2:\u{0}:zone-2",  // node-7
    "region-2:\u{0}:zone-2",  // node-8
  ]

  /// Upstream's TestNodeTree_* facts with node-i at row i: trees after adds, removals and zone
  /// changes, and the lists.
  @Test("the node tree adds, removes, moves and lists nodes as upstream's tests say")
  func nodeTreeUpstreamFacts() {
    func tree(_ rows: [Int]) -> NodeTree {
      var t = NodeTree()
      for r in rows { t.add(row: r, zoneKey: Self.upstreamZones[r]) }
      return t
    }
    func lists(_ t: NodeTree) -> [String: [Int]] {
      Dictionary(uniqueKeysWithValues: t.zoneLists.map { ($0.key, $0.rows) })
    }
    // AddNode: "mix of nodes with and without proper labels and some zones with multiple nodes".
    #expect(
      lists(tree(Array(0..<7))) == [
        "": [0], "region-1:\u{0}:": [1], ":\u{0}:zone-2": [2], "region-1:\u{0}:zone-2": [3, 4],
        "region-1:\u{0}:zone-3": [5], "region-2:\u{0}:zone-2": [6],
      ])
    // RemoveNode: "remove a few nodes including one from a zone with multiple nodes".
    var t = tree(Array(0..<7))
    for r in 1..<4 { t.remove(row: r) }
    #expect(
      lists(t) == [
        "": [0], "region-1:\u{0}:zone-2": [4], "region-1:\u{0}:zone-3": [5],
        "region-2:\u{0}:zone-2": [6],
      ])
    #expect(t.count == 4 && !t.contains(row: 2) && t.contains(row: 4))
    // RemoveNode: "remove all nodes".
    for r in [0, 4, 5, 6] { t.remove(row: r) }
    #expect(t.zoneLists.isEmpty && t.count == 0 && t.list().isEmpty)
    // UpdateNode: node-0 gains region-1/zone-2: it leaves the unnamed zone (now empty, gone)
    // and joins the end of its new zone.
    t = tree(Array(0..<7))
    t.update(row: 0, zoneKey: "region-1:\u{0}:zone-2")
    #expect(
      lists(t) == [
        "region-1:\u{0}:": [1], ":\u{0}:zone-2": [2], "region-1:\u{0}:zone-2": [3, 4, 0],
        "region-1:\u{0}:zone-3": [5], "region-2:\u{0}:zone-2": [6],
      ])
    // List: "all nodes".
    #expect(tree(Array(0..<9)).list() == [0, 1, 2, 3, 5, 6, 4, 7, 8])
    #expect(tree(Array(0..<4)).list() == [0, 1, 2, 3])
    // MultiOperations, nodes 2…8 added in order, removed in the same order.
    func ops(_ adds: [Int], _ removes: [Int], _ script: String) -> [Int32] {
      var t = NodeTree()
      var a = adds[...]
      var r = removes[...]
      for op in script {
        if op == "a" {
          t.add(row: a.first!, zoneKey: Self.upstreamZones[a.removeFirst()])
        } else {
          t.remove(row: r.removeFirst())
        }
      }
      return t.list()
    }
    let twoToEight = Array(2..<9)
    #expect(ops(twoToEight, twoToEight, "aaarrr").isEmpty)
    #expect(ops(twoToEight, twoToEight, "aaar") == [3, 4])
    #expect(ops(twoToEight, twoToEight, "aaarrra") == [5])
    // "add more nodes to an exhausted zone"
    #expect(ops([4, 5, 6, 7, 8, 3], [], "aaaaaa") == [4, 5, 6, 3, 7, 8])
    // "remove zone and add new": the zone of nodes 3 and 4 empties; 6 and 7 remain.
    #expect(ops([3, 4, 6, 7], [3, 4], "aaraar") == [6, 7])
  }

  @Test("a walk keeps its rows as runs and maps any span of positions to row ranges")
  func nodeWalk() {
    let walk = NodeWalk(order: [0, 1, 2, 7, 8, 3, 4, 5], rowCount: 9)
    #expect(walk.count == 8 && walk.runCount == 3 && !walk.isIdentity)
    #expect(walk.rows == [0, 1, 2, 7, 8, 3, 4, 5])
    #expect(Array(walk.segments(start: 4, length: 6)) == [8..<9, 3..<6, 0..<2])
    #expect(Array(walk.segments(start: 7, length: 1)) == [5..<6])
    #expect(Array(walk.segments(start: 0, length: 0)).isEmpty)
    #expect((0..<8).map { walk.row(at: $0) } == [0, 1, 2, 7, 8, 3, 4, 5])
    let identity = NodeWalk(identity: 5)
    #expect(identity.isIdentity && identity.runCount == 1)
    #expect(Array(identity.segments(start: 3, length: 5)) == [3..<5, 0..<3])
    #expect(NodeWalk(order: [], rowCount: 0).rows.isEmpty)
  }

  @Test("an idle matcher is freed, and counted afresh when asked for again")
  func matcherCollection() throws {
    let cluster = Cluster(
      nodes: (0..<3).map { Builders.node("n\($0)", cpu: 4000, memory: 8 << 30) })
    func pod(_ name: String, _ app: String) throws -> PodID {
      var spec = Builders.pod(name, cpu: 100)
      spec.labels = ["app": app]
      return try cluster.addPod(spec)
    }
    let a = cluster.matcher(namespace: 0, selector: LabelSelector(matchLabels: ["app": "a"]))
    let b = cluster.matcher(namespace: 0, selector: LabelSelector(matchLabels: ["app": "b"]))
    let zone = cluster.labels.keyID("kubernetes.io/hostname")!
    let p = try pod("p", "a")
    cluster.bind(p, to: NodeID(1))
    _ = cluster.domainCounter(.matcher(a, key: "kubernetes.io/hostname"), key: zone)
    _ = cluster.domainCounter(.matcher(b, key: "kubernetes.io/hostname"), key: zone)
    // b matches no bound pod: freed, with its counter; a keeps both.
    #expect(cluster.collectIdleMatchers() == 1)
    #expect(cluster.matcherEpoch == 1 && cluster.liveMatcherCount == 1)
    #expect(cluster.domainCounters.count == 1 && cluster.matcherCounts[b].count == 0)
    cluster.checkInvariants()
    // A pod b matches binds while b is freed; asking for b counts it afresh.
    let q = try pod("q", "b")
    cluster.bind(q, to: NodeID(2))
    cluster.checkInvariants()
    #expect(cluster.matcher(namespace: 0, selector: LabelSelector(matchLabels: ["app": "b"])) == b)
    #expect(cluster.matcherTotals[b] == 1 && cluster.matcherCounts[b][2] == 1)
    let counter = cluster.domainCounter(.matcher(b, key: "kubernetes.io/hostname"), key: zone)
    #expect(counter.total == 1)
    // Kept exact from then on.
    cluster.unbind(q)
    #expect(cluster.matcherTotals[b] == 0 && counter.total == 0)
    cluster.unbind(p)
    #expect(cluster.collectIdleMatchers() == 2 && cluster.liveMatcherCount == 0)
    cluster.checkInvariants()
  }

  @Test("a removed node's row is emptied, leaves the walk and is taken by a later node")
  func nodeRemovalAndReuse() throws {
    let zones = ["a", "b", "a", "b", "a"]
    let cluster = Cluster(
      nodes: zones.enumerated().map { i, z in
        Builders.node(
          "n\(i)", cpu: 4000, memory: 8 << 30, labels: ["topology.kubernetes.io/zone": z],
          images: [.init(names: ["img"], sizeBytes: 1 << 20)])
      })
    // Built in tree order: n0 n1 n2 n3 n4 are rows 0 1 2 3 4 (zones a b a b a interleave).
    #expect(cluster.walk.isIdentity && cluster.nodeCount == 5)
    let pod = try cluster.addPod(Builders.pod("p", cpu: 100))
    cluster.bind(pod, to: try #require(cluster.nodes.id(named: "n2")))
    cluster.unbind(pod)
    let n2 = try #require(cluster.nodes.id(named: "n2"))
    cluster.removeNode(n2)
    cluster.checkInvariants()
    // Zone a is now n0, n4: the walk lists n0 n1 n4 n3.
    #expect(cluster.walk.rows == [0, 1, 4, 3])
    #expect(cluster.nodeCount == 4 && !cluster.exists(n2) && cluster.nodes.id(named: "n2") == nil)
    #expect(cluster.nodes.name(n2) == "n2", "the old name is kept until the row is reused")
    #expect(
      cluster.images.presence[cluster.images.id(of: "img")!].map(\.node.index) == [0, 1, 3, 4])
    // Not released yet: a new node takes a new row.
    let n5 = cluster.addNode(
      Builders.node("n5", cpu: 1000, memory: 1 << 30, labels: ["topology.kubernetes.io/zone": "b"]))
    #expect(n5.index == 5)
    cluster.releaseRemovedNodeRows()
    let again = cluster.addNode(
      Builders.node("n2", cpu: 2000, memory: 1 << 30, labels: ["topology.kubernetes.io/zone": "c"]))
    #expect(again == n2 && cluster.exists(again) && cluster.nodes.allocatableCPU[2] == 2000)
    cluster.checkInvariants()
    // Zones a [n0 n4], b [n1 n3 n5], c [n2]: round robin n0 n1 n2 n4 n3 n5.
    #expect(cluster.walk.rows == [0, 1, 2, 4, 3, 5])
    // A zone change moves the node to the end of its new zone.
    var spec = cluster.nodes.specs[0]
    spec.labels["topology.kubernetes.io/zone"] = "c"
    cluster.updateNode(NodeID(0), to: spec)
    // Zones a [n4], b [n1 n3 n5], c [n2 n0]: round robin n4 n1 n2 n3 n0 n5.
    #expect(cluster.walk.rows == [4, 1, 2, 3, 0, 5])
    cluster.checkInvariants()
  }

  @Test(
    "effective requests: containers summed, raised to the largest init container, sidecars added, overhead on top"
  )
  func podRequests() throws {
    func c(_ cpu: String, _ mem: String? = nil, sidecar: Bool = false) throws -> Container {
      var r = ResourceList()
      r["cpu"] = try Quantity(parsing: cpu)
      if let mem { r["memory"] = try Quantity(parsing: mem) }
      return Container(requests: r, restartPolicyAlways: sidecar)
    }
    let plain = PodSpec(name: "p", containers: [try c("100m", "1Gi"), try c("200m")])
    #expect(try PodRequests.effective(plain).cpuMillis == 300)
    #expect(
      try PodRequests.effective(plain, nonMissing: true).memoryBytes == (1 << 30) + 200 * 1024
        * 1024)
    let withInit = PodSpec(name: "p", containers: [try c("100m")], initContainers: [try c("500m")])
    #expect(try PodRequests.effective(withInit).cpuMillis == 500)
    let withSidecar = PodSpec(
      name: "p", containers: [try c("100m")],
      initContainers: [try c("50m", sidecar: true), try c("400m")],
      overhead: ResourceList([("cpu", try Quantity(parsing: "10m"))]))
    // Sidecar 50m runs with the containers (150m); the later init container needs 400m + 50m.
    #expect(try PodRequests.effective(withSidecar).cpuMillis == 460)
    let explicitZero = PodSpec(name: "p", containers: [try c("0", "0")])
    #expect(try PodRequests.effective(explicitZero, nonMissing: true).cpuMillis == 0)
    let missing = PodSpec(name: "p", containers: [Container()])
    #expect(try PodRequests.effective(missing, nonMissing: true).cpuMillis == 100)
  }

  @Test("bind and unbind keep every aggregate exact")
  func bindUnbind() throws {
    let cluster = Cluster(nodes: [
      Builders.node("n1", cpu: 4000, memory: 8 << 30),
      Builders.node("n2", cpu: 2000, memory: 4 << 30),
    ])
    let a = try cluster.addPod(Builders.pod("a", cpu: 1000, memory: 1 << 30))
    let b = try cluster.addPod(Builders.pod("b", cpu: 500, memory: 1 << 29))
    let n1 = try #require(cluster.nodes.id(named: "n1"))
    cluster.bind(a, to: n1)
    cluster.checkInvariants()
    cluster.bind(b, to: n1)
    cluster.checkInvariants()
    #expect(cluster.nodes.requestedCPU[n1.index] == 1500)
    #expect(cluster.nodes.podCount[n1.index] == 2)
    cluster.unbind(a)
    cluster.checkInvariants()
    #expect(cluster.nodes.requestedCPU[n1.index] == 500)
    #expect(cluster.invariantViolations().isEmpty)
  }

  @Test("pods added in bulk copy the template's columns and are found by their computed names")
  func bulkAdd() throws {
    let cluster = Cluster(nodes: [Builders.node("n1", cpu: 4000, memory: 8 << 30)])
    let single = try cluster.addPod(Builders.pod("web-3", cpu: 10))
    var template = Builders.pod("ignored", cpu: 250, memory: 1 << 20)
    template.labels = ["app": "web"]
    let rows = try cluster.addPods(template, count: 4, namePrefix: "web-", firstNumber: 7)
    #expect(rows == 1..<5)
    #expect(
      rows.map { cluster.pods.name(PodID(UInt32($0))) } == ["web-7", "web-8", "web-9", "web-10"])
    #expect(
      rows.allSatisfy {
        cluster.pods.requestCPU[$0] == 250 && cluster.pods.labels[$0] == cluster.pods.labels[1]
      })
    #expect(cluster.pods.id(named: "web-9") == PodID(3))
    #expect(cluster.pods.id(named: "web-3") == single)
    for absent in ["web-6", "web-11", "web-07", "web-", "web-+8", "ignored"] {
      #expect(cluster.pods.id(named: absent) == nil, "\(absent)")
    }
    cluster.bind(PodID(4), to: try #require(cluster.nodes.id(named: "n1")))
    #expect(cluster.nodes.requestedCPU[0] == 250)
    #expect(cluster.copy().pods.name(PodID(4)) == "web-10")
    cluster.checkInvariants()
  }

  @Test("checkInvariants reports an over-committed node")
  func overcommit() throws {
    let cluster = Cluster(nodes: [Builders.node("n1", cpu: 1000, memory: 1 << 30)])
    let a = try cluster.addPod(Builders.pod("a", cpu: 2000, memory: 1))
    cluster.bind(a, to: NodeID(0))
    #expect(
      cluster.invariantViolations() == [
        InvariantViolation(.overAllocatable(resource: "cpu"), "n1", "cpu over allocatable")
      ])
    #expect(cluster.invariantViolations().map(\.description) == ["n1: cpu over allocatable"])
  }

  @Test("copies share nothing")
  func copies() throws {
    let cluster = Cluster(nodes: [Builders.node("n1", cpu: 1000, memory: 1 << 30)])
    let a = try cluster.addPod(Builders.pod("a", cpu: 100, memory: 1))
    let copy = cluster.copy()
    copy.bind(a, to: NodeID(0))
    #expect(cluster.nodes.requestedCPU[0] == 0)
    #expect(copy.nodes.requestedCPU[0] == 100)
  }

  @Test("the generator is seeded: same seed, same cluster; another seed, another cluster")
  func rngSplit() {
    var a = SplitMix64(seed: 1).split(label: "x")
    var b = SplitMix64(seed: 1).split(label: "x")
    var c = SplitMix64(seed: 1).split(label: "y")
    let xs = (0..<4).map { _ in a.next() }
    #expect(xs == (0..<4).map { _ in b.next() })
    #expect(xs != (0..<4).map { _ in c.next() })
    var r = SplitMix64(seed: 9)
    for _ in 0..<1000 { #expect((0..<7).contains(r.nextInt(below: 7))) }
  }
}

struct GPUTests {
  static func cluster() throws -> (Cluster, NodeID) {
    let node = NodeSpec(
      name: "g", allocatable: ResourceAmounts(cpuMillis: 64_000, memoryBytes: 1 << 36, pods: 1001),
      gpus: NodeGPUs(count: 4, model: "T4"))
    let c = Cluster(nodes: [node])
    return (c, NodeID(0))
  }

  static func pod(_ name: String, count: Int, milli: Int) -> PodSpec {
    PodSpec(
      name: name, containers: [Container(requests: ResourceList([("cpu", Quantity(milli: 1000))]))],
      gpu: GPURequest(count: count, milliPerGPU: milli))
  }

  @Test(
    "sharing pods take the tightest GPU, whole-GPU pods the first free ones; unbind gives them back"
  )
  func binding() throws {
    let (c, n) = try Self.cluster()
    let a = try c.addPod(Self.pod("a", count: 1, milli: 600))
    let b = try c.addPod(Self.pod("b", count: 1, milli: 300))
    let w = try c.addPod(Self.pod("w", count: 2, milli: 1000))
    c.bind(a, to: n)
    #expect(c.pods.gpuAssignment[a.index] == 0b0001)
    c.bind(b, to: n)
    // GPU 0 has 400 left, the tightest fit for 300.
    #expect(c.pods.gpuAssignment[b.index] == 0b0001)
    c.bind(w, to: n)
    #expect(c.pods.gpuAssignment[w.index] == 0b0110)
    #expect(c.nodes.gpuMilliFree[0] == 4000 - 900 - 2000)
    c.checkInvariants()
    c.unbind(a)
    c.checkInvariants()
    #expect(c.nodes.gpuMilliLeft[0] == 700)
  }

  @Test("GPU selection methods", arguments: [(GPUSelection.best, UInt8(0b0100)), (.worst, 0b1000)])
  func selection(method: GPUSelection, expected: UInt8) throws {
    let (c, n) = try Self.cluster()
    c.bind(try c.addPod(Self.pod("a", count: 1, milli: 900)), to: n, gpus: 0b0001)
    c.bind(try c.addPod(Self.pod("b", count: 1, milli: 500)), to: n, gpus: 0b0010)
    c.bind(try c.addPod(Self.pod("c", count: 1, milli: 300)), to: n, gpus: 0b0100)
    // Left: 100, 500, 700, 1000; a 400 pod fits GPUs 1, 2, 3.
    #expect(
      GPUSelection.choose(method, milli: 400, node: n.index, in: c.nodes, draw: { _ in 0 })
        == (method == .best ? 0b0010 : expected))
    #expect(GPUSelection.firstFree(count: 2, milli: 1000, node: n.index, in: c.nodes) == nil)
    #expect(GPUSelection.firstFree(count: 1, milli: 1000, node: n.index, in: c.nodes) == 0b1000)
  }
}
