import BerthCore
import BerthEngine

/// A controller's work queue, as upstream's: an object is queued at most once, objects are
/// reconciled in the order first queued, and one marked again while the queue is worked on
/// waits for the next round.
struct WorkQueue {
  private var items: [Int] = []
  private var queued: [Bool] = []

  var isEmpty: Bool { items.isEmpty }

  /// Whether `i` waits to be reconciled.
  func contains(_ i: Int) -> Bool { i < queued.count && queued[i] }

  mutating func add(_ i: Int) {
    while queued.count <= i { queued.append(false) }
    guard !queued[i] else { return }
    queued[i] = true
    items.append(i)
  }

  /// The objects queued now, in order; each stays marked until `done`.
  mutating func take() -> [Int] {
    defer { items = [] }
    return items
  }

  /// `i` is being reconciled: marking it again queues it anew.
  mutating func done(_ i: Int) { queued[i] = false }
}

/// A controller that syncs the objects its work queue holds: `settle` works the queue through
/// (objects marked again meanwhile wait for the next round, which the engine asks for).
protocol QueuedController: Component {
  var queue: WorkQueue { get set }
  func sync(_ i: Int)
}

extension QueuedController {
  func settle(_ engine: Engine) -> Bool {
    guard !queue.isEmpty else { return false }
    for i in queue.take() {
      queue.done(i)
      sync(i)
    }
    return true
  }
}

/// One pending "sync this object again at" timer: the earliest time asked for wins.
struct Recheck {
  private(set) var handle: TimerHandle?
  private var at = Int64.max

  /// Asks for a timer of `component` carrying `object` at `time` (now if it is past).
  mutating func ask(_ component: Component, _ engine: Engine, object: Int, at time: Int64) {
    if let h = handle {
      guard time < at else { return }
      engine.cancel(h)
    }
    at = max(time, engine.now.nanoseconds)
    handle = engine.schedule(
      component, at: VirtualTime(nanoseconds: at), payload: UInt64(object), daemon: true)
  }

  /// The timer fired.
  mutating func fired() {
    handle = nil
    at = Int64.max
  }

  mutating func cancel(_ engine: Engine) {
    if let h = handle { engine.cancel(h) }
    fired()
  }
}

/// Objects of one kind by namespace and name (lookups only: never iterated, so its order
/// never shows).
struct ObjectIndex {
  private var map: [String: Int] = [:]

  subscript(namespace: String, name: String) -> Int? {
    get { map[namespace + "/" + name] }
    set { map[namespace + "/" + name] = newValue }
  }
}

/// A DaemonSet's or StatefulSet's ControllerRevisions, as far as `rollout undo` needs them:
/// each distinct template (by identity) with a revision number. A template seen before takes
/// the next number again instead of a new entry, as upstream's history dedup does; beyond the
/// default `revisionHistoryLimit` (10) old revisions, the oldest goes.
struct RevisionHistory {
  private(set) var entries: [(revision: Int, identity: Int32, template: Int32)] = []
  static let limit = 10

  /// The template (index into `Simulation.templates`) now in force.
  mutating func record(identity: Int32, template: Int32) {
    let next = (entries.map(\.revision).max() ?? 0) + 1
    if let k = entries.firstIndex(where: { $0.identity == identity }) {
      entries[k].revision = next
    } else {
      entries.append((next, identity, template))
    }
    while entries.count > Self.limit + 1 {
      entries.remove(at: entries.indices.min { entries[$0].revision < entries[$1].revision }!)
    }
  }

  /// `kubectl rollout undo`'s target: the given revision, or (nil) the one before the newest.
  func target(_ revision: Int?) -> (revision: Int, identity: Int32, template: Int32)? {
    if let revision { return entries.first { $0.revision == revision } }
    let sorted = entries.sorted { $0.revision > $1.revision }
    return sorted.count >= 2 ? sorted[1] : nil
  }

  var newest: Int { entries.map(\.revision).max() ?? 0 }
}
