import Foundation

/// kube-controller-manager's horizontal-pod-autoscaler flags, with upstream's defaults.
public struct HPAControllerFlags: Sendable, Equatable {
  /// `--horizontal-pod-autoscaler-sync-period` (15 s).
  public var syncPeriodMillis: Int64 = 15_000
  /// `--horizontal-pod-autoscaler-tolerance` (0.1).
  public var tolerance: Double = 0.1
  /// `--horizontal-pod-autoscaler-downscale-stabilization` (5 min).
  public var downscaleStabilizationMillis: Int64 = 300_000
  /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
  public var cpuInitializationPeriodMillis: Int64 = 300_000
  /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
  public var initialReadinessDelayMillis: Int64 = 30_000
  /// The `HPAConfigurableTolerance` gate (alpha in 1.33, on by default from 1.35): whether
  /// `behavior.scaleUp/scaleDown.tolerance` is honoured.
  public var configurableTolerance: Bool = true
  /// The `HPAScaleToZero` gate (alpha, off by default): whether `minReplicas: 0` is accepted.
  public var scaleToZero: Bool = false

  @inlinable
  public init() {}
}

/// What the metrics APIs return to the controller. Each call may fail with upstream's message.
public protocol HPAMetricsSource {
  /// `metrics.k8s.io` PodMetrics of the HPA's pods (empty: no metrics returned).
  func podResourceMetrics() throws(HPAMetricError) -> [PodResourceMetrics]
  /// The samples of `resource` (one container's, or the pod's sum) aligned with `pods`, and
  /// the list's timestamp; nil when no metrics were returned. The default goes through
  /// `podResourceMetrics` as upstream's metrics client does.
  func resourceSamples<P: HPAPodView>(resource: String, container: String?, pods: [P])
    throws(HPAMetricError) -> (samples: PodMetricSet, timestamp: UnixMillis)?
  /// `custom.metrics.k8s.io` values of a metric for the HPA's pods, by pod name.
  func podsMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    samples: [(podName: String, sample: PodMetricSample)], timestamp: UnixMillis
  )
  /// `custom.metrics.k8s.io` value of a metric describing one object.
  func objectMetric(_ object: ObjectRef, _ metric: HPAMetricIdentifier) throws(HPAMetricError)
    -> (valueMilli: Int64, timestamp: UnixMillis)
  /// `external.metrics.k8s.io` series of a metric (summed by the controller).
  func externalMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    seriesMilli: [Int64], timestamp: UnixMillis
  )
}

extension HPAMetricsSource {
  @inlinable
  public func resourceSamples<P: HPAPodView>(resource: String, container: String?, pods: [P])
    throws(HPAMetricError) -> (samples: PodMetricSet, timestamp: UnixMillis)?
  {
    let raw = try podResourceMetrics()
    guard let first = raw.first else { return nil }
    let samples = raw.compactMap { m -> (podName: String, sample: PodMetricSample)? in
      let s = container.map { m.containerSample(resource, container: $0) } ?? m.podSample(resource)
      return s.map { (m.podName, $0) }
    }
    return (PodMetricSet(podNames: pods.map(\.podName), samples: samples), first.timestamp)
  }
}

/// One metric's outcome in a reconcile.
public struct HPAMetricOutcome: Sendable, Equatable {
  public var spec: HPAMetricSpec
  /// Upstream's description of the metric (`cpu resource utilization (percentage of request)`).
  public var description: String
  public var proposal: HPAProposal?
  /// Why it failed: the condition reason (`FailedGetResourceMetric`, …) and the error (the
  /// Warning event's message; the condition's message prefixes it with "the HPA was unable
  /// to compute the replica count: ").
  public var failure: (reason: String, message: String)?

  @inlinable public init(
    spec: HPAMetricSpec, description: String, proposal: HPAProposal?,
    failure: (reason: String, message: String)?
  ) {
    self.spec = spec
    self.description = description
    self.proposal = proposal
    self.failure = failure
  }

  @inlinable
  public static func == (a: HPAMetricOutcome, b: HPAMetricOutcome) -> Bool {
    a.spec == b.spec && a.description == b.description && a.proposal == b.proposal
      && a.failure?.reason == b.failure?.reason && a.failure?.message == b.failure?.message
  }
}

/// An event the controller records on the HPA.
public struct HPAEvent: Sendable, Equatable {
  public var type: String
  public var reason: String
  public var message: String
  @inlinable public init(type: String, reason: String, message: String) {
    self.type = type
    self.reason = reason
    self.message = message
  }
}

/// The outcome of one reconcile: the scale written (if any), the status, and the steps that
/// shaped the count.
public struct HPAReconcile: Sendable, Equatable {
  /// `spec.replicas` of the target when read.
  public var currentReplicas: Int32
  /// `status.desiredReplicas` after the reconcile.
  public var desiredReplicas: Int32
  /// Whether the target's scale was written.
  public var rescaled: Bool
  /// The largest metric proposal, before normalisation (nil when none was computed).
  public var proposal: Int32?
  /// After stabilisation (nil on paths without normalisation).
  public var stabilized: Int32?
  public var metrics: [HPAMetricOutcome]
  public var conditions: [HPACondition]
  public var events: [HPAEvent]
  /// The tolerances the metrics were judged with.
  public var tolerances: HPATolerances
  /// The special case that decided, when no metric did: `ScalingDisabled`,
  /// `AboveMaxReplicas`, `BelowMinReplicas`, or `FailedComputeMetricsReplicas`.
  public var shortcut: String?
  /// The recommendation windows used (seconds) on the behavior path, or the legacy window.
  public var upWindowSeconds: Int32
  public var downWindowSeconds: Int32

  @inlinable public init(
    currentReplicas: Int32, desiredReplicas: Int32, rescaled: Bool, proposal: Int32? = nil,
    stabilized: Int32? = nil, metrics: [HPAMetricOutcome], conditions: [HPACondition],
    events: [HPAEvent], tolerances: HPATolerances, shortcut: String? = nil,
    upWindowSeconds: Int32, downWindowSeconds: Int32
  ) {
    self.currentReplicas = currentReplicas
    self.desiredReplicas = desiredReplicas
    self.rescaled = rescaled
    self.proposal = proposal
    self.stabilized = stabilized
    self.metrics = metrics
    self.conditions = conditions
    self.events = events
    self.tolerances = tolerances
    self.shortcut = shortcut
    self.upWindowSeconds = upWindowSeconds
    self.downWindowSeconds = downWindowSeconds
  }
}

/// The horizontal controller's reconcile of one HPA (`horizontal.go: reconcileAutoscaler`),
/// with its in-memory history for that HPA.
public struct HorizontalController: Sendable {
  public var flags: HPAControllerFlags

  @inlinable
  public init(flags: HPAControllerFlags = HPAControllerFlags()) { self.flags = flags }

  @inlinable
  var calculator: ReplicaCalculator {
    ReplicaCalculator(
      cpuInitializationPeriodMillis: flags.cpuInitializationPeriodMillis,
      initialReadinessDelayMillis: flags.initialReadinessDelayMillis)
  }

  /// The tolerances for `hpa`: its behavior's per-direction tolerance when the gate is on,
  /// else the flag's.
  @inlinable
  public func tolerances(for hpa: HPASpec) -> HPATolerances {
    var t = HPATolerances(scaleDown: flags.tolerance, scaleUp: flags.tolerance)
    if flags.configurableTolerance {
      if let d = hpa.behavior?.scaleDown?.tolerance { t.scaleDown = d }
      if let u = hpa.behavior?.scaleUp?.tolerance { t.scaleUp = u }
    }
    return t
  }

  /// One reconcile at `now`. `specReplicas`/`statusReplicas` are the target's scale;
  /// `conditions` the HPA's current status conditions (updated as upstream's `setCondition`).
  @inlinable
  public func reconcile<P: HPAPodView>(
    _ hpa: borrowing HPASpec, specReplicas: Int32, statusReplicas: Int32, pods: [P],
    metrics source: some HPAMetricsSource, history: inout HPAHistory,
    conditions: consuming [HPACondition] = [], previousDesiredReplicas: Int32? = nil,
    now: UnixMillis
  ) -> HPAReconcile {
    var conditions = conditions
    HPACondition.set(
      &conditions, "AbleToScale", .isTrue, "SucceededGetScale",
      "the HPA controller was able to get the target's current scale", now: now)
    let current = specReplicas
    if history.recommendations.isEmpty {
      history.recommendations = [HPAHistory.Recommendation(current, now)]
    }
    let tolerances = tolerances(for: hpa)
    let downWindow =
      hpa.behavior?.scaleDown?.stabilizationWindowSeconds
      ?? Int32(clamping: flags.downscaleStabilizationMillis / 1000)
    let upWindow =
      hpa.behavior == nil ? 0 : (hpa.behavior?.scaleUp?.stabilizationWindowSeconds ?? 0)
    var out = HPAReconcile(
      currentReplicas: current, desiredReplicas: current, rescaled: false, metrics: [],
      conditions: [], events: [], tolerances: tolerances, upWindowSeconds: upWindow,
      downWindowSeconds: downWindow)
    let minReplicas = hpa.minReplicas ?? 1
    var desired: Int32 = 0
    var reason = ""
    var rescale = true
    if current == 0 && minReplicas != 0 {
      rescale = false
      out.shortcut = "ScalingDisabled"
      HPACondition.set(
        &conditions, "ScalingActive", .isFalse, "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero", now: now)
    } else if current > hpa.maxReplicas {
      reason = "Current number of replicas above Spec.MaxReplicas"
      desired = hpa.maxReplicas
      out.shortcut = "AboveMaxReplicas"
    } else if current < minReplicas {
      reason = "Current number of replicas below Spec.MinReplicas"
      desired = minReplicas
      out.shortcut = "BelowMinReplicas"
    } else {
      let computed = computeReplicasForMetrics(
        hpa, specReplicas: specReplicas, statusReplicas: statusReplicas, pods: pods,
        source: source, tolerances: tolerances, conditions: &conditions, now: now)
      out.metrics = computed.outcomes
      // By index: each outcome handed out whole would be copied.
      for k in out.metrics.indices {
        if let f = out.metrics[k].failure {
          out.events.append(HPAEvent(type: "Warning", reason: f.reason, message: f.message))
        }
      }
      if let error = computed.error, computed.replicas == -1 {
        out.events.append(
          HPAEvent(type: "Warning", reason: "FailedComputeMetricsReplicas", message: error))
        out.shortcut = "FailedComputeMetricsReplicas"
        out.desiredReplicas = previousDesiredReplicas ?? current
        out.conditions = conditions
        return out
      }
      out.proposal = computed.replicas
      var metricName = ""
      if computed.replicas > desired {
        desired = computed.replicas
        metricName = computed.metric
      }
      if desired > current { reason = "\(metricName) above target" }
      if desired < current { reason = "All metrics below target" }
      desired = normalize(
        hpa, history: &history, current: current, proposal: desired, minReplicas: minReplicas,
        downWindow: downWindow, upWindow: upWindow, conditions: &conditions, out: &out, now: now)
      rescale = desired != current
    }
    if rescale {
      HPACondition.set(
        &conditions, "AbleToScale", .isTrue, "SucceededRescale",
        "the HPA controller was able to update the target scale to \(desired)", now: now)
      out.events.append(
        HPAEvent(
          type: "Normal", reason: "SuccessfulRescale",
          message: "New size: \(desired); reason: \(reason)"))
      HPANormalization.storeScaleEvent(
        &history, behavior: hpa.behavior.map(Self.defaulted), previous: current, new: desired,
        now: now)
      out.rescaled = true
    } else {
      desired = current
    }
    out.desiredReplicas = desired
    out.conditions = conditions
    return out
  }

  /// The behavior with the API's defaults filled in.
  @inlinable
  static func defaulted(_ b: HPABehavior) -> HPABehavior {
    HPABehavior(
      scaleUp: HPAScalingRules.defaultedScaleUp(b.scaleUp),
      scaleDown: HPAScalingRules.defaultedScaleDown(b.scaleDown))
  }

  @inlinable
  func normalize(
    _ hpa: HPASpec, history: inout HPAHistory, current: Int32, proposal: Int32,
    minReplicas: Int32, downWindow: Int32, upWindow: Int32, conditions: inout [HPACondition],
    out: inout HPAReconcile, now: UnixMillis
  ) -> Int32 {
    let stabilized: Int32
    let converted: (replicas: Int32, limit: HPALimit)
    if let behavior = hpa.behavior {
      let b = Self.defaulted(behavior)
      let s = HPANormalization.stabilizeWithBehaviors(
        &history, proposal: proposal, current: current, upWindowSeconds: upWindow,
        downWindowSeconds: downWindow, now: now)
      stabilized = s.replicas
      let able = stabilized != proposal ? s.limit : HPALimit.readyForNewScale
      HPACondition.set(&conditions, "AbleToScale", .isTrue, able.reason, able.message, now: now)
      converted = HPANormalization.convertWithBehaviorRate(
        current: current, desired: stabilized, minReplicas: minReplicas,
        maxReplicas: hpa.maxReplicas, scaleUp: b.scaleUp!, scaleDown: b.scaleDown!,
        history: history, now: now)
    } else {
      stabilized = HPANormalization.stabilizeLegacy(
        &history, proposal: proposal, windowMillis: flags.downscaleStabilizationMillis, now: now)
      let able = stabilized != proposal ? HPALimit.scaleDownStabilized : .readyForNewScale
      HPACondition.set(&conditions, "AbleToScale", .isTrue, able.reason, able.message, now: now)
      converted = HPANormalization.convertWithRules(
        current: current, desired: stabilized, minReplicas: minReplicas,
        maxReplicas: hpa.maxReplicas)
    }
    out.stabilized = stabilized
    HPACondition.set(
      &conditions, "ScalingLimited", converted.replicas == stabilized ? .isFalse : .isTrue,
      converted.limit.reason, converted.limit.message, now: now)
    return converted.replicas
  }

  @usableFromInline
  struct Computed {
    @usableFromInline var replicas: Int32
    @usableFromInline var metric: String
    @usableFromInline var outcomes: [HPAMetricOutcome]
    @usableFromInline var error: String?
    @inlinable init(replicas: Int32, metric: String, outcomes: [HPAMetricOutcome], error: String?) {
      self.replicas = replicas
      self.metric = metric
      self.outcomes = outcomes
      self.error = error
    }
  }

  /// `computeReplicasForMetrics`: the largest proposal; all failed, or some failed while the
  /// rest would scale down → no proposal (-1) and ScalingActive False with the first failure.
  @inlinable
  func computeReplicasForMetrics<P: HPAPodView>(
    _ hpa: HPASpec, specReplicas: Int32, statusReplicas: Int32, pods: [P],
    source: some HPAMetricsSource, tolerances: HPATolerances, conditions: inout [HPACondition],
    now: UnixMillis
  ) -> Computed {
    var replicas: Int32 = 0
    var metric = ""
    var outcomes: [HPAMetricOutcome] = []
    var invalid = 0
    var firstFailure: (reason: String, message: String, error: String)?
    outcomes.reserveCapacity(hpa.metrics.count)
    // By index, and each outcome read before it is moved into the list: a metric spec or an
    // outcome copied would retain all it holds.
    for k in hpa.metrics.indices {
      let (outcome, error) = computeReplicasForMetric(
        hpa, hpa.metrics[k], description: hpa.metricDescriptions[k], specReplicas: specReplicas,
        statusReplicas: statusReplicas, pods: pods,
        source: source, tolerances: tolerances, now: now)
      if let f = outcome.failure {
        if invalid == 0 {
          firstFailure = (
            f.reason, "the HPA was unable to compute the replica count: \(f.message)",
            error ?? f.message
          )
        }
        invalid += 1
        outcomes.append(outcome)
        continue
      }
      let p = outcome.proposal!.replicas
      if replicas == 0 || p > replicas {
        replicas = p
        metric = outcome.description
      }
      outcomes.append(outcome)
    }
    var error: String?
    if let firstFailure {
      error =
        "invalid metrics (\(invalid) invalid out of \(hpa.metrics.count)), first error is: \(firstFailure.error)"
    }
    if invalid >= hpa.metrics.count || (invalid > 0 && replicas < specReplicas) {
      if let f = firstFailure {
        HPACondition.set(&conditions, "ScalingActive", .isFalse, f.reason, f.message, now: now)
      }
      return Computed(replicas: -1, metric: "", outcomes: outcomes, error: error ?? "no metrics")
    }
    // The message is the same as long as the deciding metric is: built only when it changes.
    var current: Int?
    for k in conditions.indices where conditions[k].type == "ScalingActive" {
      current = k
      break
    }
    if current.map({
      conditions[$0].status != .isTrue || conditions[$0].reason != "ValidMetricFound"
        || !Self.endsWith(conditions[$0].message, metric)
    }) ?? true {
      HPACondition.set(
        &conditions, "ScalingActive", .isTrue, "ValidMetricFound",
        "the HPA was able to successfully calculate a replica count from \(metric)", now: now)
    }
    return Computed(replicas: replicas, metric: metric, outcomes: outcomes, error: error)
  }

  /// Whether `text`'s UTF-8 ends with `suffix`'s. Enough where both are built from the same
  /// strings, and much cheaper than `hasSuffix`, which compares by Unicode's rules.
  @inlinable
  static func endsWith(_ text: String, _ suffix: String) -> Bool {
    // SAFETY: both buffers are the strings' own bytes, read while the closures run; the
    // compared range lies within each (`t.count >= s.count`).
    let found = text.utf8.withContiguousStorageIfAvailable { t in
      suffix.utf8.withContiguousStorageIfAvailable { s in
        guard t.count >= s.count else { return false }
        guard let sb = s.baseAddress, let tb = t.baseAddress else { return true }
        return memcmp(tb + (t.count - s.count), sb, s.count) == 0
      }
    }
    return (found ?? nil) ?? text.utf8.reversed().starts(with: suffix.utf8.reversed())
  }

  /// One metric (`computeReplicasForMetric` and the `computeStatusFor…` helpers), with
  /// upstream's descriptions and error texts.
  @inlinable
  func computeReplicasForMetric<P: HPAPodView>(
    _ hpa: HPASpec, _ spec: HPAMetricSpec, description: String, specReplicas: Int32,
    statusReplicas: Int32,
    pods: [P], source: some HPAMetricsSource, tolerances: HPATolerances, now: UnixMillis
  ) -> (outcome: HPAMetricOutcome, error: String?) {
    let calc = calculator
    func failed(_ description: String, _ reason: String, _ inner: String, _ outer: String)
      -> (outcome: HPAMetricOutcome, error: String?)
    {
      var o = HPAMetricOutcome(spec: spec, description: description, proposal: nil, failure: nil)
      o.failure = (reason, inner)
      return (o, outer)
    }
    switch spec {
    case .resource(let name, let target), .containerResource(let name, _, let target):
      var container: String?
      if case .containerResource(_, let c, _) = spec { container = c }
      let reason = container == nil ? "FailedGetResourceMetric" : "FailedGetContainerResourceMetric"
      // Built only on failure: every successful reconcile would allocate it for nothing.
      func outerPrefix() -> String {
        container == nil
          ? "failed to get \(name) resource metric value: "
          : "failed to get \(container!) container metric value: "
      }
      do throws(HPAMetricError) {
        let got: (samples: PodMetricSet, timestamp: UnixMillis)
        do throws(HPAMetricError) {
          guard let g = try source.resourceSamples(resource: name, container: container, pods: pods)
          else { throw HPAMetricError("no metrics returned from resource metrics API") }
          got = g
        } catch {
          throw HPAMetricError("unable to get metrics for resource \(name): \(error.message)")
        }
        let set = got.samples
        let p: HPAProposal
        switch target {
        case .utilization(let percent):
          do throws(HPAMetricError) {
            p = try calc.resourceUtilizationReplicas(
              currentReplicas: specReplicas, targetPercent: percent, resource: name,
              container: container, pods: pods, metrics: set, timestamp: got.timestamp,
              tolerances: tolerances, now: now)
          } catch {
            throw HPAMetricError("failed to get \(name) utilization: \(error.message)")
          }
        case .averageValue(let milli):
          do throws(HPAMetricError) {
            p = try calc.plainMetricReplicas(
              currentReplicas: specReplicas, targetMilli: milli, resource: name, pods: pods,
              metrics: set, timestamp: got.timestamp, tolerances: tolerances, now: now)
          } catch {
            throw HPAMetricError("failed to get \(name) usage: \(error.message)")
          }
        case .value:
          throw HPAMetricError(
            "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set"
          )
        }
        return (
          HPAMetricOutcome(spec: spec, description: description, proposal: p, failure: nil), nil
        )
      } catch {
        return failed(description, reason, error.message, outerPrefix() + error.message)
      }
    case .pods(let metric, let target):
      guard case .averageValue(let milli) = target else {
        let m = "invalid pods metric source: the target must be an average value"
        return failed(
          description, "FailedGetPodsMetric", m, "failed to get pods metric value: \(m)")
      }
      do throws(HPAMetricError) {
        let got: (samples: [(podName: String, sample: PodMetricSample)], timestamp: UnixMillis)
        do throws(HPAMetricError) {
          got = try source.podsMetric(metric)
        } catch {
          throw HPAMetricError("unable to get metric \(metric.name): \(error.message)")
        }
        let p = try calc.plainMetricReplicas(
          currentReplicas: specReplicas, targetMilli: milli, resource: nil, pods: pods,
          metrics: PodMetricSet(podNames: pods.map(\.podName), samples: got.samples),
          timestamp: got.timestamp,
          tolerances: tolerances, now: now)
        return (
          HPAMetricOutcome(spec: spec, description: description, proposal: p, failure: nil), nil
        )
      } catch {
        return failed(
          description, "FailedGetPodsMetric", error.message,
          "failed to get pods metric value: \(error.message)")
      }
    case .object(let object, let metric, let target):
      do throws(HPAMetricError) {
        let got: (valueMilli: Int64, timestamp: UnixMillis)
        do throws(HPAMetricError) {
          got = try source.objectMetric(object, metric)
        } catch {
          throw HPAMetricError(
            "unable to get metric \(metric.name): \(object.kind) on \(hpa.namespace) \(object.name)/\(error.message)"
          )
        }
        var p: HPAProposal
        switch target {
        case .value(let milli):
          p = try calc.objectValueReplicas(
            currentReplicas: specReplicas, targetMilli: milli, valueMilli: got.valueMilli,
            pods: pods, tolerances: tolerances)
        case .averageValue(let milli):
          p = calc.perPodValueReplicas(
            statusReplicas: statusReplicas, targetAverageMilli: milli, valueMilli: got.valueMilli,
            tolerances: tolerances)
        case .utilization:
          throw HPAMetricError(
            "invalid object metric source: neither a value target nor an average value target was set"
          )
        }
        p.timestamp = got.timestamp
        return (
          HPAMetricOutcome(spec: spec, description: description, proposal: p, failure: nil), nil
        )
      } catch {
        return failed(
          description, "FailedGetObjectMetric", error.message,
          "failed to get object metric value: \(error.message)")
      }
    case .external(let metric, let target):
      do throws(HPAMetricError) {
        let got: (seriesMilli: [Int64], timestamp: UnixMillis)
        do throws(HPAMetricError) {
          got = try source.externalMetric(metric)
        } catch {
          throw HPAMetricError(
            "unable to get external metric \(hpa.namespace)/\(metric.name)/\(HPAMetricSpec.goSelector(metric.selector)): \(error.message)"
          )
        }
        var p: HPAProposal
        switch target {
        case .value(let milli):
          p = try calc.externalValueReplicas(
            currentReplicas: specReplicas, targetMilli: milli, seriesMilli: got.seriesMilli,
            pods: pods, tolerances: tolerances)
        case .averageValue(let milli):
          p = calc.perPodValueReplicas(
            statusReplicas: statusReplicas, targetAverageMilli: milli,
            valueMilli: ReplicaCalculator.saturatingSum(got.seriesMilli), tolerances: tolerances)
        case .utilization:
          throw HPAMetricError(
            "invalid external metric source: neither a value target nor an average value target was set"
          )
        }
        p.timestamp = got.timestamp
        return (
          HPAMetricOutcome(spec: spec, description: description, proposal: p, failure: nil), nil
        )
      } catch {
        return failed(
          description, "FailedGetExternalMetric", error.message,
          "failed to get \(metric.name) external metric value: \(error.message)")
      }
    }
  }

}
