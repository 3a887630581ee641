/// A HorizontalPodAutoscaler (autoscaling/v2) as the horizontal controller reads it.
public struct HPASpec: Sendable, Equatable {
  public var namespace: String
  public var name: String
  public var scaleTargetRef: ObjectRef
  /// nil: 1 (the controller's default).
  public var minReplicas: Int32?
  public var maxReplicas: Int32
  public var metrics: [HPAMetricSpec] {
    didSet { metricDescriptions = metrics.map(\.controllerDescription) }
  }
  /// Upstream's description of each metric (`cpu resource utilization (percentage of
  /// request)`), as its events and conditions name it.
  public internal(set) var metricDescriptions: [String]
  /// nil selects the legacy normalisation path.
  public var behavior: HPABehavior?

  public init(
    namespace: String = "default", name: String, scaleTargetRef: ObjectRef,
    minReplicas: Int32? = nil, maxReplicas: Int32, metrics: [HPAMetricSpec],
    behavior: HPABehavior? = nil
  ) {
    self.namespace = namespace
    self.name = name
    self.scaleTargetRef = scaleTargetRef
    self.minReplicas = minReplicas
    self.maxReplicas = maxReplicas
    self.metrics = metrics
    self.metricDescriptions = metrics.map(\.controllerDescription)
    self.behavior = behavior
  }
}

/// `CrossVersionObjectReference`.
public struct ObjectRef: Sendable, Equatable {
  public var apiVersion: String
  public var kind: String
  public var name: String
  @inlinable
  public init(apiVersion: String = "apps/v1", kind: String, name: String) {
    self.apiVersion = apiVersion
    self.kind = kind
    self.name = name
  }
}

/// A `MetricTarget`: its type and the quantity that type uses (milli-units).
public enum HPAMetricTarget: Sendable, Equatable {
  case utilization(percent: Int32)
  case value(milli: Int64)
  case averageValue(milli: Int64)

  @inlinable
  public var typeName: String {
    switch self {
    case .utilization: "Utilization"
    case .value: "Value"
    case .averageValue: "AverageValue"
    }
  }
}

/// A `MetricIdentifier`: a name and an optional label selector (kept as text, `a=b,c=d`).
public struct HPAMetricIdentifier: Sendable, Equatable {
  public var name: String
  public var selector: [String: String]?
  @inlinable
  public init(name: String, selector: [String: String]? = nil) {
    self.name = name
    self.selector = selector
  }
}

/// One entry of `spec.metrics`.
public enum HPAMetricSpec: Sendable, Equatable {
  case resource(name: String, target: HPAMetricTarget)
  case containerResource(name: String, container: String, target: HPAMetricTarget)
  case pods(metric: HPAMetricIdentifier, target: HPAMetricTarget)
  case object(describedObject: ObjectRef, metric: HPAMetricIdentifier, target: HPAMetricTarget)
  case external(metric: HPAMetricIdentifier, target: HPAMetricTarget)

  /// `Resource`, `ContainerResource`, `Pods`, `Object`, `External`.
  @inlinable
  public var typeName: String {
    switch self {
    case .resource: "Resource"
    case .containerResource: "ContainerResource"
    case .pods: "Pods"
    case .object: "Object"
    case .external: "External"
    }
  }

  /// How the controller names the metric in events and conditions.
  @inlinable
  public var controllerDescription: String {
    switch self {
    case .resource(let name, .utilization):
      "\(name) resource utilization (percentage of request)"
    case .containerResource(let name, _, .utilization):
      "\(name) container resource utilization (percentage of request)"
    case .resource(let name, _), .containerResource(let name, _, _): "\(name) resource"
    case .pods(let metric, _): "pods metric \(metric.name)"
    case .object(_, let metric, .averageValue), .external(let metric, _):
      "external metric \(metric.name)(\(Self.goSelector(metric.selector)))"
    case .object(let object, let metric, _): "\(object.kind) metric \(metric.name)"
    }
  }

  /// Go's `%+v` of a `*metav1.LabelSelector` with match labels only (what the controller
  /// prints into its metric descriptions).
  @inlinable
  public static func goSelector(_ selector: [String: String]?) -> String {
    guard let selector else { return "<nil>" }
    let labels = selector.keys.sorted().map { "\($0): \(selector[$0]!)," }.joined(separator: " ")
    return
      "&LabelSelector{MatchLabels:map[string]string{\(labels)},MatchExpressions:[]LabelSelectorRequirement{},}"
  }

  /// The metric's name: the resource, or the metric identifier's name.
  @inlinable
  public var metricName: String {
    switch self {
    case .resource(let n, _), .containerResource(let n, _, _): n
    case .pods(let m, _), .object(_, let m, _), .external(let m, _): m.name
    }
  }

  @inlinable
  public var target: HPAMetricTarget {
    switch self {
    case .resource(_, let t), .containerResource(_, _, let t), .pods(_, let t),
      .object(_, _, let t), .external(_, let t):
      t
    }
  }
}

/// `status.conditions[]` of an HPA.
public struct HPACondition: Sendable, Equatable {
  public var type: String
  public var status: ConditionStatus
  public var reason: String
  public var message: String
  public var lastTransitionTime: UnixMillis?
  @inlinable
  public init(
    type: String, status: ConditionStatus, reason: String, message: String,
    lastTransitionTime: UnixMillis? = nil
  ) {
    self.type = type
    self.status = status
    self.reason = reason
    self.message = message
    self.lastTransitionTime = lastTransitionTime
  }

  /// `setConditionInList`: replaces the condition of that type (its transition time kept
  /// unless the status changes) or appends it.
  @inlinable
  public static func set(
    _ list: inout [HPACondition], _ type: String, _ status: ConditionStatus, _ reason: String,
    _ message: String, now: UnixMillis
  ) {
    // By index: `firstIndex(where:)` hands each condition to the predicate as a copy,
    // retaining its strings, on every reconcile.
    var found: Int?
    for k in list.indices where list[k].type == type {
      found = k
      break
    }
    if let i = found {
      if list[i].status != status { list[i].lastTransitionTime = now }
      list[i].status = status
      list[i].reason = reason
      list[i].message = message
    } else {
      list.append(
        HPACondition(
          type: type, status: status, reason: reason, message: message,
          lastTransitionTime: now))
    }
  }
}
