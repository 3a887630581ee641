import BerthCore

extension GPUPolicyScores {
  /// GPU packing: CPU-only pods 0; an idle node (every GPU free) max(33 − F, F) with F free
  /// GPUs; otherwise, walking GPUs in ascending milli left and taking the first n that fit:
  /// k > 0 fully free among them → max(50 − k, 33); all shared → max(100 − S/10, 50) with
  /// S = Σ ⌊L·100/1000⌋ over the chosen GPUs.
  static func gpuPacking(left: UnsafePointer<Int16>, count: Int, pod: GPUPod) -> Int64 {
    // SAFETY: `left` holds `count` ≤ maxPerNode devices; the order tuple holds maxPerNode.
    guard pod.gpuCount > 0 else { return 0 }
    var free = 0
    for i in 0..<count where left[i] == NodeGPUs.milliPerGPU { free += 1 }
    if free == count { return Int64(max(33 - free, free)) }
    // Stable ascending order by milli left.
    var order = (0, 1, 2, 3, 4, 5, 6, 7)
    withUnsafeMutableBytes(of: &order) { raw in
      let idx = raw.bindMemory(to: Int.self)
      for i in 1..<count {
        let v = idx[i]
        var j = i
        while j > 0 && left[idx[j - 1]] > left[v] {
          idx[j] = idx[j - 1]
          j -= 1
        }
        idx[j] = v
      }
    }
    var taken = 0
    var fresh = 0
    var s: Int64 = 0
    withUnsafeBytes(of: &order) { raw in
      let idx = raw.bindMemory(to: Int.self)
      for i in 0..<count where taken < pod.gpuCount && left[idx[i]] >= pod.milli {
        taken += 1
        if left[idx[i]] == NodeGPUs.milliPerGPU { fresh += 1 }
        s += Int64(left[idx[i]]) * 100 / 1000
      }
    }
    if fresh > 0 { return Int64(max(50 - fresh, 33)) }
    return max(100 - s / 10, 50)
  }
}

extension PluginName {
  public static let gpuPackingScore = PluginName("GpuPackingScore")
}

extension GPUNodeScorePlugin {
  static let gpuPacking = descriptor(.gpuPackingScore, .gpuPacking)
}
