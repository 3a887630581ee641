import BerthCore

/// A point in wall-clock time, in milliseconds since 1970-01-01T00:00:00Z.
///
/// Milliseconds, not nanoseconds, so Go's zero time (`0001-01-01T00:00:00Z`, which Kubernetes
/// tooling prints for unset times) is representable: −62,135,596,800,000 ms fits an `Int64`
/// where the same instant in nanoseconds would not. The API's own times have whole seconds.
public struct UnixMillis: Comparable, Hashable, Sendable {
  public var value: Int64
  @inlinable public init(_ value: Int64) { self.value = value }
  /// Go's `time.Time{}`: 0001-01-01T00:00:00Z.
  public static let goZero = UnixMillis(-62_135_596_800_000)
  @inlinable public static func < (a: UnixMillis, b: UnixMillis) -> Bool { a.value < b.value }
  @inlinable public func adding(milliseconds: Int64) -> UnixMillis {
    UnixMillis(value.addingReportingOverflow(milliseconds).overflow ? .max : value + milliseconds)
  }
}

/// The status of a pod condition (`True`, `False`, `Unknown`).
public enum ConditionStatus: String, Sendable, Equatable {
  case isTrue = "True"
  case isFalse = "False"
  case unknown = "Unknown"
}

/// What the replica calculator reads of a pod. `HPAPod` is the general form (from Kubernetes
/// files); the simulator gives a view over its tables, without per-pod allocation.
public protocol HPAPodView {
  /// For messages only.
  var podName: String { get }
  var phase: PodPhase { get }
  /// `metadata.deletionTimestamp` is set.
  var isDeleting: Bool { get }
  var startTime: UnixMillis? { get }
  /// The Ready condition's status, nil when the pod has none.
  var readyStatus: ConditionStatus? { get }
  /// The Ready condition's `lastTransitionTime` (read only when it exists).
  var readyTransition: UnixMillis { get }
  /// `calculateRequests` for one pod (milli-units): the pod-level request when set (and no
  /// container is named), else the named container's, else the sum over containers and
  /// sidecars; upstream's message when a counted container has none.
  func request(resource: String, container: String?) throws(HPAMetricError) -> Int64
}

extension HPAPodView {
  /// `podutil.IsPodReady`: a Ready condition with status True.
  @inlinable
  public var isReady: Bool { readyStatus == .isTrue }
}

/// One container's requests, as the replica calculator reads them (milli-units per resource).
public struct HPAContainer: Sendable, Equatable {
  public var name: String
  /// Milli-units per resource name (`cpu` 250 = 250m; `memory` 1 Mi = 1,048,576,000).
  public var requestsMilli: [String: Int64]
  /// A restartable init container (a sidecar): its requests count with the regular containers'.
  public var isSidecar: Bool

  @inlinable
  public init(name: String, requestsMilli: [String: Int64], isSidecar: Bool = false) {
    self.name = name
    self.requestsMilli = requestsMilli
    self.isSidecar = isSidecar
  }
}

/// A pod as the horizontal controller's replica calculator sees it: phase, deletion, start
/// time, the Ready condition and container requests.
public struct HPAPod: Sendable, Equatable {
  public var name: String
  public var phase: PodPhase
  /// `metadata.deletionTimestamp` is set.
  public var isDeleting: Bool
  public var startTime: UnixMillis?
  /// The `Ready` condition, when the pod has one.
  public var ready: (status: ConditionStatus, lastTransition: UnixMillis)?
  /// Regular containers, then sidecars, in the pod's order.
  public var containers: [HPAContainer]
  /// Pod-level `spec.resources.requests` (PodLevelResources), milli-units, when set.
  public var podLevelRequestsMilli: [String: Int64]?

  @inlinable
  public init(
    name: String, phase: PodPhase = .running, isDeleting: Bool = false,
    startTime: UnixMillis? = nil,
    ready: (status: ConditionStatus, lastTransition: UnixMillis)? = nil,
    containers: [HPAContainer] = [], podLevelRequestsMilli: [String: Int64]? = nil
  ) {
    self.name = name
    self.phase = phase
    self.isDeleting = isDeleting
    self.startTime = startTime
    self.ready = ready
    self.containers = containers
    self.podLevelRequestsMilli = podLevelRequestsMilli
  }

  @inlinable
  public static func == (a: HPAPod, b: HPAPod) -> Bool {
    a.name == b.name && a.phase == b.phase && a.isDeleting == b.isDeleting
      && a.startTime == b.startTime && a.ready?.status == b.ready?.status
      && a.ready?.lastTransition == b.ready?.lastTransition && a.containers == b.containers
      && a.podLevelRequestsMilli == b.podLevelRequestsMilli
  }

}

extension HPAPod: HPAPodView {
  @inlinable
  public var podName: String { name }
  @inlinable
  public var readyStatus: ConditionStatus? { ready?.status }
  @inlinable
  public var readyTransition: UnixMillis { ready?.lastTransition ?? .goZero }
  @inlinable
  public func request(resource: String, container: String?) throws(HPAMetricError) -> Int64 {
    try ReplicaCalculator.request(of: self, resource: resource, container: container)
  }
}

/// One pod's metric as the metrics APIs return it: the value (milli-units), when it was
/// measured and over which window.
public struct PodMetricSample: Sendable, Equatable {
  public var valueMilli: Int64
  public var timestamp: UnixMillis
  public var windowMillis: Int64

  @inlinable
  public init(valueMilli: Int64, timestamp: UnixMillis = .goZero, windowMillis: Int64 = 0) {
    self.valueMilli = valueMilli
    self.timestamp = timestamp
    self.windowMillis = windowMillis
  }
}

/// A `metrics.k8s.io` PodMetrics item: a pod's per-container usage over one window.
public struct PodResourceMetrics: Sendable, Equatable {
  public var podName: String
  public var timestamp: UnixMillis
  public var windowMillis: Int64
  /// Per container, in the order the API lists them: usage in milli-units per resource.
  public var containers: [(name: String, usageMilli: [String: Int64])]

  @inlinable
  public init(
    podName: String, timestamp: UnixMillis, windowMillis: Int64,
    containers: [(name: String, usageMilli: [String: Int64])]
  ) {
    self.podName = podName
    self.timestamp = timestamp
    self.windowMillis = windowMillis
    self.containers = containers
  }

  @inlinable
  public static func == (a: PodResourceMetrics, b: PodResourceMetrics) -> Bool {
    a.podName == b.podName && a.timestamp == b.timestamp && a.windowMillis == b.windowMillis
      && a.containers.map(\.name) == b.containers.map(\.name)
      && a.containers.map(\.usageMilli) == b.containers.map(\.usageMilli)
  }
}

/// The pod metrics of one query, keyed as upstream's `PodMetricsInfo` map is (by pod name),
/// kept in a deterministic order: the pods' own order first, then metrics for pods the
/// selector no longer lists (upstream keeps those too: they count in averages and in the
/// number of pods a proposal multiplies by, but never in a utilization, having no request).
public struct PodMetricSet: Sendable, Equatable {
  /// Aligned with the pod list: the pod's sample, or nil (missing, or removed).
  public var byPod: [PodMetricSample?]
  /// Samples for names no listed pod has.
  public var extra: [PodMetricSample]

  @inlinable
  public init(byPod: [PodMetricSample?], extra: [PodMetricSample] = []) {
    self.byPod = byPod
    self.extra = extra
  }

  /// Aligns samples keyed by pod name with `pods` (a name listed twice keeps its last sample,
  /// as a Go map would).
  @inlinable
  public init(pods: [HPAPod], samples: [(podName: String, sample: PodMetricSample)]) {
    self.init(podNames: pods.map(\.name), samples: samples)
  }

  @inlinable
  public init(podNames: [String], samples: [(podName: String, sample: PodMetricSample)]) {
    var index: [String: Int] = [:]
    for (i, p) in podNames.enumerated() { index[p] = i }
    var byPod = [PodMetricSample?](repeating: nil, count: podNames.count)
    var extraIndex: [String: Int] = [:]
    var extra: [PodMetricSample] = []
    for (name, s) in samples {
      if let i = index[name] {
        byPod[i] = s
      } else if let j = extraIndex[name] {
        extra[j] = s
      } else {
        extraIndex[name] = extra.count
        extra.append(s)
      }
    }
    self.init(byPod: byPod, extra: extra)
  }

  /// `len(metrics)`.
  @inlinable
  public var count: Int { byPod.reduce(0) { $0 + ($1 == nil ? 0 : 1) } + extra.count }
}

extension PodResourceMetrics {
  /// `getPodMetrics`: the pod's sum over containers, or nil when a container lacks the
  /// resource or the pod lists no containers (then the pod counts as missing).
  @inlinable
  public func podSample(_ resource: String) -> PodMetricSample? {
    guard !containers.isEmpty else { return nil }
    var sum: Int64 = 0
    for c in containers {
      guard let v = c.usageMilli[resource] else { return nil }
      sum = sum.addingReportingOverflow(v).overflow ? .max : sum + v
    }
    return PodMetricSample(valueMilli: sum, timestamp: timestamp, windowMillis: windowMillis)
  }

  /// `getContainerMetrics`: the named container's usage, or nil when it is absent or lacks
  /// the resource.
  @inlinable
  public func containerSample(_ resource: String, container: String) -> PodMetricSample? {
    guard let c = containers.first(where: { $0.name == container }),
      let v = c.usageMilli[resource]
    else { return nil }
    return PodMetricSample(valueMilli: v, timestamp: timestamp, windowMillis: windowMillis)
  }
}
