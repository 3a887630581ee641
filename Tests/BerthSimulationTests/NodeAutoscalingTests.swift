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
}
