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

/// Objects of one kind by namespace and name (lookups only: never iterated, so its order
/// never shows).
struct ObjectIndex {
  private var map: [String: Int] = [:]

  subscript(namespace: String, name: String) -> Int? {
    get { map[namespace + "/" + name] }
    set { map[namespace + "/" + name] = newValue }
  }
}
