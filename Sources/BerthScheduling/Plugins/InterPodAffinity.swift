import BerthCore

extension PluginName {
  public static let interPodAffinity = PluginName("InterPodAffinity")
}

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
  static let descriptor = PluginDescriptor(
    .interPodAffinity, [.preFilter, .filter, .preScore, .score],
    events: ClusterEvents(
      nodeUpdate: [.labels, .taints], assignedPodAdd: true, assignedPodDelete: true),
    arguments: InterPodAffinityArguments.self
  ) { InterPodAffinityPlugin(arguments: $0.profile.arguments[InterPodAffinityArguments.self]) }
  let name = PluginName.interPodAffinity
  let normalization = ScoreNormalization.minMax
  /// PreScore reads the pod's terms and the cluster's domain counts, never the feasible rows.
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool { false }
  let arguments: InterPodAffinityArguments
  static let reasonAffinity = "node(s) didn't match pod affinity rules"
  static let reasonAntiAffinity = "node(s) didn't match pod anti-affinity rules"
  static let reasonExisting = "node(s) didn't satisfy existing pods anti-affinity rules"

  init(arguments: InterPodAffinityArguments = InterPodAffinityArguments()) {
    self.arguments = arguments
  }

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

  /// A term's per-domain counts over one label key (`key` −1: no node has it), times `weight`.
  struct Term {
    var key: Int
    var counter: DomainCounter?
    var weight: Int64 = 1
  }

  @exclusivity(unchecked) private var resolvedCache: [UInt64: Resolved] = [:]
  /// The cluster's `matcherEpoch` when `resolvedCache` was filled: matcher ids die with it.
  @exclusivity(unchecked) private var resolvedEpoch: UInt64 = 0
  /// Held-term ids whose clause matches pods of a (label set, namespace), with the number of
  /// held terms when computed (a longer list invalidates the entry).
  @exclusivity(unchecked) private var heldMatchCache: [UInt64: (known: Int, ids: [UInt32])] = [:]
  @exclusivity(unchecked) private var affinity: [Term] = []
  @exclusivity(unchecked) private var firstPodException = false
  @exclusivity(unchecked) private var anti: [Term] = []
  @exclusivity(unchecked) private var existing: [Term] = []
  @exclusivity(unchecked) private var contributions: [Term] = []
  /// Anti-affinity and bound pods' anti-affinity terms paired by topology key, so one pass over
  /// the rows checks two counters.
  @exclusivity(unchecked) private var repelling: [(key: Int, a: DomainCounter, b: DomainCounter?)] =
    []

  private func resolve(_ pod: PodInfo, cluster: Cluster) -> Resolved {
    let ns = cluster.pods.namespace[pod.id.index]
    let key = UInt64(pod.constraintsID) << 32 | UInt64(ns)
    if resolvedEpoch != cluster.matcherEpoch {
      resolvedCache.removeAll()
      resolvedEpoch = cluster.matcherEpoch
    }
    if let r = resolvedCache[key] { return r }
    var r = Resolved()
    let c = pod.constraints
    if !c.podAffinity.required.isEmpty {
      r.affinityClauses = c.podAffinity.required.map { cluster.clause(for: $0, ownerNamespace: ns) }
      r.affinityKeys = c.podAffinity.required.map(\.topologyKey)
      r.allAffinity = cluster.matcher(PodMatcher(clauses: r.affinityClauses))
    }
    r.anti = c.podAntiAffinity.required.map {
      (
        $0.topologyKey,
        cluster.matcher(PodMatcher(clauses: [cluster.clause(for: $0, ownerNamespace: ns)]))
      )
    }
    for (sign, rules) in [(Int64(1), c.podAffinity), (-1, c.podAntiAffinity)] {
      for w in rules.preferred {
        let m = cluster.matcher(
          PodMatcher(clauses: [cluster.clause(for: w.term, ownerNamespace: ns)]))
        r.preferred.append((w.term.topologyKey, m, sign * Int64(w.weight)))
      }
    }
    resolvedCache[key] = r
    return r
  }

  /// The cluster's per-domain counter for a matcher's pods over label `name`.
  private func matcherTerm(_ m: Int, key name: String, weight: Int64 = 1, cluster: Cluster) -> Term
  {
    guard let key = cluster.labels.keyID(name) else { return Term(key: -1, counter: nil) }
    return Term(
      key: key, counter: cluster.domainCounter(.matcher(m, key: name), key: key), weight: weight)
  }

  /// Held terms (with holders) whose clause matches the pod.
  private func matchingHeldTerms(_ pod: PodInfo, cluster: Cluster) -> [UInt32] {
    let k =
      UInt64(cluster.pods.labels[pod.id.index]) << 32 | UInt64(cluster.pods.namespace[pod.id.index])
    if let e = heldMatchCache[k], e.known == cluster.heldTerms.count { return e.ids }
    var ids: [UInt32] = []
    for h in 0..<cluster.heldTerms.count
    where cluster.matches(cluster.heldTerms[UInt32(h)].clause, pod.id) { ids.append(UInt32(h)) }
    heldMatchCache[k] = (cluster.heldTerms.count, ids)
    return ids
  }

  /// Cold path for `--explain`: every term that bears on the pod with its non-zero domains.
  func explain(_ pod: PodInfo, cluster: Cluster) -> [AffinityExplanation] {
    func domains(_ t: Term) -> [(value: String, count: Int64)] {
      guard let c = t.counter else { return [] }
      return (1..<c.counts.count).filter { c.counts[$0] != 0 }.map {
        (cluster.labels.domains[t.key].values[$0], c.counts[$0])
      }
    }
    var out: [AffinityExplanation] = []
    let r = resolve(pod, cluster: cluster)
    if let m = r.allAffinity {
      for key in r.affinityKeys {
        out.append(
          .init(
            role: "required affinity (pods matching all terms)", topologyKey: key, weight: nil,
            domains: domains(matcherTerm(m, key: key, cluster: cluster))))
      }
    }
    for t in r.anti {
      out.append(
        .init(
          role: "required anti-affinity", topologyKey: t.key, weight: nil,
          domains: domains(matcherTerm(t.matcher, key: t.key, cluster: cluster))))
    }
    for p in r.preferred {
      out.append(
        .init(
          role: p.weight > 0 ? "preferred affinity" : "preferred anti-affinity", topologyKey: p.key,
          weight: p.weight,
          domains: domains(matcherTerm(p.matcher, key: p.key, cluster: cluster))))
    }
    for h in matchingHeldTerms(pod, cluster: cluster) where cluster.heldTotals[Int(h)] > 0 {
      let t = cluster.heldTerms[h]
      guard let key = cluster.labels.keyID(t.topologyKey) else { continue }
      let term = Term(
        key: key, counter: cluster.domainCounter(.held(Int(h), key: t.topologyKey), key: key))
      let (role, weight): (String, Int64?) =
        switch t.kind {
        case .requiredAffinity:
          ("bound pods' required affinity", Int64(arguments.hardPodAffinityWeight))
        case .requiredAntiAffinity: ("bound pods' required anti-affinity", nil)
        case .preferredAffinity: ("bound pods' preferred affinity", Int64(t.weight))
        case .preferredAntiAffinity: ("bound pods' preferred anti-affinity", -Int64(t.weight))
        }
      out.append(
        .init(role: role, topologyKey: t.topologyKey, weight: weight, domains: domains(term)))
    }
    return out
  }

  // MARK: Filter

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    // Emptied only when filled: clearing an empty array still makes its storage unique.
    if !existing.isEmpty { existing.removeAll(keepingCapacity: true) }
    if cluster.heldTerms.count > 0 {
      for h in matchingHeldTerms(pod, cluster: cluster) where cluster.heldTotals[Int(h)] > 0 {
        let t = cluster.heldTerms[h]
        guard t.kind == .requiredAntiAffinity, let key = cluster.labels.keyID(t.topologyKey) else {
          continue
        }
        let c = cluster.domainCounter(.held(Int(h), key: t.topologyKey), key: key)
        if c.total > 0 { existing.append(Term(key: key, counter: c)) }
      }
    }
    if !affinity.isEmpty { affinity.removeAll(keepingCapacity: true) }
    if !anti.isEmpty { anti.removeAll(keepingCapacity: true) }
    guard pod.constraints.hasPodAffinity else {
      pairRepellingTerms()
      return !existing.isEmpty
    }
    let r = resolve(pod, cluster: cluster)
    if let m = r.allAffinity {
      for key in r.affinityKeys { affinity.append(matcherTerm(m, key: key, cluster: cluster)) }
    }
    // Upstream's affinity counts are empty when no pod matching every term sits on a keyed node.
    let anyMatch = affinity.contains { ($0.counter?.total ?? 0) > 0 }
    firstPodException = !anyMatch && r.affinityClauses.allSatisfy { cluster.matches($0, pod.id) }
    for t in r.anti { anti.append(matcherTerm(t.matcher, key: t.key, cluster: cluster)) }
    pairRepellingTerms()
    return !affinity.isEmpty || !anti.isEmpty || !existing.isEmpty
  }

  private func pairRepellingTerms() {
    if !repelling.isEmpty { repelling.removeAll(keepingCapacity: true) }
    for group in 0..<2 {
      for t in group == 0 ? anti : existing {
        guard let c = t.counter else { continue }
        if let k = repelling.firstIndex(where: { $0.key == t.key && $0.b == nil }) {
          repelling[k].b = c
        } else {
          repelling.append((t.key, c, nil))
        }
      }
    }
  }

  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let nodes = cluster.nodes
    for t in affinity {
      guard let c = t.counter else {
        for i in rows { status[i] = markFailure(status[i], failed: true, code: code) }
        return
      }
      let col = nodes.labelValues[t.key].base
      let counts = c.counts.base
      let exception = firstPodException
      for i in rows {
        let v = Int(col[i])
        status[i] = markFailure(
          status[i], failed: v == 0 || (counts[v] <= 0 && !exception), code: code)
      }
    }
    // Rows whose domain holds a pod a term counts fail (counts[0] is 0: keyless rows pass).
    // Counts are never negative, so `a | b > 0` tests both terms of a pair at once.
    for g in repelling {
      let col = nodes.labelValues[g.key].base
      let a = g.a.counts.base
      let b = (g.b ?? g.a).counts.base
      for i in rows {
        let v = Int(col[i])
        status[i] = markFailure(status[i], failed: a[v] | b[v] > 0, code: code)
      }
    }
  }

  /// Which check rejects row `i`, in upstream's order (cold).
  private func reason(row i: Int, cluster: Cluster) -> String {
    let nodes = cluster.nodes
    for t in affinity {
      guard let c = t.counter else { return Self.reasonAffinity }
      let v = Int(nodes.labelValues[t.key][i])
      if v == 0 || (c.counts[v] <= 0 && !firstPodException) { return Self.reasonAffinity }
    }
    for t in anti {
      if let c = t.counter, c.counts[Int(nodes.labelValues[t.key][i])] > 0 {
        return Self.reasonAntiAffinity
      }
    }
    return Self.reasonExisting
  }

  /// The pod's own required affinity failing is UnschedulableAndUnresolvable upstream.
  /// Upstream's hints over the pod's required terms: a bound pod arriving helps when it matches
  /// every affinity term, one leaving when it matched every anti-affinity term (bound pods'
  /// own anti-affinity is not consulted, as upstream), a new node when it carries some term's
  /// topology key. Namespace selectors are matched against no labels, as upstream's hint does.
  func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool {
    let c = pod.constraints
    func matchesAll(_ terms: [PodAffinityTerm], _ other: PodID) -> Bool {
      guard !terms.isEmpty else { return false }
      let ns = cluster.pods.namespace[pod.id.index]
      let otherNS = cluster.pods.namespace[other.index]
      let labels = cluster.pods.labelSets[cluster.pods.labels[other.index]]
      return terms.allSatisfy {
        cluster.clause(for: $0, ownerNamespace: ns).matches(
          namespace: otherNS, namespaceLabels: { [:] }, labels: labels)
      }
    }
    switch change {
    case .nodeAdded(let node), .nodeUpdated(let node, _, _):
      let labels = cluster.nodes.labels[node.index]
      return (c.podAffinity.required + c.podAntiAffinity.required).contains {
        labels[$0.topologyKey] != nil
      }
    case .assignedPodAdded(let other):
      return matchesAll(c.podAffinity.required, other)
    case .assignedPodDeleted(let other):
      return matchesAll(c.podAntiAffinity.required, other)
    case .podAdded, .nodeDeleted, .assignedPodScaledDown: return false
    }
  }

  func isUnresolvable(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> Bool {
    reason(row: node.index, cluster: cluster) == Self.reasonAffinity
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] {
    [reason(row: node.index, cluster: cluster)]
  }

  func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    for seg in window.segments {
      for i in seg where status[i] == code {
        counts[reason(row: i, cluster: cluster), default: 0] += 1
      }
    }
  }

  // MARK: Score

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    // SAFETY: the window spans the node table (asserted); `status` holds a row per node.
    assert(window.isOver(cluster.nodes), "a window over another node table")
    if !contributions.isEmpty { contributions.removeAll(keepingCapacity: true) }
    let ownPreferred =
      !pod.constraints.podAffinity.preferred.isEmpty
      || !pod.constraints.podAntiAffinity.preferred.isEmpty
    if arguments.ignorePreferredTermsOfExistingPods && !ownPreferred { return .uniform(0) }
    if ownPreferred {
      for p in resolve(pod, cluster: cluster).preferred {
        contributions.append(matcherTerm(p.matcher, key: p.key, weight: p.weight, cluster: cluster))
      }
    }
    if cluster.heldTerms.count > 0 {
      for h in matchingHeldTerms(pod, cluster: cluster) where cluster.heldTotals[Int(h)] > 0 {
        let t = cluster.heldTerms[h]
        let weight: Int64
        switch t.kind {
        case .requiredAntiAffinity: continue
        case .requiredAffinity: weight = Int64(arguments.hardPodAffinityWeight)
        case .preferredAffinity: weight = Int64(t.weight)
        case .preferredAntiAffinity: weight = -Int64(t.weight)
        }
        guard weight != 0, let key = cluster.labels.keyID(t.topologyKey) else { continue }
        contributions.append(
          Term(
            key: key, counter: cluster.domainCounter(.held(Int(h), key: t.topologyKey), key: key),
            weight: weight))
      }
    }
    if !contributions.isEmpty { contributions.removeAll { ($0.counter?.total ?? 0) == 0 } }
    // Every raw score 0 normalises to 0 everywhere (upstream: Skip, or max = min).
    return contributions.isEmpty ? .uniform(0) : .perNode
  }

  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `scores` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    for i in rows { scores[i] = 0 }
    for t in contributions {
      guard let c = t.counter else { continue }
      let col = cluster.nodes.labelValues[t.key].base
      let counts = c.counts.base
      let w = t.weight
      // counts[0] is 0: a node without the key gains nothing from the term.
      for i in rows { scores[i] &+= counts[Int(col[i])] &* w }
    }
  }
}

/// `InterPodAffinityArgs`.
public struct InterPodAffinityArguments: PluginArguments, Equatable {
  public static let plugin = PluginName.interPodAffinity
  /// Score an existing pod's required affinity term that matches the incoming pod adds; 0…100,
  /// 0 turns that rule off.
  public var hardPodAffinityWeight: Int32
  /// Skip existing pods' terms when the incoming pod has no preferred terms of its own.
  public var ignorePreferredTermsOfExistingPods: Bool
  public init() { self.init(hardPodAffinityWeight: 1) }
  public init(hardPodAffinityWeight: Int32 = 1, ignorePreferredTermsOfExistingPods: Bool = false) {
    self.hardPodAffinityWeight = hardPodAffinityWeight
    self.ignorePreferredTermsOfExistingPods = ignorePreferredTermsOfExistingPods
  }

  public func validate(path: String) throws(ConfigurationError) {
    guard (0...100).contains(hardPodAffinityWeight) else {
      throw ConfigurationError(field: path + ".hardPodAffinityWeight", "not in valid range [0-100]")
    }
  }
}

extension InterPodAffinityArguments {
  public static func read<Reader: ArgumentsReader>(_ args: Reader) throws(Reader.Failure) -> Self {
    try args.requireKeys(in: [
      "apiVersion", "kind", "hardPodAffinityWeight", "ignorePreferredTermsOfExistingPods",
    ])
    var a = InterPodAffinityArguments()
    if let w = args.child("hardPodAffinityWeight") { a.hardPodAffinityWeight = try w.int32() }
    if let i = args.child("ignorePreferredTermsOfExistingPods") {
      a.ignorePreferredTermsOfExistingPods = try i.bool()
    }
    return a
  }
}
