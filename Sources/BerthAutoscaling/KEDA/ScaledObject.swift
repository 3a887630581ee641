/// A KEDA ScaledObject (keda.sh/v1alpha1), as KEDA's operator reads it.
///
/// KEDA makes and owns an HPA (`keda-hpa-<name>`) whose metrics are External metrics, one per
/// trigger, served by its metrics adapter: scaling between 1 and `maxReplicaCount` is the HPA's.
/// Between 0 (or `idleReplicaCount`) and `minReplicaCount` KEDA acts itself, every
/// `pollingInterval`: a trigger is active while its value is above its activation threshold.
public struct ScaledObjectSpec: Sendable, Equatable {
  public struct Trigger: Sendable, Equatable {
    /// KEDA's scaler type (`prometheus`, `rabbitmq`, `kafka`, `aws-sqs-queue`, `metrics-api`,
    /// `cpu`, `memory`, …).
    public var type: String
    /// `metricType`: AverageValue (default), Value or Utilization.
    public var metricType: String
    /// The per-replica (AverageValue) or total (Value) target, milli-units; for cpu/memory a
    /// utilization percent or an average value.
    public var targetMilli: Int64
    /// `activationThreshold` (and the scaler-specific names for it), milli-units; default 0.
    public var activationMilli: Int64
    /// What the trigger reads: in Berth, a scenario load (`metadata.load`); for cpu and memory,
    /// the resource.
    public var source: String
    public init(
      type: String, metricType: String = "AverageValue", targetMilli: Int64,
      activationMilli: Int64 = 0, source: String
    ) {
      self.type = type
      self.metricType = metricType
      self.targetMilli = targetMilli
      self.activationMilli = activationMilli
      self.source = source
    }
    public var isResource: Bool { type == "cpu" || type == "memory" }
  }

  public var namespace: String
  public var name: String
  public var scaleTargetRef: ObjectRef
  /// Seconds; KEDA's defaults.
  public var pollingInterval: Int32 = 30
  public var cooldownPeriod: Int32 = 300
  public var initialCooldownPeriod: Int32 = 0
  public var minReplicaCount: Int32 = 0
  public var maxReplicaCount: Int32 = 100
  public var idleReplicaCount: Int32?
  /// `fallback`: replicas after `failureThreshold` failed reads of a trigger.
  public var fallback: (failureThreshold: Int32, replicas: Int32)?
  /// `fallback.behavior`: static (default), currentReplicas, currentReplicasIfHigher or
  /// currentReplicasIfLower.
  public var fallbackBehavior = "static"
  /// `advanced.horizontalPodAutoscalerConfig`: the HPA's name and behavior.
  public var hpaName: String?
  public var behavior: HPABehavior?
  public var triggers: [Trigger]

  public init(namespace: String, name: String, scaleTargetRef: ObjectRef, triggers: [Trigger]) {
    self.namespace = namespace
    self.name = name
    self.scaleTargetRef = scaleTargetRef
    self.triggers = triggers
  }

  public static func == (a: ScaledObjectSpec, b: ScaledObjectSpec) -> Bool {
    a.namespace == b.namespace && a.name == b.name && a.scaleTargetRef == b.scaleTargetRef
      && a.pollingInterval == b.pollingInterval && a.cooldownPeriod == b.cooldownPeriod
      && a.initialCooldownPeriod == b.initialCooldownPeriod
      && a.minReplicaCount == b.minReplicaCount && a.maxReplicaCount == b.maxReplicaCount
      && a.idleReplicaCount == b.idleReplicaCount
      && a.fallback?.failureThreshold == b.fallback?.failureThreshold
      && a.fallback?.replicas == b.fallback?.replicas && a.fallbackBehavior == b.fallbackBehavior
      && a.hpaName == b.hpaName
      && a.behavior == b.behavior && a.triggers == b.triggers
  }

  /// The HPA KEDA makes: `keda-hpa-<name>` (or the advanced name), min
  /// max(minReplicaCount, 1), max maxReplicaCount, one External metric per trigger named
  /// `s<i>-<type>` (Resource metrics for cpu and memory), the advanced behavior.
  public var hpa: HPASpec {
    var metrics: [HPAMetricSpec] = []
    for (i, t) in triggers.enumerated() {
      if t.isResource {
        let target: HPAMetricTarget =
          t.metricType == "Utilization"
          ? .utilization(percent: Int32(clamping: t.targetMilli / 1000))
          : .averageValue(milli: t.targetMilli)
        metrics.append(.resource(name: t.type, target: target))
      } else {
        let target: HPAMetricTarget =
          t.metricType == "Value"
          ? .value(milli: t.targetMilli) : .averageValue(milli: t.targetMilli)
        metrics.append(
          .external(
            metric: HPAMetricIdentifier(
              name: "s\(i)-\(t.type)", selector: ["scaledobject.keda.sh/name": name]),
            target: target))
      }
    }
    return HPASpec(
      namespace: namespace, name: hpaName ?? "keda-hpa-\(name)", scaleTargetRef: scaleTargetRef,
      minReplicas: max(minReplicaCount, 1), maxReplicas: maxReplicaCount, metrics: metrics,
      behavior: behavior)
  }
}

/// KEDA's own scaling decision at each poll (`scale_handler`/`scale_executor`): activation
/// takes a target at zero (or idle) to `max(minReplicaCount, 1)`; after `cooldownPeriod`
/// without any active trigger — counted from the last active poll; a target never active goes
/// at once — and not before `initialCooldownPeriod` from creation, a target above zero goes to
/// `idleReplicaCount` (or to 0 when `minReplicaCount` is 0). Everything else is the HPA's.
public enum KEDAScaling {
  /// The replicas KEDA sets now, or nil to leave the target as it is.
  /// - Parameters:
  ///   - lastActive: when a trigger was last active (nil: never).
  ///   - created: when the ScaledObject was created.
  public static func decide(
    _ spec: ScaledObjectSpec, current: Int32, active: Bool, isError: Bool = false,
    lastActive: UnixMillis?, created: UnixMillis, now: UnixMillis
  ) -> Int32? {
    let idle = spec.idleReplicaCount ?? (spec.minReplicaCount == 0 ? 0 : nil)
    if active {
      // From zero or idle: up to the minimum (at least one); the HPA takes it from there.
      if current == 0 || (idle != nil && current == idle! && current < max(spec.minReplicaCount, 1))
      {
        return max(spec.minReplicaCount, 1)
      }
      return nil
    }
    // A trigger that failed freezes the way down: with a fallback, so that the HPA can take
    // the target to the fallback count (an HPA does not scale a target at 0); without one, the
    // ScaledObject is just not Ready.
    if isError { return nil }
    guard let idle, current > idle else { return nil }
    // "The cooldown period only applies after a trigger occurs": a target never active goes
    // down at once (after the initial cooldown from creation).
    if let lastActive, now.value - lastActive.value < Int64(spec.cooldownPeriod) * 1000 {
      return nil
    }
    guard now.value - created.value >= Int64(spec.initialCooldownPeriod) * 1000 else { return nil }
    return idle
  }

  /// Whether a poll that found the trigger active but some trigger failing still counts as
  /// active for the cooldown: only when it takes the target from zero or idle (KEDA leaves
  /// `lastActiveTime` alone on a partial error).
  public static func refreshesLastActive(active: Bool, isError: Bool, scaledFromZero: Bool) -> Bool
  {
    active && (!isError || scaledFromZero)
  }

  /// The replicas the fallback stands for, by `fallback.behavior`.
  public static func fallbackReplicas(_ spec: ScaledObjectSpec, current: Int32) -> Int32? {
    guard let f = spec.fallback else { return nil }
    switch spec.fallbackBehavior {
    case "currentReplicas": return current
    case "currentReplicasIfHigher": return max(current, f.replicas)
    case "currentReplicasIfLower": return min(current, f.replicas)
    default: return f.replicas
    }
  }

  /// What KEDA's metrics adapter answers the HPA for trigger `t` after a failed read, the
  /// read being the `failures`-th in a row (`GetMetricsWithFallback`): with a fallback, an
  /// AverageValue trigger and more failures than `failureThreshold`, replicas × the target
  /// (so the HPA computes the fallback count); otherwise nil — the error stands.
  public static func fallbackValueMilli(
    _ spec: ScaledObjectSpec, trigger t: Int, failures: Int32, current: Int32
  ) -> Int64? {
    guard let f = spec.fallback, f.replicas > 0, f.failureThreshold >= 0,
      t < spec.triggers.count, !spec.triggers[t].isResource,
      spec.triggers[t].metricType == "AverageValue", failures > f.failureThreshold,
      let replicas = fallbackReplicas(spec, current: current)
    else { return nil }
    return spec.triggers[t].targetMilli.multipliedReportingOverflow(by: Int64(replicas))
      .partialValue
  }
}
