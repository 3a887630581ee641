/// kube-scheduler's node tree: the order in which a scheduling cycle walks nodes.
///
/// Nodes are grouped by zone key (zones in order of first appearance, nodes in insertion order
/// within a zone) and listed round-robin across zones: the first node of every zone, then the
/// second of every zone, and so on (`nodeTree.list`). The rotating start index walks this list.
/// As upstream: removing a node keeps the order of the rest of its zone, a zone left empty is
/// dropped (added again, it comes last), and a node whose zone key changes leaves its zone and
/// joins the end of the new one. The scheduler's snapshot lists the tree afresh after every
/// addition or removal (`NodeWalk`).
public struct NodeTree: Sendable {
  private var zones: [String] = []
  /// Rows per zone (parallel to `zones`), in insertion order.
  private var members: [[Int32]] = []
  private var zoneIndex: [String: Int] = [:]
  /// The zone of each row, -1 when the row is not in the tree.
  private var zoneOfRow: [Int32] = []
  /// Rows in the tree.
  public private(set) var count = 0

  public init() {}

  /// Whether `row` is in the tree.
  public func contains(row: Int) -> Bool { row < zoneOfRow.count && zoneOfRow[row] >= 0 }

  /// Adds `row` at the end of its zone (a new zone comes last).
  /// - Precondition: the row is not in the tree.
  public mutating func add(row: Int, zoneKey: String) {
    precondition(!contains(row: row), "node row \(row) is in the tree already")
    let z: Int
    if let i = zoneIndex[zoneKey] {
      z = i
    } else {
      z = zones.count
      zones.append(zoneKey)
      members.append([])
      zoneIndex[zoneKey] = z
    }
    members[z].append(Int32(row))
    while zoneOfRow.count <= row { zoneOfRow.append(-1) }
    zoneOfRow[row] = Int32(z)
    count += 1
  }

  /// Removes `row`, keeping the order of the rest of its zone; an emptied zone goes.
  /// - Precondition: the row is in the tree.
  public mutating func remove(row: Int) {
    precondition(contains(row: row), "node row \(row) is not in the tree")
    let z = Int(zoneOfRow[row])
    members[z].remove(at: members[z].firstIndex(of: Int32(row))!)
    zoneOfRow[row] = -1
    count -= 1
    guard members[z].isEmpty else { return }
    zoneIndex[zones[z]] = nil
    zones.remove(at: z)
    members.remove(at: z)
    for later in z..<zones.count {
      zoneIndex[zones[later]] = later
      for r in members[later] { zoneOfRow[Int(r)] = Int32(later) }
    }
  }

  /// Moves `row` to the end of zone `zoneKey` when its zone key changed (upstream's
  /// `updateNode`); nothing otherwise.
  public mutating func update(row: Int, zoneKey: String) {
    guard zones[Int(zoneOfRow[row])] != zoneKey else { return }
    remove(row: row)
    add(row: row, zoneKey: zoneKey)
  }

  /// Each zone's key and rows, zones in tree order (for tests and reports).
  public var zoneLists: [(key: String, rows: [Int])] {
    zip(zones, members).map { ($0, $1.map(Int.init)) }
  }

  /// The rows round-robin across zones (upstream's `list`).
  /// - Complexity: O(count + zones × largest zone).
  public func list() -> [Int32] {
    var order: [Int32] = []
    order.reserveCapacity(count)
    var round = 0
    while order.count < count {
      for list in members where round < list.count { order.append(list[round]) }
      round += 1
    }
    return order
  }

  /// Positions into `zoneKeys` (one per node, in insertion order) in node-tree order.
  ///
  /// Zones `[c, a, b, c, a]` → nodes `[0, 1, 2, 3, 4]` list as `[0, 1, 2, 3, 4]`, while zones
  /// `[a, a, b]` list as `[0, 2, 1]`.
  /// - Complexity: O(n).
  public static func iterationOrder(zoneKeys: [String]) -> [Int] {
    var tree = NodeTree()
    for (i, z) in zoneKeys.enumerated() { tree.add(row: i, zoneKey: z) }
    return tree.list().map(Int.init)
  }
}

/// The node list one snapshot walks: the node tree's rows in order, kept as maximal runs of
/// consecutive rows so a cycle filters and scores whole row ranges. Nodes built in tree order
/// (`Cluster(nodes:)`) and never removed form one run; churn splits the walk into more.
/// Immutable: the cluster makes a new walk after every node addition, removal or zone change.
/// The runs live in a buffer of the walk's own, so iterating them counts no references.
public final class NodeWalk: @unchecked Sendable, Equatable {
  /// Nodes in the walk (upstream's `len(nodeInfoList)`).
  public let count: Int
  /// Rows of the node table when the walk was made (rows not in the walk are free).
  public let rowCount: Int
  /// Runs of consecutive rows (1 for a walk in row order, 0 for an empty one).
  public let runCount: Int
  /// Run k covers positions `starts[k]..<starts[k + 1]` (`runCount + 1` entries), rows from
  /// `firsts[k]` on. Written once in `init`, never after (hence `@unchecked Sendable`).
  @usableFromInline let starts: UnsafeMutablePointer<Int>
  @usableFromInline let firsts: UnsafeMutablePointer<Int>

  /// Walks `order` (distinct rows of a table of `rowCount` rows).
  public init(order: [Int32], rowCount: Int) {
    // SAFETY: both buffers are allocated for every run found (plus the sentinel start) and
    // initialised before use; freed in deinit.
    var startList: [Int] = []
    var rowList: [Int] = []
    for (p, r) in order.enumerated()
    where p == 0 || Int(r) != rowList.last! + (p - startList.last!) {
      startList.append(p)
      rowList.append(Int(r))
    }
    startList.append(order.count)
    count = order.count
    self.rowCount = rowCount
    runCount = rowList.count
    starts = .allocate(capacity: startList.count)
    starts.initialize(from: startList, count: startList.count)
    firsts = .allocate(capacity: max(rowList.count, 1))
    firsts.initialize(from: rowList, count: rowList.count)
  }

  deinit {
    // SAFETY: allocated in init, owned by this walk alone.
    starts.deallocate()
    firsts.deallocate()
  }

  /// Walks `runs` of rows in order (non-empty, ascending, not touching: each its own run).
  public init(rowRuns runs: [Range<Int>], rowCount: Int) {
    // SAFETY: both buffers are allocated for every run (plus the sentinel start) and
    // initialised before use; freed in deinit.
    assert(
      zip(runs, runs.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound }
        && runs.allSatisfy { !$0.isEmpty && $0.upperBound <= rowCount },
      "runs out of order, touching, empty or beyond the rows")
    runCount = runs.count
    self.rowCount = rowCount
    starts = .allocate(capacity: runs.count + 1)
    firsts = .allocate(capacity: max(runs.count, 1))
    var position = 0
    for (k, r) in runs.enumerated() {
      (starts + k).initialize(to: position)
      (firsts + k).initialize(to: r.lowerBound)
      position += r.count
    }
    (starts + runs.count).initialize(to: position)
    count = position
  }

  /// The walk of rows `0..<n` in row order.
  public convenience init(identity n: Int) {
    self.init(order: (0..<Int32(n)).map { $0 }, rowCount: n)
  }

  /// The row at position 0 (0 for an empty walk).
  @inlinable public var firstRow: Int { runCount == 0 ? 0 : firsts[0] }

  /// Whether the walk is rows `0..<rowCount` in order.
  public var isIdentity: Bool { runCount <= 1 && count == rowCount }

  /// The row at walk position `p`.
  public func row(at p: Int) -> Int {
    // SAFETY: `run(containing:)` returns a run index below `runCount`.
    let k = run(containing: p)
    return firsts[k] + (p - starts[k])
  }

  /// The walk position of `row`, nil for a row not in the walk.
  /// - Complexity: O(runs).
  public func position(ofRow row: Int) -> Int? {
    // SAFETY: indices stay below `runCount` (and the sentinel start).
    for k in 0..<runCount where row >= firsts[k] && row - firsts[k] < starts[k + 1] - starts[k] {
      return starts[k] + (row - firsts[k])
    }
    return nil
  }

  /// Rows in walk order.
  public var rows: [Int] { segments(start: 0, length: count).flatMap { Array($0) } }

  /// The index of the run holding position `p` (binary search over run starts).
  @inlinable func run(containing p: Int) -> Int {
    // SAFETY: indices stay in `0..<runCount`.
    if runCount <= 1 { return 0 }
    var lo = 0
    var hi = runCount - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if starts[mid] <= p { lo = mid } else { hi = mid - 1 }
    }
    return lo
  }

  /// The row ranges of positions `start..<start + length`, wrapping past the end, in order.
  /// The iterator reads the walk's buffers: use it while the walk (or a window holding it)
  /// lives.
  /// - Precondition: `start < count` (or `length == 0`) and `length <= count`.
  @inlinable @inline(__always) public func segments(start: Int, length: Int) -> Segments {
    // SAFETY: the iterator reads this walk's buffers, valid while the walk lives.
    Segments(
      starts: starts, firsts: firsts, count: count,
      run: length == 0 ? 0 : run(containing: start), position: start, left: length)
  }

  /// A walk's row ranges over a span of positions, iterable without allocating or counting
  /// references (a cycle iterates its window a dozen times).
  @frozen public struct Segments: Sequence, IteratorProtocol {
    @usableFromInline let starts: UnsafePointer<Int>
    @usableFromInline let firsts: UnsafePointer<Int>
    @usableFromInline let count: Int
    @usableFromInline var run: Int
    /// The position of the next row, and the positions still to cover.
    @usableFromInline var position: Int
    @usableFromInline var left: Int

    @inlinable init(
      starts: UnsafeMutablePointer<Int>, firsts: UnsafeMutablePointer<Int>, count: Int, run: Int,
      position: Int, left: Int
    ) {
      // SAFETY: the walk's own buffers, read while the walk lives (see `segments`).
      self.starts = UnsafePointer(starts)
      self.firsts = UnsafePointer(firsts)
      self.count = count
      self.run = run
      self.position = position
      self.left = left
    }

    /// The walk position of the next segment's first row.
    @inlinable public var nextPosition: Int { position }

    @inlinable public mutating func next() -> Range<Int>? {
      // SAFETY: `run` stays below the walk's run count while positions are left, so
      // `starts[run + 1]` is at most the sentinel.
      // Wrapping arithmetic: positions and rows are below the table size, far from overflow,
      // and trap-free code keeps the loops over the segments in registers.
      guard left > 0 else { return nil }
      let runEnd = starts[run &+ 1]
      let take = Swift.min(runEnd &- position, left)
      let first = firsts[run] &+ (position &- starts[run])
      position &+= take
      left &-= take
      if position == count {
        position = 0
        run = 0
      } else if position == runEnd {
        run &+= 1
      }
      return Range(uncheckedBounds: (first, first &+ take))
    }
  }

  public static func == (a: NodeWalk, b: NodeWalk) -> Bool {
    // SAFETY: each walk's buffers hold `runCount (+ 1)` entries.
    guard a !== b else { return true }
    guard a.count == b.count && a.rowCount == b.rowCount && a.runCount == b.runCount else {
      return false
    }
    return (0..<a.runCount).allSatisfy {
      a.starts[$0] == b.starts[$0] && a.firsts[$0] == b.firsts[$0]
    }
  }
}
