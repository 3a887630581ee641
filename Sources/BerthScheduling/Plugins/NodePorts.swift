import BerthCore

extension PluginName {
  public static let nodePorts = PluginName("NodePorts")
}

/// NodePorts (filter): a pod's host ports must not collide with ports already claimed on the
/// node. An empty host IP means 0.0.0.0 and an empty protocol TCP; a wildcard claim collides
/// with the same protocol and port on any IP, a specific IP with 0.0.0.0 or itself
/// (`HostPortInfo.CheckConflict`). Only nodes with claimed ports are examined.
final class NodePortsPlugin: FilterPlugin {
  static let descriptor = PluginDescriptor(
    .nodePorts, [.preFilter, .filter], events: ClusterEvents(assignedPodDelete: true)
  ) { _ in NodePortsPlugin() }
  let name = PluginName.nodePorts
  let verdictsFollowFilterShape = true
  static let reason = "node(s) didn't have free ports for the requested pod ports"

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool { !pod.constraints.hostPorts.isEmpty }

  static func conflicts(_ wanted: [ContainerPort], _ used: [ContainerPort]) -> Bool {
    func ip(_ p: ContainerPort) -> String { p.hostIP.isEmpty ? "0.0.0.0" : p.hostIP }
    for w in wanted where w.hostPort > 0 {
      for u in used where u.hostPort == w.hostPort && u.protocol == w.protocol {
        if ip(w) == "0.0.0.0" || ip(u) == "0.0.0.0" || ip(u) == ip(w) { return true }
      }
    }
    return false
  }

  func filter(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let inUse = UnsafePointer(cluster.nodes.hostPortsInUse.base)
    let wanted = pod.constraints.hostPorts
    for i in rows where status[i] == 0 && inUse[i] > 0 {
      if NodePortsPlugin.conflicts(wanted, cluster.nodes.usedHostPorts[i]) { status[i] = code }
    }
  }

  func failureReasons(_ pod: PodInfo, cluster: Cluster, node: NodeID) -> [String] { [Self.reason] }

  func classifyRejections(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool { classify(rows: rows, status: status, code: code, into: classes) }

  func reasons(ofClass c: UInt8, _ pod: PodInfo, cluster: Cluster) -> [String] { [Self.reason] }

  /// Upstream's hint for a deleted pod: it helps only when it held a host port this pod wants
  /// (`isSchedulableAfterPodDeleted`); a new node always may.
  func queueingHint(_ pod: PodInfo, after change: ClusterChange, cluster: Cluster) -> Bool {
    guard case .assignedPodDeleted(let deleted) = change else { return true }
    let freed = cluster.pods.constraints(of: deleted).hostPorts.filter { $0.hostPort > 0 }
    return !freed.isEmpty && NodePortsPlugin.conflicts(pod.constraints.hostPorts, freed)
  }
}
