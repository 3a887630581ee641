import BerthCore

/// One node-selector requirement compiled against the cluster's label columns.
enum CompiledTest {
  /// Same answer on every node (unknown key, unknown value, malformed requirement).
  case constant(Bool)
  /// The key's value id equals `value`: nodeSelector entries and single-value `In`.
  case equals(key: Int, value: UInt32)
  /// `table[valueID]` answers the requirement for every value of the key (0 = absent).
  case lookup(key: Int, table: [UInt8])
  /// `matchFields` on `metadata.name`: `table[row]`.
  case rows(table: [UInt8])
}

/// A node selector compiled to tests: a list of terms (ORed), each a list of tests (ANDed).
struct CompiledSelector {
  var terms: [[CompiledTest]]

  /// `nodeSelector`: one term of equality tests. Unknown key or value → no node matches.
  init(nodeSelector: [LabelPair], labels: LabelRegistry) {
    terms = [
      nodeSelector.map { pair in
        guard let k = labels.keyID(pair.key), let v = labels.domains[k].id(of: pair.value) else {
          return .constant(false)
        }
        return .equals(key: k, value: v)
      }
    ]
  }

  /// Required node affinity: empty terms are dropped (matching nothing); a term with a
  /// malformed requirement matches nothing.
  init(terms selectorTerms: [NodeSelectorTerm], labels: LabelRegistry, nodes: NodeTable) {
    terms = selectorTerms.map { CompiledSelector.compile($0, labels: labels, nodes: nodes) }
  }

  static func compile(_ term: NodeSelectorTerm, labels: LabelRegistry, nodes: NodeTable)
    -> [CompiledTest]
  {
    guard !term.isEmpty else { return [.constant(false)] }
    var tests: [CompiledTest] = []
    for r in term.matchExpressions {
      guard r.isWellFormed else { return [.constant(false)] }
      guard let k = labels.keyID(r.key) else {
        tests.append(.constant(r.matches(labelValue: nil)))
        continue
      }
      let domain = labels.domains[k]
      if r.operator == .in && r.values.count == 1 {
        if let v = domain.id(of: r.values[0]) {
          tests.append(.equals(key: k, value: v))
        } else {
          tests.append(.constant(false))
        }
        continue
      }
      var table = [UInt8](repeating: 0, count: domain.count)
      for v in 0..<domain.count {
        table[v] = r.matches(labelValue: v == 0 ? nil : domain.values[v]) ? 1 : 0
      }
      tests.append(.lookup(key: k, table: table))
    }
    for f in term.matchFields {
      guard NodeSelectorTerm.isValidField(f) else { return [.constant(false)] }
      var table = [UInt8](repeating: f.operator == .notIn ? 1 : 0, count: nodes.count)
      if let row = nodes.id(named: f.values[0])?.index { table[row] = f.operator == .in ? 1 : 0 }
      tests.append(.rows(table: table))
    }
    return tests
  }

  /// `out[i] = 1` where the selector matches row i, for `rows` (indexes `out` by row).
  func evaluate(
    rows: Range<Int>, nodes: NodeTable, term scratch: UnsafeMutablePointer<UInt8>,
    into out: UnsafeMutablePointer<UInt8>
  ) {
    for i in rows { out[i] = 0 }
    for term in terms {
      for i in rows { scratch[i] = 1 }
      for test in term { CompiledSelector.apply(test, rows: rows, nodes: nodes, into: scratch) }
      for i in rows { out[i] |= scratch[i] }
    }
  }

  /// `acc[i] &= test(i)` over `rows`.
  static func apply(
    _ test: CompiledTest, rows: Range<Int>, nodes: NodeTable, into acc: UnsafeMutablePointer<UInt8>
  ) {
    switch test {
    case .constant(let ok):
      if !ok { for i in rows { acc[i] = 0 } }
    case .equals(let key, let value):
      let col = UnsafePointer(nodes.labelValues[key].base)
      for i in rows { acc[i] &= col[i] == value ? 1 : 0 }
    case .lookup(let key, let table):
      let col = UnsafePointer(nodes.labelValues[key].base)
      table.withUnsafeBufferPointer { t in
        // SAFETY: label value ids are below the domain size the table was built with; the
        // selector is recompiled whenever nodes (and so values) are added.
        for i in rows { acc[i] &= t[Int(col[i])] }
      }
    case .rows(let table):
      table.withUnsafeBufferPointer { t in for i in rows { acc[i] &= t[i] } }
    }
  }
}

extension PluginName {
  public static let nodeAffinity = PluginName("NodeAffinity")
}

/// NodeAffinity.
///
/// Filter: the scheduler-enforced `addedAffinity` (plugin args), then `spec.nodeSelector` (every
/// pair present with that value), then required node affinity (terms ORed, requirements ANDed).
/// Score: the sum of the weights of matching preferred terms (the pod's and the added ones),
/// normalised by the maximum. Worked example: weights 20 and 80 matching on node A, only 20 on
/// node B → raw 100 and 20 → normalised 100 and 20.
///
/// Selectors compile once per distinct pod constraint set (and again when nodes are added).
final class NodeAffinityPlugin: FilterPlugin, ScorePlugin {
  static let descriptor = PluginDescriptor(
    .nodeAffinity, [.preFilter, .filter, .preScore, .score],
    events: ClusterEvents(nodeUpdate: .labels), rejectionIsUnresolvable: true,
    arguments: NodeAffinityArguments.self
  ) { NodeAffinityPlugin(arguments: $0.profile.arguments[NodeAffinityArguments.self]) }
  let name = PluginName.nodeAffinity
  let normalization = ScoreNormalization.scaleByMax(reverse: false)
  let added: NodeAffinity?
  /// Node-local: the pod's selectors against the node's own labels (and name).
  let verdictsAreNodeLocal = true
  /// Filter and score write only their rows of the output and of the row-indexed scratch
  /// columns, which PreFilter sizes.
  let filtersRowsConcurrently = true
  let scoresRowsConcurrently = true
  /// PreScore reads the pod and the node columns, never the feasible rows.
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool { false }

  /// A pod constraint set's selectors, compiled; a class so that the per-cycle hand-over from
  /// the cache is one reference, not a copy of four arrays.
  final class Compiled {
    var enforced: CompiledSelector?
    var nodeSelector: CompiledSelector?
    var required: CompiledSelector?
    var preferred: [(weight: Int64, test: CompiledSelector)] = []
    /// Whether the filter can reject anything (PreFilter's answer).
    var filters: Bool { enforced != nil || nodeSelector != nil || required != nil }
  }

  @exclusivity(unchecked) private var cache: [UInt32: Compiled] = [:]
  /// The node shape (`Cluster.nodeShapeVersion`) the cache was compiled against: label values
  /// and node names arrive with nodes and node updates.
  @exclusivity(unchecked) private var cacheShape: UInt64?
  /// The constraint set `current` was compiled for: a run of identical pods keeps it as is.
  @exclusivity(unchecked) private var currentID: UInt32?
  @exclusivity(unchecked) private var current: Compiled?
  @exclusivity(unchecked) private var scratchA = Column<UInt8>(repeating: 0, count: 0)
  @exclusivity(unchecked) private var scratchB = Column<UInt8>(repeating: 0, count: 0)

  static let reasonPod = "node(s) didn't match Pod's node affinity/selector"
  static let reasonEnforced = "node(s) didn't match scheduler-enforced node affinity"

  init(arguments: NodeAffinityArguments) { added = arguments.addedAffinity }

  /// Makes `current` the pod's compiled selectors (compiled on first sight of its constraint
  /// set, again after nodes are added or updated).
  private func select(_ pod: PodInfo, cluster: Cluster) {
    if cacheShape != cluster.nodeShapeVersion {
      cache.removeAll()
      currentID = nil
      cacheShape = cluster.nodeShapeVersion
      if scratchA.count != cluster.nodes.count {
        scratchA = Column(repeating: 0, count: cluster.nodes.count)
        scratchB = Column(repeating: 0, count: cluster.nodes.count)
      }
    }
    if currentID == pod.constraintsID { return }
    currentID = pod.constraintsID
    if let c = cache[pod.constraintsID] {
      current = c
      return
    }
    let labels = cluster.labels
    let nodes = cluster.nodes
    let c = pod.constraints
    let compiled = Compiled()
    if let req = added?.required {
      compiled.enforced = CompiledSelector(terms: req.terms, labels: labels, nodes: nodes)
    }
    if !c.nodeSelector.isEmpty {
      compiled.nodeSelector = CompiledSelector(nodeSelector: c.nodeSelector, labels: labels)
    }
    if let req = c.affinity?.required {
      compiled.required = CompiledSelector(terms: req.terms, labels: labels, nodes: nodes)
    }
    for term in (c.affinity?.preferred ?? []) + (added?.preferred ?? [])
    where term.weight != 0 && !term.preference.isEmpty {
      compiled.preferred.append(
        (
          Int64(term.weight),
          CompiledSelector(terms: [term.preference], labels: labels, nodes: nodes)
        ))
    }
    cache[pod.constraintsID] = compiled
    current = compiled
  }

  /// PreFilter narrowing: when every required term names nodes with `metadata.name In`, only
  /// the union over terms of each term's intersection can fit. A term with an empty
  /// intersection makes the pod unschedulable ("pod affinity terms conflict"). Names of nodes
  /// that do not exist are dropped.
  func restrictNodes(_ pod: PodInfo, cluster: Cluster) -> NodeRestriction {
    guard let terms = pod.constraints.affinity?.required?.terms, !terms.isEmpty else { return .all }
    var union = Set<String>()
    for term in terms {
      var names: Set<String>?
      for f in term.matchFields where f.key == "metadata.name" && f.operator == .in {
        names = names.map { $0.intersection(f.values) } ?? Set(f.values)
      }
      guard let names else { return .all }
      if names.isEmpty { return .rejectAll(Self.reasonConflict) }
      union.formUnion(names)
    }
    return .rows(union.compactMap { cluster.nodes.id(named: $0)?.index }.sorted())
  }

  static let reasonConflict = "pod affinity terms conflict"

  /// Upstream's hint: the node (added, or updated from not matching) matches the enforced
  /// affinity and the pod's node selector and required affinity.
  func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool {
    let c = pod.constraints
    func matches(_ spec: NodeSpec) -> Bool {
      if let req = added?.required, !req.matches(labels: spec.labels, nodeName: spec.name) {
        return false
      }
      if !c.nodeSelector.allSatisfy({ spec.labels[$0.key] == $0.value }) { return false }
      if let req = c.affinity?.required, !req.matches(labels: spec.labels, nodeName: spec.name) {
        return false
      }
      return true
    }
    switch change {
    case .nodeAdded(let node): return matches(cluster.nodes.specs[node.index])
    case .nodeUpdated(let node, let old, _):
      return matches(cluster.nodes.specs[node.index]) && !matches(old)
    case .assignedPodAdded, .assignedPodDeleted: return true
    case .podAdded, .nodeDeleted, .assignedPodScaledDown: return false
    }
  }

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    select(pod, cluster: cluster)
    return current?.filters ?? false
  }

  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    guard let c = current else { return }
    let match = scratchA.base
    let term = scratchB.base
    func reject(unless selector: CompiledSelector?) {
      guard let selector else { return }
      selector.evaluate(rows: rows, nodes: cluster.nodes, term: term, into: match)
      for i in rows { status[i] = markFailure(status[i], failed: match[i] == 0, code: code) }
    }
    reject(unless: c.enforced)
    reject(unless: c.nodeSelector)
    reject(unless: c.required)
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] {
    let spec = cluster.nodes.specs[node.index]
    if let req = added?.required, !req.matches(labels: spec.labels, nodeName: spec.name) {
      return [Self.reasonEnforced]
    }
    return [Self.reasonPod]
  }

  /// Class 1: rows the scheduler-enforced affinity rejects; 0: the pod's own selectors.
  func classifyRejections(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool {
    guard let req = added?.required else {
      return classify(rows: rows, status: status, code: code, into: classes)
    }
    let specs = cluster.nodes.specs
    return classify(rows: rows, status: status, code: code, into: classes) { i in
      !req.matches(labels: specs[i].labels, nodeName: specs[i].name)
    }
  }

  func reasons(ofClass c: UInt8, _ pod: PodInfo, cluster: Cluster) -> [String] {
    [c == 1 ? Self.reasonEnforced : Self.reasonPod]
  }

  /// One reason unless the plugin enforces an added affinity, which has a reason of its own.
  func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    var segments = window.segments
    while let seg = segments.next() {
      for i in seg where status[i] == code {
        for r in failureReasons(pod, cluster: cluster, node: NodeID(UInt32(i))) {
          counts[r, default: 0] += 1
        }
        if added?.required == nil {
          // Every rejected node shares the single reason: count the rest without looking.
          var rest = Kernels.count(of: code, status, (i + 1)..<seg.upperBound)
          while let later = segments.next() { rest += Kernels.count(of: code, status, later) }
          counts[Self.reasonPod, default: 0] += rest
          return
        }
      }
    }
  }

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    // SAFETY: the window spans the node table (asserted); `status` holds a row per node.
    assert(window.isOver(cluster.nodes), "a window over another node table")
    select(pod, cluster: cluster)
    return current?.preferred.isEmpty ?? true ? .uniform(0) : .perNode
  }

  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `scores` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    guard let c = current else { return }
    for i in rows { scores[i] = 0 }
    let match = scratchA.base
    let term = scratchB.base
    for (weight, selector) in c.preferred {
      selector.evaluate(rows: rows, nodes: cluster.nodes, term: term, into: match)
      for i in rows { scores[i] &+= match[i] == 0 ? 0 : weight }
    }
  }
}

/// `NodeAffinityArgs`: a node affinity every pod of the profile must also satisfy.
public struct NodeAffinityArguments: PluginArguments, Equatable {
  public static let plugin = PluginName.nodeAffinity
  public var addedAffinity: NodeAffinity?
  public init() {}
  public init(addedAffinity: NodeAffinity?) { self.addedAffinity = addedAffinity }

  public static func read<Reader: ArgumentsReader>(_ args: Reader) throws(Reader.Failure) -> Self {
    try args.requireKeys(in: ["apiVersion", "kind", "addedAffinity"])
    return NodeAffinityArguments(addedAffinity: try args.child("addedAffinity")?.nodeAffinity())
  }
}
