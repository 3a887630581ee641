import BerthCore
import BerthEngine

#if canImport(Glibc)
  import Glibc
#else
  import Darwin
#endif

/// One kube-scheduler over a cluster: the one driver `berth schedule`, `berth bench` and
/// `berth simulate` run scheduling cycles through. It makes a scheduler per profile, sharing
/// their cycle state (start index, tie-breaking draws, nominations) as one kube-scheduler's
/// profiles do, and runs cycles either through the scheduling queue in virtual time (`queued`)
/// or one attempt per pod in the caller's order (`direct`). Every cycle is timed in wall-clock
/// nanoseconds and reported to `onCycle` — for reports only: no model reads the wall clock.
public final class SchedulingRun {
  public enum Mode {
    /// kube-scheduler's queue (retries on events, backoff, flush, preemption); `engine` is the
    /// engine to join (nil makes one), `seed` the queue's own (preemption draws).
    case queued(QueueSettings, seed: UInt64, engine: Engine? = nil)
    /// One attempt per pod, in the order the caller asks.
    case direct
  }

  public let cluster: Cluster
  /// One per profile, in the configuration's order.
  public let schedulers: [Scheduler]
  /// The queue of a queued run.
  public let queue: QueueRun?
  /// The engine a queued run made for itself (none given).
  private let ownedEngine: Engine?
  /// Per cycle: the pod, its outcome (the pod is bound when it found a node), the preemption
  /// decision of a queued run's failed cycle, and the cycle's wall-clock nanoseconds.
  // Unchecked: read and written once or twice per cycle, a dynamic exclusivity check each.
  @exclusivity(unchecked) public var onCycle:
    ((PodID, ScheduleOutcome, PreemptionDecision?, UInt64) -> Void)?
  /// Cycles run so far.
  @exclusivity(unchecked) public private(set) var cycles = 0
  /// The wall-clock nanoseconds of the latest cycle, and when it ended (`nanoseconds()`).
  @exclusivity(unchecked) public private(set) var lastCycleNanos: UInt64 = 0
  @exclusivity(unchecked) public private(set) var lastCycleEnd: UInt64 = 0
  private let profileOf: ((PodID) -> Int)?
  @exclusivity(unchecked) private var cycleStart: UInt64 = 0

  /// - Parameters:
  ///   - profiles: at least one; pods go to `profileOf(pod)` (an index), else the first.
  ///   - seed: the schedulers' (tie-breaking draws and plugins' streams).
  public init(
    cluster: Cluster, profiles: [Profile], seed: UInt64, tieBreak: TieBreak = .uniform,
    profileOf: ((PodID) -> Int)? = nil, mode: Mode
  ) {
    precondition(!profiles.isEmpty, "a scheduling run needs a profile")
    self.cluster = cluster
    var schedulers: [Scheduler] = []
    for profile in profiles {
      schedulers.append(
        Scheduler(
          cluster: cluster, profile: profile, seed: seed, tieBreak: tieBreak,
          sharingWith: schedulers.first))
    }
    self.schedulers = schedulers
    self.profileOf = schedulers.count > 1 ? profileOf : nil
    switch mode {
    case .direct:
      queue = nil
      ownedEngine = nil
    case .queued(let settings, let queueSeed, let engine):
      // The run keeps an engine it makes; the queue only joins it (no cycle through the
      // engine's components).
      let joined = engine ?? Engine(cluster: cluster)
      ownedEngine = engine == nil ? joined : nil
      let q = QueueRun(
        schedulers: schedulers, profileOf: self.profileOf, seed: queueSeed, settings: settings,
        engine: joined)
      queue = q
      // SAFETY: the queue is this run's and does not outlive it.
      q.beforeCycle = { [unowned(unsafe) self] _ in self.cycleStart = Self.nanoseconds() }
      q.onCycle = { [unowned(unsafe) self] pod, outcome, decision in
        let end = Self.nanoseconds()
        let nanos = end &- self.cycleStart
        self.cycles += 1
        self.lastCycleNanos = nanos
        self.lastCycleEnd = end
        self.onCycle?(pod, outcome, decision, nanos)
      }
    }
  }

  /// The scheduler of `pod`'s profile.
  @inline(__always) public func scheduler(of pod: PodID) -> Scheduler {
    guard let profileOf else { return schedulers[0] }
    return schedulers[profileOf(pod)]
  }

  /// A direct run's cycle for `pod`; with `bind: false` the caller binds (`bind(_:to:)`) after
  /// looking at the scheduler's state, or not at all.
  @discardableResult
  public func attempt(_ pod: PodID, bind: Bool = true) -> ScheduleOutcome {
    precondition(queue == nil, "a queued run schedules through its queue")
    let scheduler = scheduler(of: pod)
    let t0 = Self.nanoseconds()
    let outcome = scheduler.scheduleOne(pod, bind: bind)
    let end = Self.nanoseconds()
    let nanos = end &- t0
    cycles += 1
    lastCycleNanos = nanos
    lastCycleEnd = end
    onCycle?(pod, outcome, nil, nanos)
    return outcome
  }

  /// Binds `pod` to `node` with the GPU devices its profile's Reserve plugins choose.
  public func bind(_ pod: PodID, to node: NodeID) {
    cluster.bind(
      pod, to: node, gpus: scheduler(of: pod).devices(for: PodInfo(pod, in: cluster), on: node))
  }

  /// A queued run: `pod` enters the queue at virtual time `time`.
  public func submit(_ pod: PodID, at time: VirtualTime) {
    guard let queue else { preconditionFailure("a direct run has no queue") }
    queue.submit(pod, at: time)
  }

  /// A queued run: runs virtual time until nothing is left to do.
  public func run() {
    guard let queue else { preconditionFailure("a direct run has no queue") }
    queue.run()
  }

  /// Monotonic wall-clock nanoseconds, read without `Duration` arithmetic.
  public static func nanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }
}
