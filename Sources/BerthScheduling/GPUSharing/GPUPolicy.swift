import BerthCore

/// The GPU-sharing scheduling policies of the FGD paper's simulator, plus baselines.
///
/// Each policy scores every feasible node 0…100 (one file each in `Policies/`); the simulator
/// takes the highest score, breaking ties by a seeded node permutation, and the policy's GPU
/// selection picks the devices. Dispatch is one `switch` per pod, never per node.
public enum GPUPolicy: String, CaseIterable, Sendable {
  case random
  case dotProduct = "dotprod"
  case gpuClustering = "clustering"
  case gpuPacking = "packing"
  case bestFit = "bestfit"
  case fgd
  case firstFit = "firstfit"
  case leastAllocated = "leastallocated"
  case mostAllocated = "mostallocated"

  /// The six policies of the paper's experiments.
  public static let paper: [GPUPolicy] = [
    .random, .dotProduct, .gpuClustering, .gpuPacking, .bestFit, .fgd,
  ]

  /// How a sharing pod's GPU is chosen on the winning node (whole-GPU pods always take the first
  /// fully free devices).
  public var selection: Selection {
    switch self {
    case .random: return .method(.random)
    case .fgd: return .policy
    case .firstFit: return .first
    default: return .method(.best)
    }
  }

  /// The score plugin that implements the policy.
  public var scorePlugin: PluginName {
    switch self {
    case .random: return .randomScore
    case .dotProduct: return .dotProductScore
    case .gpuClustering: return .gpuClusteringScore
    case .gpuPacking: return .gpuPackingScore
    case .bestFit: return .bestFitScore
    case .fgd: return .fgdScore
    case .firstFit: return .firstFitScore
    case .leastAllocated: return .gpuLeastAllocatedScore
    case .mostAllocated: return .gpuMostAllocatedScore
    }
  }

  /// A profile that schedules as the FGD paper's simulator: kube-scheduler's filters plus
  /// GPUShare, the policy's plugin as the only score plugin, every node scored
  /// (`percentageOfNodesToScore: 100`). Ties go to the run's node permutation
  /// (`Scheduler.tieRanks`).
  public func profile(typicalPods: [TypicalPod]) -> Profile {
    let config = ProfileConfiguration(
      percentageOfNodesToScore: 100,
      plugins: [
        .filter: PluginSet(enabled: [PluginReference(name: PluginName.gpuShare.rawValue)]),
        .score: PluginSet(
          enabled: [PluginReference(name: scorePlugin.rawValue, weight: 1)],
          disabled: [PluginReference(name: "*")]),
      ],
      pluginConfig: self == .fgd ? [PluginConfig(FGDArguments(typicalPods: typicalPods))] : [])
    // A fixed, valid configuration: resolving it cannot fail.
    do { return try Profile.resolve(SchedulerConfiguration(profiles: [config]))[0] } catch {
      preconditionFailure("GPU policy profile does not resolve: \(error)")
    }
  }

  public enum Selection: Equatable, Sendable {
    case method(GPUSelection)
    /// The policy's own choice, made while scoring (FGD).
    case policy
    /// The lowest-indexed GPU with room.
    case first
  }
}

/// The simulator's constants for normalising resources (`open-gpu-share/utils/const.go`).
public enum GPUSpec {
  public static let maxCPUMilli = 128_000.0
  public static let maxGPUMilli = 8_000.0
  public static let maxGPUMilliInt: Int64 = 8_000
}

/// A pod's GPU-sharing view, computed once per pod.
public struct GPUPod: Sendable {
  public var cpuMillis: Int64
  public var memoryBytes: Int64
  public var gpuCount: Int
  public var milli: Int16
  /// `accepts[modelID]`: whether the pod runs on that model (all true when it names none).
  public var accepts: [Bool]
  /// The pod's interned model set (`PodTable.gpuModelSets`) `accepts` was made from (-1: none).
  var modelSet: Int64 = -1
  public var totalMilli: Int { gpuCount * Int(milli) }
  public var isSharing: Bool { gpuCount == 1 && milli < 1000 }

  public init(cpuMillis: Int64, memoryBytes: Int64, gpuCount: Int, milli: Int16, accepts: [Bool]) {
    self.cpuMillis = cpuMillis
    self.memoryBytes = memoryBytes
    self.gpuCount = gpuCount
    self.milli = milli
    self.accepts = accepts
  }

  /// The pod's view from the cluster's columns; `accepts` is taken from `last` when it was made
  /// for the same model set and model count (a cycle builds no array for a run of like pods).
  public init(_ pod: PodID, in cluster: Cluster, reusing last: GPUPod = .none) {
    let p = pod.index
    let t = cluster.pods
    let set = t.gpuModels[p]
    var accepts: [Bool]
    if last.modelSet == Int64(set) && last.accepts.count == cluster.gpuModels.names.count {
      accepts = last.accepts
    } else {
      let models = t.gpuModelSets[set]
      accepts = [Bool](repeating: models.isEmpty, count: cluster.gpuModels.names.count)
      for m in models where Int(m) < accepts.count { accepts[Int(m)] = true }
    }
    self.init(
      cpuMillis: t.requestCPU[p], memoryBytes: t.requestMemory[p], gpuCount: Int(t.gpuCount[p]),
      milli: t.gpuMilli[p], accepts: accepts)
    modelSet = Int64(set)
  }

  /// A pod asking for nothing (a plugin's state before its first cycle).
  public static let none = GPUPod(cpuMillis: 0, memoryBytes: 0, gpuCount: 0, milli: 0, accepts: [])
}
