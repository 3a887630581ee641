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
public struct GPUPod {
  public var cpuMillis: Int64
  public var memoryBytes: Int64
  public var gpuCount: Int
  public var milli: Int16
  /// `accepts[modelID]`: whether the pod runs on that model (all true when it names none).
  public var accepts: [Bool]
  /// Index into the run's distinct pod shapes (for FGD's score cache).
  public var shape: Int
  public var totalMilli: Int { gpuCount * Int(milli) }
  public var isSharing: Bool { gpuCount == 1 && milli < 1000 }
}
