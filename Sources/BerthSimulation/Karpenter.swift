import BerthAutoscaling
import BerthCore
import BerthEngine
import BerthScheduling
import Foundation

/// Karpenter (kubernetes-sigs/karpenter, its documented behaviour) for the scenario's
/// NodePools over an instance-type catalogue (`spec.karpenter`):
///
/// - **Provisioning.** Pods the scheduler found unschedulable are batched: the batch closes 1 s
///   (`batchIdleDuration`) after the last pending pod arrived, at most 10 s
///   (`batchMaxDuration`) after the first. The batch, largest pods first (CPU, then memory),
///   is packed: onto existing capacity and the nodes still launching (the scheduler's filters
///   decide), else onto a node claim opened in this batch whose offerings — instance type,
///   capacity type, zone — can still hold it (the pod's node selector and required node
///   affinity over the offering's labels, the pool's taints tolerated, the claim's requests
///   plus the pod's within the type's allocatable, DaemonSet pods included), else onto a new
///   claim from the first NodePool (highest `weight`, then name) that has an offering for it
///   within its `limits`. Each claim launches the cheapest offering that holds all its pods
///   (spot when the pool allows it and it is cheaper) and its node is Ready after
///   `launchDelay`, named `<pool>-<n>`, labelled as the offering says.
/// - **Disruption** (every 10 s, one decision at a time): nodes past `expireAfter` are
///   replaced (Expired); drifted nodes — their pool's template (labels, taints) changed since
///   they launched, or its requirements no longer admit their labels (a NodePool applied by a
///   scenario action) — are deleted when empty, else replaced from the pool as it is now
///   (Drifted: the replacement launches when their pods need it, the node goes once it is
///   Ready); then, with consolidation, nodes without pods other than DaemonSet ones for
///   `consolidateAfter` are deleted (Empty), then — `WhenEmptyOrUnderutilized` — the node
///   with the fewest pods whose pods all fit elsewhere is deleted (Underutilized/Delete), or,
///   when they fit on one cheaper node, replaced by it (Underutilized/Replace: the replacement
///   launches, the node goes once it is Ready). Pods annotated `karpenter.sh/do-not-disrupt`
///   and PodDisruptionBudgets with no disruption left keep their node; each pool's budgets
///   (`nodes: 10%` by default, rounded up, less the nodes being disrupted or not Ready) cap
///   voluntary disruption. A disrupted node is tainted `karpenter.sh/disrupted:NoSchedule`,
///   its pods evicted through their budgets every 5 s, and deleted once they are gone.
final class KarpenterProvisioning: Component {
  enum Tag: UInt32 { case batch, register, disruption, drain, interruptionNotice, reclaim }

  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  let config: KarpenterScenario
  private let snapshot: SchedulingSnapshot
  private var launchRNG: SplitMix64
  private var spotRNG: SplitMix64

  struct Pool {
    var spec: NodePoolSpec
    var offerings: [Offering]
    /// Its nodes (rows), in the order they registered.
    var nodes: [Int] = []
    var nextNumber = 0
    var launched = 0
    var nodeSeconds = 0.0
    var cost = 0.0
    var counted = VirtualTime.zero
    var maxNodes = 0
    var disruptions: [String: Int] = [:]
    var series = -1
    /// Bumped when an applied NodePool changes the template its nodes are made from (labels,
    /// taints: Karpenter's NodePool hash; requirements and behaviour fields are not hashed).
    var template: UInt32 = 0
  }
  @exclusivity(unchecked) private(set) var pools: [Pool] = []

  struct Claim {
    var serial: UInt32
    var pool: Int
    var offering: Offering
    var name: String
    var requested: VirtualTime
    /// The node this claim replaces (consolidation, drift), -1 for none, and that row's
    /// generation.
    var replaces: Int
    var replacesGeneration: UInt32 = 0
    /// Why the replaced node goes.
    var reason = "Underutilized/Replace"
  }
  @exclusivity(unchecked) private var inFlight: [Claim] = []
  private var claimSerial: UInt32 = 0

  /// Per node row: its pool (-1 none), offering, when it was launched, its last pod change.
  @exclusivity(unchecked) private var poolOfRow: [Int32] = []
  @exclusivity(unchecked) private var offeringOfRow: [Offering?] = []
  @exclusivity(unchecked) private var launchedAt: [VirtualTime] = []
  @exclusivity(unchecked) private var lastPodChange: [VirtualTime] = []
  /// Per node row: the claim it registered for (0: none), and when.
  @exclusivity(unchecked) private var claimOfRow: [UInt32] = []
  /// Per node row: bumped when its node changes (a spot timer for a gone node is ignored).
  @exclusivity(unchecked) private var rowGeneration: [UInt32] = []
  /// Per node row: its pool's `template` when it launched.
  @exclusivity(unchecked) private var templateOfRow: [UInt32] = []
  /// The pending → node → Ready chain of the pods claims were launched for.
  @exclusivity(unchecked) private(set) var chains = ScaleUpChains()
  /// Nodes a launching replacement will take over from.
  @exclusivity(unchecked) private var replacing = Set<Int>()

  struct Deletion {
    var node: Int
    var reason: String
  }
  @exclusivity(unchecked) private var deleting: [Deletion] = []
  @exclusivity(unchecked) private var drainTimer: TimerHandle?

  @exclusivity(unchecked) private var unschedulable: [PodID] = []
  @exclusivity(unchecked) private var listed: [Bool] = []
  private var batch: (start: VirtualTime, last: VirtualTime)?
  @exclusivity(unchecked) private(set) var evictions = 0
  /// Launches by instance type and capacity type.
  @exclusivity(unchecked) private(set) var launchesByType: [String: Int] = [:]
  private var idleMilliSeconds = 0.0
  private var lastSample: (at: VirtualTime, idle: Int64)?

  static let disruptedTaint = Taint(key: "karpenter.sh/disrupted", effect: .noSchedule)
  static let disruptionInterval = VirtualTime.seconds(Int64(10))

  init(_ sim: Simulation, config: KarpenterScenario, root: SplitMix64) {
    self.sim = sim
    self.config = config
    var seeds = root.split(label: "karpenter-snapshot")
    snapshot = SchedulingSnapshot(cluster: sim.cluster, seed: seeds.next())
    launchRNG = root.split(label: "karpenter-launch")
    spotRNG = root.split(label: "karpenter-spot")
    pools = config.nodePools.sorted { ($0.weight, $1.name) > ($1.weight, $0.name) }.map {
      Pool(spec: $0, offerings: Offering.of(pool: $0, catalogue: config.catalogue))
    }
  }

  var name: String { "karpenter" }
  var watches: ClusterChangeKinds { [.assignedPodAdded, .assignedPodDeleted] }

  func start(_ engine: Engine) {
    for p in pools.indices {
      pools[p].series = sim.recorder.series(
        kind: "NodePool", namespace: "-", name: pools[p].spec.name, fields: ["nodes", "launching"])
    }
    for n in 0..<sim.cluster.nodes.count where !sim.nodes.isRemoved(n) {
      let labels = sim.cluster.nodes.specs[n].labels
      guard let name = labels[NodePoolSpec.label],
        let p = pools.firstIndex(where: { $0.spec.name == name })
      else { continue }
      let offering = pools[p].offerings.first {
        $0.type.name == labels[NodePoolSpec.instanceTypeLabel]
          && $0.capacityType == (labels[NodePoolSpec.capacityTypeLabel] ?? "on-demand")
      }
      adopt(n, pool: p, offering: offering)
    }
    for p in pools.indices { publish(p) }
    engine.every(Self.disruptionInterval, self, tag: Tag.disruption.rawValue)
  }

  private func grow(_ n: Int) {
    while poolOfRow.count <= n {
      poolOfRow.append(-1)
      offeringOfRow.append(nil)
      launchedAt.append(.zero)
      lastPodChange.append(.zero)
      claimOfRow.append(0)
      rowGeneration.append(0)
      templateOfRow.append(0)
    }
  }

  private func adopt(_ n: Int, pool p: Int, offering: Offering?) {
    grow(n)
    account(p)
    poolOfRow[n] = Int32(p)
    offeringOfRow[n] = offering
    claimOfRow[n] = 0
    launchedAt[n] = sim.now
    lastPodChange[n] = sim.now
    pools[p].nodes.append(n)
    pools[p].maxNodes = max(pools[p].maxNodes, pools[p].nodes.count)
    rowGeneration[n] &+= 1
    templateOfRow[n] = pools[p].template
    if offering?.capacityType == "spot", let mean = config.meanTimeToInterruption {
      let life = DurationDistribution.exponential(mean: mean).sample(&spotRNG)
      sim.engine.schedule(
        self, after: max(.zero, life - config.interruptionNotice),
        tag: Tag.interruptionNotice.rawValue, payload: UInt64(n) << 32 | UInt64(rowGeneration[n]),
        daemon: true)
    }
  }

  /// Node-seconds and cost of pool `p` up to now (before its nodes change).
  private func account(_ p: Int) {
    let dt = (sim.now - pools[p].counted).seconds
    pools[p].nodeSeconds += Double(pools[p].nodes.count) * dt
    for n in pools[p].nodes { pools[p].cost += (offeringOfRow[n]?.price ?? 0) * dt / 3600 }
    pools[p].counted = sim.now
  }

  private func publish(_ p: Int) {
    sim.recorder.set(series: pools[p].series, pools[p].nodes.count)
    sim.recorder.set(series: pools[p].series + 1, inFlight.count { $0.pool == p })
  }

  func observe(_ change: ClusterChange, _ engine: Engine) {
    let pod: PodID
    switch change {
    case .assignedPodAdded(let p): pod = p
    case .assignedPodDeleted(let p): pod = p
    default: return
    }
    // A deleted pod's row still says where it was (`PodRecord.node`).
    let n = sim.cluster.pods.boundNode(pod)?.index ?? Int(sim.records[pod.index].node)
    if n >= 0 && n < lastPodChange.count { lastPodChange[n] = sim.now }
    if case .assignedPodAdded = change, n >= 0 {
      grow(n)
      chains.bound(
        pod, handle: sim.handle(pod), now: sim.now,
        nodeOrigin: claimOfRow[n] == 0 ? -1 : Int32(bitPattern: claimOfRow[n]),
        nodeReady: launchedAt[n])
    }
  }

  // MARK: Provisioning

  /// The scheduler found no node for the pod: it joins the batch.
  func podUnschedulable(_ pod: PodID) {
    let i = pod.index
    while listed.count <= i { listed.append(false) }
    if !listed[i] {
      listed[i] = true
      unschedulable.append(pod)
    }
    let now = sim.now
    if let b = batch {
      batch = (b.start, now)
    } else {
      batch = (now, now)
      sim.engine.schedule(self, after: config.batchIdleDuration, tag: Tag.batch.rawValue)
    }
  }

  func fire(_ t: BerthEngine.Timer, _ engine: Engine) {
    switch Tag(rawValue: t.tag) {
    case .batch:
      guard let b = batch else { return }
      let now = sim.now
      let due = min(b.last + config.batchIdleDuration, b.start + config.batchMaxDuration)
      if now < due {
        sim.engine.schedule(self, at: due, tag: Tag.batch.rawValue)
        return
      }
      batch = nil
      provision()
    case .register: register(serial: UInt32(truncatingIfNeeded: t.payload))
    case .disruption: disrupt()
    case .interruptionNotice, .reclaim:
      let n = Int(t.payload >> 32)
      guard n < poolOfRow.count, poolOfRow[n] >= 0,
        rowGeneration[n] == UInt32(truncatingIfNeeded: t.payload)
      else { return }
      if t.tag == Tag.interruptionNotice.rawValue {
        // The interruption controller: the node is drained at once, outside the budgets, and
        // the instance reclaimed at the deadline whatever is left on it.
        sim.recorder.event(
          kind: "Node", namespace: "", name: sim.cluster.nodes.name(NodeID(UInt32(n))),
          type: .warning, reason: "SpotInterrupted",
          message:
            "Spot interruption warning: the instance is reclaimed in \(ClusterAutoscaling.duration(config.interruptionNotice))"
        )
        replacing.remove(n)
        beginDeletion(n, reason: "Interrupted")
        sim.engine.schedule(
          self, after: config.interruptionNotice, tag: Tag.reclaim.rawValue, payload: t.payload,
          daemon: true)
      } else {
        deleting.removeAll { $0.node == n }
        removeNode(n)
      }
    case .drain:
      drainTimer = nil
      drainStep()
    case nil: preconditionFailure("unknown Karpenter timer")
    }
  }

  private func pendingPods() -> [PodID] {
    let pods = sim.cluster.pods
    var kept = 0
    for p in unschedulable {
      if !sim.isGone(p) && !pods.isBound(p) && pods.deletionDueAt[p.index] == PodTable.never
        && !pods.phase(of: p).isFinished
      {
        unschedulable[kept] = p
        kept += 1
      } else {
        listed[p.index] = false
      }
    }
    unschedulable.removeLast(unschedulable.count - kept)
    return unschedulable.sorted {
      let a = (pods.requestCPU[$0.index], pods.requestMemory[$0.index])
      let b = (pods.requestCPU[$1.index], pods.requestMemory[$1.index])
      return a != b ? a > b : sim.records[$0.index].serial < sim.records[$1.index].serial
    }
  }

  /// A node spec for an offering of pool `p`, as the node would register.
  private func nodeSpec(_ o: Offering, pool p: Int, name: String) -> NodeSpec {
    var labels = o.labels
    labels["kubernetes.io/hostname"] = name
    return NodeSpec(
      name: name, labels: labels, taints: pools[p].spec.taints, allocatable: o.type.allocatable)
  }

  /// Whether a pod may run on a node with these labels and the pool's taints: node selector,
  /// required node affinity, taints tolerated.
  private func compatible(_ spec: PodSpec, _ labels: [String: String], pool p: Int) -> Bool {
    guard spec.nodeSelector.allSatisfy({ labels[$0.key] == $0.value }) else { return false }
    if let required = spec.affinity?.required, !required.matches(labels: labels, nodeName: "") {
      return false
    }
    return pools[p].spec.taints.allSatisfy { taint in
      taint.effect == .preferNoSchedule || spec.tolerations.contains { $0.tolerates(taint) }
    }
  }

  struct OpenClaim {
    var pool: Int
    var options: [Offering]
    var cpu: Int64
    var memory: Int64
    var pods: [PodID]
  }

  /// What each pool holds toward its limits: its nodes' and the launching ones' capacity (as
  /// Karpenter sums its NodeClaims' `status.capacity`; a node adopted without an offering
  /// counts its allocatable).
  private func poolUsage() -> [(cpu: Int64, memory: Int64)] {
    pools.indices.map { p in
      var cpu: Int64 = 0
      var memory: Int64 = 0
      for n in pools[p].nodes {
        if let type = offeringOfRow[n]?.type {
          cpu += type.cpuMillis
          memory += type.memoryBytes
        } else {
          cpu += sim.cluster.nodes.allocatableCPU[n]
          memory += sim.cluster.nodes.allocatableMemory[n]
        }
      }
      for c in inFlight where c.pool == p {
        cpu += c.offering.type.cpuMillis
        memory += c.offering.type.memoryBytes
      }
      return (cpu, memory)
    }
  }

  /// Whether the pool's limits leave room for one more node of `o` beside `used` (its nodes
  /// and the launching ones, `poolUsage`) and the claims opened in this batch.
  private func withinLimits(
    _ p: Int, _ o: Offering, used: (cpu: Int64, memory: Int64), opened: [OpenClaim]
  ) -> Bool {
    var cpu = used.cpu + o.type.cpuMillis
    var memory = used.memory + o.type.memoryBytes
    for c in opened where c.pool == p {
      cpu += c.options.map(\.type.cpuMillis).min() ?? 0
      memory += c.options.map(\.type.memoryBytes).min() ?? 0
    }
    return cpu <= (pools[p].spec.cpuLimitMillis ?? .max)
      && memory <= (pools[p].spec.memoryLimitBytes ?? .max)
  }

  private func provision() {
    let pods = pendingPods()
    guard !pods.isEmpty else { return }
    // Nodes still launching join the snapshot as they will register.
    for c in inFlight { snapshot.addNode(from: nodeSpec(c.offering, pool: c.pool, name: "x")) }
    let overhead = pools.map { p -> (cpu: Int64, memory: Int64) in
      let r = sim.daemonSets.podsRequests(
        on: NodeSpec(
          name: "", labels: p.spec.labels, taints: p.spec.taints, allocatable: ResourceAmounts()))
      return (r.cpuMillis, r.memoryBytes)
    }
    var claims: [OpenClaim] = []
    let used = poolUsage()
    let table = sim.cluster.pods
    for pod in pods {
      if let n = snapshot.anyFit(pod) {
        snapshot.place(pod, on: n)
        continue
      }
      let spec = sim.podSpec(pod)
      let cpu = table.requestCPU[pod.index]
      let memory = table.requestMemory[pod.index]
      func fits(_ o: Offering, _ c: Int64, _ m: Int64, _ count: Int, pool p: Int) -> Bool {
        let a = o.type.allocatable
        return a.cpuMillis >= c + overhead[p].cpu && a.memoryBytes >= m + overhead[p].memory
          && a.pods >= Int64(count)
      }
      var placed = false
      for k in claims.indices {
        let c = claims[k]
        let options = c.options.filter {
          compatible(spec, $0.labels, pool: c.pool)
            && fits($0, c.cpu + cpu, c.memory + memory, c.pods.count + 1, pool: c.pool)
        }
        guard !options.isEmpty else { continue }
        claims[k].options = options
        claims[k].cpu += cpu
        claims[k].memory += memory
        claims[k].pods.append(pod)
        placed = true
        break
      }
      if placed { continue }
      for p in pools.indices {
        let options = pools[p].offerings.filter {
          compatible(spec, $0.labels, pool: p) && fits($0, cpu, memory, 1, pool: p)
            && withinLimits(p, $0, used: used[p], opened: claims)
        }
        guard !options.isEmpty else { continue }
        claims.append(OpenClaim(pool: p, options: options, cpu: cpu, memory: memory, pods: [pod]))
        break
      }
    }
    snapshot.revert()
    for c in claims {
      guard
        let o = Offering.cheapest(
          c.options, cpu: c.cpu + overhead[c.pool].cpu, memory: c.memory + overhead[c.pool].memory,
          pods: Int64(c.pods.count))
      else { continue }
      let claim = launch(o, pool: c.pool, replaces: -1)
      for p in c.pods {
        sim.recorder.event(
          pod: p, in: sim, type: .normal, reason: "Nominated",
          message: "Pod should schedule on: nodeclaim/\(claim.name)")
        chains.triggered(
          p, handle: sim.handle(p),
          created: VirtualTime(nanoseconds: table.createdAt[p.index]), now: sim.now,
          origin: Int32(bitPattern: claim.serial),
          decision: sim.horizontalAutoscaling.decision(of: p))
      }
    }
  }

  @discardableResult
  private func launch(
    _ o: Offering, pool p: Int, replaces: Int, reason: String = "Underutilized/Replace"
  ) -> Claim {
    var name: String
    repeat {
      name = "\(pools[p].spec.name)-\(pools[p].nextNumber)"
      pools[p].nextNumber += 1
    } while sim.cluster.nodes.id(named: name) != nil || inFlight.contains { $0.name == name }
    claimSerial &+= 1
    var claim = Claim(
      serial: claimSerial, pool: p, offering: o, name: name, requested: sim.now, replaces: replaces)
    if replaces >= 0 {
      claim.replacesGeneration = rowGeneration[replaces]
      claim.reason = reason
    }
    inFlight.append(claim)
    pools[p].launched += 1
    launchesByType["\(o.type.name)/\(o.capacityType)", default: 0] += 1
    sim.recorder.event(
      kind: "NodeClaim", namespace: "", name: name, type: .normal, reason: "Launched",
      message:
        "Status condition transitioned, Type: Launched, Status: True (\(o.type.name), \(o.capacityType), \(o.zone), \(String(format: "%.4f", o.price))/h)"
    )
    sim.engine.schedule(
      self, after: config.launchDelay.sample(&launchRNG), tag: Tag.register.rawValue,
      payload: UInt64(claimSerial))
    publish(p)
    return claim
  }

  private func register(serial: UInt32) {
    guard let k = inFlight.firstIndex(where: { $0.serial == serial }) else { return }
    let c = inFlight.remove(at: k)
    let row = sim.nodes.add(nodeSpec(c.offering, pool: c.pool, name: c.name))
    adopt(row, pool: c.pool, offering: c.offering)
    claimOfRow[row] = c.serial
    sim.recorder.event(
      kind: "NodeClaim", namespace: "", name: c.name, type: .normal, reason: "Registered",
      message: "Status condition transitioned, Type: Registered, Status: True")
    publish(c.pool)
    if c.replaces >= 0 && rowGeneration[c.replaces] == c.replacesGeneration
      && poolOfRow[c.replaces] >= 0
    {
      replacing.remove(c.replaces)
      beginDeletion(c.replaces, reason: c.reason)
    }
  }

  // MARK: Disruption

  /// Whether node `n`'s pods may be disrupted voluntarily: none annotated do-not-disrupt, and
  /// every budget covering one allows a disruption.
  private func disruptable(_ n: Int) -> Bool {
    for p in sim.cluster.podsOn(NodeID(UInt32(n)))
    where sim.records[p.index].ownerKind != .daemonSet {
      if sim.drainFacts(p).doNotDisrupt { return false }
      for b in 0..<sim.cluster.disruptionBudgets.count where sim.cluster.budget(b, covers: p) {
        if sim.nodes.disruptionsAllowed(b) < 1 { return false }
      }
    }
    return true
  }

  private func movablePods(_ n: Int) -> [PodID] {
    sim.cluster.podsOn(NodeID(UInt32(n))).filter {
      sim.records[$0.index].ownerKind != .daemonSet && !sim.cluster.pods.isTerminating($0)
    }
  }

  private func collectReadiness() {
    chains.collectReadiness { [sim] handle in
      guard let pod = sim.pod(fromHandle: handle) else { return nil }
      let ready = sim.records[pod.index].firstReady
      return .some(ready == PodTable.never ? nil : VirtualTime(nanoseconds: ready))
    }
  }

  private func disrupt() {
    sampleIdle()
    collectReadiness()
    let now = sim.now
    let busy = Set(deleting.map(\.node)).union(replacing)
    // Expiration: forceful, outside the budgets.
    for p in pools.indices {
      guard let expiry = pools[p].spec.expireAfter else { continue }
      for n in pools[p].nodes where !busy.contains(n) && now - launchedAt[n] >= expiry {
        beginDeletion(n, reason: "Expired")
      }
    }
    var budget = pools.indices.map { p -> Int in
      let disrupting =
        deleting.count { poolOfRow[$0.node] == Int32(p) }
        + replacing.count {
          poolOfRow[$0] == Int32(p)
        }
        + pools[p].nodes.count { !sim.nodes.isReady($0) }
      return pools[p].spec.allowedDisruptions(nodes: pools[p].nodes.count, disrupting: disrupting)
    }
    let taken = Set(deleting.map(\.node)).union(replacing)
    // Drift first: empty drifted nodes all go (within the budgets), else one drifted node is
    // replaced or deleted.
    var drifted: [Int] = []
    for p in pools.indices {
      for n in pools[p].nodes where !taken.contains(n) && sim.nodes.isReady(n) && isDrifted(n) {
        drifted.append(n)
      }
    }
    var acted = false
    for n in drifted where movablePods(n).isEmpty {
      let p = Int(poolOfRow[n])
      guard budget[p] > 0 else { continue }
      budget[p] -= 1
      beginDeletion(n, reason: "Drifted")
      acted = true
    }
    guard !acted else { return }
    for n in drifted where budget[Int(poolOfRow[n])] > 0 && disruptable(n) {
      if consolidate(n, excluding: taken, reason: "Drifted") { return }
    }
    // Emptiness.
    for p in pools.indices where pools[p].spec.consolidates {
      for n in pools[p].nodes
      where !taken.contains(n) && budget[p] > 0 && movablePods(n).isEmpty
        && now - lastPodChange[n] >= pools[p].spec.consolidateAfter && sim.nodes.isReady(n)
      {
        budget[p] -= 1
        beginDeletion(n, reason: "Empty")
        acted = true
      }
    }
    guard !acted else { return }
    // Single-node consolidation: the node with the fewest pods first.
    var candidates: [(n: Int, pods: Int)] = []
    for p in pools.indices
    where pools[p].spec.consolidates
      && pools[p].spec.consolidationPolicy == .whenEmptyOrUnderutilized && budget[p] > 0
    {
      for n in pools[p].nodes
      where !taken.contains(n) && sim.nodes.isReady(n)
        && now - lastPodChange[n] >= pools[p].spec.consolidateAfter
      {
        candidates.append((n, movablePods(n).count))
      }
    }
    candidates.sort { $0.pods != $1.pods ? $0.pods < $1.pods : $0.n < $1.n }
    for (n, _) in candidates where disruptable(n) {
      if consolidate(n, excluding: taken, reason: "Underutilized") { return }
    }
  }

  /// Whether node `n` drifted from its pool: the template it was made from changed, or the
  /// pool's requirements no longer admit its labels.
  private func isDrifted(_ n: Int) -> Bool {
    let p = Int(poolOfRow[n])
    guard p >= 0 else { return false }
    if templateOfRow[n] != pools[p].template { return true }
    let labels = sim.cluster.nodes.specs[n].labels
    return !pools[p].spec.requirements.allSatisfy { $0.matches(labelValue: labels[$0.key]) }
  }

  /// A NodePool applied at run time (a scenario action): its nodes drift when the template
  /// changed (labels, taints) or the requirements no longer admit them; limits, weight,
  /// disruption settings and expiry apply from now on.
  /// - Returns: false when no pool has its name (nothing changes).
  func apply(_ spec: NodePoolSpec) -> Bool {
    guard let p = pools.firstIndex(where: { $0.spec.name == spec.name }) else { return false }
    let old = pools[p].spec
    if old.labels != spec.labels || old.taints != spec.taints { pools[p].template &+= 1 }
    pools[p].spec = spec
    pools[p].offerings = Offering.of(pool: spec, catalogue: config.catalogue)
    return true
  }

  /// Deletes or replaces node `n` (consolidation: when that is cheaper; drift: whatever the
  /// price): its pods all fit on the other nodes (delete), or on one new node (replace). Returns
  /// whether it acted. `reason`: Underutilized or Drifted.
  private func consolidate(_ n: Int, excluding taken: Set<Int>, reason: String) -> Bool {
    let drift = reason == "Drifted"
    let pods = movablePods(n)
    var excluded = taken
    excluded.insert(n)
    for p in pods { snapshot.unplace(p) }
    var fitsElsewhere = true
    for p in pods {
      guard
        let dest = snapshot.firstFit(
          p, from: 0,
          accept: { !excluded.contains($0) && self.sim.nodes.isReady($0) })
      else {
        fitsElsewhere = false
        break
      }
      snapshot.place(p, on: dest)
    }
    snapshot.revert()
    if fitsElsewhere {
      beginDeletion(n, reason: drift ? reason : reason + "/Delete")
      return true
    }
    let p = Int(poolOfRow[n])
    guard let current = offeringOfRow[n] else { return false }
    let table = sim.cluster.pods
    var cpu: Int64 = 0
    var memory: Int64 = 0
    for pod in pods {
      cpu += table.requestCPU[pod.index]
      memory += table.requestMemory[pod.index]
    }
    let daemon = sim.daemonSets.podsRequests(on: sim.cluster.nodes.specs[n])
    let options = pools[p].offerings.filter { o in
      pods.allSatisfy { compatible(sim.podSpec($0), o.labels, pool: p) }
    }
    guard
      let cheaper = Offering.cheapest(
        options, cpu: cpu + daemon.cpuMillis, memory: memory + daemon.memoryBytes,
        pods: Int64(pods.count) + daemon.pods),
      drift || cheaper.price < current.price
    else { return false }
    replacing.insert(n)
    let name = sim.cluster.nodes.name(NodeID(UInt32(n)))
    let why = drift ? reason : reason + "/Replace"
    sim.recorder.event(
      kind: "Node", namespace: "", name: name, type: .normal, reason: "DisruptionLaunching",
      message: "Launching NodeClaim: \(why) (\(cheaper.type.name) for \(current.type.name))")
    launch(cheaper, pool: p, replaces: n, reason: why)
    return true
  }

  private func beginDeletion(_ n: Int, reason: String) {
    guard !deleting.contains(where: { $0.node == n }) else { return }
    let p = Int(poolOfRow[n])
    pools[p].disruptions[reason, default: 0] += 1
    sim.nodes.setTaint(n, Self.disruptedTaint, present: true)
    sim.recorder.event(
      kind: "Node", namespace: "", name: sim.cluster.nodes.name(NodeID(UInt32(n))),
      type: .normal, reason: "DisruptionTerminating", message: "Disrupting Node: \(reason)")
    deleting.append(Deletion(node: n, reason: reason))
    if drainTimer == nil || !sim.engine.isPending(drainTimer!) {
      drainTimer = sim.engine.schedule(self, after: .zero, tag: Tag.drain.rawValue)
    }
  }

  /// Evicts the pods of the nodes being disrupted through their budgets, deletes those left
  /// with none, and comes back in 5 s while any remain.
  private func drainStep() {
    var kept: [Deletion] = []
    for d in deleting {
      let pods = movablePods(d.node)
      let waiting = !sim.cluster.podsOn(NodeID(UInt32(d.node))).allSatisfy {
        sim.records[$0.index].ownerKind == .daemonSet
      }
      for p in pods where sim.nodes.evict(p, reason: "Evicted", message: "Evicted pod: \(d.reason)")
      {
        evictions += 1
      }
      if !waiting {
        removeNode(d.node)
      } else {
        kept.append(d)
      }
    }
    deleting = kept
    if !deleting.isEmpty {
      drainTimer = sim.engine.schedule(
        self, after: NodeLifecycle.drainRetry, tag: Tag.drain.rawValue)
    }
  }

  /// The node leaves its pool and the cluster.
  private func removeNode(_ n: Int) {
    let p = Int(poolOfRow[n])
    account(p)
    pools[p].nodes.removeAll { $0 == n }
    poolOfRow[n] = -1
    offeringOfRow[n] = nil
    rowGeneration[n] &+= 1
    replacing.remove(n)
    sim.nodes.remove(n)
    publish(p)
  }

  // MARK: Outputs

  private func sampleIdle() {
    let now = sim.now
    if let last = lastSample { idleMilliSeconds += Double(last.idle) * (now - last.at).seconds }
    let t = sim.cluster.nodes
    var idle: Int64 = 0
    for n in 0..<t.count where !sim.nodes.isRemoved(n) {
      idle += max(0, t.allocatableCPU[n] - t.requestedCPU[n])
    }
    lastSample = (now, idle)
  }

  func finish() {
    sampleIdle()
    collectReadiness()
    for p in pools.indices { account(p) }
  }

  /// Cost, nodes launched and removed, evictions (what `autoscale compare` weighs).
  var outcome: (cost: Double, churn: Int, evictions: Int, chainP90: Double) {
    var cost = 0.0
    var churn = 0
    for p in pools {
      cost += p.cost
      churn += p.launched + p.disruptions.values.reduce(0, +)
    }
    return (cost, churn, evictions, chains.createdToReadyP90)
  }

  func summaryJSON() -> String {
    let json = SimulationOutputs.json
    func number(_ x: Double) -> String { String(format: "%.3f", x) }
    let rows = pools.map { p in
      let disruptions = p.disruptions.sorted { $0.key < $1.key }.map {
        "\(json($0.key)): \($0.value)"
      }.joined(separator: ", ")
      return
        "      {\"name\": \(json(p.spec.name)), \"weight\": \(p.spec.weight), \"nodes\": \(p.nodes.count), \"maxNodes\": \(p.maxNodes), \"launched\": \(p.launched), \"disruptions\": {\(disruptions)}, \"nodeHours\": \(number(p.nodeSeconds / 3600)), \"cost\": \(number(p.cost))}"
    }
    let types = launchesByType.sorted { $0.key < $1.key }.map { "\(json($0.key)): \($0.value)" }
    let cost = pools.reduce(0.0) { $0 + $1.cost }
    let hours = pools.reduce(0.0) { $0 + $1.nodeSeconds } / 3600
    var o = "{\n"
    o += "    \"instanceTypes\": \(json(config.cataloguePath)),\n"
    o += "    \"spotPriceRatio\": \(config.spotPriceRatio),\n"
    o += "    \"nodePools\": [\n" + rows.joined(separator: ",\n") + "\n    ],\n"
    o += "    \"launchesByType\": {" + types.joined(separator: ", ") + "},\n"
    o += "    \"evictions\": \(evictions),\n"
    o += "    \"chain\": \(chains.json),\n"
    o += "    \"agreement\": \(chains.agreementJSON),\n"
    o +=
      "    \"cost\": {\"total\": \(number(cost)), \"nodeHours\": \(number(hours)), \"idleCoreHours\": \(number(idleMilliSeconds / 3_600_000))}\n"
    return o + "  }"
  }

  func violation() -> String? {
    for (k, p) in pools.enumerated() {
      for n in p.nodes where sim.nodes.isRemoved(n) || poolOfRow[n] != Int32(k) {
        return "NodePool \(p.spec.name) lists node row \(n), which is not its node"
      }
    }
    return nil
  }
}
