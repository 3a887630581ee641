import BerthCore
import Testing

@testable import BerthScheduling

struct FGDTests {
  @Test(
    "FGD fragmentation: Q3 counts only GPUs too small for the class; other cases all idle milli")
  func fragmentation() {
    let model = FragmentationModel(classes: oneTypicalClass, models: GPUModelRegistry())
    func f(_ left: [Int16], cpu: Int64) -> Double {
      left.withUnsafeBufferPointer {
        model.fragmentation(left: $0.baseAddress!, count: left.count, cpuLeft: cpu, model: 0)
      }
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
    let node = NodeSpec(
      name: "n", allocatable: ResourceAmounts(cpuMillis: 64_000, memoryBytes: 1 << 36, pods: 1001),
      gpus: NodeGPUs(count: 2, model: "T4"))
    let cluster = Cluster(nodes: [node])
    let first = try cluster.addPod(
      PodSpec(
        name: "a",
        containers: [Container(requests: ResourceList([("cpu", Quantity(milli: 1000))]))],
        gpu: GPURequest(count: 1, milliPerGPU: 400)))
    let pod = try cluster.addPod(
      PodSpec(
        name: "b",
        containers: [Container(requests: ResourceList([("cpu", Quantity(milli: 1000))]))],
        gpu: GPURequest(count: 1, milliPerGPU: 600)))
    cluster.bind(first, to: NodeID(0), gpus: 0b10)  // GPUs: [1000, 600]
    let s = policyScheduler(cluster, .fgd, typicalPods: oneTypicalClass, rank: [0], seed: 1)
    // On GPU 0 the 400 left is too small for the class (F = 400, score 40); on GPU 1 nothing is
    // left (F = 0, score 50): FGD picks GPU 1.
    #expect(s.scheduleOne(pod).node == NodeID(0))
    #expect(cluster.pods.gpuAssignment[pod.index] == 0b10)
    cluster.checkInvariants()
  }

  @Test(
    "typical pods: most frequent first, ties larger-key first, cut at the threshold and renormalised"
  )
  func typical() {
    func pod(_ i: Int, cpu: Int64, milli: Int) -> PodSpec {
      PodSpec(
        name: "p\(i)",
        containers: [Container(requests: ResourceList([("cpu", Quantity(milli: cpu))]))],
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
}
