import BerthCore

extension PluginName {
  public static let gpuShare = PluginName("GPUShare")
}

/// GPUShare (filter, reserve): open-gpu-share's device check. A pod asking for `n` GPUs of
/// `m` milli each fits a node whose GPU model it accepts and which has `n` devices with at least
/// `m` milli left; CPU, memory and the pod count are NodeResourcesFit's. At Reserve it gives no
/// opinion, so a pod takes the default devices (the first free whole GPUs; for a sharing pod
/// the fitting GPU with the least left) unless a policy's score plugin chooses.
final class GPUSharePlugin: FilterPlugin {
  static let descriptor = PluginDescriptor(
    .gpuShare, [.preFilter, .filter, .reserve], events: ClusterEvents(assignedPodDelete: true)
  ) { _ in GPUSharePlugin() }
  let name = PluginName.gpuShare
  static let reason = "node(s) didn't have free GPUs for the pod's GPU request"
  static let reasonModel = "node(s) didn't have the GPU model the pod accepts"
  /// A row's verdict depends on the pod's GPU request and that node's devices alone.
  let verdictsAreNodeLocal = true
  @exclusivity(unchecked) private var pod = GPUPod.none

  func preFilter(_ pod: PodInfo, cluster: Cluster) -> Bool {
    guard cluster.pods.gpuCount[pod.id.index] > 0 else { return false }
    self.pod = GPUPod(pod.id, in: cluster, reusing: self.pod)
    return true
  }

  func filter(
    _ info: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafeMutablePointer<UInt8>,
    code: UInt8
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `status` have a row per
    // node, and each node has `maxPerNode` device slots.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    let n = cluster.nodes
    let count = n.gpuCount.base
    let model = n.gpuModel.base
    let left = n.gpuMilliLeft.base
    for row in rows where status[row] == 0 {
      let g = Int(count[row])
      guard g >= pod.gpuCount, pod.accepts[Int(model[row])] else {
        status[row] = code
        continue
      }
      var fit = 0
      for i in 0..<g where left[row * NodeGPUs.maxPerNode + i] >= pod.milli { fit += 1 }
      if fit < pod.gpuCount { status[row] = code }
    }
  }

  func failureReasons(_ info: PodInfo, cluster: Cluster, node: NodeID) -> [String] {
    let n = cluster.nodes
    if cluster.nodes.gpuCount[node.index] > 0, !pod.accepts[Int(n.gpuModel[node.index])] {
      return [Self.reasonModel]
    }
    return [Self.reason]
  }

  /// Class 1: a node with devices of a model the pod does not accept; 0: too few free devices.
  func classifyRejections(
    _ info: PodInfo, cluster: Cluster, rows: Range<Int>, status: UnsafePointer<UInt8>, code: UInt8,
    into classes: UnsafeMutablePointer<UInt8>
  ) -> Bool {
    let n = cluster.nodes
    return classify(rows: rows, status: status, code: code, into: classes) { i in
      n.gpuCount[i] > 0 && !self.pod.accepts[Int(n.gpuModel[i])]
    }
  }

  func reasons(ofClass c: UInt8, _ info: PodInfo, cluster: Cluster) -> [String] {
    [c == 1 ? Self.reasonModel : Self.reason]
  }

  /// Nodes of a model the pod does not accept and nodes short of devices give different reasons.
  func countReasons(
    _ info: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>, code: UInt8,
    into counts: inout [String: Int]
  ) {
    _ = preFilter(info, cluster: cluster)
    countReasonsByClass(
      info, cluster: cluster, window: window, status: status, code: code, into: &counts)
  }

  /// A node with too few devices or a model the pod does not accept cannot be helped by
  /// evicting pods.
  func isUnresolvable(_ info: PodInfo, cluster: Cluster, node: NodeID) -> Bool {
    let n = cluster.nodes
    return Int(n.gpuCount[node.index]) < pod.gpuCount || !pod.accepts[Int(n.gpuModel[node.index])]
  }
}
