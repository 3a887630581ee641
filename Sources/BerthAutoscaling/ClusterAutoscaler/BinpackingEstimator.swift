import BerthCore

/// Pending pods of one controller and spec (upstream's `PodEquivalenceGroup`): the estimator
/// and the template checks treat them as one.
public struct PodEquivalenceGroup: Sendable, Equatable {
  public var pods: [PodID]
  /// The exemplar's containers' CPU and memory requests (init containers and overhead left
  /// out, as upstream's `DecreasingPodOrderer` sums them).
  public var cpuMillis: Int64
  public var memoryBytes: Int64

  public init(pods: [PodID], cpuMillis: Int64, memoryBytes: Int64) {
    self.pods = pods
    self.cpuMillis = cpuMillis
    self.memoryBytes = memoryBytes
  }
}

/// What a binpacking estimate found.
public struct Estimate: Sendable, Equatable {
  /// New nodes that took at least one pod.
  public var nodeCount: Int
  /// The pods placed, in the order they were placed.
  public var pods: [PodID]
  /// For each of `pods`, which new node (0-based, in the order added) took it.
  public var nodeOfPod: [Int]
}

/// The Cluster Autoscaler's binpacking estimator (`estimator/binpacking_estimator.go`):
/// first-fit decreasing onto fresh copies of a node group's template, with the scheduler's
/// filters deciding what fits.
public enum BinpackingEstimator {
  /// `DecreasingPodOrderer`: groups by cpu/templateCPU + memory/templateMemory, largest first.
  /// Upstream's `sort.Slice` leaves equal scores in no fixed order; here they keep their order.
  public static func order(_ groups: [PodEquivalenceGroup], template: NodeSpec)
    -> [PodEquivalenceGroup]
  {
    let cpu = template.allocatable.cpuMillis
    let memory = template.allocatable.memoryBytes
    func score(_ g: PodEquivalenceGroup) -> Double {
      var s = 0.0
      if cpu > 0 { s += Double(g.cpuMillis) / Double(cpu) }
      if memory > 0 { s += Double(g.memoryBytes) / Double(memory) }
      return s
    }
    let scored = groups.enumerated().map { (score($0.element), $0.offset, $0.element) }
    return scored.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }.map(\.2)
  }

  /// Estimates how many nodes of `template` the groups need, adding at most `maxNodes`
  /// (the limiter: the group's room, `--max-nodes-per-scaleup`, cluster limits). For each pod
  /// in order: the new nodes so far, first fit; otherwise the last node added (once none fits
  /// there, a further new node), stopping when the last node added is still empty (a fresh
  /// node would not take the pod either) or the limiter says no. The snapshot is left as
  /// found.
  public static func estimate(
    _ groups: [PodEquivalenceGroup], template: NodeSpec, maxNodes: Int,
    snapshot: SchedulingSnapshot
  ) -> Estimate {
    let mark = snapshot.mark
    defer { snapshot.revert(to: mark) }
    var newNodes: [NodeID] = []
    var withPods: [Bool] = []
    var placed: [PodID] = []
    var nodeOf: [Int] = []
    func put(_ pod: PodID, _ k: Int) {
      snapshot.place(pod, on: newNodes[k])
      withPods[k] = true
      placed.append(pod)
      nodeOf.append(k)
    }
    for group in order(groups, template: template) {
      var index = 0
      // On the nodes added so far.
      existing: while index < group.pods.count {
        let pod = group.pods[index]
        for k in newNodes.indices where snapshot.fits(pod, on: newNodes[k]) {
          put(pod, k)
          index += 1
          continue existing
        }
        break
      }
      // On new nodes.
      for pod in group.pods[index...] {
        if let last = newNodes.indices.last, snapshot.fits(pod, on: newNodes[last]) {
          put(pod, last)
          continue
        }
        if let last = newNodes.indices.last, !withPods[last] { break }
        guard newNodes.count < maxNodes else { break }
        newNodes.append(snapshot.addNode(from: template))
        withPods.append(false)
        guard snapshot.fits(pod, on: newNodes[newNodes.count - 1]) else { break }
        put(pod, newNodes.count - 1)
      }
    }
    return Estimate(nodeCount: withPods.count { $0 }, pods: placed, nodeOfPod: nodeOf)
  }
}
