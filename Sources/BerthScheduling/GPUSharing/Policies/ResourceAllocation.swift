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

extension GPUNodeScorePlugin {
  static let leastAllocated = descriptor(.gpuLeastAllocatedScore, .leastAllocated)
  static let mostAllocated = descriptor(.gpuMostAllocatedScore, .mostAllocated)
}
