import BerthCore

/// The FGD paper's scheduling loop over Berth's tables: each pod is filtered (CPU, memory, pod
/// count, GPU count, milli and model), scored by one policy, placed on the best node — ties go to
/// the node with the lowest rank in a seeded permutation, as the simulator's "%04d-" name prefix
/// makes them — and bound to the devices the policy's GPU selection picks. A pod that fits
/// nowhere is dropped.
public final class GPUSharingSimulator {
  public let cluster: Cluster
  public let policy: GPUPolicy
  public let fragmentation: FragmentationModel
  /// `rank[row]`: the node's position in the seeded permutation (lower wins ties).
  let rank: [Int32]
  var rng: SplitMix64

  // Per-node state kept beside the cluster's columns.
  /// GPU Clustering: pods per tag on each node, `GPUTag.count` per row.
  let tags: Column<Int32>
  /// Each node's current fragmentation against the typical pods.
  public private(set) var nodeFragmentation: [Double]
  /// The placed node's fragmentation before the last placement (for running cluster totals).
  public private(set) var nodeFragmentationBefore = 0.0
  /// Bumped whenever a node's state changes; FGD's score cache is keyed by it.
  var version: [UInt32]
  /// FGD score cache, `shapes` entries per node: the version it was computed at (+1), the score
  /// and the chosen device.
  let shapeCount: Int
  var cacheStamp: [UInt32]
  var cacheScore: [Int64]
  var cacheMask: [UInt8]
  var shapeIndex: [Shape: Int] = [:]

  // Scratch, reused every pod.
  var feasible: [Int32] = []
  var scores: [Int64] = []
  var masks: [UInt8] = []

  struct Shape: Hashable {
    var cpu: Int64, count: UInt8, milli: Int16, models: UInt32
  }

  /// - Parameters:
  ///   - rank: a permutation of the node rows.
  ///   - shapes: every pod the run will schedule (to size FGD's cache); pods must be added to
  ///     `cluster` before they are scheduled.
  public init(
    cluster: Cluster, policy: GPUPolicy, typicalPods: [TypicalPod], rank: [Int32], seed: UInt64
  ) {
    precondition(rank.count == cluster.nodes.count)
    self.cluster = cluster
    self.policy = policy
    self.rank = rank
    rng = SplitMix64(seed: seed).split(label: "gpu-sharing.\(policy.rawValue)")
    fragmentation = FragmentationModel(classes: typicalPods, models: cluster.gpuModels)
    let n = cluster.nodes.count
    tags = Column(repeating: 0, count: n * GPUTag.count)
    version = [UInt32](repeating: 0, count: n)
    nodeFragmentation = [Double](repeating: 0, count: n)
    var shapes: [Shape: Int] = [:]
    let pods = cluster.pods
    for p in 0..<pods.count {
      let s = Shape(
        cpu: pods.requestCPU[p], count: pods.gpuCount[p], milli: pods.gpuMilli[p],
        models: pods.gpuModels[p])
      if shapes[s] == nil { shapes[s] = shapes.count }
    }
    shapeIndex = shapes
    shapeCount = max(shapes.count, 1)
    let cacheSize = policy == .fgd ? n * shapeCount : 0
    cacheStamp = [UInt32](repeating: 0, count: cacheSize)
    cacheScore = [Int64](repeating: 0, count: cacheSize)
    cacheMask = [UInt8](repeating: 0, count: cacheSize)
    for row in 0..<n { nodeFragmentation[row] = computeFragmentation(row) }
  }

  func computeFragmentation(_ row: Int) -> Double {
    // SAFETY: `row` is a node row; each node has `maxPerNode` device slots in gpuMilliLeft.
    let nodes = cluster.nodes
    return fragmentation.fragmentation(
      left: UnsafePointer(nodes.gpuMilliLeft.base + row * NodeGPUs.maxPerNode),
      count: Int(nodes.gpuCount[row]),
      cpuLeft: nodes.allocatableCPU[row] - nodes.requestedCPU[row], model: Int(nodes.gpuModel[row]))
  }

  public var totalFragmentation: Double { nodeFragmentation.reduce(0, +) }

  func gpuPod(_ pod: PodID) -> GPUPod {
    let p = pod.index
    let t = cluster.pods
    let models = t.gpuModelSets[t.gpuModels[p]]
    var accepts = [Bool](repeating: models.isEmpty, count: cluster.gpuModels.names.count)
    for m in models where Int(m) < accepts.count { accepts[Int(m)] = true }
    let shape = Shape(
      cpu: t.requestCPU[p], count: t.gpuCount[p], milli: t.gpuMilli[p], models: t.gpuModels[p])
    return GPUPod(
      cpuMillis: t.requestCPU[p], memoryBytes: t.requestMemory[p], gpuCount: Int(t.gpuCount[p]),
      milli: t.gpuMilli[p],
      accepts: accepts, shape: shapeIndex[shape] ?? 0)
  }

  /// Filters every node for `pod` into `feasible` (ascending rows).
  /// - Complexity: O(nodes × GPUs per node).
  func filter(_ pod: GPUPod) {
    // SAFETY: rows run over 0..<nodes.count; every node column has a row per node.
    let n = cluster.nodes
    feasible.removeAll(keepingCapacity: true)
    let cpuA = n.allocatableCPU.base
    let cpuR = n.requestedCPU.base
    let memA = n.allocatableMemory.base
    let memR = n.requestedMemory.base
    let podsA = n.allocatablePods.base
    let podsN = n.podCount.base
    let count = n.gpuCount.base
    let model = n.gpuModel.base
    let left = n.gpuMilliLeft.base
    for row in 0..<n.count {
      if podsN[row] + 1 > podsA[row] { continue }
      if pod.cpuMillis > 0 && pod.cpuMillis > cpuA[row] - cpuR[row] { continue }
      if pod.memoryBytes > 0 && pod.memoryBytes > memA[row] - memR[row] { continue }
      if pod.gpuCount > 0 {
        let g = Int(count[row])
        if g == 0 || !pod.accepts[Int(model[row])] { continue }
        var fit = 0
        for i in 0..<g where left[row * NodeGPUs.maxPerNode + i] >= pod.milli { fit += 1 }
        if fit < pod.gpuCount { continue }
      }
      feasible.append(Int32(row))
    }
  }

  /// Schedules one pod; returns its node, or nil when it fits nowhere (the pod is dropped).
  @discardableResult
  public func schedule(_ pod: PodID) -> NodeID? {
    let g = gpuPod(pod)
    filter(g)
    guard !feasible.isEmpty else { return nil }
    score(g)
    // Highest score; ties to the lowest permutation rank.
    var best = 0
    for k in 1..<feasible.count {
      let a = scores[k]
      let b = scores[best]
      if a > b || (a == b && rank[Int(feasible[k])] < rank[Int(feasible[best])]) { best = k }
    }
    let row = Int(feasible[best])
    var mask: UInt8? = nil
    if g.gpuCount > 0 {
      if !g.isSharing {
        mask = GPUSelection.firstFree(
          count: g.gpuCount, milli: g.milli, node: row, in: cluster.nodes)
      } else {
        switch policy.selection {
        case .policy: mask = masks[best]
        case .first:
          mask = GPUSelection.firstFree(count: 1, milli: g.milli, node: row, in: cluster.nodes)
        case .method(let m):
          mask = GPUSelection.choose(m, milli: g.milli, node: row, in: cluster.nodes) {
            self.rng.nextInt(below: $0)
          }
        }
      }
    }
    cluster.bind(pod, to: NodeID(UInt32(row)), gpus: mask)
    let tag = GPUTag.of(gpuCount: g.gpuCount, milli: g.milli)
    if tag > 0 { tags[row * GPUTag.count + tag] += 1 }
    version[row] &+= 1
    nodeFragmentationBefore = nodeFragmentation[row]
    nodeFragmentation[row] = computeFragmentation(row)
    return NodeID(UInt32(row))
  }

  /// Scores `feasible` into `scores` (and `masks` for FGD).
  func score(_ pod: GPUPod) {
    // SAFETY: rows run over the feasible node rows; every node column has a row per node.
    let n = cluster.nodes
    scores.removeAll(keepingCapacity: true)
    masks.removeAll(keepingCapacity: true)
    let cpuA = n.allocatableCPU.base
    let cpuR = n.requestedCPU.base
    let free = n.gpuMilliFree.base
    switch policy {
    case .random:
      let pick = GPUPolicyScores.randomPick(candidates: feasible.count, rng: &rng)
      for k in feasible.indices { scores.append(k == pick ? 100 : 0) }
    case .firstFit:
      for _ in feasible { scores.append(0) }
    case .dotProduct:
      for r in feasible {
        scores.append(
          GPUPolicyScores.dotProduct(
            cpuLeft: cpuA[Int(r)] - cpuR[Int(r)], gpuFree: free[Int(r)], pod: pod))
      }
    case .bestFit:
      for r in feasible {
        scores.append(
          GPUPolicyScores.bestFit(
            cpuLeft: cpuA[Int(r)] - cpuR[Int(r)], gpuFree: free[Int(r)], pod: pod))
      }
      // The simulator's min-max normalisation; equal scores all become 0.
      let hi = scores.max()!
      let lo = scores.min()!
      for k in scores.indices { scores[k] = hi == lo ? 0 : (scores[k] - lo) * 100 / (hi - lo) }
    case .gpuPacking:
      for r in feasible {
        scores.append(
          GPUPolicyScores.gpuPacking(
            left: UnsafePointer(n.gpuMilliLeft.base + Int(r) * NodeGPUs.maxPerNode),
            count: Int(n.gpuCount[Int(r)]), pod: pod))
      }
    case .gpuClustering:
      let tag = GPUTag.of(gpuCount: pod.gpuCount, milli: pod.milli)
      for r in feasible {
        scores.append(
          GPUPolicyScores.gpuClustering(
            gpuFree: free[Int(r)], tags: UnsafePointer(tags.base + Int(r) * GPUTag.count),
            podTag: tag))
      }
    case .leastAllocated, .mostAllocated:
      for r in feasible {
        let i = Int(r)
        scores.append(
          GPUPolicyScores.resourceAllocation(
            most: policy == .mostAllocated, cpuAlloc: cpuA[i], cpuUsed: cpuR[i],
            memAlloc: n.allocatableMemory[i],
            memUsed: n.requestedMemory[i], pod: pod))
      }
    case .fgd:
      for r in feasible {
        let (s, m) = fgdScore(pod, row: Int(r))
        scores.append(s)
        masks.append(m)
      }
    }
  }

  /// FGD's score and device for one node, from the cache when the node has not changed since
  /// this pod shape was last scored there.
  func fgdScore(_ pod: GPUPod, row: Int) -> (Int64, UInt8) {
    // SAFETY: `row` is a node row; the state tuple and the row's slots hold `maxPerNode` devices.
    let slot = row * shapeCount + pod.shape
    if cacheStamp[slot] == version[row] &+ 1 { return (cacheScore[slot], cacheMask[slot]) }
    let n = cluster.nodes
    let count = Int(n.gpuCount[row])
    let model = Int(n.gpuModel[row])
    let cpuLeft = n.allocatableCPU[row] - n.requestedCPU[row]
    let before = nodeFragmentation[row]
    var state = (Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0))
    var result: (Int64, UInt8) = (0, 0)
    withUnsafeMutableBytes(of: &state) { raw in
      let left = raw.bindMemory(to: Int16.self).baseAddress!
      let base = n.gpuMilliLeft.base + row * NodeGPUs.maxPerNode
      for i in 0..<NodeGPUs.maxPerNode { left[i] = base[i] }
      if pod.isSharing {
        var best: Int64 = 0
        var chosen = -1
        for i in 0..<count where base[i] >= pod.milli {
          left[i] = base[i] - pod.milli
          let after = fragmentation.fragmentation(
            left: left, count: count, cpuLeft: cpuLeft - pod.cpuMillis, model: model)
          left[i] = base[i]
          let s = FragmentationModel.score(before: before, after: after)
          if chosen < 0 || s > best {
            best = s
            chosen = i
          }
        }
        result = (best, chosen < 0 ? 0 : 1 << UInt8(chosen))
      } else {
        // N.Sub(P): CPU, then the first n GPUs in stable ascending milli-left order that fit.
        var mask: UInt8 = 0
        if pod.gpuCount > 0 {
          var need = pod.gpuCount
          var taken: UInt8 = 0
          while need > 0 {
            var pick = -1
            for i in 0..<count where taken & (1 << UInt8(i)) == 0 && left[i] >= pod.milli {
              if pick < 0 || left[i] < left[pick] { pick = i }
            }
            if pick < 0 { break }
            taken |= 1 << UInt8(pick)
            left[pick] -= pod.milli
            need -= 1
          }
          mask =
            GPUSelection.firstFree(count: pod.gpuCount, milli: pod.milli, node: row, in: n) ?? 0
        }
        let after = fragmentation.fragmentation(
          left: left, count: count, cpuLeft: cpuLeft - pod.cpuMillis, model: model)
        result = (FragmentationModel.score(before: before, after: after), mask)
      }
    }
    cacheStamp[slot] = version[row] &+ 1
    cacheScore[slot] = result.0
    cacheMask[slot] = result.1
    return result
  }
}
