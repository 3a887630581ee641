import BerthCore

/// The scale-up and scale-down tolerances on a metric's usage ratio: no change while
/// `1 − scaleDown ≤ ratio ≤ 1 + scaleUp` (both ends inclusive, as upstream's
/// `Tolerances.isWithin`). 0.1 each by default (`--horizontal-pod-autoscaler-tolerance`).
public struct HPATolerances: Sendable, Equatable {
  public var scaleDown: Double
  public var scaleUp: Double
  @inlinable
  public init(scaleDown: Double = 0.1, scaleUp: Double = 0.1) {
    self.scaleDown = scaleDown
    self.scaleUp = scaleUp
  }
  /// `[down:10.0%, up:10.0%]`, as upstream prints them.
  @inlinable
  public var description: String {
    "[down:\(Self.percent(scaleDown))%, up:\(Self.percent(scaleUp))%]"
  }
  @inlinable
  static func percent(_ x: Double) -> String {
    let tenths = (x * 1000).rounded() / 10
    return tenths == tenths.rounded() ? "\(Int64(tenths)).0" : "\(tenths)"
  }
  @inlinable
  public func contains(_ ratio: Double) -> Bool { 1 - scaleDown <= ratio && ratio <= 1 + scaleUp }
}

/// A failed metric computation, with upstream's message.
public struct HPAMetricError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  @inlinable
  public init(_ message: String) { self.message = message }
  @inlinable
  public var description: String { message }
}

/// Where each listed pod went in `groupPods`.
public enum HPAPodBucket: String, Sendable, Equatable {
  /// Counted with its metric.
  case ready
  /// Pending, or (CPU only) not ready or sampled too soon after becoming ready: its metric is
  /// dropped, and on a scale-up it counts as using nothing.
  case unready
  /// No metric for it: on a scale-down it counts as using its request (or the target), on a
  /// scale-up nothing.
  case missing
  /// Being deleted, or Failed: left out altogether.
  case ignored
}

/// What one metric proposes, with the figures behind it.
public struct HPAProposal: Sendable, Equatable {
  public var replicas: Int32
  /// The usage ratio (observed / target) the first pass computed.
  public var ratio: Double
  /// Resource Utilization targets: the integer percent of request (upstream truncates).
  public var utilizationPercent: Int32?
  /// The average per pod (milli-units): the raw resource value, or a Pods/AverageValue metric.
  public var averageValueMilli: Int64?
  /// Object and External metrics: the value (milli-units; External sums its series).
  public var valueMilli: Int64?
  /// Per listed pod (Resource, ContainerResource and Pods metrics); empty otherwise.
  public var buckets: [HPAPodBucket]
  /// Ready pods counted (or, for Object/External Value targets, pods Running and Ready).
  public var readyPods: Int
  /// Whether the ratio was within tolerance, so the proposal is the current count.
  public var withinTolerance: Bool
  /// Whether missing or unready pods were filled in and the ratio computed again.
  public var rebalanced: Bool
  /// The recomputed ratio when `rebalanced`.
  public var rebalancedRatio: Double?
  /// The newest metric timestamp upstream reports for the proposal.
  public var timestamp: UnixMillis?

  @inlinable
  public init(replicas: Int32, ratio: Double) {
    self.replicas = replicas
    self.ratio = ratio
    self.buckets = []
    self.readyPods = 0
    self.withinTolerance = false
    self.rebalanced = false
  }
}

/// kube-controller-manager's replica calculator (`pkg/controller/podautoscaler/
/// replica_calculator.go`): per metric, the replica count that brings the metric to its
/// target, with upstream's integer rules — the utilization percent truncated, the plain-metric
/// average floored, `ceil` on the proposal — and its handling of pods without a usable sample.
///
/// Example: 3 pods requesting 2 × 1 CPU each and using 2 × (300m, 500m, 700m) against a 30 %
/// target → 3000m / 6000m = 50 % → ratio 1.667 → ⌈1.667 × 3⌉ = 5 replicas.
public struct ReplicaCalculator: Sendable {
  /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
  public var cpuInitializationPeriodMillis: Int64
  /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
  public var initialReadinessDelayMillis: Int64

  @inlinable
  public init(
    cpuInitializationPeriodMillis: Int64 = 300_000, initialReadinessDelayMillis: Int64 = 30_000
  ) {
    self.cpuInitializationPeriodMillis = cpuInitializationPeriodMillis
    self.initialReadinessDelayMillis = initialReadinessDelayMillis
  }

  // MARK: Pod classification

  /// `groupPods`: each pod's bucket. CPU samples get the start-up rules: within the
  /// initialization period a sample counts only from a Ready pod whose whole sample window
  /// came after it turned Ready; after it, a pod is unready only if Not Ready and it never
  /// became ready since start (its last transition within the initial readiness delay).
  @inlinable
  public func groupPods<P: HPAPodView>(
    _ pods: [P], metrics: PodMetricSet, resource: String?, now: UnixMillis
  ) -> [HPAPodBucket] {
    var out: [HPAPodBucket] = []
    out.reserveCapacity(pods.count)
    groupPods(pods, metrics: metrics, resource: resource, now: now, into: &out)
    return out
  }

  /// `groupPods` into a reused buffer.
  @inlinable
  public func groupPods<P: HPAPodView>(
    _ pods: [P], metrics: PodMetricSet, resource: String?, now: UnixMillis,
    into out: inout [HPAPodBucket]
  ) {
    out.removeAll(keepingCapacity: true)
    let isCPU = resource == "cpu"
    for (i, pod) in pods.enumerated() {
      if pod.isDeleting || pod.phase == .failed {
        out.append(.ignored)
        continue
      }
      if pod.phase == .pending {
        out.append(.unready)
        continue
      }
      guard let metric = metrics.byPod[i] else {
        out.append(.missing)
        continue
      }
      if isCPU {
        let unready: Bool
        if let status = pod.readyStatus, let start = pod.startTime {
          let transition = pod.readyTransition
          if start.adding(milliseconds: cpuInitializationPeriodMillis) > now {
            unready =
              status == .isFalse
              || metric.timestamp < transition.adding(milliseconds: metric.windowMillis)
          } else {
            unready =
              status == .isFalse
              && start.adding(milliseconds: initialReadinessDelayMillis) > transition
          }
        } else {
          unready = true
        }
        if unready {
          out.append(.unready)
          continue
        }
      }
      out.append(.ready)
    }
  }

  // MARK: Requests

  /// `calculateRequests` for one pod: the pod-level request when set (and no container is
  /// named), else the named container's, else the sum over containers and sidecars.
  /// - Throws: upstream's message when a counted container has no request for `resource`.
  @inlinable
  public static func request(
    of pod: HPAPod, resource: String, container: String?, podLevelResources: Bool = true
  ) throws(HPAMetricError) -> Int64 {
    if podLevelResources, container == nil, let podLevel = pod.podLevelRequestsMilli,
      !podLevel.isEmpty
    {
      guard let r = podLevel[resource] else {
        throw HPAMetricError("missing pod-level request for \(resource) in Pod \(pod.name)")
      }
      return r
    }
    var sum: Int64 = 0
    for c in pod.containers where container == nil || c.name == container {
      guard let r = c.requestsMilli[resource] else {
        throw HPAMetricError(
          "missing request for \(resource) in container \(c.name) of Pod \(pod.name)")
      }
      sum = sum.addingReportingOverflow(r).overflow ? .max : sum + r
      if container != nil { return sum }
    }
    if let container {
      throw HPAMetricError("container \(container) not found in Pod \(pod.name)")
    }
    return sum
  }

  // MARK: Resource utilization

  /// `GetResourceUtilizationRatio`: over pods with both a metric and a request, the integer
  /// percent `⌊100 · Σusage / Σrequest⌋` (computed exactly; outside Int32 is an error) and the
  /// raw average `⌊Σusage / n⌋`.
  @inlinable
  static func utilizationRatio(
    metrics: PodMetricSet, requests: [Int64], target: Int32
  ) throws(HPAMetricError) -> (ratio: Double, percent: Int32, rawAverage: Int64) {
    var usage: Int128 = 0
    var requested: Int128 = 0
    var n: Int128 = 0
    for (i, m) in metrics.byPod.enumerated() {
      guard let m else { continue }
      usage += Int128(m.valueMilli)
      requested += Int128(requests[i])
      n += 1
    }
    guard requested != 0 else { throw HPAMetricError("no metrics returned matched known pods") }
    let percent = usage * 100 / requested
    guard percent >= Int128(Int32.min), percent <= Int128(Int32.max) else {
      throw HPAMetricError("resource utilization \(percent) is outside the int32 range")
    }
    let p = Int32(percent)
    return (Double(p) / Double(target), p, Int64(usage / n))
  }

  /// `GetMetricUsageRatio`: `⌊Σvalue / n⌋` over every sample (extras included) and its ratio
  /// to the target.
  @inlinable
  static func usageRatio(metrics: PodMetricSet, target: Int64) -> (ratio: Double, average: Int64) {
    var total: Int128 = 0
    var n: Int128 = 0
    for m in metrics.byPod {
      if let m {
        total += Int128(m.valueMilli)
        n += 1
      }
    }
    for m in metrics.extra {
      total += Int128(m.valueMilli)
      n += 1
    }
    let avg = n == 0 ? 0 : Int64(clamping: total / n)
    return (Double(avg) / Double(target), avg)
  }

  /// The pods grouped (`groupPods`) and the samples of the ignored and unready ones dropped.
  /// - Throws: with no pods, or no sample left.
  @inlinable
  func classified<P: HPAPodView>(
    _ pods: [P], metrics: PodMetricSet, resource: String?, now: UnixMillis
  ) throws(HPAMetricError) -> (buckets: [HPAPodBucket], metrics: PodMetricSet) {
    guard !pods.isEmpty else {
      throw HPAMetricError("no pods returned by selector while calculating replica count")
    }
    let buckets = groupPods(pods, metrics: metrics, resource: resource, now: now)
    var metrics = metrics
    for (i, b) in buckets.enumerated() where b == .ignored || b == .unready {
      metrics.byPod[i] = nil
    }
    guard metrics.count > 0 else {
      throw HPAMetricError("did not receive metrics for targeted pods (pods might be unready)")
    }
    return (buckets, metrics)
  }

  /// `GetResourceReplicas` (Resource and ContainerResource metrics with a Utilization target).
  @inlinable
  public func resourceUtilizationReplicas<P: HPAPodView>(
    currentReplicas: Int32, targetPercent: Int32, resource: String, container: String?,
    pods: [P], metrics: PodMetricSet, timestamp: UnixMillis?, tolerances: HPATolerances,
    now: UnixMillis
  ) throws(HPAMetricError) -> HPAProposal {
    var (buckets, metrics) = try classified(pods, metrics: metrics, resource: resource, now: now)
    var requests: [Int64] = []
    requests.reserveCapacity(pods.count)
    for p in pods {
      requests.append(try p.request(resource: resource, container: container))
    }
    let first = try Self.utilizationRatio(
      metrics: metrics, requests: requests, target: targetPercent)
    var out = HPAProposal(replicas: currentReplicas, ratio: first.ratio)
    out.utilizationPercent = first.percent
    out.averageValueMilli = first.rawAverage
    if Self.decidedOnReadyPods(
      &out, ratio: first.ratio, buckets: buckets, timestamp: timestamp, tolerances: tolerances)
    {
      return out
    }
    if buckets.contains(.missing) {
      let fallbackPercent = Int64(max(100, targetPercent))
      for (i, b) in buckets.enumerated() where b == .missing {
        if first.ratio < 1 {
          let (v, o) = requests[i].multipliedReportingOverflow(by: fallbackPercent)
          metrics.byPod[i] = PodMetricSample(valueMilli: o ? .max / 100 : v / 100)
        } else if first.ratio > 1 {
          metrics.byPod[i] = PodMetricSample(valueMilli: 0)
        }
      }
    }
    if buckets.contains(.unready) && first.ratio > 1 {
      for (i, b) in buckets.enumerated() where b == .unready {
        metrics.byPod[i] = PodMetricSample(valueMilli: 0)
      }
    }
    let second = try Self.utilizationRatio(
      metrics: metrics, requests: requests, target: targetPercent)
    out.rebalanced = true
    out.rebalancedRatio = second.ratio
    return Self.rebalanced(
      out, current: currentReplicas, first: first.ratio,
      second: second.ratio, count: metrics.count, tolerances: tolerances)
  }

  /// The slow path's ending, shared by the utilization and plain paths.
  @inlinable
  static func rebalanced(
    _ proposal: HPAProposal, current: Int32, first: Double, second: Double, count: Int,
    tolerances: HPATolerances, checkDirectionOfCount: Bool = true
  ) -> HPAProposal {
    var out = proposal
    if tolerances.contains(second) || (first < 1 && second > 1) || (first > 1 && second < 1) {
      out.withinTolerance = tolerances.contains(second)
      out.replicas = current
      return out
    }
    let n = ceilInt32(second * Double(count))
    if checkDirectionOfCount, (second < 1 && n > current) || (second > 1 && n < current) {
      out.replicas = current
      return out
    }
    out.replicas = n
    return out
  }

  /// `calcPlainMetricReplicas` (Pods metrics, and Resource metrics with an AverageValue target):
  /// missing pods count as exactly at target on a scale-down, as zero on a scale-up.
  @inlinable
  public func plainMetricReplicas<P: HPAPodView>(
    currentReplicas: Int32, targetMilli: Int64, resource: String?, pods: [P],
    metrics: PodMetricSet, timestamp: UnixMillis?, tolerances: HPATolerances, now: UnixMillis
  ) throws(HPAMetricError) -> HPAProposal {
    var (buckets, metrics) = try classified(pods, metrics: metrics, resource: resource, now: now)
    let first = Self.usageRatio(metrics: metrics, target: targetMilli)
    var out = HPAProposal(replicas: currentReplicas, ratio: first.ratio)
    out.averageValueMilli = first.average
    if Self.decidedOnReadyPods(
      &out, ratio: first.ratio, buckets: buckets, timestamp: timestamp, tolerances: tolerances)
    {
      return out
    }
    if buckets.contains(.missing) {
      for (i, b) in buckets.enumerated() where b == .missing {
        if first.ratio < 1 {
          metrics.byPod[i] = PodMetricSample(valueMilli: targetMilli)
        } else if first.ratio > 1 {
          metrics.byPod[i] = PodMetricSample(valueMilli: 0)
        }
      }
    }
    if buckets.contains(.unready) && first.ratio > 1 {
      for (i, b) in buckets.enumerated() where b == .unready {
        metrics.byPod[i] = PodMetricSample(valueMilli: 0)
      }
    }
    let second = Self.usageRatio(metrics: metrics, target: targetMilli)
    out.rebalanced = true
    out.rebalancedRatio = second.ratio
    return Self.rebalanced(
      out, current: currentReplicas, first: first.ratio,
      second: second.ratio, count: metrics.count, tolerances: tolerances)
  }

  // MARK: Object and External metrics

  /// `getUsageRatioReplicaCount`: from zero replicas (HPAScaleToZero) `⌈ratio⌉`, tolerance
  /// ignored; otherwise within tolerance the current count, else `⌈ratio × ready⌉` where ready
  /// counts pods Running and Ready (so all-unready pods propose 0 — kubernetes#130130).
  @inlinable
  static func usageRatioReplicaCount<P: HPAPodView>(
    current: Int32, ratio: Double, pods: [P], tolerances: HPATolerances
  ) throws(HPAMetricError) -> (replicas: Int32, ready: Int, within: Bool) {
    guard current != 0 else { return (ceilInt32(ratio), 0, false) }
    if tolerances.contains(ratio) { return (current, 0, true) }
    guard !pods.isEmpty else {
      throw HPAMetricError(
        "unable to calculate ready pods: no pods returned by selector while calculating replica count"
      )
    }
    let ready = pods.reduce(0) { $0 + ($1.phase == .running && $1.isReady ? 1 : 0) }
    return (ceilInt32(ratio * Double(ready)), ready, false)
  }

  /// `GetObjectMetricReplicas` (Object metric, Value target).
  @inlinable
  public func objectValueReplicas<P: HPAPodView>(
    currentReplicas: Int32, targetMilli: Int64, valueMilli: Int64, pods: [P],
    tolerances: HPATolerances
  ) throws(HPAMetricError) -> HPAProposal {
    let ratio = Double(valueMilli) / Double(targetMilli)
    let r = try Self.usageRatioReplicaCount(
      current: currentReplicas, ratio: ratio, pods: pods, tolerances: tolerances)
    var out = HPAProposal(replicas: r.replicas, ratio: ratio)
    out.valueMilli = valueMilli
    out.readyPods = r.ready
    out.withinTolerance = r.within
    return out
  }

  /// `GetObjectPerPodMetricReplicas` and `GetExternalPerPodMetricReplicas` (AverageValue
  /// targets): against `status.replicas`, `⌈value / target⌉` when outside tolerance; the
  /// reported average is `⌈value / status.replicas⌉`.
  @inlinable
  public func perPodValueReplicas(
    statusReplicas: Int32, targetAverageMilli: Int64, valueMilli: Int64,
    tolerances: HPATolerances
  ) -> HPAProposal {
    let ratio = Double(valueMilli) / (Double(targetAverageMilli) * Double(statusReplicas))
    var out = HPAProposal(replicas: statusReplicas, ratio: ratio)
    if tolerances.contains(ratio) {
      out.withinTolerance = true
    } else {
      out.replicas = Self.ceilInt32(Double(valueMilli) / Double(targetAverageMilli))
    }
    out.valueMilli = valueMilli
    out.averageValueMilli =
      statusReplicas == 0
      ? valueMilli : Int64(clamping: Self.ceilInt64(Double(valueMilli) / Double(statusReplicas)))
    return out
  }

  /// `GetExternalMetricReplicas` (External metric, Value target): the series summed
  /// (saturating at Int64.max), then as an Object Value target.
  @inlinable
  public func externalValueReplicas<P: HPAPodView>(
    currentReplicas: Int32, targetMilli: Int64, seriesMilli: [Int64], pods: [P],
    tolerances: HPATolerances
  ) throws(HPAMetricError) -> HPAProposal {
    let total = Self.saturatingSum(seriesMilli)
    return try objectValueReplicas(
      currentReplicas: currentReplicas, targetMilli: targetMilli, valueMilli: total, pods: pods,
      tolerances: tolerances)
  }

  @inlinable
  static func saturatingSum(_ values: [Int64]) -> Int64 {
    var total: Int64 = 0
    for v in values {
      if v > 0 && total > .max - v { return .max }
      total = total.addingReportingOverflow(v).partialValue
    }
    return total
  }

  /// The common first pass of the resource and plain-metric calculations: with no missing
  /// pod, and no unready pod on a scale-up, the ratio decides on the ready pods alone
  /// (tolerance → unchanged, else ⌈ratio × ready⌉). Fills in the pod counts either way.
  /// - Returns: whether `out` is final.
  @inlinable
  static func decidedOnReadyPods(
    _ out: inout HPAProposal, ratio: Double, buckets: [HPAPodBucket], timestamp: UnixMillis?,
    tolerances: HPATolerances
  ) -> Bool {
    out.buckets = buckets
    out.readyPods = buckets.reduce(0) { $0 + ($1 == .ready ? 1 : 0) }
    out.timestamp = timestamp
    if (buckets.contains(.unready) && ratio > 1) || buckets.contains(.missing) { return false }
    if tolerances.contains(ratio) {
      out.withinTolerance = true
    } else {
      out.replicas = ceilInt32(ratio * Double(out.readyPods))
    }
    return true
  }

  /// Go's `int32(math.Ceil(x))`, saturating instead of wrapping (upstream caps at MaxInt32
  /// where it can overflow).
  @inlinable
  static func ceilInt32(_ x: Double) -> Int32 {
    let c = x.rounded(.up)
    if c.isNaN { return 0 }
    if c >= Double(Int32.max) { return .max }
    if c <= Double(Int32.min) { return .min }
    return Int32(c)
  }

  @inlinable
  static func ceilInt64(_ x: Double) -> Int64 {
    let c = x.rounded(.up)
    if c.isNaN { return 0 }
    if c >= 9.223372036854775807e18 { return .max }
    if c <= -9.223372036854775808e18 { return .min }
    return Int64(c)
  }
}
