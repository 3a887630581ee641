import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

/// InterPodAffinity table tests, hand-computed. Nodes n0 and n1 sit in zone a, n2 in b, n3 in c;
/// n4 has no zone. Every node has its hostname label.
struct InterPodAffinityTests {
  static let zone = "topology.kubernetes.io/zone"
  static let host = "kubernetes.io/hostname"
  static let reasonAffinity = "node(s) didn't match pod affinity rules"
  static let reasonAnti = "node(s) didn't match pod anti-affinity rules"
  static let reasonExisting = "node(s) didn't satisfy existing pods anti-affinity rules"

  struct Existing {
    var node: Int
    var labels: [String: String]
    var namespace = "default"
    var affinity = PodAffinityRules()
    var anti = PodAffinityRules()
  }

  static func cluster(_ existing: [Existing], namespaces: [NamespaceSpec] = []) throws -> Cluster {
    var nodes = [("n0", "a"), ("n1", "a"), ("n2", "b"), ("n3", "c")].map { name, z in
      Builders.node(name, cpu: 100_000, memory: 1 << 40, labels: [zone: z])
    }
    nodes.append(Builders.node("n4", cpu: 100_000, memory: 1 << 40))
    let c = Cluster(nodes: nodes)
    for ns in namespaces { c.declareNamespace(ns.name, labels: ns.labels) }
    for (i, e) in existing.enumerated() {
      var p = Builders.pod("e\(i)", cpu: 100)
      p.labels = e.labels
      p.namespace = e.namespace
      p.podAffinity = e.affinity
      p.podAntiAffinity = e.anti
      c.bind(try c.addPod(p), to: try #require(c.nodes.id(named: "n\(e.node)")))
    }
    return c
  }

  static func pod(
    labels: [String: String] = ["app": "web"], namespace: String = "default",
    affinity: PodAffinityRules = PodAffinityRules(), anti: PodAffinityRules = PodAffinityRules()
  ) -> PodSpec {
    var p = Builders.pod("p", cpu: 100)
    p.labels = labels
    p.namespace = namespace
    p.podAffinity = affinity
    p.podAntiAffinity = anti
    return p
  }

  static func term(
    _ key: String, _ selector: LabelSelector? = LabelSelector(matchLabels: ["app": "db"]),
    namespaces: [String] = [], namespaceSelector: LabelSelector? = nil
  ) -> PodAffinityTerm {
    PodAffinityTerm(
      labelSelector: selector, namespaces: namespaces, namespaceSelector: namespaceSelector,
      topologyKey: key)
  }

  static func web(_ key: String) -> PodAffinityTerm {
    term(key, LabelSelector(matchLabels: ["app": "web"]))
  }

  /// Nodes the pod fits, and per rejected node the reason.
  static func fits(_ c: Cluster, _ spec: PodSpec) throws -> (
    fit: [String], reasons: [String: String]
  ) {
    let pod = try c.addPod(spec)
    let s = Scheduler(cluster: c, seed: 1)
    var fit: [String] = []
    var reasons: [String: String] = [:]
    for n in 0..<5 {
      let id = try #require(c.nodes.id(named: "n\(n)"))
      if let r = s.check(pod, on: id) {
        reasons["n\(n)"] = r.reasons.joined(separator: "; ")
      } else {
        fit.append("n\(n)")
      }
    }
    return (fit, reasons)
  }

  /// InterPodAffinity's normalised score on n0…n4.
  static func scores(_ c: Cluster, _ spec: PodSpec, arguments: InterPodAffinityArguments = .init())
    throws -> [Int64]
  {
    let pod = try c.addPod(spec)
    var config = ProfileConfiguration()
    config.pluginConfig = [PluginConfig(arguments)]
    let profile = try Profile.resolve(SchedulerConfiguration(profiles: [config]))[0]
    let s = Scheduler(cluster: c, profile: profile, seed: 1)
    let rows = try (0..<5).map { try #require(c.nodes.id(named: "n\($0)")).index }
    #expect(s.scoreExactly(pod, rows: rows).isEmpty)
    let index = try #require(s.scorePlugins.firstIndex { $0.name == .interPodAffinity })
    return rows.map { s.normalizedScore(plugin: index, row: $0) }
  }

  // MARK: Required affinity

  @Test(
    "required affinity: only the zone holding a matching pod fits; a node without the key is unresolvable"
  )
  func requiredAffinity() throws {
    let c = try Self.cluster([Existing(node: 2, labels: ["app": "db"])])
    let r = try Self.fits(c, Self.pod(affinity: PodAffinityRules(required: [Self.term(Self.zone)])))
    #expect(r.fit == ["n2"])
    #expect(r.reasons["n4"] == Self.reasonAffinity && r.reasons["n0"] == Self.reasonAffinity)
  }

  @Test(
    "required affinity counts pods matching every term: a db pod without tier=x does not satisfy the zone term"
  )
  func allTerms() throws {
    let c = try Self.cluster([
      Existing(node: 0, labels: ["app": "db"]),
      Existing(node: 2, labels: ["app": "db", "tier": "x"]),
    ])
    let terms = [
      Self.term(Self.zone), Self.term(Self.host, LabelSelector(matchLabels: ["tier": "x"])),
    ]
    #expect(try Self.fits(c, Self.pod(affinity: PodAffinityRules(required: terms))).fit == ["n2"])
  }

  @Test(
    "first pod of a group: no matching pod anywhere and the pod matches its own terms, so every keyed node fits"
  )
  func firstPod() throws {
    let c = try Self.cluster([])
    let own = Self.pod(
      labels: ["app": "db"], affinity: PodAffinityRules(required: [Self.term(Self.zone)]))
    #expect(try Self.fits(c, own).fit == ["n0", "n1", "n2", "n3"])
    // A pod that does not match its own term gets no exception.
    let c2 = try Self.cluster([])
    #expect(
      try Self.fits(c2, Self.pod(affinity: PodAffinityRules(required: [Self.term(Self.zone)]))).fit
        == [])
  }

  @Test(
    "the exception holds while the only matching pod sits on a node without the key, and ends once one is keyed"
  )
  func firstPodKeyless() throws {
    let own = Self.pod(
      labels: ["app": "db"], affinity: PodAffinityRules(required: [Self.term(Self.zone)]))
    #expect(
      try Self.fits(try Self.cluster([Existing(node: 4, labels: ["app": "db"])]), own).fit == [
        "n0", "n1", "n2", "n3",
      ])
    #expect(
      try Self.fits(try Self.cluster([Existing(node: 3, labels: ["app": "db"])]), own).fit == ["n3"]
    )
  }

  @Test("a term no pod matches, a nil selector and a key no node has reject every node")
  func noMatch() throws {
    for t in [
      Self.term(Self.zone, LabelSelector(matchLabels: ["app": "none"])), Self.term(Self.zone, nil),
      Self.term("rack"),
    ] {
      let c = try Self.cluster([Existing(node: 0, labels: ["app": "db"])])
      let r = try Self.fits(c, Self.pod(affinity: PodAffinityRules(required: [t])))
      #expect(r.fit == [] && Set(r.reasons.values) == [Self.reasonAffinity])
    }
  }

  // MARK: Required anti-affinity

  @Test("required anti-affinity by hostname and by zone; a node without the key passes")
  func requiredAnti() throws {
    let c = try Self.cluster([Existing(node: 0, labels: ["app": "web"])])
    let r = try Self.fits(c, Self.pod(anti: PodAffinityRules(required: [Self.web(Self.host)])))
    #expect(r.fit == ["n1", "n2", "n3", "n4"] && r.reasons["n0"] == Self.reasonAnti)
    let c2 = try Self.cluster([Existing(node: 0, labels: ["app": "web"])])
    #expect(
      try Self.fits(c2, Self.pod(anti: PodAffinityRules(required: [Self.web(Self.zone)]))).fit == [
        "n2", "n3", "n4",
      ])
  }

  @Test(
    "anti-affinity with an empty selector repels every pod of the namespace; a key no node has repels nothing"
  )
  func antiSelectors() throws {
    let c = try Self.cluster([Existing(node: 1, labels: ["app": "db"])])
    #expect(
      try Self.fits(
        c, Self.pod(anti: PodAffinityRules(required: [Self.term(Self.host, LabelSelector())]))
      ).fit == ["n0", "n2", "n3", "n4"])
    let c2 = try Self.cluster([Existing(node: 1, labels: ["app": "web"])])
    #expect(
      try Self.fits(c2, Self.pod(anti: PodAffinityRules(required: [Self.web("rack")]))).fit.count
        == 5)
  }

  @Test(
    "existing pods' anti-affinity rejects the holder's domain for a pod its term matches, and only such a pod"
  )
  func existingAnti() throws {
    let holder = Existing(
      node: 0, labels: ["app": "db"], anti: PodAffinityRules(required: [Self.web(Self.zone)]))
    let r = try Self.fits(try Self.cluster([holder]), Self.pod())
    #expect(r.fit == ["n2", "n3", "n4"] && r.reasons["n1"] == Self.reasonExisting)
    #expect(
      try Self.fits(try Self.cluster([holder]), Self.pod(labels: ["app": "other"])).fit.count == 5)
  }

  // MARK: Namespaces and label keys

  @Test(
    "namespaces: the holder's own by default, a list, a namespace selector, or all with an empty selector"
  )
  func namespaces() throws {
    let other = [Existing(node: 0, labels: ["app": "web"], namespace: "other")]
    let declared = [NamespaceSpec(name: "other", labels: ["env": "prod"])]
    func fit(_ t: PodAffinityTerm) throws -> [String] {
      try Self.fits(
        try Self.cluster(other, namespaces: declared),
        Self.pod(anti: PodAffinityRules(required: [t]))
      ).fit
    }
    let sel = LabelSelector(matchLabels: ["app": "web"])
    #expect(try fit(Self.term(Self.host, sel)).count == 5)
    #expect(try fit(Self.term(Self.host, sel, namespaces: ["other"])) == ["n1", "n2", "n3", "n4"])
    #expect(
      try fit(
        Self.term(Self.host, sel, namespaceSelector: LabelSelector(matchLabels: ["env": "prod"])))
        == ["n1", "n2", "n3", "n4"])
    #expect(
      try fit(
        Self.term(Self.host, sel, namespaceSelector: LabelSelector(matchLabels: ["env": "dev"]))
      ).count == 5)
    #expect(
      try fit(Self.term(Self.host, sel, namespaceSelector: LabelSelector())) == [
        "n1", "n2", "n3", "n4",
      ])
    // Every namespace carries kubernetes.io/metadata.name.
    #expect(
      try fit(
        Self.term(
          Self.host, sel,
          namespaceSelector: LabelSelector(matchLabels: ["kubernetes.io/metadata.name": "other"])))
        == ["n1", "n2", "n3", "n4"])
  }

  @Test(
    "an existing pod's namespace selector is matched against the incoming pod's namespace labels")
  func existingNamespaceSelector() throws {
    let holder = Existing(
      node: 2, labels: ["app": "db"], namespace: "other",
      anti: PodAffinityRules(required: [
        Self.term(
          Self.host, LabelSelector(matchLabels: ["app": "web"]),
          namespaceSelector: LabelSelector(matchLabels: ["env": "prod"]))
      ]))
    let prod = [NamespaceSpec(name: "default", labels: ["env": "prod"])]
    #expect(
      try Self.fits(try Self.cluster([holder], namespaces: prod), Self.pod()).fit == [
        "n0", "n1", "n3", "n4",
      ])
    #expect(try Self.fits(try Self.cluster([holder]), Self.pod()).fit.count == 5)
  }

  @Test("matchLabelKeys and mismatchLabelKeys select pods of the same and of another revision")
  func labelKeys() throws {
    let pods = [
      Existing(node: 0, labels: ["app": "web", "rev": "1"]),
      Existing(node: 1, labels: ["app": "web", "rev": "2"]),
    ]
    var same = Self.term(
      Self.host, LabelSelector(matchExpressions: [.init(key: "app", operator: .exists)]))
    same.matchLabelKeys = ["rev"]
    var other = same
    other.matchLabelKeys = []
    other.mismatchLabelKeys = ["rev"]
    let labels = ["app": "web", "rev": "2"]
    #expect(
      try Self.fits(
        try Self.cluster(pods), Self.pod(labels: labels, anti: PodAffinityRules(required: [same]))
      ).fit == ["n0", "n2", "n3", "n4"])
    #expect(
      try Self.fits(
        try Self.cluster(pods), Self.pod(labels: labels, anti: PodAffinityRules(required: [other]))
      ).fit == ["n1", "n2", "n3", "n4"])
  }

  // MARK: Score

  @Test("preferred affinity weight 5 toward db pods: zone a has one, b two → 50, 50, 100, 0, 0")
  func preferredAffinity() throws {
    let c = try Self.cluster([
      Existing(node: 0, labels: ["app": "db"]), Existing(node: 2, labels: ["app": "db"]),
      Existing(node: 2, labels: ["app": "db"]),
    ])
    let p = Self.pod(
      affinity: PodAffinityRules(preferred: [
        WeightedPodAffinityTerm(weight: 5, term: Self.term(Self.zone))
      ]))
    #expect(try Self.scores(c, p) == [50, 50, 100, 0, 0])
  }

  @Test(
    "affinity +5 by zone and anti-affinity −10 by hostname: raw −5, 5, 10, 0, 0 → 0, 66, 100, 33, 33"
  )
  func mixed() throws {
    let c = try Self.cluster([
      Existing(node: 0, labels: ["app": "db"]), Existing(node: 2, labels: ["app": "db"]),
      Existing(node: 2, labels: ["app": "db"]),
      Existing(node: 0, labels: ["app": "web"]),
    ])
    let p = Self.pod(
      affinity: PodAffinityRules(preferred: [
        WeightedPodAffinityTerm(weight: 5, term: Self.term(Self.zone))
      ]),
      anti: PodAffinityRules(preferred: [
        WeightedPodAffinityTerm(weight: 10, term: Self.web(Self.host))
      ]))
    #expect(try Self.scores(c, p) == [0, 66, 100, 33, 33])
  }

  @Test(
    "existing pods' terms: required affinity weighs hardPodAffinityWeight, 0 turns it off; preferred anti-affinity subtracts"
  )
  func existingTerms() throws {
    let holder = Existing(
      node: 2, labels: ["app": "db"], affinity: PodAffinityRules(required: [Self.web(Self.zone)]))
    #expect(try Self.scores(try Self.cluster([holder]), Self.pod()) == [0, 0, 100, 0, 0])
    #expect(
      try Self.scores(
        try Self.cluster([holder]), Self.pod(), arguments: .init(hardPodAffinityWeight: 0)) == [
          0, 0, 0, 0, 0,
        ])
    #expect(
      try Self.scores(
        try Self.cluster([holder]), Self.pod(),
        arguments: .init(ignorePreferredTermsOfExistingPods: true)) == [0, 0, 0, 0, 0])
    let repeller = Existing(
      node: 0, labels: ["app": "db"],
      anti: PodAffinityRules(preferred: [
        WeightedPodAffinityTerm(weight: 30, term: Self.web(Self.zone))
      ]))
    #expect(try Self.scores(try Self.cluster([repeller]), Self.pod()) == [0, 0, 100, 100, 100])
    // Not matched by the term: no preference at all.
    #expect(
      try Self.scores(try Self.cluster([repeller]), Self.pod(labels: ["app": "x"])) == [
        0, 0, 0, 0, 0,
      ])
  }

  @Test("explain lists the pod's terms and bound pods' matching terms with their domain counts")
  func explain() throws {
    let c = try Self.cluster([
      Existing(node: 2, labels: ["app": "db"]), Existing(node: 3, labels: ["app": "db"]),
      Existing(
        node: 0, labels: ["app": "cache"], anti: PodAffinityRules(required: [Self.web(Self.host)])),
    ])
    let pod = try c.addPod(Self.pod(affinity: PodAffinityRules(required: [Self.term(Self.zone)])))
    let e = Scheduler(cluster: c, seed: 1).explainAffinity(pod)
    #expect(
      e.map(\.role) == [
        "required affinity (pods matching all terms)", "bound pods' required anti-affinity",
      ])
    #expect(e[0].domains.map(\.value) == ["b", "c"] && e[0].domains.map(\.count) == [1, 1])
    #expect(e[1].topologyKey == Self.host && e[1].domains.map(\.value) == ["n0"])
  }

  @Test(
    "counters equal a from-scratch recount after every bind and unbind over 200 random sequences")
  func incremental() throws {
    var checked = 0
    for seed in UInt64(1)...200 {
      let (nodes, specs, _) = RandomCluster.make(seed: seed)
      guard !nodes.isEmpty else { continue }
      let c = Cluster(nodes: nodes)
      for ns in RandomCluster.namespaces { c.declareNamespace(ns.name, labels: ns.labels) }
      let s = Scheduler(cluster: c, seed: seed)
      var rng = SplitMix64(seed: seed)
      var bound: [PodID] = []
      for spec in specs {
        let pod = try c.addPod(spec)
        // Scheduling registers the pod's matchers; binding anywhere keeps the sequence random.
        _ = s.scheduleOne(pod, bind: false)
        c.bind(pod, to: NodeID(UInt32(rng.nextInt(below: nodes.count))))
        bound.append(pod)
        if rng.nextInt(below: 3) == 0 {
          c.unbind(bound.remove(at: rng.nextInt(below: bound.count)))
        }
        let problems = c.invariantViolations().filter {
          [.matcherCount, .affinityTermCount, .domainCounter].contains($0.kind)
        }
        #expect(problems.isEmpty, "seed \(seed) after \(spec.name): \(problems)")
        checked += 1
      }
    }
    #expect(checked > 2_000)
  }
}
