import Foundation

/// The VPA recommender's flags (`pkg/recommender/...`), with upstream's defaults.
public struct VPARecommenderFlags: Sendable, Equatable {
  public var targetCPUPercentile = 0.9
  public var targetMemoryPercentile = 0.9
  public var lowerBoundCPUPercentile = 0.5
  public var lowerBoundMemoryPercentile = 0.5
  public var upperBoundCPUPercentile = 0.95
  public var upperBoundMemoryPercentile = 0.95
  /// `--recommendation-margin-fraction`.
  public var marginFraction = 0.15
  /// `--pod-recommendation-min-cpu-millicores`, `--pod-recommendation-min-memory-mb` (MiB).
  public var podMinCPUMillicores = 25.0
  public var podMinMemoryMB = 250.0
  /// `--oom-bump-up-ratio`, `--oom-min-bump-up-bytes`.
  public var oomBumpUpRatio = 1.2
  public var oomMinBumpUpBytes = 100.0 * 1024 * 1024
  /// `--cpu-histogram-decay-half-life`, `--memory-histogram-decay-half-life`.
  public var cpuHalfLifeMillis: Int64 = 24 * 3_600_000
  public var memoryHalfLifeMillis: Int64 = 24 * 3_600_000
  /// `--memory-aggregation-interval` and `--memory-aggregation-interval-count`.
  public var memoryAggregationIntervalMillis: Int64 = 24 * 3_600_000
  public var memoryAggregationIntervalCount: Int64 = 8
  /// `--recommender-interval`: how often the recommender runs (1 min; the simulator's loop).
  public var intervalMillis: Int64 = 60_000
  /// `--container-recommendation-max-allowed-cpu/-memory` (millicores, bytes): caps for
  /// resources a VPA's policy does not cap.
  public var maxAllowedCPUMilli: Int64?
  public var maxAllowedMemoryBytes: Int64?
  public init() {}
}

/// One container of one pod (`model.ContainerState`): its memory aggregation window and peak,
/// and its last samples.
public struct VPAContainerWindow: Sendable, Equatable {
  public var windowEnd: UnixMillis?
  public var memoryPeak = 0.0
  public var oomPeak = 0.0
  public var lastCPUSampleStart: UnixMillis?
  public var lastMemorySampleStart: UnixMillis?
  public init() {}
}

/// A VPA's aggregate for one container name (`model.AggregateContainerState`): the decaying
/// CPU histogram (samples weighted 0.1), the memory-peak histogram (one peak per container per
/// aggregation interval, weight 1), and the CPU samples' first and last times and count.
public struct VPAAggregateState: Sendable, Equatable {
  public var cpu: DecayingHistogram
  public var memoryPeaks: DecayingHistogram
  public var firstSampleStart: UnixMillis?
  public var lastSampleStart: UnixMillis?
  public var totalSamplesCount = 0
  /// The CPU sample weight (`minSampleWeight`).
  public static let cpuSampleWeight = 0.1

  public init(flags: VPARecommenderFlags) {
    cpu = DecayingHistogram(.cpu, halfLifeMillis: flags.cpuHalfLifeMillis)
    memoryPeaks = DecayingHistogram(.memory, halfLifeMillis: flags.memoryHalfLifeMillis)
  }

  /// A CPU usage sample (cores) of one of the containers, measured from `start`. Samples not
  /// newer than that container's last one are dropped.
  public mutating func addCPU(
    _ cores: Double, at start: UnixMillis, window: inout VPAContainerWindow
  ) {
    guard cores >= 0 else { return }
    if let last = window.lastCPUSampleStart, !(start > last) { return }
    window.lastCPUSampleStart = start
    cpu.add(cores, weight: Self.cpuSampleWeight, at: start)
    if firstSampleStart == nil || start < firstSampleStart! { firstSampleStart = start }
    if lastSampleStart == nil || start > lastSampleStart! { lastSampleStart = start }
    totalSamplesCount += 1
  }

  /// A memory sample (bytes) of one container (`addMemorySample`): within the container's
  /// current aggregation interval a larger value replaces its peak; past it the window moves
  /// on by whole intervals and a new peak starts. Each peak is one sample, stamped at the
  /// window's end. OOM samples are always taken.
  @discardableResult
  public mutating func addMemory(
    _ bytes: Double, at start: UnixMillis, window: inout VPAContainerWindow, isOOM: Bool = false,
    flags: VPARecommenderFlags
  ) -> Bool {
    guard bytes >= 0 else { return false }
    if !isOOM, let last = window.lastMemorySampleStart, start < last { return false }
    window.lastMemorySampleStart = start
    if window.windowEnd == nil { window.windowEnd = start }
    var addNewPeak = false
    if start < window.windowEnd! {
      let oldMax = max(window.memoryPeak, window.oomPeak)
      if oldMax != 0 && bytes > oldMax {
        memoryPeaks.subtract(oldMax, weight: 1, at: window.windowEnd!)
        addNewPeak = true
      }
    } else {
      let interval = flags.memoryAggregationIntervalMillis
      let shift = (start.value - window.windowEnd!.value) / interval * interval + interval
      window.windowEnd = window.windowEnd!.adding(milliseconds: shift)
      window.memoryPeak = 0
      window.oomPeak = 0
      addNewPeak = true
    }
    if addNewPeak {
      memoryPeaks.add(bytes, weight: 1, at: window.windowEnd!)
      if isOOM { window.oomPeak = bytes } else { window.memoryPeak = bytes }
    }
    return true
  }

  /// `RecordOOM`: the memory the container needed — max(used + min bump, used × ratio) where
  /// used = max(its request, its current window's usage peak) — as a memory sample. An OOM
  /// older than the window's start is discarded (upstream: "OOM event will be discarded - it
  /// is too old"); returns false then.
  @discardableResult
  public mutating func recordOOM(
    at t: UnixMillis, requestBytes: Double, window: inout VPAContainerWindow,
    flags: VPARecommenderFlags
  ) -> Bool {
    if let end = window.windowEnd,
      t < end.adding(milliseconds: -flags.memoryAggregationIntervalMillis)
    {
      return false
    }
    let used = max(requestBytes, window.memoryPeak)
    let needed = max(used + flags.oomMinBumpUpBytes, used * flags.oomBumpUpRatio)
    return addMemory(needed, at: t, window: &window, isOOM: true, flags: flags)
  }

  /// `getConfidence`: min(days between the first and last CPU sample, samples ÷ 1440), ≥ 0.
  public var confidence: Double {
    guard let first = firstSampleStart, let last = lastSampleStart else { return 0 }
    let days = Double(last.value - first.value) / 86_400_000
    return max(min(days, Double(totalSamplesCount) / (60 * 24)), 0)
  }
}

/// A container's recommendation: CPU in millicores, memory in bytes.
public struct VPAResources: Sendable, Equatable {
  public var cpuMilli: Int64
  public var memoryBytes: Int64
  public init(cpuMilli: Int64, memoryBytes: Int64) {
    self.cpuMilli = cpuMilli
    self.memoryBytes = memoryBytes
  }
}

/// `status.recommendation.containerRecommendations[]`.
public struct VPAContainerRecommendation: Sendable, Equatable {
  public var containerName: String
  public var target: VPAResources
  public var lowerBound: VPAResources
  public var upperBound: VPAResources
  public var uncappedTarget: VPAResources
  /// The resources the policy controls (`controlledResources`); others are left out.
  public var controlled: Set<String> = ["cpu", "memory"]
}

/// A container policy (`resourcePolicy.containerPolicies[]`).
public struct VPAContainerPolicy: Sendable, Equatable {
  public var containerName: String
  /// `mode`: Auto (default) or Off.
  public var off = false
  public var minAllowed: (cpuMilli: Int64?, memoryBytes: Int64?) = (nil, nil)
  public var maxAllowed: (cpuMilli: Int64?, memoryBytes: Int64?) = (nil, nil)
  public var controlledResources: Set<String> = ["cpu", "memory"]
  /// `controlledValues`: RequestsAndLimits (default) or RequestsOnly.
  public var requestsOnly = false
  public init(containerName: String) { self.containerName = containerName }
  public static func == (a: Self, b: Self) -> Bool {
    a.containerName == b.containerName && a.off == b.off
      && a.minAllowed.cpuMilli == b.minAllowed.cpuMilli
      && a.minAllowed.memoryBytes == b.minAllowed.memoryBytes
      && a.maxAllowed.cpuMilli == b.maxAllowed.cpuMilli
      && a.maxAllowed.memoryBytes == b.maxAllowed.memoryBytes
      && a.controlledResources == b.controlledResources && a.requestsOnly == b.requestsOnly
  }
}

/// The recommender's estimation (`logic/recommender.go`, `logic/estimator.go`) and the policy
/// capping of its output (`utils/vpa/capping.go`).
public enum VPARecommender {
  /// `resourceAmountFromFloat`: negative → 0, above Int64 → Int64.max, else truncated.
  static func amount(_ x: Double) -> Int64 {
    if x < 0 { return 0 }
    if x >= 9.223372036854775807e18 { return .max }
    if x.isNaN { return .min }
    return Int64(x)
  }

  /// Target (P90 × (1 + margin)), lower bound (P50 × (1 + margin) × (1 + 0.001/c)⁻²) and upper
  /// bound (P95 × (1 + margin) × (1 + 1/c)), c the confidence in days; each at least the pod
  /// minimum split evenly over the VPA's `containers`.
  ///
  /// Example: a CPU constant at 1 core falls in the bucket [0.9584, 1.0163) → P90 = 1.0163
  /// → 1016m (truncated) × 1.15 = 1168m.
  public static func estimate(
    _ s: VPAAggregateState, containers: Int, flags: VPARecommenderFlags
  ) -> (target: VPAResources, lower: VPAResources, upper: VPAResources) {
    let fraction = 1 / Double(max(containers, 1))
    let minCPU = amount(Double(amount(flags.podMinCPUMillicores * 0.001 * 1000)) * fraction)
    let minMemory = amount(Double(amount(flags.podMinMemoryMB * 1024 * 1024)) * fraction)
    let c = s.confidence
    func one(_ cpuP: Double, _ memP: Double, _ confidence: (Double) -> Double) -> VPAResources {
      var cpu = amount(s.cpu.percentile(cpuP) * 1000)
      var memory = amount(s.memoryPeaks.percentile(memP))
      cpu = amount(Double(cpu) * (1 + flags.marginFraction))
      memory = amount(Double(memory) * (1 + flags.marginFraction))
      let f = confidence(c)
      if f != 1 {
        cpu = amount(Double(cpu) * f)
        memory = amount(Double(memory) * f)
      }
      return VPAResources(cpuMilli: max(cpu, minCPU), memoryBytes: max(memory, minMemory))
    }
    return (
      one(flags.targetCPUPercentile, flags.targetMemoryPercentile) { _ in 1 },
      one(flags.lowerBoundCPUPercentile, flags.lowerBoundMemoryPercentile) {
        pow(1 + 0.001 / $0, -2)
      },
      one(flags.upperBoundCPUPercentile, flags.upperBoundMemoryPercentile) { pow(1 + 1 / $0, 1) }
    )
  }

  /// The recommendation as written to the VPA's status: the estimate capped by the container's
  /// policy (min/maxAllowed, then the global max-allowed flags where the policy sets none),
  /// `uncappedTarget` the raw target; nil for a container whose policy mode is Off.
  public static func recommendation(
    container: String, state: VPAAggregateState, containers: Int, policy: VPAContainerPolicy?,
    flags: VPARecommenderFlags
  ) -> VPAContainerRecommendation? {
    if policy?.off == true { return nil }
    let e = estimate(state, containers: containers, flags: flags)
    func cap(_ r: VPAResources) -> VPAResources {
      var out = r
      if let m = policy?.minAllowed.cpuMilli, out.cpuMilli < m { out.cpuMilli = m }
      if let m = policy?.minAllowed.memoryBytes, out.memoryBytes < m { out.memoryBytes = m }
      if let m = policy?.maxAllowed.cpuMilli ?? flags.maxAllowedCPUMilli, out.cpuMilli > m {
        out.cpuMilli = m
      }
      if let m = policy?.maxAllowed.memoryBytes ?? flags.maxAllowedMemoryBytes,
        out.memoryBytes > m
      {
        out.memoryBytes = m
      }
      return out
    }
    var r = VPAContainerRecommendation(
      containerName: container, target: cap(e.target), lowerBound: cap(e.lower),
      upperBound: cap(e.upper), uncappedTarget: e.target)
    r.controlled = policy?.controlledResources ?? ["cpu", "memory"]
    return r
  }
}
