import BerthCore
import Testing

@testable import BerthScheduling

struct ResourceAllocationTests {
  @Test("LeastAllocated and MostAllocated on CPU and memory: 8000m of 32000m and 16 of 64 GiB")
  func scores() {
    var pod = gpuPod(cpu: 4000, count: 0, milli: 0)
    pod.memoryBytes = 8 << 30
    // Requested after placing: cpu 8000/32000, memory 16/64 GiB → free 75 % each, used 25 %.
    #expect(
      GPUPolicyScores.resourceAllocation(
        most: false, cpuAlloc: 32_000, cpuUsed: 4_000, memAlloc: 64 << 30, memUsed: 8 << 30,
        pod: pod) == 75)
    #expect(
      GPUPolicyScores.resourceAllocation(
        most: true, cpuAlloc: 32_000, cpuUsed: 4_000, memAlloc: 64 << 30, memUsed: 8 << 30, pod: pod
      ) == 25)
    #expect(
      GPUPolicyScores.resourceAllocation(
        most: true, cpuAlloc: 0, cpuUsed: 0, memAlloc: 0, memUsed: 0, pod: pod) == 0)
  }
}
