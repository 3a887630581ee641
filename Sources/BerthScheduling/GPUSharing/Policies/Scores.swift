import BerthCore

/// Per-node scores of the GPU-sharing policies, one file each (DotProduct.swift, BestFit.swift,
/// GpuPacking.swift, GpuClustering.swift, ResourceAllocation.swift, FGD.swift). The simulator
/// calls them in a tight loop over the feasible rows; Random and FirstFit need no per-node score
/// (Random.swift).
enum GPUPolicyScores {}
