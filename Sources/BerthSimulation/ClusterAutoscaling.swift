import BerthAutoscaling
import BerthCore
import BerthEngine
import BerthScheduling

/// The Cluster Autoscaler (kubernetes/autoscaler `cluster-autoscaler`) for the scenario's node
/// groups (`spec.clusterAutoscaler`), one loop every `--scan-interval` (`RunOnce`):
///
/// 1. Upcoming nodes past `--max-node-provision-time` are a failed scale-up (ScaleUpTimedOut):
///    the group's target drops back and the group backs off (5 min doubling to 30 min). With
///    more unready nodes than `--ok-total-unready-count` and `--max-total-unready-percentage`
///    allow, the loop does nothing.
/// 2. Scale-up: the pods the scheduler found unschedulable (not expendable, older than
///    `--new-pod-scale-up-delay`) are first tried, with the scheduler's own filters and scores,
///    on the existing nodes and the upcoming ones (template copies), so pods waiting for a
///    booting node ask for no second one; the rest, grouped by controller and template, are
///    checked against each group's template (with its DaemonSets' pods) and packed by the
///    binpacking estimator; the expander chain picks one option; the group grows (capped by
///    its max size, `--max-nodes-total`, `--cores-total`, `--memory-total`). The nodes register
///    Ready after the group's provisioning delay, named `<group>-<n>` and labelled
///    `berth.dev/node-group`. In an `unavailable` window the cloud refuses: FailedToScaleUpGroup
///    and back-off.
/// 3. Scale-down: each node of a group at or under `--scale-down-utilization-threshold`
///    (max of CPU and memory requests over allocatable) whose pods the drainability rules let
///    go and that all find a place elsewhere (committed, so later candidates see the room
///    taken) is unneeded; unneeded for `--scale-down-unneeded-time` (unready:
///    `--scale-down-unready-time`), outside the cool-downs (after a scale-up, a deletion, a
///    failure), above its group's minimum, it is deleted: empty nodes in bulk
///    (`--max-empty-bulk-delete`), others drained one at a time (`--max-drain-parallelism`),
///    at most `--max-scale-down-parallelism` at once. A node is tainted
///    `ToBeDeletedByClusterAutoscaler` first; `--node-delete-delay-after-taint` later its pods are
///    evicted through their PodDisruptionBudgets (retried for `--max-pod-eviction-time`, then
///    ScaleDownFailed) and, once they are gone, the node is deleted.
///
/// It runs the default profile's filters (`SchedulingSnapshot`), as CA's predicate checker
/// does, whatever profile the scheduler runs: where they disagree, CA's plan and the
/// scheduler's placements part, which `agreement` counts.
final class ClusterAutoscaling: Component {
  enum Tag: UInt32 { case loop, register, drain, interruptionNotice, reclaim }

  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  let config: ClusterAutoscalerScenario
  var flags: ClusterAutoscalerFlags { config.flags }
  private let expander: Expander
  private let rules: DrainabilityRules
  private var rng: SplitMix64
  private var provisioningRNG: SplitMix64
  /// The cloud's reclaiming of spot nodes.
  private var spotRNG: SplitMix64
  private let snapshot: SchedulingSnapshot

  struct Upcoming {
    var serial: UInt32
    var name: String
    var requested: VirtualTime
    var scaleUp: Int32
  }

  struct Group {
    var spec: NodeGroupSpec
    var delay: DurationDistribution
    /// Registered nodes (rows), in the order they joined.
    var nodes: [Int] = []
    var upcoming: [Upcoming] = []
    var nextNumber = 0
    var backoff = GroupBackoff()
    var series = -1
    var scaleUps = 0
    var nodesAdded = 0
    var nodesRemoved = 0
    var failedScaleUps = 0
    var interruptions = 0
    /// Node-seconds so far, integrated at each change of the node count.
    var nodeSeconds = 0.0
    var counted = VirtualTime.zero
    var maxNodes = 0
    var target: Int { nodes.count + upcoming.count }
  }
  @exclusivity(unchecked) private(set) var groups: [Group] = []
  /// Per node row: its group, -1 for none.
  @exclusivity(unchecked) private var groupOfRow: [Int32] = []
  /// Per node row: when it became unneeded (`never`: it is not).
  @exclusivity(unchecked) private var unneededSince: [VirtualTime] = []
  /// Per node row, scratch of scale-down planning: a candidate this loop.
  /// Per row, in scale-down planning: 0 not a candidate, 1 a Ready candidate, 2 an unready one.
  @exclusivity(unchecked) private var candidateMark: [UInt8] = []
  @exclusivity(unchecked) private var unremovableUntil: [VirtualTime] = []
  /// Per node row: the scale-up that made it (-1: none).
  @exclusivity(unchecked) private var scaleUpOfRow: [Int32] = []
  @exclusivity(unchecked) private var registeredAt: [VirtualTime] = []
  /// Per node row: bumped when the row's node changes, so a spot timer for a node gone before
  /// it fires is ignored.
  @exclusivity(unchecked) private var rowGeneration: [UInt32] = []

  struct Deletion {
    var node: Int
    var empty: Bool
    var tainted: VirtualTime
  }
  @exclusivity(unchecked) private var deleting: [Deletion] = []
  @exclusivity(unchecked) private var drainTimer: TimerHandle?
  @exclusivity(unchecked) private var drainDue = VirtualTime.zero

  /// Pods the scheduler found unschedulable since they were last looked at, and a flag per pod
  /// row saying it is listed.
  @exclusivity(unchecked) private var unschedulable: [PodID] = []
  @exclusivity(unchecked) private var listed: [Bool] = []
  /// The last NotTriggerScaleUp message per listed pod row, so a pod gets one event per change
  /// of reason rather than one per loop (the API's event aggregation).
  @exclusivity(unchecked) private var lastNoScaleUp: [String?] = []

  private static let never = VirtualTime(nanoseconds: .max)
  private var lastScaleUp = VirtualTime(nanoseconds: .min / 2)
  private var lastScaleDownDelete = VirtualTime(nanoseconds: .min / 2)
  private var lastScaleDownFailure = VirtualTime(nanoseconds: .min / 2)
  /// Where each pod planned away last loop went (upstream's hints), by pod handle.
  private var hints: [UInt64: Int] = [:]
  private var rotation = 0
  private var upcomingSerial: UInt32 = 0
  private var statusSeries = -1

  // Outcomes for the summary.
  struct ScaleUp {
    var group: Int
    var at: VirtualTime
    var nodes: Int
  }
  @exclusivity(unchecked) private(set) var scaleUps: [ScaleUp] = []
  @exclusivity(unchecked) private(set) var scaleDowns = (empty: 0, drained: 0, failed: 0)
  /// Pods evicted by drains.
  @exclusivity(unchecked) private(set) var evictions = 0

  /// The pending → node → Ready chain of the pods scale-ups were for.
  @exclusivity(unchecked) private(set) var chains = ScaleUpChains()
  /// Allocatable minus requested CPU over every node, integrated loop by loop (millicore-
  /// seconds), and the allocatable CPU (millicore-seconds).
  @exclusivity(unchecked) private var idleMilliSeconds = 0.0
  @exclusivity(unchecked) private var allocatableMilliSeconds = 0.0
  @exclusivity(unchecked) private var lastSample:
    (at: VirtualTime, idle: Int64, allocatable: Int64)?

  init(_ sim: Simulation, config: ClusterAutoscalerScenario, root: SplitMix64) {
    self.sim = sim
    self.config = config
    var e = Expander(chain: config.flags.expanders, priorities: config.priorities)
    e.podPricing = config.podPricing
    expander = e
    rules = DrainabilityRules(flags: config.flags)
    rng = root.split(label: "cluster-autoscaler")
    provisioningRNG = root.split(label: "node-provisioning")
    spotRNG = root.split(label: "spot-interruptions")
    var seeds = root.split(label: "ca-snapshot")
    snapshot = SchedulingSnapshot(cluster: sim.cluster, seed: seeds.next())
    groups = config.groups.map { Group(spec: $0.spec, delay: $0.provisioningDelay) }
  }

  var name: String { "cluster-autoscaler" }
  var watches: ClusterChangeKinds { [.assignedPodAdded] }

  func start(_ engine: Engine) {
    statusSeries = sim.recorder.series(
      kind: "ClusterAutoscaler", namespace: "-", name: "cluster-autoscaler",
      fields: ["unschedulablePods", "unneededNodes", "upcomingNodes"])
    for g in groups.indices {
      groups[g].series = sim.recorder.series(
        kind: "NodeGroup", namespace: "-", name: groups[g].spec.name,
        fields: ["nodes", "targetSize"])
    }
    for n in 0..<sim.cluster.nodes.count where !sim.nodes.isRemoved(n) {
      guard let name = sim.cluster.nodes.specs[n].labels[NodeGroupSpec.label],
        let g = groups.firstIndex(where: { $0.spec.name == name })
      else { continue }
      adopt(row: n, group: g, scaleUp: -1)
    }
    // The cloud keeps each group at its minimum size: nodes missing at the start join at once.
    for g in groups.indices {
      while groups[g].nodes.count < groups[g].spec.minSize {
        register(group: g, name: nextName(g), scaleUp: -1)
      }
      publish(g)
    }
    engine.every(flags.scanInterval, self, first: flags.scanInterval, tag: Tag.loop.rawValue)
  }

  private func nextName(_ g: Int) -> String {
    while true {
      let name = "\(groups[g].spec.name)-\(groups[g].nextNumber)"
      groups[g].nextNumber += 1
      if sim.cluster.nodes.id(named: name) == nil
        && !groups.contains(where: { $0.upcoming.contains { $0.name == name } })
      {
        return name
      }
    }
  }

  private func grow(_ n: Int) {
    while groupOfRow.count <= n {
      groupOfRow.append(-1)
      unneededSince.append(Self.never)
      unremovableUntil.append(.zero)
      scaleUpOfRow.append(-1)
      registeredAt.append(.zero)
      rowGeneration.append(0)
    }
  }

  private func adopt(row n: Int, group g: Int, scaleUp: Int32) {
    grow(n)
    account(g)
    groupOfRow[n] = Int32(g)
    unneededSince[n] = Self.never
    unremovableUntil[n] = .zero
    scaleUpOfRow[n] = scaleUp
    registeredAt[n] = sim.now
    groups[g].nodes.append(n)
    groups[g].maxNodes = max(groups[g].maxNodes, groups[g].nodes.count)
    rowGeneration[n] &+= 1
    if let mean = groups[g].spec.meanTimeToInterruption {
      let life = DurationDistribution.exponential(mean: mean).sample(&spotRNG)
      let notice = life - groups[g].spec.interruptionNotice
      sim.engine.schedule(
        self, after: max(.zero, notice), tag: Tag.interruptionNotice.rawValue,
        payload: UInt64(n) << 32 | UInt64(rowGeneration[n]), daemon: true)
    }
  }

  /// Adds the node-seconds of group `g` up to now (before its count changes).
  private func account(_ g: Int) {
    groups[g].nodeSeconds +=
      Double(groups[g].nodes.count) * (sim.now - groups[g].counted).seconds
    groups[g].counted = sim.now
  }

  /// A requested node registers (Ready).
  private func register(group g: Int, name: String, scaleUp: Int32) {
    var spec = groups[g].spec.template
    spec.name = name
    spec.labels["kubernetes.io/hostname"] = name
    let row = sim.nodes.add(spec)
    adopt(row: row, group: g, scaleUp: scaleUp)
    groups[g].nodesAdded += scaleUp >= 0 ? 1 : 0
  }

  private func publish(_ g: Int) {
    sim.recorder.set(series: groups[g].series, groups[g].nodes.count)
    sim.recorder.set(series: groups[g].series + 1, groups[g].target)
  }

  // MARK: Hooks

  /// The scheduler found no node for the pod (a FailedScheduling).
  func podUnschedulable(_ pod: PodID) {
    let i = pod.index
    while listed.count <= i {
      listed.append(false)
      lastNoScaleUp.append(nil)
    }
    if !listed[i] {
      listed[i] = true
      lastNoScaleUp[i] = nil
      unschedulable.append(pod)
    }
  }

  func observe(_ change: ClusterChange, _ engine: Engine) {
    guard case .assignedPodAdded(let pod) = change, let node = sim.cluster.pods.boundNode(pod)
    else { return }
    let n = node.index
    grow(n)
    chains.bound(
      pod, handle: sim.handle(pod), now: sim.now, nodeOrigin: scaleUpOfRow[n],
      nodeReady: registeredAt[n])
  }

  // MARK: The loop

  func fire(_ t: BerthEngine.Timer, _ engine: Engine) {
    switch Tag(rawValue: t.tag) {
    case .loop: runOnce()
    case .register:
      let g = Int(t.payload >> 32)
      let serial = UInt32(truncatingIfNeeded: t.payload)
      guard let u = groups[g].upcoming.firstIndex(where: { $0.serial == serial }) else { return }
      let up = groups[g].upcoming.remove(at: u)
      register(group: g, name: up.name, scaleUp: up.scaleUp)
      publish(g)
    case .drain:
      drainTimer = nil
      drainStep()
    case .interruptionNotice, .reclaim:
      let n = Int(t.payload >> 32)
      guard n < groupOfRow.count, groupOfRow[n] >= 0,
        rowGeneration[n] == UInt32(truncatingIfNeeded: t.payload)
      else { return }
      if t.tag == Tag.interruptionNotice.rawValue { interruptionNotice(n) } else { reclaim(n) }
    case nil: preconditionFailure("unknown cluster autoscaler timer")
    }
  }

  private func runOnce() {
    let now = sim.now
    sampleCapacity(now)
    collectReadiness()
    expireUpcoming(now)
    if flags.enforceNodeGroupMinSize {
      for g in groups.indices where groups[g].target < groups[g].spec.minSize {
        increase(g, by: groups[g].spec.minSize - groups[g].target)
      }
    }
    let unready = sim.nodes.nodeCount - sim.nodes.readyCount
    let healthy =
      unready <= flags.okTotalUnreadyCount
      || Double(unready) <= flags.maxTotalUnreadyPercentage / 100 * Double(sim.nodes.nodeCount)
    var scaleDownAllowedThisLoop = true
    var unschedulableCount = 0
    var removable: [(node: Int, empty: Bool)] = []
    if healthy {
      let up = scaleUp(now)
      unschedulableCount = up.remaining
      if up.allVeryNew { scaleDownAllowedThisLoop = false }
      if flags.scaleDownEnabled { removable = unneededNodes(now) }
    }
    // The what-if ends before anything real happens to the nodes.
    snapshot.revert()
    if scaleDownAllowedThisLoop && !inCooldown(now) { startDeletions(removable, now: now) }
    sim.recorder.set(series: statusSeries, unschedulableCount)
    sim.recorder.set(series: statusSeries + 1, unneededSince.count { $0 != Self.never })
    sim.recorder.set(series: statusSeries + 2, groups.reduce(0) { $0 + $1.upcoming.count })
  }

  /// Adds the idle and allocatable CPU since the last loop (each loop's sample holds until the
  /// next) and takes a new sample.
  private func sampleCapacity(_ now: VirtualTime) {
    if let last = lastSample {
      let dt = (now - last.at).seconds
      idleMilliSeconds += Double(last.idle) * dt
      allocatableMilliSeconds += Double(last.allocatable) * dt
    }
    let t = sim.cluster.nodes
    // The columns taken once: read through the table, each row retained and released them.
    let allocatableCPU = t.allocatableCPU
    let requestedCPU = t.requestedCPU
    var allocatable: Int64 = 0
    var requested: Int64 = 0
    sim.nodes.forEachLiveRow(below: t.count) { n in
      allocatable += allocatableCPU[n]
      requested += requestedCPU[n]
    }
    lastSample = (now, max(0, allocatable - requested), allocatable)
  }

  /// Pods whose chains wait for readiness: taken from the kubelet's record of their first Ready.
  private func collectReadiness() {
    chains.collectReadiness { [sim] handle in
      guard let pod = sim.pod(fromHandle: handle) else { return nil }
      let ready = sim.records[pod.index].firstReady
      return .some(ready == PodTable.never ? nil : VirtualTime(nanoseconds: ready))
    }
  }

  /// Requested nodes not Ready within `--max-node-provision-time`: a failed scale-up.
  private func expireUpcoming(_ now: VirtualTime) {
    for g in groups.indices {
      let late = groups[g].upcoming.filter { now >= $0.requested + flags.maxNodeProvisionTime }
      guard !late.isEmpty else { continue }
      groups[g].upcoming.removeAll { now >= $0.requested + flags.maxNodeProvisionTime }
      groups[g].failedScaleUps += 1
      groups[g].backoff.failed(at: now, flags: flags)
      statusEvent(
        .warning, "ScaleUpTimedOut",
        "Nodes added to group \(groups[g].spec.name) failed to register within \(Self.duration(flags.maxNodeProvisionTime))"
      )
      publish(g)
    }
  }

  // MARK: Scale-up

  /// The pods still unschedulable, in upstream's order for the filters (higher priority
  /// first, then oldest).
  private func pendingPods(_ now: VirtualTime) -> [PodID] {
    let pods = sim.cluster.pods
    var kept = 0
    for p in unschedulable {
      let still =
        !sim.isGone(p) && !pods.isBound(p) && pods.deletionDueAt[p.index] == PodTable.never
        && !pods.phase(of: p).isFinished
      if still {
        unschedulable[kept] = p
        kept += 1
      } else {
        listed[p.index] = false
      }
    }
    unschedulable.removeLast(unschedulable.count - kept)
    return unschedulable.filter { p in
      pods.priority[p.index] >= flags.expendablePodsPriorityCutoff
        && now - VirtualTime(nanoseconds: pods.createdAt[p.index]) >= flags.newPodScaleUpDelay
    }.sorted {
      let a = (pods.priority[$0.index], sim.records[$0.index].serial)
      let b = (pods.priority[$1.index], sim.records[$1.index].serial)
      return a.0 != b.0 ? a.0 > b.0 : a.1 < b.1
    }
  }

  /// A group's template as CA sees a new node: its DaemonSets' pods already on it.
  private func template(_ g: Int) -> NodeSpec {
    var t = groups[g].spec.template
    let ds = sim.daemonSets.podsRequests(on: t)
    t.allocatable.cpuMillis = max(0, t.allocatable.cpuMillis - ds.cpuMillis)
    t.allocatable.memoryBytes = max(0, t.allocatable.memoryBytes - ds.memoryBytes)
    t.allocatable.pods = max(0, t.allocatable.pods - ds.pods)
    return t
  }

  private func scaleUp(_ now: VirtualTime) -> (remaining: Int, allVeryNew: Bool) {
    let candidates = pendingPods(now)
    guard !candidates.isEmpty else { return (0, false) }
    // Upcoming nodes join the snapshot as template copies; every pending pod that fits an
    // existing or upcoming node takes its place there ("filter out schedulable").
    for g in groups.indices {
      let t = template(g)
      for _ in groups[g].upcoming { snapshot.addNode(from: t) }
    }
    // Once a pod found no place, a pod of the same controller and spec finds none either
    // (upstream's `SimilarPodsScheduling`): it is not tried.
    // The most free CPU and memory any node has bounds what fits at all: a pod asking more is
    // rejected by NodeResourcesFit everywhere, without a pass (placements only lower it).
    let table = sim.cluster.nodes
    let cluster = sim.cluster
    var most: (cpu: Int64, memory: Int64) = (0, 0)
    for n in 0..<table.count where cluster.exists(NodeID(UInt32(n))) {
      most.cpu = max(most.cpu, table.allocatableCPU[n] - table.requestedCPU[n])
      most.memory = max(most.memory, table.allocatableMemory[n] - table.requestedMemory[n])
    }
    let podTable = sim.cluster.pods
    var remaining: [PodID] = []
    var failed = Set<Int64>()
    for p in candidates {
      let key = equivalenceKey(p)
      let tooBig =
        podTable.requestCPU[p.index] > most.cpu || podTable.requestMemory[p.index] > most.memory
      if !tooBig, !failed.contains(key), let n = snapshot.anyFit(p) {
        snapshot.place(p, on: n)
      } else {
        failed.insert(key)
        remaining.append(p)
      }
    }
    guard !remaining.isEmpty else { return (0, false) }
    let pods = sim.cluster.pods
    let oldest = remaining.map { pods.createdAt[$0.index] }.min() ?? 0
    if now.nanoseconds - oldest < 2_000_000_000 { return (remaining.count, true) }
    let equivalence = equivalenceGroups(remaining)
    var options: [(ScaleUpOption, Estimate)] = []
    var reasons: [[String: Int]] = Array(repeating: [:], count: remaining.count)
    let indexOf = Dictionary(uniqueKeysWithValues: remaining.enumerated().map { ($1, $0) })
    func note(_ reason: String, _ group: PodEquivalenceGroup) {
      for p in group.pods { reasons[indexOf[p]!][reason, default: 0] += 1 }
    }
    let limits = clusterRoom()
    for g in groups.indices {
      let room = min(
        groups[g].spec.maxSize - groups[g].target, flags.maxNodesPerScaleUp,
        nodesRoom(limits, template: groups[g].spec.template))
      let refusal: String? =
        if groups[g].target >= groups[g].spec.maxSize {
          "max node group size reached"
        } else if groups[g].backoff.isBackedOff(at: now) {
          "in backoff after failed scale-up"
        } else if room <= 0 {
          "max cluster cpu, memory or node limit reached"
        } else {
          nil
        }
      if let refusal {
        for e in equivalence { note(refusal, e) }
        continue
      }
      let t = template(g)
      // Which equivalence groups a fresh node of the group could take at all.
      var schedulable: [PodEquivalenceGroup] = []
      for e in equivalence {
        let mark = snapshot.mark
        let node = snapshot.addNode(from: t)
        if snapshot.fits(e.pods[0], on: node) {
          schedulable.append(e)
        } else {
          let reason =
            snapshot.scheduler.check(e.pods[0], on: node)?.reasons.first ?? "predicate failed"
          note(reason, e)
        }
        snapshot.revert(to: mark)
      }
      guard !schedulable.isEmpty else { continue }
      let estimate = BinpackingEstimator.estimate(
        schedulable, template: t, maxNodes: room, snapshot: snapshot)
      guard estimate.nodeCount > 0 else { continue }
      var option = ScaleUpOption(
        group: g, groupName: groups[g].spec.name, nodeCount: estimate.nodeCount,
        podCount: estimate.pods.count, podCPUMillis: 0, podMemoryBytes: 0,
        nodeCPUMillis: groups[g].spec.template.allocatable.cpuMillis,
        nodeMemoryBytes: groups[g].spec.template.allocatable.memoryBytes)
      option.pricePerHour = groups[g].spec.pricePerHour
      // The price expander's GPU override: a group whose nodes carry GPUs.
      let template = groups[g].spec.template
      option.nodeHasGPU =
        template.gpus != nil
        || template.allocatable.scalars.contains { $0.name.hasSuffix("/gpu") && $0.amount > 0 }
      let sums = containerRequests(estimate.pods)
      option.podCPUMillis = sums.cpu
      option.podMemoryBytes = sums.memory
      options.append((option, estimate))
    }
    let best = expander.best(
      options.map(\.0), nodesInCluster: sim.nodes.nodeCount, rng: &rng)
    var helped = Set<PodID>()
    if let best, let (_, estimate) = options.first(where: { $0.0 == best }) {
      var split = [(group: best.group, count: best.nodeCount)]
      if flags.balanceSimilarNodeGroups {
        split = balance(best, among: options.map(\.0.group))
      }
      let id = Int32(scaleUps.count)
      let infos = split.filter { $0.count > 0 }.compactMap {
        increase($0.group, by: $0.count, scaleUp: id)
      }
      guard !infos.isEmpty else {
        // A failed scale-up (ScaleUpError) tells the pods nothing, as upstream's event
        // processor does.
        return (remaining.count, false)
      }
      announce(estimate.pods, scaleUp: id, infos: infos)
      helped = Set(estimate.pods)
    }
    for (k, p) in remaining.enumerated() where !helped.contains(p) {
      let parts = reasons[k].map { "\($0.value) \($0.key)" }.sorted()
      let message =
        "pod didn't trigger scale-up: "
        + (parts.isEmpty ? "no node group could take it" : parts.joined(separator: ", "))
      guard lastNoScaleUp[p.index] != message else { continue }
      lastNoScaleUp[p.index] = message
      sim.recorder.event(
        pod: p, in: sim, type: .normal, reason: "NotTriggerScaleUp", message: message)
    }
    return (remaining.count - helped.count, false)
  }

  /// `--balance-similar-node-groups`: the nodes go to the chosen group and the groups similar
  /// to it (`nodegroupset`: the same CPU and pod capacity, memory within 1.5 %, the same labels
  /// but for zone, region, hostname and the group's own) that could take the pods too, one at a
  /// time to the smallest (upstream's `BalanceScaleUpBetweenGroups`), within their max sizes.
  private func balance(_ best: ScaleUpOption, among candidates: [Int]) -> [(group: Int, count: Int)]
  {
    let ignored: Set<String> = [
      "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
      "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
      NodeGroupSpec.label,
    ]
    let a = groups[best.group].spec.template
    func similar(_ b: NodeSpec) -> Bool {
      let m1 = Double(a.allocatable.memoryBytes)
      let m2 = Double(b.allocatable.memoryBytes)
      return a.allocatable.cpuMillis == b.allocatable.cpuMillis
        && a.allocatable.pods == b.allocatable.pods
        && abs(m1 - m2) <= 0.015 * max(m1, m2)
        && a.labels.filter { !ignored.contains($0.key) }
          == b.labels.filter {
            !ignored.contains($0.key)
          }
    }
    var members = [best.group]
    for g in candidates where g != best.group && !members.contains(g) {
      if similar(groups[g].spec.template) { members.append(g) }
    }
    var added = [Int](repeating: 0, count: members.count)
    for _ in 0..<best.nodeCount {
      var pick = -1
      for (k, g) in members.enumerated()
      where groups[g].target + added[k] < groups[g].spec.maxSize {
        if pick < 0 || groups[g].target + added[k] < groups[members[pick]].target + added[pick] {
          pick = k
        }
      }
      guard pick >= 0 else { break }
      added[pick] += 1
    }
    return zip(members, added).map { ($0, $1) }
  }

  /// Equal for pods of one template identity and owner kind; a bare pod's is its own.
  private func equivalenceKey(_ p: PodID) -> Int64 {
    let r = sim.records[p.index]
    return r.template >= 0
      ? Int64(sim.templateIdentity[Int(r.template)]) << 8 | Int64(r.ownerKind.rawValue)
      : -1 - Int64(p.index)
  }

  /// Pods of one controller and template form one group (a bare pod is its own).
  private func equivalenceGroups(_ pods: [PodID]) -> [PodEquivalenceGroup] {
    var order: [Int64] = []
    var members: [Int64: [PodID]] = [:]
    for p in pods {
      let key = equivalenceKey(p)
      if members[key] == nil { order.append(key) }
      members[key, default: []].append(p)
    }
    return order.map { key in
      let list = members[key]!
      let sums = containerRequests([list[0]])
      return PodEquivalenceGroup(pods: list, cpuMillis: sums.cpu, memoryBytes: sums.memory)
    }
  }

  /// The pods' containers' CPU and memory requests (what the expanders weigh).
  private func containerRequests(_ pods: [PodID]) -> (cpu: Int64, memory: Int64) {
    var cpu: Int64 = 0
    var memory: Int64 = 0
    for p in pods {
      for c in sim.podSpec(p).containers {
        cpu += (try? c.requests.amounts().cpuMillis) ?? 0
        memory += (try? c.requests.amounts().memoryBytes) ?? 0
      }
    }
    return (cpu, memory)
  }

  /// What the cluster-wide limits leave: nodes, cores and GiB (counting upcoming nodes).
  private func clusterRoom() -> (nodes: Int, cores: Int64, memoryGiB: Int64) {
    var nodes = sim.nodes.nodeCount
    var milli: Int64 = 0
    var bytes: Int64 = 0
    let table = sim.cluster.nodes
    let allocatableCPU = table.allocatableCPU
    let allocatableMemory = table.allocatableMemory
    sim.nodes.forEachLiveRow(below: table.count) { n in
      milli += allocatableCPU[n]
      bytes += allocatableMemory[n]
    }
    for g in groups {
      nodes += g.upcoming.count
      milli += Int64(g.upcoming.count) * g.spec.template.allocatable.cpuMillis
      bytes += Int64(g.upcoming.count) * g.spec.template.allocatable.memoryBytes
    }
    let nodeRoom = flags.maxNodesTotal > 0 ? flags.maxNodesTotal - nodes : Int.max
    return (
      nodeRoom, flags.coresTotal.upperBound * 1000 - milli,
      flags.memoryTotalGiB.upperBound * 1_073_741_824 - bytes
    )
  }

  private func nodesRoom(_ room: (nodes: Int, cores: Int64, memoryGiB: Int64), template: NodeSpec)
    -> Int
  {
    var n = room.nodes
    let cpu = template.allocatable.cpuMillis
    let memory = template.allocatable.memoryBytes
    if cpu > 0 { n = min(n, Int(clamping: max(0, room.cores) / cpu)) }
    if memory > 0 { n = min(n, Int(clamping: max(0, room.memoryGiB) / memory)) }
    return n
  }

  /// Raises group `g`'s target by `count` for scale-up `scaleUp` (nil: a new one); returns
  /// the `{group old->new (max: m)}` it reports, nil when the cloud refused.
  @discardableResult
  private func increase(_ g: Int, by count: Int, scaleUp: Int32? = nil) -> String? {
    let now = sim.now
    let old = groups[g].target
    let new = min(old + count, groups[g].spec.maxSize)
    guard new > old else { return nil }
    let groupName = groups[g].spec.name
    statusEvent(
      .normal, "ScaledUpGroup",
      "Scale-up: setting group \(groupName) size to \(new) instead of \(old) (max: \(groups[g].spec.maxSize))"
    )
    if groups[g].spec.unavailable.contains(where: { $0.contains(now) }) {
      statusEvent(
        .warning, "FailedToScaleUpGroup",
        "Scale-up failed for group \(groupName): the cloud provider has no capacity for the group now (stock-out or quota)"
      )
      groups[g].failedScaleUps += 1
      groups[g].backoff.failed(at: now, flags: flags)
      return nil
    }
    let id = scaleUp ?? Int32(scaleUps.count)
    if Int(id) == scaleUps.count { scaleUps.append(ScaleUp(group: g, at: now, nodes: 0)) }
    scaleUps[Int(id)].nodes += new - old
    groups[g].scaleUps += 1
    lastScaleUp = now
    for _ in old..<new {
      let name = nextName(g)
      let delay = groups[g].delay.sample(&provisioningRNG)
      upcomingSerial &+= 1
      groups[g].upcoming.append(
        Upcoming(serial: upcomingSerial, name: name, requested: now, scaleUp: id))
      if delay < flags.maxNodeProvisionTime {
        sim.engine.schedule(
          self, after: delay, tag: Tag.register.rawValue,
          payload: UInt64(g) << 32 | UInt64(upcomingSerial))
      }
    }
    publish(g)
    return "{\(groupName) \(old)->\(new) (max: \(groups[g].spec.maxSize))}"
  }

  /// The scale-up's pods: TriggeredScaleUp on each (naming every group's new size, as
  /// upstream prints its `ScaleUpInfos`), and a chain each.
  private func announce(_ pods: [PodID], scaleUp id: Int32, infos: [String]) {
    let message = "pod triggered scale-up: [" + infos.joined(separator: " ") + "]"
    let now = sim.now
    for p in pods {
      sim.recorder.event(
        pod: p, in: sim, type: .normal, reason: "TriggeredScaleUp", message: message)
      chains.triggered(
        p, handle: sim.handle(p),
        created: VirtualTime(nanoseconds: sim.cluster.pods.createdAt[p.index]), now: now,
        origin: id, decision: sim.horizontalAutoscaling.decision(of: p))
    }
  }

  // MARK: Scale-down

  /// Budgets' remaining disruptions this loop, worked out when first asked.
  private var budgetRoom: [Int?] = []

  private func budgetAllows(_ pod: PodID) -> (has: Bool, allows: Bool) {
    let cluster = sim.cluster
    var has = false
    var allows = true
    for b in 0..<cluster.disruptionBudgets.count where cluster.budget(b, covers: pod) {
      has = true
      if budgetRoom[b] == nil { budgetRoom[b] = sim.nodes.disruptionsAllowed(b) }
      if budgetRoom[b]! < 1 { allows = false }
    }
    return (has, allows)
  }

  private func takeBudget(_ pod: PodID) {
    for b in 0..<sim.cluster.disruptionBudgets.count where sim.cluster.budget(b, covers: pod) {
      budgetRoom[b] = (budgetRoom[b] ?? sim.nodes.disruptionsAllowed(b)) - 1
    }
  }

  /// A node's utilisation as scale-down sees it: from the node's request sums, unless DaemonSet
  /// pods are to be left out or the node is not Ready — only there can a pod be long
  /// terminating (a Ready node's kubelet ends every pod within its grace period) — when the
  /// pods are summed.
  /// `table` holds the simulation's columns, taken once by a caller asking for many nodes (a
  /// reference read per call is a retain and a release); `ready` is whether the node is Ready.
  @inline(__always)
  private func utilization(of n: Int, ready: Bool, now: VirtualTime, table: NodeSums) -> Double {
    guard flags.ignoreDaemonSetsUtilization || !ready else {
      // Every pod counts: the node's sums are the answer (no list built per node and loop).
      return NodeUtilization.of(
        allocatableCPU: table.allocatableCPU[n], allocatableMemory: table.allocatableMemory[n],
        requestedCPU: table.requestedCPU[n], requestedMemory: table.requestedMemory[n]
      ).value
    }
    return podsUtilization(of: n, now: now, table: table)
  }

  /// `utilization` from the node's pods.
  private func podsUtilization(of n: Int, now: VirtualTime, table: NodeSums) -> Double {
    let pods = sim.cluster.pods
    var list: [(cpu: Int64, memory: Int64, daemonSet: Bool)] = []
    var pod = sim.cluster.firstPod(on: NodeID(UInt32(n)))
    while let p = pod {
      pod = sim.cluster.pod(after: p)
      let due = pods.deletionDueAt[p.index]
      if due != PodTable.never && now.nanoseconds > due + 30_000_000_000 { continue }
      list.append(
        (
          pods.requestCPU[p.index], pods.requestMemory[p.index],
          sim.records[p.index].ownerKind == .daemonSet
        ))
    }
    return NodeUtilization.of(
      allocatableCPU: table.allocatableCPU[n], allocatableMemory: table.allocatableMemory[n],
      pods: list, ignoreDaemonSets: flags.ignoreDaemonSetsUtilization
    ).value
  }

  /// The node table's allocatable and requested columns, taken once for a pass over many
  /// nodes: read through the table, every read retained and released a column.
  private struct NodeSums {
    let allocatableCPU: Column<Int64>
    let allocatableMemory: Column<Int64>
    let requestedCPU: Column<Int64>
    let requestedMemory: Column<Int64>
    init(_ t: NodeTable) {
      allocatableCPU = t.allocatableCPU
      allocatableMemory = t.allocatableMemory
      requestedCPU = t.requestedCPU
      requestedMemory = t.requestedMemory
    }
  }

  private func drainPod(_ p: PodID, now: VirtualTime) -> DrainPod {
    let facts = sim.drainFacts(p)
    let kind: String
    switch sim.records[p.index].ownerKind {
    case .replicaSet: kind = "ReplicaSet"
    case .job: kind = "Job"
    case .daemonSet: kind = "DaemonSet"
    case .statefulSet: kind = "StatefulSet"
    case .none: kind = facts.controllerKind
    }
    var d = DrainPod(namespace: sim.namespace(p), controllerKind: kind, facts: facts)
    let pods = sim.cluster.pods
    let due = pods.deletionDueAt[p.index]
    d.longTerminating = due != PodTable.never && now.nanoseconds > due + 30_000_000_000
    d.youngerThanSystemPodTimeout =
      now - VirtualTime(nanoseconds: pods.createdAt[p.index])
      < flags.blockingSystemPodDisruptionTimeout
    return d
  }

  /// Scale-down's planning (upstream's `UpdateClusterState`): which nodes are unneeded now,
  /// their timers kept or reset; the moves are committed to the snapshot as it goes.
  private func unneededNodes(_ now: VirtualTime) -> [(node: Int, empty: Bool)] {
    budgetRoom = Array(repeating: nil, count: sim.cluster.disruptionBudgets.count)
    // Candidates: nodes of groups, Ready (or unready when allowed), not being deleted; those
    // unneeded last loop first, as upstream's planner keeps them ahead, each part in row
    // order: two passes over a mark per row instead of a sort every loop.
    let lifecycle = sim.nodes!
    let table = NodeSums(sim.cluster.nodes)
    // The per-row timers are taken out of the class for the pass (nothing it calls reads
    // them): written through the class per candidate, each write checked them for sharing.
    var unneededSince: [VirtualTime] = []
    var unremovableUntil: [VirtualTime] = []
    swap(&unneededSince, &self.unneededSince)
    swap(&unremovableUntil, &self.unremovableUntil)
    defer {
      swap(&unneededSince, &self.unneededSince)
      swap(&unremovableUntil, &self.unremovableUntil)
    }
    let rows = min(sim.cluster.nodes.count, unneededSince.count)
    candidateMark.removeAll(keepingCapacity: true)
    candidateMark.append(contentsOf: repeatElement(0, count: rows))
    for g in groups.indices {
      for n in groups[g].nodes where n < rows {
        let ready = lifecycle.isReady(n)
        if !flags.scaleDownUnreadyEnabled && !ready { continue }
        candidateMark[n] = ready ? 1 : 2
      }
    }
    // Nodes being deleted are no candidates (cleared once, not searched for per node).
    for d in deleting where d.node < rows { candidateMark[d.node] = 0 }
    var candidates: [Int] = []
    var others: [Int] = []
    for n in 0..<rows where candidateMark[n] != 0 {
      if unneededSince[n] != Self.never {
        candidates.append(n)
      } else {
        others.append(n)
      }
    }
    candidates.append(contentsOf: others)
    var removable: [(node: Int, empty: Bool)] = []
    var excluded = Set(deleting.map(\.node))
    var newHints: [UInt64: Int] = [:]
    // Upstream's `unneededNodesLimit`: no point finding more unneeded nodes than can go
    // before they would be found again (N = max-scale-down-parallelism; the unneeded so far
    // plus 2N, at most N × unneeded-time / scan-interval + N).
    let n = flags.maxScaleDownParallelism
    let loops = max(1, flags.scaleDownUnneededTime.nanoseconds / flags.scanInterval.nanoseconds)
    let limit = min(
      unneededSince.count { $0 != Self.never } + 2 * n, n * Int(clamping: loops) + n)
    for n in candidates {
      guard removable.count < limit else {
        unneededSince[n] = Self.never
        continue
      }
      guard now >= unremovableUntil[n] else {
        unneededSince[n] = Self.never
        continue
      }
      guard
        utilization(of: n, ready: candidateMark[n] == 1, now: now, table: table)
          <= flags.scaleDownUtilizationThreshold
      else {
        unneededSince[n] = Self.never
        continue
      }
      var outcomes: [(PodID, DrainOutcome)] = []
      var pod = sim.cluster.firstPod(on: NodeID(UInt32(n)))
      while let p = pod {
        pod = sim.cluster.pod(after: p)
        var d = drainPod(p, now: now)
        if !d.facts.mirror && !d.longTerminating && !d.isDaemonSetPod {
          let b = budgetAllows(p)
          d.hasPDB = b.has
          d.pdbAllows = b.allows
        }
        outcomes.append((p, rules.outcome(d)))
      }
      if outcomes.contains(where: { if case .blocked = $0.1 { true } else { false } }) {
        unneededSince[n] = Self.never
        unremovableUntil[n] = now + flags.unremovableNodeRecheckTimeout
        continue
      }
      let toMove = outcomes.filter { $0.1 == .reschedule }.map(\.0)
      let mark = snapshot.mark
      excluded.insert(n)
      var moved = true
      var planned: [(UInt64, Int)] = []
      for p in toMove {
        guard let dest = destination(for: p, excluding: excluded) else {
          moved = false
          break
        }
        snapshot.unplace(p)
        snapshot.place(p, on: NodeID(UInt32(dest)))
        planned.append((sim.handle(p), dest))
      }
      if !moved {
        snapshot.revert(to: mark)
        excluded.remove(n)
        unneededSince[n] = Self.never
        unremovableUntil[n] = now + flags.unremovableNodeRecheckTimeout
        continue
      }
      for p in toMove { takeBudget(p) }
      for (h, d) in planned { newHints[h] = d }
      if unneededSince[n] == Self.never { unneededSince[n] = now }
      removable.append((n, toMove.isEmpty))
    }
    hints = newHints
    return removable
  }

  private func inCooldown(_ now: VirtualTime) -> Bool {
    now < lastScaleUp + flags.scaleDownDelayAfterAdd
      || now < lastScaleDownFailure + flags.scaleDownDelayAfterFailure
      || now < lastScaleDownDelete + flags.scaleDownDelayAfterDelete
  }

  /// Where a pod to move goes: its hint if it still fits there, else the first node, from a
  /// rotating start, with room for its requests whose filters pass (upstream's
  /// `FitsAnyNodeMatching`).
  private func destination(for p: PodID, excluding excluded: Set<Int>) -> Int? {
    let table = sim.cluster.nodes
    let pods = sim.cluster.pods
    let cpu = pods.requestCPU[p.index]
    let memory = pods.requestMemory[p.index]
    let lifecycle = sim.nodes!
    // The set's hashing last: most nodes are turned away by their columns first.
    func roomy(_ n: Int) -> Bool {
      table.allocatableCPU[n] - table.requestedCPU[n] >= cpu
        && table.allocatableMemory[n] - table.requestedMemory[n] >= memory
        && table.podCount[n] < table.allocatablePods[n]
        && !lifecycle.isRemoved(n) && lifecycle.isReady(n) && !excluded.contains(n)
    }
    if let h = hints[sim.handle(p)], h < table.count, roomy(h),
      snapshot.fits(p, on: NodeID(UInt32(h)))
    {
      return h
    }
    let count = table.count
    guard count > 0,
      let found = snapshot.firstFit(p, from: rotation % count, accept: roomy)
    else { return nil }
    rotation = (found.index + 1) % count
    return found.index
  }

  /// Starts deleting the unneeded nodes whose time has come, within the parallelism limits and
  /// the groups' minimum sizes.
  private func startDeletions(_ removable: [(node: Int, empty: Bool)], now: VirtualTime) {
    var inFlight = deleting.count
    var draining = deleting.count { !$0.empty }
    var emptyStarted = 0
    var leaving = [Int](repeating: 0, count: groups.count)
    for d in deleting { leaving[Int(groupOfRow[d.node])] += 1 }
    var coresLeft: Int64 = 0
    let table = sim.cluster.nodes
    let allocatableCPU = table.allocatableCPU
    sim.nodes.forEachLiveRow(below: table.count) { n in coresLeft += allocatableCPU[n] }
    // Empty nodes first (in bulk), then one drain.
    for pass in [true, false] {
      for (n, empty) in removable where empty == pass {
        let wait = sim.nodes.isReady(n) ? flags.scaleDownUnneededTime : flags.scaleDownUnreadyTime
        guard now - unneededSince[n] >= wait, inFlight < flags.maxScaleDownParallelism else {
          continue
        }
        let g = Int(groupOfRow[n])
        guard groups[g].nodes.count - leaving[g] > groups[g].spec.minSize else { continue }
        let cpu = sim.cluster.nodes.allocatableCPU[n]
        guard coresLeft - cpu >= flags.coresTotal.lowerBound * 1000 else { continue }
        if empty {
          guard emptyStarted < flags.maxEmptyBulkDelete else { continue }
          emptyStarted += 1
        } else {
          guard draining < flags.maxDrainParallelism else { continue }
          draining += 1
        }
        inFlight += 1
        leaving[g] += 1
        coresLeft -= cpu
        beginDeletion(n, empty: empty, now: now)
      }
    }
  }

  static let toBeDeletedTaint = "ToBeDeletedByClusterAutoscaler"

  private func beginDeletion(_ n: Int, empty: Bool, now: VirtualTime) {
    let name = sim.cluster.nodes.name(NodeID(UInt32(n)))
    // Upstream's value is the Unix time of the taint; here it is left empty, so the taint
    // registry (a bit per distinct taint on every node) does not grow with every deletion. No
    // toleration names the value.
    sim.nodes.setTaint(
      n, Taint(key: Self.toBeDeletedTaint, effect: .noSchedule), present: true)
    sim.recorder.event(
      kind: "Node", namespace: "", name: name, type: .normal, reason: "ScaleDown",
      message: "marked the node as toBeDeleted/unschedulable")
    if empty {
      statusEvent(.normal, "ScaleDownEmpty", "Scale-down: removing empty node \"\(name)\"")
    } else {
      let pods = sim.cluster.podsOn(NodeID(UInt32(n))).filter {
        sim.records[$0.index].ownerKind != .daemonSet
      }
      statusEvent(
        .normal, "ScaleDown",
        "Scale-down: removing node \(name), utilization: \(utilizationText(n)), pods to reschedule: \(pods.map { sim.namespace($0) + "/" + sim.name($0) }.joined(separator: ","))"
      )
    }
    deleting.append(Deletion(node: n, empty: empty, tainted: now))
    unneededSince[n] = Self.never
    scheduleDrain(after: flags.nodeDeleteDelayAfterTaint)
  }

  private func utilizationText(_ n: Int) -> String {
    let t = sim.cluster.nodes
    let cpu = t.allocatableCPU[n] > 0 ? Double(t.requestedCPU[n]) / Double(t.allocatableCPU[n]) : 0
    let memory =
      t.allocatableMemory[n] > 0 ? Double(t.requestedMemory[n]) / Double(t.allocatableMemory[n]) : 0
    return "{\(Self.fraction(cpu)) \(Self.fraction(memory))}"
  }

  /// The next drain step at `now + delay`, unless one is due sooner.
  private func scheduleDrain(after delay: VirtualTime) {
    scheduleDrain(at: sim.now + delay)
  }

  private func scheduleDrain(at due: VirtualTime) {
    if let t = drainTimer, sim.engine.isPending(t) {
      guard due < drainDue else { return }
      sim.engine.cancel(t)
    }
    drainDue = due
    drainTimer = sim.engine.schedule(self, at: due, tag: Tag.drain.rawValue)
  }

  /// Evicts what the nodes being deleted still hold (once the taint has had its delay), deletes
  /// those left with nothing to wait for, and gives up on drains past the eviction time.
  private func drainStep() {
    let now = sim.now
    var next = VirtualTime(nanoseconds: .max)
    var kept: [Deletion] = []
    for d in deleting {
      let start = d.tainted + flags.nodeDeleteDelayAfterTaint
      guard now >= start else {
        next = min(next, start)
        kept.append(d)
        continue
      }
      let evictDaemons =
        d.empty ? flags.daemonSetEvictionForEmptyNodes : flags.daemonSetEvictionForOccupiedNodes
      var waiting = false
      var refused = false
      for p in sim.cluster.podsOn(NodeID(UInt32(d.node))) {
        let daemon = sim.records[p.index].ownerKind == .daemonSet
        if daemon && !evictDaemons { continue }
        waiting = true
        if sim.cluster.pods.isTerminating(p) { continue }
        if sim.nodes.evict(
          p, reason: "ScaleDown", message: "deleting pod for node scale down",
          respectingBudgets: !daemon)
        {
          evictions += 1
        } else {
          refused = true
        }
      }
      if !waiting {
        remove(d)
        continue
      }
      if refused && now >= start + flags.maxPodEvictionTime {
        fail(d)
        continue
      }
      kept.append(d)
      next = min(next, now + NodeLifecycle.drainRetry)
    }
    deleting = kept
    if next.nanoseconds != .max { scheduleDrain(at: next) }
  }

  private func remove(_ d: Deletion) {
    let g = Int(groupOfRow[d.node])
    account(g)
    groups[g].nodes.removeAll { $0 == d.node }
    groups[g].nodesRemoved += 1
    groupOfRow[d.node] = -1
    rowGeneration[d.node] &+= 1
    unneededSince[d.node] = Self.never
    if d.empty { scaleDowns.empty += 1 } else { scaleDowns.drained += 1 }
    lastScaleDownDelete = sim.now
    sim.nodes.remove(d.node)
    publish(g)
  }

  private func fail(_ d: Deletion) {
    let name = sim.cluster.nodes.name(NodeID(UInt32(d.node)))
    sim.nodes.setTaint(
      d.node, Taint(key: Self.toBeDeletedTaint, effect: .noSchedule), present: false)
    statusEvent(
      .warning, "ScaleDownFailed",
      "failed to drain the node \(name): pods could not be evicted within \(Self.duration(flags.maxPodEvictionTime))"
    )
    scaleDowns.failed += 1
    lastScaleDownFailure = sim.now
    unremovableUntil[d.node] = sim.now + flags.unremovableNodeRecheckTimeout
  }

  // MARK: Spot

  /// The cloud's warning: the node is cordoned and its pods evicted (as a termination handler
  /// does, without waiting for budgets: the node goes at the deadline anyway); the reclaim
  /// follows after the notice.
  private func interruptionNotice(_ n: Int) {
    let g = Int(groupOfRow[n])
    let name = sim.cluster.nodes.name(NodeID(UInt32(n)))
    sim.recorder.event(
      kind: "Node", namespace: "", name: name, type: .warning, reason: "SpotInterrupted",
      message:
        "Spot interruption: the instance is reclaimed in \(Self.duration(groups[g].spec.interruptionNotice))"
    )
    groups[g].interruptions += 1
    sim.nodes.cordon(n, true)
    for p in sim.cluster.podsOn(NodeID(UInt32(n)))
    where sim.records[p.index].ownerKind != .daemonSet && !sim.cluster.pods.isTerminating(p) {
      sim.nodes.evict(
        p, reason: "Evicted",
        message: "Evicted: node \(name) is being reclaimed (spot interruption)",
        respectingBudgets: false)
      evictions += 1
    }
    sim.engine.schedule(
      self, after: groups[g].spec.interruptionNotice, tag: Tag.reclaim.rawValue,
      payload: UInt64(n) << 32 | UInt64(rowGeneration[n]), daemon: true)
  }

  /// The instance is gone: the node with it; the group, whose target did not change, starts a
  /// replacement (an autoscaling group keeps its desired capacity).
  private func reclaim(_ n: Int) {
    let g = Int(groupOfRow[n])
    deleting.removeAll { $0.node == n }
    account(g)
    groups[g].nodes.removeAll { $0 == n }
    groupOfRow[n] = -1
    unneededSince[n] = Self.never
    rowGeneration[n] &+= 1
    sim.nodes.remove(n)
    let name = nextName(g)
    upcomingSerial &+= 1
    groups[g].upcoming.append(
      Upcoming(serial: upcomingSerial, name: name, requested: sim.now, scaleUp: -1))
    let delay = groups[g].delay.sample(&provisioningRNG)
    if delay < flags.maxNodeProvisionTime {
      sim.engine.schedule(
        self, after: delay, tag: Tag.register.rawValue,
        payload: UInt64(g) << 32 | UInt64(upcomingSerial))
    }
    publish(g)
  }

  // MARK: Outputs

  private func statusEvent(
    _ type: EventType, _ reason: String, _ message: @autoclosure () -> String
  ) {
    sim.recorder.event(
      kind: "ConfigMap", namespace: "kube-system", name: "cluster-autoscaler-status", type: type,
      reason: reason, message: message())
  }

  static func duration(_ d: VirtualTime) -> String {
    let s = d.nanoseconds / 1_000_000_000
    if s % 60 == 0 { return "\(s / 60)m0s" }
    return "\(s)s"
  }

  static func fraction(_ x: Double) -> String {
    let v = (x * 1000).rounded() / 1000
    return "\(v)"
  }

  /// Node-hours per group up to now.
  func nodeHours(_ g: Int) -> Double {
    (groups[g].nodeSeconds + Double(groups[g].nodes.count) * (sim.now - groups[g].counted).seconds)
      / 3600
  }

  /// Settles the chains' readiness and the capacity integrals at the end of the run.
  func finish() {
    collectReadiness()
    sampleCapacity(sim.now)
  }

  /// The figures `autoscale compare` weighs: cost (priced groups), nodes added and removed,
  /// pods evicted by drains, and the p90 of created → Ready over the pods scale-ups were for.
  var outcome: (cost: Double, churn: Int, evictions: Int, chainP90: Double) {
    var cost = 0.0
    for g in groups.indices { cost += (groups[g].spec.pricePerHour ?? 0) * nodeHours(g) }
    let churn = groups.reduce(0) { $0 + $1.nodesAdded + $1.nodesRemoved }
    return (cost, churn, evictions, chains.createdToReadyP90)
  }

  /// `summary.json`'s `clusterAutoscaler` object.
  func summaryJSON() -> String {
    let json = SimulationOutputs.json
    func number(_ x: Double) -> String { String(format: "%.3f", x) }
    var groupRows: [String] = []
    var cost = 0.0
    var nodeHours = 0.0
    for (g, group) in groups.enumerated() {
      let hours = self.nodeHours(g)
      nodeHours += hours
      let groupCost = group.spec.pricePerHour.map { $0 * hours }
      cost += groupCost ?? 0
      groupRows.append(
        "      {\"name\": \(json(group.spec.name)), \"minSize\": \(group.spec.minSize), \"maxSize\": \(group.spec.maxSize), \"nodes\": \(group.nodes.count), \"maxNodes\": \(group.maxNodes), \"scaleUps\": \(group.scaleUps), \"failedScaleUps\": \(group.failedScaleUps), \"nodesAdded\": \(group.nodesAdded), \"nodesRemoved\": \(group.nodesRemoved), \"spotInterruptions\": \(group.interruptions), \"nodeHours\": \(number(hours)), \"pricePerHour\": \(group.spec.pricePerHour.map { "\($0)" } ?? "null"), \"cost\": \(groupCost.map(number) ?? "null")}"
      )
    }
    let quality = sim.workloadMetrics.quality
    let served = quality.reduce(0.0) { $0 + $1.served }
    let waste = quality.reduce(0.0) { $0 + max(0, $1.requestedCoreSeconds - $1.usedCoreSeconds) }
    var o = "{\n"
    o += "    \"expander\": \(json(flags.expanders.map(\.rawValue).joined(separator: ","))),\n"
    o += "    \"nodeGroups\": [\n" + groupRows.joined(separator: ",\n") + "\n    ],\n"
    o += "    \"scaleUps\": \(scaleUps.count),\n"
    o +=
      "    \"scaleDowns\": {\"empty\": \(scaleDowns.empty), \"drained\": \(scaleDowns.drained), \"failed\": \(scaleDowns.failed)},\n"
    o += "    \"evictions\": \(evictions),\n"
    o +=
      "    \"cost\": {\"total\": \(number(cost)), \"nodeHours\": \(number(nodeHours)), \"idleCoreHours\": \(number(idleMilliSeconds / 3_600_000)), \"allocatableCoreHours\": \(number(allocatableMilliSeconds / 3_600_000)), \"wasteCoreHours\": \(number(waste / 3600)), \"perMillionServedRequests\": \(served > 0 ? number(cost / served * 1e6) : "null")},\n"
    o += "    \"chain\": \(chains.json),\n"
    o += "    \"agreement\": \(chains.agreementJSON)\n"
    o += "  }"
    return o
  }

  func violation() -> String? {
    for (g, group) in groups.enumerated() {
      for n in group.nodes where sim.nodes.isRemoved(n) || groupOfRow[n] != Int32(g) {
        return "node group \(group.spec.name) lists node row \(n), which is not its node"
      }
      if group.target > group.spec.maxSize {
        return
          "node group \(group.spec.name) targets \(group.target) nodes, above its max \(group.spec.maxSize)"
      }
    }
    return nil
  }
}
