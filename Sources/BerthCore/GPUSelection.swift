/// Which GPUs of a node a pod takes (the Open-Gpu-Share reserve step).
public enum GPUSelection: String, Sendable, CaseIterable {
  /// The fitting GPU with the least milli left (tightest); first index on ties.
  case best
  /// The fitting GPU with the most milli left; first index on ties.
  case worst
  /// Uniform among fitting GPUs (seeded by the caller).
  case random

  /// Whole-GPU pods always take the first `count` fully free GPUs by index
  /// (`AllocateExclusiveGpuId`); sharing pods take the tightest fit.
  /// - Returns: the device mask, or nil when the node cannot host the pod.
  public static func defaultDevices(count: Int, milli: Int16, node: Int, in nodes: NodeTable)
    -> UInt8?
  {
    if count > 1 || milli >= NodeGPUs.milliPerGPU {
      return firstFree(count: count, milli: milli, node: node, in: nodes)
    }
    return choose(.best, milli: milli, node: node, in: nodes, draw: { _ in 0 })
  }

  /// The first `count` GPUs (by index) with at least `milli` left.
  public static func firstFree(count: Int, milli: Int16, node: Int, in nodes: NodeTable) -> UInt8? {
    var mask: UInt8 = 0
    var found = 0
    let base = node * NodeGPUs.maxPerNode
    for slot in 0..<Int(nodes.gpuCount[node])
    where found < count && nodes.gpuMilliLeft[base + slot] >= milli {
      mask |= 1 << UInt8(slot)
      found += 1
    }
    return found == count ? mask : nil
  }

  /// One GPU for a sharing pod, by `method`; `draw(n)` returns a uniform index below n.
  public static func choose(
    _ method: GPUSelection, milli: Int16, node: Int, in nodes: NodeTable, draw: (Int) -> Int
  ) -> UInt8? {
    let base = node * NodeGPUs.maxPerNode
    var chosen = -1
    var fitting = 0
    for slot in 0..<Int(nodes.gpuCount[node]) {
      let left = nodes.gpuMilliLeft[base + slot]
      guard left >= milli else { continue }
      fitting += 1
      switch method {
      case .best: if chosen < 0 || left < nodes.gpuMilliLeft[base + chosen] { chosen = slot }
      case .worst: if chosen < 0 || left > nodes.gpuMilliLeft[base + chosen] { chosen = slot }
      case .random: if draw(fitting) == 0 { chosen = slot }  // reservoir sampling
      }
    }
    return chosen < 0 ? nil : 1 << UInt8(chosen)
  }
}
