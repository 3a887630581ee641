import BerthCore
import CBerthSystem

/// A resource a scoring formula names, resolved once from its configured name so that a cycle
/// compares no strings.
enum ScoringResource: Equatable {
  case cpu, memory, ephemeralStorage
  /// An extended resource, looked up in the cluster's scalar registry per cycle.
  case scalar(String)

  init(_ name: String) {
    switch name {
    case ResourceName.cpu: self = .cpu
    case ResourceName.memory: self = .memory
    case ResourceName.ephemeralStorage: self = .ephemeralStorage
    default: self = .scalar(name)
    }
  }
}

/// The node columns and pod amount one resource contributes to a scoring formula.
struct ResourceColumns {
  var weight: Int64
  var allocatable: UnsafePointer<Int64>
  var requested: UnsafePointer<Int64>
  var podAmount: Int64
  /// The node table's doubles for this resource (CPU and memory), when they allow the
  /// reciprocal forms (`ResourceKernels`): exact, every allocatable in [0, 2^44), and the pod's
  /// amount in [0, 2^46). nil otherwise.
  var doubles: ResourceDoublePointers?
  /// No node's allocatable reaches 2^46 (or is negative), so `(alloc − req)·100` and the quotient arithmetic
  /// are exact in double precision (see `ResourceKernels`).
  var fitsDoubleArithmetic: Bool
}

/// Base pointers of one resource's `ResourceDoubles`, taken once per cycle.
struct ResourceDoublePointers {
  var allocatable, free, nonZeroFree, inverse: UnsafePointer<Double>
  /// Every node's allocatable amount is positive (`NodeTable.nodesWithoutAllocatable`), so the
  /// kernels may leave out the rules for a zero one.
  var allPositive: Bool

  init(_ d: ResourceDoubles, allPositive: Bool) {
    // SAFETY: the columns' own storage, a row per node; callers index only node rows.
    allocatable = UnsafePointer(d.allocatable.base)
    free = UnsafePointer(d.free.base)
    nonZeroFree = UnsafePointer(d.nonZeroFree.base)
    inverse = UnsafePointer(d.inverse.base)
    self.allPositive = allPositive
  }
}

extension Cluster {
  /// Columns for `resource` as the resource-allocation scorers read them: CPU and memory from
  /// the non-zero sums when `nonZero` (NodeResourcesFit scoring), the real sums otherwise
  /// (BalancedAllocation). nil when no node advertises the resource, or when the pod does not
  /// request a scalar resource (upstream drops such resources from both sums).
  func resourceColumns(_ resource: ScoringResource, weight: Int64, pod: PodInfo, nonZero: Bool)
    -> ResourceColumns?
  {
    // SAFETY: base pointers of node columns, read by this cycle's score calls over node rows.
    let n = nodes
    /// The doubles, where the reciprocal forms' arguments hold.
    func doubles(_ d: ResourceDoubles, largest: Int64, lacking: Int, pod amount: Int64)
      -> ResourceDoublePointers?
    {
      guard n.mirrorsAreExact && largest < 1 << 44 && amount >= 0 && amount < 1 << 46 else {
        return nil
      }
      return ResourceDoublePointers(d, allPositive: lacking == 0)
    }
    switch resource {
    case .cpu:
      let amount = nonZero ? pod.nonZeroCPU : pod.requestCPU
      return ResourceColumns(
        weight: weight, allocatable: UnsafePointer(n.allocatableCPU.base),
        requested: UnsafePointer(nonZero ? n.nonZeroRequestedCPU.base : n.requestedCPU.base),
        podAmount: amount,
        doubles: doubles(
          n.cpuDoubles, largest: n.largestAllocatable.cpu,
          lacking: n.nodesWithoutAllocatable.cpu, pod: amount),
        fitsDoubleArithmetic: n.largestAllocatable.cpu < 1 << 46)
    case .memory:
      let amount = nonZero ? pod.nonZeroMemory : pod.requestMemory
      return ResourceColumns(
        weight: weight, allocatable: UnsafePointer(n.allocatableMemory.base),
        requested: UnsafePointer(nonZero ? n.nonZeroRequestedMemory.base : n.requestedMemory.base),
        podAmount: amount,
        doubles: doubles(
          n.memoryDoubles, largest: n.largestAllocatable.memory,
          lacking: n.nodesWithoutAllocatable.memory, pod: amount),
        fitsDoubleArithmetic: n.largestAllocatable.memory < 1 << 46)
    case .ephemeralStorage:
      return ResourceColumns(
        weight: weight, allocatable: UnsafePointer(n.allocatableEphemeral.base),
        requested: UnsafePointer(n.requestedEphemeral.base), podAmount: pod.requestEphemeral,
        doubles: nil, fitsDoubleArithmetic: n.largestAllocatable.ephemeral < 1 << 46)
    case .scalar(let name):
      guard let r = scalars.id(of: name) else { return nil }
      let amount = pod.scalarRequests.first { $0.resource == r }?.amount ?? 0
      guard amount != 0 else { return nil }
      return ResourceColumns(
        weight: weight, allocatable: UnsafePointer(n.scalarAllocatable[r.index].base),
        requested: UnsafePointer(n.scalarRequested[r.index].base), podAmount: amount,
        doubles: nil, fitsDoubleArithmetic: n.largestScalarAllocatable[r.index] < 1 << 46)
    }
  }
}

#if BERTH_DELIBERATE_SLOWDOWN
  extension NodeResourcesFitPlugin {
    nonisolated(unsafe) static var slowdownSink: UInt64 = 0
    /// Dependent xorshift-multiply steps per cycle (≈ 5 CPU cycles each; non-linear, so the
    /// optimiser cannot fold the chain as it folds a linear recurrence), aimed at 15 % of a
    /// SchedulingBasic cycle at 5,000 nodes; calibrated with `bench ab` (docs/suites.md).
    static let slowdownSteps = 270
  }
#endif

extension PluginName {
  public static let nodeResourcesFit = PluginName("NodeResourcesFit")
}

/// NodeResourcesFit.
///
/// Filter (`fitsRequest`): the node must have room for one more pod; then, for each resource
/// the pod requests (> 0), request ≤ allocatable − requested. Extended resources named in
/// `ignoredResources` or in an `ignoredResourceGroups` prefix are not checked. A missing
/// resource has allocatable 0.
///
/// Score, per `scoringStrategy` over the configured resources (CPU and memory use the non-zero
/// requests; a resource with allocatable 0 drops out of both sums):
/// - LeastAllocated: Σ w·(alloc − req)·100/alloc / Σ w. 2300m of 32000m → 92.
/// - MostAllocated: Σ w·min(req, alloc)·100/alloc / Σ w.
/// - RequestedToCapacityRatio: the shape's broken-line function of utilisation, averaged over the
///   resources that score above zero, rounded half away from zero.
final class NodeResourcesFitPlugin: FilterPlugin, ScorePlugin {
  static let descriptor = PluginDescriptor(
    .nodeResourcesFit, [.preFilter, .filter, .preScore, .score],
    events: ClusterEvents(
      nodeUpdate: .allocatable, assignedPodDelete: true, assignedPodScaleDown: true),
    arguments: NodeResourcesFitArguments.self
  ) { NodeResourcesFitPlugin(arguments: $0.profile.arguments[NodeResourcesFitArguments.self]) }
  let name = PluginName.nodeResourcesFit
  let normalization = ScoreNormalization.none
  /// Node-local: the pod's requests against the node's own columns.
  let scoresAreNodeLocal = true
  let verdictsAreNodeLocal = true
  /// Filter and score read the node columns and PreFilter/PreScore's lists, and write only
  /// their rows.
  let filtersRowsConcurrently = true
  let scoresRowsConcurrently = true
  /// PreScore reads the pod and the node columns, never the feasible rows.
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool { false }
  let arguments: NodeResourcesFitArguments
  /// Shape with scores ×10, as `requestedToCapacityRatioScorer` scales them.
  let shape: [UtilizationShapePoint]
  /// The scored resources and their weights, resolved from `arguments.resources`.
  let resources: [(resource: ScoringResource, weight: Int64)]

  @exclusivity(unchecked) private var checkedScalars: [(ScalarResourceID, Int64)] = []
  @exclusivity(unchecked) private var scored: [ResourceColumns] = []

  init(arguments: NodeResourcesFitArguments) {
    self.arguments = arguments
    shape = arguments.shape.map {
      UtilizationShapePoint(utilization: $0.utilization, score: $0.score * 10)
    }
    resources = arguments.resources.map { (ScoringResource($0.name), $0.weight) }
  }

  func isIgnored(_ resource: String) -> Bool {
    guard ResourceName.isExtended(resource) else { return false }
    if arguments.ignoredResources.contains(resource) { return true }
    let group = resource.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
    return arguments.ignoredResourceGroups.contains(group)
  }

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    #if BERTH_DELIBERATE_SLOWDOWN
      // Only in a build made to prove the regression gate catches a slowdown (docs/suites.md):
      // a fixed chain of dependent multiplies in every cycle (PreFilter always runs; the filter
      // itself is skipped when its node-local verdicts are cached).
      var x = NodeResourcesFitPlugin.slowdownSink | 1
      for _ in 0..<NodeResourcesFitPlugin.slowdownSteps {
        x = (x ^ (x >> 29)) &* 0xBF58_476D_1CE4_E5B9
      }
      NodeResourcesFitPlugin.slowdownSink = x
    #endif
    checkedScalars.removeAll(keepingCapacity: true)
    for r in pod.scalarRequests
    where r.amount != 0 && !isIgnored(cluster.scalars.names[r.resource.index]) {
      checkedScalars.append((r.resource, r.amount))
    }
    return true
  }

  /// Whether the pod of the last PreFilter has no extended resource to check.
  var checksNoExtendedResource: Bool { checkedScalars.isEmpty }

  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let n = cluster.nodes
    let (allocPods, pods) = (UnsafePointer(n.allocatablePods.base), UnsafePointer(n.podCount.base))
    let (allocCPU, reqCPU, allocMem, reqMem, allocEph, reqEph) = Self.freeColumns(n)
    let (cpu, mem, eph) = Self.checkedRequests(pod)
    // SAFETY: every node column has as many rows as `status`, and `rows` lies within them.
    if eph == Int64.min && n.mirrorsAreExact {
      // Most pods request no ephemeral storage. The node table's doubles hold the free amounts
      // exactly (below 2^52): three columns instead of six, each compared once. A request
      // converts exactly below 2^53 and stays above every free amount beyond; an unchecked
      // request is −∞, below any.
      let (slots, freeCPU, freeMemory) = (
        UnsafePointer(n.freePodSlots.base), UnsafePointer(n.cpuDoubles.free.base),
        UnsafePointer(n.memoryDoubles.free.base)
      )
      let c = cpu == Int64.min ? -Double.infinity : Double(cpu)
      let m = mem == Int64.min ? -Double.infinity : Double(mem)
      // In C: the compare masks become status bytes through movemask or mask registers
      // (berth_kernels.h), where the compiler's own loop narrows them through shuffles.
      berth_fit_filter(
        slots, freeCPU, freeMemory, c, m, status, rows.lowerBound, rows.upperBound, code)
    } else if eph == Int64.min {
      // Skip reading the two ephemeral-storage columns.
      for i in rows {
        let fail =
          bit(pods[i] &+ 1 > allocPods[i]) | bit(cpu > allocCPU[i] &- reqCPU[i])
          | bit(mem > allocMem[i] &- reqMem[i])
        status[i] = markFailure(status[i], failed: fail != 0, code: code)
      }
    } else {
      for i in rows {
        let fail =
          bit(pods[i] &+ 1 > allocPods[i]) | bit(cpu > allocCPU[i] &- reqCPU[i])
          | bit(mem > allocMem[i] &- reqMem[i]) | bit(eph > allocEph[i] &- reqEph[i])
        status[i] = markFailure(status[i], failed: fail != 0, code: code)
      }
    }
    for (r, amount) in checkedScalars {
      let alloc = UnsafePointer(n.scalarAllocatable[r.index].base)
      let req = UnsafePointer(n.scalarRequested[r.index].base)
      for i in rows {
        status[i] = markFailure(status[i], failed: amount > alloc[i] &- req[i], code: code)
      }
    }
  }

  /// Upstream's hints: any assigned pod's deletion may free room, and so may a bound pod's
  /// in-place scale-down of something the pod requests; a new node helps when the pod
  /// fits it empty — every request against allocatable, extended resources the arguments ignore
  /// included (`isFit` checks the pod without the plugin's ignore lists).
  /// A node update helps when the pod fits the node empty and the update raised the allowed pod
  /// count or the allocatable amount of something the pod requests
  /// (`haveAnyRequestedResourcesIncreased`).
  func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool {
    let node: NodeID
    switch change {
    case .assignedPodAdded, .assignedPodDeleted: return true
    case .assignedPodScaledDown(let other, let oldCPU, let oldMemory):
      // `isSchedulableAfterPodScaleDown`: the pod itself, or a resource it requests went down.
      let p = cluster.pods
      if other == pod.id { return true }
      if !p.isBound(other) { return false }
      return (pod.requestCPU > 0 && oldCPU > p.requestCPU[other.index])
        || (pod.requestMemory > 0 && oldMemory > p.requestMemory[other.index])
    case .podAdded, .nodeDeleted: return false
    case .nodeAdded(let n): node = n
    case .nodeUpdated(let n, _, _): node = n
    }
    let n = cluster.nodes
    let i = node.index
    if n.allocatablePods[i] < 1 { return false }
    if pod.requestCPU > 0 && pod.requestCPU > n.allocatableCPU[i] { return false }
    if pod.requestMemory > 0 && pod.requestMemory > n.allocatableMemory[i] { return false }
    if pod.requestEphemeral > 0 && pod.requestEphemeral > n.allocatableEphemeral[i] { return false }
    for r in pod.scalarRequests
    where r.amount > 0 && r.amount > n.scalarAllocatable[r.resource.index][i] { return false }
    guard case .nodeUpdated(_, let old, _) = change else { return true }
    let was = old.allocatable
    if n.allocatablePods[i] > was.pods { return true }
    if pod.requestCPU > 0 && n.allocatableCPU[i] > was.cpuMillis { return true }
    if pod.requestMemory > 0 && n.allocatableMemory[i] > was.memoryBytes { return true }
    if pod.requestEphemeral > 0 && n.allocatableEphemeral[i] > was.ephemeralStorageBytes {
      return true
    }
    let names = cluster.scalars.names
    return pod.scalarRequests.contains { r in
      r.amount > 0
        && n.scalarAllocatable[r.resource.index][i] > was.scalar(names[r.resource.index]) ?? 0
    }
  }

  /// Unresolvable when some request exceeds the node's whole allocatable amount.
  func isUnresolvable(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> Bool {
    let n = cluster.nodes
    let i = node.index
    if pod.requestCPU > n.allocatableCPU[i] || pod.requestMemory > n.allocatableMemory[i] {
      return true
    }
    if pod.requestEphemeral > 0 && pod.requestEphemeral > n.allocatableEphemeral[i] { return true }
    for r in pod.scalarRequests
    where r.amount != 0 && !isIgnored(cluster.scalars.names[r.resource.index]) {
      if r.amount > n.scalarAllocatable[r.resource.index][i] { return true }
    }
    return false
  }

  /// `isUnresolvable` for every row of `rows` whose status is `code`: appends, in order, the
  /// rows where it is false (preemption's potential nodes, asked for every rejected row).
  func appendResolvable(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into out: inout [Int]
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let n = cluster.nodes
    let (allocCPU, allocMem, allocEph) = (
      UnsafePointer(n.allocatableCPU.base), UnsafePointer(n.allocatableMemory.base),
      UnsafePointer(n.allocatableEphemeral.base)
    )
    let names = cluster.scalars.names
    let scalars = pod.scalarRequests.filter {
      $0.amount != 0 && !isIgnored(names[$0.resource.index])
    }.map { (UnsafePointer(n.scalarAllocatable[$0.resource.index].base), $0.amount) }
    let (cpu, mem) = (pod.requestCPU, pod.requestMemory)
    let eph = pod.requestEphemeral > 0 ? pod.requestEphemeral : Int64.min
    for i in rows where status[i] == code {
      var unresolvable = cpu > allocCPU[i] || mem > allocMem[i] || eph > allocEph[i]
      for (alloc, amount) in scalars where amount > alloc[i] { unresolvable = true }
      if !unresolvable { out.append(i) }
    }
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] {
    let n = cluster.nodes
    let i = node.index
    var reasons: [String] = []
    if n.podCount[i] + 1 > n.allocatablePods[i] { reasons.append("Too many pods") }
    if pod.requestCPU > 0 && pod.requestCPU > n.allocatableCPU[i] - n.requestedCPU[i] {
      reasons.append("Insufficient cpu")
    }
    if pod.requestMemory > 0 && pod.requestMemory > n.allocatableMemory[i] - n.requestedMemory[i] {
      reasons.append("Insufficient memory")
    }
    if pod.requestEphemeral > 0
      && pod.requestEphemeral > n.allocatableEphemeral[i] - n.requestedEphemeral[i]
    {
      reasons.append("Insufficient ephemeral-storage")
    }
    for r in pod.scalarRequests where r.amount != 0 {
      let name = cluster.scalars.names[r.resource.index]
      if isIgnored(name) { continue }
      if r.amount > n.scalarAllocatable[r.resource.index][i]
        - n.scalarRequested[r.resource.index][i]
      {
        reasons.append("Insufficient \(name)")
      }
    }
    return reasons
  }

  /// Histogram of the CPU / memory / ephemeral-storage / pod-count shortfall combinations;
  /// nodes short of a scalar resource take the per-node path.
  func countReasons(
    _ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    _ = preFilter(pod, cluster: cluster)
    let n = cluster.nodes
    if checkedScalars.isEmpty {
      countBaseReasons(pod, nodes: n, window: window, status: status, code: code, into: &counts)
      return
    }
    var combos = [Int](repeating: 0, count: 16)
    for seg in window.segments {
      for i in seg where status[i] == code {
        var mask = 0
        if n.podCount[i] + 1 > n.allocatablePods[i] { mask |= 1 }
        if pod.requestCPU > 0 && pod.requestCPU > n.allocatableCPU[i] - n.requestedCPU[i] {
          mask |= 2
        }
        if pod.requestMemory > 0
          && pod.requestMemory > n.allocatableMemory[i] - n.requestedMemory[i]
        {
          mask |= 4
        }
        if pod.requestEphemeral > 0
          && pod.requestEphemeral > n.allocatableEphemeral[i] - n.requestedEphemeral[i]
        {
          mask |= 8
        }
        var scalarShort = false
        for (r, amount) in checkedScalars
        where amount > n.scalarAllocatable[r.index][i] - n.scalarRequested[r.index][i] {
          scalarShort = true
        }
        if scalarShort {
          for r in failureReasons(pod, cluster: cluster, node: NodeID(UInt32(i))) {
            counts[r, default: 0] += 1
          }
        } else {
          combos[mask] += 1
        }
      }
    }
    let names = [
      "Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage",
    ]
    for (mask, c) in combos.enumerated() where c > 0 {
      for (b, name) in names.enumerated() where mask & (1 << b) != 0 {
        counts[name, default: 0] += c
      }
    }
  }

  /// Classes are shortfall bits in `failureReasons`' order: 1 the pod count, 2 CPU, 4 memory,
  /// 8 ephemeral storage, 16 << j the j-th checked extended resource (four at most).
  func classifyRejections(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool {
    // SAFETY: rows within the node table (asserted); node columns, `status` and `classes` have
    // a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    guard checkedScalars.count <= 4 else { return false }
    let n = cluster.nodes
    let (allocPods, pods) = (UnsafePointer(n.allocatablePods.base), UnsafePointer(n.podCount.base))
    let (allocCPU, reqCPU, allocMem, reqMem, allocEph, reqEph) = Self.freeColumns(n)
    let (cpu, mem, eph) = Self.checkedRequests(pod)
    for i in rows {
      let short =
        bit(pods[i] &+ 1 > allocPods[i]) | bit(cpu > allocCPU[i] &- reqCPU[i]) &<< 1
        | bit(mem > allocMem[i] &- reqMem[i]) &<< 2 | bit(eph > allocEph[i] &- reqEph[i]) &<< 3
      classes[i] = status[i] == code ? short : classes[i]
    }
    for (j, (r, amount)) in checkedScalars.enumerated() {
      let alloc = UnsafePointer(n.scalarAllocatable[r.index].base)
      let req = UnsafePointer(n.scalarRequested[r.index].base)
      let shift = UInt8(4 + j)
      for i in rows {
        classes[i] |= (bit(status[i] == code) & bit(amount > alloc[i] &- req[i])) &<< shift
      }
    }
    return true
  }

  func reasons(ofClass c: UInt8, _ pod: PodInfo, cluster: Cluster) -> [String] {
    var reasons: [String] = []
    let base = [
      "Too many pods", "Insufficient cpu", "Insufficient memory", "Insufficient ephemeral-storage",
    ]
    for (b, name) in base.enumerated() where c & (1 << UInt8(b)) != 0 { reasons.append(name) }
    let names = cluster.scalars.names
    let checked = pod.scalarRequests.filter {
      $0.amount != 0 && !isIgnored(names[$0.resource.index])
    }
    for (j, r) in checked.prefix(4).enumerated() where c & (16 << UInt8(j)) != 0 {
      reasons.append("Insufficient \(names[r.resource.index])")
    }
    return reasons
  }

  /// The allocatable and requested CPU, memory and ephemeral-storage columns.
  @inline(__always)
  private static func freeColumns(_ n: NodeTable) -> (
    UnsafePointer<Int64>, UnsafePointer<Int64>, UnsafePointer<Int64>, UnsafePointer<Int64>,
    UnsafePointer<Int64>, UnsafePointer<Int64>
  ) {
    // SAFETY: the columns' own storage, a row per node; callers index only node rows.
    return (
      UnsafePointer(n.allocatableCPU.base), UnsafePointer(n.requestedCPU.base),
      UnsafePointer(n.allocatableMemory.base), UnsafePointer(n.requestedMemory.base),
      UnsafePointer(n.allocatableEphemeral.base), UnsafePointer(n.requestedEphemeral.base)
    )
  }

  /// The pod's CPU, memory and ephemeral-storage requests as the filter compares them: a zero
  /// request is never checked — Int64.min is below any free amount, so it always fits.
  @inline(__always)
  private static func checkedRequests(_ pod: PodInfo) -> (Int64, Int64, Int64) {
    (
      pod.requestCPU > 0 ? pod.requestCPU : Int64.min,
      pod.requestMemory > 0 ? pod.requestMemory : Int64.min,
      pod.requestEphemeral > 0 ? pod.requestEphemeral : Int64.min
    )
  }

  /// `countReasons` for a pod without checked extended resources: each reason's node count is
  /// a sum of comparisons over the columns (a node short of several things counts under each),
  /// with no branch per node — a pod that fits nowhere is diagnosed over every node.
  private func countBaseReasons(
    _ pod: PodInfo, nodes n: NodeTable, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    // SAFETY: the window's rows lie within the node table, whose columns and `status` have a
    // row per node (as in `filter`).
    assert(window.isOver(n), "a window over another node table")
    let (allocPods, pods) = (UnsafePointer(n.allocatablePods.base), UnsafePointer(n.podCount.base))
    let (allocCPU, reqCPU, allocMem, reqMem, allocEph, reqEph) = Self.freeColumns(n)
    let (cpu, mem, eph) = Self.checkedRequests(pod)
    var short = (pods: 0, cpu: 0, memory: 0, ephemeral: 0)
    for seg in window.segments {
      for i in seg {
        let mine = Int(bit(status[i] == code))
        short.pods &+= mine & Int(bit(pods[i] &+ 1 > allocPods[i]))
        short.cpu &+= mine & Int(bit(cpu > allocCPU[i] &- reqCPU[i]))
        short.memory &+= mine & Int(bit(mem > allocMem[i] &- reqMem[i]))
        short.ephemeral &+= mine & Int(bit(eph > allocEph[i] &- reqEph[i]))
      }
    }
    for (name, c) in [
      ("Too many pods", short.pods), ("Insufficient cpu", short.cpu),
      ("Insufficient memory", short.memory), ("Insufficient ephemeral-storage", short.ephemeral),
    ] where c > 0 {
      counts[name, default: 0] += c
    }
  }

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    // SAFETY: the window spans the node table (asserted); `status` holds a row per node.
    assert(window.isOver(cluster.nodes), "a window over another node table")
    scored.removeAll(keepingCapacity: true)
    for (r, weight) in resources {
      if let c = cluster.resourceColumns(r, weight: weight, pod: pod, nonZero: true) {
        scored.append(c)
      }
    }
    return scored.isEmpty ? .uniform(0) : .perNode
  }

  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `scores` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    if arguments.strategy == .leastAllocated && scored.count == 2 && scored[0].weight == 1
      && scored[1].weight == 1
    {
      ResourceKernels.leastAllocatedTwo(scored[0], scored[1], rows: rows, into: scores)
      return
    }
    if arguments.strategy != .requestedToCapacityRatio && scored.count == 2
      && scored[0].fitsDoubleArithmetic && scored[1].fitsDoubleArithmetic
    {
      ResourceKernels.weightedTwoInDoubles(
        scored[0], scored[1], mostAllocated: arguments.strategy == .mostAllocated, rows: rows,
        into: scores)
      return
    }
    switch arguments.strategy {
    case .leastAllocated, .mostAllocated:
      let least = arguments.strategy == .leastAllocated
      for i in rows {
        var total: Int64 = 0
        var weights: Int64 = 0
        for r in scored {
          let alloc = r.allocatable[i]
          if alloc == 0 { continue }
          let req = r.requested[i] &+ r.podAmount
          let s: Int64
          if least {
            s = req > alloc ? 0 : (alloc - req) * NodeScore.max / alloc
          } else {
            s = min(req, alloc) * NodeScore.max / alloc
          }
          total += s * r.weight
          weights += r.weight
        }
        scores[i] = weights == 0 ? 0 : total / weights
      }
    case .requestedToCapacityRatio:
      for i in rows {
        var total: Int64 = 0
        var weights: Int64 = 0
        for r in scored {
          let alloc = r.allocatable[i]
          if alloc == 0 { continue }
          let req = r.requested[i] &+ r.podAmount
          let utilization = req > alloc ? 100 : req * 100 / alloc
          let s = NodeResourcesFitPlugin.brokenLine(shape, utilization)
          if s > 0 {
            total += s * r.weight
            weights += r.weight
          }
        }
        scores[i] =
          weights == 0
          ? 0 : Int64((Double(total) / Double(weights)).rounded(.toNearestOrAwayFromZero))
      }
    }
  }

  /// `helper.BuildBrokenLinearFunction`: the first point's score at or below its utilisation,
  /// linear (integer arithmetic) between points, the last point's score beyond.
  static func brokenLine(_ shape: [UtilizationShapePoint], _ p: Int64) -> Int64 {
    for i in shape.indices where p <= shape[i].utilization {
      if i == 0 { return shape[0].score }
      let a = shape[i - 1]
      let b = shape[i]
      return a.score + (b.score - a.score) * (p - a.utilization) / (b.utilization - a.utilization)
    }
    return shape.last?.score ?? 0
  }
}

/// Vectorisable forms of the resource scorers for the default two-resource configuration.
enum ResourceKernels {
  /// LeastAllocated over two resources of weight 1: `((s₀ + s₁) / 2)` with
  /// `sᵣ = (alloc − req)·100/alloc` (0 when over-requested, dropped when alloc = 0).
  static func leastAllocatedTwo(
    _ a: ResourceColumns, _ b: ResourceColumns, rows: Range<Int>,
    into scores: UnsafeMutablePointer<Int64>
  ) {
    if let da = a.doubles, let db = b.doubles {
      leastAllocatedTwoByReciprocals(
        da, Double(a.podAmount), db, Double(b.podAmount), rows: rows, into: scores)
      return
    }
    if a.fitsDoubleArithmetic && b.fitsDoubleArithmetic {
      leastAllocatedTwoInDoubles(a, b, rows: rows, into: scores)
      return
    }
    let allocA = a.allocatable
    let reqA = a.requested
    let podA = a.podAmount
    let allocB = b.allocatable
    let reqB = b.requested
    let podB = b.podAmount
    for i in rows {
      let ca = allocA[i]
      let ra = reqA[i] &+ podA
      let cb = allocB[i]
      let rb = reqB[i] &+ podB
      let sa = ExactMath.divide(max(ca &- ra, 0) &* NodeScore.max, max(ca, 1))
      let sb = ExactMath.divide(max(cb &- rb, 0) &* NodeScore.max, max(cb, 1))
      let wa: Int64 = ca == 0 ? 0 : 1
      let wb: Int64 = cb == 0 ? 0 : 1
      let sum = sa &* wa &+ sb &* wb
      let weights = wa &+ wb
      // Σ/Σw with Σw ∈ {0, 1, 2}: halve (truncating; sums are non-negative) or pass through.
      scores[i] = weights == 2 ? sum >> 1 : sum
    }
  }

  /// The same formula entirely in doubles, 40 % faster than the corrected-integer form.
  ///
  /// Exact because every operand is an integer below 2^53: `(alloc − req)·100 < 2^53` when
  /// alloc < 2^46, and for integers a, b with a + b < 2^53 the correctly rounded quotient
  /// truncates to ⌊a/b⌋ (it could only round up to k + 1 if a/b were within (k+1)·2^-53 of it,
  /// but it is at least 1/b away). Sums and the halving of values ≤ 200 are exact too.
  static func leastAllocatedTwoInDoubles(
    _ a: ResourceColumns, _ b: ResourceColumns, rows: Range<Int>,
    into scores: UnsafeMutablePointer<Int64>
  ) {
    let allocA = a.allocatable
    let reqA = a.requested
    let podA = a.podAmount
    let allocB = b.allocatable
    let reqB = b.requested
    let podB = b.podAmount
    // Both integers lie in [0, 2^46): converted exactly without AVX2's missing instruction.
    for i in rows {
      let ca = ExactMath.exactDouble(allocA[i])
      let fa = ExactMath.exactDouble(max(allocA[i] &- reqA[i] &- podA, 0)) * 100
      let cb = ExactMath.exactDouble(allocB[i])
      let fb = ExactMath.exactDouble(max(allocB[i] &- reqB[i] &- podB, 0)) * 100
      let sa = (fa / max(ca, 1)).rounded(.towardZero)
      let sb = (fb / max(cb, 1)).rounded(.towardZero)
      let wa: Double = ca == 0 ? 0 : 1
      let wb: Double = cb == 0 ? 0 : 1
      let sum = sa * wa + sb * wb
      let halved = wa + wb == 2 ? (sum * 0.5).rounded(.towardZero) : sum
      scores[i] = ExactMath.truncatedToInt(halved)
    }
  }

  /// One resource's LeastAllocated score ⌊100·max(free − pod, 0)/a⌋ from the node table's
  /// doubles (`inverse` = 1/a rounded; 0 when the inverse is 0), without a division:
  /// sᵣ = ⌊x⌋ for x = n/a, n = 100·max(free − pod, 0) ≤ 100·a (free is allocatable less the
  /// non-zero requests; n is an integer below 2^51, exact) and a < 2^44, is the truncation of
  /// q = n·y + 2^-45 rounded once (a multiply-add), y = 1/a rounded. n·y = x·(1 + e) with
  /// |e| ≤ 2^-53, so |n·y − x| ≤ 100·2^-53 < 2^-46.3. When x = k is an integer, q lies above k
  /// by at least 2^-45 − 2^-46.3 and well below k + 1: it truncates to k. Otherwise
  /// k + 1/a ≤ x ≤ k + 1 − 1/a (n and a are integers), and 1/a > 2^-44 exceeds the error plus
  /// the bias plus half an ulp of a value below 128 (2^-46.3 + 2^-45 + 2^-47 < 2^-44.2): q stays
  /// strictly between k and k + 1.
  @inline(__always)
  static func leastAllocated(free: Double, pod: Double, inverse: Double) -> Double {
    0x1p-45.addingProduct(ExactMath.positivePart(free - pod) * 100, inverse).rounded(.towardZero)
  }

  /// `leastAllocated` as integer bits: the bit pattern of 1.5·2^52 + sᵣ. The multiply-add with
  /// 2^-45 − ½ (exact in a double) rounds n·y + 2^-45 − ½ once; by the bounds above (the margins
  /// 2^-45 − 2^-46.3 at an integer x and 1/a − 2^-46.3 − 2^-45 below the next both exceed half
  /// an ulp, 2^-47) the result lies strictly between k − ½ and k + ½. Adding 1.5·2^52 rounds it
  /// to the nearest integer, k — no tie is that close — with an ulp of 1, so the bits of the
  /// sum are those of 1.5·2^52 plus k: one addition where truncating and converting take
  /// three vector operations.
  @inline(__always)
  static func leastAllocatedBits(free: Double, pod: Double, inverse: Double) -> UInt64 {
    let r = (0x1p-45 - 0.5).addingProduct(ExactMath.positivePart(free - pod) * 100, inverse)
    return (r + roundingShift).bitPattern
  }

  /// 1.5·2^52: adding it to a double in (−2^51, 2^51) rounds that to an integer k, the sum's
  /// bits being this constant's plus k.
  static let roundingShift = 0x1.8p52

  /// `leastAllocatedTwo` from the node table's doubles: no division or conversion per row.
  static func leastAllocatedTwoByReciprocals(
    _ a: ResourceDoublePointers, _ podA: Double, _ b: ResourceDoublePointers, _ podB: Double,
    rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    let (freeA, inverseA) = (a.nonZeroFree, a.inverse)
    let (freeB, inverseB) = (b.nonZeroFree, b.inverse)
    if a.allPositive && b.allPositive {
      // Both resources count on every node: (sa + sb)/2 truncated is a shift of the integer sum
      // (at most 200), formed from the two scores' bits.
      let twice = 2 &* roundingShift.bitPattern
      for i in rows {
        let sa = leastAllocatedBits(free: freeA[i], pod: podA, inverse: inverseA[i])
        let sb = leastAllocatedBits(free: freeB[i], pod: podB, inverse: inverseB[i])
        scores[i] = Int64(bitPattern: (sa &+ sb &- twice) >> 1)
      }
      return
    }
    for i in rows {
      let (ya, yb) = (inverseA[i], inverseB[i])
      let sa = leastAllocated(free: freeA[i], pod: podA, inverse: ya)
      let sb = leastAllocated(free: freeB[i], pod: podB, inverse: yb)
      // y = 0 exactly where the allocatable amount is 0 (the doubles hold none negative): that
      // resource drops out with a score of 0, so the sum is halved only when both count.
      let half = 0.5 + (min(ya, yb) == 0 ? 0.5 : 0)
      scores[i] = ExactMath.integerToInt(((sa + sb) * half).rounded(.towardZero))
    }
  }

  /// LeastAllocated or MostAllocated over two resources with any weights, in exact doubles:
  /// `(s₀·w₀ + s₁·w₁) / (w₀ + w₁)` truncated, a resource with allocatable 0 dropping out of both
  /// sums. Every quantity is an integer below 2^53 (weights ≤ 100, scores ≤ 100), so each
  /// truncated quotient is exact as in `leastAllocatedTwoInDoubles`.
  static func weightedTwoInDoubles(
    _ a: ResourceColumns, _ b: ResourceColumns, mostAllocated: Bool, rows: Range<Int>,
    into scores: UnsafeMutablePointer<Int64>
  ) {
    let allocA = a.allocatable
    let reqA = a.requested
    let podA = a.podAmount
    let weightA = Double(a.weight)
    let allocB = b.allocatable
    let reqB = b.requested
    let podB = b.podAmount
    let weightB = Double(b.weight)
    for i in rows {
      let ca = allocA[i]
      let cb = allocB[i]
      // LeastAllocated scores free capacity, MostAllocated requested capacity (capped).
      let na = mostAllocated ? min(reqA[i] &+ podA, ca) : max(ca &- reqA[i] &- podA, 0)
      let nb = mostAllocated ? min(reqB[i] &+ podB, cb) : max(cb &- reqB[i] &- podB, 0)
      let sa = (Double(max(na, 0)) * 100 / Double(max(ca, 1))).rounded(.towardZero)
      let sb = (Double(max(nb, 0)) * 100 / Double(max(cb, 1))).rounded(.towardZero)
      let wa = ca == 0 ? 0 : weightA
      let wb = cb == 0 ? 0 : weightB
      let weights = wa + wb
      let mean = ((sa * wa + sb * wb) / max(weights, 1)).rounded(.towardZero)
      scores[i] = weights == 0 ? 0 : ExactMath.truncatedToInt(mean)
    }
  }
}

/// `NodeResourcesFitArgs`.
public struct NodeResourcesFitArguments: PluginArguments, Equatable {
  public static let plugin = PluginName.nodeResourcesFit
  public var ignoredResources: [String] = []
  public var ignoredResourceGroups: [String] = []
  public var strategy: ScoringStrategyType = .leastAllocated
  public var resources: [ResourceWeight] = [
    .init(name: "cpu", weight: 1), .init(name: "memory", weight: 1),
  ]
  public var shape: [UtilizationShapePoint] = []
  public init() {}
}

extension NodeResourcesFitArguments {
  public static func read<Reader: ArgumentsReader>(_ v: Reader) throws(Reader.Failure) -> Self {
    var a = NodeResourcesFitArguments()
    try v.requireKeys(in: [
      "apiVersion", "kind", "ignoredResources", "ignoredResourceGroups", "scoringStrategy",
    ])
    a.ignoredResources = try v.child("ignoredResources")?.stringList() ?? []
    a.ignoredResourceGroups = try v.child("ignoredResourceGroups")?.stringList() ?? []
    if let s = v.child("scoringStrategy") {
      try s.requireKeys(in: ["type", "resources", "requestedToCapacityRatio"])
      if let t = s.child("type") {
        guard let type = ScoringStrategyType(rawValue: try t.string()) else {
          throw t.error("expected LeastAllocated, MostAllocated or RequestedToCapacityRatio")
        }
        a.strategy = type
      }
      if let r = s.child("resources") { a.resources = try ResourceWeight.readList(r) }
      if let ratio = s.child("requestedToCapacityRatio") {
        try ratio.requireKeys(in: ["shape"])
        a.shape = try (ratio.child("shape")?.sequence() ?? []).map { p throws(Reader.Failure) in
          try p.requireKeys(in: ["utilization", "score"])
          return UtilizationShapePoint(
            utilization: try p.child("utilization")?.int64() ?? 0,
            score: try p.child("score")?.int64() ?? 0)
        }
      }
    }
    return a
  }
}

extension NodeResourcesFitArguments {
  /// `ValidateNodeResourcesFitArgs`: weights in 1…100, a shape for RequestedToCapacityRatio with
  /// utilisation 0…100 strictly increasing and scores 0…10.
  public func validate(path: String) throws(ConfigurationError) {
    if resources.isEmpty {
      throw ConfigurationError(
        field: "\(path).scoringStrategy.resources", "must list at least one resource")
    }
    var seen = Set<String>()
    for (i, r) in resources.enumerated() {
      guard r.weight >= 1 && r.weight <= 100 else {
        throw ConfigurationError(
          field: "\(path).scoringStrategy.resources[\(i)].weight", "\(r.weight) is not in [1, 100]")
      }
      guard seen.insert(r.name).inserted else {
        throw ConfigurationError(
          field: "\(path).scoringStrategy.resources[\(i)].name", "duplicate resource \"\(r.name)\"")
      }
    }
    if strategy == .requestedToCapacityRatio {
      let p = "\(path).scoringStrategy.requestedToCapacityRatio.shape"
      guard !shape.isEmpty else {
        throw ConfigurationError(field: p, "at least one point is required")
      }
      for (i, point) in shape.enumerated() {
        guard (0...100).contains(point.utilization) else {
          throw ConfigurationError(
            field: "\(p)[\(i)].utilization", "\(point.utilization) is not in [0, 100]")
        }
        guard (0...10).contains(point.score) else {
          throw ConfigurationError(field: "\(p)[\(i)].score", "\(point.score) is not in [0, 10]")
        }
        if i > 0 && point.utilization <= shape[i - 1].utilization {
          throw ConfigurationError(
            field: "\(p)[\(i)].utilization", "utilization values must be sorted in increasing order"
          )
        }
      }
    } else if !shape.isEmpty {
      throw ConfigurationError(
        field: "\(path).scoringStrategy.requestedToCapacityRatio",
        "only allowed with type RequestedToCapacityRatio")
    }
  }
}
