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

/// A deterministic agenda of future events: the earliest first, equal times in the order they
/// were scheduled. The core of the discrete-event loop; no wall-clock time anywhere.
///
/// Inlinable so a client's `Agenda<ItsEvent>` is specialised in its own module: unspecialised, the
/// heap copied entries through generic value witnesses and cost a fifth of a queue run.
public struct Agenda<Event> {
  @usableFromInline struct Entry: Comparable {
    @usableFromInline var time: VirtualTime
    @usableFromInline var sequence: UInt64
    @usableFromInline var index: Int
    @inlinable init(time: VirtualTime, sequence: UInt64, index: Int) {
      self.time = time
      self.sequence = sequence
      self.index = index
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
  @usableFromInline var free: [Int] = []
  @usableFromInline var sequence: UInt64 = 0
  @usableFromInline var current = VirtualTime.zero

  public init() {}

  /// The time of the last event taken; never decreases.
  @inlinable public var now: VirtualTime { current }
  @inlinable public var isEmpty: Bool { heap.isEmpty }
  @inlinable public var count: Int { heap.count }
  /// When the next event is due, if any.
  @inlinable public var nextTime: VirtualTime? { heap.min?.time }

  /// Schedules `event` at `time`.
  /// - Precondition: `time` is not before `now`.
  @inlinable public mutating func schedule(_ event: Event, at time: VirtualTime) {
    precondition(time >= current, "event scheduled in the past (\(time) < \(current))")
    let slot: Int
    if let f = free.popLast() {
      events[f] = event
      slot = f
    } else {
      events.append(event)
      slot = events.count - 1
    }
    heap.insert(Entry(time: time, sequence: sequence, index: slot))
    sequence += 1
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
    current = e.time
    let event = events[e.index]!
    events[e.index] = nil
    free.append(e.index)
    return (e.time, event)
  }
}
