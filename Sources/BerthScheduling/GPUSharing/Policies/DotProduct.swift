import BerthCore

extension GPUPolicyScores {
  /// DotProduct (Tetris; `merge` dimensions, `max` normalisation): node vector
  /// [cpuLeft/128000, gpuLeft/8000] · pod vector [cpu/128000, n·m/8000], halved (two
  /// dimensions), score = int(100·(1 − dp)). A larger dot product scores lower, as coded upstream.
  @inline(__always)
  static func dotProduct(cpuLeft: Int64, gpuFree: Int32, pod: GPUPod) -> Int64 {
    if cpuLeft < pod.cpuMillis { return 0 }
    let dot =
      0.0 + (Double(cpuLeft) / GPUSpec.maxCPUMilli) * (Double(pod.cpuMillis) / GPUSpec.maxCPUMilli)
      + (Double(gpuFree) / GPUSpec.maxGPUMilli) * (Double(pod.totalMilli) / GPUSpec.maxGPUMilli)
    let score = 1 - dot / 2
    return Int64(100 * score)
  }
}

extension PluginName {
  public static let dotProductScore = PluginName("DotProductScore")
}

extension GPUNodeScorePlugin {
  static let dotProduct = descriptor(.dotProductScore, .dotProduct)
}
