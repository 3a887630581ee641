import BerthAutoscaling
import BerthCore
import BerthTestSupport
import BerthTraces
import Foundation
import Testing

@testable import BerthSimulation

/// Karpenter in the simulated cluster, on the bundled catalogue: hand-computed launches and
/// consolidations, every invariant checked after every event.
struct KarpenterTests {
  static var catalogue: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "../../datasets/instance-types/aws-us-east-1.csv"
    ).standardized.path
  }

  static func scenario(
    duration: String = "30m", requirements: String, disruption: String = "{}",
    actions: String = "[]", replicas: Int, cpu: String = "1", memory: String = "1Gi"
  ) -> String {
    """
    apiVersion: berth.dev/v1alpha1
    kind: Scenario
    metadata: {name: k}
    spec:
      duration: \(duration)
      actions: \(actions)
      karpenter: {instanceTypes: \(catalogue), launchDelay: 60s}
    ---
    apiVersion: karpenter.sh/v1
    kind: NodePool
    metadata: {name: default}
    spec:
      template: {spec: {requirements: \(requirements)}}
      disruption: \(disruption)
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: \(replicas)
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: app, image: web, resources: {requests: {cpu: "\(cpu)", memory: \(memory)}}}]

    """
  }

  static func launched(_ sim: Simulation) -> [String] {
    sim.recorder.events.split(separator: "\n").filter { $0.contains("\"reason\":\"Launched\"") }
      .compactMap { line in
        line.range(of: "True (").map { String(line[$0.upperBound...].prefix { $0 != "," }) }
      }
  }

  /// Three 1-CPU, 1-GiB pods and no node: the batch closes 1 s after they fail to schedule
  /// and one claim takes all three; among m5, c5 and t3 the cheapest type that holds them
  /// (3 CPU and 3 GiB after the kubelet's reservations) is t3.xlarge at 0.1664/h (c5.xlarge
  /// 0.17, m5.xlarge 0.192). Three 6-GiB pods need 18 GiB: t3.2xlarge (0.3328) beats
  /// m5.2xlarge (0.384); c5.2xlarge's 16 GiB are too few.
  @Test func theCheapestFittingInstanceTypeLaunches() throws {
    let families = "[{key: karpenter.k8s.aws/instance-family, operator: In, values: [m5, c5, t3]}]"
    let small = try TimelineTests.simulate(
      Self.scenario(duration: "5m", requirements: families, replicas: 3))
    #expect(Self.launched(small) == ["t3.xlarge"])
    #expect(TimelineTests.events(small, reason: "Launched") == [1])
    #expect(TimelineTests.events(small, reason: "Registered") == [61])
    #expect(TimelineTests.recorded(small, "Cluster,-,-,pendingPods", at: 61) == 0)
    let big = try TimelineTests.simulate(
      Self.scenario(duration: "5m", requirements: families, replicas: 3, memory: "6Gi"))
    #expect(Self.launched(big) == ["t3.2xlarge"])
    // Allowing spot, the spot offering (0.35 × on-demand here) wins.
    let spot = try TimelineTests.simulate(
      Self.scenario(
        duration: "5m",
        requirements:
          "[{key: karpenter.k8s.aws/instance-family, operator: In, values: [m5, c5, t3]}, {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}]",
        replicas: 3))
    #expect(
      spot.recorder.events.contains("(t3.xlarge, spot, us-east-1a, 0.0582/h)"),
      "\(Self.launched(spot))")
  }

  /// Six 1-CPU pods on m5.xlarge only (3,920m allocatable): two nodes of three. Scaled to two
  /// at 10 min, the ReplicaSet deletes from the fuller nodes first, leaving one pod on each;
  /// 30 s after the last pod change (consolidateAfter) the loop at 630 s deletes the node with
  /// the first row (Underutilized/Delete) — its pod fits beside the other — and two
  /// half-empty nodes become one.
  @Test func twoHalfEmptyNodesBecomeOne() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        requirements:
          "[{key: node.kubernetes.io/instance-type, operator: In, values: [m5.xlarge]}]",
        disruption: "{consolidationPolicy: WhenEmptyOrUnderutilized, consolidateAfter: 30s}",
        actions: "[{at: 10m, scale: {kind: Deployment, name: web, replicas: 2}}]", replicas: 6))
    #expect(Self.launched(sim) == ["m5.xlarge", "m5.xlarge"])
    #expect(TimelineTests.recorded(sim, "NodePool,-,default,nodes", at: 599) == 2)
    #expect(TimelineTests.events(sim, reason: "DisruptionTerminating") == [630])
    #expect(sim.recorder.events.contains("Disrupting Node: Underutilized/Delete"))
    #expect(TimelineTests.recorded(sim, "NodePool,-,default,nodes", at: 1800) == 1)
    #expect(TimelineTests.recorded(sim, "Cluster,-,-,runningPods", at: 1800) == 2)
  }

  /// Drift: six 1-CPU pods on two m5.xlarge nodes; at 10 min the NodePool is applied again
  /// allowing c5.xlarge only, so both nodes' labels fall outside its requirements. The budget
  /// (10 % of 2, rounded up: 1) takes one node at a time: the loop at 600 s (after the action
  /// of that instant) launches a c5.xlarge for the first (its pods do not fit beside the
  /// other's), which is Ready at 660 s; the old node is tainted and drained then, and once it is gone the second follows
  /// the same way. Changing only the limits drifts nothing; changing the template's labels
  /// drifts every node.
  @Test func driftedNodesAreReplacedOneBudgetAtATime() throws {
    let m5 = "[{key: node.kubernetes.io/instance-type, operator: In, values: [m5.xlarge]}]"
    func apply(_ requirements: String, labels: String = "{}", limits: String = "{}") -> String {
      "[{at: 10m, apply: {apiVersion: karpenter.sh/v1, kind: NodePool, metadata: {name: default}, spec: {limits: \(limits), template: {metadata: {labels: \(labels)}, spec: {requirements: \(requirements)}}, disruption: {consolidateAfter: Never}}}}]"
    }
    let sim = try TimelineTests.simulate(
      Self.scenario(
        requirements: m5, disruption: "{consolidateAfter: Never}",
        actions: apply(
          "[{key: node.kubernetes.io/instance-type, operator: In, values: [c5.xlarge]}]"),
        replicas: 6))
    #expect(Self.launched(sim) == ["m5.xlarge", "m5.xlarge", "c5.xlarge", "c5.xlarge"])
    let launching = TimelineTests.events(sim, reason: "DisruptionLaunching")
    #expect(launching.first == 600)
    #expect(launching.count == 2)
    #expect(TimelineTests.events(sim, reason: "DisruptionTerminating").first == 660)
    #expect(sim.recorder.events.contains("Launching NodeClaim: Drifted (c5.xlarge for m5.xlarge)"))
    #expect(sim.recorder.events.contains("Disrupting Node: Drifted"))
    #expect(TimelineTests.recorded(sim, "NodePool,-,default,nodes", at: 1800) == 2)
    #expect(TimelineTests.recorded(sim, "Cluster,-,-,runningPods", at: 1800) == 6)
    let nodes = sim.cluster.nodes
    let types = (0..<nodes.count).filter { !sim.nodes.isRemoved($0) }.map {
      nodes.specs[$0].labels[NodePoolSpec.instanceTypeLabel] ?? ""
    }
    #expect(types == ["c5.xlarge", "c5.xlarge"])

    let limitsOnly = try TimelineTests.simulate(
      Self.scenario(
        requirements: m5, disruption: "{consolidateAfter: Never}",
        actions: apply(m5, limits: "{cpu: \"100\"}"), replicas: 6))
    #expect(TimelineTests.events(limitsOnly, reason: "DisruptionLaunching").isEmpty)
    let relabelled = try TimelineTests.simulate(
      Self.scenario(
        requirements: m5, disruption: "{consolidateAfter: Never}",
        actions: apply(m5, labels: "{team: b}"), replicas: 6))
    #expect(TimelineTests.events(relabelled, reason: "DisruptionLaunching").count == 2)
    #expect(Self.launched(relabelled) == ["m5.xlarge", "m5.xlarge", "m5.xlarge", "m5.xlarge"])
  }

  /// Limits count capacity, as Karpenter sums its NodeClaims' capacity: twelve 1-CPU pods on
  /// m5.xlarge (4 vCPU, 3,920m allocatable, three pods each). The first batch opens two claims
  /// (a third would make 12 CPUs); once they are nodes, the six pods left ask again: two
  /// nodes' capacity (8 CPUs) and a third (4) exceed a limit of 11,900m — counting their
  /// allocatable (7,840m) would have let it launch — and fit one of 12 CPUs.
  @Test func limitsCountCapacity() throws {
    func launches(_ limit: String) throws -> Int {
      let text = Self.scenario(
        duration: "10m",
        requirements:
          "[{key: node.kubernetes.io/instance-type, operator: In, values: [m5.xlarge]}]",
        replicas: 12
      ).replacingOccurrences(
        of: "\n  disruption: {}", with: "\n  limits: {cpu: \(limit)}\n  disruption: {}")
      #expect(text.contains("limits: {cpu"))
      return Self.launched(try TimelineTests.simulate(text)).count
    }
    #expect(try launches("11900m") == 2)
    #expect(try launches("\"12\"") == 3)
  }

  /// Only the scenario's own NodePools can be applied again.
  @Test func applyingAnUnknownNodePoolIsAnError() throws {
    let text = Self.scenario(
      requirements: "[]",
      actions:
        "[{at: 1m, apply: {apiVersion: karpenter.sh/v1, kind: NodePool, metadata: {name: other}, spec: {template: {spec: {requirements: []}}}}}]",
      replicas: 1)
    let error = try #require(InputFixtures.error { _ = try Scenario.parse(text, file: "k.yaml") })
    #expect(error.message.contains("only the scenario's own NodePools can be applied again"))
  }

  /// WhenEmpty never consolidates occupied nodes; an empty node goes after consolidateAfter.
  @Test func whenEmptyOnlyDeletesEmptyNodes() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        requirements:
          "[{key: node.kubernetes.io/instance-type, operator: In, values: [m5.xlarge]}]",
        disruption: "{consolidationPolicy: WhenEmpty, consolidateAfter: 1m}",
        actions: "[{at: 10m, scale: {kind: Deployment, name: web, replicas: 2}}]", replicas: 6))
    #expect(TimelineTests.events(sim, reason: "DisruptionTerminating").isEmpty)
    let zero = try TimelineTests.simulate(
      Self.scenario(
        requirements:
          "[{key: node.kubernetes.io/instance-type, operator: In, values: [m5.xlarge]}]",
        disruption: "{consolidationPolicy: WhenEmpty, consolidateAfter: 1m}",
        actions: "[{at: 10m, scale: {kind: Deployment, name: web, replicas: 0}}]", replicas: 6))
    // Empty at 600 s; the loop at 660 s sees a minute without pod changes, but the default
    // budget (10 % of 2 nodes, rounded up: 1) lets one node go at a time: the other at 670 s.
    #expect(TimelineTests.events(zero, reason: "DisruptionTerminating") == [660, 670])
    #expect(zero.recorder.events.contains("Disrupting Node: Empty"))
  }

  /// Upstream's facts as rules: requirements, budgets, the kubelet's reservations.
  @Test func nodePoolRules() throws {
    // Requirements are node selector requirements over the offering's labels: a pool on m5
    // and c5 offers those families only, on-demand unless spot is allowed.
    var families = NodePoolSpec(name: "f")
    families.requirements = [
      NodeSelectorRequirement(
        key: NodePoolSpec.familyLabel, operator: .in, values: ["m5", "c5"]),
      NodeSelectorRequirement(key: NodePoolSpec.cpuLabel, operator: .gt, values: ["3"]),
    ]
    var pool = NodePoolSpec(name: "p")
    // nodes: 10 % of 25 rounds up to 3; one disrupting leaves 2.
    #expect(pool.allowedDisruptions(nodes: 25, disrupting: 1) == 2)
    pool.budgets = [.percent(10), .count(1)]
    #expect(pool.allowedDisruptions(nodes: 25, disrupting: 0) == 1)
    // m5.xlarge: 4 vCPU → 60 + 10 + 5 + 5 = 80m reserved; 58 pods → 11 × 58 + 255 + 100 MiB.
    let types = try InstanceCatalogueCSV.parse(
      InputFile.text(Self.catalogue), file: "c.csv", spotPriceRatio: 0.35)
    let m5 = try #require(types.first { $0.name == "m5.xlarge" })
    #expect(m5.allocatable.cpuMillis == 3920)
    #expect(m5.allocatable.memoryBytes == (16 * 1024 - 993) * 1_048_576)
    let big = try #require(types.first { $0.name == "m5.8xlarge" })
    #expect(big.kubeReservedCPUMillis == 80 + 70)  // 0.25 % of each of 28 more cores
    #expect(types.count == 41)
    let offered = Offering.of(pool: families, catalogue: types)
    #expect(Set(offered.map(\.type.family)) == ["m5", "c5"])
    #expect(offered.allSatisfy { $0.type.cpuMillis > 3000 && $0.capacityType == "on-demand" })
    #expect(offered.count == 9 * 3)  // 9 types of 4+ vCPUs, 3 zones each
  }

  @Test func badCataloguesAreOneLine() {
    func error(_ text: String) -> String {
      do {
        _ = try InstanceCatalogueCSV.parse(text, file: "c.csv")
        return ""
      } catch { return error.description }
    }
    let header = "name,family,arch,cpu,memoryGiB,gpus,maxPods,onDemandPricePerHour,zones\n"
    #expect(error("a,b\n").contains("c.csv:1: expected the header"))
    #expect(error(header + "m,m,amd64,2,8,0,29,0.1\n").contains("c.csv:2: expected 9 fields"))
    #expect(error(header + "m,m,x86,2,8,0,29,0.1,a\n").contains("expected amd64 or arm64"))
    #expect(error(header + "m,m,amd64,-2,8,0,29,0.1,a\n").contains("cpu"))
    #expect(
      error(header + "m,m,amd64,2,8,0,29,0.1,a\nm,m,amd64,2,8,0,29,0.1,a\n").contains("duplicate"))
    #expect(error(header).contains("no instance types"))
  }

  /// Spot nodes reclaimed after 20 min on average with a two-minute notice: at each notice the
  /// node is drained at once (SpotInterrupted, DisruptionTerminating "Interrupted"), the
  /// evicted pods fail to schedule and the next batch launches new capacity; the node is gone
  /// by the deadline.
  @Test func spotNodesAreInterrupted() throws {
    let text = Self.scenario(
      duration: "6h",
      requirements:
        "[{key: karpenter.k8s.aws/instance-family, operator: In, values: [m5]}, {key: karpenter.sh/capacity-type, operator: In, values: [spot]}]",
      replicas: 4
    ).replacingOccurrences(
      of: "launchDelay: 60s}", with: "launchDelay: 60s, spot: {meanTimeToInterruption: 20m}}")
    let sim = try TimelineTests.simulate(text)
    let notices = TimelineTests.events(sim, reason: "SpotInterrupted")
    let removals = TimelineTests.events(sim, reason: "RemovingNode")
    #expect(notices.count >= 5)
    for t in notices where t + 120 <= 21_600 {
      #expect(removals.contains { $0 >= t && $0 <= t + 120 }, "notice at \(t)")
    }
    // Each interruption's evicted pods bring a new node.
    #expect(Self.launched(sim).count == notices.count + 1)
    #expect(TimelineTests.recorded(sim, "Cluster,-,-,runningPods", at: 21_600) == 4)
  }
}
