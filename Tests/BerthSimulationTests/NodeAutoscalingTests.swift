import BerthCore
import BerthTraces
import Foundation
import Testing

@testable import BerthSimulation

/// The Cluster Autoscaler in the simulated cluster: hand-computed timelines, every invariant
/// checked after every event.
struct NodeAutoscalingTests {
  /// A group of four-CPU nodes (16 GiB), and `workload` after it.
  static func scenario(
    duration: String = "30m", groups: String? = nil, flags: String = "{}",
    expander: String = "least-waste", actions: String = "[]", workload: String
  ) -> String {
    """
    apiVersion: berth.dev/v1alpha1
    kind: Scenario
    metadata: {name: ca}
    spec:
      duration: \(duration)
      actions: \(actions)
      clusterAutoscaler:
        expander: \(expander)
        flags: \(flags)
        nodeGroups:
    \(groups ?? Self.general())
    ---

    """ + workload
  }

  static func general(
    name: String = "general", min: Int = 1, max: Int = 10, cpu: String = "4",
    memory: String = "16Gi", delay: String = "60s", price: String = "0.2"
  ) -> String {
    """
        - name: \(name)
          minSize: \(min)
          maxSize: \(max)
          provisioningDelay: \(delay)
          pricePerHour: \(price)
          template: {apiVersion: v1, kind: Node, metadata: {labels: {pool: \(name)}}, status: {allocatable: {cpu: "\(cpu)", memory: \(memory), pods: "110"}}}
    """
  }

  static func deployment(
    _ name: String = "web", replicas: Int, cpu: String = "1", memory: String = "1Gi",
    namespace: String = "default", extra: String = ""
  ) -> String {
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: \(name), namespace: \(namespace)}
    spec:
      replicas: \(replicas)
      selector: {matchLabels: {app: \(name)}}
      template:
        metadata: {labels: {app: \(name)}}
        spec:
          containers:
          - {name: app, image: \(name), resources: {requests: {cpu: "\(cpu)", memory: \(memory)}}}\(extra)

    """
  }

  static func nodes(_ sim: Simulation, _ group: String = "general", at t: Double) -> Int64? {
    TimelineTests.recorded(sim, "NodeGroup,-,\(group),nodes", at: t)
  }

  /// 20 one-CPU pods, a group of four-CPU nodes starting at its minimum of one: four pods run
  /// at once, sixteen fail to schedule; the loop at 10 s packs them four to a node and asks
  /// for four nodes (one TriggeredScaleUp each, 1->5), which register Ready 60 s later, at
  /// 70 s, and take every pod.
  @Test func twentyOneCPUPodsOnFourCPUNodes() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(duration: "5m", workload: Self.deployment(replicas: 20)))
    #expect(Self.nodes(sim, at: 0) == 1)
    #expect(Self.nodes(sim, at: 69) == 1)
    #expect(Self.nodes(sim, at: 70) == 5)
    #expect(TimelineTests.recorded(sim, "NodeGroup,-,general,targetSize", at: 10) == 5)
    let triggered = TimelineTests.events(sim, reason: "TriggeredScaleUp")
    #expect(triggered.count == 16 && triggered.allSatisfy { $0 == 10 })
    #expect(sim.recorder.events.contains("pod triggered scale-up: [{general 1->5 (max: 10)}]"))
    #expect(TimelineTests.events(sim, reason: "ScaledUpGroup") == [10])
    #expect(TimelineTests.recorded(sim, "Cluster,-,-,pendingPods", at: 70) == 0)
    #expect(TimelineTests.recorded(sim, "Cluster,-,-,pendingPods", at: 69) == 16)
    // Nodes are named after the group and labelled with it.
    let names = (0..<sim.cluster.nodes.count).filter { !sim.nodes.isRemoved($0) }.map {
      sim.cluster.nodes.specs[$0].name
    }.sorted()
    #expect(names == ["general-0", "general-1", "general-2", "general-3", "general-4"])
    #expect(
      (0..<sim.cluster.nodes.count).filter { !sim.nodes.isRemoved($0) }.allSatisfy {
        sim.cluster.nodes.specs[$0].labels["berth.dev/node-group"] == "general"
      })
  }

  /// The same 20 pods scaled down to 4 at 100 s: the 16 go from the four new nodes, which are
  /// unneeded from the loop at 110 s; the scale-up at 10 s holds deletions until 610 s
  /// (delay-after-add), the unneeded time until 710 s, when all four empty nodes are tainted at
  /// once and, 5 s later (node-delete-delay-after-taint), deleted.
  @Test func emptyNodesGoInBulkOnceUnneededLongEnough() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        duration: "20m", actions: "[{at: 100s, scale: {kind: Deployment, name: web, replicas: 4}}]",
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(sim, reason: "ScaleDownEmpty") == [710, 710, 710, 710])
    #expect(TimelineTests.events(sim, reason: "RemovingNode") == [715, 715, 715, 715])
    #expect(Self.nodes(sim, at: 714) == 5)
    #expect(Self.nodes(sim, at: 715) == 1)
    #expect(
      TimelineTests.recorded(sim, "ClusterAutoscaler,-,cluster-autoscaler,unneededNodes", at: 110)
        == 4)
    // The group's minimum of one keeps the last node, idle or not.
    #expect(Self.nodes(sim, at: 1200) == 1)
  }

  /// Neither timer is cut short: with `scale-down-delay-after-add: 15m` the deletions wait for
  /// 10 s + 900 s; with `scale-down-unneeded-time: 20m`, for 110 s + 1200 s.
  @Test func noNodeGoesBeforeDelayAfterAddAndUnneededTime() throws {
    let actions = "[{at: 100s, scale: {kind: Deployment, name: web, replicas: 4}}]"
    let afterAdd = try TimelineTests.simulate(
      Self.scenario(
        duration: "30m", flags: "{scale-down-delay-after-add: 15m}", actions: actions,
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(afterAdd, reason: "ScaleDownEmpty").first == 910)
    let unneeded = try TimelineTests.simulate(
      Self.scenario(
        duration: "30m", flags: "{scale-down-unneeded-time: 20m}", actions: actions,
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(unneeded, reason: "ScaleDownEmpty").first == 1310)
    // Scale-down off: nothing goes.
    let off = try TimelineTests.simulate(
      Self.scenario(
        duration: "30m", flags: "{scale-down-enabled: false}", actions: actions,
        workload: Self.deployment(replicas: 20)))
    #expect(TimelineTests.events(off, reason: "RemovingNode").isEmpty)
  }

  /// Three group nodes, one kube-system pod without a PodDisruptionBudget and one web pod
  /// (half a CPU each, on two nodes). The empty node goes in bulk and the web pod's node is
  /// drained (its pod fits beside the kube-system one) at 610 s; the kube-system pod's node
  /// stays for the three hours (`blocking-system-pod-distruption-timeout: 1000h`, as before
  /// cluster-autoscaler 1.33), though it is under the threshold all along.
  @Test func aKubeSystemPodWithoutPDBKeepsItsNode() throws {
    let node = { (name: String) in
      "{apiVersion: v1, kind: Node, metadata: {name: \(name), labels: {berth.dev/node-group: general}}, status: {allocatable: {cpu: \"4\", memory: 16Gi, pods: \"110\"}}}\n---\n"
    }
    let workload =
      node("general-a") + node("general-b") + node("general-c")
      + Self.deployment("sys", replicas: 1, cpu: "500m", namespace: "kube-system") + "---\n"
      + Self.deployment("web", replicas: 1, cpu: "500m")
    let sim = try TimelineTests.simulate(
      Self.scenario(
        duration: "3h", groups: Self.general(min: 0),
        flags: "{blocking-system-pod-distruption-timeout: 1000h}", workload: workload))
    let pods = sim.cluster.pods
    let sys = try #require(
      (0..<pods.count).map { PodID(UInt32($0)) }.first {
        !sim.isGone($0) && sim.namespace($0) == "kube-system"
      })
    let home = try #require(pods.boundNode(sys)).index
    let homeName = sim.cluster.nodes.specs[home].name
    #expect(!sim.nodes.isRemoved(home))
    #expect(sim.podsCreated == 3)  // the kube-system pod was never moved
    #expect(TimelineTests.events(sim, reason: "RemovingNode").count == 2)
    #expect(TimelineTests.events(sim, reason: "RemovingNode", name: homeName).isEmpty)
    #expect(TimelineTests.events(sim, reason: "ScaleDownEmpty") == [610])
    #expect(TimelineTests.events(sim, reason: "ScaleDown").contains(610))
    #expect(Self.nodes(sim, at: 10_800) == 1)
  }

  /// Two groups, three pending pods of 1.5 CPU and 1 GiB: "small" (2 CPU, 8 GiB) needs three
  /// nodes and wastes 0.25 of their CPU and 0.875 of their memory (1.125); "large" (16 CPU,
  /// 64 GiB) needs one and wastes 0.72 + 0.95 = 1.67. least-waste takes small, least-nodes
  /// large.
  @Test func leastWastePicksTheGroupThatWastesLeast() throws {
    let groups =
      Self.general(name: "small", min: 0, cpu: "2", memory: "8Gi") + "\n"
      + Self.general(name: "large", min: 0, cpu: "16", memory: "64Gi")
    func run(_ expander: String) throws -> Simulation {
      try TimelineTests.simulate(
        Self.scenario(
          duration: "3m", groups: groups, expander: expander,
          workload: Self.deployment(replicas: 3, cpu: "1500m")))
    }
    let waste = try run("least-waste")
    #expect(Self.nodes(waste, "small", at: 70) == 3)
    #expect(Self.nodes(waste, "large", at: 70) == 0)
    let nodes = try run("least-nodes")
    #expect(Self.nodes(nodes, "small", at: 70) == 0)
    #expect(Self.nodes(nodes, "large", at: 70) == 1)
  }
}
