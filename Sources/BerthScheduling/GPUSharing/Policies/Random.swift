import BerthCore

/// Random (`random_score.go`): PreScore draws one feasible node uniformly (seeded), which scores
/// 100 and every other node 0; a sharing pod gets a uniformly drawn fitting GPU.
///
/// FirstFit (not in the paper's simulator; specified here): every feasible node scores 0, so the
/// seeded node permutation alone decides, and a sharing pod takes the lowest-indexed GPU with room.
extension GPUPolicyScores {
  /// The winning position among `feasible` candidates.
  @inline(__always)
  static func randomPick(candidates: Int, rng: inout SplitMix64) -> Int {
    rng.nextInt(below: candidates)
  }
}

extension PluginName {
  public static let randomScore = PluginName("RandomScore")
  public static let firstFitScore = PluginName("FirstFitScore")
}

/// RandomScore (score, reserve): PreScore draws the k-th feasible node of the window, which
/// scores 100; at Reserve a sharing pod takes a uniformly drawn fitting GPU. Seeded per
/// scheduler (`PluginContext.random`).
final class RandomScorePlugin: ScorePlugin, ReservePlugin {
  static let descriptor = PluginDescriptor(.randomScore, [.preScore, .score, .reserve]) {
    RandomScorePlugin(rng: $0.random(for: .randomScore))
  }
  let name = PluginName.randomScore
  let normalization = ScoreNormalization.none
  @exclusivity(unchecked) private var rng: SplitMix64
  @exclusivity(unchecked) private var chosen = -1

  init(rng: SplitMix64) { self.rng = rng }

  func preScore(_ info: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    // SAFETY: the window's rows lie in the node table; `status` holds a row each.
    var feasible = 0
    for seg in window.segments { feasible += Kernels.countZeros(status, seg) }
    var k = GPUPolicyScores.randomPick(candidates: feasible, rng: &rng)
    chosen = -1
    for seg in window.segments where chosen < 0 {
      for i in seg where status[i] == 0 {
        if k == 0 {
          chosen = i
          break
        }
        k -= 1
      }
    }
    return .perNode
  }

  func score(
    _ info: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: `rows` lie in the node table, as the scheduler asserts; so do `scores`' rows.
    for r in rows { scores[r] = r == chosen ? 100 : 0 }
  }

  func reserveDevices(_ info: PodInfo, cluster: Cluster, node: NodeID) -> UInt8? {
    let p = info.id.index
    guard cluster.pods.gpuCount[p] == 1, cluster.pods.gpuMilli[p] < NodeGPUs.milliPerGPU else {
      return nil
    }
    return GPUSelection.choose(
      .random, milli: cluster.pods.gpuMilli[p], node: node.index, in: cluster.nodes
    ) { self.rng.nextInt(below: $0) }
  }
}

/// FirstFitScore (score, reserve): every feasible node scores 0, so the tie rule alone
/// decides (the node permutation, with `Scheduler.tieRanks`), and a sharing pod takes the
/// lowest-indexed GPU with room.
final class FirstFitScorePlugin: ScorePlugin, ReservePlugin {
  static let descriptor = PluginDescriptor(.firstFitScore, [.preScore, .score, .reserve]) { _ in
    FirstFitScorePlugin()
  }
  let name = PluginName.firstFitScore
  let normalization = ScoreNormalization.none

  func preScore(_ info: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  { .uniform(0) }

  func score(
    _ info: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {}

  func reserveDevices(_ info: PodInfo, cluster: Cluster, node: NodeID) -> UInt8? {
    let p = info.id.index
    guard cluster.pods.gpuCount[p] == 1, cluster.pods.gpuMilli[p] < NodeGPUs.milliPerGPU else {
      return nil
    }
    return GPUSelection.firstFree(
      count: 1, milli: cluster.pods.gpuMilli[p], node: node.index, in: cluster.nodes)
  }
}
