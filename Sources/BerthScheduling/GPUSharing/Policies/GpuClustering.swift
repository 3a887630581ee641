import BerthCore

extension GPUPolicyScores {
  /// GPU clustering: base = 25·(8000 − gpuLeft)/8000; +75 when the node holds only pods of
  /// this pod's tag, +50 when it holds that tag among others, +25 when it holds no GPU pod.
  /// CPU-only pods score 0.
  @inline(__always)
  static func gpuClustering(gpuFree: Int32, tags: UnsafePointer<Int32>, podTag: Int) -> Int64 {
    guard podTag > 0 else { return 0 }
    let base = 25 * (GPUSpec.maxGPUMilliInt - Int64(gpuFree)) / GPUSpec.maxGPUMilliInt
    var total: Int32 = 0
    for t in 1..<GPUTag.count { total += tags[t] }
    let mine = tags[podTag]
    if mine > 0 { return base + (mine == total ? 75 : 50) }
    return total == 0 ? base + 25 : base
  }
}

/// GPU Clustering's pod tags: 0 `no-gpu` (never counted on nodes), 1 `share-gpu`, and
/// n + 1 for `<n>-gpu` whole-GPU pods (n = 1…8).
public enum GPUTag {
  public static let count = 10
  public static func of(gpuCount: Int, milli: Int16) -> Int {
    if gpuCount == 0 { return 0 }
    if gpuCount == 1 && milli < 1000 { return 1 }
    return gpuCount + 1
  }
}
