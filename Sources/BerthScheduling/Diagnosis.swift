import BerthCore

/// Why nodes were rejected in the last cycle, in kube-scheduler's words.
public struct Diagnosis: Sendable, Equatable {
  /// Nodes in the cluster.
  public var nodeCount: Int
  /// `(reason, nodes)` sorted as upstream sorts the strings `"<count> <reason>"`.
  public var reasons: [(reason: String, count: Int)]
  /// Rejections per filter plugin (first failing plugin of each node), in profile order.
  public var rejectedBy: [(plugin: PluginName, count: Int)]
  /// The reasons each rejecting plugin gave, in `rejectedBy` order (for `--explain`).
  public var reasonsByPlugin: [(plugin: PluginName, reasons: [(reason: String, count: Int)])] = []

  /// A PreFilter's rejection of every node, which upstream reports instead of node reasons.
  public var preFilterMessage: String?

  /// `0/1000 nodes are available: 45 node(s) had untolerated taint {dedicated: true}, 955 Insufficient cpu.`
  public var message: String {
    if let preFilterMessage { return "0/\(nodeCount) nodes are available: \(preFilterMessage)." }
    let parts = reasons.map { "\($0.count) \($0.reason)" }
    return "0/\(nodeCount) nodes are available: " + parts.joined(separator: ", ") + "."
  }

  public static func == (a: Diagnosis, b: Diagnosis) -> Bool { a.message == b.message }
}

extension Scheduler {
  /// The diagnosis of the last cycle's rejected rows (cold path: builds strings).
  ///
  /// A node counts each reason its first failing plugin gives (NodeResourcesFit may give
  /// several); the histogram is rendered `"<count> <reason>"` and sorted as strings, as
  /// upstream's `FitError.Error()` does.
  /// - Complexity: O(window × filter plugins), without per-node strings.
  public func diagnose(_ pod: PodID) -> Diagnosis {
    // A failed pass reused for pods of one filter shape gives each the same reasons.
    let pass = lastFailedPass
    if let pass, let kept = keptDiagnosis, kept.pass == pass { return kept.diagnosis }
    let info = PodInfo(pod, in: cluster)
    var perPlugin = [Int](repeating: 0, count: filterPlugins.count)
    var own = [[String: Int]](repeating: [:], count: filterPlugins.count)
    if let pass, let e = lastMemoEntry, e.number == pass {
      // A kept failed pass counts its rows per (filter, reason class): no pass over the nodes.
      if let d = e.diagnosis { return d }
      for i in filterPlugins.indices {
        for c in 0..<256 {
          let n = Int(e.counts[(i + 1) << 8 | c])
          guard n > 0 else { continue }
          perPlugin[i] += n
          for reason in filterPlugins[i].reasons(ofClass: UInt8(c), info, cluster: cluster) {
            own[i][reason, default: 0] += n
          }
        }
      }
      let d = assemble(perPlugin: perPlugin, reasons: own)
      e.diagnosis = d
      keptDiagnosis = (pass, d)
      return d
    }
    // SAFETY: the last window lies in the node table and the status column has a row per node.
    let st = UnsafePointer(status.base)
    // Which codes the window holds, in one pass: only those filters' rows are counted.
    var present = UInt64.max
    if filterPlugins.count <= 61 {
      present = 0
      for seg in lastWindow.segments { present |= Kernels.codeBits(st, seg) }
    }
    for (i, plugin) in filterPlugins.enumerated() where present & (1 << UInt64(min(i + 1, 63))) != 0
    {
      let code = UInt8(i + 1)
      for seg in lastWindow.segments { perPlugin[i] += Kernels.count(of: code, st, seg) }
      if perPlugin[i] > 0 {
        plugin.countReasons(
          info, cluster: cluster, window: lastWindow, status: st, code: code, into: &own[i])
      }
    }
    let d = assemble(perPlugin: perPlugin, reasons: own)
    if let pass { keptDiagnosis = (pass, d) }
    return d
  }

  /// The diagnosis from each filter's rejected rows and reasons (index: filter).
  private func assemble(perPlugin: [Int], reasons own: [[String: Int]]) -> Diagnosis {
    func sorted(_ h: [String: Int]) -> [(reason: String, count: Int)] {
      h.map { (reason: $0.key, count: $0.value) }.sorted {
        "\($0.count) \($0.reason)" < "\($1.count) \($1.reason)"
      }
    }
    var histogram: [String: Int] = [:]
    var byPlugin: [(plugin: PluginName, reasons: [(reason: String, count: Int)])] = []
    for (i, plugin) in filterPlugins.enumerated() where perPlugin[i] > 0 {
      for (reason, count) in own[i] { histogram[reason, default: 0] += count }
      byPlugin.append((plugin.name, sorted(own[i])))
    }
    let rejected = zip(filterPlugins, perPlugin).filter { $0.1 > 0 }.map {
      (plugin: $0.0.name, count: $0.1)
    }
    var d = Diagnosis(
      nodeCount: cluster.nodeCount, reasons: sorted(histogram), rejectedBy: rejected,
      preFilterMessage: lastRejection)
    d.reasonsByPlugin = byPlugin
    return d
  }

  /// Runs the filters of `pod` on one node without touching the start index. With
  /// `withNominatedPods`, a node that fits is checked again with the pods nominated to it of
  /// equal or higher priority placed there, as upstream evaluates a pod's nominated node.
  /// - Returns: the failing plugin and its reasons, or nil when the node fits.
  public func check(_ pod: PodID, on node: NodeID, withNominatedPods: Bool = false) -> (
    plugin: PluginName, reasons: [String]
  )? {
    let info = PodInfo(pod, in: cluster)
    guard let failure = firstFailingFilter(info, on: node, withNominatedPods: withNominatedPods)
    else { return nil }
    let f = filterPlugins[failure.filter]
    if failure.withNominatedPods {
      return (
        f.name,
        [
          "node(s) are reserved for a nominated pod of equal or higher priority (\(f.name.rawValue) fails with it)"
        ]
      )
    }
    return (f.name, f.failureReasons(info, cluster: cluster, node: node))
  }

  /// Whether `pod` passes every filter on `node` (no reasons built: preemption's dry runs ask
  /// this for every victim they try to reprieve).
  public func fits(_ pod: PodID, on node: NodeID) -> Bool {
    fits(PodInfo(pod, in: cluster), on: node)
  }

  /// `fits` for a pod whose `PodInfo` the caller holds (a dry run asks many times).
  public func fits(_ info: PodInfo, on node: NodeID) -> Bool {
    firstFailingFilter(info, on: node, withNominatedPods: false) == nil
  }

  /// Whether filter `i`'s rejection of `node` is UnschedulableAndUnresolvable (through the
  /// unretained plugin reference: preemption asks it for every rejected node).
  func isUnresolvable(filter i: Int, _ pod: PodInfo, node: NodeID) -> Bool {
    filterPlugins[i].isUnresolvable(pod, cluster: cluster, node: node)
  }

  /// Filters whose verdicts read the node's spec alone, never the pods on it.
  static let specOnlyFilters: Set<PluginName> = [
    .nodeUnschedulable, .nodeName, .taintToleration, .nodeAffinity,
  ]

  /// For a preemption dry run: when NodeResourcesFit is the only filter active for `info`
  /// whose verdict reads the pods on a node — the others active are NodeUnschedulable,
  /// NodeName, TaintToleration and NodeAffinity, which read the node's spec alone — and it
  /// checks no extended resource, Fit's index and the other active filters' (in order); else
  /// nil. Runs the filters' PreFilter for the pod, whose state the dry runs then use.
  func resourceOnlyFit(_ info: PodInfo) -> (fit: Int, others: [Int])? {
    var fit: Int?
    var others: [Int] = []
    for i in filterRefs.indices where filterRefs[i].preFilter(info, cluster: cluster) {
      let name = filterPlugins[i].name
      if name == .nodeResourcesFit, let plugin = filterPlugins[i] as? NodeResourcesFitPlugin,
        plugin.checksNoExtendedResource
      {
        fit = i
      } else if Scheduler.specOnlyFilters.contains(name) {
        others.append(i)
      } else {
        return nil
      }
    }
    return fit.map { ($0, others) }
  }

  /// Whether `info` passes `filters` on `node`, their PreFilter state being the pod's.
  func passes(_ info: PodInfo, on node: NodeID, filters: [Int]) -> Bool {
    filters.isEmpty
      || withClearedRow(node) { firstRejecting(info, row: $0, filters: filters) == nil }
  }

  /// The index of the first filter rejecting `node`, and whether it failed only once the
  /// nominated pods were placed. The status row is left as it was.
  private func firstFailingFilter(_ info: PodInfo, on node: NodeID, withNominatedPods: Bool) -> (
    filter: Int, withNominatedPods: Bool
  )? {
    withClearedRow(node) { r in
      // Through the unretained plugin references: preemption's dry runs call this per candidate.
      let active = filterRefs.indices.lazy.filter {
        self.filterRefs[$0].preFilter(info, cluster: self.cluster)
      }
      if let i = firstRejecting(info, row: r, filters: active) { return (i, false) }
      guard withNominatedPods, nominatedOnNode[r] != nil else { return nil }
      filterWithNominatedPods(info, rows: r..<(r + 1), restoring: false)
      return status[r] == 0 ? nil : (Int(status[r]) - 1, true)
    }
  }

  /// Runs `body` on row `node` of the status column cleared, restoring it afterwards: the
  /// single-node checks borrow the cycle's column.
  private func withClearedRow<T>(_ node: NodeID, _ body: (Int) -> T) -> T {
    // SAFETY: `node` is a node row; the status column has a row per node.
    ensureScratchCapacity()
    let r = node.index
    let saved = status[r]
    defer { status[r] = saved }
    status[r] = 0
    return body(r)
  }

  /// The first of `filters` rejecting row `r` (cleared by the caller), or nil.
  private func firstRejecting(_ info: PodInfo, row r: Int, filters: some Sequence<Int>) -> Int? {
    // SAFETY: `r` is a node row; the status column has a row per node (`withClearedRow`).
    let st = status.base
    for i in filters {
      filterRefs[i].filter(
        info, cluster: cluster, rows: r..<(r + 1), status: st, code: UInt8(i + 1))
      if st[r] != 0 { return i }
    }
    return nil
  }

  /// The feasible rows of the last cycle's window, in iteration order.
  public var lastFeasibleRows: [Int] { lastWindow.rows.filter { status[$0] == 0 } }
}

/// One topology spread constraint of a pod and the domains it counts (for `--explain`).
public struct SpreadExplanation: Sendable {
  public var constraint: TopologySpreadConstraint
  /// The constraint is one of the system defaults, not the pod's own.
  public var systemDefault: Bool
  /// Domains in value order, with the matching pods counted in each; value `""` is the domain of
  /// nodes without the key (system defaults only).
  public var domains: [(value: String, matching: Int64)]
}

/// One pod-affinity term that bears on a pod, with the pods it counts per domain.
public struct AffinityExplanation: Sendable {
  /// "required affinity", "preferred anti-affinity", … for the pod's own terms; prefixed
  /// "bound pods'" for terms bound pods hold that match this pod.
  public var role: String
  public var topologyKey: String
  /// Preferred terms' weight (negative for anti-affinity); hardPodAffinityWeight for bound pods'
  /// required affinity; nil for filters.
  public var weight: Int64?
  /// Domains holding counted pods (for bound pods' terms: the holders), in value order.
  public var domains: [(value: String, count: Int64)]
}

extension Scheduler {
  /// The pod's own affinity terms and bound pods' terms that match it, with per-domain counts
  /// as InterPodAffinity sees them now; empty when the profile lacks the plugin.
  public func explainAffinity(_ pod: PodID) -> [AffinityExplanation] {
    let plugin =
      filterPlugins.lazy.compactMap { $0 as? InterPodAffinityPlugin }.first
      ?? scorePlugins.lazy.compactMap { $0 as? InterPodAffinityPlugin }.first
    return plugin?.explain(PodInfo(pod, in: cluster), cluster: cluster) ?? []
  }

  /// The pod's topology spread constraints and the domain counts PodTopologySpread sees now;
  /// empty when the profile lacks the plugin or the pod has no constraints.
  /// - Complexity: O(nodes × constraints).
  public func explainSpread(_ pod: PodID) -> [SpreadExplanation] {
    let plugin =
      filterPlugins.lazy.compactMap { $0 as? PodTopologySpreadPlugin }.first
      ?? scorePlugins.lazy.compactMap { $0 as? PodTopologySpreadPlugin }.first
    return plugin?.explain(PodInfo(pod, in: cluster), cluster: cluster) ?? []
  }
}
