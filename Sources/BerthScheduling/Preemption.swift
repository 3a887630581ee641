import BerthCore

/// What DefaultPreemption decided for one unschedulable pod.
public struct PreemptionDecision: Sendable, Equatable {
  public var node: NodeID
  /// Victims in importance order (higher priority first, then earlier start).
  public var victims: [PodID]
  /// Victims whose eviction breaks a PodDisruptionBudget.
  public var pdbViolations: Int
  /// Candidate nodes the dry run found before choosing.
  public var candidates: Int
}

extension PluginName {
  public static let defaultPreemption = PluginName("DefaultPreemption")
}

/// DefaultPreemption (PostFilter), as upstream:
///
/// 1. Eligible unless the pod's policy is Never, or its nominated node already has a
///    lower-priority pod terminating (the pod waits for it).
/// 2. Potential nodes: those the last cycle rejected with Unschedulable, not
///    UnschedulableAndUnresolvable.
/// 3. From a seeded random offset, dry-run nodes until max(10 %, 100) (capped at all) candidates
///    are found with at least one violating no PodDisruptionBudget.
/// 4. On each node: remove every lower-priority pod; if the pod still does not fit, no
///    candidate. Otherwise, by importance, split them into PDB-violating and non-violating and
///    add back (violating first) every pod the preemptor still fits beside; the rest are victims.
/// 5. Pick the node with the fewest PDB violations, then the lowest highest-victim priority, the
///    smallest priority sum, the fewest victims, the latest earliest start among the
///    highest-priority victims, then the first candidate.
///
/// The dry run mutates the real cluster (unbind, filter, rebind) and restores it exactly, so
/// PreFilter state and the incremental counters stay the scheduler's own.
public final class DefaultPreemption {
  /// The PostFilter plugin; the scheduling queue runs it when no node fits.
  static let descriptor = PluginDescriptor(.defaultPreemption, [.postFilter])
  public let scheduler: Scheduler
  /// `minCandidateNodesPercentage` and `minCandidateNodesAbsolute`.
  @exclusivity(unchecked) public var minCandidatePercentage = 10
  @exclusivity(unchecked) public var minCandidateAbsolute = 100
  /// The random offset into the candidates: one stream for every profile of a run, as
  /// upstream draws from one generator.
  private let draws: Draws
  final class Draws {
    @exclusivity(unchecked) var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed).split(label: "scheduler.preemption") }
  }
  /// Dry-run a node by arithmetic on its requested amounts when NodeResourcesFit is the only
  /// active filter that reads the pods on a node (see `Scheduler.resourceOnlyFit`): the same
  /// victims without unbinding and rebinding each pod. Off, every dry run mutates the cluster
  /// (the reference it is tested against).
  @exclusivity(unchecked) public var dryRunsByArithmetic = true
  /// Preemptions whose dry runs went by arithmetic so far.
  @exclusivity(unchecked) public private(set) var arithmeticPreemptions = 0
  /// Scratch of the dry run on one node, reused from node to node.
  @exclusivity(unchecked) private var lower: [PodID] = []
  @exclusivity(unchecked) private var masks: [(pod: PodID, mask: UInt8)] = []
  @exclusivity(unchecked) private var violatingPods: [PodID] = []
  @exclusivity(unchecked) private var nonViolatingPods: [PodID] = []
  /// `lower`'s sort keys: negated priority, start time, pod number.
  @exclusivity(unchecked) private var keyed: [(Int64, Int64, UInt32)] = []
  /// The victims of every candidate of the current `preempt`, one candidate's after another
  /// (`Candidate.victims`): a dry run on each of hundreds of nodes allocates no list of its own.
  @exclusivity(unchecked) private var victimStore: [PodID] = []

  public init(scheduler: Scheduler, seed: UInt64) {
    self.scheduler = scheduler
    draws = Draws(seed: seed)
  }

  /// Preemption for another profile of the same run: its own scheduler, the same draws.
  public init(scheduler: Scheduler, sharingDrawsWith other: DefaultPreemption) {
    precondition(scheduler.shared === other.scheduler.shared, "profiles of one run")
    self.scheduler = scheduler
    draws = other.draws
  }

  private var cluster: Cluster { scheduler.cluster }

  /// Runs preemption for `pod` right after its failed cycle (the scheduler's status column and
  /// plugin state are the pod's). `nominated` is the pod's nominated node, if any. Start times
  /// and terminating pods come from the pod table's lifecycle columns.
  public func preempt(_ pod: PodID, nominated: NodeID?) -> PreemptionDecision? {
    let info = PodInfo(pod, in: cluster)
    guard info.constraints.preemptLowerPriority else { return nil }
    let priority = cluster.pods.priority[pod.index]
    // Without a bound pod of lower priority anywhere no node can yield victims.
    guard cluster.hasBoundPod(below: priority) else { return nil }
    let potential = potentialNodes(info)
    if let n = nominated, potential.contains(n.index) {
      for q in lowerOn(n, below: priority) where cluster.pods.isTerminating(q) { return nil }
    }
    guard !potential.isEmpty else { return nil }
    let count = potential.count
    let wanted = min(count, max(count * minCandidatePercentage / 100, minCandidateAbsolute))
    let offset = draws.rng.nextInt(below: count)
    // Each budget's status.disruptionsAllowed as the disruption controller publishes it.
    let allowed = cluster.disruptionBudgets.indices.map {
      cluster.disruptionsAllowed($0)
    }
    var nonViolating: [Candidate] = []
    var violating: [Candidate] = []
    victimStore.removeAll(keepingCapacity: true)
    let fit = dryRunsByArithmetic ? scheduler.resourceOnlyFit(info) : nil
    if fit != nil { arithmeticPreemptions += 1 }
    // Read once for every node's dry run: neither form adds a row.
    let columns = DryRunColumns(cluster)
    for i in 0..<count {
      let node = NodeID(UInt32(potential[(offset + i) % count]))
      let candidate: Candidate?
      if let fit {
        candidate = selectVictims(
          info, priority: priority, on: node, allowed: allowed, otherFilters: fit.others,
          columns: columns)
      } else {
        // Victims are removed and given back while trying the node: not changes anyone sees.
        candidate = cluster.whatIf {
          selectVictims(info, priority: priority, on: node, allowed: allowed, columns: columns)
        }
      }
      guard let c = candidate else { continue }
      if c.pdbViolations == 0 { nonViolating.append(c) } else { violating.append(c) }
      if !nonViolating.isEmpty && nonViolating.count + violating.count >= wanted { break }
    }
    let candidates = nonViolating + violating
    guard let chosen = pickOne(candidates) else { return nil }
    return PreemptionDecision(
      node: chosen.node, victims: Array(victimStore[chosen.victims]),
      pdbViolations: chosen.pdbViolations,
      candidates: candidates.count)
  }

  struct Candidate {
    var node: NodeID
    /// The victims' positions in `victimStore`.
    var victims: Range<Int>
    var pdbViolations: Int
  }

  /// Rows the last cycle rejected with a resolvable status, in row order.
  func potentialNodes(_ pod: PodInfo) -> [Int] {
    // SAFETY: the failed cycle's window lies in the node table; status has a row per node.
    guard scheduler.lastRejection == nil else { return [] }
    var out: [Int] = []
    let status = UnsafePointer(scheduler.status.base)
    // NodeResourcesFit's rows, most of them when pods must be evicted, in column passes.
    let fit = scheduler.filterPlugins.firstIndex { $0 is NodeResourcesFitPlugin }
    let fitPlugin = fit.map { scheduler.filterPlugins[$0] as! NodeResourcesFitPlugin }
    for seg in scheduler.lastWindow.segments {
      var run = seg.lowerBound
      for r in seg {
        let code = Int(status[r])
        guard code != 0 && code != 255, code - 1 != fit else { continue }
        if let fit, let fitPlugin {
          fitPlugin.appendResolvable(
            pod, cluster: cluster, rows: run..<r, status: status, code: UInt8(fit + 1),
            into: &out)
        }
        run = r + 1
        if !scheduler.isUnresolvable(filter: code - 1, pod, node: NodeID(UInt32(r))) {
          out.append(r)
        }
      }
      if let fit, let fitPlugin {
        fitPlugin.appendResolvable(
          pod, cluster: cluster, rows: run..<seg.upperBound, status: status, code: UInt8(fit + 1),
          into: &out)
      }
    }
    return out
  }

  /// Whether `node` holds a pod of priority below `priority` that is not terminating.
  private func hasVictim(on node: NodeID, below priority: Int32)
    -> Bool
  {
    var p = cluster.firstPod(on: node)
    while let q = p {
      if cluster.pods.priority[q.index] < priority && !cluster.pods.isTerminating(q) { return true }
      p = cluster.pod(after: q)
    }
    return false
  }

  /// Pods on `node` with priority below `priority` (in the node's list order; callers sort).
  private func lowerOn(_ node: NodeID, below priority: Int32) -> [PodID] {
    var out: [PodID] = []
    collectLower(on: node, below: priority, into: &out)
    return out
  }

  /// `lowerOn` into a reused list.
  private func collectLower(on node: NodeID, below priority: Int32, into out: inout [PodID]) {
    out.removeAll(keepingCapacity: true)
    var p = cluster.firstPod(on: node)
    while let q = p {
      if cluster.pods.priority[q.index] < priority { out.append(q) }
      p = cluster.pod(after: q)
    }
  }

  /// Upstream's `GetPodStartTime`: `status.startTime`, else — bound, not started yet — when it
  /// was bound (Berth's stand-in for upstream's "now": the latest of all); pods bound before the
  /// run began count from 0.
  func startTime(_ p: PodID) -> VirtualTime {
    let pods = cluster.pods
    return VirtualTime(
      nanoseconds: Self.startTime(
        started: pods.startedAt[p.index], bound: pods.scheduledAt[p.index]))
  }

  /// `startTime` from a pod's two lifecycle times (nanoseconds or `PodTable.never`).
  @inline(__always) static func startTime(started: Int64, bound: Int64) -> Int64 {
    started != PodTable.never ? started : bound != PodTable.never ? bound : 0
  }

  /// Upstream's `MoreImportantPod`: higher priority, then earlier start.
  private func moreImportant(_ a: PodID, _ b: PodID) -> Bool {
    let pa = cluster.pods.priority[a.index]
    let pb = cluster.pods.priority[b.index]
    if pa != pb { return pa > pb }
    let sa = startTime(a)
    let sb = startTime(b)
    return sa != sb ? sa < sb : a.index < b.index
  }

  /// `SelectVictimsOnNode` on the live cluster, restored before returning.
  func selectVictims(
    _ pod: PodInfo, priority: Int32, on node: NodeID, allowed budgetAllowance: [Int],
    columns: DryRunColumns
  ) -> Candidate? {
    // Pods already terminating keep their place until they are gone and are no one's victims.
    guard hasVictim(on: node, below: priority) else { return nil }
    collectLower(on: node, below: priority, into: &lower)
    lower.removeAll { cluster.pods.isTerminating($0) }
    guard !lower.isEmpty else { return nil }
    // GPU devices each pod held (unbinding clears them), to give the same ones back (few pods per
    // node: a scan).
    masks.removeAll(keepingCapacity: true)
    for v in lower { masks.append((v, cluster.pods.gpuAssignment[v.index])) }
    func devices(_ v: PodID) -> UInt8? {
      let m = masks.first { $0.pod == v }?.mask ?? 0
      return m == 0 ? nil : m
    }
    for v in lower { cluster.unbind(v) }
    defer {
      for v in lower where !cluster.pods.isBound(v) { cluster.bind(v, to: node, gpus: devices(v)) }
    }
    guard scheduler.fits(pod, on: node) else { return nil }
    sortByImportance(columns)
    splitByBudgets(allowed: budgetAllowance)
    let first = victimStore.count
    var violations = 0
    // Reprieve PDB-violating pods first, then the others.
    func reprieve(_ group: [PodID], violating: Bool) {
      for v in group {
        cluster.bind(v, to: node, gpus: devices(v))
        if !scheduler.fits(pod, on: node) {
          cluster.unbind(v)
          victimStore.append(v)
          if violating { violations += 1 }
        }
      }
    }
    reprieve(violatingPods, violating: true)
    reprieve(nonViolatingPods, violating: false)
    if !violatingPods.isEmpty && !nonViolatingPods.isEmpty {
      victimStore[first...].sort { moreImportant($0, $1) }
    }
    return Candidate(node: node, victims: first..<victimStore.count, pdbViolations: violations)
  }

  /// `selectVictims` by arithmetic: the node's requested CPU, memory, ephemeral storage and pod
  /// count without the lower-priority pods, then each given back while the pod still fits — as
  /// NodeResourcesFit's filter compares them. The other active filters read only the node's
  /// spec, so removing pods cannot change their verdicts: checked once.
  func selectVictims(
    _ pod: PodInfo, priority: Int32, on node: NodeID, allowed budgetAllowance: [Int],
    otherFilters: [Int], columns: DryRunColumns
  ) -> Candidate? {
    // Pods already terminating keep their place until they are gone and are no one's victims.
    lower.removeAll(keepingCapacity: true)
    columns.lists.collectPreemptible(on: node, below: priority, into: &lower)
    guard !lower.isEmpty, scheduler.passes(pod, on: node, filters: otherFilters) else {
      return nil
    }
    var used = DryRunNode(node, columns)
    for v in lower { used.add(v, -1) }
    guard used.fits(pod) else { return nil }
    sortByImportance(columns)
    let first = victimStore.count
    var violations = 0
    // Reprieve PDB-violating pods first, then the others; without budgets every pod is of the
    // others, in `lower`'s order.
    if budgetAllowance.isEmpty {
      for v in lower {
        used.add(v, 1)
        if !used.fits(pod) {
          used.add(v, -1)
          victimStore.append(v)
        }
      }
      return Candidate(node: node, victims: first..<victimStore.count, pdbViolations: 0)
    }
    splitByBudgets(allowed: budgetAllowance)
    for v in violatingPods {
      used.add(v, 1)
      if !used.fits(pod) {
        used.add(v, -1)
        victimStore.append(v)
        violations += 1
      }
    }
    for v in nonViolatingPods {
      used.add(v, 1)
      if !used.fits(pod) {
        used.add(v, -1)
        victimStore.append(v)
      }
    }
    if !violatingPods.isEmpty && !nonViolatingPods.isEmpty {
      victimStore[first...].sort { moreImportant($0, $1) }
    }
    return Candidate(node: node, victims: first..<victimStore.count, pdbViolations: violations)
  }

  /// Sorts `lower` by `moreImportant`, each pod's priority and start time read once.
  private func sortByImportance(_ columns: DryRunColumns) {
    guard lower.count > 1 else { return }
    keyed.removeAll(keepingCapacity: true)
    // SAFETY: `lower` holds pod rows, below every pod column's length (`DryRunColumns`).
    let (ranks, started, scheduled) = (columns.priority, columns.started, columns.scheduled)
    for v in lower {
      let i = v.index
      let start = Self.startTime(started: started[i], bound: scheduled[i])
      keyed.append((-Int64(ranks[i]), start, v.rawValue))
    }
    keyed.sort { $0 < $1 }
    for i in lower.indices { lower[i] = PodID(keyed[i].2) }
  }

  /// Splits `lower` (sorted) by PodDisruptionBudget into `violatingPods` and `nonViolatingPods`:
  /// each covered pod uses one of its budgets' allowed disruptions.
  private func splitByBudgets(allowed budgetAllowance: [Int]) {
    var allowed = budgetAllowance
    violatingPods.removeAll(keepingCapacity: true)
    nonViolatingPods.removeAll(keepingCapacity: true)
    for v in lower {
      var violates = false
      for b in allowed.indices where cluster.budget(b, covers: v) {
        allowed[b] -= 1
        if allowed[b] < 0 { violates = true }
      }
      if violates { violatingPods.append(v) } else { nonViolatingPods.append(v) }
    }
  }

  /// `pickOneNodeForPreemption`: upstream keeps, criterion by criterion, the candidates with the
  /// best score and takes the first left — the first candidate whose scores are the greatest
  /// in lexicographic order, found here in one pass. Higher is better at each step: fewer PDB
  /// violations, a lower highest victim priority, a smaller priority sum, fewer victims, a later
  /// earliest start among the victims of the highest priority.
  func pickOne(_ candidates: [Candidate]) -> Candidate? {
    guard !candidates.isEmpty else { return nil }
    if candidates.count == 1 { return candidates[0] }
    let pods = cluster.pods
    func scores(_ c: Candidate) -> (Int64, Int64, Int64, Int64, Int64) {
      guard let top = c.victims.first.map({ victimStore[$0] }) else {
        return (-Int64(c.pdbViolations), .min, 0, 0, .min)
      }
      let p = pods.priority[top.index]
      var sum: Int64 = 0
      var earliest = Int64.max
      for v in victimStore[c.victims] {
        let q = pods.priority[v.index]
        sum += Int64(q) + Int64(Int32.max) + 1
        if q == p { earliest = min(earliest, startTime(v).nanoseconds) }
      }
      return (-Int64(c.pdbViolations), -Int64(p), -sum, -Int64(c.victims.count), earliest)
    }
    var best = 0
    var bestScores = scores(candidates[0])
    for i in 1..<candidates.count {
      let s = scores(candidates[i])
      if s > bestScores {
        best = i
        bestScores = s
      }
    }
    return candidates[best]
  }
}

/// The columns a preemption's dry runs read, through base pointers taken once per preemption:
/// a column read through its object costs a retain and a release, and a dry run visits
/// hundreds of nodes. Valid while the cluster adds no node or pod (the dry runs add none).
struct DryRunColumns {
  let lists: PreemptionView
  // Node rows.
  let requested:
    (cpu: UnsafePointer<Int64>, memory: UnsafePointer<Int64>, ephemeral: UnsafePointer<Int64>)
  let podCount: UnsafePointer<Int64>
  let allocatable:
    (
      cpu: UnsafePointer<Int64>, memory: UnsafePointer<Int64>, ephemeral: UnsafePointer<Int64>,
      pods: UnsafePointer<Int64>
    )
  // Pod rows.
  let requests:
    (cpu: UnsafePointer<Int64>, memory: UnsafePointer<Int64>, ephemeral: UnsafePointer<Int64>)
  let priority: UnsafePointer<Int32>
  let started: UnsafePointer<Int64>
  let scheduled: UnsafePointer<Int64>

  init(_ cluster: Cluster) {
    // SAFETY: base pointers of the cluster's columns, read while it adds no row (above).
    let (n, p) = (cluster.nodes, cluster.pods)
    lists = cluster.preemptionView
    requested = (
      UnsafePointer(n.requestedCPU.base), UnsafePointer(n.requestedMemory.base),
      UnsafePointer(n.requestedEphemeral.base)
    )
    podCount = UnsafePointer(n.podCount.base)
    allocatable = (
      UnsafePointer(n.allocatableCPU.base), UnsafePointer(n.allocatableMemory.base),
      UnsafePointer(n.allocatableEphemeral.base), UnsafePointer(n.allocatablePods.base)
    )
    requests = (
      UnsafePointer(p.requestCPU.base), UnsafePointer(p.requestMemory.base),
      UnsafePointer(p.requestEphemeral.base)
    )
    priority = UnsafePointer(p.priority.base)
    started = UnsafePointer(p.startedAt.base)
    scheduled = UnsafePointer(p.scheduledAt.base)
  }
}

/// A node's requested amounts during an arithmetic dry run, with what it can hold, and
/// NodeResourcesFit's filter for the preemptor against them.
private struct DryRunNode {
  var cpu: Int64
  var memory: Int64
  var ephemeral: Int64
  var count: Int64
  let room: (cpu: Int64, memory: Int64, ephemeral: Int64, count: Int64)
  let columns: DryRunColumns

  init(_ node: NodeID, _ columns: DryRunColumns) {
    // SAFETY: `node` is a row of the node table, whose columns have a row per node.
    let r = node.index
    (cpu, memory, ephemeral, count) = (
      columns.requested.cpu[r], columns.requested.memory[r], columns.requested.ephemeral[r],
      columns.podCount[r]
    )
    let a = columns.allocatable
    room = (a.cpu[r], a.memory[r], a.ephemeral[r], a.pods[r])
    self.columns = columns
  }

  /// Adds (sign 1) or removes (sign −1) pod `v`'s requests.
  @inline(__always) mutating func add(_ v: PodID, _ sign: Int64) {
    // SAFETY: `v` is a pod row, below every pod column's length.
    cpu += sign * columns.requests.cpu[v.index]
    memory += sign * columns.requests.memory[v.index]
    ephemeral += sign * columns.requests.ephemeral[v.index]
    count += sign
  }

  /// Room for one more pod, and each positive request within what is left.
  @inline(__always) func fits(_ pod: PodInfo) -> Bool {
    count + 1 <= room.count
      && (pod.requestCPU <= 0 || pod.requestCPU <= room.cpu - cpu)
      && (pod.requestMemory <= 0 || pod.requestMemory <= room.memory - memory)
      && (pod.requestEphemeral <= 0 || pod.requestEphemeral <= room.ephemeral - ephemeral)
  }
}
