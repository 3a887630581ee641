import BerthCore

extension PluginName {
  public static let imageLocality = PluginName("ImageLocality")
}

/// ImageLocality (score): favours nodes that already hold the pod's images.
///
/// For each container image (normalised with `:latest`) present on a node, add
/// int(size × nodesHavingImage / totalNodes) — rare images count little. Clamp the sum to
/// [23 MiB, 1000 MiB × containers] and map linearly to 0…100. Worked example: one container,
/// a 500 MiB image on every node → (500 − 23)·100 / (1000 − 23) = 48.
///
/// Sums are accumulated from the per-image node lists, so only nodes holding an image are
/// touched; when none holds any of the pod's images every node scores 0 without a pass.
final class ImageLocalityPlugin: ScorePlugin {
  static let descriptor = PluginDescriptor(.imageLocality, [.score]) { _ in ImageLocalityPlugin() }
  let name = PluginName.imageLocality
  let normalization = ScoreNormalization.none
  /// Node-local: the pod's images against the node's own (and their spread, which changes only
  /// with the node count).
  let scoresAreNodeLocal = true
  /// Reads PreScore's per-node sums; writes only its rows.
  let scoresRowsConcurrently = true
  /// PreScore reads the pod and the node columns, never the feasible rows.
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool { false }
  static let minThreshold: Int64 = 23 * 1024 * 1024
  static let maxContainerThreshold: Int64 = 1000 * 1024 * 1024

  @exclusivity(unchecked) private var sums = Column<Int64>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var touched: [Int] = []
  @exclusivity(unchecked) private var containers = 1
  /// The constraint set and node shape (`Cluster.nodeShapeVersion`) `sums` were built for, and
  /// the mode they gave: images change only with node additions and updates, so a run of
  /// identical pods reuses them.
  @exclusivity(unchecked) private var last: (constraints: UInt32, shape: UInt64, mode: ScoreMode)?

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    // SAFETY: the window spans the node table (asserted); `status` holds a row per node.
    assert(window.isOver(cluster.nodes), "a window over another node table")
    let total = cluster.nodes.count
    let nodeCount = cluster.nodeCount  // upstream's totalNumNodes: removed nodes' rows are none
    if let last, last.constraints == pod.constraintsID, last.shape == cluster.nodeShapeVersion {
      return last.mode
    }
    if sums.count != total {
      sums = Column(repeating: 0, count: total)
    } else {
      for i in touched { sums[i] = 0 }
    }
    touched.removeAll(keepingCapacity: true)
    containers = max(pod.constraints.containerCount, 1)
    for image in pod.constraints.images {
      guard let id = cluster.images.id(of: image) else { continue }
      let presence = cluster.images.presence[id]
      let spread = Double(presence.count) / Double(nodeCount)
      for p in presence {
        sums[p.node.index] += Int64(Double(p.sizeBytes) * spread)
        touched.append(p.node.index)
      }
    }
    let mode: ScoreMode = touched.isEmpty ? .uniform(0) : .perNode
    last = (pod.constraintsID, cluster.nodeShapeVersion, mode)
    return mode
  }

  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `scores` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let sum = UnsafePointer(sums.base)
    let maxThreshold = ImageLocalityPlugin.maxContainerThreshold * Int64(containers)
    for i in rows {
      let s = min(max(sum[i], ImageLocalityPlugin.minThreshold), maxThreshold)
      scores[i] =
        NodeScore.max * (s - ImageLocalityPlugin.minThreshold)
        / (maxThreshold - ImageLocalityPlugin.minThreshold)
    }
  }
}
