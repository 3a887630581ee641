import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// Table tests per plugin: each case is one node, one pod, and the expected verdict or score.
struct FilterTests {
  /// The first failing plugin's reasons for `pod` on a one-node cluster, or nil if it fits.
  static func verdict(
    _ node: NodeSpec, _ pod: PodSpec, bound: [PodSpec] = [], profile: Profile = .default
  ) throws -> [String]? {
    let cluster = Cluster(nodes: [node])
    for b in bound { cluster.bind(try cluster.addPod(b), to: NodeID(0)) }
    let p = try cluster.addPod(pod)
    let scheduler = Scheduler(cluster: cluster, profile: profile, seed: 1)
    return scheduler.check(p, on: NodeID(0))?.reasons
  }

  static let gi: Int64 = 1 << 30
  static let plain = Builders.node(
    "n", cpu: 4000, memory: 8 * gi, pods: 2, labels: ["zone": "a", "cores": "8"])

  @Test(
    "NodeResourcesFit",
    arguments: [
      ("exact fit is feasible", Builders.pod("p", cpu: 4000, memory: 8 * gi), nil),
      (
        "one millicore over is infeasible", Builders.pod("p", cpu: 4001, memory: 1),
        ["Insufficient cpu"]
      ),
      (
        "one byte over is infeasible", Builders.pod("p", cpu: 1, memory: 8 * gi + 1),
        ["Insufficient memory"]
      ),
      (
        "both over report both", Builders.pod("p", cpu: 5000, memory: 9 * gi),
        ["Insufficient cpu", "Insufficient memory"]
      ),
      ("zero request always fits", Builders.pod("p"), nil),
      (
        "missing extended resource is insufficient",
        Builders.pod("p", cpu: 1, scalars: [("example.com/gpu", 1)]),
        ["Insufficient example.com/gpu"]
      ),
    ] as [(String, PodSpec, [String]?)])
  func fit(_ name: String, pod: PodSpec, expected: [String]?) throws {
    #expect(try Self.verdict(Self.plain, pod) == expected, "\(name)")
  }

  @Test("NodeResourcesFit counts pods even for pods that request nothing")
  func tooManyPods() throws {
    let bound = [Builders.pod("a"), Builders.pod("b")]
    #expect(try Self.verdict(Self.plain, Builders.pod("p"), bound: bound) == ["Too many pods"])
  }

  @Test("NodeResourcesFit skips ignored extended resources")
  func ignored() throws {
    var args = NodeResourcesFitArguments()
    args.ignoredResources = ["example.com/gpu"]
    let profile = try Profile.resolve(
      SchedulerConfiguration(profiles: [
        ProfileConfiguration(pluginConfig: [PluginConfig(args)])
      ]))[0]
    #expect(
      try Self.verdict(
        Self.plain, Builders.pod("p", cpu: 1, scalars: [("example.com/gpu", 1)]), profile: profile)
        == nil)
  }

  static let taints = [
    Taint(key: "dedicated", value: "true", effect: .noSchedule),
    Taint(key: "spot", value: "1", effect: .preferNoSchedule),
  ]

  @Test(
    "TaintToleration",
    arguments: [
      ("untolerated NoSchedule rejects", [], ["node(s) had untolerated taint {dedicated: true}"]),
      (
        "Equal toleration with the value tolerates",
        [Toleration(key: "dedicated", value: "true", effect: .noSchedule)], nil
      ),
      (
        "Equal toleration with another value does not",
        [Toleration(key: "dedicated", value: "false")],
        ["node(s) had untolerated taint {dedicated: true}"]
      ),
      ("Exists on the key tolerates", [Toleration(key: "dedicated", operator: .exists)], nil),
      ("empty key with Exists tolerates everything", [Toleration(operator: .exists)], nil),
      (
        "wrong effect does not tolerate",
        [Toleration(key: "dedicated", operator: .exists, effect: .noExecute)],
        ["node(s) had untolerated taint {dedicated: true}"]
      ),
    ] as [(String, [Toleration], [String]?)])
  func taintToleration(_ name: String, tolerations: [Toleration], expected: [String]?) throws {
    let node = Builders.node("n", cpu: 1000, memory: Self.gi, taints: Self.taints)
    #expect(
      try Self.verdict(node, Builders.pod("p", cpu: 1, tolerations: tolerations)) == expected,
      "\(name)")
  }

  @Test("NodeUnschedulable rejects cordoned nodes unless the pod tolerates the unschedulable taint")
  func unschedulable() throws {
    let node = Builders.node("n", cpu: 1000, memory: Self.gi, unschedulable: true)
    #expect(try Self.verdict(node, Builders.pod("p")) == ["node(s) were unschedulable"])
    let tolerating = Builders.pod(
      "p",
      tolerations: [Toleration(key: unschedulableTaintKey, operator: .exists, effect: .noSchedule)])
    #expect(try Self.verdict(node, tolerating) == nil)
  }

  @Test("NodeName accepts only the named node")
  func nodeName() throws {
    #expect(try Self.verdict(Self.plain, Builders.pod("p", nodeName: "n")) == nil)
    #expect(
      try Self.verdict(Self.plain, Builders.pod("p", nodeName: "other")) == [
        "node(s) didn't match the requested node name"
      ])
  }

  static func required(_ reqs: [NodeSelectorRequirement], fields: [NodeSelectorRequirement] = [])
    -> NodeAffinity
  {
    NodeAffinity(
      required: NodeSelector(terms: [NodeSelectorTerm(matchExpressions: reqs, matchFields: fields)])
    )
  }

  @Test(
    "NodeAffinity operators",
    arguments: [
      (
        "In matches a listed value",
        NodeSelectorRequirement(key: "zone", operator: .in, values: ["b", "a"]), true
      ),
      ("In on a missing key fails", .init(key: "rack", operator: .in, values: ["a"]), false),
      ("NotIn excludes listed values", .init(key: "zone", operator: .notIn, values: ["a"]), false),
      ("NotIn matches an absent key", .init(key: "rack", operator: .notIn, values: ["a"]), true),
      ("Exists needs the key", .init(key: "zone", operator: .exists), true),
      ("DoesNotExist needs the key absent", .init(key: "zone", operator: .doesNotExist), false),
      ("Gt compares integers", .init(key: "cores", operator: .gt, values: ["4"]), true),
      ("Gt is strict", .init(key: "cores", operator: .gt, values: ["8"]), false),
      ("Lt compares integers", .init(key: "cores", operator: .lt, values: ["16"]), true),
      ("Gt on a non-integer label fails", .init(key: "zone", operator: .gt, values: ["1"]), false),
    ] as [(String, NodeSelectorRequirement, Bool)])
  func affinityOperators(_ name: String, requirement: NodeSelectorRequirement, matches: Bool) throws
  {
    let v = try Self.verdict(Self.plain, Builders.pod("p", affinity: Self.required([requirement])))
    #expect((v == nil) == matches, "\(name)")
    if !matches { #expect(v == ["node(s) didn't match Pod's node affinity/selector"]) }
  }

  @Test("NodeAffinity: nodeSelector, matchFields, ORed terms and empty terms")
  func affinityStructure() throws {
    #expect(try Self.verdict(Self.plain, Builders.pod("p", nodeSelector: ["zone": "a"])) == nil)
    #expect(try Self.verdict(Self.plain, Builders.pod("p", nodeSelector: ["zone": "b"])) != nil)
    let byName = Self.required(
      [], fields: [.init(key: "metadata.name", operator: .in, values: ["n"])])
    #expect(try Self.verdict(Self.plain, Builders.pod("p", affinity: byName)) == nil)
    let notName = Self.required(
      [], fields: [.init(key: "metadata.name", operator: .notIn, values: ["n"])])
    #expect(try Self.verdict(Self.plain, Builders.pod("p", affinity: notName)) != nil)
    let ored = NodeAffinity(
      required: NodeSelector(terms: [
        NodeSelectorTerm(matchExpressions: [.init(key: "zone", operator: .in, values: ["z"])]),
        NodeSelectorTerm(matchExpressions: [.init(key: "cores", operator: .exists)]),
      ]))
    #expect(try Self.verdict(Self.plain, Builders.pod("p", affinity: ored)) == nil)
    let empty = NodeAffinity(required: NodeSelector(terms: [NodeSelectorTerm()]))
    #expect(try Self.verdict(Self.plain, Builders.pod("p", affinity: empty)) != nil)
  }

  @Test(
    "NodePorts: wildcard and specific host IPs",
    arguments: [
      (
        "same port and protocol on 0.0.0.0 conflicts", ContainerPort(hostPort: 80),
        ContainerPort(hostPort: 80), true
      ),
      (
        "other protocol does not conflict", ContainerPort(hostPort: 80, protocol: .udp),
        ContainerPort(hostPort: 80), false
      ),
      (
        "other port does not conflict", ContainerPort(hostPort: 81), ContainerPort(hostPort: 80),
        false
      ),
      (
        "specific IP conflicts with a wildcard claim",
        ContainerPort(hostPort: 80, hostIP: "10.0.0.1"), ContainerPort(hostPort: 80), true
      ),
      (
        "different specific IPs do not conflict", ContainerPort(hostPort: 80, hostIP: "10.0.0.1"),
        ContainerPort(hostPort: 80, hostIP: "10.0.0.2"), false
      ),
    ] as [(String, ContainerPort, ContainerPort, Bool)])
  func nodePorts(_ name: String, wanted: ContainerPort, used: ContainerPort, conflict: Bool) throws
  {
    let v = try Self.verdict(
      Self.plain, Builders.pod("p", hostPorts: [wanted]),
      bound: [Builders.pod("b", hostPorts: [used])])
    #expect((v != nil) == conflict, "\(name)")
  }
}

struct ScoreTests {
  /// Weighted-free normalised scores of `plugin` for `pod` over all nodes (all feasible).
  static func scores(
    _ plugin: PluginName, nodes: [NodeSpec], pod: PodSpec, profile: Profile = .default
  ) throws -> [String: Int64] {
    let cluster = Cluster(nodes: nodes)
    let p = try cluster.addPod(pod)
    let scheduler = Scheduler(cluster: cluster, profile: profile, seed: 1)
    let rejected = scheduler.scoreExactly(p, rows: Array(0..<nodes.count))
    #expect(rejected.isEmpty)
    let index = try #require(scheduler.scorePlugins.firstIndex { $0.name == plugin })
    return Dictionary(
      uniqueKeysWithValues: (0..<nodes.count).map {
        (cluster.nodes.names[$0], scheduler.normalizedScore(plugin: index, row: $0))
      })
  }

  static let gi: Int64 = 1 << 30

  @Test(
    "LeastAllocated: 2300m of 32000m and 4688183296 of 128Gi score 94 (the oracle's worked example)"
  )
  func leastAllocated() throws {
    let s = try Self.scores(
      .nodeResourcesFit, nodes: [Builders.node("n", cpu: 32000, memory: 128 * Self.gi)],
      pod: Builders.pod("p", cpu: 2300, memory: 4_688_183_296))
    #expect(s["n"] == 94)
  }

  @Test("BalancedAllocation: the oracle's worked example scores 98")
  func balanced() throws {
    let s = try Self.scores(
      .nodeResourcesBalancedAllocation,
      nodes: [Builders.node("n", cpu: 32000, memory: 128 * Self.gi)],
      pod: Builders.pod("p", cpu: 2300, memory: 4_688_183_296))
    #expect(s["n"] == 98)
  }

  @Test(
    "LeastAllocated uses the non-zero defaults for pods without requests: 100m of 1000m → 90, 200Mi of 2000Mi → 90"
  )
  func nonZeroDefaults() throws {
    let s = try Self.scores(
      .nodeResourcesFit, nodes: [Builders.node("n", cpu: 1000, memory: 2000 << 20)],
      pod: Builders.pod("p"))
    #expect(s["n"] == 90)
  }

  @Test("MostAllocated and RequestedToCapacityRatio")
  func strategies() throws {
    var most = NodeResourcesFitArguments()
    most.strategy = .mostAllocated
    let mostProfile = try Profile.resolve(
      SchedulerConfiguration(profiles: [
        ProfileConfiguration(pluginConfig: [PluginConfig(most)])
      ]))[0]
    let node = Builders.node("n", cpu: 4000, memory: 4 * Self.gi)
    // cpu 1000/4000 → 25, memory 3Gi/4Gi → 75 → mean 50.
    #expect(
      try Self.scores(
        .nodeResourcesFit, nodes: [node], pod: Builders.pod("p", cpu: 1000, memory: 3 * Self.gi),
        profile: mostProfile)["n"] == 50)
    var ratio = NodeResourcesFitArguments()
    ratio.strategy = .requestedToCapacityRatio
    ratio.shape = [.init(utilization: 0, score: 0), .init(utilization: 100, score: 10)]
    let ratioProfile = try Profile.resolve(
      SchedulerConfiguration(profiles: [
        ProfileConfiguration(pluginConfig: [PluginConfig(ratio)])
      ]))[0]
    // utilisation 25 → 25, 75 → 75 → round(100/2) = 50.
    #expect(
      try Self.scores(
        .nodeResourcesFit, nodes: [node], pod: Builders.pod("p", cpu: 1000, memory: 3 * Self.gi),
        profile: ratioProfile)["n"] == 50)
  }

  @Test("TaintToleration scores PreferNoSchedule counts in reverse: 0, 1, 2 → 100, 50, 0")
  func taintScore() throws {
    let soft = (0..<2).map { Taint(key: "soft\($0)", effect: .preferNoSchedule) }
    let nodes = (0..<3).map {
      Builders.node("n\($0)", cpu: 1000, memory: Self.gi, taints: Array(soft.prefix($0)))
    }
    let s = try Self.scores(.taintToleration, nodes: nodes, pod: Builders.pod("p", cpu: 1))
    #expect(s == ["n0": 100, "n1": 50, "n2": 0])
    let tolerant = Builders.pod(
      "p", cpu: 1,
      tolerations: [Toleration(key: "soft1", operator: .exists, effect: .preferNoSchedule)])
    #expect(
      try Self.scores(.taintToleration, nodes: nodes, pod: tolerant) == [
        "n0": 100, "n1": 0, "n2": 0,
      ])
  }

  @Test("NodeAffinity preferred terms: weights summed, normalised by the maximum")
  func preferred() throws {
    let nodes = [
      Builders.node("a", cpu: 1000, memory: Self.gi, labels: ["zone": "a", "ssd": "true"]),
      Builders.node("b", cpu: 1000, memory: Self.gi, labels: ["zone": "a"]),
      Builders.node("c", cpu: 1000, memory: Self.gi),
    ]
    let affinity = NodeAffinity(preferred: [
      PreferredSchedulingTerm(
        weight: 20,
        preference: NodeSelectorTerm(matchExpressions: [
          .init(key: "zone", operator: .in, values: ["a"])
        ])),
      PreferredSchedulingTerm(
        weight: 80,
        preference: NodeSelectorTerm(matchExpressions: [.init(key: "ssd", operator: .exists)])),
    ])
    #expect(
      try Self.scores(
        .nodeAffinity, nodes: nodes, pod: Builders.pod("p", cpu: 1, affinity: affinity)) == [
          "a": 100, "b": 20, "c": 0,
        ])
  }

  @Test("ImageLocality: a 500 MiB image on every node scores 48; absent images score 0")
  func images() throws {
    let img = NodeSpec.Image(names: ["nginx:1.25"], sizeBytes: 500 << 20)
    let nodes = [
      Builders.node("a", cpu: 1000, memory: Self.gi, images: [img]),
      Builders.node("b", cpu: 1000, memory: Self.gi, images: [img]),
    ]
    #expect(
      try Self.scores(
        .imageLocality, nodes: nodes, pod: Builders.pod("p", cpu: 1, image: "nginx:1.25")) == [
          "a": 48, "b": 48,
        ])
    #expect(
      try Self.scores(.imageLocality, nodes: nodes, pod: Builders.pod("p", cpu: 1, image: "nginx"))
        == ["a": 0, "b": 0])
  }
}

struct FrameworkTests {
  @Test(
    "numFeasibleNodesToFind: all below 100, adaptive 50 − N/125 with a 5 % floor, at least 100",
    arguments: [
      (50, nil, 50), (1000, nil, 420), (1213, nil, 497), (5000, nil, 500), (20_000, nil, 1000),
      (50_000, nil, 2500),
      (1000, 100, 1000), (1000, 5, 100), (1000, 0, 420), (15_000, 100, 15_000),
    ] as [(Int, Int32?, Int)])
  func feasibleCount(n: Int, pct: Int32?, expected: Int) {
    #expect(Scheduler.numFeasibleNodesToFind(nodeCount: n, percentage: pct) == expected)
  }

  @Test("the default profile has upstream's filters and weights")
  func defaultProfile() {
    let p = Profile.default
    #expect(
      p.filters.prefix(6) == [
        .nodeUnschedulable, .nodeName, .taintToleration, .nodeAffinity, .nodePorts,
        .nodeResourcesFit,
      ])
    #expect(
      p.scores.map(\.name) == [
        .taintToleration, .nodeAffinity, .nodeResourcesFit, .volumeBinding, .podTopologySpread,
        .interPodAffinity, .nodeResourcesBalancedAllocation, .imageLocality,
      ])
    #expect(p.scores.map(\.weight) == [3, 2, 1, 1, 2, 2, 1, 1])
    #expect(PluginRegistry.coversDeclaredExtensionPoints().isEmpty)
  }

  /// One row of upstream's `EventsToRegister` (queueing hints on) for a plugin.
  struct Registration: Sendable, CustomTestStringConvertible {
    var plugin: PluginName
    var nodeUpdates: Cluster.NodeChanges
    var podAdd = false
    var podDelete = false
    var nodeDelete = false
    var podScaleDown = false
    var unresolvable = false
    var testDescription: String { plugin.rawValue }
  }

  /// Node updates registered for, AssignedPodAdd, AssignedPodDelete, NodeDelete (PodTopologySpread
  /// alone: a domain may go), UpdatePodScaleDown (NodeResourcesFit alone: an in-place resize
  /// down frees room); every filter registers NodeAdd. And whether a rejection is
  /// UnschedulableAndUnresolvable.
  @Test(
    "each plugin declares upstream's events, and whether preemption can resolve its rejections",
    arguments: [
      Registration(plugin: .nodeUnschedulable, nodeUpdates: .taints, unresolvable: true),
      Registration(plugin: .nodeName, nodeUpdates: [], unresolvable: true),
      Registration(plugin: .taintToleration, nodeUpdates: .taints, unresolvable: true),
      Registration(plugin: .nodeAffinity, nodeUpdates: .labels, unresolvable: true),
      Registration(plugin: .nodePorts, nodeUpdates: [], podDelete: true),
      Registration(
        plugin: .nodeResourcesFit, nodeUpdates: .allocatable, podDelete: true, podScaleDown: true),
      Registration(plugin: .volumeRestrictions, nodeUpdates: [], podDelete: true),
      Registration(
        plugin: .podTopologySpread, nodeUpdates: [.labels, .taints], podAdd: true, podDelete: true,
        nodeDelete: true),
      Registration(
        plugin: .interPodAffinity, nodeUpdates: [.labels, .taints], podAdd: true, podDelete: true),
    ])
  func declaredEvents(_ r: Registration) throws {
    let d = try #require(r.plugin.descriptor)
    #expect(
      d.events
        == ClusterEvents(
          nodeUpdate: r.nodeUpdates, nodeDelete: r.nodeDelete, assignedPodAdd: r.podAdd,
          assignedPodDelete: r.podDelete, assignedPodScaleDown: r.podScaleDown))
    #expect(d.rejectionIsUnresolvable == r.unresolvable)
    #expect(ClusterEvent.nodeAdd.concerns(r.plugin))
    #expect(ClusterEvent.assignedPodAdd.concerns(r.plugin) == r.podAdd)
    #expect(ClusterEvent.assignedPodDelete.concerns(r.plugin) == r.podDelete)
    #expect(ClusterEvent.nodeDelete.concerns(r.plugin) == r.nodeDelete)
    #expect(ClusterEvent.assignedPodScaleDown.concerns(r.plugin) == r.podScaleDown)
    for change in [Cluster.NodeChanges.allocatable, .labels, .taints, .images] {
      #expect(ClusterEvent.nodeUpdate(change).concerns(r.plugin) == r.nodeUpdates.contains(change))
    }
  }

  @Test("the registry knows every default plugin once, by the name its instance reports")
  func registry() {
    let names = PluginRegistry.all.map(\.name)
    #expect(Set(names).count == names.count)
    for ref in Profile.defaultMultiPoint { #expect(PluginRegistry.known(ref.name) != nil) }
    #expect(PluginRegistry.known("NodeResourcesLeastAllocated") == nil)
    let fit = PluginName.nodeResourcesFit.descriptor?.arguments.map { ObjectIdentifier($0) }
    #expect(fit == ObjectIdentifier(NodeResourcesFitArguments.self))
    #expect(PluginName.taintToleration.descriptor?.arguments == nil)
  }

  @Test("an unschedulable pod gets kube-scheduler's aggregated message")
  func message() throws {
    let nodes = (0..<4).map { i in
      Builders.node(
        "n\(i)", cpu: 1000, memory: 1 << 30,
        taints: i == 0 ? [Taint(key: "dedicated", value: "true", effect: .noSchedule)] : [])
    }
    let cluster = Cluster(nodes: nodes)
    let pod = try cluster.addPod(Builders.pod("big", cpu: 2000, memory: 1))
    let scheduler = Scheduler(cluster: cluster, seed: 1)
    #expect(scheduler.scheduleOne(pod).node == nil)
    #expect(
      scheduler.diagnose(pod).message
        == "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: true}, 3 Insufficient cpu."
    )
  }

  @Test("each plugin's reasons sit under that plugin in an explanation")
  func reasonsByPlugin() throws {
    let nodes = [
      Builders.node("cordoned", cpu: 8000, memory: 1 << 34, unschedulable: true),
      Builders.node(
        "tainted", cpu: 8000, memory: 1 << 34,
        taints: [Taint(key: "dedicated", value: "true", effect: .noSchedule)]),
      Builders.node("elsewhere", cpu: 8000, memory: 1 << 34, labels: ["zone": "b"]),
      Builders.node("small", cpu: 1000, memory: 1 << 34, labels: ["zone": "a"]),
      Builders.node("port", cpu: 8000, memory: 1 << 34, labels: ["zone": "a"]),
    ]
    let cluster = Cluster(nodes: nodes)
    let holder = try cluster.addPod(
      Builders.pod("holder", cpu: 1, hostPorts: [ContainerPort(containerPort: 80, hostPort: 8080)]))
    cluster.bind(holder, to: cluster.nodes.id(named: "port")!)
    let pod = try cluster.addPod(
      Builders.pod(
        "p", cpu: 2000, memory: 1, nodeSelector: ["zone": "a"],
        hostPorts: [ContainerPort(containerPort: 80, hostPort: 8080)]))
    let scheduler = Scheduler(cluster: cluster, seed: 1)
    #expect(scheduler.scheduleOne(pod).node == nil)
    let d = scheduler.diagnose(pod)
    let byPlugin = Dictionary(
      uniqueKeysWithValues: d.reasonsByPlugin.map { ($0.plugin, $0.reasons.map(\.reason)) })
    #expect(byPlugin[.nodeUnschedulable] == ["node(s) were unschedulable"])
    #expect(byPlugin[.taintToleration] == ["node(s) had untolerated taint {dedicated: true}"])
    #expect(byPlugin[.nodeAffinity] == ["node(s) didn't match Pod's node affinity/selector"])
    #expect(byPlugin[.nodeResourcesFit] == ["Insufficient cpu"])
    #expect(byPlugin[.nodePorts] == ["node(s) didn't have free ports for the requested pod ports"])
    // Every reason of the message belongs to exactly one plugin.
    #expect(
      d.reasonsByPlugin.flatMap(\.reasons).map(\.reason).sorted()
        == d.reasons.map(\.reason).sorted())
  }

  @Test("same seed, same placements; uniform tie-breaking spreads ties")
  func determinism() throws {
    func run(_ seed: UInt64) throws -> [Int?] {
      let cluster = Cluster(
        nodes: (0..<50).map { Builders.node("n\($0)", cpu: 100_000, memory: 1 << 40) })
      let scheduler = Scheduler(cluster: cluster, seed: seed)
      return try (0..<20).map { i in
        scheduler.scheduleOne(try cluster.addPod(Builders.pod("p\(i)", cpu: 1, memory: 1))).node?
          .index
      }
    }
    #expect(try run(7) == run(7))
    #expect(try run(7) != run(8))
    #expect(Set(try run(7).compactMap { $0 }).count > 10)
  }

  @Test("the rotating start index advances by the nodes examined")
  func rotation() throws {
    let cluster = Cluster(
      nodes: (0..<1000).map { Builders.node("n\($0)", cpu: 100_000, memory: 1 << 40) })
    let scheduler = Scheduler(cluster: cluster, seed: 1)
    let out = scheduler.scheduleOne(try cluster.addPod(Builders.pod("p", cpu: 1)))
    #expect(out.evaluatedNodes == 420)
    #expect(scheduler.nextStartNodeIndex == 420)
    _ = scheduler.scheduleOne(try cluster.addPod(Builders.pod("q", cpu: 1)))
    _ = scheduler.scheduleOne(try cluster.addPod(Builders.pod("r", cpu: 1)))
    #expect(scheduler.nextStartNodeIndex == 260)
  }
}

struct NodeNameNarrowingTests {
  static func pinned(_ name: String, terms: [[String]]) -> PodSpec {
    let affinity = NodeAffinity(
      required: NodeSelector(
        terms: terms.map { names in
          NodeSelectorTerm(
            matchFields: names.map {
              NodeSelectorRequirement(key: "metadata.name", operator: .in, values: [$0])
            })
        }))
    return Builders.pod(name, cpu: 1, affinity: affinity)
  }

  @Test("matchFields on metadata.name narrows the cycle to the named nodes")
  func narrows() throws {
    let cluster = Cluster(
      nodes: (0..<200).map { Builders.node("n\($0)", cpu: 1000, memory: 1 << 30) })
    let scheduler = Scheduler(cluster: cluster, seed: 1)
    let pod = try cluster.addPod(Self.pinned("p", terms: [["n5"], ["n150"], ["n999"]]))
    let out = scheduler.scheduleOne(pod)
    #expect(out.evaluatedNodes == 2)
    #expect(out.feasibleNodes == 2)
    #expect(["n5", "n150"].contains(cluster.nodes.name(try #require(out.node))))
    // The start index wraps modulo the narrowed list, as upstream's does.
    #expect(scheduler.nextStartNodeIndex == 0)
  }

  @Test("terms naming disjoint nodes conflict")
  func conflict() throws {
    let cluster = Cluster(
      nodes: (0..<3).map { Builders.node("n\($0)", cpu: 1000, memory: 1 << 30) })
    let scheduler = Scheduler(cluster: cluster, seed: 1)
    let pod = try cluster.addPod(Self.pinned("p", terms: [["n0", "n1"]]))
    #expect(scheduler.scheduleOne(pod).node == nil)
    #expect(
      scheduler.diagnose(pod).message == "0/3 nodes are available: pod affinity terms conflict.")
  }
}

/// Resource scores stay exact up to the input limit (2^53 scheduler units per resource), where
/// 64-bit `(alloc − req)·100` would wrap near 9 × 10^16.
struct ScoreLimitTests {
  static let big = ResourceAmounts.limit

  /// Nodes at and just below the limit with CPU, memory and ephemeral storage, and a pod that
  /// requests large shares of each.
  static let nodes = [
    NodeSpec(
      name: "top", labels: ["kubernetes.io/hostname": "top"],
      allocatable: ResourceAmounts(
        cpuMillis: big, memoryBytes: big, ephemeralStorageBytes: big, pods: 110)),
    NodeSpec(
      name: "odd", labels: ["kubernetes.io/hostname": "odd"],
      allocatable: ResourceAmounts(
        cpuMillis: big - 1, memoryBytes: big - 12_345, ephemeralStorageBytes: 3 << 51, pods: 110)),
    NodeSpec(
      name: "small", labels: ["kubernetes.io/hostname": "small"],
      allocatable: ResourceAmounts(
        cpuMillis: 64_000, memoryBytes: 1 << 40, ephemeralStorageBytes: 1 << 41, pods: 110)),
  ]
  static let pod: PodSpec = {
    var r = ResourceList()
    r["cpu"] = Quantity(milli: 1_000)
    r["memory"] = Quantity(integer: 1 << 30)
    r["ephemeral-storage"] = Quantity(integer: (1 << 40) + 7)
    return PodSpec(name: "p", containers: [Container(name: "c", requests: r)])
  }()

  static func profile(_ strategy: ScoringStrategyType, resources: [String]) throws -> Profile {
    var a = NodeResourcesFitArguments()
    a.strategy = strategy
    a.resources = resources.map { .init(name: $0, weight: 1) }
    if strategy == .requestedToCapacityRatio {
      a.shape = [.init(utilization: 0, score: 0), .init(utilization: 100, score: 10)]
    }
    return try Profile.resolve(
      SchedulerConfiguration(profiles: [ProfileConfiguration(pluginConfig: [PluginConfig(a)])])
    )[0]
  }

  /// The upstream formulas in 128-bit arithmetic.
  static func reference(_ strategy: ScoringStrategyType, node: NodeSpec, resources: [String])
    -> Int64
  {
    var total: Int128 = 0
    var weights: Int128 = 0
    for r in resources {
      let (alloc, req): (Int128, Int128) =
        switch r {
        case "cpu": (Int128(node.allocatable.cpuMillis), 1_000)
        case "memory": (Int128(node.allocatable.memoryBytes), 1 << 30)
        default: (Int128(node.allocatable.ephemeralStorageBytes), (1 << 40) + 7)
        }
      let s: Int128 =
        switch strategy {
        case .leastAllocated: req > alloc ? 0 : (alloc - req) * 100 / alloc
        case .mostAllocated: min(req, alloc) * 100 / alloc
        case .requestedToCapacityRatio: req > alloc ? 100 : req * 100 / alloc
        }
      if strategy == .requestedToCapacityRatio && s == 0 { continue }
      total += s
      weights += 1
    }
    guard weights > 0 else { return 0 }
    if strategy == .requestedToCapacityRatio {
      return Int64((Double(total) / Double(weights)).rounded(.toNearestOrAwayFromZero))
    }
    return Int64(total / weights)
  }

  @Test(
    "every strategy scores nodes of 2^53 millicores and bytes exactly",
    arguments: [
      (ScoringStrategyType.leastAllocated, ["cpu", "memory"]),
      (.leastAllocated, ["cpu", "memory", "ephemeral-storage"]),
      (.mostAllocated, ["cpu", "memory"]),
      (.mostAllocated, ["cpu", "memory", "ephemeral-storage"]),
      (.requestedToCapacityRatio, ["cpu", "memory"]),
      (.requestedToCapacityRatio, ["cpu", "memory", "ephemeral-storage"]),
    ] as [(ScoringStrategyType, [String])])
  func exactAtLimit(strategy: ScoringStrategyType, resources: [String]) throws {
    let s = try ScoreTests.scores(
      .nodeResourcesFit, nodes: Self.nodes, pod: Self.pod,
      profile: try Self.profile(strategy, resources: resources))
    for node in Self.nodes {
      #expect(
        s[node.name] == Self.reference(strategy, node: node, resources: resources), "\(node.name)")
    }
    // A mostly free node scores high under LeastAllocated (it wrapped to 37 instead of 87 before
    // inputs were bounded).
    if strategy == .leastAllocated { #expect(s["top"]! >= 99) }
  }
}
