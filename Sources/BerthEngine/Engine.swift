import BerthCore

/// The discrete-event engine: one virtual clock, one agenda, the components and the change feed
/// between them.
///
/// Events are ordered by (time, sequence): equal times run in the order they were scheduled, so
/// a run repeats exactly. After each event the cluster's recorded changes are delivered to the
/// components watching their kind, in the order the components were added. When every event due
/// at the current instant has run, the components `settle` (the scheduling queue runs its cycles
/// there) until none has anything left to do; then the clock moves to the next event.
///
/// A timer is one-shot or periodic, and either keeps the run alive or is a *daemon*: a run
/// without a time limit ends when no non-daemon event is pending and every component is
/// quiescent — a periodic check that finds nothing to do does not keep time running forever.
///
/// Entries are plain values (component index, tag, payload): scheduling an event allocates
/// nothing once the agenda has grown.
public final class Engine {
  @usableFromInline struct Event {
    var component: Int32
    var tag: UInt32
    var payload: UInt64
    /// Index of the periodic timer's record, or -1.
    var periodic: Int32
    var daemon: Bool
  }

  struct Periodic {
    var period: VirtualTime
    var handle: AgendaHandle
    var active: Bool
  }

  public enum Stop: Sendable, Equatable {
    /// Nothing left to happen: no non-daemon event pending, every component quiescent.
    case quiescent
    /// The time limit was reached; events after it remain pending.
    case reachedLimit
  }

  public let cluster: Cluster
  // Usable from inlinable code for `now`, read by components on every change they record.
  @usableFromInline @exclusivity(unchecked) var agenda = Agenda<Event>()
  @exclusivity(unchecked) public private(set) var components: [Component] = []
  @exclusivity(unchecked) var watchers: [(kinds: ClusterChangeKinds, component: Int)] = []
  @exclusivity(unchecked) var periodics: [Periodic] = []
  @exclusivity(unchecked) var freePeriodics: [Int32] = []
  @exclusivity(unchecked) var pendingNonDaemon = 0
  /// Events taken so far.
  @exclusivity(unchecked) public private(set) var eventsRun = 0
  /// Called once per instant, when every event due then ran and every component settled —
  /// the moment nobody is in the middle of anything (a simulation reuses the rows of pods
  /// that are gone there).
  @exclusivity(unchecked) public var afterSettle: (() -> Void)?
  /// Checks `invariants` after every event and settle (tests turn it on).
  public var checksInvariants = false
  /// Called by `checksInvariants` after every step; the cluster's own by default.
  public var invariants: (Engine) -> Void = { $0.cluster.checkInvariants() }

  /// - Parameter cluster: the cluster the components share; from now on it records the kinds of
  ///   change the components watch.
  public init(cluster: Cluster) {
    self.cluster = cluster
  }

  /// The current virtual time.
  @inlinable public var now: VirtualTime { agenda.now }
  /// Events pending, daemon ones included.
  public var pendingEvents: Int { agenda.count }

  /// Adds a component and starts it; components settle and hear changes in the order added.
  public func add(_ component: Component) {
    components.append(component)
    let kinds = component.watches
    if !kinds.isEmpty {
      watchers.append((kinds, components.count - 1))
      cluster.recordedKinds.formUnion(kinds)
    }
    component.start(self)
  }

  func index(of component: Component) -> Int32 {
    guard let k = components.firstIndex(where: { $0 === component }) else {
      preconditionFailure("\(component.name) is not a component of this engine")
    }
    return Int32(k)
  }

  // MARK: Timers

  /// A one-shot timer for `component` at `time`, handed back to its `fire` with `tag` and
  /// `payload`.
  /// - Precondition: `time` is not before `now`; `component` was added.
  @discardableResult
  public func schedule(
    _ component: Component, at time: VirtualTime, tag: UInt32 = 0, payload: UInt64 = 0,
    daemon: Bool = false
  ) -> TimerHandle {
    let e = Event(
      component: index(of: component), tag: tag, payload: payload, periodic: -1, daemon: daemon)
    if !daemon { pendingNonDaemon += 1 }
    return TimerHandle(periodic: -1, event: agenda.schedule(e, at: time))
  }

  /// A one-shot timer `delay` from now.
  @discardableResult
  public func schedule(
    _ component: Component, after delay: VirtualTime, tag: UInt32 = 0, payload: UInt64 = 0,
    daemon: Bool = false
  ) -> TimerHandle {
    precondition(delay >= .zero, "a negative delay")
    return schedule(component, at: now + delay, tag: tag, payload: payload, daemon: daemon)
  }

  /// A timer firing every `period`, first at `first` (default: one period from now), until
  /// cancelled. Periodic checks (a controller's resync, an autoscaler's loop) are daemons by
  /// default: they do not keep a run without a time limit going.
  /// - Precondition: `period` is positive.
  @discardableResult
  public func every(
    _ period: VirtualTime, _ component: Component, first: VirtualTime? = nil, tag: UInt32 = 0,
    payload: UInt64 = 0, daemon: Bool = true
  ) -> TimerHandle {
    precondition(period > .zero, "a periodic timer needs a positive period")
    let k: Int32
    if let f = freePeriodics.popLast() {
      k = f
    } else {
      periodics.append(Periodic(period: period, handle: AgendaHandle.none, active: false))
      k = Int32(periodics.count - 1)
    }
    let e = Event(
      component: index(of: component), tag: tag, payload: payload, periodic: k, daemon: daemon)
    if !daemon { pendingNonDaemon += 1 }
    let h = agenda.schedule(e, at: first ?? now + period)
    periodics[Int(k)] = Periodic(period: period, handle: h, active: true)
    return TimerHandle(periodic: k, event: h)
  }

  /// Cancels a timer (a periodic one for good); false when it had already fired (one-shot) or
  /// was cancelled.
  @discardableResult
  public func cancel(_ timer: TimerHandle) -> Bool {
    if timer.periodic >= 0 {
      let k = Int(timer.periodic)
      guard k < periodics.count, periodics[k].active,
        periodics[k].handle.slot == timer.event.slot
      else { return false }
      let current = periodics[k].handle
      periodics[k].active = false
      freePeriodics.append(timer.periodic)
      return take(current)
    }
    return take(timer.event)
  }

  private func take(_ handle: AgendaHandle) -> Bool {
    guard agenda.isPending(handle) else { return false }
    // The event's daemon flag decides whether it counted as keeping the run alive.
    if let daemon = daemonFlag(handle), !daemon { pendingNonDaemon -= 1 }
    return agenda.cancel(handle)
  }

  private func daemonFlag(_ handle: AgendaHandle) -> Bool? {
    agenda.event(handle)?.daemon
  }

  /// Whether the timer is still to fire.
  public func isPending(_ timer: TimerHandle) -> Bool {
    if timer.periodic >= 0 {
      let k = Int(timer.periodic)
      return k < periodics.count && periodics[k].active
        && periodics[k].handle.slot == timer.event.slot
    }
    return agenda.isPending(timer.event)
  }

  // MARK: Running

  /// Runs until nothing is left to happen, or until `limit` (events at `limit` itself run; the
  /// clock then stands at `limit`).
  @discardableResult
  public func run(until limit: VirtualTime? = nil) -> Stop {
    if let limit { precondition(limit >= now, "a time limit in the past") }
    while true {
      deliverChanges()
      settle()
      afterSettle?()
      if limit == nil && pendingNonDaemon == 0 && components.allSatisfy(\.isQuiescent) {
        return .quiescent
      }
      guard let t = agenda.nextTime else {
        if let limit {
          agenda.advance(to: limit)
          return .reachedLimit
        }
        return .quiescent
      }
      if let limit, t > limit {
        agenda.advance(to: limit)
        return .reachedLimit
      }
      step()
      while agenda.nextTime == t { step() }
    }
  }

  /// Lets `duration` pass for a component busy that long (a scheduling cycle that takes virtual
  /// time): the events due meanwhile run in order, their changes are delivered, nobody settles;
  /// the clock then stands at `now + duration`.
  public func pass(_ duration: VirtualTime) {
    let until = now + duration
    while let t = agenda.nextTime, t <= until { step() }
    agenda.advance(to: until)
  }

  /// Runs the earliest event and delivers the changes it made.
  private func step() {
    guard let (_, e) = agenda.next() else { return }
    eventsRun += 1
    var handle = TimerHandle(periodic: -1, event: AgendaHandle.none)
    if e.periodic >= 0 {
      // Re-armed before it fires, so the component may cancel it from `fire`.
      let k = Int(e.periodic)
      let h = agenda.schedule(e, at: now + periodics[k].period)
      periodics[k].handle = h
      handle = TimerHandle(periodic: e.periodic, event: h)
    } else if !e.daemon {
      pendingNonDaemon -= 1
    }
    components[Int(e.component)].fire(
      Timer(tag: e.tag, payload: e.payload, handle: handle), self)
    deliverChanges()
    if checksInvariants { invariants(self) }
  }

  /// Hands every recorded change to the components watching its kind, in order.
  public func deliverChanges() {
    guard cluster.hasChanges else { return }
    while let change = cluster.nextChange() {
      let kind = change.kind
      for w in watchers where w.kinds.contains(kind) {
        components[w.component].observe(change, self)
      }
    }
  }

  /// Settles the components, in order, until none does anything.
  private func settle() {
    var busy = true
    while busy {
      busy = false
      for c in components where c.settle(self) {
        busy = true
        deliverChanges()
        if checksInvariants { invariants(self) }
      }
    }
  }
}
