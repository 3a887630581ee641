/// A change to the cluster, as an informer would deliver it: what changed and which row.
///
/// The cluster records the kinds of change in `Cluster.recordedKinds` (an engine sets them to
/// what its components watch); the engine hands them to the components that watch their kind,
/// so a controller that adds a node or binds a pod never has to tell the scheduling queue itself.
public enum ClusterChange: Sendable, Equatable {
  case nodeAdded(NodeID)
  /// A node's spec changed; `old` is its spec before (the node's row holds the new one).
  /// Indirect, so the old spec is boxed: a change is then two words, cheap to record and hand
  /// on (unboxed, every change copied a whole NodeSpec, +7 % instructions on a queue run).
  indirect case nodeUpdated(NodeID, old: NodeSpec, changes: Cluster.NodeChanges)
  /// A node was deleted; `old` is its spec (its row is empty now, and may be taken by a node
  /// added later).
  indirect case nodeDeleted(NodeID, old: NodeSpec)
  /// A pod was created (unbound).
  case podAdded(PodID)
  /// A pod bound to a node.
  case assignedPodAdded(PodID)
  /// A bound pod deleted (its row still holds its spec; it is unbound already).
  case assignedPodDeleted(PodID)
  /// A bound pod's requests went down (an in-place resize, upstream's UpdatePodScaleDown); the
  /// row holds the new requests, `oldCPU`/`oldMemory` the previous ones.
  case assignedPodScaledDown(PodID, oldCPU: Int64, oldMemory: Int64)

  /// The kind, for routing.
  public var kind: ClusterChangeKinds {
    switch self {
    case .nodeAdded: return .nodeAdded
    case .nodeUpdated: return .nodeUpdated
    case .nodeDeleted: return .nodeDeleted
    case .podAdded: return .podAdded
    case .assignedPodAdded: return .assignedPodAdded
    case .assignedPodDeleted: return .assignedPodDeleted
    case .assignedPodScaledDown: return .assignedPodScaledDown
    }
  }
}

/// Kinds of `ClusterChange`, as a set: what a component watches.
public struct ClusterChangeKinds: OptionSet, Sendable, Hashable {
  public let rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }
  public static let nodeAdded = ClusterChangeKinds(rawValue: 1)
  public static let nodeUpdated = ClusterChangeKinds(rawValue: 2)
  public static let podAdded = ClusterChangeKinds(rawValue: 4)
  public static let assignedPodAdded = ClusterChangeKinds(rawValue: 8)
  public static let assignedPodDeleted = ClusterChangeKinds(rawValue: 16)
  public static let nodeDeleted = ClusterChangeKinds(rawValue: 32)
  public static let assignedPodScaledDown = ClusterChangeKinds(rawValue: 64)
  public static let all: ClusterChangeKinds = [
    .nodeAdded, .nodeUpdated, .podAdded, .assignedPodAdded, .assignedPodDeleted, .nodeDeleted,
    .assignedPodScaledDown,
  ]
}

extension Cluster {
  /// Runs `body` — a what-if that mutates the cluster and restores it (a scheduling cycle
  /// trying nominated pods in place, preemption removing and re-adding victims) — without
  /// recording its mutations as changes: nothing happened as far as anyone watching knows.
  /// - Precondition: `body` leaves the cluster as it found it.
  public func whatIf<R>(_ body: () throws -> R) rethrows -> R {
    whatIfDepth += 1
    defer { whatIfDepth -= 1 }
    return try body()
  }

  /// The next recorded change not yet taken, in the order they happened.
  @inlinable public func nextChange() -> ClusterChange? {
    guard changeCursor < recordedCount else {
      // Everything taken: start over at the front (the buffer keeps its size, nothing is freed).
      changeCursor = 0
      recordedCount = 0
      return nil
    }
    defer { changeCursor += 1 }
    return recordedChanges[changeCursor]
  }

  /// Whether changes are waiting to be taken.
  @inlinable public var hasChanges: Bool { changeCursor < recordedCount }

  @inline(__always) func record(
    _ kind: ClusterChangeKinds, _ change: @autoclosure () -> ClusterChange
  ) {
    guard whatIfDepth == 0 && recordedKinds.contains(kind) else { return }
    if recordedCount < recordedChanges.count {
      recordedChanges[recordedCount] = change()
    } else {
      recordedChanges.append(change())
    }
    recordedCount += 1
  }
}
