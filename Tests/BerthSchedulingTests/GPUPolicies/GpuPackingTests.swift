import BerthCore
import Testing

@testable import BerthScheduling

struct GpuPackingTests {
  @Test("GPU packing: idle nodes prefer few GPUs; shared GPUs beat fresh ones")
  func packing() {
    let idle8 = [Int16](repeating: 1000, count: 8)
    let share = gpuPod(cpu: 1000, count: 1, milli: 300)
    idle8.withUnsafeBufferPointer {
      #expect(GPUPolicyScores.gpuPacking(left: $0.baseAddress!, count: 8, pod: share) == 25)
    }
    [Int16(1000)].withUnsafeBufferPointer {
      #expect(GPUPolicyScores.gpuPacking(left: $0.baseAddress!, count: 1, pod: share) == 32)
    }
    let used: [Int16] = [1000, 400, 1000, 1000]
    // Ascending: GPU 1 (400) fits 300 first: all chosen GPUs shared, S = 40 → max(100 − 4, 50).
    used.withUnsafeBufferPointer {
      #expect(GPUPolicyScores.gpuPacking(left: $0.baseAddress!, count: 4, pod: share) == 96)
    }
    // Two whole GPUs: both fresh → max(50 − 2, 33).
    used.withUnsafeBufferPointer {
      #expect(
        GPUPolicyScores.gpuPacking(
          left: $0.baseAddress!, count: 4, pod: gpuPod(cpu: 1, count: 2, milli: 1000)) == 48)
    }
    used.withUnsafeBufferPointer {
      #expect(
        GPUPolicyScores.gpuPacking(
          left: $0.baseAddress!, count: 4, pod: gpuPod(cpu: 1, count: 0, milli: 0)) == 0)
    }
  }
}
