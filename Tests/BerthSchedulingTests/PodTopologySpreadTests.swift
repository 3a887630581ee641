import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

struct PodTopologySpreadTests {
  static let zoneKey = "topology.kubernetes.io/zone"

  /// Nodes n0, n1 in zone a, n2 in b, n3 in c (and optionally n4 without a zone), with `existing`
  /// pods labelled app=x bound as given (node index per pod).
  static func cluster(existing: [Int], extraNode: Bool = false, taintC: Bool = false) throws
    -> Cluster
  {
    var nodes = [("n0", "a"), ("n1", "a"), ("n2", "b"), ("n3", "c")].map { name, zone in
      Builders.node(
        name, cpu: 100_000, memory: 1 << 40, labels: [zoneKey: zone],
        taints: taintC && zone == "c" ? [Taint(key: "dedicated", effect: .noSchedule)] : [])
    }
    if extraNode { nodes.append(Builders.node("n4", cpu: 100_000, memory: 1 << 40)) }
    let c = Cluster(nodes: nodes)
    for (i, n) in existing.enumerated() {
      var p = Builders.pod("e\(i)", cpu: 100)
      p.labels = ["app": "x"]
      c.bind(try c.addPod(p), to: try #require(c.nodes.id(named: "n\(n)")))
    }
    return c
  }

  static func spreadPod(
    _ c: TopologySpreadConstraint, labels: [String: String] = ["app": "x"],
    nodeSelector: [String: String] = [:]
  ) -> PodSpec {
    var p = Builders.pod("p", cpu: 100, nodeSelector: nodeSelector)
    p.labels = labels
    p.topologySpreadConstraints = [c]
    return p
  }

  static func zone(
    maxSkew: Int32 = 1, minDomains: Int32 = 1,
    selector: LabelSelector? = LabelSelector(matchLabels: ["app": "x"]),
    affinity: TopologySpreadConstraint.Policy = .honor,
    taints: TopologySpreadConstraint.Policy = .ignore, hard: Bool = true
  ) -> TopologySpreadConstraint {
    TopologySpreadConstraint(
      maxSkew: maxSkew, topologyKey: zoneKey, doNotSchedule: hard, labelSelector: selector,
      minDomains: minDomains,
      nodeAffinityPolicy: affinity, nodeTaintsPolicy: taints)
  }

  /// The rows of n0…n4, in that order (the table keeps nodes in zone-interleaved order).
  static func rows(_ c: Cluster) throws -> [Int] {
    try (0..<5).map { try #require(c.nodes.id(named: "n\($0)")).index }
  }

  /// Names of the nodes `pod` fits, and each rejected node's reasons.
  static func fits(_ c: Cluster, _ spec: PodSpec) throws -> Set<String> {
    let pod = try c.addPod(spec)
    let s = Scheduler(cluster: c, seed: 1)
    return Set(
      (0..<c.nodes.count).filter { s.check(pod, on: NodeID(UInt32($0))) == nil }.map {
        c.nodes.names[$0]
      })
  }

  @Test("skew = domain count + self − minimum: zone a with 2 matching pods rejects, b and c fit")
  func skew() throws {
    let c = try Self.cluster(existing: [0, 1])
    #expect(try Self.fits(c, Self.spreadPod(Self.zone())) == ["n2", "n3"])
  }

  @Test("maxSkew 2 lets zone a take one more")
  func maxSkew() throws {
    let c = try Self.cluster(existing: [0])
    #expect(try Self.fits(c, Self.spreadPod(Self.zone(maxSkew: 2))) == ["n0", "n1", "n2", "n3"])
  }

  @Test("a node without the topology key is rejected with the missing-label reason")
  func missingKey() throws {
    let c = try Self.cluster(existing: [], extraNode: true)
    let pod = try c.addPod(Self.spreadPod(Self.zone()))
    let s = Scheduler(cluster: c, seed: 1)
    #expect(
      s.check(pod, on: try #require(c.nodes.id(named: "n4")))?.reasons == [
        "node(s) didn't match pod topology spread constraints (missing required label)"
      ])
    #expect(s.check(pod, on: try #require(c.nodes.id(named: "n2"))) == nil)
  }

  @Test("minDomains larger than the domain count makes the minimum 0")
  func minDomains() throws {
    let c = try Self.cluster(existing: [0, 2, 3])
    // Counts a=1, b=1, c=1: minimum 1, every zone fits with maxSkew 1.
    #expect(try Self.fits(c, Self.spreadPod(Self.zone())) == ["n0", "n1", "n2", "n3"])
    let c2 = try Self.cluster(existing: [0, 2, 3])
    // Four domains required, three exist: minimum 0, skew 2 everywhere.
    #expect(try Self.fits(c2, Self.spreadPod(Self.zone(minDomains: 4))) == [])
  }

  @Test(
    "a pod that does not match its own selector adds no self count; a missing selector matches nothing"
  )
  func selfMatch() throws {
    let c = try Self.cluster(existing: [0])
    #expect(
      try Self.fits(c, Self.spreadPod(Self.zone(), labels: ["app": "other"])) == [
        "n0", "n1", "n2", "n3",
      ])
    let c2 = try Self.cluster(existing: [0, 0, 0])
    #expect(
      try Self.fits(c2, Self.spreadPod(Self.zone(selector: nil))) == ["n0", "n1", "n2", "n3"])
  }

  @Test("nodeAffinityPolicy Honor counts only domains the pod may land in; Ignore counts all")
  func affinityPolicy() throws {
    // Counts a=0, b=2, c=1; the pod requires zone b or c.
    let affinity = NodeAffinity(
      required: NodeSelector(terms: [
        NodeSelectorTerm(matchExpressions: [
          NodeSelectorRequirement(key: Self.zoneKey, operator: .in, values: ["b", "c"])
        ])
      ]))
    func spec(_ policy: TopologySpreadConstraint.Policy) -> PodSpec {
      var p = Self.spreadPod(Self.zone(affinity: policy))
      p.affinity = affinity
      return p
    }
    // Honor: domains b, c → minimum 1 → b skew 2 + 1 − 1 = 2 (rejected), c 1 + 1 − 1 = 1 (fits).
    #expect(try Self.fits(try Self.cluster(existing: [2, 2, 3]), spec(.honor)) == ["n3"])
    // Ignore: zone a counts too → minimum 0 → c skew 2, rejected as well.
    #expect(try Self.fits(try Self.cluster(existing: [2, 2, 3]), spec(.ignore)) == [])
  }

  @Test("nodeTaintsPolicy Honor leaves out domains of untolerated tainted nodes")
  func taintsPolicy() throws {
    // Zone c's only node is tainted. Counts a=1, b=1, c=0.
    let ignore = try Self.cluster(existing: [0, 2], taintC: true)
    // Ignore: min 0 (zone c) → a and b skew 2, rejected; c rejected by the taint.
    #expect(try Self.fits(ignore, Self.spreadPod(Self.zone(taints: .ignore))) == [])
    let honor = try Self.cluster(existing: [0, 2], taintC: true)
    // Honor: domains a, b only → min 1 → a and b fit.
    #expect(try Self.fits(honor, Self.spreadPod(Self.zone(taints: .honor))) == ["n0", "n1", "n2"])
  }

  @Test(
    "ScheduleAnyway on hostname: weight ln(3 + 2), raw round(count·w), normalised 100·(max + min − s)/max"
  )
  func score() throws {
    let nodes = (0..<3).map { Builders.node("h\($0)", cpu: 100_000, memory: 1 << 40) }
    let c = Cluster(nodes: nodes)
    for (i, n) in [1, 2, 2].enumerated() {
      var p = Builders.pod("e\(i)", cpu: 100)
      p.labels = ["app": "x"]
      c.bind(try c.addPod(p), to: NodeID(UInt32(n)))
    }
    let spec = Self.spreadPod(
      TopologySpreadConstraint(
        maxSkew: 1, topologyKey: "kubernetes.io/hostname", doNotSchedule: false,
        labelSelector: LabelSelector(matchLabels: ["app": "x"])))
    let pod = try c.addPod(spec)
    let s = Scheduler(cluster: c, seed: 1)
    #expect(s.scoreExactly(pod, rows: [0, 1, 2]).isEmpty)
    let index = try #require(s.scorePlugins.firstIndex { $0.name == .podTopologySpread })
    // Counts 0, 1, 2 → raw 0, 2, 3 → 100, 33, 0.
    #expect((0..<3).map { s.normalizedScore(plugin: index, row: $0) } == [100, 33, 0])
  }

  @Test(
    "system defaults: hostname maxSkew 3 and zone maxSkew 5, nodes without a zone kept and scored on hostname only"
  )
  func systemDefaults() throws {
    // app=x pods: two on n0, one on n2, one on the zone-less n4.
    let c = try Self.cluster(existing: [0, 0, 2, 4], extraNode: true)
    var spec = Builders.pod("p", cpu: 100)
    spec.labels = ["app": "x"]
    spec.defaultSpreadSelector = LabelSelector(matchLabels: ["app": "x"])
    let pod = try c.addPod(spec)
    let s = Scheduler(cluster: c, seed: 1)
    let rows = try Self.rows(c)
    #expect(s.scoreExactly(pod, rows: rows).isEmpty)
    let index = try #require(s.scorePlugins.firstIndex { $0.name == .podTopologySpread })
    // Hostname weight ln(5 + 2); zone weight ln(4 + 2), the zone-less node making the fourth
    // domain. Raw: n0 2·ln7 + 2 + 2·ln6 + 4 = 13, n1 10, n2 10, n3 6, n4 ln7 + 2 = 4 (no zone
    // term) → 100·(13 + 4 − s)/13.
    #expect(rows.map { s.normalizedScore(plugin: index, row: $0) } == [30, 53, 53, 84, 100])
    // What --explain prints: each default constraint's domains and matching pods.
    let explained = s.explainSpread(pod)
    let keys = explained.map(\.constraint.topologyKey)
    #expect(keys == ["kubernetes.io/hostname", Self.zoneKey])
    let defaults = explained.allSatisfy(\.systemDefault)
    #expect(defaults)
    let counts = explained.map { e in
      Dictionary(uniqueKeysWithValues: e.domains.map { ($0.value, $0.matching) })
    }
    #expect(
      counts == [["n0": 2, "n1": 0, "n2": 1, "n3": 0, "n4": 1], ["a": 2, "b": 1, "c": 0, "": 1]])
  }

  @Test(
    "explicit constraints take precedence over the system defaults; a pod nothing selects scores 100 everywhere"
  )
  func systemDefaultsPrecedence() throws {
    let c = try Self.cluster(existing: [0, 0, 2, 4], extraNode: true)
    var explicit = Self.spreadPod(Self.zone(maxSkew: 5, hard: false))
    explicit.defaultSpreadSelector = LabelSelector(matchLabels: ["app": "x"])
    var unselected = Builders.pod("q", cpu: 100)
    unselected.labels = ["app": "x"]
    let pods = [try c.addPod(explicit), try c.addPod(unselected)]
    let s = Scheduler(cluster: c, seed: 1)
    let index = try #require(s.scorePlugins.firstIndex { $0.name == .podTopologySpread })
    let rows = try Self.rows(c)
    #expect(s.scoreExactly(pods[0], rows: rows).isEmpty)
    // Zone counts a 2, b 1, c 0 with weight ln(3 + 2): raw 7, 7, 6, 4; n4 lacks the key and is
    // ignored (0).
    #expect(rows.map { s.normalizedScore(plugin: index, row: $0) } == [57, 57, 71, 100, 0])
    #expect(s.scoreExactly(pods[1], rows: rows).isEmpty)
    #expect(rows.map { s.normalizedScore(plugin: index, row: $0) } == [100, 100, 100, 100, 100])
  }

  @Test(
    "a scheduler sees nodes added after its first cycle: a new zone is a domain at once, a new key is found"
  )
  func nodesAddedLater() throws {
    let c = try Self.cluster(existing: [0, 2, 3])
    let s = Scheduler(cluster: c, seed: 1)
    func fitting(_ spec: PodSpec) throws -> Set<String> {
      let pod = try c.addPod(spec)
      return Set(
        (0..<c.nodes.count).filter { s.check(pod, on: NodeID(UInt32($0))) == nil }.map {
          c.nodes.names[$0]
        })
    }
    // Zones a, b, c hold one matching pod each: every node fits.
    #expect(try fitting(Self.spreadPod(Self.zone())) == ["n0", "n1", "n2", "n3"])
    // An empty zone d makes the minimum 0: only d fits now.
    c.addNode(Builders.node("n5", cpu: 100_000, memory: 1 << 40, labels: [Self.zoneKey: "d"]))
    #expect(try fitting(Self.spreadPod(Self.zone())) == ["n5"])
    var rack = Self.zone()
    rack.topologyKey = "rack"
    #expect(try fitting(Self.spreadPod(rack)).isEmpty)
    c.addNode(
      Builders.node("n6", cpu: 100_000, memory: 1 << 40, labels: [Self.zoneKey: "d", "rack": "r1"]))
    #expect(try fitting(Self.spreadPod(rack)) == ["n6"])
  }

  @Test("matcher counts stay equal to a recount over random binds and unbinds")
  func incremental() throws {
    var rng = SplitMix64(seed: 11)
    let c = try Self.cluster(existing: [])
    _ = c.matcher(namespace: 0, selector: LabelSelector(matchLabels: ["app": "x"]))
    var bound: [PodID] = []
    for i in 0..<400 {
      if !bound.isEmpty && rng.nextInt(below: 3) == 0 {
        let k = rng.nextInt(below: bound.count)
        c.unbind(bound.remove(at: k))
      } else {
        var p = Builders.pod("r\(i)", cpu: 10)
        p.labels = ["app": ["x", "y"][rng.nextInt(below: 2)]]
        let id = try c.addPod(p)
        c.bind(id, to: NodeID(UInt32(rng.nextInt(below: 4))))
        bound.append(id)
      }
      if i % 50 == 0 {
        _ = c.matcher(
          namespace: 0,
          selector: LabelSelector(matchExpressions: [.init(key: "app", operator: .exists)]))
      }
      #expect(c.invariantViolations().isEmpty, "step \(i)")
    }
  }
}
