/// kube-scheduler's node tree: the order in which a scheduling cycle walks nodes.
///
/// Nodes are grouped by zone key (zones in order of first appearance, nodes in insertion order
/// within a zone) and listed round-robin across zones: the first node of every zone, then the
/// second of every zone, and so on (`nodeTree.list`). The rotating start index walks this list.
public enum NodeTree {
  /// Positions into `zoneKeys` (one per node, in insertion order) in node-tree order.
  ///
  /// Zones `[c, a, b, c, a]` → nodes `[0, 1, 2, 3, 4]` list as `[0, 1, 2, 3, 4]`, while zones
  /// `[a, a, b]` list as `[0, 2, 1]`.
  /// - Complexity: O(n).
  public static func iterationOrder(zoneKeys: [String]) -> [Int] {
    var zoneOrder: [String] = []
    var members: [String: [Int]] = [:]
    for (i, z) in zoneKeys.enumerated() {
      if members[z] == nil { zoneOrder.append(z) }
      members[z, default: []].append(i)
    }
    let lists = zoneOrder.map { members[$0]! }
    var order: [Int] = []
    order.reserveCapacity(zoneKeys.count)
    var round = 0
    while order.count < zoneKeys.count {
      for list in lists where round < list.count { order.append(list[round]) }
      round += 1
    }
    return order
  }
}
