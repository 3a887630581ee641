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
