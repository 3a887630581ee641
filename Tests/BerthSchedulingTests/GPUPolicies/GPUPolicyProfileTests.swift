import BerthCore
import Testing

@testable import BerthScheduling

/// A scheduler running `policy` as the FGD simulator does (see `GPUPolicy.profile`).
func policyScheduler(
  _ cluster: Cluster, _ policy: GPUPolicy, typicalPods: [TypicalPod], rank: [Int32], seed: UInt64
) -> Scheduler {
  let s = Scheduler(
    cluster: cluster, profile: policy.profile(typicalPods: typicalPods), seed: seed)
  s.tieRanks = rank
  return s
}

struct GPUPolicyProfileTests {
  @Test(
    "every policy's profile keeps the cluster consistent and places what fits",
    arguments: GPUPolicy.allCases)
  func invariants(policy: GPUPolicy) throws {
    var rng = SplitMix64(seed: 3)
    let nodes = (0..<12).map { i in
      NodeSpec(
        name: "n\(i)",
        allocatable: ResourceAmounts(cpuMillis: 32_000, memoryBytes: 1 << 37, pods: 1001),
        gpus: i % 4 == 0
          ? nil
          : NodeGPUs(
            count: [1, 2, 4, 8][rng.nextInt(below: 4)],
            model: ["T4", "P100"][rng.nextInt(below: 2)]))
    }
    let cluster = Cluster(nodes: nodes)
    var ids: [PodID] = []
    var specs: [PodSpec] = []
    for i in 0..<150 {
      let kind = rng.nextInt(below: 4)
      let gpu: GPURequest? =
        kind == 0
        ? nil
        : kind == 1
          ? GPURequest(
            count: 1, milliPerGPU: 100 * (1 + rng.nextInt(below: 9)),
            models: rng.nextInt(below: 5) == 0 ? ["T4"] : [])
          : GPURequest(count: [1, 2, 4][rng.nextInt(below: 3)], milliPerGPU: 1000)
      let spec = PodSpec(
        name: "p\(i)",
        containers: [
          Container(
            requests: ResourceList([
              ("cpu", Quantity(milli: Int64(500 * (1 + rng.nextInt(below: 8)))))
            ]))
        ], gpu: gpu)
      specs.append(spec)
      ids.append(try cluster.addPod(spec))
    }
    let typical = FragmentationModel.typicalPods(specs)
    let scheduler = policyScheduler(
      cluster, policy, typicalPods: typical, rank: Array(0..<12), seed: 9)
    let model = FragmentationModel(classes: typical, models: cluster.gpuModels)
    var fragmentation = (0..<12).map { model.fragmentation(ofNode: $0, in: cluster.nodes) }
    var total = fragmentation.reduce(0, +)
    var placed = 0
    for id in ids {
      guard let node = scheduler.scheduleOne(id).node else {
        #expect(!cluster.pods.isBound(id))
        continue
      }
      placed += 1
      let old = fragmentation[node.index]
      fragmentation[node.index] = model.fragmentation(ofNode: node.index, in: cluster.nodes)
      total += fragmentation[node.index] - old
    }
    #expect(placed > 30)
    cluster.checkInvariants()
    // The running fragmentation equals a recount.
    let recount = (0..<12).map { model.fragmentation(ofNode: $0, in: cluster.nodes) }
    #expect(abs(recount.reduce(0, +) - total) < 1e-6)
    #expect(scheduler.scorePlugins.map(\.name) == [policy.scorePlugin])
    #expect(scheduler.filterPlugins.contains { $0.name == .gpuShare })
  }

  @Test("a pod whose GPUs fit nowhere is left unplaced, named by GPUShare's reason")
  func noFit() throws {
    let cluster = Cluster(nodes: [
      NodeSpec(
        name: "n0", allocatable: ResourceAmounts(cpuMillis: 8000, memoryBytes: 1 << 34, pods: 110),
        gpus: NodeGPUs(count: 2, model: "T4"))
    ])
    let pod = try cluster.addPod(
      PodSpec(
        name: "p", containers: [Container(requests: ResourceList([("cpu", Quantity(milli: 100))]))],
        gpu: GPURequest(count: 4, milliPerGPU: 1000)))
    let s = policyScheduler(cluster, .bestFit, typicalPods: [], rank: [0], seed: 1)
    #expect(s.scheduleOne(pod).node == nil)
    #expect(s.diagnose(pod).message.contains("didn't have free GPUs"))
  }

  @Test("nodes of a model the pod refuses and nodes short of GPUs are counted under each reason")
  func twoReasons() throws {
    func node(_ name: String, _ count: Int, _ model: String) -> NodeSpec {
      NodeSpec(
        name: name, allocatable: ResourceAmounts(cpuMillis: 8000, memoryBytes: 1 << 34, pods: 110),
        gpus: NodeGPUs(count: count, model: model))
    }
    let cluster = Cluster(nodes: [
      node("n0", 1, "T4"), node("n1", 8, "P100"), node("n2", 1, "T4"), node("n3", 8, "P100"),
      node("n4", 8, "P100"),
    ])
    let pod = try cluster.addPod(
      PodSpec(
        name: "p", containers: [Container(requests: ResourceList([("cpu", Quantity(milli: 100))]))],
        gpu: GPURequest(count: 2, milliPerGPU: 1000, models: ["T4"])))
    let s = policyScheduler(cluster, .bestFit, typicalPods: [], rank: [0], seed: 1)
    #expect(s.scheduleOne(pod).node == nil)
    #expect(
      s.diagnose(pod).message
        == "0/5 nodes are available: 2 node(s) didn't have free GPUs for the pod's GPU request, 3 node(s) didn't have the GPU model the pod accepts."
    )
  }
}

struct RandomAndFirstFitTests {
  static func cluster() throws -> (Cluster, [PodID]) {
    let nodes = (0..<5).map {
      NodeSpec(
        name: "n\($0)",
        allocatable: ResourceAmounts(cpuMillis: 8000, memoryBytes: 1 << 34, pods: 1001),
        gpus: NodeGPUs(count: 2, model: "T4"))
    }
    let c = Cluster(nodes: nodes)
    var ids: [PodID] = []
    for i in 0..<4 {
      ids.append(
        try c.addPod(
          PodSpec(
            name: "p\(i)",
            containers: [Container(requests: ResourceList([("cpu", Quantity(milli: 100))]))],
            gpu: GPURequest(count: 1, milliPerGPU: 300))))
    }
    return (c, ids)
  }

  @Test("FirstFit follows the node permutation and the lowest GPU with room")
  func firstFit() throws {
    let (c, ids) = try Self.cluster()
    let s = policyScheduler(c, .firstFit, typicalPods: [], rank: [3, 1, 4, 0, 2], seed: 1)
    #expect(s.scheduleOne(ids[0]).node == NodeID(3))
    #expect(c.pods.gpuAssignment[ids[0].index] == 0b01)
    #expect(s.scheduleOne(ids[1]).node == NodeID(3))
    #expect(c.pods.gpuAssignment[ids[1].index] == 0b01)
  }

  @Test("Random spreads pods over nodes and is seeded")
  func random() throws {
    func placements(_ seed: UInt64) throws -> [Int?] {
      let (c, ids) = try Self.cluster()
      let s = policyScheduler(c, .random, typicalPods: [], rank: [0, 1, 2, 3, 4], seed: seed)
      return ids.map { s.scheduleOne($0).node?.index }
    }
    #expect(try placements(1) == placements(1))
    #expect(try Set(placements(1).compactMap { $0 }).count > 1)
  }
}
