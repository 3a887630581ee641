import BerthCore
import Testing

@testable import BerthScheduling

struct DotProductTests {
  @Test(
    "DotProduct: (64000/128000)(8000/128000) + (2000/8000)(1000/8000) = 0.0625, halved, 1 − 0.03125 → 96"
  )
  func dotProduct() {
    #expect(
      GPUPolicyScores.dotProduct(
        cpuLeft: 64_000, gpuFree: 2_000, pod: gpuPod(cpu: 8_000, count: 1, milli: 1000)) == 96)
    #expect(
      GPUPolicyScores.dotProduct(
        cpuLeft: 1_000, gpuFree: 2_000, pod: gpuPod(cpu: 8_000, count: 1, milli: 1000)) == 0)
  }
}
