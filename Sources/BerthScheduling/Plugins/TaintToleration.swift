import BerthCore

extension PluginName {
  public static let taintToleration = PluginName("TaintToleration")
}

/// TaintToleration.
///
/// Filter: a node is rejected when it carries a NoSchedule or NoExecute taint that no pod
/// toleration tolerates. Per pod the tolerations are turned into a bitset over the cluster's
/// distinct taints, so the pass is one AND per node and word — per node and byte while the
/// cluster has eight distinct taints or fewer (`NodeTable.taintByte`).
///
/// Score: the number of PreferNoSchedule taints not tolerated by the pod's tolerations with an
/// empty or PreferNoSchedule effect, normalised in reverse (`100 − 100·count/max`). When no
/// feasible node can carry such a taint every node scores 100 without a pass.
/// Worked example: counts [0, 1, 2] → [100, 50, 0].
final class TaintTolerationPlugin: FilterPlugin, ScorePlugin {
  static let descriptor = PluginDescriptor(
    .taintToleration, [.filter, .preScore, .score], events: ClusterEvents(nodeUpdate: .taints),
    rejectionIsUnresolvable: true
  ) { _ in TaintTolerationPlugin() }
  let name = PluginName.taintToleration
  let verdictsFollowFilterShape = true
  let normalization = ScoreNormalization.scaleByMax(reverse: true)

  /// Per-pod scratch: bits of hard taints the pod does not tolerate, and of PreferNoSchedule
  /// taints the scoring tolerations do not tolerate. `words` long.
  @exclusivity(unchecked) private var untoleratedHard: [UInt64] = []
  @exclusivity(unchecked) private var untoleratedPrefer: [UInt64] = []
  /// Whether any bit of `untoleratedHard` / `untoleratedPrefer` is set.
  @exclusivity(unchecked) private var rejectsAny = false
  @exclusivity(unchecked) private var prefersAgainstAny = false
  /// The constraint set and taint count the bitsets were built for: taints are only ever
  /// registered, never dropped, so a run of identical pods reuses them.
  @exclusivity(unchecked) private var preparedFor: (constraints: UInt32, taints: Int)?

  private func prepare(_ pod: PodInfo, cluster: Cluster) {
    let taints = cluster.taints
    if let p = preparedFor, p.constraints == pod.constraintsID, p.taints == taints.taints.count {
      return
    }
    preparedFor = (pod.constraintsID, taints.taints.count)
    let words = cluster.nodes.taintWords
    untoleratedHard.removeAll(keepingCapacity: true)
    untoleratedPrefer.removeAll(keepingCapacity: true)
    untoleratedHard.append(contentsOf: repeatElement(0, count: words))
    untoleratedPrefer.append(contentsOf: repeatElement(0, count: words))
    let tolerations = pod.constraints.tolerations
    for (id, taint) in taints.taints.enumerated() {
      let bit: UInt64 = 1 << UInt64(id & 63)
      if taint.effect.isHard {
        if !tolerations.tolerate(taint) { untoleratedHard[id >> 6] |= bit }
      } else {
        let tolerated = tolerations.contains {
          ($0.effect == nil || $0.effect == .preferNoSchedule) && $0.tolerates(taint)
        }
        if !tolerated { untoleratedPrefer[id >> 6] |= bit }
      }
    }
    rejectsAny = untoleratedHard.contains { $0 != 0 }
    prefersAgainstAny = untoleratedPrefer.contains { $0 != 0 }
  }

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    prepare(pod, cluster: cluster)
    return rejectsAny
  }

  /// Filter and score read PreFilter/PreScore's masks and the taint column; each writes only
  /// its rows.
  let filtersRowsConcurrently = true
  let scoresRowsConcurrently = true
  /// PreScore reads the pod and the node columns, never the feasible rows.
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool { false }

  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    if cluster.taints.count <= 8 {
      // The byte column holds every taint bit.
      let bytes = UnsafePointer(cluster.nodes.taintByte.base)
      let mask = UInt8(truncatingIfNeeded: untoleratedHard[0])
      for i in rows { status[i] = markFailure(status[i], failed: bytes[i] & mask != 0, code: code) }
      return
    }
    let bits = UnsafePointer(cluster.nodes.taintBits.base)
    let words = cluster.nodes.taintWords
    if words == 1 {
      let mask = untoleratedHard[0]
      // SAFETY: the taint bitset column has `words` entries per node row.
      for i in rows { status[i] = markFailure(status[i], failed: bits[i] & mask != 0, code: code) }
      return
    }
    untoleratedHard.withUnsafeBufferPointer { mask in
      for i in rows {
        var hit: UInt64 = 0
        for w in 0..<words { hit |= bits[i * words + w] & mask[w] }
        status[i] = markFailure(status[i], failed: hit != 0, code: code)
      }
    }
  }

  /// Upstream's hint: a node added or updated whose NoSchedule and NoExecute taints the pod
  /// tolerates, having not tolerated them before (a new node counts as not tolerated before).
  func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool {
    let tolerations = pod.constraints.tolerations
    func untolerated(_ taints: [Taint]) -> Bool {
      taints.contains { $0.effect.isHard && !tolerations.tolerate($0) }
    }
    switch change {
    case .nodeAdded(let node): return !untolerated(cluster.nodes.taints[node.index])
    case .nodeUpdated(let node, let old, _):
      return untolerated(old.taints) && !untolerated(cluster.nodes.taints[node.index])
    case .assignedPodAdded, .assignedPodDeleted: return true
    case .podAdded, .nodeDeleted, .assignedPodScaledDown: return false
    }
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] {
    let taint = cluster.nodes.taints[node.index].first {
      $0.effect.isHard && !pod.constraints.tolerations.tolerate($0)
    }
    guard let taint else { return [] }
    return ["node(s) had untolerated taint {\(taint.key): \(taint.value)}"]
  }

  /// Nodes with one untolerated hard taint are counted by its bit; only nodes with several
  /// need their spec order (upstream reports the first in the node's list).
  func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    // SAFETY: the window lies in the node table; status and taint bits have rows per node.
    prepare(pod, cluster: cluster)
    let bits = UnsafePointer(cluster.nodes.taintBits.base)
    let words = cluster.nodes.taintWords
    var byTaint = [Int](repeating: 0, count: words * 64)
    if words == 1 && untoleratedHard[0].nonzeroBitCount <= 4 {
      // One word of taints (64 or fewer distinct taints in the cluster), a few of them not
      // tolerated: rejected rows with exactly one untolerated taint are counted per taint by a
      // pass without branches; any other rejected row (several: rare) one by one, in its
      // spec order.
      let untolerated = untoleratedHard[0]
      var others = 0
      for seg in window.segments {
        for i in seg {
          others &+=
            Int(bit(status[i] == code)) & Int(bit((bits[i] & untolerated).nonzeroBitCount != 1))
        }
      }
      var taints = untolerated
      while taints != 0 {
        let b = taints.trailingZeroBitCount
        taints &= taints - 1
        let only = UInt64(1) << UInt64(b)
        var c = 0
        for seg in window.segments {
          for i in seg {
            c &+= Int(bit(status[i] == code)) & Int(bit(bits[i] & untolerated == only))
          }
        }
        byTaint[b] = c
      }
      if others > 0 {
        for seg in window.segments {
          for i in seg where status[i] == code && (bits[i] & untolerated).nonzeroBitCount != 1 {
            for r in failureReasons(pod, cluster: cluster, node: NodeID(UInt32(i))) {
              counts[r, default: 0] += 1
            }
          }
        }
      }
    } else {
      countMultiWord(
        pod, cluster: cluster, window: window, status: status, code: code, byTaint: &byTaint,
        into: &counts)
    }
    for (id, n) in byTaint.enumerated() where n > 0 {
      let t = cluster.taints.taints[id]
      counts["node(s) had untolerated taint {\(t.key): \(t.value)}", default: 0] += n
    }
  }

  /// Classes are the distinct taint ids (256 at most) of each row's first untolerated hard taint
  /// in the node's own order.
  func classifyRejections(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool {
    // SAFETY: rows within the node table (asserted); status, classes and taint bits have rows
    // per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    guard cluster.taints.count <= 256 else { return false }
    prepare(pod, cluster: cluster)
    let bits = UnsafePointer(cluster.nodes.taintBits.base)
    let words = cluster.nodes.taintWords
    let tolerations = pod.constraints.tolerations
    for i in rows where status[i] == code {
      var (hits, only) = untolerated(row: i, bits: bits, words: words)
      if hits != 1 {
        let first = cluster.nodes.taints[i].first { $0.effect.isHard && !tolerations.tolerate($0) }
        guard let first, let id = cluster.taints.id(of: first) else { return false }
        only = id
      }
      classes[i] = UInt8(only)
    }
    return true
  }

  func reasons(ofClass c: UInt8, _ pod: PodInfo, cluster: Cluster) -> [String] {
    let t = cluster.taints.taints[Int(c)]
    return ["node(s) had untolerated taint {\(t.key): \(t.value)}"]
  }

  /// How many of row `i`'s hard taints the pod does not tolerate, and the id of one of them (the
  /// only one when there is one; 0 when none).
  @inline(__always)
  private func untolerated(row i: Int, bits: UnsafePointer<UInt64>, words: Int) -> (
    count: Int, one: Int
  ) {
    // SAFETY: the taint bitset column has `words` entries per node row; `i` is a node row.
    var hits = 0
    var one = 0
    for w in 0..<words {
      let hit = bits[i * words + w] & untoleratedHard[w]
      hits += hit.nonzeroBitCount
      if hit != 0 { one = w * 64 + hit.trailingZeroBitCount }
    }
    return (hits, one)
  }

  /// `countReasons` row by row: clusters with more than 64 distinct taints, or pods that
  /// tolerate few of them.
  private func countMultiWord(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    byTaint: inout [Int], into counts: inout [String: Int]
  ) {
    // SAFETY: the window lies in the node table; status and taint bits have rows per node.
    let bits = UnsafePointer(cluster.nodes.taintBits.base)
    let words = cluster.nodes.taintWords
    for seg in window.segments {
      for i in seg where status[i] == code {
        let (hits, one) = untolerated(row: i, bits: bits, words: words)
        if hits == 1 {
          byTaint[one] += 1
        } else {
          for r in failureReasons(pod, cluster: cluster, node: NodeID(UInt32(i))) {
            counts[r, default: 0] += 1
          }
        }
      }
    }
  }

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    // SAFETY: the window spans the node table (asserted); `status` holds a row per node.
    assert(window.isOver(cluster.nodes), "a window over another node table")
    prepare(pod, cluster: cluster)
    return prefersAgainstAny ? .perNode : .uniform(NodeScore.max)
  }

  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `scores` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    if cluster.taints.count <= 8 {
      let bytes = UnsafePointer(cluster.nodes.taintByte.base)
      let mask = UInt8(truncatingIfNeeded: untoleratedPrefer[0])
      for i in rows { scores[i] = Int64((bytes[i] & mask).nonzeroBitCount) }
      return
    }
    let bits = UnsafePointer(cluster.nodes.taintBits.base)
    let words = cluster.nodes.taintWords
    if words == 1 {
      let mask = untoleratedPrefer[0]
      for i in rows { scores[i] = Int64((bits[i] & mask).nonzeroBitCount) }
      return
    }
    untoleratedPrefer.withUnsafeBufferPointer { mask in
      for i in rows {
        var n = 0
        for w in 0..<words { n &+= (bits[i * words + w] & mask[w]).nonzeroBitCount }
        scores[i] = Int64(n)
      }
    }
  }
}
