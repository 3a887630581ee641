import BerthCore

/// What a scheduling cycle knows about the pod being placed, computed once per cycle.
public struct PodInfo {
  public let id: PodID
  public let requestCPU: Int64
  public let requestMemory: Int64
  public let requestEphemeral: Int64
  public let nonZeroCPU: Int64
  public let nonZeroMemory: Int64
  public let scalarRequests: [ScalarRequest]
  public let constraintsID: UInt32
  public let constraintsBox: PodConstraintsBox
  /// The pod's constraint set (read through the shared box: no copy per cycle).
  @inline(__always) public var constraints: PodConstraints { constraintsBox.value }

  public init(_ pod: PodID, in cluster: Cluster) {
    let p = pod.index
    let t = cluster.pods
    id = pod
    requestCPU = t.requestCPU[p]
    requestMemory = t.requestMemory[p]
    requestEphemeral = t.requestEphemeral[p]
    nonZeroCPU = t.nonZeroCPU[p]
    nonZeroMemory = t.nonZeroMemory[p]
    // Most pods request no extended resource: no lookup (and no reference to count) for them.
    scalarRequests = t.scalarRequests[p] == 0 ? [] : t.scalarRequests(of: pod)
    constraintsID = t.constraints[p]
    constraintsBox = t.constraintBox(constraintsID)
  }
}

/// The nodes a cycle examined: `length` positions of the node walk (node-tree order, see
/// `NodeWalk`) from `start`, wrapping past the end.
public struct Window: Sendable, Equatable {
  public var start: Int
  public var length: Int
  public var walk: NodeWalk

  public init(start: Int, length: Int, walk: NodeWalk) {
    self.start = start
    self.length = length
    self.walk = walk
  }

  /// A window over a table of `nodeCount` rows walked in row order.
  public init(start: Int, length: Int, nodeCount: Int) {
    self.init(start: start, length: length, walk: NodeWalk(identity: nodeCount))
  }

  /// Nodes in the walk (upstream's `len(allNodes)`).
  public var nodeCount: Int { walk.count }

  /// The window's row ranges in walk order, iterable without allocating: one or two for a
  /// walk of one run (the second when the window wraps), more after node churn.
  @inline(__always) public var segments: WindowSegments {
    Self.segments(of: walk, start: start, length: length)
  }

  /// The row ranges of `length` positions of `walk` from `start`, wrapping.
  @inline(__always) static func segments(of walk: NodeWalk, start: Int, length: Int)
    -> WindowSegments
  {
    guard walk.runCount == 1 else {
      return WindowSegments(
        first: 0..<0, second: 0..<0, step: -1,
        rest: walk.segments(start: start, length: length))
    }
    // One run: positions map to rows by one offset, as in a table walked in row order.
    let offset = walk.firstRow
    let end = start + length
    let n = walk.count
    let none = walk.segments(start: 0, length: 0)
    if end <= n {
      return WindowSegments(
        first: (offset + start)..<(offset + end), second: 0..<0, step: 0, rest: none)
    }
    return WindowSegments(
      first: (offset + start)..<(offset + n), second: offset..<(offset + end - n), step: 0,
      rest: none)
  }

  /// The walk's own iteration of the window (any number of runs).
  var walkSegments: NodeWalk.Segments { walk.segments(start: start, length: length) }

  /// Rows in iteration order.
  public var rows: [Int] { segments.flatMap { Array($0) } }

  /// Whether the window walks the rows of `table` (not of another cluster's).
  public func isOver(_ table: NodeTable) -> Bool { walk.rowCount == table.count }
}

/// A window's row ranges: the one or two of a walk in one run kept inline (the loops over them
/// compile as over two plain ranges), else the walk's runs.
public struct WindowSegments: Sequence, IteratorProtocol {
  var first: Range<Int>
  var second: Range<Int>
  /// 0, 1, 2: the inline ranges' progress; -1: iterate `rest`.
  var step: Int
  var rest: NodeWalk.Segments

  /// The walk position of the next segment's first row (for windows of several runs).
  var nextPosition: Int { rest.nextPosition }

  @inline(__always) public mutating func next() -> Range<Int>? {
    if step < 0 { return rest.next() }
    step += 1
    switch step {
    case 1: return first
    case 2: return second.isEmpty ? nil : second
    default: return nil
    }
  }
}

/// A filter extension point implementation working on whole columns.
///
/// Contract: `filter` sets `status[i] = code` for each row `i` in `rows` that fails this plugin
/// and whose status is still 0 (0 = feasible so far), so a row's status names the first failing
/// plugin as upstream's `RunFilterPlugins` does. One dynamic call per plugin per chunk of rows,
/// none per node.
public protocol FilterPlugin: SchedulingPlugin {
  /// PreFilter: returns false when no node can fail this plugin for this pod (the pass is skipped).
  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool
  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8)
  /// PreFilter's node narrowing (NodeAffinity on `metadata.name`); `.all` for most plugins.
  func restrictNodes(_ pod: PodInfo, cluster: Cluster) -> NodeRestriction
  /// Upstream's reason strings for a node this plugin rejected (cold path, for messages).
  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String]
  /// Whether this plugin's rejection of `node` is UnschedulableAndUnresolvable — removing pods
  /// from the node cannot help, so preemption skips it (cold path; the plugin's PreFilter state
  /// must be the pod's).
  func isUnresolvable(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> Bool
  /// Adds, per reason string, the number of rows in `window` whose status is `code`.
  ///
  /// Linear in the window and string-free per row, so that a cluster full of unschedulable
  /// pods stays fast; the default suits plugins with a single reason.
  func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int])
  /// Sorts the rows of `rows` whose status is `code` into reason classes, writing each one's
  /// class (0…255) to `classes` and leaving the other rows' entries alone: rows of one class get
  /// the same reasons, `reasons(ofClass:)`. A failed pass kept with its classes can follow the
  /// few rows that change with per-row updates to its diagnosis (`FailedPassMemo`). Called
  /// after this cycle's PreFilter. False when the pod's rejections need more classes — and by
  /// default, for plugins that do not sort theirs: no such pass is kept then.
  func classifyRejections(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool
  /// The reasons of the rows `classifyRejections` put in class `c` for `pod` (cold path).
  func reasons(ofClass c: UInt8, _ pod: PodInfo, cluster: Cluster) -> [String]
  /// Whether the plugin's rejection of a row is a function of the pod's shape (`PodShape`) and
  /// that node's own state alone, given the nodes' shape (`Cluster.nodeShapeVersion`): then the
  /// scheduler keeps verdicts across cycles and refilters only rows whose node changed (see
  /// `NodeTable.journal`). Worth it for filters costlier than reading a byte per row.
  var verdictsAreNodeLocal: Bool { get }
  /// Whether the plugin's rejection of a row is a function of the pod's `FilterShape` (its
  /// requests and its constraints toward nodes) and that node's own state alone, changed only
  /// through `Cluster.nodeShapeVersion` and the node journal — whether or not keeping verdicts
  /// pays. Then a pass that found no node for one pod is the answer for the next pod of the
  /// same filter shape while nothing changed (`Scheduler.failedPass`). Defaults to
  /// `verdictsAreNodeLocal`.
  var verdictsFollowFilterShape: Bool { get }
  /// Whether the plugin passes every pod without looking (its PreFilter always says so): the
  /// cycle then skips even the call. The volume plugins, as Berth models no claims.
  var passesEveryPod: Bool { get }
  /// Whether `filter` may run on disjoint row ranges from two threads at once within one cycle
  /// (after one PreFilter): it writes only the status rows it is given and reads its PreFilter
  /// state without changing it. Then a long pass is split between two cores
  /// (`Scheduler.usesSecondCore`). Off by default.
  var filtersRowsConcurrently: Bool { get }
  /// Upstream's QueueingHint for `pod`, which this plugin rejected in its last attempt: whether
  /// `change` may make it schedulable (Queue) or cannot (QueueSkip). Asked only for changes the
  /// plugin registers for (`ClusterEvent.concerns`). Cold path.
  func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool
  // The cycle's per-pod calls on an unretained instance (see `FilterCall`), implemented once
  // below for every plugin.
  static func unretainedPreFilter(_ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster)
    -> Bool
  static func unretainedRestrictNodes(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster
  ) -> NodeRestriction
  static func unretainedFilter(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster, _ rows: Range<Int>,
    _ status: UnsafeMutablePointer<UInt8>, _ code: UInt8)
}

/// A PreFilter result that narrows the nodes a cycle looks at (upstream's `PreFilterResult`).
public enum NodeRestriction: Equatable, Sendable {
  /// Every node is a candidate.
  case all
  /// Only these rows, ascending (node-tree order).
  case rows([Int])
  /// No node can fit; the message replaces the per-node reasons.
  case rejectAll(String)
}

extension FilterPlugin {
  /// The descriptor's `rejectionIsUnresolvable`; plugins whose answer depends on the reason
  /// override this.
  public func isUnresolvable(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> Bool {
    name.descriptor?.rejectionIsUnresolvable ?? false
  }

  public static func unretainedPreFilter(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster
  ) -> Bool {
    // SAFETY: `object` is `Unmanaged.passUnretained` of a `Self` that the scheduler's plugin
    // list keeps alive (see `FilterCall`, `ScoreCall`).
    Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef {
      $0.preFilter(pod, cluster: cluster)
    }
  }

  public static func unretainedRestrictNodes(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster
  ) -> NodeRestriction {
    // SAFETY: `object` is `Unmanaged.passUnretained` of a `Self` that the scheduler's plugin
    // list keeps alive (see `FilterCall`, `ScoreCall`).
    Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef {
      $0.restrictNodes(pod, cluster: cluster)
    }
  }

  public static func unretainedFilter(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster, _ rows: Range<Int>,
    _ status: UnsafeMutablePointer<UInt8>, _ code: UInt8
  ) {
    // SAFETY: `object` is `Unmanaged.passUnretained` of a `Self` that the scheduler's plugin
    // list keeps alive (see `FilterCall`, `ScoreCall`).
    Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef {
      $0.filter(pod, cluster: cluster, rows: rows, status: status, code: code)
    }
  }

  public var verdictsAreNodeLocal: Bool { false }
  public var verdictsFollowFilterShape: Bool { verdictsAreNodeLocal }

  public func classifyRejections(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool { false }

  public func reasons(ofClass c: UInt8, _ pod: PodInfo, cluster: Cluster) -> [String] { [] }

  /// `countReasons` through `classifyRejections` (rows of each class counted once, then its
  /// reasons): for plugins whose reasons differ by node and that have no column sums of their
  /// own. Cold: allocates a class per node.
  func countReasonsByClass(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    // SAFETY: the window's rows lie in the node table; `classes` has a row per node.
    var classes = [UInt8](repeating: 0, count: cluster.nodes.count)
    var perClass = [Int](repeating: 0, count: 256)
    classes.withUnsafeMutableBufferPointer { cls in
      for seg in window.segments {
        guard
          classifyRejections(
            pod, cluster: cluster, rows: seg, status: status, code: code, into: cls.baseAddress!)
        else {
          preconditionFailure("\(name.rawValue) classifies every pod's rejections")
        }
        for i in seg where status[i] == code { perClass[Int(cls[i])] += 1 }
      }
    }
    for (c, n) in perClass.enumerated() where n > 0 {
      for reason in reasons(ofClass: UInt8(c), pod, cluster: cluster) {
        counts[reason, default: 0] += n
      }
    }
  }

  /// `classifyRejections` for plugins with one reason (or two, told apart by `second`): class
  /// 0, or 1 where `second` holds.
  func classify(
    rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>, second: ((Int) -> Bool)? = nil
  ) -> Bool {
    // SAFETY: callers pass rows of the node table; `status` and `classes` have a row per node.
    if let second {
      for i in rows where status[i] == code { classes[i] = second(i) ? 1 : 0 }
    } else {
      for i in rows { classes[i] = status[i] == code ? 0 : classes[i] }
    }
    return true
  }
  public var passesEveryPod: Bool { false }
  public var filtersRowsConcurrently: Bool { false }

  /// A new node helps when this plugin accepts the pod there (NodeName; NodePorts on a node with
  /// no pods); anything else always may.
  public func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool {
    guard case .nodeAdded(let node) = change else { return true }
    return accepts(pod, on: node, cluster: cluster)
  }

  /// Whether the plugin's PreFilter and Filter pass the pod on `node` (cold: allocates a status
  /// column).
  func accepts(_ pod: PodInfo, on node: NodeID, cluster: Cluster) -> Bool {
    // SAFETY: a status column of one row per node, freed on return; `node` is a node row.
    guard preFilter(pod, cluster: cluster) else { return true }
    let status = UnsafeMutablePointer<UInt8>.allocate(capacity: cluster.nodes.count)
    defer { status.deallocate() }
    status[node.index] = 0
    filter(pod, cluster: cluster, rows: node.index..<(node.index + 1), status: status, code: 1)
    return status[node.index] == 0
  }

  /// Plugins that can narrow the candidate nodes before filtering override this.
  public func restrictNodes(_ pod: PodInfo, cluster: Cluster) -> NodeRestriction { .all }

  public func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    var n = 0
    var first = -1
    for seg in window.segments {
      let c = Kernels.count(of: code, status, seg)
      if c > 0 && first < 0 { first = Kernels.firstIndex(of: code, status, seg) ?? -1 }
      n += c
    }
    guard n > 0, first >= 0 else { return }
    for reason in failureReasons(pod, cluster: cluster, node: NodeID(UInt32(first))) {
      counts[reason, default: 0] += n
    }
  }
}

/// How a score plugin contributes to one cycle.
public enum ScoreMode: Equatable, Sendable {
  /// Every feasible node gets this (already normalised) score; no per-node pass.
  case uniform(Int64)
  /// Per-node scores from `score`, then the plugin's normalisation.
  case perNode
}

/// NormalizeScore behaviours used by the default plugins.
public enum ScoreNormalization: Sendable, Equatable {
  case none
  /// `DefaultNormalizeScore(100, reverse)`: scale by the maximum (and flip when reversed).
  case scaleByMax(reverse: Bool)
  /// `100 × (s − min) / (max − min)`, all zero when max = min (InterPodAffinity).
  case minMax
  /// The same in integers, `(s − min)·100 / (max − min)` (the FGD simulator's BestFit).
  case integerMinMax
  /// The plugin's own (`ScorePlugin.normalize`), e.g. PodTopologySpread's ignored nodes.
  case custom
}

/// A score extension point implementation working on whole columns.
public protocol ScorePlugin: SchedulingPlugin {
  var normalization: ScoreNormalization { get }
  /// PreScore over the feasible rows of `window` (`status[i] == 0`).
  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  /// Raw scores for `rows` (values at infeasible rows are ignored).
  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>)
  /// Normalisation for `.custom` plugins, over the window's feasible rows.
  func normalize(
    _ scores: UnsafeMutablePointer<Int64>, window: Window, status: UnsafePointer<UInt8>)
  /// Whether a row's raw score is a function of the pod's shape (`PodShape`) and that node's own
  /// state alone, given the nodes' shape (`Cluster.nodeShapeVersion`; ImageLocality's image
  /// spreads): then the scheduler keeps scores across cycles and recomputes only rows whose node
  /// changed (see `NodeTable.journal`).
  var scoresAreNodeLocal: Bool { get }
  /// Whether `score` may run on disjoint row ranges from two threads at once within one cycle
  /// (after one PreScore): it writes only the score rows it is given and reads its PreScore
  /// state without changing it (`Scheduler.usesSecondCore`). Off by default.
  var scoresRowsConcurrently: Bool { get }
  /// Whether PreScore for `pod` reads which rows of the window are feasible (`status`). When no
  /// score plugin does, a cycle that filters every node may run PreScore first and score each
  /// chunk of rows right after filtering it (`Scheduler.scoresWhileFiltering`). True unless a
  /// plugin says otherwise.
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool
  // The cycle's per-pod calls on an unretained instance (see `ScoreCall`), implemented once
  // below for every plugin.
  static func unretainedPreScore(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster, _ window: Window,
    _ status: UnsafePointer<UInt8>
  ) -> ScoreMode
  static func unretainedScore(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster, _ rows: Range<Int>,
    _ scores: UnsafeMutablePointer<Int64>)
  static func unretainedNormalize(
    _ object: UnsafeRawPointer, _ scores: UnsafeMutablePointer<Int64>, _ window: Window,
    _ status: UnsafePointer<UInt8>)
  static func unretainedPreScoreReadsFeasibleRows(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster
  ) -> Bool
}

extension ScorePlugin {
  public func normalize(
    _ scores: UnsafeMutablePointer<Int64>, window: Window, status: UnsafePointer<UInt8>
  ) {}
  public var scoresAreNodeLocal: Bool { false }
  public var scoresRowsConcurrently: Bool { false }
  public func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool { true }

  public static func unretainedPreScoreReadsFeasibleRows(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster
  ) -> Bool {
    // SAFETY: `object` is `Unmanaged.passUnretained` of a `Self` that the scheduler's plugin
    // list keeps alive (see `FilterCall`, `ScoreCall`).
    Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef {
      $0.preScoreReadsFeasibleRows(pod, cluster: cluster)
    }
  }

  public static func unretainedPreScore(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster, _ window: Window,
    _ status: UnsafePointer<UInt8>
  ) -> ScoreMode {
    // SAFETY: `object` is `Unmanaged.passUnretained` of a `Self` that the scheduler's plugin
    // list keeps alive (see `FilterCall`, `ScoreCall`).
    Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef {
      $0.preScore(pod, cluster: cluster, window: window, status: status)
    }
  }

  public static func unretainedScore(
    _ object: UnsafeRawPointer, _ pod: PodInfo, _ cluster: Cluster, _ rows: Range<Int>,
    _ scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: `object` is `Unmanaged.passUnretained` of a `Self` that the scheduler's plugin
    // list keeps alive (see `FilterCall`, `ScoreCall`).
    Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef {
      $0.score(pod, cluster: cluster, rows: rows, into: scores)
    }
  }

  public static func unretainedNormalize(
    _ object: UnsafeRawPointer, _ scores: UnsafeMutablePointer<Int64>, _ window: Window,
    _ status: UnsafePointer<UInt8>
  ) {
    // SAFETY: `object` is `Unmanaged.passUnretained` of a `Self` that the scheduler's plugin
    // list keeps alive (see `FilterCall`, `ScoreCall`).
    Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef {
      $0.normalize(scores, window: window, status: status)
    }
  }
}

/// The Reserve extension point as Berth uses it: the GPU devices a GPU-sharing pod takes on
/// the node chosen for it (open-gpu-share's device annotation). Plugins are asked in profile
/// order; the first answer wins, and with none the pod takes `GPUSelection.defaultDevices`.
public protocol ReservePlugin: SchedulingPlugin {
  /// The devices (bit i = GPU i) for `pod` on `node`, or nil to leave the choice to the next.
  /// Called once per placement, before binding (a plugin may update its own state here).
  func reserveDevices(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> UInt8?
}

/// What node-local scores and verdicts depend on in a pod: its requests and its constraint set.
struct PodShape: Equatable {
  var cpu, memory, ephemeral, nonZeroCPU, nonZeroMemory: Int64
  var scalarRequests: UInt32
  var constraints: UInt32
  /// GPU-sharing requests (devices, milli per device, accepted models).
  var gpuCount: UInt8
  var gpuMilli: Int16
  var gpuModels: UInt32

  init(_ pod: PodInfo, in cluster: Cluster) {
    cpu = pod.requestCPU
    memory = pod.requestMemory
    ephemeral = pod.requestEphemeral
    nonZeroCPU = pod.nonZeroCPU
    nonZeroMemory = pod.nonZeroMemory
    scalarRequests = cluster.pods.scalarRequests[pod.id.index]
    constraints = pod.constraintsID
    gpuCount = cluster.pods.gpuCount[pod.id.index]
    gpuMilli = cluster.pods.gpuMilli[pod.id.index]
    gpuModels = cluster.pods.gpuModels[pod.id.index]
  }
}

/// What the verdicts of filters that follow the filter shape depend on in a pod: its requests
/// and the part of its constraint set that speaks of nodes (`FilterShapes` numbers those parts;
/// images, spread and inter-pod terms do not count). Two pods of one ReplicaSet share it, and so
/// do the pods of different Deployments asking for the same resources.
struct FilterShape: Hashable {
  var cpu, memory, ephemeral: Int64
  var scalarRequests: UInt32
  var nodeConstraints: UInt32
  var gpuCount: UInt8
  var gpuMilli: Int16
  var gpuModels: UInt32

  init(_ pod: PodInfo, in cluster: Cluster, nodeConstraints: UInt32) {
    cpu = pod.requestCPU
    memory = pod.requestMemory
    ephemeral = pod.requestEphemeral
    scalarRequests = cluster.pods.scalarRequests[pod.id.index]
    self.nodeConstraints = nodeConstraints
    gpuCount = cluster.pods.gpuCount[pod.id.index]
    gpuMilli = cluster.pods.gpuMilli[pod.id.index]
    gpuModels = cluster.pods.gpuModels[pod.id.index]
  }
}

/// Numbers the distinct node-facing parts of pods' constraint sets (node selector, node
/// affinity, tolerations, host ports, node name): constraint sets differing only in what no
/// shape-following filter reads share a number. Each constraint set is looked up once.
struct FilterShapes {
  private struct NodeFacing: Hashable {
    var nodeSelector: [LabelPair]
    var affinity: NodeAffinity?
    var tolerations: [Toleration]
    var hostPorts: [ContainerPort]
    var nodeName: String
  }
  private var numbers: [NodeFacing: UInt32] = [:]
  /// By constraint set id: its number, or `UInt32.max` while not looked up.
  private var byConstraints: [UInt32] = []

  mutating func number(of pod: PodInfo) -> UInt32 {
    let id = Int(pod.constraintsID)
    if id < byConstraints.count, byConstraints[id] != .max { return byConstraints[id] }
    if id >= byConstraints.count {
      byConstraints.append(contentsOf: repeatElement(.max, count: id + 1 - byConstraints.count))
    }
    let c = pod.constraints
    let key = NodeFacing(
      nodeSelector: c.nodeSelector, affinity: c.affinity, tolerations: c.tolerations,
      hostPorts: c.hostPorts, nodeName: c.nodeName)
    let number = numbers[key] ?? UInt32(numbers.count)
    numbers[key] = number
    byConstraints[id] = number
    return number
  }
}

/// Upstream's scores range.
public enum NodeScore {
  public static let max: Int64 = 100
}

/// 1 for true, 0 for false, without a branch.
// SAFETY: Bool is one byte holding 0 or 1.
@inline(__always) func bit(_ b: Bool) -> UInt8 { unsafeBitCast(b, to: UInt8.self) }

/// A row's status after a filter: `code` if the row was still feasible (0) and `failed`,
/// unchanged otherwise. Branch-free, so filter loops vectorise.
@inline(__always) func markFailure(_ status: UInt8, failed: Bool, code: UInt8) -> UInt8 {
  let f = bit(failed) & bit(status == 0)
  return status | (code & (0 &- f))
}
