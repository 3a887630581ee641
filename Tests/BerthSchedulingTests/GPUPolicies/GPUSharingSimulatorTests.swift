import BerthCore
import Testing

@testable import BerthScheduling

struct GPUSharingSimulatorTests {
  @Test(
    "every policy's simulator keeps the cluster consistent and places what fits",
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
    let sim = GPUSharingSimulator(
      cluster: cluster, policy: policy, typicalPods: FragmentationModel.typicalPods(specs),
      rank: Array(0..<12), seed: 9)
    var placed = 0
    for id in ids where sim.schedule(id) != nil { placed += 1 }
    #expect(placed > 30)
    cluster.checkInvariants()
    // The running fragmentation equals a recount.
    let recount = (0..<cluster.nodes.count).map { sim.computeFragmentation($0) }.reduce(0, +)
    #expect(abs(recount - sim.totalFragmentation) < 1e-6)
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
    let sim = GPUSharingSimulator(
      cluster: c, policy: .firstFit, typicalPods: [], rank: [3, 1, 4, 0, 2], seed: 1)
    #expect(sim.schedule(ids[0]) == NodeID(3))
    #expect(c.pods.gpuAssignment[ids[0].index] == 0b01)
    #expect(sim.schedule(ids[1]) == NodeID(3))
    #expect(c.pods.gpuAssignment[ids[1].index] == 0b01)
  }

  @Test("Random spreads pods over nodes and is seeded")
  func random() throws {
    func placements(_ seed: UInt64) throws -> [Int?] {
      let (c, ids) = try Self.cluster()
      let sim = GPUSharingSimulator(
        cluster: c, policy: .random, typicalPods: [], rank: [0, 1, 2, 3, 4], seed: seed)
      return ids.map { sim.schedule($0)?.index }
    }
    #expect(try placements(1) == placements(1))
    #expect(try Set(placements(1).compactMap { $0 }).count > 1)
  }
}
