import BerthCore

extension PluginName {
  public static let nodeUnschedulable = PluginName("NodeUnschedulable")
  public static let nodeName = PluginName("NodeName")
}

/// NodeUnschedulable (filter): rejects cordoned nodes unless the pod tolerates the
/// `node.kubernetes.io/unschedulable:NoSchedule` taint.
final class NodeUnschedulablePlugin: FilterPlugin {
  static let descriptor = PluginDescriptor(
    .nodeUnschedulable, [.filter], events: ClusterEvents(nodeUpdate: .taints),
    rejectionIsUnresolvable: true
  ) { _ in NodeUnschedulablePlugin() }
  let name = PluginName.nodeUnschedulable
  let verdictsFollowFilterShape = true
  static let reason = "node(s) were unschedulable"

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    cluster.nodes.cordonedCount > 0
      && !pod.constraints.tolerations.tolerate(
        Taint(key: unschedulableTaintKey, effect: .noSchedule))
  }

  /// Reads one node column; writes only its rows.
  let filtersRowsConcurrently = true

  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let cordoned = UnsafePointer(cluster.nodes.unschedulable.base)
    // SAFETY: `rows` lies within the node table, which has as many rows as `status`.
    for i in rows { status[i] = markFailure(status[i], failed: cordoned[i] != 0, code: code) }
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] { [Self.reason] }

  func classifyRejections(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool { classify(rows: rows, status: status, code: code, into: classes) }

  func reasons(ofClass c: UInt8, _ pod: PodInfo, cluster: Cluster) -> [String] { [Self.reason] }

  /// Upstream's hint: a node added schedulable, or updated from cordoned to schedulable.
  func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool {
    switch change {
    case .nodeAdded(let node): return cluster.nodes.unschedulable[node.index] == 0
    case .nodeUpdated(let node, let old, _):
      return old.unschedulable && cluster.nodes.unschedulable[node.index] == 0
    case .assignedPodAdded, .assignedPodDeleted: return true
    case .podAdded, .nodeDeleted, .assignedPodScaledDown: return false
    }
  }
}

/// NodeName (filter): a pod with `spec.nodeName` fits only that node.
final class NodeNamePlugin: FilterPlugin {
  static let descriptor = PluginDescriptor(.nodeName, [.filter], rejectionIsUnresolvable: true) {
    _ in NodeNamePlugin()
  }
  let name = PluginName.nodeName
  let verdictsFollowFilterShape = true
  static let reason = "node(s) didn't match the requested node name"

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool { !pod.constraints.nodeName.isEmpty }

  /// Reads the node names' index; writes only its rows.
  let filtersRowsConcurrently = true

  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let target = cluster.nodes.id(named: pod.constraints.nodeName)?.index ?? -1
    for i in rows { status[i] = markFailure(status[i], failed: i != target, code: code) }
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] { [Self.reason] }

  func classifyRejections(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool { classify(rows: rows, status: status, code: code, into: classes) }

  func reasons(ofClass c: UInt8, _ pod: PodInfo, cluster: Cluster) -> [String] { [Self.reason] }
}
