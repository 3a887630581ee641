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

/// BestFitScore (score): `GPUPolicyScores.bestFit` per node, then the simulator's integer
/// min-max normalisation over the feasible nodes, `(s − min)·100 / (max − min)` (all 0 when
/// equal).
final class BestFitScorePlugin: ScorePlugin {
  static let descriptor = PluginDescriptor(.bestFitScore, [.preScore, .score]) { _ in
    BestFitScorePlugin()
  }
  let name = PluginName.bestFitScore
  let normalization = ScoreNormalization.custom
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
      scores[r] = GPUPolicyScores.bestFit(cpuLeft: cpuA[r] - cpuR[r], gpuFree: free[r], pod: pod)
    }
  }

  func normalize(
    _ scores: UnsafeMutablePointer<Int64>, window: Window, status: UnsafePointer<UInt8>
  ) {
    // SAFETY: the window's rows lie in the node table; `scores` and `status` hold a row each.
    var lo = Int64.max
    var hi = Int64.min
    for seg in window.pair {
      for i in seg where status[i] == 0 {
        lo = min(lo, scores[i])
        hi = max(hi, scores[i])
      }
    }
    for seg in window.pair {
      for i in seg where status[i] == 0 {
        scores[i] = hi == lo ? 0 : (scores[i] - lo) * 100 / (hi - lo)
      }
    }
  }
}
