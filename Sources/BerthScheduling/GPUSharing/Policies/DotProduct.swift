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

/// DotProductScore (score): `GPUPolicyScores.dotProduct` per node.
final class DotProductScorePlugin: ScorePlugin {
  static let descriptor = PluginDescriptor(.dotProductScore, [.preScore, .score]) { _ in
    DotProductScorePlugin()
  }
  let name = PluginName.dotProductScore
  let normalization = ScoreNormalization.none
  @exclusivity(unchecked) private var pod = GPUPod.none

  func preScore(_ info: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    pod = GPUPod(info.id, in: cluster)
    return .perNode
  }

  func score(
    _ info: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: `rows` lie in the node table, as the scheduler asserts; so do `scores`' rows.
    let n = cluster.nodes
    let cpuA = n.allocatableCPU.base
    let cpuR = n.requestedCPU.base
    let free = n.gpuMilliFree.base
    for r in rows {
      scores[r] = GPUPolicyScores.dotProduct(cpuLeft: cpuA[r] - cpuR[r], gpuFree: free[r], pod: pod)
    }
  }
}
