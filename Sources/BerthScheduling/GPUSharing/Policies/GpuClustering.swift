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

extension PluginName {
  public static let gpuClusteringScore = PluginName("GpuClusteringScore")
}

/// GpuClusteringScore (score): `GPUPolicyScores.gpuClustering` per node, from the tags of the
/// pods bound there, counted again only when the node changed (`NodeTable.version`).
final class GpuClusteringScorePlugin: ScorePlugin {
  static let descriptor = PluginDescriptor(.gpuClusteringScore, [.preScore, .score]) { _ in
    GpuClusteringScorePlugin()
  }
  let name = PluginName.gpuClusteringScore
  let normalization = ScoreNormalization.none
  @exclusivity(unchecked) private var tag = 0
  /// `GPUTag.count` counters per node row, and the node version they were counted at (+1).
  @exclusivity(unchecked) private var tags: [Int32] = []
  @exclusivity(unchecked) private var stamps: [UInt64] = []

  func preScore(_ info: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    let p = info.id.index
    tag = GPUTag.of(gpuCount: Int(cluster.pods.gpuCount[p]), milli: cluster.pods.gpuMilli[p])
    let n = cluster.nodes.count
    if stamps.count < n {
      stamps.append(contentsOf: repeatElement(0, count: n - stamps.count))
      tags.append(contentsOf: repeatElement(0, count: n * GPUTag.count - tags.count))
    }
    return tag == 0 ? .uniform(0) : .perNode
  }

  func score(
    _ info: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: `rows` lie in the node table; `tags` holds `GPUTag.count` counters per row.
    let pods = cluster.pods
    let version = cluster.nodes.version.base
    let free = cluster.nodes.gpuMilliFree.base
    tags.withUnsafeMutableBufferPointer { all in
      for r in rows {
        let t = all.baseAddress! + r * GPUTag.count
        if stamps[r] != version[r] &+ 1 {
          t.update(repeating: 0, count: GPUTag.count)
          var pod = cluster.firstPod(on: NodeID(UInt32(r)))
          while let q = pod {
            let k = GPUTag.of(gpuCount: Int(pods.gpuCount[q.index]), milli: pods.gpuMilli[q.index])
            if k > 0 { t[k] += 1 }
            pod = cluster.pod(after: q)
          }
          stamps[r] = version[r] &+ 1
        }
        scores[r] = GPUPolicyScores.gpuClustering(
          gpuFree: free[r], tags: UnsafePointer(t), podTag: tag)
      }
    }
  }
}
