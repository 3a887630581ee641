import BerthCore

/// The score plugins of the GPU policies whose score of a node is a function of the pod and
/// that node's own columns — DotProductScore, BestFitScore, GpuPackingScore,
/// GpuLeastAllocatedScore, GpuMostAllocatedScore: PreScore reads the pod once, Score applies the
/// policy's rule (`GPUPolicyScores`, one file per policy) to each row, with one `switch` per
/// call and none per row. Each policy's file declares its descriptor.
final class GPUNodeScorePlugin: ScorePlugin {
  enum Rule { case dotProduct, bestFit, gpuPacking, leastAllocated, mostAllocated }

  static func descriptor(_ name: PluginName, _ rule: Rule) -> PluginDescriptor {
    PluginDescriptor(name, [.preScore, .score]) { _ in GPUNodeScorePlugin(name, rule) }
  }

  let name: PluginName
  let rule: Rule
  let normalization: ScoreNormalization
  @exclusivity(unchecked) private var pod = GPUPod.none

  init(_ name: PluginName, _ rule: Rule) {
    self.name = name
    self.rule = rule
    normalization = rule == .bestFit ? .integerMinMax : .none
  }

  func preScore(_ info: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    pod = GPUPod(info.id, in: cluster, reusing: pod)
    // GPU packing scores every node 0 for a pod without GPUs.
    return rule == .gpuPacking && pod.gpuCount == 0 ? .uniform(0) : .perNode
  }

  func score(
    _ info: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: `rows` lie in the node table, as the scheduler asserts, and so do `scores`' rows;
    // each node has `maxPerNode` device slots.
    let n = cluster.nodes
    let cpuA = n.allocatableCPU.base
    let cpuR = n.requestedCPU.base
    let free = n.gpuMilliFree.base
    switch rule {
    case .dotProduct:
      for r in rows {
        scores[r] = GPUPolicyScores.dotProduct(
          cpuLeft: cpuA[r] - cpuR[r], gpuFree: free[r], pod: pod)
      }
    case .bestFit:
      for r in rows {
        scores[r] = GPUPolicyScores.bestFit(cpuLeft: cpuA[r] - cpuR[r], gpuFree: free[r], pod: pod)
      }
    case .gpuPacking:
      for r in rows {
        scores[r] = GPUPolicyScores.gpuPacking(
          left: UnsafePointer(n.gpuMilliLeft.base + r * NodeGPUs.maxPerNode),
          count: Int(n.gpuCount[r]), pod: pod)
      }
    case .leastAllocated, .mostAllocated:
      let most = rule == .mostAllocated
      for r in rows {
        scores[r] = GPUPolicyScores.resourceAllocation(
          most: most, cpuAlloc: cpuA[r], cpuUsed: cpuR[r], memAlloc: n.allocatableMemory[r],
          memUsed: n.requestedMemory[r], pod: pod)
      }
    }
  }
}
