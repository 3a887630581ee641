/// The VPA updater's rules (kubernetes/autoscaler `vertical-pod-autoscaler/pkg/updater`):
/// which pods are worth updating and in what order (`priority`), and how many of a
/// controller's pods may be disrupted in one loop (`restriction`).

/// The updater's flags (upstream names and defaults).
public struct VPAUpdaterFlags: Sendable, Equatable {
  /// `--min-replicas`: fewer live pods than this and none of a controller's pods is updated.
  public var minReplicas: Int32 = 2
  /// `--eviction-tolerance`: the fraction of a controller's replicas that may be down at once.
  public var evictionTolerance = 0.5
  /// `--pod-update-threshold`: the smallest relative change that updates a pod inside the range.
  public var minChangePriority = 0.1
  /// `--in-recommendation-bounds-eviction-lifetime-threshold`: a pod inside the range is
  /// updated only once it has run this long (12 h).
  public var podLifetimeUpdateThresholdMillis: Int64 = 12 * 3_600_000
  /// `--evict-after-oom-threshold`: a container OOM-killed after running less than this (10 min)
  /// makes its pod a candidate.
  public var evictAfterOOMThresholdMillis: Int64 = 10 * 60_000
  /// `--updater-interval` (1 min).
  public var intervalMillis: Int64 = 60_000
  public init() {}
}

/// Milli-amounts of the two resources the VPA controls (nil: not set / not recommended).
public struct VPAAmounts: Sendable, Equatable {
  public var cpuMilli: Int64?
  public var memoryMilli: Int64?
  public init(cpuMilli: Int64? = nil, memoryMilli: Int64? = nil) {
    self.cpuMilli = cpuMilli
    self.memoryMilli = memoryMilli
  }
  subscript(_ r: Int) -> Int64? { r == 0 ? cpuMilli : memoryMilli }
}

/// One container as the updater compares it with its recommendation.
public struct VPAUpdateContainer: Sendable, Equatable {
  public var name: String
  /// Its requests (from the status when the kubelet reports them, else the spec).
  public var requests: VPAAmounts
  public init(name: String, requests: VPAAmounts) {
    self.name = name
    self.requests = requests
  }
}

/// A container's recommendation as the updater reads it.
public struct VPARecommendedBounds: Sendable, Equatable {
  public var containerName: String
  public var target: VPAAmounts
  public var lowerBound: VPAAmounts
  public var upperBound: VPAAmounts
  public init(
    containerName: String, target: VPAAmounts, lowerBound: VPAAmounts = VPAAmounts(),
    upperBound: VPAAmounts = VPAAmounts()
  ) {
    self.containerName = containerName
    self.target = target
    self.lowerBound = lowerBound
    self.upperBound = upperBound
  }

  /// Bytes as milli-units, saturating.
  static func milli(bytes: Int64) -> Int64 {
    let (v, o) = bytes.multipliedReportingOverflow(by: 1000)
    return o ? (bytes < 0 ? .min : .max) : v
  }

  /// The controlled resources of `r` in milli-units.
  public init(_ r: VPAContainerRecommendation) {
    func amounts(_ v: VPAResources) -> VPAAmounts {
      VPAAmounts(
        cpuMilli: r.controlled.contains("cpu") ? v.cpuMilli : nil,
        memoryMilli: r.controlled.contains("memory")
          ? Self.milli(bytes: v.memoryBytes) : nil)
    }
    self.init(
      containerName: r.containerName, target: amounts(r.target),
      lowerBound: amounts(r.lowerBound), upperBound: amounts(r.upperBound))
  }
}

/// How much a pod wants updating (`PodPriority`).
public struct VPAPodPriority: Sendable, Equatable {
  /// Some request lies outside [lowerBound, upperBound] (or is missing).
  public var outsideRecommendedRange = false
  /// Some container's target exceeds its request.
  public var scaleUp = false
  /// Σ over resources of |Σ requests − Σ targets| / Σ requests.
  public var resourceDiff = 0.0
  public init(
    outsideRecommendedRange: Bool = false, scaleUp: Bool = false, resourceDiff: Double = 0
  ) {
    self.outsideRecommendedRange = outsideRecommendedRange
    self.scaleUp = scaleUp
    self.resourceDiff = resourceDiff
  }

  /// Upstream's `Less`: a pod that grows outranks one that does not; then the larger diff.
  public func isLess(than other: Self) -> Bool {
    if scaleUp != other.scaleUp { return other.scaleUp }
    return resourceDiff < other.resourceDiff
  }
}

public enum VPAUpdatePriority {
  /// A pod's priority (`GetUpdatePriority`): containers without a recommendation are skipped;
  /// a recommended resource the container does not request counts as outside the range and
  /// growing; the diff compares the pod's summed requests with its summed targets.
  public static func priority(
    containers: [VPAUpdateContainer], recommendations: [VPARecommendedBounds]
  ) -> VPAPodPriority {
    var p = VPAPodPriority()
    var requested: [Int64] = [0, 0]
    var recommended: [Int64] = [0, 0]
    var present = [false, false]
    for c in containers {
      guard let r = recommendations.first(where: { $0.containerName == c.name }) else { continue }
      for k in 0..<2 {
        guard let target = r.target[k] else { continue }
        present[k] = true
        recommended[k] = recommended[k] &+ target
        if let request = c.requests[k] {
          requested[k] = requested[k] &+ request
          if target > request { p.scaleUp = true }
          if let lower = r.lowerBound[k], request < lower { p.outsideRecommendedRange = true }
          if let upper = r.upperBound[k], request > upper { p.outsideRecommendedRange = true }
        } else {
          p.scaleUp = true
          p.outsideRecommendedRange = true
        }
      }
    }
    for k in 0..<2 where present[k] {
      let total = max(Double(requested[k]), 1)
      p.resourceDiff += abs(total - Double(recommended[k])) / total
    }
    return p
  }

  /// Whether a container's last termination was a quick OOM kill: reason OOMKilled after
  /// running less than the threshold.
  public static func isQuickOOM(
    lastTermination: (reason: String, startedAt: UnixMillis, finishedAt: UnixMillis)?,
    flags: VPAUpdaterFlags
  ) -> Bool {
    guard let t = lastTermination, t.reason == "OOMKilled" else { return false }
    return t.finishedAt.value &- t.startedAt.value < flags.evictAfterOOMThresholdMillis
  }

  /// Whether the updater takes the pod (`UpdatePriorityCalculator.AddPod`): outside the range
  /// or after a quick OOM always (the latter only if something would change); inside it only
  /// once the pod has run `podLifetimeUpdateThreshold` and the diff reaches `minChangePriority`.
  public static func accepts(
    _ p: VPAPodPriority, quickOOM: Bool, startTime: UnixMillis?, now: UnixMillis,
    flags: VPAUpdaterFlags
  ) -> Bool {
    if !p.outsideRecommendedRange && !quickOOM {
      guard let start = startTime else { return false }
      if now < start.adding(milliseconds: flags.podLifetimeUpdateThresholdMillis) { return false }
      if p.resourceDiff < flags.minChangePriority { return false }
    }
    if quickOOM && p.resourceDiff == 0 { return false }
    return true
  }

  /// Candidates highest priority first (`GetSortedPods`); equal priorities keep their order.
  public static func sorted<T>(_ pods: [(T, VPAPodPriority)]) -> [T] {
    pods.enumerated().sorted { a, b in
      if b.element.1.isLess(than: a.element.1) { return true }
      if a.element.1.isLess(than: b.element.1) { return false }
      return a.offset < b.offset
    }.map(\.element.0)
  }
}

/// One controller's pods in one updater loop (`singleGroupStats`): how many may still be
/// disrupted, by eviction or by an in-place resize.
public struct VPADisruptionGroup: Sendable, Equatable {
  /// The controller's replica count (`spec.replicas`).
  public var configured: Int
  public var running: Int
  public var pending: Int
  /// ⌊configured × `--eviction-tolerance`⌋.
  public var evictionTolerance: Int
  public var evicted = 0
  public var inPlaceUpdateInitiated = 0

  /// nil when the controller has fewer live pods than `minReplicas` (the updater skips it).
  public init?(configured: Int, live: Int, pending: Int, minReplicas: Int32, flags: VPAUpdaterFlags)
  {
    guard live >= Int(minReplicas) else { return nil }
    self.configured = configured
    self.pending = pending
    self.running = live - pending
    self.evictionTolerance = Int(Double(configured) * flags.evictionTolerance)
  }

  /// Whether one more pod may go down (`isPodDisruptable`): more alive than must stay, or —
  /// with a tolerance of zero — the first disruption while every replica runs.
  public var isPodDisruptable: Bool {
    let shouldBeAlive = configured - evictionTolerance
    let actuallyAlive = running - (evicted + inPlaceUpdateInitiated)
    return actuallyAlive > shouldBeAlive
      || (configured == running && evictionTolerance == 0 && evicted == 0
        && inPlaceUpdateInitiated == 0)
  }

  /// `CanEvict`: a pending pod always; else while the group is disruptable.
  public func canEvict(pending: Bool) -> Bool { pending || isPodDisruptable }
}
