import BerthCore

extension GPUPolicyScores {
  /// Upstream NodeResourcesFit LeastAllocated / MostAllocated over CPU and memory (weights 1).
  @inline(__always)
  static func resourceAllocation(
    most: Bool, cpuAlloc: Int64, cpuUsed: Int64, memAlloc: Int64, memUsed: Int64, pod: GPUPod
  ) -> Int64 {
    @inline(__always) func one(_ alloc: Int64, _ req: Int64) -> Int64 {
      if most { return min(req, alloc) * 100 / alloc }
      return req > alloc ? 0 : (alloc - req) * 100 / alloc
    }
    var sum: Int64 = 0
    var n: Int64 = 0
    if cpuAlloc > 0 {
      sum += one(cpuAlloc, cpuUsed + pod.cpuMillis)
      n += 1
    }
    if memAlloc > 0 {
      sum += one(memAlloc, memUsed + pod.memoryBytes)
      n += 1
    }
    return n == 0 ? 0 : sum / n
  }
}

extension PluginName {
  public static let gpuLeastAllocatedScore = PluginName("GpuLeastAllocatedScore")
  public static let gpuMostAllocatedScore = PluginName("GpuMostAllocatedScore")
}

/// GpuLeastAllocatedScore and GpuMostAllocatedScore (score): the baselines' CPU and memory
/// allocation scores (`GPUPolicyScores.resourceAllocation`) per node.
final class GPUResourceAllocationScorePlugin: ScorePlugin {
  static let least = PluginDescriptor(.gpuLeastAllocatedScore, [.preScore, .score]) { _ in
    GPUResourceAllocationScorePlugin(most: false)
  }
  static let most = PluginDescriptor(.gpuMostAllocatedScore, [.preScore, .score]) { _ in
    GPUResourceAllocationScorePlugin(most: true)
  }
  let name: PluginName
  let most: Bool
  let normalization = ScoreNormalization.none
  @exclusivity(unchecked) private var pod = GPUPod.none

  init(most: Bool) {
    self.most = most
    name = most ? .gpuMostAllocatedScore : .gpuLeastAllocatedScore
  }

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
    for r in rows {
      scores[r] = GPUPolicyScores.resourceAllocation(
        most: most, cpuAlloc: n.allocatableCPU[r], cpuUsed: n.requestedCPU[r],
        memAlloc: n.allocatableMemory[r], memUsed: n.requestedMemory[r], pod: pod)
    }
  }
}
