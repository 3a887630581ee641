import BerthCore

/// Failed passes kept per filter shape: each node's first failing filter and reason class, and
/// the rows per (filter, class), brought up to date through the node journal.
///
/// A Deployment scaled past the cluster sends pods of a few shapes, interleaved, each failing
/// on every node; between two pods of one shape only the nodes that took a pod changed. For
/// filters whose verdicts follow the pod's filter shape and each node's own state
/// (`FilterPlugin.verdictsFollowFilterShape`), the kept pass with those rows filtered again is
/// exactly a new pass — and each changed row moves its count from its old (filter, class) to
/// its new one, so the diagnosis needs no pass either. A row that now fits ends the entry (the
/// cycle filters in full).
///
/// An entry is made when a shape fails for the second time while the nodes' shape is
/// unchanged (clusters of all-different pods make none). When more rows changed than a pass
/// would cost, or a changed row fits, the cycle filters in full and a new failure fills the
/// entry again in place; the least recently used entries make room past the memory budget.
final class FailedPassMemo {
  struct Key: Hashable {
    var shape: FilterShape
    /// Bit i: filter i was active.
    var filters: UInt64
  }

  final class Entry {
    let walk: NodeWalk
    /// Per row: the first failing filter's code (status column values).
    let status: Column<UInt8>
    /// Per row: that filter's reason class (`FilterPlugin.classifyRejections`).
    let classes: Column<UInt8>
    /// Rows per code and class: `counts[code << 8 | class]`.
    var counts: [Int32]
    /// Rows per code.
    var perCode: [Int32]
    /// The node journal's change count the entry is current at.
    var cursor: UInt64
    /// The failed-pass number of the verdicts held (`Scheduler.lastFailedPass`).
    var number: UInt64
    var lastUse: UInt64 = 0
    /// The diagnosis of `number`, once built.
    var diagnosis: Diagnosis?

    init(walk: NodeWalk, rows: Int, codes: Int, cursor: UInt64, number: UInt64) {
      self.walk = walk
      status = Column(repeating: 0, count: rows)
      classes = Column(repeating: 0, count: rows)
      counts = [Int32](repeating: 0, count: codes << 8)
      perCode = [Int32](repeating: 0, count: codes)
      self.cursor = cursor
      self.number = number
    }

    var bytes: Int { status.count * 2 + counts.count * 4 }

    /// Bit i: filter i (code i + 1) rejects some row.
    var rejectingFilters: UInt64 {
      var bits: UInt64 = 0
      for code in 1..<min(perCode.count, 65) where perCode[code] > 0 {
        bits |= 1 << UInt64(code - 1)
      }
      return bits
    }

    /// Moves row `r` from (old code, old class) to its current (code, class) in `counts`.
    /// - Returns: whether anything moved.
    @inline(__always)
    func recount(row r: Int, oldCode: UInt8, oldClass: UInt8) -> Bool {
      let (code, cls) = (status[r], classes[r])
      guard code != oldCode || cls != oldClass else { return false }
      counts[Int(oldCode) << 8 | Int(oldClass)] -= 1
      counts[Int(code) << 8 | Int(cls)] += 1
      perCode[Int(oldCode)] -= 1
      perCode[Int(code)] += 1
      return true
    }
  }

  /// Entries and the shapes that failed once, for one nodes' shape.
  private var entries: [Key: Entry] = [:]
  private var failedOnce: Set<Key> = []
  private var nodeShape: UInt64 = .max
  private var uses: UInt64 = 0
  private var bytes = 0
  /// Memory the entries may hold together.
  let byteBudget: Int

  init(byteBudget: Int = 256 << 20) { self.byteBudget = byteBudget }

  /// Forgets everything when the nodes' shape moved on (a node added, updated or removed).
  func sync(nodeShape version: UInt64) {
    guard version != nodeShape else { return }
    entries.removeAll()
    failedOnce.removeAll()
    bytes = 0
    nodeShape = version
  }

  /// Journal entries a refresh may take instead of a pass over `rows` rows: a row costs about
  /// thirty times what a pass spends on it (each filter called for one row, then its class).
  static func refreshLimit(rows: Int) -> UInt64 {
    UInt64(min(max(rows / 32, 8), NodeTable.journalCapacity))
  }

  func entry(_ key: Key) -> Entry? {
    guard let e = entries[key] else { return nil }
    uses &+= 1
    e.lastUse = uses
    return e
  }

  func drop(_ key: Key) {
    if let e = entries.removeValue(forKey: key) { bytes -= e.bytes }
  }

  /// The entry of `key` without counting a use (to be filled again by a new pass).
  func existing(_ key: Key) -> Entry? { entries[key] }

  /// Whether a failed pass of `key` should be kept: the shape failed before.
  func wantsEntry(_ key: Key) -> Bool {
    if entries[key] != nil || failedOnce.contains(key) { return true }
    if failedOnce.count >= 1 << 16 { failedOnce.removeAll() }
    failedOnce.insert(key)
    return false
  }

  /// Keeps `entry` for `key`, making room by dropping the least recently used.
  func store(_ entry: Entry, for key: Key) {
    if entries[key] === entry {
      uses &+= 1
      entry.lastUse = uses
      return
    }
    drop(key)
    while !entries.isEmpty && bytes + entry.bytes > byteBudget {
      // Cold: one scan per eviction; the oldest use first, ties (none: uses are unique) aside.
      let oldest = entries.min { $0.value.lastUse < $1.value.lastUse }!.key
      drop(oldest)
    }
    uses &+= 1
    entry.lastUse = uses
    entries[key] = entry
    bytes += entry.bytes
  }
}
