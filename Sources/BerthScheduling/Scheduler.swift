import BerthCore

/// How the host is chosen among nodes tied at the highest total score.
public enum TieBreak: String, Sendable, CaseIterable {
  /// Uniform among the tied nodes with one seeded draw: the same distribution as upstream's
  /// reservoir sampling in `selectHost`, at one random number per pod instead of one per tie.
  case uniform
  /// The tied node earliest in node-tree order (lowest row): fully deterministic, no draw.
  case lowestIndex
}

/// What one scheduling cycle decided.
public struct ScheduleOutcome: Sendable, Equatable {
  public var pod: PodID
  /// The chosen node, nil when the pod is unschedulable.
  public var node: NodeID?
  /// Nodes the filters examined (feasible plus rejected), as upstream's `EvaluatedNodes`.
  public var evaluatedNodes: Int
  public var feasibleNodes: Int
  /// The highest total score (nil when fewer than two nodes were feasible, so nothing was scored).
  public var topScore: Int64?
}

extension PluginName {
  public static let defaultBinder = PluginName("DefaultBinder")
}

/// The kube-scheduler scheduling cycle over struct-of-arrays tables.
///
/// Per pod: PreFilter each filter plugin, then walk the nodes in node-tree order from the
/// rotating start index, chunk by chunk, running each active filter over the chunk's rows into
/// a status column (0 = feasible, else the 1-based index of the first failing filter), until
/// `numFeasibleNodesToFind` feasible nodes are found. The rows walked form the cycle's `Window`.
/// Score plugins then run over the window's feasible rows into per-plugin columns, which are
/// normalised, weighted and summed into a total column; the host is the maximum, ties broken per
/// `tieBreak`. Nothing in a pass allocates, looks up a dictionary or touches a string.
public final class Scheduler {
  /// The Bind plugin: a placement binds the pod to its node at once.
  static let defaultBinder = PluginDescriptor(.defaultBinder, [.bind])
  public let cluster: Cluster
  public let profile: Profile
  public let filterPlugins: [any FilterPlugin]
  public let scorePlugins: [any ScorePlugin]
  public let scoreWeights: [Int64]
  /// Unretained views of the two lists (which own the plugins) for the per-cycle loops, so a
  /// cycle's dozens of plugin calls cost no reference counting (see `FilterCall`).
  let filterRefs: [FilterCall]
  private let scoreRefs: [ScoreCall]
  @exclusivity(unchecked) public var tieBreak: TieBreak
  /// When set (a rank per node row), ties go to the node of lowest rank instead of `tieBreak`:
  /// the FGD simulator's seeded node permutation.
  @exclusivity(unchecked) public var tieRanks: [Int32]?
  /// The profile's plugins that choose GPU devices (Reserve), in profile order.
  let reservePlugins: [any ReservePlugin]
  /// What every profile of one kube-scheduler shares: the start index, the tie-breaking draws
  /// and the nominations (see `SharedCycleState`).
  public let shared: SharedCycleState
  /// Upstream's `nextStartNodeIndex`: where the next cycle's walk begins (one for all profiles).
  public var nextStartNodeIndex: Int { shared.nextStartNodeIndex }

  /// Rows per filter chunk: the rows still needed at the feasible rate seen so far (all rows
  /// feasible before the first chunk), with an eighth more and rounded up to 64, between 64 and
  /// 4,096 — enough that the per-chunk plugin calls vanish against the per-row work, few enough
  /// that little is filtered past the row that completes the search. The chunking never changes
  /// a decision, only how many rows past the cut get filtered for nothing.
  @inline(__always) static func chunkRows(toFind: Int, feasible: Int, examined: Int) -> Int {
    let expected = feasible == 0 ? (examined == 0 ? toFind : 4_096) : toFind * examined / feasible
    return min(max((expected + expected / 8 + 63) & ~63, 64), 4_096)
  }
  /// Rows per scoring chunk: a plugin's scores for 2,048 rows (16 KiB) are summed while in L1.
  /// Chunks begin at multiples of it (row numbers), so two never share a word of the node-local
  /// caches' bitmaps (64 rows per word) and a pass can be split between threads by chunk.
  public static let scoreChunkRows = 2048

  /// Split long filter and score passes between the calling thread and the process's
  /// `SpinningWorker`, by chunks of `scoreChunkRows`, when every plugin of the pass allows it
  /// (`filtersRowsConcurrently`, `scoresRowsConcurrently`). Decisions are the same either way:
  /// each chunk's verdicts, scores and maximum are its own. Off by default — experiments run
  /// side by side already use the cores; `berth schedule --cores 2` turns it on.
  @exclusivity(unchecked) public var usesSecondCore = false
  /// Walks shorter than this stay on one core: handing a job over costs about a microsecond.
  public static let splitRows = 4_096
  /// Filter and score passes handed to both threads so far.
  @exclusivity(unchecked) public private(set) var splitPasses = 0

  // Scratch columns, one row per node; reused by every cycle.
  @exclusivity(unchecked) public private(set) var status: Column<UInt8>
  @exclusivity(unchecked) public private(set) var scoreColumns: [Column<Int64>]
  @exclusivity(unchecked) public private(set) var total: Column<Int64>
  @exclusivity(unchecked) private var activeFilters = ScratchList<Int>()
  @exclusivity(unchecked) private var perNode = ScratchList<
    (column: UnsafeMutablePointer<Int64>, weight: Int64)
  >()
  @exclusivity(unchecked) private var chunked = ScratchList<Int>()
  /// The score columns and weights summed into `total` for one chunk.
  @exclusivity(unchecked) private var terms = ScratchList<
    (column: UnsafePointer<Int64>, weight: Int64)
  >()
  /// The largest total the last `scoreFeasibleNodes` wrote (`Int64.min`: no feasible row).
  @exclusivity(unchecked) private var windowMax = Int64.min
  /// The last `scoreFeasibleNodes`' chunks in walk order, each with its largest total and how
  /// many of its rows have that total: `selectHost` finds the tie it draws from these.
  @exclusivity(unchecked) private var scoreChunks = ScratchList<ScoreChunk>()
  /// The score columns the chunked and cached plugins write (per `chunked`, `cached` entry).
  @exclusivity(unchecked) private var chunkedColumns = ScratchList<UnsafeMutablePointer<Int64>>()
  @exclusivity(unchecked) private var cachedColumns = ScratchList<UnsafeMutablePointer<Int64>>()
  /// Per chunk of a filter pass split between threads, its feasible rows.
  @exclusivity(unchecked) private var feasibleInChunk = ScratchList<Int>()
  /// Whether the last `scoreFeasibleNodes` counted each chunk's ties.
  @exclusivity(unchecked) private var countsTies = false
  /// The uniform plugins' weighted scores, added to every row's total.
  @exclusivity(unchecked) private var scoreConstant: Int64 = 0
  /// How the weighted sum multiplies `terms` (decided once per cycle).
  @exclusivity(unchecked) private var termWeights = Kernels.TermWeights.unit
  /// Whether the last `findFeasibleNodes` scored the window too (`scoresWhileFiltering`).
  @exclusivity(unchecked) private var scoredWhileFiltering = false
  /// Cycles whose window was scored while filtering so far.
  @exclusivity(unchecked) public private(set) var passesScoredWhileFiltering = 0

  /// Keep node-local filter verdicts and raw scores across cycles (see
  /// `FilterPlugin.verdictsAreNodeLocal`, `ScorePlugin.scoresAreNodeLocal`): a row is
  /// recomputed only when the pod's shape, the nodes' shape (a node added or updated) or that
  /// node's pods changed. Off, every cycle
  /// filters and scores every row afresh (the reference the caches are tested against).
  @exclusivity(unchecked) public var cachesNodeLocalResults = true
  private let nodeLocal: NodeLocalCache
  /// Whether this cycle's `findFeasibleNodes` found the node-local cache describing another pod
  /// shape (or stale nodes) and emptied it. The cycle then scores the node-local plugins
  /// straight into their columns, leaving every row's bit clear: keeping the cache for a shape
  /// seen once (clusters of all-different pods) would cost a bitmap walk per chunk. A second
  /// pod of the shape finds the cache empty but its own, scores every row into it and marks them.
  @exclusivity(unchecked) private var nodeLocalJustEmptied = false
  /// Answer a pod from the last pass that found no node when nothing that pass read has changed
  /// (see `findFeasibleNodes`). Off, every cycle filters (the reference it is tested against).
  @exclusivity(unchecked) public var reusesFailedPasses = true
  /// Filter and score a walk split into short runs — zones interleaved after nodes came and
  /// went, one row per run — in row order: the rows' verdicts and scores are the same in any
  /// order, and only the window's bounds and the choice among ties follow the walk, while the
  /// plugins' per-call costs, paid per run, were most of a cycle. Off, runs are filtered and
  /// scored one by one in walk order (the reference it is tested against).
  @exclusivity(unchecked) public var reordersFragmentedWalks = true
  /// Score a cycle's window chunk by chunk right after filtering it — one pass, and one job
  /// for the second core, instead of two — when the cycle filters every node (percentage 100,
  /// or a cluster small enough), no plugin's PreScore reads the feasible rows for the pod
  /// (`ScorePlugin.preScoreReadsFeasibleRows`), none normalises, and no pod is nominated.
  /// Scores, totals and choices are the same either way; PreScore runs before the filters
  /// instead of after. Off, filtering and scoring are separate passes (the reference it is
  /// tested against).
  @exclusivity(unchecked) public var scoresWhileFiltering = true
  /// Runs at most this many rows long on average make a walk fragmented.
  static let fragmentedRunLength = 4
  /// The last walk put in row order, and that order.
  @exclusivity(unchecked) private var rowOrder: (of: NodeWalk, walk: NodeWalk)?
  /// Per filter index: its slot in `nodeLocal`, -1 when its verdicts are not cached.
  private let verdictSlot: [Int]
  @exclusivity(unchecked) private var cached = ScratchList<Int>()
  @exclusivity(unchecked) private var lastCached = ScratchList<Int>()

  /// The last cycle's window and each score plugin's mode, for `--explain` and score dumps.
  @exclusivity(unchecked) public private(set) var lastWindow = Window(
    start: 0, length: 0, nodeCount: 0)
  @exclusivity(unchecked) public private(set) var lastModes: [ScoreMode] = []
  /// Set when a PreFilter rejected the pod outright in the last cycle; replaces per-node reasons.
  @exclusivity(unchecked) public private(set) var lastRejection: String?
  /// Pods nominated to a node by preemption and not yet bound there, by node row. A pod being
  /// scheduled must also fit a node with the nominated pods of equal or higher priority added
  /// (upstream's `RunFilterPluginsWithNominatedPods`), whichever profile nominated them.
  public var nominatedOnNode: [Int: [PodID]] { shared.nominatedOnNode }

  /// The node preemption nominated for the pod, if any.
  public func nominatedNode(of pod: PodID) -> NodeID? { shared.nominatedNode(of: pod) }

  /// Records (or with nil clears) the pod's nominated node.
  public func nominate(_ pod: PodID, to node: NodeID?) { shared.nominate(pod, to: node) }

  /// The index (into `filterPlugins`) of the plugin behind `lastRejection`.
  @exclusivity(unchecked) public private(set) var lastRejectingFilter: Int?

  /// A full pass that found no feasible node, and what it read: the pod's filter shape, the
  /// active filters (bit i: filter i), the node journal's count and the nodes' shape. While all
  /// of these are unchanged, the status column still holds each node's first failing filter for
  /// any pod of that filter shape, wherever the pass started.
  private struct FailedPass: Equatable {
    var shape: FilterShape
    var filters: UInt64
    var nodeChanges: UInt64
    var nodeShape: UInt64

    var memoKey: FailedPassMemo.Key { FailedPassMemo.Key(shape: shape, filters: filters) }
  }
  /// The last failed pass, while the status column is still its own (cleared by anything else
  /// that writes the column).
  @exclusivity(unchecked) private var failedPass: FailedPass?
  @exclusivity(unchecked) private var filterShapes = FilterShapes()
  /// Passes skipped so far because a failed pass answered them.
  @exclusivity(unchecked) public private(set) var reusedFailedPasses = 0
  /// Of those, the ones a kept pass answered once the rows changed since were filtered again.
  @exclusivity(unchecked) public private(set) var refreshedFailedPasses = 0
  @exclusivity(unchecked) private var failedPasses: UInt64 = 0
  /// The number of the kept failed pass whose verdicts the last `findFeasibleNodes` left in the
  /// status column (it ran or reused that pass), else nil. Equal after two cycles, the column
  /// holds the same verdicts: what a caller derived from it then still holds.
  @exclusivity(unchecked) public private(set) var lastFailedPass: UInt64?
  /// The diagnosis of a kept failed pass, by its number.
  @exclusivity(unchecked) var keptDiagnosis: (pass: UInt64, diagnosis: Diagnosis)?
  /// The number of the failed pass `failedPass` describes.
  @exclusivity(unchecked) private var failedPassNumber: UInt64 = 0
  /// Failed passes kept per filter shape, followed through the node journal (with
  /// `reusesFailedPasses`).
  private let memo = FailedPassMemo()
  /// The memo entry the last cycle's failed pass came from or went to.
  @exclusivity(unchecked) var lastMemoEntry: FailedPassMemo.Entry?
  /// The memo entry of `failedPass`, if it has one.
  @exclusivity(unchecked) private var memoEntryOfLastPass: FailedPassMemo.Entry?

  /// - Parameter other: a scheduler of another profile of the same kube-scheduler, whose
  ///   start index, tie-breaking draws and nominations this one shares (upstream keeps them in
  ///   the scheduler and its queue, not in a profile). The seed is then unused.
  public init(
    cluster: Cluster, profile: Profile = .default, seed: UInt64, tieBreak: TieBreak = .uniform,
    sharingWith other: Scheduler? = nil
  ) {
    precondition(
      other.map { $0.cluster === cluster } ?? true, "profiles of one scheduler share one cluster")
    self.cluster = cluster
    self.profile = profile
    self.tieBreak = tieBreak
    self.shared = other?.shared ?? SharedCycleState(seed: seed)
    // One instance per plugin, serving every extension point it is enabled at.
    var instances: [PluginName: any SchedulingPlugin] = [:]
    func instance(_ name: PluginName) -> (any SchedulingPlugin)? {
      if let p = instances[name] { return p }
      let p = PluginRegistry.make(name, PluginContext(profile: profile, seed: seed))
      instances[name] = p
      return p
    }
    filterPlugins = profile.filters.compactMap { instance($0) as? any FilterPlugin }
    let scored = profile.scores.compactMap { w in
      (instance(w.name) as? any ScorePlugin).map { ($0, w.weight) }
    }
    scorePlugins = scored.map(\.0)
    var reserving: [any ReservePlugin] = []
    for name in profile.filters + profile.scores.map(\.name) {
      if let r = instances[name] as? any ReservePlugin, !reserving.contains(where: { $0 === r }) {
        reserving.append(r)
      }
    }
    reservePlugins = reserving
    scoreWeights = scored.map(\.1)
    filterRefs = filterPlugins.map(FilterCall.init)
    scoreRefs = scorePlugins.map(ScoreCall.init)
    precondition(filterPlugins.count < 255, "at most 254 filter plugins")
    var slots = 0
    verdictSlot = filterPlugins.map { f in
      guard f.verdictsAreNodeLocal else { return -1 }
      slots += 1
      return slots - 1
    }
    nodeLocal = NodeLocalCache(filterSlots: slots)
    let n = cluster.nodes.count
    status = Column(repeating: 0, count: n)
    scoreColumns = scored.map { _ in Column(repeating: 0, count: n) }
    total = Column(repeating: 0, count: n)
  }

  deinit {
    // SAFETY: the scheduler owns its scratch lists alone; none is used after deinit.
    for list in [activeFilters, chunked, cached, lastCached, feasibleInChunk] { list.deallocate() }
    perNode.deallocate()
    terms.deallocate()
    scoreChunks.deallocate()
    chunkedColumns.deallocate()
    cachedColumns.deallocate()
  }

  /// Schedules one pod and, on success, binds it.
  public func scheduleOne(_ pod: PodID, bind: Bool = true) -> ScheduleOutcome {
    let info = PodInfo(pod, in: cluster)
    let (window, feasible, evaluated) = findFeasibleNodes(info, scoringAlong: true)
    var outcome = ScheduleOutcome(
      pod: pod, node: nil, evaluatedNodes: evaluated, feasibleNodes: feasible, topScore: nil)
    // Upstream scores only with two or more feasible nodes (a score taken while filtering
    // is then dropped, PreScore's modes with it).
    if feasible < 2 { lastModes.removeAll(keepingCapacity: true) }
    if feasible == 0 { return outcome }
    if feasible == 1 {
      outcome.node = firstFeasible(in: window)
    } else {
      if !scoredWhileFiltering { scoreFeasibleNodes(info, window: window) }
      let (node, top) = selectHost(window: window)
      outcome.node = node
      outcome.topScore = top
    }
    if bind, let node = outcome.node {
      cluster.bind(pod, to: node, gpus: devices(for: info, on: node))
    }
    return outcome
  }

  /// The GPU devices `pod` takes on `node` by the profile's Reserve plugins (nil: the default
  /// choice, and for pods without GPUs).
  public func devices(for pod: PodInfo, on node: NodeID) -> UInt8? {
    guard !reservePlugins.isEmpty, cluster.pods.gpuCount[pod.id.index] > 0 else { return nil }
    for r in reservePlugins {
      if let mask = r.reserveDevices(pod, cluster: cluster, node: node) { return mask }
    }
    return nil
  }

  // MARK: Filtering

  /// `numFeasibleNodesToFind`: all nodes under 100; else the percentage (adaptive when 0 or
  /// unset: 50 − N/125, floor 5) of N, at least 100. 1 when the profile has no score plugins.
  public static func numFeasibleNodesToFind(
    nodeCount n: Int, percentage: Int32?, hasScorePlugins: Bool = true
  ) -> Int {
    if !hasScorePlugins { return min(1, n) }
    if n < 100 { return n }
    var pct = Int(percentage ?? 0)
    if pct == 0 { pct = max(50 - n / 125, 5) }
    let count = n * pct / 100
    return max(count, 100)
  }

  /// Runs the filters from the rotating start until enough feasible nodes are found, and
  /// advances the start index by the rows examined.
  /// - Complexity: O(rows examined × active filters).
  public func findFeasibleNodes(_ pod: PodInfo) -> (Window, feasible: Int, evaluated: Int) {
    findFeasibleNodes(pod, scoringAlong: false)
  }

  /// `findFeasibleNodes`; with `scoringAlong`, a cycle that filters every node may score the
  /// window in the same pass (`scoresWhileFiltering`; `scoredWhileFiltering` says whether it
  /// did — meaningful when two or more rows are feasible).
  private func findFeasibleNodes(_ pod: PodInfo, scoringAlong: Bool) -> (
    Window, feasible: Int, evaluated: Int
  ) {
    ensureScratchCapacity()
    scoredWhileFiltering = false
    let walk = cluster.walk
    let n = walk.count
    lastRejection = nil
    lastRejectingFilter = nil
    lastFailedPass = nil
    lastMemoEntry = nil
    guard n > 0 else {
      lastWindow = Window(start: 0, length: 0, walk: walk)
      return (lastWindow, 0, 0)
    }
    activeFilters.removeAll()
    for i in filterRefs.indices where filterRefs[i].preFilter(pod, cluster: cluster) {
      activeFilters.append(i)
    }
    let start = shared.nextStartNodeIndex % n
    // Pods that fit nowhere come in runs — a Deployment scaled past the cluster, each pod
    // retried on every node that joins — and each would cost a pass over every node. A pass
    // that found no node is the answer for a pod of the same filter shape while no node has
    // changed, if every active filter reads only that shape and the nodes; the status column
    // still holds that pass's verdicts, and a failed pass leaves the start index where it was.
    let pass = failedPassKey(pod)
    if let pass, pass == failedPass {
      lastFailedPass = failedPassNumber
      lastMemoEntry = memoEntryOfLastPass
      reusedFailedPasses += 1
      lastWindow = Window(start: start, length: n, walk: walk)
      return (lastWindow, 0, n)
    }
    failedPass = nil
    memoEntryOfLastPass = nil
    if let pass, refreshFromMemo(pod, pass: pass, walk: walk) {
      lastWindow = Window(start: start, length: n, walk: walk)
      return (lastWindow, 0, n)
    }
    // A cycle that starts with an empty cache filters straight into the status column: storing
    // verdicts for a pod shape seen once would cost a pass (clusters of all-different pods).
    nodeLocalJustEmptied =
      cachesNodeLocalResults && nodeLocal.sync(PodShape(pod, in: cluster), cluster: cluster)
    let reuseVerdicts = cachesNodeLocalResults && !nodeLocalJustEmptied
    for i in activeFilters {
      switch filterRefs[i].restrictNodes(pod, cluster: cluster) {
      case .all: continue
      case .rows(let rows): return findFeasibleNodes(pod, among: rows, walk: walk)
      case .rejectAll(let reason):
        lastRejection = reason
        lastRejectingFilter = i
        failedPass = nil
        status.fill(255)
        lastWindow = Window(start: 0, length: n, walk: walk)
        return (lastWindow, 0, 0)
      }
    }
    let toFind = Scheduler.numFeasibleNodesToFind(
      nodeCount: n, percentage: profile.percentageOfNodesToScore,
      hasScorePlugins: !scorePlugins.isEmpty)

    // SAFETY: every segment is a range of walk rows, all below the table's row count, and the
    // scratch columns hold a row per table row (`ensureScratchCapacity` above).
    assert(status.count >= walk.rowCount && toFind >= 1, "scratch columns shorter than the table")
    let st = status.base
    // A fragmented walk is filtered whole, in row order, once the search needs more than a
    // first chunk — at once when that chunk would be an eighth of the nodes or more.
    let fragmented = isFragmented(walk)
    // With a second core, a search that must examine every remaining row takes them in one
    // chunk, filtered in pieces by both threads.
    var concurrent = usesSecondCore && n >= Self.splitRows && nominatedOnNode.isEmpty
    for i in activeFilters { concurrent = concurrent && filterRefs[i].filtersRowsConcurrently }
    var filteredAll = false
    var examined = 0
    var feasible = 0
    if scoringAlong && scoresWhileFiltering && !fragmented && toFind >= n
      && nominatedOnNode.isEmpty && !scoreRefs.isEmpty
      && !scoreRefs.contains(where: { $0.preScoreReadsFeasibleRows(pod, cluster: cluster) }),
      let found = filterAndScore(
        pod, window: Window(start: start, length: n, walk: walk), reuseVerdicts: reuseVerdicts,
        filtersConcurrently: concurrent)
    {
      scoredWhileFiltering = true
      passesScoredWhileFiltering += 1
      examined = n
      feasible = found
    }
    search: while examined < n && feasible < toFind {
      if fragmented && !filteredAll && (examined > 0 || toFind * 8 >= n) {
        for rows in rowOrderWalk(walk).segments(start: 0, length: n) {
          filter(pod, rows: rows, status: st, reuseVerdicts: reuseVerdicts)
        }
        filteredAll = true
      }
      // A chunk of walk positions, never wrapping past the end: one row range for a walk in
      // row order, a range per run after node churn.
      let p = (start + examined) % n
      let length = min(
        filteredAll || (concurrent && toFind - feasible >= n - examined)
          ? n
          : Scheduler.chunkRows(toFind: toFind - feasible, feasible: feasible, examined: examined),
        n - examined, n - p)
      for rows in Window.segments(of: walk, start: p, length: length) {
        assert(!rows.isEmpty && rows.upperBound <= walk.rowCount, "an empty or out-of-table run")
        let inRows: Int
        if concurrent && !filteredAll && rows.count >= 2 * Self.scoreChunkRows {
          inRows = filterConcurrently(pod, rows: rows, status: st, reuseVerdicts: reuseVerdicts)
        } else {
          if !filteredAll { filter(pod, rows: rows, status: st, reuseVerdicts: reuseVerdicts) }
          inRows = Kernels.countZeros(st, rows)
        }
        if feasible + inRows >= toFind {
          // Stop right after the node that completes the search, as a sequential walk would.
          let cut = Kernels.indexOfZero(st, rows, ordinal: toFind - feasible)
          examined += cut - rows.lowerBound + 1
          feasible = toFind
          break search
        }
        examined += rows.count
        feasible += inRows
      }
    }
    assert(feasible <= examined && examined <= n, "more feasible rows than rows examined")
    shared.nextStartNodeIndex = (start + examined) % n
    let window = Window(start: start, length: examined, walk: walk)
    lastWindow = window
    if feasible == 0 && nominatedOnNode.isEmpty {
      assert(examined == n, "a failed pass that stopped early")
      failedPass = pass
      if let pass {
        failedPasses &+= 1
        failedPassNumber = failedPasses
        lastFailedPass = failedPasses
        memoEntryOfLastPass = nil
        if memo.wantsEntry(pass.memoKey) { keep(pod, pass: pass, walk: walk) }
      }
    }
    return (window, feasible, examined)
  }

  /// Bit i: filter i rejected some node in the last cycle, when a kept failed pass counts its
  /// rows per filter (no pass over the status column needed); else nil.
  public var lastRejectingFiltersOfKeptPass: UInt64? {
    guard let pass = lastFailedPass, let e = lastMemoEntry, e.number == pass else { return nil }
    return e.rejectingFilters
  }

  /// Answers a pod from the memo's failed pass for its shape, with the rows the node journal
  /// names since filtered again: the status column then holds that pass, as a full pass would
  /// have left it. False (the cycle filters in full) without an entry, when too many rows
  /// changed, or when a changed row now fits.
  private func refreshFromMemo(_ pod: PodInfo, pass: FailedPass, walk: NodeWalk) -> Bool {
    memo.sync(nodeShape: pass.nodeShape)
    let key = pass.memoKey
    guard let e = memo.entry(key) else { return false }
    let nodes = cluster.nodes
    let changes = nodes.changeCount
    // Stale (too many changes for a refresh): a new failure fills the entry again.
    guard e.walk === walk, changes &- e.cursor <= FailedPassMemo.refreshLimit(rows: walk.count)
    else { return false }
    // SAFETY: journal entries are node rows of the current node shape (a node added or removed
    // empties the memo), below the entry's row count; the ring is indexed modulo its size.
    let journal = UnsafePointer(nodes.journal.base)
    let (est, ecl) = (e.status.base, e.classes.base)
    var moved = false
    for c in e.cursor..<changes {
      let r = Int(journal[Int(c % UInt64(NodeTable.journalCapacity))])
      assert(r >= 0 && r < e.status.count, "a journal row outside the kept pass")
      let (oldCode, oldClass) = (est[r], ecl[r])
      est[r] = 0
      for i in activeFilters {
        filterRefs[i].filter(
          pod, cluster: cluster, rows: r..<(r + 1), status: est, code: UInt8(i + 1))
      }
      let code = est[r]
      guard code != 0 else {
        // The row fits: the cycle filters in full. The entry stays at its cursor (rows already
        // refreshed are refreshed again from there: a refresh is idempotent), and counts that
        // moved give it a new number when it next answers.
        est[r] = oldCode
        if moved { e.number = 0 }
        return false
      }
      guard
        filterPlugins[Int(code) - 1].classifyRejections(
          pod, cluster: cluster, rows: r..<(r + 1), status: est, code: code, into: ecl)
      else {
        memo.drop(key)
        return false
      }
      if e.recount(row: r, oldCode: oldCode, oldClass: oldClass) { moved = true }
    }
    e.cursor = changes
    if moved || e.number == 0 {
      failedPasses &+= 1
      e.number = failedPasses
      e.diagnosis = nil
    }
    assert(status.count >= e.status.count, "a kept pass longer than the status column")
    status.base.update(from: est, count: e.status.count)
    failedPass = pass
    failedPassNumber = e.number
    lastFailedPass = e.number
    memoEntryOfLastPass = e
    lastMemoEntry = e
    reusedFailedPasses += 1
    refreshedFailedPasses += 1
    return true
  }

  /// Keeps the failed pass just made in the memo: the status column, each rejected row's
  /// reason class and the rows per (filter, class). Nothing is kept when a rejecting filter
  /// cannot classify its reasons.
  private func keep(_ pod: PodInfo, pass: FailedPass, walk: NodeWalk) {
    let rows = walk.rowCount
    let codes = filterPlugins.count + 1
    let e: FailedPassMemo.Entry
    if let old = memo.existing(pass.memoKey), old.walk === walk, old.status.count == rows {
      // Filled again in place: no allocation (and no fresh pages) per stale entry.
      e = old
      e.cursor = pass.nodeChanges
      e.number = failedPassNumber
      e.diagnosis = nil
      for i in e.counts.indices { e.counts[i] = 0 }
      for i in e.perCode.indices { e.perCode[i] = 0 }
    } else {
      e = FailedPassMemo.Entry(
        walk: walk, rows: rows, codes: codes, cursor: pass.nodeChanges, number: failedPassNumber)
    }
    // SAFETY: the status column and the entry's columns hold `rows` rows; segments are walk rows.
    assert(status.count >= rows, "a status column shorter than the walk's rows")
    let st = UnsafePointer(status.base)
    e.status.base.update(from: st, count: rows)
    let cls = e.classes.base
    var present: UInt64 = 0
    for seg in walk.segments(start: 0, length: walk.count) { present |= Kernels.codeBits(st, seg) }
    // Bit 0 stands for fitting rows (and 64, 128, 192), bit 63 for rows outside (and 63, …):
    // neither belongs in a failed pass of at most 61 filters. An entry filled in part (its
    // old counts zeroed above) must not stay.
    guard filterPlugins.count <= 61, present & (1 | 1 << 63) == 0 else {
      memo.drop(pass.memoKey)
      return
    }
    for i in activeFilters where present & (1 << UInt64(i + 1)) != 0 {
      for seg in walk.segments(start: 0, length: walk.count) {
        guard
          filterPlugins[i].classifyRejections(
            pod, cluster: cluster, rows: seg, status: st, code: UInt8(i + 1), into: cls)
        else {
          memo.drop(pass.memoKey)
          return
        }
      }
    }
    e.counts.withUnsafeMutableBufferPointer { counts in
      for seg in walk.segments(start: 0, length: walk.count) {
        for r in seg { counts[Int(st[r]) << 8 | Int(cls[r])] += 1 }
      }
    }
    for code in 1..<codes {
      e.perCode[code] = e.counts[(code << 8)..<((code + 1) << 8)].reduce(0, +)
    }
    memo.store(e, for: pass.memoKey)
    memoEntryOfLastPass = e
    lastMemoEntry = e
  }

  /// Runs the active filters (and the nominated pods' check) on `rows`, from a clean status.
  @inline(__always)
  private func filter(
    _ pod: PodInfo, rows: Range<Int>, status st: UnsafeMutablePointer<UInt8>, reuseVerdicts: Bool
  ) {
    // SAFETY: `rows` are walk rows and the status column holds a row per table row (callers).
    st.advanced(by: rows.lowerBound).update(repeating: 0, count: rows.count)
    for i in activeFilters {
      if reuseVerdicts && verdictSlot[i] >= 0 {
        applyCachedVerdicts(pod, filter: i, rows: rows)
      } else {
        filterRefs[i].filter(pod, cluster: cluster, rows: rows, status: st, code: UInt8(i + 1))
      }
    }
    if !nominatedOnNode.isEmpty { filterWithNominatedPods(pod, rows: rows) }
  }

  /// `filter` on `rows` by chunks shared with the worker thread, each chunk's feasible rows
  /// counted while in cache; returns their sum.
  private func filterConcurrently(
    _ pod: PodInfo, rows: Range<Int>, status st: UnsafeMutablePointer<UInt8>, reuseVerdicts: Bool
  ) -> Int {
    let chunks = AlignedChunks(rows)
    splitPasses += 1
    feasibleInChunk.removeAll()
    for _ in 0..<chunks.count { feasibleInChunk.append(0) }
    let counts = feasibleInChunk.base
    SpinningWorker.shared.forEach(chunks.count) { k in
      // SAFETY: chunk k lies in `rows`; each call writes only its rows and its count.
      filter(pod, rows: chunks[k], status: st, reuseVerdicts: reuseVerdicts)
      counts[k] = Kernels.countZeros(st, chunks[k])
    }
    var total = 0
    for k in 0..<chunks.count { total &+= counts[k] }
    return total
  }

  /// Whether `walk` is split into runs short enough to filter and score in row order.
  private func isFragmented(_ walk: NodeWalk) -> Bool {
    reordersFragmentedWalks && walk.runCount > 1
      && walk.runCount * Self.fragmentedRunLength > walk.count
  }

  /// `walk`'s rows in row order, as a walk: made once per walk (a walk is remade whenever a
  /// node comes or goes).
  private func rowOrderWalk(_ walk: NodeWalk) -> NodeWalk {
    if walk === cluster.walk { return cluster.rowOrderWalk }
    if let r = rowOrder, r.of === walk { return r.walk }
    var inWalk = [Bool](repeating: false, count: walk.rowCount)
    for seg in walk.segments(start: 0, length: walk.count) {
      for r in seg { inWalk[r] = true }
    }
    var order: [Int32] = []
    order.reserveCapacity(walk.count)
    for r in inWalk.indices where inWalk[r] { order.append(Int32(r)) }
    let sorted = NodeWalk(order: order, rowCount: walk.rowCount)
    rowOrder = (walk, sorted)
    return sorted
  }

  /// What a failed pass for `pod` would read (`activeFilters` are the pod's), or nil when it
  /// could read more: reuse is off, pods are nominated, or an active filter looks past the
  /// pod's filter shape and the nodes (spread, inter-pod affinity).
  private func failedPassKey(_ pod: PodInfo) -> FailedPass? {
    guard reusesFailedPasses && nominatedOnNode.isEmpty && filterRefs.count <= 64 else {
      return nil
    }
    var filters: UInt64 = 0
    for i in activeFilters {
      guard filterRefs[i].verdictsFollowFilterShape else { return nil }
      filters |= 1 << UInt64(i)
    }
    return FailedPass(
      shape: FilterShape(pod, in: cluster, nodeConstraints: filterShapes.number(of: pod)),
      filters: filters, nodeChanges: cluster.nodes.changeCount,
      nodeShape: cluster.nodeShapeVersion)
  }

  /// The cycle over a PreFilter-narrowed node list: upstream walks only those nodes, from the
  /// start index modulo their count, and leaves the start index modulo their count too. Rows
  /// outside the list get status 255 and take no part in scoring; the window spans all rows.
  private func findFeasibleNodes(_ pod: PodInfo, among narrowed: [Int], walk: NodeWalk) -> (
    Window, feasible: Int, evaluated: Int
  ) {
    // In node-tree order (ascending rows until nodes churn).
    let rows =
      walk.isIdentity
      ? narrowed : narrowed.sorted { walk.position(ofRow: $0)! < walk.position(ofRow: $1)! }
    let n = cluster.nodes.count
    // SAFETY: the status column holds n rows; the narrowed rows are node rows (asserted).
    assert(
      status.count >= n && rows.allSatisfy { cluster.exists(NodeID(UInt32($0))) },
      "a narrowed row that is no node")
    let st = status.base
    failedPass = nil
    st.update(repeating: 255, count: n)
    let window = Window(start: 0, length: walk.count, walk: walk)
    lastWindow = window
    guard !rows.isEmpty else { return (window, 0, 0) }
    let toFind = Scheduler.numFeasibleNodesToFind(
      nodeCount: rows.count, percentage: profile.percentageOfNodesToScore,
      hasScorePlugins: !scorePlugins.isEmpty)
    var examined = 0
    var feasible = 0
    while examined < rows.count && feasible < toFind {
      let r = rows[(shared.nextStartNodeIndex + examined) % rows.count]
      st[r] = 0
      for i in activeFilters {
        filterRefs[i].filter(
          pod, cluster: cluster, rows: r..<(r + 1), status: st, code: UInt8(i + 1))
      }
      if !nominatedOnNode.isEmpty { filterWithNominatedPods(pod, rows: r..<(r + 1)) }
      if st[r] == 0 { feasible += 1 }
      examined += 1
    }
    shared.nextStartNodeIndex = (shared.nextStartNodeIndex + examined) % rows.count
    return (window, feasible, examined)
  }

  /// Filter `i`'s verdicts on `rows` from the node-local cache, refiltering only rows whose
  /// cached verdict is not current, applied to the status column as the filter itself would.
  private func applyCachedVerdicts(_ pod: PodInfo, filter i: Int, rows: Range<Int>) {
    let slot = verdictSlot[i]
    // SAFETY: the cache holds a verdict per node row (`sync` resizes it) and `rows` is a chunk
    // of the node table.
    assert(nodeLocal.rows >= rows.upperBound, "verdict cache shorter than the chunk")
    let verdicts = nodeLocal.verdicts(slot)
    nodeLocal.verdictBits(slot).refresh(rows) { run in
      verdicts.advanced(by: run.lowerBound).update(repeating: 0, count: run.count)
      filterRefs[i].filter(pod, cluster: cluster, rows: run, status: verdicts, code: 1)
    }
    let st = status.base
    let code = UInt8(i + 1)
    for r in rows { st[r] = markFailure(st[r], failed: verdicts[r] != 0, code: code) }
  }

  /// Feasible rows of `rows` holding nominated pods of equal or higher priority (other than this
  /// pod) are filtered again with those pods placed there; a failure marks the row with the
  /// failing plugin. Cold: preemption leaves few nominations, and each costs a PreFilter pass.
  func filterWithNominatedPods(_ pod: PodInfo, rows: Range<Int>, restoring: Bool = true) {
    // SAFETY: nominations name node rows, read only when inside `rows`, a chunk of the table.
    assert(rows.upperBound <= status.count, "a chunk beyond the status column")
    let st = status.base
    let priority = cluster.pods.priority[pod.id.index]
    var touched = false
    let nominatedRows = shared.nominatedRows
    for k in shared.firstNominatedRow(atOrAfter: rows.lowerBound)..<nominatedRows.count {
      let r = nominatedRows[k]
      if r >= rows.upperBound { break }
      guard st[r] == 0, let list = nominatedOnNode[r] else { continue }
      // A nominated GPU pod whose devices are still taken (victims terminating) is not placed.
      let others = list.filter {
        $0 != pod.id && !cluster.pods.isBound($0) && cluster.pods.priority[$0.index] >= priority
          && (cluster.pods.gpuCount[$0.index] == 0
            || GPUSelection.defaultDevices(
              count: Int(cluster.pods.gpuCount[$0.index]), milli: cluster.pods.gpuMilli[$0.index],
              node: r, in: cluster.nodes) != nil)
      }
      guard !others.isEmpty else { continue }
      touched = true
      failedPass = nil
      let node = NodeID(UInt32(r))
      // The nominated pods stand on the node only for this check: not changes anyone sees.
      cluster.whatIf {
        for q in others { cluster.bind(q, to: node) }
        st[r] = 0
        for i in filterRefs.indices
        where filterRefs[i].preFilter(pod, cluster: cluster) {
          filterRefs[i].filter(
            pod, cluster: cluster, rows: r..<(r + 1), status: st, code: UInt8(i + 1))
          if st[r] != 0 { break }
        }
        for q in others.reversed() { cluster.unbind(q) }
      }
    }
    // The plugins' PreFilter state must describe the cluster without the nominated pods again.
    if touched && restoring {
      for i in activeFilters { _ = filterRefs[i].preFilter(pod, cluster: cluster) }
    }
  }

  /// The first node row at or after `start` (wrapping around the table) that passes every
  /// filter and that `accept` takes; one PreFilter for the whole search, the filters over
  /// chunks of rows. Nominated pods are not placed (the Cluster Autoscaler's predicate checker
  /// does not either); the start index is left alone.
  public func firstFit(_ pod: PodID, from start: Int, accept: (Int) -> Bool) -> NodeID? {
    withoutActuallyEscaping(accept) { firstFit(pod, from: start, accepting: $0) }
  }

  /// The first node row at or after `start` (wrapping) that passes every filter: the Cluster
  /// Autoscaler's `FitsAnyNodeMatching` from its last index. A search that finds nothing is a
  /// failed pass, reused for the next pod of the same filter shape while nothing changed.
  public func firstFeasibleNode(_ pod: PodID, from start: Int) -> NodeID? {
    firstFit(pod, from: start, accepting: nil)
  }

  private func firstFit(_ pod: PodID, from start: Int, accepting accept: ((Int) -> Bool)?)
    -> NodeID?
  {
    ensureScratchCapacity()
    let info = PodInfo(pod, in: cluster)
    let n = cluster.nodes.count
    guard n > 0 else { return nil }
    activeFilters.removeAll()
    for i in filterRefs.indices where filterRefs[i].preFilter(info, cluster: cluster) {
      activeFilters.append(i)
    }
    var only: [Int]?
    for i in activeFilters {
      switch filterRefs[i].restrictNodes(info, cluster: cluster) {
      case .all: continue
      case .rows(let rows): only = rows
      case .rejectAll: return nil
      }
    }
    let pass = accept == nil && only == nil ? failedPassKey(info) : nil
    if let pass, pass == failedPass {
      reusedFailedPasses += 1
      return nil
    }
    // SAFETY: every chunk is a range of table rows and the status column has a row per row.
    let st = status.base
    failedPass = nil
    func check(_ rows: Range<Int>) -> NodeID? {
      st.advanced(by: rows.lowerBound).update(repeating: 0, count: rows.count)
      for i in activeFilters {
        filterRefs[i].filter(info, cluster: cluster, rows: rows, status: st, code: UInt8(i + 1))
      }
      for r in rows where st[r] == 0 && cluster.exists(NodeID(UInt32(r))) && accept?(r) ?? true {
        return NodeID(UInt32(r))
      }
      return nil
    }
    if let only {
      let ordered = only.filter { $0 >= start } + only.filter { $0 < start }
      for r in ordered {
        if let found = check(r..<(r + 1)) { return found }
      }
      return nil
    }
    let chunk = 512
    var offset = 0
    while offset < n {
      let lower = (start + offset) % n
      let upper = min(n, lower + min(chunk, n - offset))
      if let found = check(lower..<upper) { return found }
      offset += upper - lower
    }
    // Every row filtered and none fits: the column holds a failed pass.
    if let pass {
      failedPass = pass
      failedPasses &+= 1
    }
    return nil
  }

  /// The first node, in the walk from the rotating start, that passes every filter (no
  /// scoring): what the Cluster Autoscaler's `FitsAnyNodeMatching` asks. Advances the start
  /// index as a cycle does.
  public func anyFeasibleNode(_ pod: PodID) -> NodeID? {
    let (window, feasible, _) = findFeasibleNodes(PodInfo(pod, in: cluster))
    return feasible == 0 ? nil : firstFeasible(in: window)
  }

  private func firstFeasible(in window: Window) -> NodeID? {
    for seg in window.segments {
      for i in seg where status[i] == 0 { return NodeID(UInt32(i)) }
    }
    return nil
  }

  // MARK: Scoring

  /// PreScore, Score, NormalizeScore and the weighted sum over the window's feasible rows.
  /// Infeasible rows of the window get `Int64.min` in `total` (for a fragmented walk, so do the
  /// walk's rows outside the window, their status set to 255).
  public func scoreFeasibleNodes(_ pod: PodInfo, window walkWindow: Window) {
    // SAFETY: the window's segments lie in the node table, and the status, score and total
    // columns hold a row per node (`ensureScratchCapacity` ran in this cycle's filtering).
    assert(
      walkWindow.isOver(cluster.nodes) && total.count >= walkWindow.nodeCount,
      "a window over another node table")
    assert(scoreColumns.count == scoreRefs.count, "a score column per score plugin")
    // A fragmented walk is scored in row order: every row of the walk, those outside the
    // window marked as taking no part (status 255, as rows a PreFilter left out). Scores,
    // normalisation and the maximum are the same over the same rows in any order.
    var window = walkWindow
    let walk = walkWindow.walk
    if isFragmented(walk) {
      let outside = walk.count - walkWindow.length
      if outside > 0 {
        for seg in walk.segments(
          start: (walkWindow.start + walkWindow.length) % walk.count, length: outside)
        {
          status.base.advanced(by: seg.lowerBound).update(repeating: 255, count: seg.count)
        }
      }
      let rows = rowOrderWalk(walk)
      window = Window(start: 0, length: rows.count, walk: rows)
    }
    _ = preScore(pod, window: window, normalizing: true)
    let concurrent = prepareChunks(pod, window: window, walkWindow: walkWindow)
    let chunks = scoreChunks.base
    if concurrent {
      splitPasses += 1
      SpinningWorker.shared.forEach(scoreChunks.count) { k in scoreChunk(pod, k) }
    } else {
      for k in 0..<scoreChunks.count { scoreChunk(pod, k) }
    }
    windowMax = Int64.min
    for k in 0..<scoreChunks.count { windowMax = max(windowMax, chunks[k].max) }
  }

  /// Runs every score plugin's PreScore for `pod` over `window`, sorting the plugins into the
  /// uniform constant (`scoreConstant`), the node-local cached ones (`cached`), the chunked
  /// ones (`chunked`) and those normalised over the whole window (`perNode`). Normalised
  /// plugins are scored and normalised here when `normalizing`; otherwise (PreScore before
  /// filtering) the answer is false as soon as one would need it.
  private func preScore(_ pod: PodInfo, window: Window, normalizing: Bool) -> Bool {
    // SAFETY: the window's segments lie in the node table; score columns have a row per node.
    let st = UnsafePointer(status.base)
    var constant: Int64 = 0
    perNode.removeAll()
    chunked.removeAll()
    cached.removeAll()
    lastModes.removeAll(keepingCapacity: true)
    let reuse = cachesNodeLocalResults && !nodeLocalJustEmptied
    for p in scoreRefs.indices {
      let mode = scoreRefs[p].preScore(pod, cluster: cluster, window: window, status: st)
      let normalization = scoreRefs[p].normalization
      lastModes.append(mode)
      switch mode {
      case .uniform(let s):
        constant += s * scoreWeights[p]
      case .perNode where normalization == .none:
        if reuse && scoreRefs[p].scoresAreNodeLocal {
          cached.append(p)
        } else {
          chunked.append(p)
        }
      case .perNode:
        guard normalizing else { return false }
        // Normalisation needs every feasible row first: a whole-window pass.
        let col = scoreColumns[p].base
        let split = splits(window) && scoreRefs[p].scoresRowsConcurrently
        for seg in window.segments {
          if split && seg.count >= Self.splitRows {
            let chunks = AlignedChunks(seg)
            splitPasses += 1
            SpinningWorker.shared.forEach(chunks.count) { k in
              scoreRefs[p].score(pod, cluster: cluster, rows: chunks[k], into: col)
            }
          } else {
            scoreRefs[p].score(pod, cluster: cluster, rows: seg, into: col)
          }
        }
        if normalization == .custom {
          scoreRefs[p].normalize(col, window: window, status: st)
        } else {
          Kernels.normalize(col, window: window, status: st, normalization)
        }
        perNode.append((col, scoreWeights[p]))
      }
    }
    scoreConstant = constant
    return true
  }

  /// Lays out the chunked part of scoring after `preScore`: the cache brought to this pod's
  /// shape, the terms summed per chunk and the window's chunks (`scoreChunks`). Returns whether
  /// the chunks may be split between threads.
  private func prepareChunks(_ pod: PodInfo, window: Window, walkWindow: Window) -> Bool {
    // SAFETY: base pointers of the score columns, a row per node (`ensureScratchCapacity`).
    if !cached.isEmpty {
      nodeLocal.sync(PodShape(pod, in: cluster), cluster: cluster)
      if !cached.elementsEqual(lastCached) {
        nodeLocal.forgetScores()
        lastCached.removeAll()
        for p in cached { lastCached.append(p) }
      }
    }
    // Chunk by chunk, so each plugin's scores are summed while still in L1.
    terms.removeAll()
    cachedColumns.removeAll()
    chunkedColumns.removeAll()
    var concurrent = splits(window)
    for p in cached {
      cachedColumns.append(scoreColumns[p].base)
      terms.append((UnsafePointer(scoreColumns[p].base), scoreWeights[p]))
      concurrent = concurrent && scoreRefs[p].scoresRowsConcurrently
    }
    for p in chunked {
      chunkedColumns.append(scoreColumns[p].base)
      terms.append((UnsafePointer(scoreColumns[p].base), scoreWeights[p]))
      concurrent = concurrent && scoreRefs[p].scoresRowsConcurrently
    }
    for (col, w) in perNode { terms.append((UnsafePointer(col), w)) }
    scoreChunks.removeAll()
    for seg in window.segments {
      let chunks = AlignedChunks(seg)
      for k in 0..<chunks.count { scoreChunks.append(ScoreChunk(chunks[k])) }
    }
    // Ties are counted per chunk while it is in L1, for the uniform draw over the walk's ties
    // (a fragmented walk was scored in row order: `selectHost` walks it instead).
    countsTies = tieBreak == .uniform && tieRanks == nil && window.walk === walkWindow.walk
    termWeights = Kernels.TermWeights(terms.buffer)
    return concurrent
  }

  /// Scores chunk `k` of `scoreChunks`: the cached and chunked plugins' rows, their weighted
  /// sum into `total` over the feasible rows, and the chunk's maximum and ties.
  @inline(__always) private func scoreChunk(_ pod: PodInfo, _ k: Int) {
    // SAFETY: chunk k lies in the window's rows; each call writes only its own rows of the
    // score and total columns (and of the cache's bitmaps — see `RowBitmap.settle` for the
    // words two chunks share) and its own chunk entry.
    let chunk = scoreChunks.base.advanced(by: k)
    let rows = chunk.pointee.rows
    if !cached.isEmpty { refreshCachedScores(pod, rows: rows) }
    for j in chunked.indices {
      scoreRefs[chunked.base[j]].score(
        pod, cluster: cluster, rows: rows, into: chunkedColumns.base[j])
    }
    let tot = total.base
    let m = Kernels.weightedSum(
      into: tot, constant: scoreConstant, terms.buffer, weights: termWeights,
      status: UnsafePointer(status.base), rows)
    chunk.pointee.max = m
    if countsTies && m != Int64.min { chunk.pointee.ties = Kernels.count(of: m, tot, rows) }
  }

  /// The filter and score passes of a cycle that filters every row of `window`, as one pass:
  /// PreScore first (no score plugin reads the feasible rows for this pod), then each chunk
  /// filtered, counted and scored while its rows are in cache — split between threads as one
  /// job where the filters and scorers allow. Returns the feasible rows, or nil (nothing done)
  /// when a plugin's scores need normalising over every feasible row first.
  private func filterAndScore(
    _ pod: PodInfo, window: Window, reuseVerdicts: Bool, filtersConcurrently: Bool
  ) -> Int? {
    // SAFETY: the chunks lie in the window's rows; the status column and `feasibleInChunk`
    // hold a row per table row and per chunk; each chunk writes only its own.
    guard preScore(pod, window: window, normalizing: false) else { return nil }
    let concurrent = prepareChunks(pod, window: window, walkWindow: window) && filtersConcurrently
    let st = status.base
    feasibleInChunk.removeAll()
    for _ in 0..<scoreChunks.count { feasibleInChunk.append(0) }
    let counts = feasibleInChunk.base
    let chunks = scoreChunks.base
    func run(_ k: Int) {
      let rows = chunks[k].rows
      filter(pod, rows: rows, status: st, reuseVerdicts: reuseVerdicts)
      counts[k] = Kernels.countZeros(st, rows)
      scoreChunk(pod, k)
    }
    if concurrent {
      splitPasses += 1
      SpinningWorker.shared.forEach(scoreChunks.count, run)
    } else {
      for k in 0..<scoreChunks.count { run(k) }
    }
    windowMax = Int64.min
    var feasible = 0
    for k in 0..<scoreChunks.count {
      windowMax = max(windowMax, chunks[k].max)
      feasible &+= counts[k]
    }
    return feasible
  }

  /// Whether a pass over `window` is split between two threads (`usesSecondCore`).
  @inline(__always) private func splits(_ window: Window) -> Bool {
    usesSecondCore && window.length >= Self.splitRows
  }

  /// Brings the node-local plugins' cached scores in `rows` up to date: only runs of rows whose
  /// scores are not current are scored.
  private func refreshCachedScores(_ pod: PodInfo, rows: Range<Int>) {
    // SAFETY: `rows` is a chunk of the window; score columns have a row per node.
    nodeLocal.scoreBits.refresh(rows) { run in
      for j in cached.indices {
        scoreRefs[cached.base[j]].score(
          pod, cluster: cluster, rows: run, into: cachedColumns.base[j])
      }
    }
  }

  /// The highest total in the window and the node chosen among those tied at it.
  private func selectHost(window: Window) -> (NodeID?, Int64) {
    // SAFETY: the window's segments lie in the node table; `total` holds a row per node.
    assert(total.count >= window.walk.rowCount, "total column shorter than the window")
    let tot = UnsafePointer(total.base)
    // The maximum came out of the weighted sum; only the ties are counted here.
    let best = windowMax
    guard best != Int64.min else { return (nil, best) }
    if let ranks = tieRanks {
      precondition(ranks.count == window.walk.rowCount, "a tie rank per node row")
      var chosen = -1
      for seg in window.segments {
        for i in seg where tot[i] == best && (chosen < 0 || ranks[i] < ranks[chosen]) {
          chosen = i
        }
      }
      return (NodeID(UInt32(chosen)), best)
    }
    switch tieBreak {
    case .lowestIndex:
      // The tie earliest in node-tree order (the walk from position 0; for rows walked in row
      // order, the lowest row).
      var lowest = (position: Int.max, row: -1)
      var segments = window.walkSegments
      while true {
        let position = segments.nextPosition
        guard let seg = segments.next() else { break }
        if let i = Kernels.firstIndex(of: best, tot, seg, ordinal: 1) {
          let at = position + (i - seg.lowerBound)
          if at < lowest.position { lowest = (at, i) }
        }
      }
      return (NodeID(UInt32(lowest.row)), best)
    case .uniform where countsTies:
      // The chunks are the window's rows in walk order, their ties counted when scored.
      var ties = 0
      for c in scoreChunks where c.max == best { ties += c.ties }
      var r = ties == 1 ? 0 : shared.rng.nextInt(below: ties)
      for c in scoreChunks where c.max == best {
        if r < c.ties, let i = Kernels.firstIndex(of: best, tot, c.rows, ordinal: r + 1) {
          return (NodeID(UInt32(i)), best)
        }
        r -= c.ties
      }
      preconditionFailure("tie count disagrees with the total column")
    case .uniform:
      var ties = 0
      for seg in window.segments { ties += Kernels.count(of: best, tot, seg) }
      var r = ties == 1 ? 0 : shared.rng.nextInt(below: ties)
      for seg in window.segments {
        if let i = Kernels.firstIndex(of: best, tot, seg, ordinal: r + 1) {
          return (NodeID(UInt32(i)), best)
        }
        r -= Kernels.count(of: best, tot, seg)
      }
      preconditionFailure("tie count disagrees with the total column")
    }
  }

  // MARK: Replay support

  /// Scores `pod` on exactly `rows` (which must pass the filters), leaving the start index as
  /// it was. For conformance replay against a recorded scheduler, whose scored set is given.
  /// - Returns: rows among `rows` that the filters rejected (empty when all pass).
  public func scoreExactly(_ pod: PodID, rows: [Int]) -> [Int] {
    ensureScratchCapacity()
    let info = PodInfo(pod, in: cluster)
    let n = cluster.nodes.count
    // SAFETY: `rows` are node rows (asserted); the status column holds n rows.
    precondition(
      rows.allSatisfy { cluster.exists(NodeID(UInt32($0))) }, "scoreExactly: a row that is no node")
    let st = status.base
    failedPass = nil
    st.update(repeating: 255, count: n)
    var rejected: [Int] = []
    for r in rows {
      st[r] = 0
      for (i, f) in filterPlugins.enumerated() where f.preFilter(info, cluster: cluster) {
        f.filter(info, cluster: cluster, rows: r..<(r + 1), status: st, code: UInt8(i + 1))
      }
      if st[r] != 0 { rejected.append(r) }
    }
    let window = Window(start: 0, length: cluster.walk.count, walk: cluster.walk)
    lastWindow = window
    if rejected.isEmpty { scoreFeasibleNodes(info, window: window) }
    return rejected
  }

  /// The normalised (unweighted) score of plugin `p` at `row` in the last scored cycle.
  public func normalizedScore(plugin p: Int, row: Int) -> Int64 {
    switch lastModes[p] {
    case .uniform(let s): return s
    case .perNode: return scoreColumns[p][row]
    }
  }

  func ensureScratchCapacity() {
    let n = cluster.nodes.count
    guard status.count != n else { return }
    failedPass = nil
    // Zeroed in place: a dry run that adds and removes a node (the autoscalers' simulations)
    // changes the count twice per node it tries.
    status.reset(count: n, to: 0)
    for c in scoreColumns { c.reset(count: n, to: 0) }
    total.reset(count: n, to: 0)
  }
}

/// A filter plugin as the cycle calls it, without reference counting: an unretained reference
/// and the plugin's type, whose `unretained…` methods read the reference as the concrete class
/// (the scheduler's `filterPlugins` owns every plugin for its lifetime). Calling a protocol
/// method on an array element retains and releases the plugin around every call, dozens of
/// times per cycle. Constant properties are read once here.
struct FilterCall {
  let object: UnsafeRawPointer
  let type: any FilterPlugin.Type
  let verdictsAreNodeLocal: Bool
  let verdictsFollowFilterShape: Bool
  let passesEveryPod: Bool
  let filtersRowsConcurrently: Bool

  init(_ plugin: any FilterPlugin) {
    // SAFETY: unretained; the scheduler's plugin list owns the plugin for this value's lifetime.
    object = UnsafeRawPointer(Unmanaged.passUnretained(plugin as AnyObject).toOpaque())
    type = Swift.type(of: plugin)
    verdictsAreNodeLocal = plugin.verdictsAreNodeLocal
    verdictsFollowFilterShape = plugin.verdictsFollowFilterShape
    passesEveryPod = plugin.passesEveryPod
    filtersRowsConcurrently = plugin.filtersRowsConcurrently
  }

  @inline(__always) func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    !passesEveryPod && type.unretainedPreFilter(object, pod, cluster)
  }

  @inline(__always) func restrictNodes(_ pod: PodInfo, cluster: Cluster) -> NodeRestriction {
    type.unretainedRestrictNodes(object, pod, cluster)
  }

  @inline(__always) func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    type.unretainedFilter(object, pod, cluster, rows, status, code)
  }
}

/// `FilterCall` for score plugins.
private struct ScoreCall {
  let object: UnsafeRawPointer
  let type: any ScorePlugin.Type
  let normalization: ScoreNormalization
  let scoresAreNodeLocal: Bool
  let scoresRowsConcurrently: Bool

  init(_ plugin: any ScorePlugin) {
    // SAFETY: unretained; the scheduler's plugin list owns the plugin for this value's lifetime.
    object = UnsafeRawPointer(Unmanaged.passUnretained(plugin as AnyObject).toOpaque())
    type = Swift.type(of: plugin)
    normalization = plugin.normalization
    scoresAreNodeLocal = plugin.scoresAreNodeLocal
    scoresRowsConcurrently = plugin.scoresRowsConcurrently
  }

  @inline(__always) func preScore(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>
  ) -> ScoreMode {
    type.unretainedPreScore(object, pod, cluster, window, status)
  }

  @inline(__always) func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    type.unretainedScore(object, pod, cluster, rows, scores)
  }

  @inline(__always) func normalize(
    _ scores: UnsafeMutablePointer<Int64>, window: Window, status: UnsafePointer<UInt8>
  ) {
    type.unretainedNormalize(object, scores, window, status)
  }

  @inline(__always) func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool {
    type.unretainedPreScoreReadsFeasibleRows(object, pod, cluster)
  }
}

/// The state one kube-scheduler keeps across its profiles: the rotating start index of the node
/// walk (`nextStartNodeIndex`), the random draws that break ties at the top score, and the pods
/// preemption nominated to nodes (upstream's nominator lives in the scheduling queue, shared by
/// every profile's framework). Profiles of one run share one instance, so a cycle of one
/// profile sees what cycles of the others left.
public final class SharedCycleState {
  @exclusivity(unchecked) public internal(set) var nextStartNodeIndex = 0
  @exclusivity(unchecked) var rng: SplitMix64
  @exclusivity(unchecked) public private(set) var nominatedOnNode: [Int: [PodID]] = [:]
  /// The keys of `nominatedOnNode`, ascending: a chunk of rows finds its own by binary search
  /// instead of visiting every nomination (preemption can leave hundreds at once).
  @exclusivity(unchecked) public private(set) var nominatedRows: [Int] = []
  @exclusivity(unchecked) private var nominatedNodeRow: [Int: Int] = [:]

  public init(seed: UInt64) {
    rng = SplitMix64(seed: seed).split(label: "scheduler.selectHost")
  }

  public func nominatedNode(of pod: PodID) -> NodeID? {
    nominatedNodeRow[pod.index].map { NodeID(UInt32($0)) }
  }

  /// Records (or with nil clears) the pod's nominated node.
  public func nominate(_ pod: PodID, to node: NodeID?) {
    if let old = nominatedNodeRow.removeValue(forKey: pod.index) {
      nominatedOnNode[old]?.removeAll { $0 == pod }
      if nominatedOnNode[old]?.isEmpty == true {
        nominatedOnNode[old] = nil
        nominatedRows.remove(at: firstNominatedRow(atOrAfter: old))
      }
    }
    guard let node else { return }
    nominatedNodeRow[pod.index] = node.index
    if nominatedOnNode[node.index] == nil {
      nominatedRows.insert(node.index, at: firstNominatedRow(atOrAfter: node.index))
    }
    nominatedOnNode[node.index, default: []].append(pod)
  }

  /// The index in `nominatedRows` of the first row at or after `row`.
  func firstNominatedRow(atOrAfter row: Int) -> Int {
    var (lo, hi) = (0, nominatedRows.count)
    while lo < hi {
      let mid = (lo + hi) / 2
      if nominatedRows[mid] < row { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }
}

/// One chunk of a scored window: its rows, largest total and the rows tied at it.
struct ScoreChunk: BitwiseCopyable {
  let lower: Int
  let upper: Int
  var max = Int64.min
  var ties = 0

  init(_ rows: Range<Int>) { (lower, upper) = (rows.lowerBound, rows.upperBound) }
  var rows: Range<Int> { lower..<upper }
}

/// A range of rows cut at multiples of `Scheduler.scoreChunkRows` (row numbers, not offsets):
/// the first and last pieces may be shorter.
struct AlignedChunks {
  let rows: Range<Int>
  init(_ rows: Range<Int>) { self.rows = rows }

  var count: Int {
    let size = Scheduler.scoreChunkRows
    return rows.isEmpty ? 0 : (rows.upperBound - 1) / size - rows.lowerBound / size + 1
  }

  subscript(k: Int) -> Range<Int> {
    let size = Scheduler.scoreChunkRows
    let first = (rows.lowerBound / size + k) * size
    return max(first, rows.lowerBound)..<min(first + size, rows.upperBound)
  }
}
