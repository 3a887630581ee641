import BerthCore
import Testing

@testable import BerthScheduling

struct BestFitTests {
  @Test("BestFit: ½·56000/128000 + ½·1000/8000 = 0.28125 → 71")
  func bestFit() {
    #expect(
      GPUPolicyScores.bestFit(
        cpuLeft: 64_000, gpuFree: 2_000, pod: gpuPod(cpu: 8_000, count: 1, milli: 1000)) == 71)
  }
}
