import BerthCore

extension GPUPolicyScores {
  /// BestFit before normalisation: raw = ½·(cpuLeft − cpu)/128000 + ½·(gpuLeft − n·m)/8000,
  /// score = int((1 − raw)·100). The simulator then min-max normalises (`normalizeMinMax`).
  @inline(__always)
  static func bestFit(cpuLeft: Int64, gpuFree: Int32, pod: GPUPod) -> Int64 {
    let raw =
      0.5 * Double(cpuLeft - pod.cpuMillis) / GPUSpec.maxCPUMilli
      + 0.5 * Double(Int64(gpuFree) - Int64(pod.totalMilli)) / GPUSpec.maxGPUMilli
    return Int64((1 - raw) * 100)
  }
}

extension PluginName {
  public static let bestFitScore = PluginName("BestFitScore")
}

extension GPUNodeScorePlugin {
  /// With the simulator's integer min-max normalisation over the feasible nodes,
  /// `(s − min)·100 / (max − min)` (all 0 when equal).
  static let bestFit = descriptor(.bestFitScore, .bestFit)
}
