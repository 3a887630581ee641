import BerthCore

/// InterPodAffinity.
///
/// A term matches a pod when the pod's namespace is in the term's namespaces (its holder's own
/// namespace when the term names none and has no namespace selector) or its namespace's labels
/// match the term's namespace selector, and the pod's labels match the term's selector. A term's
/// domain on a node is the node's value for the term's topology key.
///
/// Filter, in upstream's order:
/// 1. The pod's required affinity: every term's key must be on the node, and in each term's
///    domain some bound pod must match *all* the terms. Exception (the first pod of a group): no
///    bound pod matching all terms sits in any term's domain anywhere and the pod matches all
///    its own terms. Failure is UnschedulableAndUnresolvable.
/// 2. The pod's required anti-affinity: no term may have a matching pod in its domain.
/// 3. Bound pods' required anti-affinity: no bound pod's term that matches this pod may cover
///    the node (same key value as the holder's node).
///
/// Score: Σ over the pod's preferred terms of ±weight × matching pods in the node's domain, plus
/// Σ over bound pods' terms matching this pod — required affinity × hardPodAffinityWeight,
/// preferred affinity +weight, preferred anti-affinity −weight — per holder in the node's domain;
/// then 100·(s − min)/(max − min) over the feasible nodes, 0 everywhere when max = min. Worked
/// example: one matching pod in zone a under a preferred affinity term of weight 5 and none in
/// zone b → raw 5 and 0 → 100 and 0.
///
/// Counts come from the cluster's per-node matcher and held-term counts, kept exact on every
/// bind and unbind, so a cycle costs O(nodes × terms), never O(pods).
final class InterPodAffinityPlugin: FilterPlugin, ScorePlugin {
  let name = PluginName.interPodAffinity
  let normalization = ScoreNormalization.minMax
  let arguments: InterPodAffinityArguments
  static let reasonAffinity = "node(s) didn't match pod affinity rules"
  static let reasonAntiAffinity = "node(s) didn't match pod anti-affinity rules"
  static let reasonExisting = "node(s) didn't satisfy existing pods anti-affinity rules"

  init(arguments: InterPodAffinityArguments = InterPodAffinityArguments()) { self.arguments = arguments }

  /// The pod's own terms resolved to matchers, per (constraint set, namespace).
  struct Resolved {
    var affinityKeys: [String] = []
    /// Pods matching every required affinity term; nil without such terms.
    var allAffinity: Int?
    var affinityClauses: [AffinityClause] = []
    var anti: [(key: String, matcher: Int)] = []
    /// Preferred terms, anti-affinity ones with negative weight.
    var preferred: [(key: String, matcher: Int, weight: Int64)] = []
  }

  /// Matching pods per domain of one topology key (`key` −1: no node has the key).
  struct DomainCounts {
    var key: Int
    var counts: [Int64]
  }

  private var resolvedCache: [UInt64: Resolved] = [:]
  private var affinity: [DomainCounts] = []
  private var firstPodException = false
  private var anti: [DomainCounts] = []
  private var existing: [DomainCounts] = []
  private var contributions: [DomainCounts] = []

  private func resolve(_ pod: PodInfo, cluster: Cluster) -> Resolved {
    let ns = cluster.pods.namespace[pod.id.index]
    let key = UInt64(pod.constraintsID) << 32 | UInt64(ns)
    if let r = resolvedCache[key] { return r }
    var r = Resolved()
    let c = pod.constraints
    if !c.podAffinity.required.isEmpty {
      r.affinityClauses = c.podAffinity.required.map { cluster.clause(for: $0, ownerNamespace: ns) }
      r.affinityKeys = c.podAffinity.required.map(\.topologyKey)
      r.allAffinity = cluster.matcher(PodMatcher(clauses: r.affinityClauses))
    }
    r.anti = c.podAntiAffinity.required.map {
      ($0.topologyKey, cluster.matcher(PodMatcher(clauses: [cluster.clause(for: $0, ownerNamespace: ns)])))
    }
    for (sign, rules) in [(Int64(1), c.podAffinity), (-1, c.podAntiAffinity)] {
      for w in rules.preferred {
        let m = cluster.matcher(PodMatcher(clauses: [cluster.clause(for: w.term, ownerNamespace: ns)]))
        r.preferred.append((w.term.topologyKey, m, sign * Int64(w.weight)))
      }
    }
    resolvedCache[key] = r
    return r
  }

  /// Σ of a per-node count column over the nodes in each domain of `key`, times `weight`.
  /// - Complexity: O(nodes).
  private func domainCounts(_ perNode: Column<Int32>, key name: String, weight: Int64 = 1, cluster: Cluster) -> DomainCounts {
    guard let key = cluster.labels.keyID(name) else { return DomainCounts(key: -1, counts: []) }
    var counts = [Int64](repeating: 0, count: cluster.labels.domains[key].count)
    let col = cluster.nodes.labelValues[key].base
    let per = perNode.base
    counts.withUnsafeMutableBufferPointer { out in
      for i in 0..<cluster.nodes.count { out[Int(col[i])] &+= Int64(per[i]) &* weight }
    }
    counts[0] = 0  // nodes without the key belong to no domain
    return DomainCounts(key: key, counts: counts)
  }

  // MARK: Filter

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    existing.removeAll(keepingCapacity: true)
    for h in 0..<cluster.heldTerms.count where cluster.heldTotals[h] > 0 {
      let t = cluster.heldTerms[UInt32(h)]
      guard t.kind == .requiredAntiAffinity, cluster.matches(t.clause, pod.id) else { continue }
      let d = domainCounts(cluster.heldCounts[h], key: t.topologyKey, cluster: cluster)
      if d.counts.contains(where: { $0 > 0 }) { existing.append(d) }
    }
    guard pod.constraints.hasPodAffinity else {
      affinity = []
      anti = []
      return !existing.isEmpty
    }
    let r = resolve(pod, cluster: cluster)
    affinity = r.allAffinity.map { m in
      r.affinityKeys.map { domainCounts(cluster.matcherCounts[m], key: $0, cluster: cluster) }
    } ?? []
    let anyMatch = affinity.contains { $0.counts.contains { $0 > 0 } }
    firstPodException = !anyMatch && r.affinityClauses.allSatisfy { cluster.matches($0, pod.id) }
    anti = r.anti.map { domainCounts(cluster.matcherCounts[$0.matcher], key: $0.key, cluster: cluster) }
    return !affinity.isEmpty || !anti.isEmpty || !existing.isEmpty
  }

  func filter(_ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>, code: UInt8) {
    let nodes = cluster.nodes
    for d in affinity {
      guard d.key >= 0 else {
        for i in rows { status[i] = markFailure(status[i], failed: true, code: code) }
        return
      }
      let col = nodes.labelValues[d.key].base
      let exception = firstPodException
      d.counts.withUnsafeBufferPointer { counts in
        for i in rows {
          let v = Int(col[i])
          status[i] = markFailure(status[i], failed: v == 0 || (counts[v] <= 0 && !exception), code: code)
        }
      }
    }
    for group in [anti, existing] {
      for d in group where d.key >= 0 {
        let col = nodes.labelValues[d.key].base
        d.counts.withUnsafeBufferPointer { counts in
          for i in rows { status[i] = markFailure(status[i], failed: counts[Int(col[i])] > 0, code: code) }
        }
      }
    }
  }

  /// Which check rejects row `i`, in upstream's order (cold).
  private func reason(row i: Int, cluster: Cluster) -> String {
    let nodes = cluster.nodes
    for d in affinity {
      guard d.key >= 0 else { return Self.reasonAffinity }
      let v = Int(nodes.labelValues[d.key][i])
      if v == 0 || (d.counts[v] <= 0 && !firstPodException) { return Self.reasonAffinity }
    }
    for d in anti where d.key >= 0 && d.counts[Int(nodes.labelValues[d.key][i])] > 0 { return Self.reasonAntiAffinity }
    return Self.reasonExisting
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] {
    [reason(row: node.index, cluster: cluster)]
  }

  func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    for seg in window.pair {
      for i in seg where status[i] == code { counts[reason(row: i, cluster: cluster), default: 0] += 1 }
    }
  }

  // MARK: Score

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>) -> ScoreMode {
    contributions.removeAll(keepingCapacity: true)
    let ownPreferred = !pod.constraints.podAffinity.preferred.isEmpty || !pod.constraints.podAntiAffinity.preferred.isEmpty
    if arguments.ignorePreferredTermsOfExistingPods && !ownPreferred { return .uniform(0) }
    if ownPreferred {
      for p in resolve(pod, cluster: cluster).preferred {
        contributions.append(domainCounts(cluster.matcherCounts[p.matcher], key: p.key, weight: p.weight, cluster: cluster))
      }
    }
    for h in 0..<cluster.heldTerms.count where cluster.heldTotals[h] > 0 {
      let t = cluster.heldTerms[UInt32(h)]
      let weight: Int64
      switch t.kind {
      case .requiredAntiAffinity: continue
      case .requiredAffinity: weight = Int64(arguments.hardPodAffinityWeight)
      case .preferredAffinity: weight = Int64(t.weight)
      case .preferredAntiAffinity: weight = -Int64(t.weight)
      }
      guard weight != 0, cluster.matches(t.clause, pod.id) else { continue }
      contributions.append(domainCounts(cluster.heldCounts[h], key: t.topologyKey, weight: weight, cluster: cluster))
    }
    contributions.removeAll { $0.key < 0 || !$0.counts.contains { $0 != 0 } }
    // Every raw score 0 normalises to 0 everywhere (upstream: Skip, or max = min).
    return contributions.isEmpty ? .uniform(0) : .perNode
  }

  func score(_ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>) {
    for i in rows { scores[i] = 0 }
    for d in contributions {
      let col = cluster.nodes.labelValues[d.key].base
      d.counts.withUnsafeBufferPointer { counts in
        // counts[0] is 0: a node without the key gains nothing from the term.
        for i in rows { scores[i] &+= counts[Int(col[i])] }
      }
    }
  }
}
