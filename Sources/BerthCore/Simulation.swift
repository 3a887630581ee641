import HeapModule

/// A point in virtual time: nanoseconds since the start of a run. Nothing in a decision ever
/// reads the wall clock; simulated components read this.
public struct VirtualTime: Comparable, Hashable, Sendable, CustomStringConvertible {
  public var nanoseconds: Int64

  @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
  public static let zero = VirtualTime(nanoseconds: 0)
  public static func seconds(_ s: Double) -> VirtualTime {
    VirtualTime(nanoseconds: Int64((s * 1e9).rounded()))
  }
  public static func seconds(_ s: Int64) -> VirtualTime {
    VirtualTime(nanoseconds: s * 1_000_000_000)
  }

  public var seconds: Double { Double(nanoseconds) / 1e9 }
  @inlinable public static func < (a: VirtualTime, b: VirtualTime) -> Bool {
    a.nanoseconds < b.nanoseconds
  }
  @inlinable public static func + (a: VirtualTime, b: VirtualTime) -> VirtualTime {
    VirtualTime(nanoseconds: a.nanoseconds + b.nanoseconds)
  }
  @inlinable public static func - (a: VirtualTime, b: VirtualTime) -> VirtualTime {
    VirtualTime(nanoseconds: a.nanoseconds - b.nanoseconds)
  }

  public var description: String {
    let s = seconds
    return s == s.rounded() ? "\(Int64(s))s" : "\(s)s"
  }
}

/// An event on an agenda, to cancel it: its slot and the slot's generation when it was
/// scheduled (a slot is reused once its event is taken or cancelled, with the next generation,
/// so an old handle never cancels a newer event).
public struct AgendaHandle: Hashable, Sendable {
  public let slot: Int32
  public let generation: UInt32
  @inlinable init(slot: Int32, generation: UInt32) {
    self.slot = slot
    self.generation = generation
  }
  /// Names no event.
  public static let none = AgendaHandle(slot: -1, generation: 0)
}

/// A deterministic agenda of future events: the earliest first, equal times in the order they
/// were scheduled. The core of the discrete-event loop; no wall-clock time anywhere.
///
/// Cancelling is O(1): the event's slot is emptied and its heap entry, now stale (its generation
/// no longer the slot's), is dropped when it reaches the top. The top of the heap is never stale,
/// so `nextTime` needs no cleaning and `count` counts live events only.
///
/// Inlinable so a client's `Agenda<ItsEvent>` is specialised in its own module: unspecialised, the
/// heap copied entries through generic value witnesses and cost a fifth of a queue run.
public struct Agenda<Event> {
  @usableFromInline struct Entry: Comparable {
    @usableFromInline var time: VirtualTime
    @usableFromInline var sequence: UInt64
    @usableFromInline var slot: Int32
    @usableFromInline var generation: UInt32
    @inlinable init(time: VirtualTime, sequence: UInt64, slot: Int32, generation: UInt32) {
      self.time = time
      self.sequence = sequence
      self.slot = slot
      self.generation = generation
    }
    @inlinable static func < (a: Entry, b: Entry) -> Bool {
      (a.time, a.sequence) < (b.time, b.sequence)
    }
    @inlinable static func == (a: Entry, b: Entry) -> Bool {
      a.time == b.time && a.sequence == b.sequence
    }
  }

  @usableFromInline var heap = Heap<Entry>()
  @usableFromInline var events: [Event?] = []
  @usableFromInline var generations: [UInt32] = []
  @usableFromInline var free: [Int32] = []
  @usableFromInline var sequence: UInt64 = 0
  @usableFromInline var current = VirtualTime.zero
  @usableFromInline var live = 0

  public init() {}

  /// The time of the last event taken; never decreases.
  @inlinable public var now: VirtualTime { current }
  @inlinable public var isEmpty: Bool { live == 0 }
  /// Events scheduled and neither taken nor cancelled.
  @inlinable public var count: Int { live }
  /// When the next event is due, if any.
  @inlinable public var nextTime: VirtualTime? { heap.min?.time }

  /// Schedules `event` at `time`.
  /// - Precondition: `time` is not before `now`.
  @inlinable @discardableResult
  public mutating func schedule(_ event: Event, at time: VirtualTime) -> AgendaHandle {
    precondition(time >= current, "event scheduled in the past (\(time) < \(current))")
    let slot: Int32
    if let f = free.popLast() {
      events[Int(f)] = event
      slot = f
    } else {
      precondition(events.count < Int(Int32.max), "more than 2³¹ events pending")
      events.append(event)
      generations.append(0)
      slot = Int32(events.count - 1)
    }
    let generation = generations[Int(slot)]
    heap.insert(Entry(time: time, sequence: sequence, slot: slot, generation: generation))
    sequence += 1
    live += 1
    return AgendaHandle(slot: slot, generation: generation)
  }

  /// Whether the event `handle` names is still pending.
  @inlinable public func isPending(_ handle: AgendaHandle) -> Bool {
    handle.slot >= 0 && Int(handle.slot) < events.count
      && generations[Int(handle.slot)] == handle.generation
      && events[Int(handle.slot)] != nil
  }

  /// The pending event `handle` names, if it is still pending.
  @inlinable public func event(_ handle: AgendaHandle) -> Event? {
    isPending(handle) ? events[Int(handle.slot)] : nil
  }

  /// Cancels the event `handle` names; false when it was already taken or cancelled.
  @inlinable @discardableResult
  public mutating func cancel(_ handle: AgendaHandle) -> Bool {
    guard isPending(handle) else { return false }
    vacate(handle.slot)
    dropStaleTop()
    return true
  }

  /// Moves `now` forward to `time` with no event taken (time passing between events).
  /// - Precondition: no event is due before `time`, and `time` is not before `now`.
  @inlinable public mutating func advance(to time: VirtualTime) {
    precondition(
      time >= current && (heap.min.map { $0.time >= time } ?? true), "advancing past a due event")
    current = time
  }

  /// Takes the earliest event and advances `now` to its time.
  @inlinable public mutating func next() -> (time: VirtualTime, event: Event)? {
    guard let e = heap.popMin() else { return nil }
    assert(generations[Int(e.slot)] == e.generation, "a stale entry at the top of the agenda")
    current = e.time
    let event = events[Int(e.slot)]!
    vacate(e.slot)
    dropStaleTop()
    return (e.time, event)
  }

  @inlinable mutating func vacate(_ slot: Int32) {
    events[Int(slot)] = nil
    generations[Int(slot)] &+= 1
    free.append(slot)
    live -= 1
  }

  /// Pops cancelled entries off the top, keeping the top live.
  @inlinable mutating func dropStaleTop() {
    while let top = heap.min, generations[Int(top.slot)] != top.generation { _ = heap.popMin() }
    assert(live > 0 || heap.isEmpty, "no live event but entries remain")
  }
}
