import BerthCore
import HeapModule

/// Timing of the scheduling queue; the defaults are kube-scheduler's.
public struct QueueSettings: Sendable, Equatable {
  public var initialBackoff = VirtualTime.seconds(Int64(1))
  public var maxBackoff = VirtualTime.seconds(Int64(10))
  /// `podMaxInUnschedulablePodsDuration`: a pod waiting longer is retried anyway.
  public var maxInUnschedulable = VirtualTime.seconds(Int64(300))
  /// How often unschedulable pods are checked against `maxInUnschedulable`.
  public var unschedulableFlushPeriod = VirtualTime.seconds(Int64(30))
  /// Backoff expirations are truncated to this window; pods in one window sort by priority.
  public var backoffWindow = VirtualTime.seconds(Int64(1))
  /// SchedulerPopFromBackoffQ (on since v1.33): with activeQ empty, the backoffQ head is taken.
  public var popFromBackoffQ = true
  /// Virtual time each scheduling cycle takes. Zero (the default): cycles are instantaneous and a
  /// run costs only its cycles' real time. Set to the real scheduler's cycle time, pods queue
  /// behind each other — pending times include the scheduler's own throughput — and events fall
  /// between cycles (a victim's deletion, a backoff ending) as they would.
  public var cycleDuration = VirtualTime.zero
  /// SchedulerQueueingHints (on by default since v1.32): an event moves an unschedulable pod
  /// only when a plugin that rejected it judges the change may help (`FilterPlugin.queueingHint`);
  /// off, any event a rejecting plugin registers for moves it.
  public var queueingHints = true
  public init() {}
}

/// Cluster events that can make an unschedulable pod schedulable.
public enum ClusterEvent: Sendable, Hashable {
  case nodeAdd
  /// A node deleted (upstream's Node Delete).
  case nodeDelete
  /// A node's spec changed in the given ways (upstream's UpdateNodeAllocatable,
  /// UpdateNodeLabel, UpdateNodeTaint).
  case nodeUpdate(Cluster.NodeChanges)
  case assignedPodAdd
  case assignedPodDelete
  /// A bound pod's requests went down (upstream's UpdatePodScaleDown).
  case assignedPodScaleDown

  /// Whether `plugin` registers for the event (its descriptor's `events`, upstream's
  /// `EventsToRegister` with queueing hints on).
  public func concerns(_ plugin: PluginName) -> Bool {
    plugin.descriptor?.events.contains(self) ?? false
  }
}

extension ClusterChange {
  /// The queue's event for the change (nil for a change no plugin registers for: a pod created
  /// unbound enters the queue, it moves no one).
  public var event: ClusterEvent? {
    switch self {
    case .nodeAdded: return .nodeAdd
    case .nodeDeleted: return .nodeDelete
    case .nodeUpdated(_, _, let changes): return .nodeUpdate(changes)
    case .assignedPodAdded: return .assignedPodAdd
    case .assignedPodDeleted: return .assignedPodDelete
    case .assignedPodScaledDown: return .assignedPodScaleDown
    case .podAdded: return nil
    }
  }
}

extension PluginName {
  public static let schedulingGates = PluginName("SchedulingGates")
  public static let prioritySort = PluginName("PrioritySort")
}

/// kube-scheduler's scheduling queue in virtual time: activeQ ordered by PrioritySort (higher
/// priority, then earlier queue timestamp), backoffQ ordered by backoff expiry (truncated to
/// 1 s windows, then PrioritySort), unschedulable pods waiting for an event or the 5-minute
/// flush, and gated pods. Every tie ends on the order pods entered the queue, so runs repeat.
public final class SchedulingQueue {
  /// PreEnqueue: a pod with scheduling gates waits, gated, until they are removed.
  static let schedulingGates = PluginDescriptor(.schedulingGates, [.preEnqueue])
  /// QueueSort: higher priority first, then the earlier queue timestamp.
  static let prioritySort = PluginDescriptor(.prioritySort, [.queueSort])
  public enum Location: UInt8, Sendable {
    case absent, active, backoff, unschedulable, gated, inFlight, done, deleted
  }

  struct ActiveKey: Comparable {
    var priority: Int32
    var timestamp: VirtualTime
    var sequence: UInt64
    var pod: UInt32
    static func < (a: ActiveKey, b: ActiveKey) -> Bool {
      if a.priority != b.priority { return a.priority > b.priority }
      if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
      return a.sequence < b.sequence
    }
  }

  struct BackoffKey: Comparable {
    var expiration: VirtualTime
    var active: ActiveKey
    static func < (a: BackoffKey, b: BackoffKey) -> Bool {
      a.expiration != b.expiration ? a.expiration < b.expiration : a.active < b.active
    }
  }

  public let settings: QueueSettings
  @exclusivity(unchecked) private var active = Heap<ActiveKey>()
  @exclusivity(unchecked) private var backoff = Heap<BackoffKey>()
  @exclusivity(unchecked) private var sequence: UInt64 = 0
  @exclusivity(unchecked) public private(set) var location: [Location] = []
  /// Scheduling attempts per pod (upstream's `Attempts`, counted at pop).
  @exclusivity(unchecked) public private(set) var attempts: [Int32] = []
  /// When the pod last entered the queue (added, failed, or moved).
  @exclusivity(unchecked) public private(set) var timestamp: [VirtualTime] = []
  /// Bit i: filter plugin i rejected the pod in its last attempt.
  @exclusivity(unchecked) public private(set) var rejectedBy: [UInt64] = []
  @exclusivity(unchecked) private var priorities: [Int32] = []
  /// Pods in unschedulablePods, in no particular order (sorted before use).
  @exclusivity(unchecked) private var unschedulable = Set<UInt32>()
  /// Per filter plugin (bit), how many unschedulable pods it rejected; index 64 counts pods
  /// rejected by no plugin. Lets an event no waiting pod cares about return at once.
  @exclusivity(unchecked) private var rejectedCounts = [Int](repeating: 0, count: 65)
  @exclusivity(unchecked) public private(set) var gatedCount = 0

  public init(settings: QueueSettings = QueueSettings()) { self.settings = settings }

  private func ensure(_ pod: PodID) {
    while location.count <= pod.index {
      location.append(.absent)
      attempts.append(0)
      timestamp.append(.zero)
      rejectedBy.append(0)
      priorities.append(0)
    }
  }

  private func key(_ p: Int) -> ActiveKey {
    sequence += 1
    return ActiveKey(
      priority: priorities[p], timestamp: timestamp[p], sequence: sequence, pod: UInt32(p))
  }

  /// A new pending pod: activeQ, or gated while it has scheduling gates.
  public func add(_ pod: PodID, priority: Int32, gated: Bool, at now: VirtualTime) {
    ensure(pod)
    let p = pod.index
    // `.done`: a released row, bound by the pod that held it before.
    precondition(location[p] == .absent || location[p] == .done, "pod added twice")
    attempts[p] = 0
    rejectedBy[p] = 0
    priorities[p] = priority
    timestamp[p] = now
    if gated {
      location[p] = .gated
      gatedCount += 1
      return
    }
    location[p] = .active
    active.insert(key(p))
  }

  /// The next pod to schedule: activeQ's head, else (popFromBackoffQ) backoffQ's head.
  public func pop() -> PodID? {
    var p: Int
    repeat {
      if let k = active.popMin() {
        p = Int(k.pod)
      } else if settings.popFromBackoffQ, let k = backoff.popMin() {
        p = Int(k.active.pod)
      } else {
        return nil
      }
      // A deleted pod's key is dropped when it surfaces; then nothing refers to the pod.
      if location[p] == .deleted { location[p] = .absent }
    } while location[p] == .absent
    assert(location[p] == .active || location[p] == .backoff, "popped a pod that was not queued")
    location[p] = .inFlight
    attempts[p] += 1
    return PodID(UInt32(p))
  }

  /// A pod that waits in the queue was deleted: it leaves at once (its key in activeQ or
  /// backoffQ is dropped when it surfaces). A pod never queued, or already bound, is ignored.
  public func delete(_ pod: PodID) {
    guard pod.index < location.count else { return }
    let p = pod.index
    switch location[p] {
    case .unschedulable:
      unschedulable.remove(UInt32(p))
      count(rejectedBy[p], by: -1)
      location[p] = .absent
    case .gated:
      gatedCount -= 1
      location[p] = .absent
    case .active, .backoff: location[p] = .deleted
    case .inFlight: preconditionFailure("a pod deleted during its own scheduling cycle")
    case .absent, .done, .deleted: return
    }
  }

  /// Whether a deleted pod's key still waits in activeQ or backoffQ: its row must not hold
  /// another pod before the key surfaces.
  public func holdsKey(ofDeleted pod: PodID) -> Bool {
    pod.index < location.count && location[pod.index] == .deleted
  }

  /// The pod was bound.
  public func done(_ pod: PodID) {
    precondition(location[pod.index] == .inFlight, "only an in-flight pod can be bound")
    location[pod.index] = .done
  }

  /// The backoff a pod has earned: 1 s doubling per attempt, capped at 10 s; none before its
  /// first attempt.
  public func backoffDuration(_ pod: PodID) -> VirtualTime {
    let n = attempts[pod.index]
    if n == 0 { return .zero }
    var d = settings.initialBackoff
    for _ in 1..<Int(n) {
      if d.nanoseconds > settings.maxBackoff.nanoseconds - d.nanoseconds {
        return settings.maxBackoff
      }
      d = d + d
    }
    return d
  }

  /// When the pod's backoff ends, truncated to the ordering window.
  public func backoffExpiration(_ pod: PodID) -> VirtualTime {
    let t = timestamp[pod.index] + backoffDuration(pod)
    let w = settings.backoffWindow.nanoseconds
    return VirtualTime(nanoseconds: t.nanoseconds / w * w)
  }

  /// A failed attempt: the pod waits in unschedulablePods for an event naming one of the
  /// plugins in `rejectedBy` (bit i = filter plugin i; 0 means any event).
  public func addUnschedulable(_ pod: PodID, rejectedBy mask: UInt64, at now: VirtualTime) {
    let p = pod.index
    precondition(location[p] == .inFlight, "only an in-flight pod can fail")
    timestamp[p] = now
    rejectedBy[p] = mask
    location[p] = .unschedulable
    unschedulable.insert(UInt32(p))
    count(mask, by: 1)
  }

  private func count(_ mask: UInt64, by delta: Int) {
    assert(delta == 1 || delta == -1, "a pod is counted in or out once")
    if mask == 0 { rejectedCounts[64] += delta }
    var m = mask
    while m != 0 {
      rejectedCounts[m.trailingZeroBitCount] += delta
      m &= m - 1
    }
  }

  /// Moves the pod to backoffQ if it is still backing off, else to activeQ.
  private func requeue(_ p: Int, at now: VirtualTime) {
    assert(location[p] == .unschedulable, "requeued a pod that was not waiting")
    let removed = unschedulable.remove(UInt32(p))
    assert(removed != nil, "an unschedulable pod missing from its set")
    count(rejectedBy[p], by: -1)
    let pod = PodID(UInt32(p))
    let expiration = backoffExpiration(pod)
    timestamp[p] = now
    if expiration > now {
      location[p] = .backoff
      backoff.insert(BackoffKey(expiration: expiration, active: key(p)))
    } else {
      location[p] = .active
      active.insert(key(p))
    }
  }

  /// `MoveAllToActiveOrBackoffQueue`: unschedulable pods whose rejecting plugins register for
  /// the event move on — with `hint`, only when it says so for one of those plugins
  /// (`isPodWorthRequeuing`: `hint(pod, i)` is filter plugin i's queueing hint). A pod no plugin
  /// rejected moves on any event. `plugins` are the profile's filter plugins, by index.
  /// - Returns: the pods moved, in queue order.
  @discardableResult
  public func move(
    on event: ClusterEvent, plugins: [PluginName], at now: VirtualTime,
    hint: ((PodID, Int) -> Bool)? = nil
  ) -> Int {
    move(
      on: event, registered: plugins.map { $0.descriptor?.events ?? ClusterEvents() }, at: now,
      hint: hint)
  }

  /// `move(on:plugins:at:hint:)` with the plugins' registered events at hand.
  @discardableResult
  public func move(
    on event: ClusterEvent, registered plugins: [ClusterEvents], at now: VirtualTime,
    hint: ((PodID, Int) -> Bool)? = nil
  ) -> Int {
    guard !unschedulable.isEmpty else { return 0 }
    var mask: UInt64 = 0
    for (i, p) in plugins.enumerated() where p.contains(event) { mask |= 1 << UInt64(i) }
    var interested = rejectedCounts[64] > 0
    var m = mask
    while m != 0 && !interested {
      interested = rejectedCounts[m.trailingZeroBitCount] > 0
      m &= m - 1
    }
    guard interested else { return 0 }
    var moving: [Int] = []
    for p in unschedulable {
      let rejecting = rejectedBy[Int(p)]
      if rejecting == 0 {
        moving.append(Int(p))
        continue
      }
      var relevant = rejecting & mask
      guard let hint else {
        if relevant != 0 { moving.append(Int(p)) }
        continue
      }
      while relevant != 0 {
        if hint(PodID(p), relevant.trailingZeroBitCount) {
          moving.append(Int(p))
          break
        }
        relevant &= relevant - 1
      }
    }
    moving.sort { (timestamp[$0], $0) < (timestamp[$1], $1) }
    for p in moving { requeue(p, at: now) }
    return moving.count
  }

  /// The 30-second flush: pods waiting longer than `maxInUnschedulable` are retried; `skip`
  /// may keep a pod waiting (its retry could not change anything) as if it had failed again.
  public func flushUnschedulable(at now: VirtualTime, skip: (PodID) -> Bool) -> Int {
    var due: [Int] = []
    for p in unschedulable where now - timestamp[Int(p)] > settings.maxInUnschedulable {
      due.append(Int(p))
    }
    due.sort { (timestamp[$0], $0) < (timestamp[$1], $1) }
    var moved = 0
    for p in due {
      if skip(PodID(UInt32(p))) {
        attempts[p] += 1
        timestamp[p] = now
      } else {
        requeue(p, at: now)
        moved += 1
      }
    }
    return moved
  }

  /// Pods of backoffQ whose backoff has ended move to activeQ (the 1-second flush).
  public func flushBackoff(at now: VirtualTime) {
    while let k = backoff.min, k.expiration <= now {
      _ = backoff.popMin()
      let p = Int(k.active.pod)
      if location[p] == .deleted { location[p] = .absent }
      guard location[p] == .backoff else { continue }
      location[p] = .active
      active.insert(key(p))
    }
  }

  /// Whether some unschedulable pod satisfies `predicate`.
  public func anyUnschedulable(_ predicate: (PodID) -> Bool) -> Bool {
    unschedulable.contains { predicate(PodID($0)) }
  }

  /// The earliest time a 30-second tick retries an unschedulable pod, if any waits.
  public func nextUnschedulableFlush() -> VirtualTime? {
    guard let oldest = unschedulable.map({ timestamp[Int($0)] }).min() else { return nil }
    let due = oldest + settings.maxInUnschedulable
    let period = settings.unschedulableFlushPeriod.nanoseconds
    // The first tick strictly after the deadline.
    return VirtualTime(nanoseconds: (due.nanoseconds / period + 1) * period)
  }
}
