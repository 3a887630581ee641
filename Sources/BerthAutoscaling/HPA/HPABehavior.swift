/// `spec.behavior.scaleUp` / `scaleDown` (autoscaling/v2 `HPAScalingRules`), every field as
/// written (nil when unset); `defaultedScaleUp`/`defaultedScaleDown` fill them as the API does.
public struct HPAScalingRules: Sendable, Equatable {
  public enum SelectPolicy: String, Sendable, Equatable, CaseIterable {
    case max = "Max"
    case min = "Min"
    case disabled = "Disabled"
  }
  public struct Policy: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
      case pods = "Pods"
      case percent = "Percent"
    }
    public var kind: Kind
    public var value: Int32
    public var periodSeconds: Int32
    @inlinable
    public init(_ kind: Kind, _ value: Int32, periodSeconds: Int32) {
      self.kind = kind
      self.value = value
      self.periodSeconds = periodSeconds
    }
  }

  public var stabilizationWindowSeconds: Int32?
  public var selectPolicy: SelectPolicy?
  public var policies: [Policy]?
  /// `tolerance` (HPAConfigurableTolerance, v1.33+): this direction's tolerance; nil falls
  /// back to `--horizontal-pod-autoscaler-tolerance`.
  public var tolerance: Double?

  @inlinable
  public init(
    stabilizationWindowSeconds: Int32? = nil, selectPolicy: SelectPolicy? = nil,
    policies: [Policy]? = nil, tolerance: Double? = nil
  ) {
    self.stabilizationWindowSeconds = stabilizationWindowSeconds
    self.selectPolicy = selectPolicy
    self.policies = policies
    self.tolerance = tolerance
  }

  /// `GenerateHPAScaleUpRules`: window 0, Max, {4 pods, 100 %} per 15 s; `policies`, when set,
  /// replace the default list.
  @inlinable
  public static func defaultedScaleUp(_ r: HPAScalingRules?) -> HPAScalingRules {
    var out = r ?? HPAScalingRules()
    if out.stabilizationWindowSeconds == nil { out.stabilizationWindowSeconds = 0 }
    if out.selectPolicy == nil { out.selectPolicy = .max }
    if out.policies == nil || out.policies!.isEmpty {
      out.policies = [
        Policy(.pods, 4, periodSeconds: 15), Policy(.percent, 100, periodSeconds: 15),
      ]
    }
    return out
  }

  /// `GenerateHPAScaleDownRules`: Max, {100 %} per 15 s. The window stays nil here: the
  /// controller fills it with `--horizontal-pod-autoscaler-downscale-stabilization`.
  @inlinable
  public static func defaultedScaleDown(_ r: HPAScalingRules?) -> HPAScalingRules {
    var out = r ?? HPAScalingRules()
    if out.selectPolicy == nil { out.selectPolicy = .max }
    if out.policies == nil || out.policies!.isEmpty {
      out.policies = [Policy(.percent, 100, periodSeconds: 15)]
    }
    return out
  }

  @inlinable
  var longestPeriodSeconds: Int32 { (policies ?? []).map(\.periodSeconds).max() ?? 0 }
}

/// `spec.behavior`. Its presence (even empty) selects the controller's behavior path;
/// an HPA without it takes the legacy path.
public struct HPABehavior: Sendable, Equatable {
  public var scaleUp: HPAScalingRules?
  public var scaleDown: HPAScalingRules?
  @inlinable
  public init(scaleUp: HPAScalingRules? = nil, scaleDown: HPAScalingRules? = nil) {
    self.scaleUp = scaleUp
    self.scaleDown = scaleDown
  }
}

/// The horizontal controller's memory of one HPA (in process memory upstream; lost on a
/// restart): unstabilized recommendations, and scale events per direction (behavior path only).
public struct HPAHistory: Sendable, Equatable {
  public struct Recommendation: Sendable, Equatable {
    public var replicas: Int32
    public var time: UnixMillis
    @inlinable
    public init(_ replicas: Int32, _ time: UnixMillis) {
      self.replicas = replicas
      self.time = time
    }
  }
  public struct ScaleEvent: Sendable, Equatable {
    /// The absolute change.
    public var change: Int32
    public var time: UnixMillis
    /// Older than the direction's longest policy period when last looked at: its slot is free.
    public var outdated: Bool
    @inlinable
    public init(_ change: Int32, _ time: UnixMillis, outdated: Bool = false) {
      self.change = change
      self.time = time
      self.outdated = outdated
    }
  }
  public var recommendations: [Recommendation]
  public var scaleUpEvents: [ScaleEvent]
  public var scaleDownEvents: [ScaleEvent]

  @inlinable
  public init(
    recommendations: [Recommendation] = [], scaleUpEvents: [ScaleEvent] = [],
    scaleDownEvents: [ScaleEvent] = []
  ) {
    self.recommendations = recommendations
    self.scaleUpEvents = scaleUpEvents
    self.scaleDownEvents = scaleDownEvents
  }
}

/// A step of normalisation that set a condition: its reason and upstream's message.
public struct HPALimit: Sendable, Equatable {
  public var reason: String
  public var message: String
  @inlinable
  public init(_ reason: String, _ message: String) {
    self.reason = reason
    self.message = message
  }
  @usableFromInline
  static let withinRange = HPALimit(
    "DesiredWithinRange", "the desired count is within the acceptable range")
  @usableFromInline
  static let tooMany = HPALimit(
    "TooManyReplicas", "the desired replica count is more than the maximum replica count")
  @usableFromInline
  static let tooFew = HPALimit(
    "TooFewReplicas", "the desired replica count is less than the minimum replica count")
  @usableFromInline
  static let scaleUpRate = HPALimit(
    "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
  @usableFromInline
  static let scaleDownRate = HPALimit(
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate")
  @usableFromInline
  static let readyForNewScale = HPALimit(
    "ReadyForNewScale", "recommended size matches current size")
  @usableFromInline
  static let scaleDownStabilized = HPALimit(
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation"
  )
  @usableFromInline
  static let scaleUpStabilized = HPALimit(
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation")
}

/// The horizontal controller's normalisation of a proposal (`horizontal.go`): stabilisation
/// over the recommendation history, then rate limits, then min/max.
public enum HPANormalization {
  // MARK: Legacy path (no `behavior`)

  /// `stabilizeRecommendation`: the highest recommendation of the last `window` (entries
  /// exactly `window` old still count), the new one included; the new one is stored in the
  /// last slot found older than the window, else appended.
  @inlinable
  public static func stabilizeLegacy(
    _ history: inout HPAHistory, proposal: Int32, windowMillis: Int64, now: UnixMillis
  ) -> Int32 {
    var maxRecommendation = proposal
    var oldIndex: Int?
    let cutoff = now.adding(milliseconds: -windowMillis)
    for (i, r) in history.recommendations.enumerated() {
      if r.time < cutoff {
        oldIndex = i
      } else if r.replicas > maxRecommendation {
        maxRecommendation = r.replicas
      }
    }
    let entry = HPAHistory.Recommendation(proposal, now)
    if let oldIndex {
      history.recommendations[oldIndex] = entry
    } else {
      history.recommendations.append(entry)
    }
    return maxRecommendation
  }

  /// `calculateScaleUpLimit`: `max(2 × current, 4)`.
  @inlinable
  public static func legacyScaleUpLimit(_ current: Int32) -> Int32 {
    Int32(clamping: max(2 * Int64(current), 4))
  }

  /// `convertDesiredReplicasWithRules`: [min, min(max, scale-up limit)].
  @inlinable
  public static func convertWithRules(
    current: Int32, desired: Int32, minReplicas: Int32, maxReplicas: Int32
  ) -> (replicas: Int32, limit: HPALimit) {
    let scaleUpLimit = legacyScaleUpLimit(current)
    let maximum: Int32
    let possible: HPALimit
    if maxReplicas > scaleUpLimit {
      maximum = scaleUpLimit
      possible = .scaleUpRate
    } else {
      maximum = maxReplicas
      possible = .tooMany
    }
    if desired < minReplicas { return (minReplicas, .tooFew) }
    if desired > maximum { return (maximum, possible) }
    return (desired, .withinRange)
  }

  // MARK: Behavior path

  /// `stabilizeRecommendationWithBehaviors`: the current count clamped into [lowest
  /// recommendation of the up window, highest of the down window] (both including the new
  /// proposal; an entry counts only when strictly newer than the window's start). The
  /// unstabilized proposal is stored in the last slot older than both windows, else appended.
  @inlinable
  public static func stabilizeWithBehaviors(
    _ history: inout HPAHistory, proposal: Int32, current: Int32, upWindowSeconds: Int32,
    downWindowSeconds: Int32, now: UnixMillis
  ) -> (replicas: Int32, limit: HPALimit) {
    var up = proposal
    var down = proposal
    let upCutoff = now.adding(milliseconds: -Int64(upWindowSeconds) * 1000)
    let downCutoff = now.adding(milliseconds: -Int64(downWindowSeconds) * 1000)
    var oldIndex: Int?
    for (i, r) in history.recommendations.enumerated() {
      if r.time > upCutoff { up = min(r.replicas, up) }
      if r.time > downCutoff { down = max(r.replicas, down) }
      if r.time < upCutoff && r.time < downCutoff { oldIndex = i }
    }
    var result = current
    if result < up { result = up }
    if result > down { result = down }
    let entry = HPAHistory.Recommendation(proposal, now)
    if let oldIndex {
      history.recommendations[oldIndex] = entry
    } else {
      history.recommendations.append(entry)
    }
    return (result, proposal >= current ? .scaleUpStabilized : .scaleDownStabilized)
  }

  /// `getReplicasChangePerPeriod`: the changes of events strictly newer than `period` ago.
  @inlinable
  public static func changeInPeriod(
    _ events: [HPAHistory.ScaleEvent], periodSeconds: Int32, now: UnixMillis
  ) -> Int32 {
    let cutoff = now.adding(milliseconds: -Int64(periodSeconds) * 1000)
    var sum: Int32 = 0
    for e in events where e.time > cutoff { sum &+= e.change }
    return sum
  }

  /// The count at the start of a policy's period: current − added + removed within it.
  @inlinable
  static func periodStart(current: Int32, history: HPAHistory, period: Int32, now: UnixMillis)
    -> Int32
  {
    current &- changeInPeriod(history.scaleUpEvents, periodSeconds: period, now: now)
      &+ changeInPeriod(history.scaleDownEvents, periodSeconds: period, now: now)
  }

  /// `calculateScaleUpLimitWithScalingRules`: per policy, from the count at the start of its
  /// period (current − added + removed within it): Pods → start + value, Percent →
  /// ⌈start × (1 + value/100)⌉; Max takes the largest, Min the smallest, Disabled the current.
  @inlinable
  public static func scaleUpLimit(
    current: Int32, history: HPAHistory, rules: HPAScalingRules, now: UnixMillis
  ) -> Int32 {
    let select = rules.selectPolicy ?? .max
    if select == .disabled { return current }
    var result: Int32 = select == .min ? .max : .min
    for p in rules.policies ?? [] {
      let start = periodStart(current: current, history: history, period: p.periodSeconds, now: now)
      let proposed: Int32
      switch p.kind {
      case .pods: proposed = start &+ p.value
      case .percent:
        proposed = ReplicaCalculator.ceilInt32(Double(start) * (1 + Double(p.value) / 100))
      }
      result = select == .min ? min(result, proposed) : max(result, proposed)
    }
    return result
  }

  /// `calculateScaleDownLimitWithBehaviors`: Pods → start − value, Percent →
  /// `int32(start × (1 − value/100))` (truncation toward zero); Max (the largest change) takes
  /// the smallest limit, Min the largest, Disabled the current.
  @inlinable
  public static func scaleDownLimit(
    current: Int32, history: HPAHistory, rules: HPAScalingRules, now: UnixMillis
  ) -> Int32 {
    let select = rules.selectPolicy ?? .max
    if select == .disabled { return current }
    var result: Int32 = select == .min ? .min : .max
    for p in rules.policies ?? [] {
      let start = periodStart(current: current, history: history, period: p.periodSeconds, now: now)
      let proposed: Int32
      switch p.kind {
      case .pods: proposed = start &- p.value
      case .percent:
        proposed = truncInt32(Double(start) * (1 - Double(p.value) / 100))
      }
      result = select == .min ? max(result, proposed) : min(result, proposed)
    }
    return result
  }

  @inlinable
  static func truncInt32(_ x: Double) -> Int32 {
    let t = x.rounded(.towardZero)
    if t.isNaN { return 0 }
    if t >= Double(Int32.max) { return .max }
    if t <= Double(Int32.min) { return .min }
    return Int32(t)
  }

  /// `convertDesiredReplicasWithBehaviorRate`: the stabilized count clamped by the rate limits
  /// of its direction and by min/max replicas.
  @inlinable
  public static func convertWithBehaviorRate(
    current: Int32, desired: Int32, minReplicas: Int32, maxReplicas: Int32,
    scaleUp: HPAScalingRules, scaleDown: HPAScalingRules, history: HPAHistory, now: UnixMillis
  ) -> (replicas: Int32, limit: HPALimit) {
    if desired > current {
      var limit = scaleUpLimit(current: current, history: history, rules: scaleUp, now: now)
      if limit < current { limit = current }
      var maximum = maxReplicas
      let possible: HPALimit
      if maximum > limit {
        maximum = limit
        possible = .scaleUpRate
      } else {
        possible = .tooMany
      }
      if desired > maximum { return (maximum, possible) }
    } else if desired < current {
      var limit = scaleDownLimit(current: current, history: history, rules: scaleDown, now: now)
      if limit > current { limit = current }
      var minimum = minReplicas
      let possible: HPALimit
      if minimum < limit {
        minimum = limit
        possible = .scaleDownRate
      } else {
        possible = .tooFew
      }
      if desired < minimum { return (minimum, possible) }
    }
    return (desired, .withinRange)
  }

  /// `storeScaleEvent` (behavior path only): marks the direction's events older than its
  /// longest policy period outdated, then stores the change in the last outdated slot, else
  /// appends it.
  @inlinable
  public static func storeScaleEvent(
    _ history: inout HPAHistory, behavior: HPABehavior?, previous: Int32, new: Int32,
    now: UnixMillis
  ) {
    guard let behavior else { return }
    func store(_ events: inout [HPAHistory.ScaleEvent], _ rules: HPAScalingRules?, _ change: Int32)
    {
      let period = rules?.longestPeriodSeconds ?? 0
      let cutoff = now.adding(milliseconds: -Int64(period) * 1000)
      var oldIndex: Int?
      for i in events.indices {
        if events[i].time < cutoff { events[i].outdated = true }
        if events[i].outdated { oldIndex = i }
      }
      let e = HPAHistory.ScaleEvent(change, now)
      if let oldIndex { events[oldIndex] = e } else { events.append(e) }
    }
    if new > previous {
      store(&history.scaleUpEvents, behavior.scaleUp, new &- previous)
    } else {
      store(&history.scaleDownEvents, behavior.scaleDown, previous &- new)
    }
  }
}
