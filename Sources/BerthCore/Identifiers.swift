/// A row of the node table.
///
/// Rows are laid out in the order kube-scheduler's node tree walks them (zones interleaved), so a
/// `NodeID` is also the node's position in the scheduler's iteration order.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let rawValue: UInt32

  @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

  /// The row index, for indexing columns.
  @inlinable public var index: Int { Int(rawValue) }

  @inlinable public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }

  public var description: String { "node#\(rawValue)" }
}

/// A row of the pod table, in arrival order.
public struct PodID: Hashable, Comparable, Sendable, CustomStringConvertible {
  public let rawValue: UInt32

  @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

  @inlinable public var index: Int { Int(rawValue) }

  @inlinable public static func < (lhs: PodID, rhs: PodID) -> Bool { lhs.rawValue < rhs.rawValue }

  public var description: String { "pod#\(rawValue)" }
}
