import BerthAutoscaling
import BerthCore

/// The Kubernetes-native inputs of `berth hpa explain`: an autoscaling/v2
/// HorizontalPodAutoscaler, the pods (`kubectl get pods -o yaml`), the metrics APIs' answers
/// and, optionally, the controller's history. Each read strictly: an unknown field, a bad
/// quantity or time is one error line naming file, line and field.
public enum HPAInputs {
  /// The HPA as read: its spec and the status fields the controller starts from.
  public struct HPAObject: Sendable {
    public var spec: HPASpec
    public var currentReplicas: Int32?
    public var desiredReplicas: Int32?
    public var conditions: [HPACondition]
    public var lastScaleTime: UnixMillis?
  }

  /// A pod with what selection needs besides the controller's view.
  public struct PodObject: Sendable {
    public var namespace: String
    public var labels: [String: String]
    public var pod: HPAPod
  }

  /// The metrics documents of one file (or several), by API.
  public struct Metrics: Sendable {
    public var podMetrics: [(namespace: String, metrics: PodResourceMetrics)] = []
    public struct CustomValue: Sendable {
      public var describedObject: ObjectRef
      public var namespace: String
      public var metric: String
      public var timestamp: UnixMillis
      public var valueMilli: Int64
    }
    public var custom: [CustomValue] = []
    public struct ExternalValue: Sendable {
      public var metric: String
      public var labels: [String: String]
      public var timestamp: UnixMillis
      public var valueMilli: Int64
    }
    public var external: [ExternalValue] = []
    public init() {}

    /// The newest timestamp of any sample (what `--now` defaults to).
    public var newestTimestamp: UnixMillis? {
      (podMetrics.map(\.metrics.timestamp) + custom.map(\.timestamp) + external.map(\.timestamp))
        .max()
    }
  }

  // MARK: Documents

  /// Every non-empty YAML (or JSON) document of `path`.
  static func documents(_ path: String) throws(InputError) -> [YAMLValue] {
    try documents(text: try InputFile.text(path), file: path)
  }

  static func documents(text: String, file: String) throws(InputError) -> [YAMLValue] {
    var roots: [YAMLValue] = []
    try InputFile.withBytes(text) { bytes throws(InputError) in
      try YAMLParser.parse(bytes, file: file) { tree throws(InputError) in
        if let root = tree.root, !root.isNull { roots.append(root) }
      }
    }
    return roots
  }

  /// A time field: RFC 3339, Go's zero time included.
  package static func time(_ v: YAMLValue) throws(InputError) -> UnixMillis {
    guard let ms = RFC3339.parseMillis(try v.string()) else {
      throw v.error("expected an RFC 3339 time such as 2024-05-01T12:00:00Z")
    }
    return UnixMillis(ms)
  }

  static func milli(_ v: YAMLValue, positive: Bool = false, nonNegative: Bool = false)
    throws(InputError) -> Int64
  {
    let q = try v.quantity(nonNegative: nonNegative || positive)
    let m: Int64
    do throws(QuantityError) {
      m = try q.milliValue()
    } catch {
      throw v.error(error.description)
    }
    if positive && m <= 0 { throw v.error("must be greater than 0") }
    return m
  }

  static func kind(_ v: YAMLValue) throws(InputError) -> String {
    guard let k = try v.child("kind")?.string() else { throw v.error("missing kind") }
    return k
  }

  // MARK: HorizontalPodAutoscaler

  /// The one HorizontalPodAutoscaler of `path`, defaulted and validated as the API server
  /// does (no metrics → CPU at 80 %; min ≥ 1 unless `scaleToZero`; windows, periods and
  /// targets within the API's bounds).
  public static func hpa(path: String, scaleToZero: Bool = false) throws(InputError)
    -> HPAObject
  {
    try hpa(text: try InputFile.text(path), file: path, scaleToZero: scaleToZero)
  }

  public static func hpa(text: String, file path: String, scaleToZero: Bool = false)
    throws(InputError) -> HPAObject
  {
    let docs = try documents(text: text, file: path)
    var found: [YAMLValue] = []
    for d in docs {
      let k = try kind(d)
      if k == "HorizontalPodAutoscalerList" {
        try StrictFields.check(d, typeName: "V2HorizontalPodAutoscalerList")
        found += try d.child("items")?.sequence() ?? []
      } else if k == "HorizontalPodAutoscaler" {
        found.append(d)
      } else {
        throw (d.child("kind") ?? d).error(
          "expected kind HorizontalPodAutoscaler (autoscaling/v2), found \(Escaped(k))")
      }
    }
    guard found.count == 1 else {
      throw InputError(
        file: path, line: found.dropFirst().first?.line,
        "expected one HorizontalPodAutoscaler, found \(found.count)")
    }
    return try hpa(found[0], scaleToZero: scaleToZero)
  }

  package static func hpa(_ v: YAMLValue, scaleToZero: Bool) throws(InputError) -> HPAObject {
    try StrictFields.check(v, kind: "HorizontalPodAutoscaler")
    let api = try v.child("apiVersion")?.string() ?? ""
    guard api == "autoscaling/v2" else {
      throw (v.child("apiVersion") ?? v).error(
        "expected apiVersion autoscaling/v2, found \(Escaped(api))")
    }
    let meta = v.child("metadata")
    guard let name = try meta?.child("name")?.string(), !name.isEmpty else {
      throw (meta ?? v).error("the HorizontalPodAutoscaler needs metadata.name")
    }
    let namespace = try meta?.child("namespace")?.string() ?? "default"
    guard let spec = v.child("spec") else { throw v.error("missing spec") }
    guard let refNode = spec.child("scaleTargetRef") else {
      throw spec.error("missing scaleTargetRef")
    }
    let ref = ObjectRef(
      apiVersion: try refNode.child("apiVersion")?.string() ?? "",
      kind: try refNode.child("kind")?.string() ?? "",
      name: try refNode.child("name")?.string() ?? "")
    guard !ref.kind.isEmpty, !ref.name.isEmpty else {
      throw refNode.error("scaleTargetRef needs kind and name")
    }
    guard let maxNode = spec.child("maxReplicas") else { throw spec.error("missing maxReplicas") }
    let maxReplicas = try maxNode.int32()
    guard maxReplicas >= 1 else { throw maxNode.error("must be greater than or equal to 1") }
    var minReplicas: Int32?
    if let m = spec.child("minReplicas") {
      let value = try m.int32()
      guard value >= 0 else { throw m.error("must be greater than or equal to 0") }
      minReplicas = value
    }
    var metrics: [HPAMetricSpec] = []
    for m in try spec.child("metrics")?.sequence() ?? [] { metrics.append(try metric(m)) }
    if metrics.isEmpty { metrics = [.resource(name: "cpu", target: .utilization(percent: 80))] }
    if let minReplicas {
      if minReplicas == 0 {
        guard scaleToZero else {
          throw spec.child("minReplicas")!.error(
            "must be greater than or equal to 1 (0 needs the HPAScaleToZero feature gate)")
        }
        guard
          metrics.contains(where: {
            if case .object = $0 { true } else if case .external = $0 { true } else { false }
          })
        else {
          throw spec.child("minReplicas")!.error(
            "must be greater than or equal to 1 unless at least one Object or External metric is configured"
          )
        }
      }
      guard minReplicas <= maxReplicas else {
        throw maxNode.error("must be greater than or equal to minReplicas (\(minReplicas))")
      }
    }
    var behavior: HPABehavior?
    if let b = spec.child("behavior") {
      behavior = HPABehavior(
        scaleUp: try b.child("scaleUp").map { r throws(InputError) in try rules(r) },
        scaleDown: try b.child("scaleDown").map { r throws(InputError) in try rules(r) })
    }
    let status = v.child("status")
    var conditions: [HPACondition] = []
    for c in try status?.child("conditions")?.sequence() ?? [] {
      let statusText = try c.child("status")?.string() ?? ""
      guard let st = ConditionStatus(rawValue: statusText) else {
        throw (c.child("status") ?? c).error("expected True, False or Unknown")
      }
      conditions.append(
        HPACondition(
          type: try c.child("type")?.string() ?? "", status: st,
          reason: try c.child("reason")?.string() ?? "",
          message: try c.child("message")?.string() ?? "",
          lastTransitionTime: try c.child("lastTransitionTime").map { t throws(InputError) in
            try time(t)
          }))
    }
    return HPAObject(
      spec: HPASpec(
        namespace: namespace, name: name, scaleTargetRef: ref, minReplicas: minReplicas,
        maxReplicas: maxReplicas, metrics: metrics, behavior: behavior),
      currentReplicas: try status?.child("currentReplicas")?.int32(),
      desiredReplicas: try status?.child("desiredReplicas")?.int32(), conditions: conditions,
      lastScaleTime: try status?.child("lastScaleTime").map { t throws(InputError) in try time(t) })
  }

  static func target(_ v: YAMLValue?, in parent: YAMLValue) throws(InputError) -> HPAMetricTarget {
    guard let v else { throw parent.error("missing target") }
    let type = try v.child("type")?.string() ?? ""
    switch type {
    case "Utilization":
      guard let u = v.child("averageUtilization") else {
        throw v.error("a Utilization target needs averageUtilization")
      }
      let p = try u.int32()
      guard p > 0 else { throw u.error("must be greater than 0") }
      return .utilization(percent: p)
    case "Value":
      guard let q = v.child("value") else { throw v.error("a Value target needs value") }
      return .value(milli: try milli(q, positive: true))
    case "AverageValue":
      guard let q = v.child("averageValue") else {
        throw v.error("an AverageValue target needs averageValue")
      }
      return .averageValue(milli: try milli(q, positive: true))
    default:
      throw (v.child("type") ?? v).error(
        "expected target type Utilization, Value or AverageValue, found \(Escaped(type))")
    }
  }

  static func identifier(_ v: YAMLValue?, in parent: YAMLValue) throws(InputError)
    -> HPAMetricIdentifier
  {
    guard let v, let name = try v.child("name")?.string(), !name.isEmpty else {
      throw (v ?? parent).error("a metric needs metric.name")
    }
    var selector: [String: String]?
    if let s = v.child("selector") {
      if s.child("matchExpressions") != nil {
        throw s.error("metric selectors with matchExpressions are not supported; use matchLabels")
      }
      selector = try s.child("matchLabels")?.stringMap() ?? [:]
    }
    return HPAMetricIdentifier(name: name, selector: selector)
  }

  static func metric(_ m: YAMLValue) throws(InputError) -> HPAMetricSpec {
    let type = try m.child("type")?.string() ?? ""
    switch type {
    case "Resource":
      guard let r = m.child("resource"), let name = try r.child("name")?.string() else {
        throw m.error("a Resource metric needs resource.name")
      }
      let t = try target(r.child("target"), in: r)
      if case .value = t {
        throw r.error("a Resource metric's target must be Utilization or AverageValue")
      }
      return .resource(name: name, target: t)
    case "ContainerResource":
      guard let r = m.child("containerResource"), let name = try r.child("name")?.string(),
        let container = try r.child("container")?.string()
      else {
        throw m.error("a ContainerResource metric needs containerResource.name and .container")
      }
      let t = try target(r.child("target"), in: r)
      if case .value = t {
        throw r.error("a ContainerResource metric's target must be Utilization or AverageValue")
      }
      return .containerResource(name: name, container: container, target: t)
    case "Pods":
      guard let p = m.child("pods") else { throw m.error("a Pods metric needs pods") }
      let t = try target(p.child("target"), in: p)
      guard case .averageValue = t else {
        throw p.error("a Pods metric's target must be AverageValue")
      }
      return .pods(metric: try identifier(p.child("metric"), in: p), target: t)
    case "Object":
      guard let o = m.child("object"), let d = o.child("describedObject") else {
        throw m.error("an Object metric needs object.describedObject")
      }
      let ref = ObjectRef(
        apiVersion: try d.child("apiVersion")?.string() ?? "",
        kind: try d.child("kind")?.string() ?? "", name: try d.child("name")?.string() ?? "")
      let t = try target(o.child("target"), in: o)
      if case .utilization = t {
        throw o.error("an Object metric's target must be Value or AverageValue")
      }
      return .object(
        describedObject: ref, metric: try identifier(o.child("metric"), in: o), target: t)
    case "External":
      guard let e = m.child("external") else { throw m.error("an External metric needs external") }
      let t = try target(e.child("target"), in: e)
      if case .utilization = t {
        throw e.error("an External metric's target must be Value or AverageValue")
      }
      return .external(metric: try identifier(e.child("metric"), in: e), target: t)
    default:
      throw (m.child("type") ?? m).error(
        "expected metric type Resource, ContainerResource, Pods, Object or External, found \(Escaped(type))"
      )
    }
  }

  static func rules(_ r: YAMLValue) throws(InputError) -> HPAScalingRules {
    var out = HPAScalingRules()
    if let w = r.child("stabilizationWindowSeconds") {
      let s = try w.int32()
      guard (0...3600).contains(s) else { throw w.error("must be between 0 and 3600") }
      out.stabilizationWindowSeconds = s
    }
    if let p = r.child("selectPolicy") {
      let text = try p.string()
      guard let sp = HPAScalingRules.SelectPolicy(rawValue: text) else {
        throw p.error("expected Max, Min or Disabled, found \(Escaped(text))")
      }
      out.selectPolicy = sp
    }
    if let list = r.child("policies") {
      var policies: [HPAScalingRules.Policy] = []
      for p in try list.sequence() {
        let typeText = try p.child("type")?.string() ?? ""
        guard let kind = HPAScalingRules.Policy.Kind(rawValue: typeText) else {
          throw (p.child("type") ?? p).error(
            "expected policy type Pods or Percent, found \(Escaped(typeText))")
        }
        guard let valueNode = p.child("value") else { throw p.error("a policy needs value") }
        let value = try valueNode.int32()
        guard value > 0 else { throw valueNode.error("must be greater than 0") }
        guard let periodNode = p.child("periodSeconds") else {
          throw p.error("a policy needs periodSeconds")
        }
        let period = try periodNode.int32()
        guard (1...1800).contains(period) else {
          throw periodNode.error("must be between 1 and 1800")
        }
        policies.append(.init(kind, value, periodSeconds: period))
      }
      out.policies = policies
    }
    if let t = r.child("tolerance") {
      let q = try t.quantity(nonNegative: true)
      out.tolerance = approximateDouble(q)
    }
    return out
  }

  /// `Quantity.AsApproximateFloat64`.
  static func approximateDouble(_ q: Quantity) -> Double {
    var x = Double(q.coefficient)
    if q.exponent >= 0 {
      for _ in 0..<min(q.exponent, 400) { x *= 10 }
    } else {
      for _ in 0..<min(-q.exponent, 400) { x /= 10 }
    }
    return x
  }

  // MARK: KEDA

  /// Per KEDA scaler type, the metadata keys of its target and of its activation threshold.
  static let kedaThresholdKeys: [String: (target: String, activation: String)] = [
    "prometheus": ("threshold", "activationThreshold"),
    "rabbitmq": ("value", "activationValue"),
    "kafka": ("lagThreshold", "activationLagThreshold"),
    "aws-sqs-queue": ("queueLength", "activationQueueLength"),
    "azure-queue": ("queueLength", "activationQueueLength"),
    "redis": ("listLength", "activationListLength"),
    "metrics-api": ("targetValue", "activationTargetValue"),
    "cpu": ("value", "activationValue"),
    "memory": ("value", "activationValue"),
  ]

  /// A KEDA ScaledObject (keda.sh/v1alpha1). Triggers read a scenario load named by
  /// `metadata.load` (Berth's addition; cpu and memory triggers read the resource).
  package static func scaledObject(_ v: YAMLValue) throws(InputError) -> ScaledObjectSpec {
    try v.requireKeys(in: ["apiVersion", "kind", "metadata", "spec", "status"])
    let api = try v.child("apiVersion")?.string() ?? ""
    guard api == "keda.sh/v1alpha1" else {
      throw (v.child("apiVersion") ?? v).error(
        "expected apiVersion keda.sh/v1alpha1, found \(Escaped(api))")
    }
    let meta = v.child("metadata")
    guard let name = try meta?.child("name")?.string(), !name.isEmpty else {
      throw (meta ?? v).error("the ScaledObject needs metadata.name")
    }
    guard let spec = v.child("spec") else { throw v.error("missing spec") }
    try spec.requireKeys(in: [
      "scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
      "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers",
    ])
    guard let ref = spec.child("scaleTargetRef"), let target = try ref.child("name")?.string()
    else {
      throw spec.error("a ScaledObject needs scaleTargetRef.name")
    }
    try ref.requireKeys(in: ["name", "kind", "apiVersion", "envSourceContainerName"])
    var triggers: [ScaledObjectSpec.Trigger] = []
    for t in try spec.child("triggers")?.sequence() ?? [] {
      try t.requireKeys(in: [
        "type", "metadata", "metricType", "name", "authenticationRef", "useCachedMetrics",
      ])
      let type = try t.child("type")?.string() ?? ""
      let keys = kedaThresholdKeys[type] ?? ("threshold", "activationThreshold")
      let md = t.child("metadata")
      guard let targetNode = md?.child(keys.target) else {
        throw (md ?? t).error("a \(Escaped(type)) trigger needs metadata.\(keys.target)")
      }
      let metricType =
        try t.child("metricType")?.string()
        ?? (type == "cpu" || type == "memory" ? "Utilization" : "AverageValue")
      guard ["AverageValue", "Value", "Utilization"].contains(metricType) else {
        throw t.child("metricType")!.error("expected AverageValue, Value or Utilization")
      }
      var targetMilli = try milli(targetNode, positive: true)
      if metricType == "Utilization" { targetMilli = targetMilli / 1000 * 1000 }
      let activation =
        try md?.child(keys.activation).map { a throws(InputError) in try milli(a) } ?? 0
      var source = type
      if type != "cpu" && type != "memory" {
        guard let l = try md?.child("load")?.string() else {
          throw (md ?? t).error(
            "a \(Escaped(type)) trigger needs metadata.load: the scenario load it reads (Berth's addition)"
          )
        }
        source = l
      }
      triggers.append(
        ScaledObjectSpec.Trigger(
          type: type, metricType: metricType, targetMilli: targetMilli, activationMilli: activation,
          source: source))
    }
    guard !triggers.isEmpty else { throw spec.error("a ScaledObject needs at least one trigger") }
    var out = ScaledObjectSpec(
      namespace: try meta?.child("namespace")?.string() ?? "default", name: name,
      scaleTargetRef: ObjectRef(
        apiVersion: try ref.child("apiVersion")?.string() ?? "apps/v1",
        kind: try ref.child("kind")?.string() ?? "Deployment", name: target),
      triggers: triggers)
    func seconds(_ key: String) throws(InputError) -> Int32? {
      guard let n = spec.child(key) else { return nil }
      let x = try n.int32()
      guard x >= 0 else { throw n.error("must be ≥ 0") }
      return x
    }
    if let x = try seconds("pollingInterval") {
      guard x > 0 else { throw spec.child("pollingInterval")!.error("must be positive") }
      out.pollingInterval = x
    }
    if let x = try seconds("cooldownPeriod") { out.cooldownPeriod = x }
    if let x = try seconds("initialCooldownPeriod") { out.initialCooldownPeriod = x }
    if let x = try seconds("minReplicaCount") { out.minReplicaCount = x }
    if let x = try seconds("maxReplicaCount") { out.maxReplicaCount = x }
    if let x = try seconds("idleReplicaCount") {
      guard x < out.minReplicaCount else {
        throw spec.child("idleReplicaCount")!.error("must be less than minReplicaCount")
      }
      out.idleReplicaCount = x
    }
    guard out.maxReplicaCount >= max(out.minReplicaCount, 1) else {
      throw (spec.child("maxReplicaCount") ?? spec).error(
        "must be at least minReplicaCount (and 1)")
    }
    if let f = spec.child("fallback") {
      try f.requireKeys(in: ["failureThreshold", "replicas", "behavior"])
      guard let ft = f.child("failureThreshold"), let r = f.child("replicas") else {
        throw f.error("fallback needs failureThreshold and replicas")
      }
      out.fallback = (try ft.int32(), try r.int32())
      if let b = f.child("behavior") {
        let v = try b.string()
        let known = [
          "static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower",
        ]
        guard known.contains(v) else {
          throw b.error("expected one of \(known.joined(separator: ", "))")
        }
        out.fallbackBehavior = v
      }
    }
    if let a = spec.child("advanced") {
      try a.requireKeys(in: [
        "horizontalPodAutoscalerConfig", "restoreToOriginalReplicaCount", "scalingModifiers",
      ])
      if let h = a.child("horizontalPodAutoscalerConfig") {
        try h.requireKeys(in: ["name", "behavior"])
        out.hpaName = try h.child("name")?.string()
        if let b = h.child("behavior") {
          out.behavior = HPABehavior(
            scaleUp: try b.child("scaleUp").map { r throws(InputError) in try rules(r) },
            scaleDown: try b.child("scaleDown").map { r throws(InputError) in try rules(r) })
        }
      }
    }
    return out
  }

  // MARK: Pods

  /// The pods of `path`: Pod, PodList or List documents (what `kubectl get pods -o yaml`
  /// prints).
  public static func pods(path: String) throws(InputError) -> [PodObject] {
    try pods(text: try InputFile.text(path), file: path)
  }

  public static func pods(text: String, file: String) throws(InputError) -> [PodObject] {
    var out: [PodObject] = []
    for d in try documents(text: text, file: file) {
      let k = try kind(d)
      switch k {
      case "Pod": out.append(try pod(d))
      case "PodList", "List":
        if k == "PodList" { try StrictFields.check(d, typeName: "V1PodList") }
        for item in try d.child("items")?.sequence() ?? [] {
          let ik = try kind(item)
          guard ik == "Pod" else {
            throw (item.child("kind") ?? item).error("expected kind Pod, found \(Escaped(ik))")
          }
          out.append(try pod(item))
        }
      default:
        throw (d.child("kind") ?? d).error(
          "expected kind Pod, PodList or List, found \(Escaped(k))")
      }
    }
    return out
  }

  static func requests(_ c: YAMLValue) throws(InputError) -> [String: Int64] {
    var out: [String: Int64] = [:]
    guard let r = c.child("resources")?.child("requests") else { return out }
    for (k, v) in try r.mapping() { out[k] = try milli(v, nonNegative: true) }
    return out
  }

  static func pod(_ v: YAMLValue) throws(InputError) -> PodObject {
    try StrictFields.check(v, kind: "Pod")
    let meta = v.child("metadata")
    guard let name = try meta?.child("name")?.string(), !name.isEmpty else {
      throw (meta ?? v).error("a pod needs metadata.name")
    }
    let spec = v.child("spec")
    var containers: [HPAContainer] = []
    for c in try spec?.child("containers")?.sequence() ?? [] {
      containers.append(
        HPAContainer(name: try c.child("name")?.string() ?? "", requestsMilli: try requests(c)))
    }
    for c in try spec?.child("initContainers")?.sequence() ?? [] {
      guard try c.child("restartPolicy")?.string() == "Always" else { continue }
      containers.append(
        HPAContainer(
          name: try c.child("name")?.string() ?? "", requestsMilli: try requests(c),
          isSidecar: true))
    }
    var podLevel: [String: Int64]?
    if let r = spec?.child("resources")?.child("requests") {
      var m: [String: Int64] = [:]
      for (k, q) in try r.mapping() { m[k] = try milli(q, nonNegative: true) }
      podLevel = m
    }
    let status = v.child("status")
    var phase = PodPhase.pending
    if let p = status?.child("phase") {
      let text = try p.string()
      guard let ph = PodPhase(rawValue: text) else {
        throw p.error("expected \(PodPhase.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      phase = ph
    }
    var ready: (status: ConditionStatus, lastTransition: UnixMillis)?
    for c in try status?.child("conditions")?.sequence() ?? []
    where try c.child("type")?.string() == "Ready" {
      let text = try c.child("status")?.string() ?? ""
      guard let st = ConditionStatus(rawValue: text) else {
        throw (c.child("status") ?? c).error("expected True, False or Unknown")
      }
      ready = (
        st, try c.child("lastTransitionTime").map { t throws(InputError) in try time(t) } ?? .goZero
      )
    }
    return PodObject(
      namespace: try meta?.child("namespace")?.string() ?? "default",
      labels: try meta?.child("labels")?.stringMap() ?? [:],
      pod: HPAPod(
        name: name, phase: phase, isDeleting: meta?.child("deletionTimestamp") != nil,
        startTime: try status?.child("startTime").map { t throws(InputError) in try time(t) },
        ready: ready, containers: containers, podLevelRequestsMilli: podLevel))
  }

  // MARK: Metrics

  /// The metrics documents of `paths`: `metrics.k8s.io/v1beta1` PodMetrics/PodMetricsList,
  /// `custom.metrics.k8s.io/v1beta2` MetricValueList, `external.metrics.k8s.io/v1beta1`
  /// ExternalMetricValueList (also as JSON, as `kubectl get --raw` prints them).
  public static func metrics(paths: [String]) throws(InputError) -> Metrics {
    var out = Metrics()
    for path in paths {
      try metrics(text: try InputFile.text(path), file: path, into: &out)
    }
    return out
  }

  public static func metrics(text: String, file: String, into out: inout Metrics)
    throws(InputError)
  {
    for d in try documents(text: text, file: file) {
      let k = try kind(d)
      switch k {
      case "PodMetrics":
        try StrictFields.check(d, kind: k)
        out.podMetrics.append(try podMetrics(d))
      case "PodMetricsList":
        try StrictFields.check(d, kind: k)
        for item in try d.child("items")?.sequence() ?? [] {
          out.podMetrics.append(try podMetrics(item))
        }
      case "MetricValueList":
        try StrictFields.check(d, kind: k)
        for item in try d.child("items")?.sequence() ?? [] {
          guard let o = item.child("describedObject") else {
            throw item.error("a metric value needs describedObject")
          }
          out.custom.append(
            Metrics.CustomValue(
              describedObject: ObjectRef(
                apiVersion: try o.child("apiVersion")?.string() ?? "",
                kind: try o.child("kind")?.string() ?? "", name: try o.child("name")?.string() ?? ""
              ),
              namespace: try o.child("namespace")?.string() ?? "",
              metric: try item.child("metric")?.child("name")?.string() ?? "",
              timestamp: try item.child("timestamp").map { t throws(InputError) in try time(t) }
                ?? .goZero,
              valueMilli: try customValue(item)))
        }
      case "ExternalMetricValueList":
        try StrictFields.check(d, kind: k)
        for item in try d.child("items")?.sequence() ?? [] {
          guard let value = item.child("value") else {
            throw item.error("an external metric value needs value")
          }
          out.external.append(
            Metrics.ExternalValue(
              metric: try item.child("metricName")?.string() ?? "",
              labels: try item.child("metricLabels")?.stringMap() ?? [:],
              timestamp: try item.child("timestamp").map { t throws(InputError) in try time(t) }
                ?? .goZero,
              valueMilli: try milli(value)))
        }
      default:
        throw (d.child("kind") ?? d).error(
          "expected kind PodMetrics, PodMetricsList, MetricValueList or ExternalMetricValueList, found \(Escaped(k))"
        )
      }
    }
  }

  static func customValue(_ item: YAMLValue) throws(InputError) -> Int64 {
    guard let v = item.child("value") else { throw item.error("a metric value needs value") }
    return try milli(v)
  }

  static func podMetrics(_ v: YAMLValue) throws(InputError) -> (
    namespace: String, metrics: PodResourceMetrics
  ) {
    let meta = v.child("metadata")
    guard let name = try meta?.child("name")?.string(), !name.isEmpty else {
      throw (meta ?? v).error("PodMetrics needs metadata.name")
    }
    guard let ts = v.child("timestamp") else { throw v.error("PodMetrics needs timestamp") }
    var window: Int64 = 0
    if let w = v.child("window") {
      let text = try w.string()
      do throws(GoDuration.ParseError) {
        window = try GoDuration.parse(text) / 1_000_000
      } catch {
        throw w.error(error.description)
      }
    }
    var containers: [(name: String, usageMilli: [String: Int64])] = []
    for c in try v.child("containers")?.sequence() ?? [] {
      var usage: [String: Int64] = [:]
      for (k, q) in try c.child("usage")?.mapping() ?? [] { usage[k] = try milli(q) }
      containers.append((try c.child("name")?.string() ?? "", usage))
    }
    return (
      try meta?.child("namespace")?.string() ?? "default",
      PodResourceMetrics(
        podName: name, timestamp: try time(ts), windowMillis: window, containers: containers)
    )
  }

  // MARK: History

  /// Berth's HorizontalPodAutoscalerHistory (what `berth simulate` dumps): the controller's
  /// recommendations and scale events for one HPA.
  public static func history(path: String) throws(InputError) -> HPAHistory {
    try history(text: try InputFile.text(path), file: path)
  }

  public static func history(text: String, file path: String) throws(InputError) -> HPAHistory {
    let docs = try documents(text: text, file: path)
    guard docs.count == 1 else {
      throw InputError(
        file: path, "expected one HorizontalPodAutoscalerHistory document, found \(docs.count)")
    }
    let d = docs[0]
    try d.requireKeys(in: [
      "apiVersion", "kind", "metadata", "recommendations", "scaleUpEvents", "scaleDownEvents",
    ])
    guard try kind(d) == "HorizontalPodAutoscalerHistory" else {
      throw (d.child("kind") ?? d).error("expected kind HorizontalPodAutoscalerHistory")
    }
    var h = HPAHistory()
    for r in try d.child("recommendations")?.sequence() ?? [] {
      try r.requireKeys(in: ["replicas", "time"])
      guard let n = r.child("replicas"), let t = r.child("time") else {
        throw r.error("a recommendation needs replicas and time")
      }
      h.recommendations.append(.init(try n.int32(), try time(t)))
    }
    for (key, up) in [("scaleUpEvents", true), ("scaleDownEvents", false)] {
      for e in try d.child(key)?.sequence() ?? [] {
        try e.requireKeys(in: ["change", "time", "outdated"])
        guard let c = e.child("change"), let t = e.child("time") else {
          throw e.error("a scale event needs change and time")
        }
        let change = try c.int32()
        guard change >= 0 else { throw c.error("must be greater than or equal to 0") }
        let event = HPAHistory.ScaleEvent(
          change, try time(t), outdated: try e.child("outdated")?.bool() ?? false)
        if up { h.scaleUpEvents.append(event) } else { h.scaleDownEvents.append(event) }
      }
    }
    return h
  }

  /// The history as `history(path:)` reads it.
  public static func historyYAML(_ h: HPAHistory, namespace: String, name: String) -> String {
    var o = "apiVersion: berth.dev/v1alpha1\nkind: HorizontalPodAutoscalerHistory\n"
    o += "metadata: {namespace: \(namespace), name: \(name)}\n"
    o += "recommendations:\n"
    for r in h.recommendations {
      o += "- {replicas: \(r.replicas), time: \"\(RFC3339.format(millis: r.time.value))\"}\n"
    }
    for (key, events) in [
      ("scaleUpEvents", h.scaleUpEvents), ("scaleDownEvents", h.scaleDownEvents),
    ] {
      o += events.isEmpty ? "\(key): []\n" : "\(key):\n"
      for e in events {
        o +=
          "- {change: \(e.change), time: \"\(RFC3339.format(millis: e.time.value))\", outdated: \(e.outdated)}\n"
      }
    }
    return o
  }
}
