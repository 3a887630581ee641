import BerthCore
import BerthScheduling

/// Small seeded random clusters that exercise every modelled field: zones, labels with numeric
/// values, every taint effect, cordoned nodes, images, an extended resource; pods with selectors,
/// every affinity operator, matchFields, tolerations, host ports, pinned node names and images.
public enum RandomCluster {
  /// Namespace objects the random pods live in and select by label.
  public static let namespaces = [
    NamespaceSpec(name: "default", labels: ["env": "prod"]),
    NamespaceSpec(name: "ns2", labels: ["env": "dev", "team": "t1"]),
    NamespaceSpec(name: "ns3"),
  ]

  public static func make(seed: UInt64) -> (nodes: [NodeSpec], pods: [PodSpec], profile: Profile) {
    var rng = SplitMix64(seed: seed)
    func pick<T>(_ xs: [T]) -> T { xs[rng.nextInt(below: xs.count)] }
    func chance(_ pct: Int) -> Bool { rng.nextInt(below: 100) < pct }
    let taints = [
      Taint(key: "dedicated", value: "gpu", effect: .noSchedule),
      Taint(key: "dedicated", value: "db", effect: .noSchedule),
      Taint(key: "spot", value: "true", effect: .preferNoSchedule),
      Taint(key: "maint", effect: .noExecute),
      Taint(key: "soft", value: "x", effect: .preferNoSchedule),
    ]
    let images = ["nginx:1.25", "redis:7", "busybox:latest"]
    let nodeCount = 1 + rng.nextInt(below: 40)
    var nodes: [NodeSpec] = []
    for i in 0..<nodeCount {
      var labels = ["kubernetes.io/hostname": "n\(i)"]
      if chance(85) { labels["topology.kubernetes.io/zone"] = pick(["a", "b", "c"]) }
      if chance(60) { labels["tier"] = pick(["web", "db", "batch"]) }
      if chance(50) { labels["cores"] = pick(["4", "8", "16", "x"]) }
      let gpus: [(String, Int64)] =
        chance(20) ? [("example.com/gpu", Int64(rng.nextInt(below: 4)))] : []
      var nodeImages: [NodeSpec.Image] = []
      for img in images where chance(30) {
        nodeImages.append(.init(names: [img], sizeBytes: Int64(rng.nextInt(below: 1500)) << 20))
      }
      nodes.append(
        NodeSpec(
          name: "n\(i)", labels: labels, taints: taints.filter { _ in chance(12) },
          allocatable: ResourceAmounts(
            cpuMillis: Int64(pick([0, 1000, 2000, 4000, 8000])),
            memoryBytes: Int64(pick([0, 1, 2, 4, 8, 131_072])) << 30,
            ephemeralStorageBytes: Int64(pick([0, 10, 100])) << 30,
            pods: Int64(pick([1, 3, 10, 110])), scalars: gpus),
          unschedulable: chance(8), images: nodeImages))
    }
    func requirement() -> NodeSelectorRequirement {
      let key = pick(["topology.kubernetes.io/zone", "tier", "cores", "missing"])
      switch rng.nextInt(below: 6) {
      case 0:
        return .init(
          key: key, operator: .in,
          values: Array(
            ["a", "b", "web", "db", "4"].shuffled(using: &rng).prefix(1 + rng.nextInt(below: 2))))
      case 1: return .init(key: key, operator: .notIn, values: [pick(["a", "web", "8"])])
      case 2: return .init(key: key, operator: .exists)
      case 3: return .init(key: key, operator: .doesNotExist)
      case 4: return .init(key: key, operator: .gt, values: [pick(["4", "6"])])
      default: return .init(key: key, operator: .lt, values: [pick(["8", "16"])])
      }
    }
    func term() -> NodeSelectorTerm {
      var t = NodeSelectorTerm(
        matchExpressions: (0..<rng.nextInt(below: 3)).map { _ in requirement() })
      if chance(15) {
        t.matchFields = [
          .init(
            key: "metadata.name", operator: pick([.in, .notIn]),
            values: ["n\(rng.nextInt(below: nodeCount))"])
        ]
      }
      return t
    }
    var pods: [PodSpec] = []
    for i in 0..<(1 + rng.nextInt(below: 30)) {
      var r = ResourceList()
      if chance(90) { r["cpu"] = Quantity(milli: Int64(pick([0, 100, 250, 500, 1500, 3000]))) }
      if chance(90) { r["memory"] = Quantity(integer: Int64(pick([0, 128, 512, 2048])) << 20) }
      if chance(20) { r["ephemeral-storage"] = Quantity(integer: Int64(pick([1, 20])) << 30) }
      if chance(15) { r["example.com/gpu"] = Quantity(integer: Int64(pick([1, 2]))) }
      var affinity: NodeAffinity?
      if chance(30) {
        affinity = NodeAffinity(
          required: chance(60)
            ? NodeSelector(terms: (0..<(1 + rng.nextInt(below: 2))).map { _ in term() }) : nil,
          preferred: (0..<rng.nextInt(below: 3)).map { _ in
            PreferredSchedulingTerm(weight: Int32(1 + rng.nextInt(below: 100)), preference: term())
          })
      }
      var tolerations: [Toleration] = []
      if chance(30) {
        tolerations = (0..<(1 + rng.nextInt(below: 2))).map { _ in
          switch rng.nextInt(below: 4) {
          case 0:
            return Toleration(
              key: "dedicated", operator: .equal, value: pick(["gpu", "db"]), effect: .noSchedule)
          case 1:
            return Toleration(
              key: pick(["spot", "soft"]), operator: .exists,
              effect: pick([nil, .preferNoSchedule]))
          case 2: return Toleration(operator: .exists)
          default:
            return Toleration(key: unschedulableTaintKey, operator: .exists, effect: .noSchedule)
          }
        }
      }
      let ports =
        chance(15)
        ? [
          ContainerPort(
            hostPort: Int32(pick([80, 443])), hostIP: pick(["", "10.0.0.1"]),
            protocol: pick([.tcp, .udp]))
        ] : []
      let image = chance(40) ? pick(images + ["nginx"]) : ""
      var pod = PodSpec(
        name: "p\(i)", labels: ["app": pick(["x", "y"]), "team": pick(["t1", "t2"])],
        containers: [Container(name: "c", image: image, requests: r, ports: ports)],
        nodeSelector: chance(20) ? ["topology.kubernetes.io/zone": pick(["a", "b", "z"])] : [:],
        affinity: affinity,
        tolerations: tolerations, nodeName: chance(5) ? "n\(rng.nextInt(below: nodeCount + 1))" : ""
      )
      if chance(30) {
        pod.topologySpreadConstraints = (0..<(1 + rng.nextInt(below: 2))).map { _ in
          let hard = chance(50)
          let selector: LabelSelector? =
            chance(10)
            ? nil
            : pick([
              LabelSelector(matchLabels: ["app": "x"]),
              LabelSelector(matchExpressions: [.init(key: "app", operator: .exists)]),
              LabelSelector(matchExpressions: [.init(key: "app", operator: .notIn, values: ["y"])]),
            ])
          return TopologySpreadConstraint(
            maxSkew: Int32(1 + rng.nextInt(below: 2)),
            topologyKey: pick(["topology.kubernetes.io/zone", "kubernetes.io/hostname", "tier"]),
            doNotSchedule: hard, labelSelector: selector,
            minDomains: hard ? Int32(1 + rng.nextInt(below: 4)) : 1,
            nodeAffinityPolicy: pick([.honor, .ignore]), nodeTaintsPolicy: pick([.honor, .ignore]),
            matchLabelKeys: chance(20) ? ["team"] : [])
        }
      } else if chance(30) {
        // Selected by a Service or owned by a workload: the system default constraints apply.
        pod.defaultSpreadSelector = pick([
          LabelSelector(matchLabels: ["app": pod.labels["app"]!]),
          LabelSelector(matchLabels: ["app": pod.labels["app"]!, "team": pod.labels["team"]!]),
        ])
      }
      if chance(20) { pod.namespace = pick(["ns2", "ns3"]) }
      if chance(30) {
        func affinityTerm() -> PodAffinityTerm {
          var t = PodAffinityTerm(
            labelSelector: chance(8)
              ? nil
              : pick([
                LabelSelector(matchLabels: ["app": "x"]), LabelSelector(matchLabels: ["app": "y"]),
                LabelSelector(matchExpressions: [.init(key: "team", operator: .in, values: ["t1"])]
                ),
                LabelSelector(matchExpressions: [.init(key: "app", operator: .exists)]),
                LabelSelector(),
              ]),
            topologyKey: pick([
              "topology.kubernetes.io/zone", "kubernetes.io/hostname", "kubernetes.io/hostname",
              "tier", "missing",
            ]))
          switch rng.nextInt(below: 6) {
          case 0: t.namespaces = [pick(["default", "ns2", "ns3", "nowhere"])]
          case 1: t.namespaceSelector = LabelSelector()
          case 2: t.namespaceSelector = LabelSelector(matchLabels: ["env": pick(["prod", "dev"])])
          case 3:
            t.namespaceSelector = LabelSelector(matchExpressions: [
              .init(key: "team", operator: .doesNotExist)
            ])
          default: break
          }
          if t.labelSelector != nil && chance(15) { t.matchLabelKeys = ["team"] }
          if t.labelSelector != nil && chance(10) { t.mismatchLabelKeys = ["app"] }
          return t
        }
        func weighted() -> WeightedPodAffinityTerm {
          WeightedPodAffinityTerm(weight: Int32(1 + rng.nextInt(below: 100)), term: affinityTerm())
        }
        pod.podAffinity = PodAffinityRules(
          required: chance(35) ? (0..<(1 + rng.nextInt(below: 2))).map { _ in affinityTerm() } : [],
          preferred: (0..<rng.nextInt(below: 3)).map { _ in weighted() })
        pod.podAntiAffinity = PodAffinityRules(
          required: chance(45) ? (0..<(1 + rng.nextInt(below: 2))).map { _ in affinityTerm() } : [],
          preferred: (0..<rng.nextInt(below: 3)).map { _ in weighted() })
      }
      pods.append(pod)
    }
    var config = ProfileConfiguration()
    config.percentageOfNodesToScore = pick([nil, 0, 30, 100])
    switch rng.nextInt(below: 4) {
    case 0: break
    case 1:
      var a = NodeResourcesFitArguments()
      a.strategy = chance(50) ? .mostAllocated : .leastAllocated
      // Three resources take the general loop; two the weighted double-precision kernel.
      a.resources =
        chance(50)
        ? [
          .init(name: "cpu", weight: 3), .init(name: "memory", weight: 1),
          .init(name: "example.com/gpu", weight: 2),
        ]
        : [
          .init(name: "cpu", weight: Int64(1 + rng.nextInt(below: 100))),
          .init(name: "memory", weight: Int64(1 + rng.nextInt(below: 100))),
        ]
      config.pluginConfig = [PluginConfig(a)]
    case 2:
      var a = NodeResourcesFitArguments()
      a.strategy = .requestedToCapacityRatio
      a.shape = [
        .init(utilization: 0, score: 10), .init(utilization: 40, score: 6),
        .init(utilization: 100, score: 0),
      ]
      var b = BalancedAllocationArguments()
      b.resources = [
        .init(name: "cpu", weight: 1), .init(name: "memory", weight: 1),
        .init(name: "ephemeral-storage", weight: 1),
      ]
      config.pluginConfig = [PluginConfig(a), PluginConfig(b)]
    default:
      var a = NodeResourcesFitArguments()
      a.ignoredResourceGroups = ["example.com"]
      config.pluginConfig = [PluginConfig(a)]
    }
    if chance(30) {
      config.pluginConfig.append(
        PluginConfig(
          InterPodAffinityArguments(
            hardPodAffinityWeight: Int32(pick([0, 1, 5, 100])),
            ignorePreferredTermsOfExistingPods: chance(40))))
    }
    // Resolving the fixed configurations above cannot fail; a failure is a test bug.
    let profile = try! Profile.resolve(SchedulerConfiguration(profiles: [config]))[0]
    return (nodes, pods, profile)
  }
}
