import BerthCore
import BerthEngine

/// Scheduling through the queue in virtual time: pods arrive, wait in the scheduling queue,
/// are retried on cluster events, after backoff or by the 5-minute flush, and may preempt
/// lower-priority pods, whose graceful deletion frees their node `terminationGracePeriodSeconds`
/// later. Cycles take no virtual time; the clock moves only between events, so a run is as fast
/// as its scheduling cycles and repeats exactly for a seed.
///
/// The run ends when no arrival or deletion is pending, no pod is ready, and every waiting pod
/// was last tried against the current cluster state (a retry would fail the same way).
///
/// A component of an `Engine` (its own, unless one is given): arrivals, deletions and the
/// unschedulable flush are its timers; it hears node and bound-pod changes from the engine's
/// change feed, whoever made them, and runs its cycles when the engine settles an instant.
public final class QueueRun: Component {
  /// Timer tags; the payload is the pod's row.
  enum Tag: UInt32 {
    case arrive, delete, unschedulableFlush
  }

  /// One preemption: who, where, whom, when.
  public struct Preemption: Sendable {
    public var time: VirtualTime
    public var preemptor: PodID
    public var decision: PreemptionDecision
  }

  /// One scheduler per profile, sharing the cluster, the start index and the nominations; a
  /// pod's cycle runs in its profile's (`profileOf`).
  public let schedulers: [Scheduler]
  /// The first profile's scheduler (the only one in a single-profile run).
  public var scheduler: Scheduler { schedulers[0] }
  public let queue: SchedulingQueue
  /// The engine whose clock and agenda the run uses. The engine holds the run (a component);
  /// the run does not hold a joined engine back, or neither would ever be freed.
  // SAFETY: a joined engine is its owner's (a simulation, a scheduling run), which outlives
  // this run's use of it; an engine the run made itself is kept in `ownedEngine`.
  public unowned(unsafe) let engine: Engine
  /// The engine this run made (no engine given): kept alive by the run. The two then refer to
  /// each other and live as long as the process — give an engine to free them.
  private let ownedEngine: Engine?
  /// Per profile, its PostFilter preemption (nil for a profile without DefaultPreemption).
  private let preemption: [DefaultPreemption?]
  /// Per pod, the index of its profile in `schedulers` (nil: every pod runs in the first).
  private let profileOf: ((PodID) -> Int)?
  /// Bumped on every change a scheduling decision can see (bind, delete).
  @exclusivity(unchecked) public private(set) var stateVersion: UInt64 = 0

  @exclusivity(unchecked) private var lastAttemptVersion: [UInt64] = []
  @exclusivity(unchecked) public private(set) var preemptions: [Preemption] = []
  @exclusivity(unchecked) public private(set) var cycles = 0
  /// Deletes a preemption victim (`victim`, for `preemptor`, on `node`) as the API server
  /// would: a simulation's pods terminate gracefully and their owners replace them. Nil: the
  /// victim is removed when its grace period ends.
  @exclusivity(unchecked) public var deleteVictim:
    ((_ victim: PodID, _ preemptor: PodID, _ node: NodeID) -> Void)?
  /// Called before and after every scheduling cycle (for timing, progress, explanations).
  @exclusivity(unchecked) public var beforeCycle: ((PodID) -> Void)?
  @exclusivity(unchecked) public var onCycle:
    ((PodID, ScheduleOutcome, PreemptionDecision?) -> Void)?

  @exclusivity(unchecked) private var flush: TimerHandle?

  /// The filter plugins of all profiles by name, first appearance first: bit i of a rejection
  /// mask in the queue stands for `filterNames[i]`, whichever profile rejected the pod.
  private let filterNames: [PluginName]
  /// The events each of `filterNames` registers for.
  private let filterEvents: [ClusterEvents]
  /// Per profile: for each of its filter plugins, its bit in `filterNames`.
  private let filterBit: [[Int]]
  /// Per profile: the rejection mask of the scheduler's last kept failed pass, by its number.
  private var lastMask: [(pass: UInt64, mask: UInt64)?]
  /// Per profile: for each bit of `filterNames`, the index of that plugin among the profile's
  /// filter plugins, or -1 (the inverse of `filterBit`, for queueing hints).
  private let filterAtBit: [[Int]]

  public convenience init(
    scheduler: Scheduler, seed: UInt64, settings: QueueSettings = QueueSettings(),
    engine: Engine? = nil
  ) {
    self.init(
      schedulers: [scheduler], profileOf: nil, seed: seed, settings: settings, engine: engine)
  }

  /// - Parameters:
  ///   - schedulers: one per profile, made with `Scheduler(…, sharingWith:)` on one cluster.
  ///   - profileOf: each pod's profile (an index into `schedulers`), from its `schedulerName`.
  ///   - engine: the engine to join (its cluster must be the schedulers'); nil makes one.
  public init(
    schedulers: [Scheduler], profileOf: ((PodID) -> Int)?, seed: UInt64,
    settings: QueueSettings = QueueSettings(), engine: Engine? = nil
  ) {
    precondition(!schedulers.isEmpty, "a queue run needs a profile")
    precondition(
      schedulers.allSatisfy { $0.shared === schedulers[0].shared },
      "the profiles' schedulers share their cycle state")
    self.schedulers = schedulers
    self.profileOf = schedulers.count > 1 ? profileOf : nil
    lastMask = schedulers.map { _ in nil }
    var names: [PluginName] = []
    filterBit = schedulers.map { s in
      s.filterPlugins.map { f in
        if let i = names.firstIndex(of: f.name) { return i }
        names.append(f.name)
        return names.count - 1
      }
    }
    precondition(names.count <= 64, "rejection masks hold 64 filter plugins")
    filterNames = names
    filterEvents = names.map { $0.descriptor?.events ?? ClusterEvents() }
    filterAtBit = filterBit.map { bits in
      var local = [Int](repeating: -1, count: names.count)
      for (i, bit) in bits.enumerated() { local[bit] = i }
      return local
    }
    queue = SchedulingQueue(settings: settings)
    // One stream of candidate offsets for all profiles, as for a single profile.
    var first: DefaultPreemption?
    preemption = schedulers.map { s in
      guard s.profile.postFilters.contains(.defaultPreemption) else { return nil }
      let p =
        first.map { DefaultPreemption(scheduler: s, sharingDrawsWith: $0) }
        ?? DefaultPreemption(scheduler: s, seed: seed)
      first = first ?? p
      return p
    }
    let engineGiven = engine
    let engine = engine ?? Engine(cluster: schedulers[0].cluster)
    precondition(engine.cluster === schedulers[0].cluster, "the engine runs another cluster")
    self.engine = engine
    ownedEngine = engineGiven == nil ? engine : nil
    engine.add(self)
  }

  public var name: String { "scheduling-queue" }

  /// The index of the pod's profile in `schedulers`.
  public func profile(of pod: PodID) -> Int {
    guard let profileOf else { return 0 }
    let k = profileOf(pod)
    precondition(schedulers.indices.contains(k), "a pod routed to a profile the run does not have")
    return k
  }

  public var now: VirtualTime { engine.now }
  private var cluster: Cluster { schedulers[0].cluster }

  private func ensure(_ p: Int) {
    while lastAttemptVersion.count <= p {
      lastAttemptVersion.append(UInt64.max)
    }
  }

  /// The pod (already in the cluster, unbound) arrives at `time`.
  public func submit(_ pod: PodID, at time: VirtualTime) {
    ensure(pod.index)
    engine.schedule(self, at: time, tag: Tag.arrive.rawValue, payload: UInt64(pod.rawValue))
  }

  /// The pod (in the cluster, unbound) arrives now, straight into the queue: pods injected
  /// between cycles (a benchmark's churn) are seen by the very next pop.
  public func arriveNow(_ pod: PodID) {
    ensure(pod.index)
    arrive(pod)
  }

  /// Deletes a bound pod now, without a grace period (a benchmark's churn), moving the waiting
  /// pods its departure may help.
  public func deleteNow(_ pod: PodID) {
    precondition(cluster.pods.isBound(pod), "only a bound pod can be deleted at once")
    ensure(pod.index)
    remove(pod)
    engine.deliverChanges()
  }

  /// A pod waiting to be scheduled was deleted: it leaves the queue and any nomination.
  /// Whether the queue still refers to a deleted pod (its key waits to surface): its row must
  /// not be reused yet.
  public func refersTo(deleted pod: PodID) -> Bool { queue.holdsKey(ofDeleted: pod) }

  public func deletePending(_ pod: PodID) {
    precondition(!cluster.pods.isBound(pod), "a bound pod is deleted by unbinding it")
    queue.delete(pod)
    let s = schedulers[profile(of: pod)]
    if s.nominatedNode(of: pod) != nil { s.nominate(pod, to: nil) }
  }

  /// Runs until nothing can change any more.
  public func run() {
    engine.run()
    // A run that ended leaves no flush behind: the next one schedules it afresh, from the
    // waiting pods it then finds.
    if let f = flush {
      engine.cancel(f)
      flush = nil
    }
  }

  // MARK: Component

  public var watches: ClusterChangeKinds {
    [
      .nodeAdded, .nodeUpdated, .nodeDeleted, .assignedPodAdded, .assignedPodDeleted,
      .assignedPodScaledDown,
    ]
  }

  /// Every change a scheduling decision can see bumps the state version and moves the waiting
  /// pods it may help.
  public func observe(_ change: ClusterChange, _ engine: Engine) {
    stateVersion += 1
    if case .nodeDeleted(let node, _) = change {
      // Nominations to a deleted node lapse (upstream finds no such node when the pod comes
      // back); its row may soon hold another node.
      let shared = schedulers[0].shared
      for q in shared.nominatedOnNode[node.index] ?? [] { shared.nominate(q, to: nil) }
    }
    move(after: change)
  }

  /// The instant is settled: pods whose backoff ended join activeQ, and every pod there is
  /// tried (a cycle that takes virtual time lets it pass before the next).
  public func settle(_ engine: Engine) -> Bool {
    var cycled = false
    queue.flushBackoff(at: now)
    while let pod = queue.pop() {
      cycled = true
      cycle(pod)
      if queue.settings.cycleDuration > .zero {
        scheduleFlush()
        engine.pass(queue.settings.cycleDuration)
        queue.flushBackoff(at: now)
      }
    }
    scheduleFlush()
    return cycled
  }

  /// No pod waits that was last tried against an older cluster state.
  public var isQuiescent: Bool {
    !queue.anyUnschedulable({ lastAttemptVersion[$0.index] != stateVersion })
  }

  public func fire(_ timer: Timer, _ engine: Engine) {
    let pod = PodID(UInt32(truncatingIfNeeded: timer.payload))
    switch Tag(rawValue: timer.tag) {
    case .arrive: arrive(pod)
    case .delete: remove(pod)
    case .unschedulableFlush:
      flush = nil
      _ = queue.flushUnschedulable(at: now) { lastAttemptVersion[$0.index] == stateVersion }
    case nil: preconditionFailure("unknown timer \(timer.tag)")
    }
  }

  /// The periodic check of unschedulable pods, while any waits (a daemon: it keeps no run going).
  private func scheduleFlush() {
    guard flush == nil, let t = queue.nextUnschedulableFlush() else { return }
    flush = engine.schedule(self, at: t, tag: Tag.unschedulableFlush.rawValue, daemon: true)
  }

  private func arrive(_ pod: PodID) {
    lastAttemptVersion[pod.index] = UInt64.max  // a released row's pod was tried before
    cluster.pods.set(cluster.pods.createdAt, of: pod, to: now)
    let c = cluster.pods.constraints(of: pod)
    queue.add(
      pod, priority: cluster.pods.priority[pod.index], gated: !c.schedulingGates.isEmpty, at: now)
  }

  /// Deletes the pod; its unbinding reaches the queue through the change feed.
  private func remove(_ pod: PodID) {
    cluster.pods.set(cluster.pods.deletedAt, of: pod, to: now)
    if cluster.pods.isBound(pod) { cluster.unbind(pod) }
  }

  private func cycle(_ pod: PodID) {
    beforeCycle?(pod)
    cycles += 1
    let p = pod.index
    lastAttemptVersion[p] = stateVersion
    var outcome: ScheduleOutcome
    let k = profile(of: pod)
    let scheduler = schedulers[k]
    let nominatedNode = scheduler.nominatedNode(of: pod)
    if let n = nominatedNode, scheduler.check(pod, on: n, withNominatedPods: true) == nil {
      // The nominated node is tried first (with the other pods nominated there of equal or
      // higher priority in place); if it fits, it is taken without scoring.
      cluster.bind(pod, to: n, gpus: scheduler.devices(for: PodInfo(pod, in: cluster), on: n))
      outcome = ScheduleOutcome(
        pod: pod, node: n, evaluatedNodes: 1, feasibleNodes: 1, topScore: nil)
    } else {
      outcome = scheduler.scheduleOne(pod)
    }
    var decision: PreemptionDecision?
    if outcome.node != nil {
      cluster.pods.set(cluster.pods.scheduledAt, of: pod, to: now)
      cluster.pods.conditions[p] |= PodConditions.podScheduled.rawValue
      if nominatedNode != nil { scheduler.nominate(pod, to: nil) }
      queue.done(pod)
      // The binding moves the waiting pods it may help before anyone hears of the cycle.
      engine.deliverChanges()
    } else {
      let mask = rejectionMask(profile: k)
      if let preemption = preemption[k] {
        decision = preemption.preempt(
          pod, nominated: nominatedNode)
      }
      if let d = decision {
        for v in d.victims {
          let grace = VirtualTime.seconds(
            cluster.pods.constraints(of: v).terminationGracePeriodSeconds)
          if let deleteVictim {
            deleteVictim(v, pod, d.node)
            continue
          }
          cluster.pods.set(cluster.pods.deletionDueAt, of: v, to: now + grace)
          engine.schedule(
            self, after: grace, tag: Tag.delete.rawValue, payload: UInt64(v.rawValue))
        }
        let priority = cluster.pods.priority[p]
        for q in scheduler.nominatedOnNode[d.node.index] ?? []
        where cluster.pods.priority[q.index] < priority {
          scheduler.nominate(q, to: nil)
        }
        scheduler.nominate(pod, to: d.node)
        preemptions.append(Preemption(time: now, preemptor: pod, decision: d))
      }
      queue.addUnschedulable(pod, rejectedBy: mask, at: now)
    }
    onCycle?(pod, outcome, decision)
  }

  /// Moves the unschedulable pods `change` may help (queueing hints, unless the settings turn
  /// them off).
  private func move(after change: ClusterChange) {
    guard let event = change.event else { return }
    let hint: ((PodID, Int) -> Bool)? =
      queue.settings.queueingHints
      ? { pod, bit in
        // The pod's own profile's instance of the plugin behind the bit.
        let k = self.profile(of: pod)
        let i = self.filterAtBit[k][bit]
        guard i >= 0 else { return true }
        return self.schedulers[k].filterPlugins[i].queueingHint(
          PodInfo(pod, in: self.cluster), after: change, cluster: self.cluster)
      } : nil
    queue.move(on: event, registered: filterEvents, at: now, hint: hint)
  }

  /// A node's spec changes at the current virtual time (a cordon, a label or taint, a resize):
  /// waiting pods the change may help move on.
  @discardableResult
  public func updateNode(_ node: NodeID, to spec: NodeSpec) -> Cluster.NodeChanges {
    let changes = cluster.updateNode(node, to: spec)
    engine.deliverChanges()
    return changes
  }

  /// A node leaves the cluster at the current virtual time (its pods gone already).
  public func removeNode(_ node: NodeID) {
    cluster.removeNode(node)
    engine.deliverChanges()
  }

  /// A node joins the cluster at the current virtual time: waiting pods it may help move on.
  @discardableResult
  public func addNode(_ node: NodeSpec) -> NodeID {
    let id = cluster.addNode(node)
    engine.deliverChanges()
    return id
  }

  /// Bit `filterBit[k][i]`: filter plugin i of profile k rejected some node in the last cycle
  /// of that profile's scheduler.
  private func rejectionMask(profile k: Int) -> UInt64 {
    let scheduler = schedulers[k]
    let bits = filterBit[k]
    if let i = scheduler.lastRejectingFilter { return 1 << UInt64(bits[i]) }
    // A reused failed pass left the verdicts the mask was computed from.
    let pass = scheduler.lastFailedPass
    if let pass, let kept = lastMask[k], kept.pass == pass { return kept.mask }
    var local: UInt64 = 0
    if let kept = scheduler.lastRejectingFiltersOfKeptPass {
      local = kept
    } else if bits.count <= 61 {
      // Codes 1…61 are filters 0…60; 0 (fits) and 255 (outside the window) fall outside.
      // SAFETY: the last window lies in the node table; the status column has a row per node.
      let st = UnsafePointer(scheduler.status.base)
      var codes: UInt64 = 0
      for seg in scheduler.lastWindow.segments { codes |= Kernels.codeBits(st, seg) }
      local = (codes >> 1) & ((1 << UInt64(bits.count)) - 1)
    } else {
      for seg in scheduler.lastWindow.segments {
        for r in seg {
          let code = scheduler.status[r]
          if code != 0 && code != 255 { local |= 1 << UInt64(min(Int(code) - 1, 63)) }
        }
      }
    }
    var mask: UInt64 = 0
    while local != 0 {
      mask |= 1 << UInt64(bits[local.trailingZeroBitCount])
      local &= local - 1
    }
    if let pass { lastMask[k] = (pass, mask) }
    return mask
  }

  // MARK: Results

  /// Virtual time from creation to binding for every pod the run bound.
  public func pendingTimes() -> [(pod: PodID, wait: VirtualTime)] {
    let pods = cluster.pods
    return (0..<pods.count).compactMap { p in
      let id = PodID(UInt32(p))
      guard let a = pods.time(pods.createdAt, of: id), let b = pods.time(pods.scheduledAt, of: id)
      else { return nil }
      return (id, b - a)
    }
  }

  /// Pods that arrived and were neither bound nor deleted by the end.
  public var stillPending: [PodID] {
    let pods = cluster.pods
    return (0..<pods.count).filter {
      pods.createdAt[$0] != PodTable.never && pods.scheduledAt[$0] == PodTable.never
        && pods.deletedAt[$0] == PodTable.never
    }.map { PodID(UInt32($0)) }
  }
}
