import BerthCore

#if canImport(Glibc)
  import Glibc
#else
  import Darwin
#endif

extension PluginName {
  public static let podTopologySpread = PluginName("PodTopologySpread")
}

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
  static let descriptor = PluginDescriptor(
    .podTopologySpread, [.preFilter, .filter, .preScore, .score],
    events: ClusterEvents(
      nodeUpdate: [.labels, .taints], nodeDelete: true, assignedPodAdd: true,
      assignedPodDelete: true)
  ) { _ in PodTopologySpreadPlugin() }
  let name = PluginName.podTopologySpread
  let normalization = ScoreNormalization.custom
  /// PreScore walks the feasible rows for the domains present, but only for a pod with
  /// soft constraints; without, it answers a uniform score at once.
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool {
    plan(pod, hard: false, cluster: cluster) != nil
  }
  static let hostnameKey = "kubernetes.io/hostname"
  static let reasonMissingLabel =
    "node(s) didn't match pod topology spread constraints (missing required label)"
  static let reasonSkew = "node(s) didn't match pod topology spread constraints"

  /// One constraint as a cycle sees it: the domains of its key and their matching pods.
  /// `counts` and `present` point into the cluster's domain counter or the plugin's scratch; they
  /// are valid until the cycle's last Filter or Score call.
  struct Prepared {
    var key: Int  // label key id, -1 when no node has it
    var maxSkew: Int64
    var selfMatch: Int64
    var minMatch: Int64
    /// Values of the key (index 0: nodes without it).
    var size: Int
    /// Matching pods per value id.
    var counts: UnsafeMutablePointer<Int64>
    /// Nonzero where the value is a domain.
    var present: UnsafeMutablePointer<UInt8>
    /// Filter: nonzero where a node with the value fails (the cycle's verdict per domain).
    /// Score: nonzero where a feasible, non-ignored node has the value.
    var seen: UnsafeMutablePointer<UInt8>
    /// Filter only: what the per-node pass must do.
    var shape = FilterShape.perValue
    /// Filter only, for keys of at most 32 values: bit v set where `seen[v]` (a failing value).
    var verdictMask: UInt32 = 0
    var matcher: Int?  // nil: the constraint matches no pod
    var weight: Double
    var isHostname: Bool
  }

  /// How a hard constraint's verdicts vary over the nodes in one cycle.
  enum FilterShape {
    /// Every node fits: all have the key and every value's skew is within bounds.
    case none
    /// Every value fits; nodes without the key fail.
    case keyOnly
    /// Per node, the verdict of its value.
    case perValue
  }

  /// What a pod's hard or soft constraints resolve to, per (constraint set, labels, namespace,
  /// hardness): built once, so a cycle neither hashes selectors nor allocates.
  final class Plan {
    let constraints: [TopologySpreadConstraint]
    let keys: [Int]
    let matchers: [Int?]
    let selfMatch: [Int64]
    /// A counting node must carry every constraint's key (all but the system defaults).
    let requireAll: Bool
    /// Every node that may count does: the keys go together (a node with one has all) and the
    /// inclusion policies admit every node. Counts then come from the cluster's domain counters
    /// and every value of a key is a domain.
    let fromCounters: Bool
    let counters: [DomainCounter?]
    /// Per constraint, nodes without its key (domain 0 when `requireAll` is false).
    let lacking: [Int]
    /// The node shape (`Cluster.nodeShapeVersion`) the plan was built for.
    let shape: UInt64
    /// Per constraint, read every cycle without touching the constraint's strings: whether its
    /// key is the hostname, the values of its key (1 when no node has it; values arrive only
    /// with nodes, so the size holds while `fits`), its maxSkew and minDomains.
    let isHostname: [Bool]
    let sizes: [Int]
    let maxSkews: [Int64]
    let minDomains: [Int]
    let hard: Bool

    init(
      constraints: [TopologySpreadConstraint], keys: [Int], matchers: [Int?], selfMatch: [Int64],
      requireAll: Bool,
      fromCounters: Bool, counters: [DomainCounter?], lacking: [Int], shape: UInt64,
      domainSizes: [Int]
    ) {
      self.constraints = constraints
      self.keys = keys
      self.matchers = matchers
      self.selfMatch = selfMatch
      self.requireAll = requireAll
      self.fromCounters = fromCounters
      self.counters = counters
      self.lacking = lacking
      self.shape = shape
      isHostname = constraints.map { $0.topologyKey == PodTopologySpreadPlugin.hostnameKey }
      sizes = keys.map { $0 >= 0 ? domainSizes[$0] : 1 }
      maxSkews = constraints.map { Int64($0.maxSkew) }
      minDomains = constraints.map { Int($0.minDomains) }
      hard = constraints.first?.doNotSchedule ?? false
    }

    func fits(_ cluster: Cluster) -> Bool { shape == cluster.nodeShapeVersion }
  }

  struct PlanKey: Hashable {
    var constraints: UInt32
    var labels: UInt32
    var namespace: UInt32
    var hard: Bool
  }

  @exclusivity(unchecked) private var plans: [PlanKey: Int] = [:]
  @exclusivity(unchecked) private var planList: [Plan] = []
  /// The cluster and its `matcherEpoch` the plans were made for: a collection of idle matchers
  /// drops every plan (and so the plans of workloads long gone).
  @exclusivity(unchecked) private var plannedFor: (cluster: ObjectIdentifier, epoch: UInt64)?
  /// The last plan looked up per hardness (runs of identical pods skip the hashing).
  @exclusivity(unchecked) private var lastPlan: [(key: PlanKey, index: Int)?] = [nil, nil]

  @exclusivity(unchecked) private var hard: [Prepared] = []
  @exclusivity(unchecked) private var soft: [Prepared] = []
  /// Per (constraint, use) slot — use 0 the filter, 1 the score, 2 `explain` — scratch counts,
  /// domain flags and the score's seen flags.
  @exclusivity(unchecked) private var countSlots: [Column<Int64>] = []
  @exclusivity(unchecked) private var presentSlots: [Column<UInt8>] = []
  @exclusivity(unchecked) private var seenSlots: [Column<UInt8>] = []
  @exclusivity(unchecked) private var ignored = Column<UInt8>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var scratch = Column<UInt8>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var termScratch = Column<UInt8>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var matchScratch = Column<UInt8>(repeating: 0, count: 0)
  /// 1 where a node carries every constraint's key.
  @exclusivity(unchecked) private var keyed = Column<UInt8>(repeating: 0, count: 0)
  /// Raw score sums, accumulated constraint by constraint in upstream's order.
  @exclusivity(unchecked) private var sums = Column<Double>(repeating: 0, count: 0)
  /// Normalised scores per value of the key when `byValue` (see `scoreByValue`).
  @exclusivity(unchecked) private var valueScores = Column<Int64>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var byValue = false

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

  /// Scratch for slot (`k`, `use`) with room for `size` values, zeroed.
  private func slot(_ k: Int, use: Int, size: Int) -> (
    counts: UnsafeMutablePointer<Int64>, present: UnsafeMutablePointer<UInt8>,
    seen: UnsafeMutablePointer<UInt8>
  ) {
    // SAFETY: each slot column is grown to `size` (domains of the key) before it is cleared.
    let i = 3 * k + use
    while countSlots.count <= i {
      countSlots.append(Column(repeating: 0, count: 0))
      presentSlots.append(Column(repeating: 0, count: 0))
      seenSlots.append(Column(repeating: 0, count: 0))
    }
    if countSlots[i].count < size {
      countSlots[i] = Column(repeating: 0, count: size)
      presentSlots[i] = Column(repeating: 0, count: size)
      seenSlots[i] = Column(repeating: 0, count: size)
    }
    let c = countSlots[i].base
    let p = presentSlots[i].base
    let s = seenSlots[i].base
    c.update(repeating: 0, count: size)
    p.update(repeating: 0, count: size)
    s.update(repeating: 0, count: size)
    return (c, p, s)
  }

  /// The plan for the pod's hard (or soft) constraints; nil when it has none.
  private func plan(_ pod: PodInfo, hard: Bool, cluster: Cluster) -> Int? {
    if plannedFor?.cluster != ObjectIdentifier(cluster) || plannedFor?.epoch != cluster.matcherEpoch
    {
      plans.removeAll()
      planList.removeAll()
      lastPlan = [nil, nil]
      plannedFor = (ObjectIdentifier(cluster), cluster.matcherEpoch)
    }
    // No constraint of this hardness (the system defaults are all ScheduleAnyway): no plan,
    // without looking one up — a node added (the autoscalers' dry runs add template nodes)
    // voids every kept plan, and each pod's empty one was made again.
    guard pod.constraints.spread.contains(where: { $0.doNotSchedule == hard }) else { return nil }
    let p = pod.id.index
    let key = PlanKey(
      constraints: pod.constraintsID, labels: cluster.pods.labels[p],
      namespace: cluster.pods.namespace[p], hard: hard)
    let h = hard ? 0 : 1
    if let last = lastPlan[h], last.key == key, planList[last.index].fits(cluster) {
      return planList[last.index].constraints.isEmpty ? nil : last.index
    }
    let index: Int
    if let i = plans[key], planList[i].fits(cluster) {
      index = i
    } else {
      // A plan without constraints remembers that the pod has none of this hardness.
      let cs = pod.constraints.spread.filter { $0.doNotSchedule == hard }
      let built = makePlan(cs, pod, hard: hard, cluster: cluster)
      if let i = plans[key] {
        planList[i] = built
        index = i
      } else {
        index = planList.count
        plans[key] = index
        planList.append(built)
      }
    }
    lastPlan[h] = (key, index)
    return planList[index].constraints.isEmpty ? nil : index
  }

  private func makePlan(
    _ cs: [TopologySpreadConstraint], _ pod: PodInfo, hard: Bool, cluster: Cluster
  ) -> Plan {
    let nodes = cluster.nodes
    let n = nodes.count
    let namespace = cluster.pods.namespace[pod.id.index]
    let podLabels = cluster.pods.labelSets[cluster.pods.labels[pod.id.index]]
    let keys = cs.map { cluster.labels.keyID($0.topologyKey) ?? -1 }
    let matchers = cs.map { c in
      c.labelSelector.map { cluster.matcher(namespace: namespace, selector: $0) }
    }
    let requireAll = hard || !pod.constraints.spreadIsSystemDefault
    // Nodes without the key (the empty rows of removed nodes are no nodes).
    let lacking = keys.map { k in
      (0..<n).reduce(0) {
        $0 + (nodes.exists[$1] != 0 && (k < 0 || nodes.labelValues[k][$1] == 0) ? 1 : 0)
      }
    }
    let admitsAll = cs.allSatisfy { c in
      c.nodeTaintsPolicy == .ignore
        && (c.nodeAffinityPolicy == .ignore
          || (pod.constraints.nodeSelector.isEmpty && pod.constraints.affinity?.required == nil))
    }
    var together = !keys.contains(-1)
    if requireAll && together && Set(keys).count > 1 {
      // Every node carrying one key must carry them all.
      let columns = keys.map { nodes.labelValues[$0] }
      together = (0..<n).allSatisfy { i in
        let carried = columns.reduce(0) { $0 + ($1[i] != 0 ? 1 : 0) }
        return carried == 0 || carried == columns.count
      }
    }
    let fromCounters = admitsAll && (requireAll ? together : true)
    let counters: [DomainCounter?] = zip(cs, zip(keys, matchers)).map { c, km in
      guard fromCounters, km.0 >= 0, let m = km.1 else { return nil }
      return cluster.domainCounter(.matcher(m, key: c.topologyKey), key: km.0)
    }
    return Plan(
      constraints: cs, keys: keys, matchers: matchers,
      selfMatch: cs.map { $0.labelSelector?.matches(podLabels) == true ? 1 : 0 },
      requireAll: requireAll, fromCounters: fromCounters, counters: counters, lacking: lacking,
      shape: cluster.nodeShapeVersion, domainSizes: cluster.labels.domains.map(\.count))
  }

  /// Marks in `keyed` the rows among `rows` whose node carries every key; false when some key is
  /// on no node at all.
  private func markKeyed(_ keyIDs: [Int], nodes: NodeTable, rows: Range<Int>) -> Bool {
    // SAFETY: `rows` lies in the node table; the scratch and label columns have a row per node.
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
    // SAFETY: rows 0..<n, n = nodes.count; the scratch columns are sized to n first.
    let n = cluster.nodes.count
    let out = scratch.base
    out.update(from: cluster.nodes.exists.base, count: n)
    if c.nodeAffinityPolicy == .honor {
      let labels = cluster.labels
      if !pod.constraints.nodeSelector.isEmpty {
        let sel = CompiledSelector(nodeSelector: pod.constraints.nodeSelector, labels: labels)
        sel.evaluate(
          rows: 0..<n, nodes: cluster.nodes, term: termScratch.base, into: matchScratch.base)
        for i in 0..<n { out[i] &= matchScratch.base[i] }
      }
      if let req = pod.constraints.affinity?.required {
        let sel = CompiledSelector(terms: req.terms, labels: labels, nodes: cluster.nodes)
        sel.evaluate(
          rows: 0..<n, nodes: cluster.nodes, term: termScratch.base, into: matchScratch.base)
        for i in 0..<n { out[i] &= matchScratch.base[i] }
      }
    }
    if c.nodeTaintsPolicy == .honor {
      let words = cluster.nodes.taintWords
      var untolerated = [UInt64](repeating: 0, count: words)
      for (id, t) in cluster.taints.taints.enumerated()
      where t.effect.isHard && !pod.constraints.tolerations.tolerate(t) {
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

  /// Per constraint of plan `pi`, appended to `out`: the domains and matching-pod counts over
  /// the nodes that carry every constraint's key (when the plan requires it) and pass the
  /// constraint's inclusion policies. Nodes without a key count toward value 0 otherwise.
  /// Hostname constraints of a soft plan get no per-domain counts (the score reads per-node
  /// counts) unless `forExplain`, which also keeps to its own scratch.
  /// - Complexity: O(domains) per constraint from the domain counters; else O(nodes × constraints).
  private func prepare(
    _ pi: Int, _ pod: PodInfo, cluster: Cluster, into out: inout [Prepared],
    forExplain: Bool = false
  ) {
    // SAFETY: rows are node rows; slot columns are sized to the key's domain count.
    let nodes = cluster.nodes
    let n = nodes.count
    ensureScratch(n)
    let plan = planList[pi]
    let hard = plan.hard
    out.removeAll(keepingCapacity: true)
    let allKeyed =
      plan.fromCounters || !plan.requireAll || markKeyed(plan.keys, nodes: nodes, rows: 0..<n)
    for k in plan.keys.indices {
      let key = plan.keys[k]
      let size = plan.sizes[k]
      let isHostname = plan.isHostname[k]
      let perNode = !hard && isHostname && !forExplain
      let (counts, present, seen) = slot(
        k, use: forExplain ? 2 : hard ? 0 : 1, size: perNode ? 1 : size)
      var p = Prepared(
        key: key, maxSkew: plan.maxSkews[k], selfMatch: plan.selfMatch[k], minMatch: 0,
        size: perNode ? 1 : size, counts: counts, present: present, seen: seen,
        matcher: plan.matchers[k], weight: 0,
        isHostname: isHostname)
      defer { out.append(p) }
      if perNode { continue }
      if plan.fromCounters {
        // A domain exists while some node carries its value (every such node is eligible).
        if key >= 0 { cluster.markValuesCarried(key: key, into: present, count: size) }
        if !plan.requireAll && plan.lacking[k] > 0 { present[0] = 1 }
        guard let m = plan.matchers[k] else { continue }
        if let counter = plan.counters[k] {
          if hard && !forExplain {
            p.counts = counter.counts.base  // read in place: the filter never writes counts
          } else {
            counts.update(from: counter.counts.base, count: size)
          }
          if !plan.requireAll { p.counts[0] = cluster.matcherTotals[m] - counter.total }
        } else {
          counts[0] = cluster.matcherTotals[m]  // no node has the key: all in value 0
        }
        continue
      }
      guard allKeyed else { continue }
      inclusion(plan.constraints[k], pod, cluster: cluster)
      let included = scratch.base
      if plan.requireAll {
        let kd = keyed.base
        for i in 0..<n { included[i] &= kd[i] }
      }
      let col = key >= 0 ? nodes.labelValues[key].base : nil
      let matches = p.matcher.map { cluster.matcherCounts[$0].base }
      for i in 0..<n where included[i] != 0 {
        let v = col.map { Int($0[i]) } ?? 0
        present[v] = 1
        if let matches { counts[v] &+= Int64(matches[i]) }
      }
    }
  }

  /// Per constraint (hard first, then soft), the domains the pod would count and their matching
  /// pods, as the filter and the score see them now (cold path, for `--explain`).
  func explain(_ pod: PodInfo, cluster: Cluster) -> [SpreadExplanation] {
    var out: [SpreadExplanation] = []
    for isHard in [true, false] {
      guard let pi = plan(pod, hard: isHard, cluster: cluster) else { continue }
      var prepared: [Prepared] = []
      prepare(pi, pod, cluster: cluster, into: &prepared, forExplain: true)
      for (c, p) in zip(planList[pi].constraints, prepared) {
        var domains: [(value: String, matching: Int64)] = []
        for v in 0..<p.size where p.present[v] != 0 {
          domains.append((v == 0 ? "" : cluster.labels.domains[p.key].values[v], p.counts[v]))
        }
        out.append(
          SpreadExplanation(
            constraint: c, systemDefault: pod.constraints.spreadIsSystemDefault, domains: domains))
      }
    }
    return out
  }

  // MARK: Filter

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    guard let pi = plan(pod, hard: true, cluster: cluster) else {
      hard.removeAll(keepingCapacity: true)
      return false
    }
    prepare(pi, pod, cluster: cluster, into: &hard)
    for k in hard.indices {
      let p = hard[k]
      var domains = 0
      var minimum = Int64.max
      for v in 0..<p.size where p.present[v] != 0 {
        domains += 1
        minimum = min(minimum, p.counts[v])
      }
      let minMatch = domains < planList[pi].minDomains[k] || minimum == Int64.max ? 0 : minimum
      hard[k].minMatch = minMatch
      // Verdicts per value, so the per-node pass is a byte lookup, or nothing when uniform.
      let verdict = p.seen
      var failing = 0
      verdict[0] = 1
      var mask: UInt32 = 1
      for v in 1..<max(p.size, 1) {
        let fails = p.counts[v] + p.selfMatch - minMatch > p.maxSkew
        verdict[v] = fails ? 1 : 0
        failing += fails ? 1 : 0
        if fails && v < 32 { mask |= 1 &<< UInt32(v) }
      }
      hard[k].verdictMask = mask
      if p.key < 0 || failing > 0 {
        hard[k].shape = .perValue
      } else {
        hard[k].shape = planList[pi].lacking[k] == 0 ? .none : .keyOnly
      }
    }
    return true
  }

  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let nodes = cluster.nodes
    for c in hard {
      guard c.key >= 0 else {
        for i in rows { status[i] = markFailure(status[i], failed: true, code: code) }
        return
      }
      let col = nodes.labelValues[c.key].base
      switch c.shape {
      case .none:
        continue
      case .keyOnly:
        for i in rows { status[i] = markFailure(status[i], failed: col[i] == 0, code: code) }
      case .perValue where c.size <= 32:
        // The verdicts as a bit mask: a per-row shift vectorises where a table lookup cannot.
        let mask = c.verdictMask
        for i in rows {
          status[i] = markFailure(status[i], failed: (mask &>> col[i]) & 1 != 0, code: code)
        }
      case .perValue:
        let verdict = c.seen
        for i in rows {
          status[i] = markFailure(status[i], failed: verdict[Int(col[i])] != 0, code: code)
        }
      }
    }
  }

  /// Upstream's hints over the pod's hard constraints (the system defaults have none): a bound
  /// pod arriving or leaving helps when it shares the pod's namespace and some constraint's
  /// selector matches it; a new node when it carries every constraint's key.
  func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool {
    let hard = pod.constraints.spread.filter(\.doNotSchedule)
    func carriesKeys(_ labels: [String: String]) -> Bool {
      hard.allSatisfy { labels[$0.topologyKey] != nil }
    }
    switch change {
    case .nodeAdded(let node):
      return carriesKeys(cluster.nodes.labels[node.index])
    case .nodeDeleted(_, let old):
      // A domain may have gone (minDomains, or the global minimum with it).
      return carriesKeys(old.labels)
    case .nodeUpdated(let node, let old, _):
      // It starts or stops counting, or it counts and its domain or taints changed.
      let new = cluster.nodes.specs[node.index]
      if carriesKeys(old.labels) != carriesKeys(new.labels) { return true }
      return carriesKeys(new.labels)
        && (hard.contains { old.labels[$0.topologyKey] != new.labels[$0.topologyKey] }
          || old.taints != new.taints)
    case .assignedPodAdded(let other), .assignedPodDeleted(let other):
      let pods = cluster.pods
      guard pods.namespace[other.index] == pods.namespace[pod.id.index] else { return false }
      let labels = pods.labelSets[pods.labels[other.index]]
      return hard.contains { $0.labelSelector?.matches(labels) == true }
    case .podAdded, .assignedPodScaledDown: return false
    }
  }

  /// A node missing a constraint's key is UnschedulableAndUnresolvable; skew is not.
  func isUnresolvable(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> Bool {
    failureReasons(pod, cluster: cluster, node: node) == [Self.reasonMissingLabel]
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] {
    for c in hard where c.key < 0 || cluster.nodes.labelValues[c.key][node.index] == 0 {
      return [Self.reasonMissingLabel]
    }
    return [Self.reasonSkew]
  }

  func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    // SAFETY: the window lies in the node table; status and label columns have a row per node.
    var missing = 0
    var skewed = 0
    for seg in window.segments {
      for i in seg where status[i] == code {
        if hard.contains(where: { $0.key < 0 || cluster.nodes.labelValues[$0.key].base[i] == 0 }) {
          missing += 1
        } else {
          skewed += 1
        }
      }
    }
    if missing > 0 { counts[Self.reasonMissingLabel, default: 0] += missing }
    if skewed > 0 { counts[Self.reasonSkew, default: 0] += skewed }
  }

  // MARK: Score

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    // SAFETY: the window spans the node table (asserted); `status` holds a row per node.
    assert(window.isOver(cluster.nodes), "a window over another node table")
    byValue = false
    guard let pi = plan(pod, hard: false, cluster: cluster) else { return .uniform(NodeScore.max) }
    let plan = planList[pi]
    let nodes = cluster.nodes
    prepare(pi, pod, cluster: cluster, into: &soft)
    if plan.requireAll && soft.count == 1 && !soft[0].isHostname && soft[0].key >= 0 {
      // One explicit constraint on one key: a node is ignored exactly when it lacks the key,
      // so no per-node ignore pass is needed, and the score goes per value.
      let c = soft[0]
      let col = nodes.labelValues[c.key].base
      var found = 0
      walk: for seg in window.segments {
        for i in seg where status[i] == 0 && col[i] != 0 && c.seen[Int(col[i])] == 0 {
          c.seen[Int(col[i])] = 1
          found += 1
          if found == c.size - 1 { break walk }
        }
      }
      for v in 0..<c.size where c.seen[v] == 0 { c.counts[v] = 0 }
      soft[0].weight = log(Double(found + 2))
      scoreByValue(soft[0])
      return .perNode
    }
    // Explicit constraints ignore a node missing any key; the system defaults ignore none (a
    // node without a zone still spreads by hostname), and upstream then counts key-less nodes
    // as the empty-value domain.
    let ign = ignored.base
    var nonIgnored = 0
    for seg in window.segments {
      let missingKey: UInt8 = plan.requireAll && plan.keys.contains(-1) ? 1 : 0
      for i in seg { ign[i] = missingKey }
      if plan.requireAll && missingKey == 0 {
        for k in plan.keys {
          let col = nodes.labelValues[k].base
          for i in seg { ign[i] |= bit(col[i] == 0) }
        }
      }
      nonIgnored += Kernels.countZeros(status, or: ign, seg)
    }
    for k in soft.indices where !soft[k].isHostname {
      // Only domains among the feasible, non-ignored nodes count. Zones interleave in node
      // order, so the walk usually stops after a few rows, once every value has been seen.
      let c = soft[k]
      let possible = max(c.size - 1, 0) + (!plan.requireAll && plan.lacking[k] > 0 ? 1 : 0)
      let col = c.key >= 0 ? nodes.labelValues[c.key].base : nil
      var found = 0
      walk: for seg in window.segments {
        for i in seg where status[i] | ign[i] == 0 {
          let v = col.map { Int($0[i]) } ?? 0
          guard c.seen[v] == 0 else { continue }
          c.seen[v] = 1
          found += 1
          if found == possible { break walk }
        }
      }
      for v in 0..<c.size where c.seen[v] == 0 { c.counts[v] = 0 }
      soft[k].weight = log(Double(found + 2))
    }
    for k in soft.indices where soft[k].isHostname { soft[k].weight = log(Double(nonIgnored + 2)) }
    return .perNode
  }

  /// With one explicit non-hostname constraint a node's normalised score depends on its value
  /// alone: computed here per value (over the seen values, as the per-node pass would), so
  /// Score is a lookup and NormalizeScore has nothing left to do. Value 0 (ignored nodes) is 0.
  private func scoreByValue(_ c: Prepared) {
    // SAFETY: the value table has an entry per domain value of the constraint's key.
    if valueScores.count < c.size { valueScores = Column(repeating: 0, count: c.size) }
    let table = valueScores.base
    let w = c.weight
    let skew = Double(c.maxSkew - 1)
    var lo = Int64.max
    var hi: Int64 = 0
    for v in 1..<c.size where c.seen[v] != 0 {
      let raw = Int64((0 + (Double(c.counts[v]) * w + skew)).rounded(.toNearestOrAwayFromZero))
      table[v] = raw
      lo = min(lo, raw)
      hi = max(hi, raw)
    }
    table[0] = 0
    for v in 1..<c.size {
      if c.seen[v] == 0 {
        table[v] = 0  // only infeasible nodes carry it
      } else {
        table[v] = hi == 0 ? NodeScore.max : NodeScore.max * (hi + lo - table[v]) / hi
      }
    }
    byValue = true
  }

  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `scores` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let nodes = cluster.nodes
    if byValue {
      let col = nodes.labelValues[soft[0].key].base
      let table = valueScores.base
      for i in rows { scores[i] = table[Int(col[i])] }
      return
    }
    let ign = ignored.base
    let acc = sums.base
    for i in rows { acc[i] = 0 }
    // Constraint by constraint, each node's sum grows in the same order as upstream's per-node
    // loop, so the rounding is identical. A node without the key takes no part in a constraint
    // (adding 0 to a non-negative sum changes nothing).
    for c in soft where c.key >= 0 {
      let col = nodes.labelValues[c.key].base
      let w = c.weight
      let skew = Double(c.maxSkew - 1)
      if c.isHostname {
        if let m = c.matcher {
          let matches = cluster.matcherCounts[m].base
          for i in rows { acc[i] += col[i] != 0 ? Double(matches[i]) * w + skew : 0 }
        } else {
          for i in rows { acc[i] += col[i] != 0 ? 0 * w + skew : 0 }
        }
      } else {
        let counts = c.counts
        for i in rows { acc[i] += col[i] != 0 ? Double(counts[Int(col[i])]) * w + skew : 0 }
      }
    }
    for i in rows {
      let raw = ExactMath.truncatedToInt(ExactMath.roundedHalfAway(acc[i]))
      scores[i] = ign[i] != 0 ? 0 : raw
    }
  }

  /// Ignored nodes 0; others 100·(max + min − s)/max over the non-ignored feasible nodes, all 100
  /// when the maximum is 0.
  func normalize(
    _ scores: UnsafeMutablePointer<Int64>, window: Window, status: UnsafePointer<UInt8>
  ) {
    // SAFETY: the window lies in the node table; `ignored` and `scores` have a row per node.
    guard !byValue else { return }
    let ign = UnsafePointer(ignored.base)
    var lo = Int64.max
    var hi: Int64 = 0
    for seg in window.segments {
      Self.bounds(seg, scores: scores, status: status, ignored: ign, lo: &lo, hi: &hi)
    }
    for seg in window.segments {
      Self.normalize(seg, scores: scores, status: status, ignored: ign, lo: lo, hi: hi)
    }
  }

  /// The lowest and highest raw score over the counted rows of `rows` (feasible, not ignored).
  /// A loop of its own per segment, so it compiles tight whatever the window's shape.
  private static func bounds(
    _ rows: Range<Int>, scores: UnsafeMutablePointer<Int64>, status: UnsafePointer<UInt8>,
    ignored ign: UnsafePointer<UInt8>, lo: inout Int64, hi: inout Int64
  ) {
    // SAFETY: `rows` lies in the node table; the columns have a row per node.
    var l = lo
    var h = hi
    for i in rows {
      let counted = status[i] | ign[i] == 0
      l = min(l, counted ? scores[i] : Int64.max)
      h = max(h, counted ? scores[i] : 0)
    }
    lo = l
    hi = h
  }

  /// Normalised scores on `rows` from the window's bounds.
  private static func normalize(
    _ rows: Range<Int>, scores: UnsafeMutablePointer<Int64>, status: UnsafePointer<UInt8>,
    ignored ign: UnsafePointer<UInt8>, lo: Int64, hi: Int64
  ) {
    // SAFETY: `rows` lies in the node table; the columns have a row per node.
    if hi == 0 {
      for i in rows where status[i] == 0 { scores[i] = ign[i] != 0 ? 0 : NodeScore.max }
      return
    }
    // Raw scores are non-negative and lo ≤ s ≤ hi on counted rows, so the quotient's operands
    // are in ExactMath's range there; other rows keep their value or become 0.
    for i in rows {
      let s = scores[i]
      let normal = ExactMath.divide(NodeScore.max &* max(hi &+ lo &- s, 0), hi)
      scores[i] = status[i] != 0 ? s : ign[i] != 0 ? 0 : normal
    }
  }
}
