import BerthCore
import BerthScheduling
import BerthTraces
import Foundation

/// The FGD paper's experiment protocol (`../docs/experiments.md`): for a workload, a policy and
/// a seed, permute the nodes (tie order) and shuffle the pods with the seed, inflate or deflate
/// the workload to `tune` × the cluster's GPU capacity, schedule every pod once (a pod that fits
/// nowhere is dropped), and record after each pod the arrived and allocated GPU milli and the
/// cluster's fragmentation.
public struct ExperimentRun: Sendable {
  public var workload: String
  public var policy: GPUPolicy
  public var seed: UInt64
  public var tune: Double
  public var totalGPUs: Int
  /// Per scheduled pod, after it: cumulative arrived GPU milli, allocated GPU milli,
  /// fragmentation (milli) and whether the pod was placed.
  public var arrived: [Int64] = []
  public var allocated: [Int64] = []
  public var fragmented: [Double] = []
  public var placed: [Bool] = []
  /// Placements, for determinism checks: node row per pod, -1 when dropped.
  public var checksum: UInt64 = 0xCBF2_9CE4_8422_2325

  public init(workload: String, policy: GPUPolicy, seed: UInt64, tune: Double, totalGPUs: Int) {
    self.workload = workload
    self.policy = policy
    self.seed = seed
    self.tune = tune
    self.totalGPUs = totalGPUs
  }
}

public enum Experiment {
  /// Typical-pod popularity threshold of the paper's runs (percent).
  public static let popularity = 95.0

  /// The pods of one run, in scheduling order: sorted by name, shuffled, then tuned.
  public static func runPods(
    _ original: [PodSpec], totalGPUs: Int, tune: Double, rng: inout SplitMix64
  ) -> [PodSpec] {
    var pods = original.sorted { $0.name < $1.name }
    // Fisher–Yates with the run's generator.
    if pods.count > 1 {
      for i in stride(from: pods.count - 1, to: 0, by: -1) {
        let j = rng.nextInt(below: i + 1)
        pods.swapAt(i, j)
      }
    }
    guard tune > 0 else { return pods }
    let target = Int64((tune * Double(totalGPUs) * 1000).rounded(.down))
    var demand = pods.reduce(Int64(0)) { $0 + Int64($1.gpu?.totalMilli ?? 0) }
    if demand < target {
      // Inflate: append copies of random original pods; the stopping test adds the drawn pod's
      // per-GPU milli (the simulator's quirk) while the running total adds count × milli.
      var copy = 0
      while !original.isEmpty {
        let p = original[rng.nextInt(below: original.count)]
        if demand + Int64(p.gpu?.milliPerGPU ?? 0) > target { break }
        var c = p
        c.name = p.name + "-tune-\(copy)"
        copy += 1
        pods.append(c)
        demand += Int64(p.gpu?.totalMilli ?? 0)
        if copy > 10_000_000 { break }  // a workload of CPU-only pods never reaches the target
      }
    } else {
      while demand > target && !pods.isEmpty {
        let k = rng.nextInt(below: pods.count)
        demand -= Int64(pods[k].gpu?.totalMilli ?? 0)
        pods.remove(at: k)
      }
    }
    return pods
  }

  /// Runs one (workload, policy, seed).
  public static func run(
    workload: String, nodes: [NodeSpec], pods original: [PodSpec], typical: [TypicalPod],
    policy: GPUPolicy,
    seed: UInt64, tune: Double
  ) -> ExperimentRun {
    // The node permutation and the pod order depend on the seed and the pods alone — never on
    // the workload's label (its file name) — so every policy sees the same stream and the same
    // pods under another file name give the same results.
    var rng = SplitMix64(seed: seed).split(label: "experiment")
    var nodeRNG = rng.split(label: "nodes")
    var podRNG = rng.split(label: "pods")
    _ = rng.next()
    let totalGPUs = nodes.reduce(0) { $0 + ($1.gpus?.count ?? 0) }
    let cluster = Cluster(nodes: nodes)
    var order = Array(0..<Int32(cluster.nodes.count))
    if order.count > 1 {
      for i in stride(from: order.count - 1, to: 0, by: -1) {
        order.swapAt(i, nodeRNG.nextInt(below: i + 1))
      }
    }
    var rank = [Int32](repeating: 0, count: order.count)
    for (position, row) in order.enumerated() { rank[Int(row)] = Int32(position) }
    let pods = runPods(original, totalGPUs: totalGPUs, tune: tune, rng: &podRNG)
    var ids: [PodID] = []
    ids.reserveCapacity(pods.count)
    for p in pods {
      // openb pods carry plain integer requests; conversion cannot fail.
      ids.append(try! cluster.addPod(p))
    }
    // The policy runs as the score plugin of a kube-scheduler profile (`GPUPolicy.profile`),
    // every node scored, ties to the seeded node permutation; a pod that fits nowhere is dropped.
    let scheduler = Scheduler(
      cluster: cluster, profile: policy.profile(typicalPods: typical), seed: seed)
    scheduler.tieRanks = rank
    let model = FragmentationModel(classes: typical, models: cluster.gpuModels)
    var nodeFragmentation = (0..<cluster.nodes.count).map {
      model.fragmentation(ofNode: $0, in: cluster.nodes)
    }
    var result = ExperimentRun(
      workload: workload, policy: policy, seed: seed, tune: tune, totalGPUs: totalGPUs)
    result.arrived.reserveCapacity(ids.count)
    result.allocated.reserveCapacity(ids.count)
    result.fragmented.reserveCapacity(ids.count)
    result.placed.reserveCapacity(ids.count)
    var arrived: Int64 = 0
    var allocated: Int64 = 0
    var frag = nodeFragmentation.reduce(0, +)
    for id in ids {
      let demand = Int64(cluster.pods.gpuCount[id.index]) * Int64(cluster.pods.gpuMilli[id.index])
      arrived += demand
      let node = scheduler.scheduleOne(id).node
      if let node {
        allocated += demand
        let row = node.index
        let old = nodeFragmentation[row]
        nodeFragmentation[row] = model.fragmentation(ofNode: row, in: cluster.nodes)
        frag += nodeFragmentation[row] - old
      }
      result.arrived.append(arrived)
      result.allocated.append(allocated)
      result.fragmented.append(frag)
      result.placed.append(node != nil)
      let value = UInt64(bitPattern: Int64(node.map { Int($0.rawValue) } ?? -1))
      for shift in stride(from: 0, to: 64, by: 8) {
        result.checksum ^= (value >> UInt64(shift)) & 0xFF
        result.checksum &*= 0x0000_0100_0000_01B3
      }
    }
    return result
  }
}
