import BerthCore

#if canImport(Glibc)
  import Glibc
#else
  import Darwin
#endif

/// PodTopologySpread.
///
/// Filter (`DoNotSchedule` constraints): a node missing any constraint's topology key is rejected;
/// otherwise, per constraint, skew = matching pods in the node's domain + (1 if the pod matches
/// its own selector) − the smallest domain count (0 when there are fewer domains than
/// `minDomains`) must not exceed `maxSkew`. Domains and counts come from the nodes that carry
/// every key and pass the constraint's inclusion policies (`nodeAffinityPolicy` Honor: the pod's
/// nodeSelector and required affinity; `nodeTaintsPolicy` Honor: no untolerated NoSchedule or
/// NoExecute taint). Worked example: zones a, b with 2 and 0 matching pods, maxSkew 1 → zone a
/// skew 2 + 1 − 0 = 3 (rejected), zone b 0 + 1 − 0 = 1 (fits).
///
/// Score (`ScheduleAnyway` constraints): feasible nodes missing a key are ignored (score 0);
/// each constraint weighs ln(domains + 2) (for the hostname key, the feasible nodes); a node's raw
/// score is round(Σ count·weight + maxSkew − 1), with count the matching pods on the node
/// (hostname) or in its domain; normalised to 100·(max + min − s)/max (100 everywhere when the
/// maximum is 0). A pod without constraints that a Service, ReplicationController, ReplicaSet
/// or StatefulSet selects gets the system defaults (hostname maxSkew 3, zone maxSkew 5, both
/// ScheduleAnyway); any other pod without constraints scores 100 everywhere (v1.26).
///
/// Counts come from the cluster's per-node matcher counts, kept exact on every bind and unbind,
/// so a cycle costs O(nodes × constraints), never O(pods).
final class PodTopologySpreadPlugin: FilterPlugin, ScorePlugin {
  let name = PluginName.podTopologySpread
  let normalization = ScoreNormalization.custom
  static let hostnameKey = "kubernetes.io/hostname"
  static let reasonMissingLabel = "node(s) didn't match pod topology spread constraints (missing required label)"
  static let reasonSkew = "node(s) didn't match pod topology spread constraints"

  struct Prepared {
    var key: Int  // label key id, -1 when no node has it
    var maxSkew: Int64
    var selfMatch: Int64
    var minMatch: Int64
    var counts: [Int64]  // per value id of the key
    var present: [Bool]
    var matcher: Int?  // nil: the constraint matches no pod
    var weight: Double
    var isHostname: Bool
  }

  /// Matcher ids of a pod's hard or soft constraints (nil: the constraint matches no pod), per
  /// (constraint set, namespace, hardness), so a cycle neither hashes selectors nor allocates.
  @exclusivity(unchecked) private var matcherIDs: [UInt64: [Int?]] = [:]

  private func matcherIDs(_ cs: [TopologySpreadConstraint], _ pod: PodInfo, cluster: Cluster) -> [Int?] {
    let namespace = cluster.pods.namespace[pod.id.index]
    let key = UInt64(pod.constraintsID) << 33 | UInt64(namespace) << 1 | (cs.first?.doNotSchedule == true ? 1 : 0)
    if let ids = matcherIDs[key] { return ids }
    let ids = cs.map { c in c.labelSelector.map { cluster.matcher(namespace: namespace, selector: $0) } }
    matcherIDs[key] = ids
    return ids
  }

  @exclusivity(unchecked) private var hard: [Prepared] = []
  @exclusivity(unchecked) private var soft: [Prepared] = []
  @exclusivity(unchecked) private var ignored = Column<UInt8>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var scratch = Column<UInt8>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var termScratch = Column<UInt8>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var matchScratch = Column<UInt8>(repeating: 0, count: 0)
  /// 1 where a node carries every constraint's key.
  @exclusivity(unchecked) private var keyed = Column<UInt8>(repeating: 0, count: 0)
  /// Raw score sums, accumulated constraint by constraint in upstream's order.
  @exclusivity(unchecked) private var sums = Column<Double>(repeating: 0, count: 0)

  private func ensureScratch(_ n: Int) {
    if ignored.count != n {
      ignored = Column(repeating: 0, count: n)
      scratch = Column(repeating: 0, count: n)
      termScratch = Column(repeating: 0, count: n)
      matchScratch = Column(repeating: 0, count: n)
      keyed = Column(repeating: 0, count: n)
      sums = Column(repeating: 0, count: n)
    }
  }

  /// Marks in `keyed` the rows among `rows` whose node carries every key; false when some key is
  /// on no node at all.
  private func markKeyed(_ keyIDs: [Int], nodes: NodeTable, rows: Range<Int>) -> Bool {
    guard !keyIDs.contains(-1) else { return false }
    let out = keyed.base
    for i in rows { out[i] = 1 }
    for k in keyIDs {
      let col = nodes.labelValues[k].base
      for i in rows where col[i] == 0 { out[i] = 0 }
    }
    return true
  }

  /// Rows passing the constraint's inclusion policies, into `scratch` (1 = included).
  private func inclusion(_ c: TopologySpreadConstraint, _ pod: PodInfo, cluster: Cluster) {
    let n = cluster.nodes.count
    let out = scratch.base
    for i in 0..<n { out[i] = 1 }
    if c.nodeAffinityPolicy == .honor {
      let labels = cluster.labels
      if !pod.constraints.nodeSelector.isEmpty {
        let sel = CompiledSelector(nodeSelector: pod.constraints.nodeSelector, labels: labels)
        sel.evaluate(rows: 0..<n, nodes: cluster.nodes, term: termScratch.base, into: matchScratch.base)
        for i in 0..<n { out[i] &= matchScratch.base[i] }
      }
      if let req = pod.constraints.affinity?.required {
        let sel = CompiledSelector(terms: req.terms, labels: labels, nodes: cluster.nodes)
        sel.evaluate(rows: 0..<n, nodes: cluster.nodes, term: termScratch.base, into: matchScratch.base)
        for i in 0..<n { out[i] &= matchScratch.base[i] }
      }
    }
    if c.nodeTaintsPolicy == .honor {
      let words = cluster.nodes.taintWords
      var untolerated = [UInt64](repeating: 0, count: words)
      for (id, t) in cluster.taints.taints.enumerated() where t.effect.isHard && !pod.constraints.tolerations.tolerate(t) {
        untolerated[id >> 6] |= 1 << UInt64(id & 63)
      }
      let bits = cluster.nodes.taintBits.base
      for i in 0..<n {
        var hit: UInt64 = 0
        for w in 0..<words { hit |= bits[i * words + w] & untolerated[w] }
        if hit != 0 { out[i] = 0 }
      }
    }
  }

  /// Whether every node carrying the key counts for the constraint: all constraints share the
  /// key, and its inclusion policies admit every node. Then the cluster's domain counter (kept
  /// at bind) holds the counts, and every value of the key is a domain (values come from nodes).
  private func countsEveryKeyedNode(_ c: TopologySpreadConstraint, key: Int, keys: [Int], pod: PodInfo) -> Bool {
    guard key >= 0, keys.allSatisfy({ $0 == key }), c.nodeTaintsPolicy == .ignore else { return false }
    return c.nodeAffinityPolicy == .ignore || (pod.constraints.nodeSelector.isEmpty && pod.constraints.affinity?.required == nil)
  }

  /// Per constraint: the domains and matching-pod counts over the nodes that carry every
  /// constraint's key and pass the constraint's inclusion policies.
  /// - Complexity: O(domains) per constraint on the domain counters when every keyed node
  ///   counts; else O(nodes × constraints).
  private func prepare(_ cs: [TopologySpreadConstraint], _ pod: PodInfo, cluster: Cluster, requireAll: Bool = true) -> [Prepared] {
    let nodes = cluster.nodes
    let n = nodes.count
    ensureScratch(n)
    let keyIDs = cs.map { cluster.labels.keyID($0.topologyKey) ?? -1 }
    let podLabels = cluster.pods.labelSets[cluster.pods.labels[pod.id.index]]
    let matchers = matcherIDs(cs, pod, cluster: cluster)
    let fast = requireAll && zip(cs, keyIDs).allSatisfy { countsEveryKeyedNode($0, key: $1, keys: keyIDs, pod: pod) }
    let allKeyed = requireAll && (fast || markKeyed(keyIDs, nodes: nodes, rows: 0..<n))
    var out: [Prepared] = []
    for (k, (c, key)) in zip(cs, keyIDs).enumerated() {
      let domainSize = key >= 0 ? cluster.labels.domains[key].count : 1
      var p = Prepared(
        key: key, maxSkew: Int64(c.maxSkew), selfMatch: c.labelSelector?.matches(podLabels) == true ? 1 : 0, minMatch: 0,
        counts: [Int64](repeating: 0, count: domainSize), present: [Bool](repeating: fast, count: domainSize),
        matcher: matchers[k], weight: 0,
        isHostname: c.topologyKey == Self.hostnameKey)
      if fast {
        p.present[0] = false
        if let m = p.matcher {
          let counter = cluster.domainCounter(.matcher(m, key: c.topologyKey), key: key).counts.base
          p.counts.withUnsafeMutableBufferPointer { counts in
            for v in 1..<domainSize { counts[v] = counter[v] }
          }
        }
        out.append(p)
        continue
      }
      guard !(requireAll && !allKeyed) else {
        out.append(p)
        continue
      }
      inclusion(c, pod, cluster: cluster)
      let included = scratch.base
      if requireAll {
        let k = keyed.base
        for i in 0..<n { included[i] &= k[i] }
      }
      // Without `requireAll` a node lacking the key counts toward the empty-value domain.
      let col = key >= 0 ? nodes.labelValues[key].base : nil
      let matches = p.matcher.map { cluster.matcherCounts[$0].base }
      p.present.withUnsafeMutableBufferPointer { present in
        p.counts.withUnsafeMutableBufferPointer { counts in
          for i in 0..<n where included[i] != 0 {
            let v = col.map { Int($0[i]) } ?? 0
            present[v] = true
            if let matches { counts[v] &+= Int64(matches[i]) }
          }
        }
      }
      out.append(p)
    }
    return out
  }

  /// Per constraint (hard first, then soft), the domains the pod would count and their matching
  /// pods, as the filter and the score see them now (cold path, for `--explain`).
  func explain(_ pod: PodInfo, cluster: Cluster) -> [SpreadExplanation] {
    let groups = [pod.constraints.spread.filter(\.doNotSchedule), pod.constraints.spread.filter { !$0.doNotSchedule }]
    var out: [SpreadExplanation] = []
    for cs in groups where !cs.isEmpty {
      let prepared = prepare(cs, pod, cluster: cluster, requireAll: cs[0].doNotSchedule || !pod.constraints.spreadIsSystemDefault)
      for (c, p) in zip(cs, prepared) {
        var domains: [(value: String, matching: Int64)] = []
        for (v, present) in p.present.enumerated() where present {
          domains.append((v == 0 ? "" : cluster.labels.domains[p.key].values[v], p.counts[v]))
        }
        out.append(SpreadExplanation(constraint: c, systemDefault: pod.constraints.spreadIsSystemDefault, domains: domains))
      }
    }
    return out
  }

  // MARK: Filter

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    let cs = pod.constraints.spread.filter(\.doNotSchedule)
    guard !cs.isEmpty else { return false }
    hard = prepare(cs, pod, cluster: cluster)
    for (k, c) in cs.enumerated() {
      let domains = hard[k].present.filter { $0 }.count
      var minimum = Int64.max
      for (v, present) in hard[k].present.enumerated() where present { minimum = min(minimum, hard[k].counts[v]) }
      hard[k].minMatch = domains < Int(c.minDomains) || minimum == Int64.max ? 0 : minimum
    }
    return true
  }

  func filter(_ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>, code: UInt8) {
    let nodes = cluster.nodes
    for c in hard {
      guard c.key >= 0 else {
        for i in rows { status[i] = markFailure(status[i], failed: true, code: code) }
        return
      }
      let col = nodes.labelValues[c.key].base
      c.counts.withUnsafeBufferPointer { counts in
        for i in rows {
          let v = Int(col[i])
          let skew = (v == 0 ? 0 : counts[v]) + c.selfMatch - c.minMatch
          status[i] = markFailure(status[i], failed: v == 0 || skew > c.maxSkew, code: code)
        }
      }
    }
  }

  /// A node missing a constraint's key is UnschedulableAndUnresolvable; skew is not.
  func isUnresolvable(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> Bool {
    failureReasons(pod, cluster: cluster, node: node) == [Self.reasonMissingLabel]
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] {
    for c in hard where c.key < 0 || cluster.nodes.labelValues[c.key][node.index] == 0 { return [Self.reasonMissingLabel] }
    return [Self.reasonSkew]
  }

  func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    var missing = 0
    var skewed = 0
    for seg in window.pair {
      for i in seg where status[i] == code {
        if hard.contains(where: { $0.key < 0 || cluster.nodes.labelValues[$0.key].base[i] == 0 }) { missing += 1 } else { skewed += 1 }
      }
    }
    if missing > 0 { counts[Self.reasonMissingLabel, default: 0] += missing }
    if skewed > 0 { counts[Self.reasonSkew, default: 0] += skewed }
  }

  // MARK: Score

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>) -> ScoreMode {
    let cs = pod.constraints.spread.filter { !$0.doNotSchedule }
    guard !cs.isEmpty else { return .uniform(NodeScore.max) }
    // Explicit constraints need every key on a node; the system defaults do not (a node without
    // a zone still spreads by hostname), and upstream then counts key-less nodes as the
    // empty-value domain.
    let requireAll = !pod.constraints.spreadIsSystemDefault
    let nodes = cluster.nodes
    ensureScratch(nodes.count)
    let keyIDs = cs.map { cluster.labels.keyID($0.topologyKey) ?? -1 }
    let ign = ignored.base
    var nonIgnored = 0
    var seen: [[Bool]] = keyIDs.map { [Bool](repeating: false, count: $0 >= 0 ? cluster.labels.domains[$0].count : 1) }
    for seg in window.pair {
      if requireAll {
        let anyKeyed = markKeyed(keyIDs, nodes: nodes, rows: seg)
        let k = keyed.base
        for i in seg { ign[i] = anyKeyed && k[i] != 0 ? 0 : 1 }
      } else {
        for i in seg { ign[i] = 0 }
      }
      for i in seg where status[i] == 0 && ign[i] == 0 { nonIgnored += 1 }
      for (c, k) in keyIDs.enumerated() {
        let col = k >= 0 ? nodes.labelValues[k].base : nil
        seen[c].withUnsafeMutableBufferPointer { seen in
          for i in seg where status[i] == 0 && ign[i] == 0 { seen[col.map { Int($0[i]) } ?? 0] = true }
        }
      }
    }
    soft = prepare(cs, pod, cluster: cluster, requireAll: requireAll)
    for c in soft.indices {
      let size = soft[c].isHostname ? nonIgnored : seen[c].filter { $0 }.count
      soft[c].weight = log(Double(size + 2))
      // Only domains among the feasible, non-ignored nodes count.
      for v in soft[c].counts.indices where !seen[c][v] { soft[c].counts[v] = 0 }
    }
    return .perNode
  }

  func score(_ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>) {
    let nodes = cluster.nodes
    let ign = ignored.base
    let acc = sums.base
    for i in rows { acc[i] = 0 }
    // Constraint by constraint, each node's sum grows in the same order as upstream's per-node
    // loop, so the rounding is identical.
    for c in soft where c.key >= 0 {
      let col = nodes.labelValues[c.key].base
      let w = c.weight
      let skew = Double(c.maxSkew - 1)
      if c.isHostname {
        let matches = c.matcher.map { cluster.matcherCounts[$0].base }
        for i in rows where col[i] != 0 { acc[i] += Double(matches.map { Int64($0[i]) } ?? 0) * w + skew }
      } else {
        c.counts.withUnsafeBufferPointer { counts in
          // A node without the key takes no part in this constraint.
          for i in rows where col[i] != 0 { acc[i] += Double(counts[Int(col[i])]) * w + skew }
        }
      }
    }
    for i in rows { scores[i] = ign[i] != 0 ? 0 : Int64(acc[i].rounded(.toNearestOrAwayFromZero)) }
  }

  /// Ignored nodes 0; others 100·(max + min − s)/max over the non-ignored feasible nodes, all 100
  /// when the maximum is 0.
  func normalize(_ scores: UnsafeMutablePointer<Int64>, window: Window, status: UnsafePointer<UInt8>) {
    let ign = ignored.base
    var lo = Int64.max
    var hi: Int64 = 0
    for seg in window.pair {
      for i in seg where status[i] == 0 && ign[i] == 0 {
        lo = min(lo, scores[i])
        hi = max(hi, scores[i])
      }
    }
    for seg in window.pair {
      for i in seg where status[i] == 0 {
        if ign[i] != 0 {
          scores[i] = 0
        } else if hi == 0 {
          scores[i] = NodeScore.max
        } else {
          scores[i] = NodeScore.max * (hi + lo - scores[i]) / hi
        }
      }
    }
  }
}
