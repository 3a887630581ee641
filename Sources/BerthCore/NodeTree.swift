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
public final class NodeWalk: Sendable, Equatable {
  /// Nodes in the walk (upstream's `len(nodeInfoList)`).
  public let count: Int
  /// Rows of the node table when the walk was made (rows not in the walk are free).
  public let rowCount: Int
  /// Run k covers positions `runStart[k]..<runStart[k + 1]`, rows from `runRow[k]` on.
  private let runStart: [Int]
  private let runRow: [Int]

  /// Walks `order` (distinct rows of a table of `rowCount` rows).
  public init(order: [Int32], rowCount: Int) {
    count = order.count
    self.rowCount = rowCount
    var starts: [Int] = []
    var rows: [Int] = []
    for (p, r) in order.enumerated() where p == 0 || Int(r) != rows.last! + (p - starts.last!) {
      starts.append(p)
      rows.append(Int(r))
    }
    starts.append(order.count)
    runStart = starts
    runRow = rows
  }

  /// The walk of rows `0..<n` in row order.
  public convenience init(identity n: Int) {
    self.init(order: (0..<Int32(n)).map { $0 }, rowCount: n)
  }

  /// Runs of consecutive rows (1 for a walk in row order).
  public var runCount: Int { runRow.count }

  /// Whether the walk is rows `0..<rowCount` in order.
  public var isIdentity: Bool { runRow.count <= 1 && count == rowCount }

  /// The row at walk position `p`.
  public func row(at p: Int) -> Int {
    let k = run(containing: p)
    return runRow[k] + (p - runStart[k])
  }

  /// Rows in walk order.
  public var rows: [Int] { segments(start: 0, length: count).flatMap { Array($0) } }

  /// The index of the run holding position `p` (binary search over run starts).
  private func run(containing p: Int) -> Int {
    var lo = 0
    var hi = runRow.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if runStart[mid] <= p { lo = mid } else { hi = mid - 1 }
    }
    return lo
  }

  /// The row ranges of positions `start..<start + length`, wrapping past the end, in order.
  /// - Precondition: `start < count` (or `length == 0`) and `length <= count`.
  public func segments(start: Int, length: Int) -> Segments {
    Segments(
      walk: self, run: length == 0 ? 0 : run(containing: start), position: start, left: length)
  }

  /// A walk's row ranges over a span of positions, iterable without allocating.
  public struct Segments: Sequence, IteratorProtocol {
    let walk: NodeWalk
    var run: Int
    /// The position of the next row, and the positions still to cover.
    var position: Int
    var left: Int

    /// The walk position of the next segment's first row.
    public var nextPosition: Int { position }

    public mutating func next() -> Range<Int>? {
      guard left > 0 else { return nil }
      let runEnd = walk.runStart[run + 1]
      let take = Swift.min(runEnd - position, left)
      let first = walk.runRow[run] + (position - walk.runStart[run])
      position += take
      left -= take
      if position == walk.count {
        position = 0
        run = 0
      } else if position == runEnd {
        run += 1
      }
      return first..<(first + take)
    }
  }

  public static func == (a: NodeWalk, b: NodeWalk) -> Bool {
    a === b
      || (a.count == b.count && a.rowCount == b.rowCount && a.runStart == b.runStart
        && a.runRow == b.runRow)
  }
}
