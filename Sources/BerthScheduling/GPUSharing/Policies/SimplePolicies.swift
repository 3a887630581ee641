import BerthCore

/// Scores of the policies that need only the node's own columns. Each function scores one node;
/// the simulator calls it in a tight loop over the feasible rows.
enum GPUPolicyScores {
  /// DotProduct (Tetris; `merge` dimensions, `max` normalisation): node vector
  /// [cpuLeft/128000, gpuLeft/8000] · pod vector [cpu/128000, n·m/8000], halved (two
  /// dimensions), score = int(100·(1 − dp)). A larger dot product scores lower, as coded upstream.
  @inline(__always)
  static func dotProduct(cpuLeft: Int64, gpuFree: Int32, pod: GPUPod) -> Int64 {
    if cpuLeft < pod.cpuMillis { return 0 }
    let dot = 0.0 + (Double(cpuLeft) / GPUSpec.maxCPUMilli) * (Double(pod.cpuMillis) / GPUSpec.maxCPUMilli)
      + (Double(gpuFree) / GPUSpec.maxGPUMilli) * (Double(pod.totalMilli) / GPUSpec.maxGPUMilli)
    let score = 1 - dot / 2
    return Int64(100 * score)
  }

  /// BestFit before normalisation: raw = ½·(cpuLeft − cpu)/128000 + ½·(gpuLeft − n·m)/8000,
  /// score = int((1 − raw)·100). The simulator then min-max normalises (`normalizeMinMax`).
  @inline(__always)
  static func bestFit(cpuLeft: Int64, gpuFree: Int32, pod: GPUPod) -> Int64 {
    let raw = 0.5 * Double(cpuLeft - pod.cpuMillis) / GPUSpec.maxCPUMilli
      + 0.5 * Double(Int64(gpuFree) - Int64(pod.totalMilli)) / GPUSpec.maxGPUMilli
    return Int64((1 - raw) * 100)
  }

  /// GPU packing: CPU-only pods 0; an idle node (every GPU free) max(33 − F, F) with F free
  /// GPUs; otherwise, walking GPUs in ascending milli left and taking the first n that fit:
  /// k > 0 fully free among them → max(50 − k, 33); all shared → max(100 − S/10, 50) with
  /// S = Σ ⌊L·100/1000⌋ over the chosen GPUs.
  static func gpuPacking(left: UnsafePointer<Int16>, count: Int, pod: GPUPod) -> Int64 {
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

  /// GPU clustering: base = 25·(8000 − gpuLeft)/8000; +75 when the node holds only pods of
  /// this pod's tag, +50 when it holds that tag among others, +25 when it holds no GPU pod.
  /// CPU-only pods score 0.
  @inline(__always)
  static func gpuClustering(gpuFree: Int32, tags: UnsafePointer<Int32>, podTag: Int) -> Int64 {
    guard podTag > 0 else { return 0 }
    let base = 25 * (GPUSpec.maxGPUMilliInt - Int64(gpuFree)) / GPUSpec.maxGPUMilliInt
    var total: Int32 = 0
    for t in 1..<GPUTag.count { total += tags[t] }
    let mine = tags[podTag]
    if mine > 0 { return base + (mine == total ? 75 : 50) }
    return total == 0 ? base + 25 : base
  }

  /// Upstream NodeResourcesFit LeastAllocated / MostAllocated over CPU and memory (weights 1).
  @inline(__always)
  static func resourceAllocation(most: Bool, cpuAlloc: Int64, cpuUsed: Int64, memAlloc: Int64, memUsed: Int64, pod: GPUPod) -> Int64 {
    @inline(__always) func one(_ alloc: Int64, _ req: Int64) -> Int64 {
      if most { return min(req, alloc) * 100 / alloc }
      return req > alloc ? 0 : (alloc - req) * 100 / alloc
    }
    var sum: Int64 = 0
    var n: Int64 = 0
    if cpuAlloc > 0 {
      sum += one(cpuAlloc, cpuUsed + pod.cpuMillis)
      n += 1
    }
    if memAlloc > 0 {
      sum += one(memAlloc, memUsed + pod.memoryBytes)
      n += 1
    }
    return n == 0 ? 0 : sum / n
  }
}

/// GPU Clustering's pod tags: 0 `no-gpu` (never counted on nodes), 1 `share-gpu`, and
/// n + 1 for `<n>-gpu` whole-GPU pods (n = 1…8).
public enum GPUTag {
  public static let count = 10
  public static func of(gpuCount: Int, milli: Int16) -> Int {
    if gpuCount == 0 { return 0 }
    if gpuCount == 1 && milli < 1000 { return 1 }
    return gpuCount + 1
  }
}
