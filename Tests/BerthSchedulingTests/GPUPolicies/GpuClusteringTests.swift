import BerthCore
import Testing

@testable import BerthScheduling

struct GpuClusteringTests {
  @Test("GPU clustering: base 25·(8000 − free)/8000 plus 75, 50, 25 or 0 by the tags on the node")
  func clustering() {
    var tags = [Int32](repeating: 0, count: GPUTag.count)
    tags[GPUTag.of(gpuCount: 1, milli: 250)] = 2
    tags.withUnsafeBufferPointer { t in
      #expect(
        GPUPolicyScores.gpuClustering(
          gpuFree: 7_500, tags: t.baseAddress!, podTag: GPUTag.of(gpuCount: 1, milli: 300)) == 76)
      #expect(
        GPUPolicyScores.gpuClustering(
          gpuFree: 7_500, tags: t.baseAddress!, podTag: GPUTag.of(gpuCount: 1, milli: 1000)) == 1)
    }
    tags[GPUTag.of(gpuCount: 2, milli: 1000)] = 1
    tags.withUnsafeBufferPointer { t in
      #expect(
        GPUPolicyScores.gpuClustering(
          gpuFree: 5_500, tags: t.baseAddress!, podTag: GPUTag.of(gpuCount: 1, milli: 300)) == 57)
    }
    let empty = [Int32](repeating: 0, count: GPUTag.count)
    empty.withUnsafeBufferPointer { t in
      #expect(GPUPolicyScores.gpuClustering(gpuFree: 2_000, tags: t.baseAddress!, podTag: 1) == 43)
      #expect(GPUPolicyScores.gpuClustering(gpuFree: 2_000, tags: t.baseAddress!, podTag: 0) == 0)
    }
  }
}
