import BerthCore
@testable import BerthScheduling
import Testing

/// Worked examples for each GPU-sharing policy, computed by hand from the formulas.
struct GPUPolicyTests {
  static func pod(cpu: Int64, count: Int, milli: Int16) -> GPUPod {
    GPUPod(cpuMillis: cpu, memoryBytes: 0, gpuCount: count, milli: milli, accepts: [true, true], shape: 0)
  }

  @Test("DotProduct: (64000/128000)(8000/128000) + (2000/8000)(1000/8000) = 0.0625, halved, 1 − 0.03125 → 96")
  func dotProduct() {
    #expect(GPUPolicyScores.dotProduct(cpuLeft: 64_000, gpuFree: 2_000, pod: Self.pod(cpu: 8_000, count: 1, milli: 1000)) == 96)
    #expect(GPUPolicyScores.dotProduct(cpuLeft: 1_000, gpuFree: 2_000, pod: Self.pod(cpu: 8_000, count: 1, milli: 1000)) == 0)
  }

  @Test("BestFit: ½·56000/128000 + ½·1000/8000 = 0.28125 → 71")
  func bestFit() {
    #expect(GPUPolicyScores.bestFit(cpuLeft: 64_000, gpuFree: 2_000, pod: Self.pod(cpu: 8_000, count: 1, milli: 1000)) == 71)
  }

  @Test("GPU packing: idle nodes prefer few GPUs; shared GPUs beat fresh ones")
  func packing() {
    let idle8 = [Int16](repeating: 1000, count: 8)
    let share = Self.pod(cpu: 1000, count: 1, milli: 300)
    idle8.withUnsafeBufferPointer { #expect(GPUPolicyScores.gpuPacking(left: $0.baseAddress!, count: 8, pod: share) == 25) }
    [Int16(1000)].withUnsafeBufferPointer { #expect(GPUPolicyScores.gpuPacking(left: $0.baseAddress!, count: 1, pod: share) == 32) }
    let used: [Int16] = [1000, 400, 1000, 1000]
    // Ascending: GPU 1 (400) fits 300 first: all chosen GPUs shared, S = 40 → max(100 − 4, 50).
    used.withUnsafeBufferPointer { #expect(GPUPolicyScores.gpuPacking(left: $0.baseAddress!, count: 4, pod: share) == 96) }
    // Two whole GPUs: both fresh → max(50 − 2, 33).
    used.withUnsafeBufferPointer {
      #expect(GPUPolicyScores.gpuPacking(left: $0.baseAddress!, count: 4, pod: Self.pod(cpu: 1, count: 2, milli: 1000)) == 48)
    }
    used.withUnsafeBufferPointer {
      #expect(GPUPolicyScores.gpuPacking(left: $0.baseAddress!, count: 4, pod: Self.pod(cpu: 1, count: 0, milli: 0)) == 0)
    }
  }

  @Test("GPU clustering: base 25·(8000 − free)/8000 plus 75, 50, 25 or 0 by the tags on the node")
  func clustering() {
    var tags = [Int32](repeating: 0, count: GPUTag.count)
    tags[GPUTag.of(gpuCount: 1, milli: 250)] = 2
    tags.withUnsafeBufferPointer { t in
      #expect(GPUPolicyScores.gpuClustering(gpuFree: 7_500, tags: t.baseAddress!, podTag: GPUTag.of(gpuCount: 1, milli: 300)) == 76)
      #expect(GPUPolicyScores.gpuClustering(gpuFree: 7_500, tags: t.baseAddress!, podTag: GPUTag.of(gpuCount: 1, milli: 1000)) == 1)
    }
    tags[GPUTag.of(gpuCount: 2, milli: 1000)] = 1
    tags.withUnsafeBufferPointer { t in
      #expect(GPUPolicyScores.gpuClustering(gpuFree: 5_500, tags: t.baseAddress!, podTag: GPUTag.of(gpuCount: 1, milli: 300)) == 57)
    }
    let empty = [Int32](repeating: 0, count: GPUTag.count)
    empty.withUnsafeBufferPointer { t in
      #expect(GPUPolicyScores.gpuClustering(gpuFree: 2_000, tags: t.baseAddress!, podTag: 1) == 43)
      #expect(GPUPolicyScores.gpuClustering(gpuFree: 2_000, tags: t.baseAddress!, podTag: 0) == 0)
    }
  }

  static let oneClass = [TypicalPod(cpuMillis: 1000, milli: 500, gpuCount: 1, models: "", probability: 1)]

  @Test("FGD fragmentation: Q3 counts only GPUs too small for the class; other cases all idle milli")
  func fragmentation() {
    let model = FragmentationModel(classes: Self.oneClass, models: GPUModelRegistry())
    func f(_ left: [Int16], cpu: Int64) -> Double {
      left.withUnsafeBufferPointer { model.fragmentation(left: $0.baseAddress!, count: left.count, cpuLeft: cpu, model: 0) }
    }
    #expect(f([1000], cpu: 8000) == 0)
    #expect(f([400, 600], cpu: 8000) == 400)  // Q3: the 400 GPU is too small for 500
    #expect(f([400], cpu: 8000) == 400)  // Q2: cannot host
    #expect(f([1000], cpu: 500) == 1000)  // Q4: lacks CPU
    #expect(FragmentationModel.score(before: 0, after: 0) == 50)
    #expect(FragmentationModel.score(before: 0, after: 400) == 40)  // σ(−0.4) = 0.4013
  }

  @Test("FGD places a sharing pod on the GPU that leaves the least fragmentation")
  func fgdChoice() throws {
    let node = NodeSpec(name: "n", allocatable: ResourceAmounts(cpuMillis: 64_000, memoryBytes: 1 << 36, pods: 1001), gpus: NodeGPUs(count: 2, model: "T4"))
    let cluster = Cluster(nodes: [node])
    let first = try cluster.addPod(PodSpec(name: "a", containers: [Container(requests: ResourceList([("cpu", Quantity(milli: 1000))]))], gpu: GPURequest(count: 1, milliPerGPU: 400)))
    let pod = try cluster.addPod(PodSpec(name: "b", containers: [Container(requests: ResourceList([("cpu", Quantity(milli: 1000))]))], gpu: GPURequest(count: 1, milliPerGPU: 600)))
    cluster.bind(first, to: NodeID(0), gpus: 0b10)  // GPUs: [1000, 600]
    let sim = GPUSharingSimulator(cluster: cluster, policy: .fgd, typicalPods: Self.oneClass, rank: [0], seed: 1)
    // On GPU 0 the 400 left is too small for the class (F = 400, score 40); on GPU 1 nothing is
    // left (F = 0, score 50): FGD picks GPU 1.
    #expect(sim.schedule(pod) == NodeID(0))
    #expect(cluster.pods.gpuAssignment[pod.index] == 0b10)
    cluster.checkInvariants()
  }

  @Test("typical pods: most frequent first, ties larger-key first, cut at the threshold and renormalised")
  func typical() {
    func pod(_ i: Int, cpu: Int64, milli: Int) -> PodSpec {
      PodSpec(name: "p\(i)", containers: [Container(requests: ResourceList([("cpu", Quantity(milli: cpu))]))],
        gpu: milli > 0 ? GPURequest(count: 1, milliPerGPU: milli) : nil)
    }
    var pods: [PodSpec] = []
    for i in 0..<6 { pods.append(pod(i, cpu: 1000, milli: 500)) }
    for i in 6..<9 { pods.append(pod(i, cpu: 2000, milli: 0)) }
    for i in 9..<12 { pods.append(pod(i, cpu: 1000, milli: 0)) }
    pods.append(pod(12, cpu: 4000, milli: 1000))
    let t = FragmentationModel.typicalPods(pods, threshold: 90)
    // 6/13, then the tie 3/13 + 3/13 (cpu 2000 before cpu 1000): 12/13 ≥ 90 %.
    #expect(t.map(\.cpuMillis) == [1000, 2000, 1000])
    #expect(t.map(\.milli) == [500, 0, 0])
    #expect(abs(t.map(\.probability).reduce(0, +) - 1) < 1e-12)
    #expect(t[0].probability == (6.0 / 13) / (12.0 / 13))
  }

  @Test("every policy's simulator keeps the cluster consistent and places what fits", arguments: GPUPolicy.allCases)
  func invariants(policy: GPUPolicy) throws {
    var rng = SplitMix64(seed: 3)
    let nodes = (0..<12).map { i in
      NodeSpec(name: "n\(i)", allocatable: ResourceAmounts(cpuMillis: 32_000, memoryBytes: 1 << 37, pods: 1001),
        gpus: i % 4 == 0 ? nil : NodeGPUs(count: [1, 2, 4, 8][rng.nextInt(below: 4)], model: ["T4", "P100"][rng.nextInt(below: 2)]))
    }
    let cluster = Cluster(nodes: nodes)
    var ids: [PodID] = []
    var specs: [PodSpec] = []
    for i in 0..<150 {
      let kind = rng.nextInt(below: 4)
      let gpu: GPURequest? = kind == 0 ? nil : kind == 1 ? GPURequest(count: 1, milliPerGPU: 100 * (1 + rng.nextInt(below: 9)), models: rng.nextInt(below: 5) == 0 ? ["T4"] : [])
        : GPURequest(count: [1, 2, 4][rng.nextInt(below: 3)], milliPerGPU: 1000)
      let spec = PodSpec(name: "p\(i)", containers: [Container(requests: ResourceList([("cpu", Quantity(milli: Int64(500 * (1 + rng.nextInt(below: 8)))))]))], gpu: gpu)
      specs.append(spec)
      ids.append(try cluster.addPod(spec))
    }
    let sim = GPUSharingSimulator(cluster: cluster, policy: policy, typicalPods: FragmentationModel.typicalPods(specs), rank: Array(0..<12), seed: 9)
    var placed = 0
    for id in ids where sim.schedule(id) != nil { placed += 1 }
    #expect(placed > 30)
    cluster.checkInvariants()
    // The running fragmentation equals a recount.
    let recount = (0..<cluster.nodes.count).map { sim.computeFragmentation($0) }.reduce(0, +)
    #expect(abs(recount - sim.totalFragmentation) < 1e-6)
  }
}
