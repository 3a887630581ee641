import BerthCore
import BerthScheduling
import BerthTestSupport
import Testing

@testable import BerthAutoscaling

/// The Cluster Autoscaler's rules, with the cases of upstream's `binpacking_estimator_test.go`
/// (`TestBinpackingEstimate`), `waste_test.go`, the priority and most-pods expanders' tests,
/// the drainability rules' tests and `exponential_backoff_test.go`, transcribed as facts.
@Suite struct ClusterAutoscalerRulesTests {
  static let mib: Int64 = 1_048_576

  /// Upstream's `makeNode`: cpu in millicores, memory in MiB, a pod count, hostname and zone.
  static func node(_ name: String, cpu: Int64, memoryMiB: Int64, pods: Int64, zone: String)
    -> NodeSpec
  {
    Builders.node(
      name, cpu: cpu, memory: memoryMiB * mib, pods: pods,
      labels: ["topology.kubernetes.io/zone": zone])
  }

  struct EstimateCase: CustomTestStringConvertible, Sendable {
    var name: String
    var cpu: Int64
    var memoryMiB: Int64
    var maxNodes = 0
    /// (cpu milli, memory bytes, count, host port, spread (maxSkew, key, minDomains))
    var groups: [(Int64, Int64, Int, Int32, (Int32, String, Int32)?)]
    var nodes: Int
    var pods: Int
    /// The pods placed are exactly those of this group (index into `groups`).
    var processedGroup: Int?
    var testDescription: String { name }
  }

  static let estimateCases: [EstimateCase] = [
    EstimateCase(
      name: "simple resource-based binpacking", cpu: 350 * 3 - 50, memoryMiB: 2000,
      groups: [(350, 1000, 10, 0, nil)], nodes: 5, pods: 10),
    EstimateCase(
      name: "pods-per-node bound binpacking", cpu: 10000, memoryMiB: 20000,
      groups: [(10, 100, 20, 0, nil)], nodes: 2, pods: 20),
    EstimateCase(
      name: "hostport conflict forces pod-per-node", cpu: 1000, memoryMiB: 5000,
      groups: [(200, 1000, 8, 5555, nil)], nodes: 8, pods: 8),
    EstimateCase(
      name: "limiter cuts binpacking", cpu: 1000, memoryMiB: 5000, maxNodes: 5,
      groups: [(500, 1000, 20, 0, nil)], nodes: 5, pods: 10),
    EstimateCase(
      name: "decreasing ordered pods are processed first", cpu: 1000, memoryMiB: 5000,
      maxNodes: 5, groups: [(50, 1000, 10, 0, nil), (500, 1000, 10, 0, nil)], nodes: 5, pods: 10,
      processedGroup: 1),
    EstimateCase(
      name: "hostname topology spreading with maxSkew=2 forces 2 pods/node", cpu: 1000,
      memoryMiB: 5000, groups: [(200, 200, 8, 0, (2, "kubernetes.io/hostname", 1))], nodes: 4,
      pods: 8),
    EstimateCase(
      name: "zonal topology spreading with maxSkew=2 only allows 2 pods to schedule", cpu: 1000,
      memoryMiB: 5000, groups: [(20, 100, 8, 0, (2, "topology.kubernetes.io/zone", 1))],
      nodes: 1, pods: 2),
  ]

  @Test(arguments: estimateCases)
  func binpackingEstimate(_ c: EstimateCase) throws {
    let cluster = Cluster()
    // One node in another zone, so topology spreading has a second domain.
    cluster.addNode(Self.node("oldnode", cpu: 100, memoryMiB: 100, pods: 10, zone: "zone-jupiter"))
    var groups: [PodEquivalenceGroup] = []
    for (g, (cpu, memory, count, port, spread)) in c.groups.enumerated() {
      var spec = Builders.pod(
        "estimatee-\(g)", cpu: cpu, memory: memory,
        hostPorts: port > 0 ? [ContainerPort(containerPort: port, hostPort: port)] : [])
      spec.namespace = "universe"
      spec.labels = ["app": "estimatee"]
      if let (skew, key, minDomains) = spread {
        spec.topologySpreadConstraints = [
          TopologySpreadConstraint(
            maxSkew: skew, topologyKey: key, doNotSchedule: true,
            labelSelector: LabelSelector(matchLabels: ["app": "estimatee"]),
            minDomains: minDomains)
        ]
      }
      var ids: [PodID] = []
      for k in 0..<count {
        spec.name = "estimatee-\(g)-\(k)"
        ids.append(try cluster.addPod(spec))
      }
      groups.append(PodEquivalenceGroup(pods: ids, cpuMillis: cpu, memoryBytes: memory))
    }
    let snapshot = SchedulingSnapshot(cluster: cluster)
    let template = Self.node(
      "template", cpu: c.cpu, memoryMiB: c.memoryMiB, pods: 10, zone: "zone-mars")
    let e = BinpackingEstimator.estimate(
      groups, template: template, maxNodes: c.maxNodes == 0 ? 1000 : c.maxNodes,
      snapshot: snapshot)
    #expect(e.nodeCount == c.nodes)
    #expect(e.pods.count == c.pods)
    if let g = c.processedGroup { #expect(Set(e.pods) == Set(groups[g].pods)) }
    // The snapshot is as it was: one node, nothing bound.
    #expect(cluster.nodeCount == 1)
    #expect((0..<cluster.pods.count).allSatisfy { !cluster.pods.isBound(PodID(UInt32($0))) })
  }

  @Test func decreasingPodOrder() {
    let template = Builders.node("t", cpu: 1000, memory: 1000)
    let small = PodEquivalenceGroup(pods: [PodID(0)], cpuMillis: 100, memoryBytes: 100)
    let big = PodEquivalenceGroup(pods: [PodID(1)], cpuMillis: 500, memoryBytes: 100)
    let memoryHeavy = PodEquivalenceGroup(pods: [PodID(2)], cpuMillis: 0, memoryBytes: 700)
    #expect(
      BinpackingEstimator.order([small, big, memoryHeavy], template: template)
        == [memoryHeavy, big, small])
  }

  // MARK: Expanders

  static func option(
    _ name: String, cpu: Int64, memory: Int64, nodes: Int = 1, podCPU: Int64 = 0,
    podMemory: Int64 = 0, pods: Int = 0
  ) -> ScaleUpOption {
    ScaleUpOption(
      group: 0, groupName: name, nodeCount: nodes, podCount: pods, podCPUMillis: podCPU,
      podMemoryBytes: podMemory, nodeCPUMillis: cpu, nodeMemoryBytes: memory)
  }

  /// `TestLeastWaste`: one 500m / 1000 MiB pod; balanced (16 pods' worth of each), high-memory
  /// (twice the memory) and low-CPU (half the CPU) groups.
  @Test func leastWaste() {
    let cpu: Int64 = 500
    let memory: Int64 = 1000 * Self.mib
    let balanced = Self.option(
      "balanced", cpu: 16 * cpu, memory: 16 * memory, podCPU: cpu, podMemory: memory, pods: 1)
    let highmem = Self.option(
      "highmem", cpu: 16 * cpu, memory: 32 * memory, podCPU: cpu, podMemory: memory, pods: 1)
    let lowcpu = Self.option(
      "lowcpu", cpu: 8 * cpu, memory: 16 * memory, podCPU: cpu, podMemory: memory, pods: 1)
    let e = Expander(chain: [.leastWaste])
    var rng = SplitMix64(seed: 1)
    #expect(e.best([balanced], nodesInCluster: 0, rng: &rng) == balanced)
    #expect(e.best([balanced, highmem], nodesInCluster: 0, rng: &rng) == balanced)
    #expect(e.best([balanced, highmem, lowcpu], nodesInCluster: 0, rng: &rng) == lowcpu)
    // Without pods, one option is still chosen.
    let empty = Self.option("balanced", cpu: 16 * cpu, memory: 16 * memory)
    #expect(e.best([empty], nodesInCluster: 0, rng: &rng) == empty)
  }

  /// The most-pods and least-nodes expanders keep every option tied at the best count.
  @Test func mostPodsAndLeastNodes() {
    let a = Self.option("a", cpu: 1000, memory: 1000, nodes: 2, pods: 5)
    let b = Self.option("b", cpu: 1000, memory: 1000, nodes: 1, pods: 5)
    let c = Self.option("c", cpu: 1000, memory: 1000, nodes: 1, pods: 3)
    let e = Expander(chain: [.mostPods])
    #expect(e.filter(.mostPods, [a, b, c], nodesInCluster: 0) == [a, b])
    #expect(e.filter(.leastNodes, [a, b, c], nodesInCluster: 0) == [b, c])
    var rng = SplitMix64(seed: 3)
    // A chain: most-pods keeps a and b, least-nodes then b.
    #expect(
      Expander(chain: [.mostPods, .leastNodes]).best([a, b, c], nodesInCluster: 0, rng: &rng) == b)
  }

  /// The priority expander (`priority_test.go`'s configuration): 1 → `.*`, 10 → `.*t2.*`,
  /// 20 → `.*t3.*`; patterns match anywhere in the group's name.
  @Test func priorityExpander() {
    let config = ExpanderPriorities(entries: [(1, [".*"]), (10, [".*t2.*"]), (20, [".*t3.*"])])
    let e = Expander(chain: [.priority], priorities: config)
    let t1 = Self.option("eu-west-1-t1-group", cpu: 1000, memory: 1000)
    let t2 = Self.option("eu-west-1-t2-group", cpu: 1000, memory: 1000)
    let t3 = Self.option("eu-west-1-t3-group", cpu: 1000, memory: 1000)
    var rng = SplitMix64(seed: 1)
    #expect(e.best([t1, t2, t3], nodesInCluster: 0, rng: &rng) == t3)
    #expect(e.best([t1, t2], nodesInCluster: 0, rng: &rng) == t2)
    #expect(e.best([t1], nodesInCluster: 0, rng: &rng) == t1)
    // A group no pattern names keeps every option for the next expander.
    let only = ExpanderPriorities(entries: [(5, ["^gpu-"])])
    #expect(
      Expander(chain: [.priority], priorities: only).filter(
        .priority, [t1, t2], nodesInCluster: 0) == [t1, t2])
  }

  /// The price expander: the preferred node for the cluster's size, and the cheaper group of
  /// the same shape wins; a group without a price is not an option.
  @Test func priceExpander() {
    #expect(Expander.preferredNode(nodesInCluster: 2).cpuMillis == 1000)
    #expect(Expander.preferredNode(nodesInCluster: 7).cpuMillis == 4000)
    #expect(Expander.preferredNode(nodesInCluster: 201).cpuMillis == 32000)
    var cheap = Self.option("cheap", cpu: 4000, memory: 16 * 1024 * Self.mib, podCPU: 1000, pods: 1)
    cheap.pricePerHour = 0.1
    var dear = cheap
    dear.groupName = "dear"
    dear.pricePerHour = 0.3
    let unpriced = Self.option("unpriced", cpu: 4000, memory: 1000)
    let e = Expander(chain: [.price])
    var rng = SplitMix64(seed: 1)
    #expect(e.best([dear, unpriced, cheap], nodesInCluster: 10, rng: &rng) == cheap)
    // At 10 nodes the preferred node has 4 CPUs: unfitness 1, the score is the price ratio.
    let stabilization = PodPricing().price(cpuMillis: 500, memoryBytes: 500 * Self.mib)
    let pod = PodPricing().price(cpuMillis: 1000, memoryBytes: 0)
    #expect(
      abs(e.priceScore(cheap, nodesInCluster: 10)! - (0.1 + stabilization) / (pod + stabilization))
        < 1e-12)
    // A GPU group's unfitness is 1000 whatever its shape: CPU pods avoid it.
    var gpu = cheap
    gpu.groupName = "gpu"
    gpu.nodeHasGPU = true
    #expect(
      abs(
        e.priceScore(gpu, nodesInCluster: 10)! - 1000 * (0.1 + stabilization)
          / (pod + stabilization))
        < 1e-9)
    #expect(e.best([gpu, dear], nodesInCluster: 10, rng: &rng) == dear)
  }

  @Test func expanderNames() {
    #expect(ExpanderName.parseList("priority,least-waste") == [.priority, .leastWaste])
    #expect(ExpanderName.parseList("least-waste,least-waste") == nil)
    #expect(ExpanderName.parseList("cheapest") == nil)
    #expect(ExpanderName.parseList("") == nil)
  }

  // MARK: Scale-down

  static func drainPod(
    _ namespace: String = "default", controller: String = "ReplicaSet",
    _ change: (inout DrainPod) -> Void = { _ in }
  ) -> DrainPod {
    var p = DrainPod(namespace: namespace, controllerKind: controller, facts: DrainFacts())
    change(&p)
    return p
  }

  /// The rules' cases (`rules/*/rule_test.go`): what blocks, what is skipped, what moves.
  @Test func drainability() {
    let rules = DrainabilityRules(flags: ClusterAutoscalerFlags())
    #expect(rules.outcome(Self.drainPod()) == .reschedule)
    #expect(rules.outcome(Self.drainPod(controller: "Job")) == .reschedule)
    #expect(rules.outcome(Self.drainPod(controller: "StatefulSet")) == .reschedule)
    #expect(rules.outcome(Self.drainPod(controller: "DaemonSet")) == .daemonSet)
    // Bare pods and custom controllers block.
    #expect(rules.outcome(Self.drainPod(controller: "")) == .blocked(.notReplicated))
    #expect(rules.outcome(Self.drainPod(controller: "CronTab")) == .blocked(.notReplicated))
    var lenient = ClusterAutoscalerFlags()
    lenient.skipNodesWithCustomControllerPods = false
    #expect(
      DrainabilityRules(flags: lenient).outcome(Self.drainPod(controller: "CronTab"))
        == .reschedule)
    // A mirror pod is skipped, even bare.
    #expect(rules.outcome(Self.drainPod(controller: "") { $0.facts.mirror = true }) == .skip)
    // kube-system without a PDB blocks while young; with one, it moves; old, it moves.
    #expect(rules.outcome(Self.drainPod("kube-system")) == .blocked(.unmovableKubeSystemPod))
    #expect(rules.outcome(Self.drainPod("kube-system") { $0.hasPDB = true }) == .reschedule)
    #expect(
      rules.outcome(Self.drainPod("kube-system") { $0.youngerThanSystemPodTimeout = false })
        == .reschedule)
    // safe-to-evict: true overrides every blocking rule; false blocks.
    #expect(
      rules.outcome(
        Self.drainPod("kube-system", controller: "") {
          $0.facts.safeToEvict = true
          $0.facts.localVolumes = ["scratch"]
        }) == .reschedule)
    #expect(
      rules.outcome(Self.drainPod { $0.facts.safeToEvict = false })
        == .blocked(.notSafeToEvictAnnotation))
    // Local storage blocks unless every such volume is listed safe.
    #expect(
      rules.outcome(Self.drainPod { $0.facts.localVolumes = ["scratch"] })
        == .blocked(.localStorageRequested))
    #expect(
      rules.outcome(
        Self.drainPod {
          $0.facts.localVolumes = ["scratch", "cache"]
          $0.facts.safeToEvictLocalVolumes = ["scratch"]
        }) == .blocked(.localStorageRequested))
    #expect(
      rules.outcome(
        Self.drainPod {
          $0.facts.localVolumes = ["scratch"]
          $0.facts.safeToEvictLocalVolumes = ["scratch"]
        }) == .reschedule)
    // A PDB with no disruption left blocks.
    #expect(
      rules.outcome(
        Self.drainPod {
          $0.hasPDB = true
          $0.pdbAllows = false
        }) == .blocked(.notEnoughPdb))
    // The flags turn rules off.
    var off = ClusterAutoscalerFlags()
    off.skipNodesWithSystemPods = false
    off.skipNodesWithLocalStorage = false
    let relaxed = DrainabilityRules(flags: off)
    #expect(relaxed.outcome(Self.drainPod("kube-system")) == .reschedule)
    #expect(relaxed.outcome(Self.drainPod { $0.facts.localVolumes = ["x"] }) == .reschedule)
  }

  /// `utilization/info_test.go`'s arithmetic: max of CPU and memory; DaemonSet pods leave sum
  /// and allocatable with `--ignore-daemonsets-utilization`.
  @Test func utilization() {
    let pods: [(cpu: Int64, memory: Int64, daemonSet: Bool)] = [
      (100, 200_000, false), (100, 200_000, false), (100, 200_000, true),
    ]
    let u = NodeUtilization.of(
      allocatableCPU: 2000, allocatableMemory: 2_000_000, pods: pods, ignoreDaemonSets: false)
    #expect(u.cpu == 0.15 && u.memory == 0.3 && u.value == 0.3)
    let ignoring = NodeUtilization.of(
      allocatableCPU: 2000, allocatableMemory: 2_000_000, pods: pods, ignoreDaemonSets: true)
    #expect(ignoring.cpu == 200.0 / 1900 && ignoring.memory == 400_000.0 / 1_800_000)
  }

  /// `exponential_backoff_test.go`: 5 min, then 10 after it ran out, capped at 30; a failure
  /// during a back-off keeps the duration; after 3 h without failures it starts over.
  @Test func backoff() {
    let flags = ClusterAutoscalerFlags()
    var b = GroupBackoff()
    func at(_ m: Int64) -> VirtualTime { .seconds(m * 60) }
    b.failed(at: at(0), flags: flags)
    #expect(b.until == at(5) && b.isBackedOff(at: at(4)) && !b.isBackedOff(at: at(5)))
    b.failed(at: at(3), flags: flags)  // during the back-off: still 5 min
    #expect(b.duration == at(5) && b.until == at(8))
    b.failed(at: at(9), flags: flags)
    #expect(b.until == at(19))
    b.failed(at: at(20), flags: flags)
    b.failed(at: at(41), flags: flags)
    #expect(b.duration == at(30))  // 20 → capped at 30
    b.failed(at: at(41 + 181), flags: flags)
    #expect(b.duration == at(5))
  }
}

extension ScaleUpOption: CustomTestStringConvertible {
  public var testDescription: String { "\(groupName)×\(nodeCount)" }
}
