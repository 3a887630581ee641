/// A Kubernetes label selector (`metav1.LabelSelector`): every matchLabels pair and every
/// expression must hold. An empty selector matches every pod; a missing one (nil where used)
/// matches none.
public struct LabelSelector: Hashable, Sendable {
  public struct Requirement: Hashable, Sendable {
    public enum Operator: String, Hashable, Sendable, CaseIterable {
      case `in` = "In"
      case notIn = "NotIn"
      case exists = "Exists"
      case doesNotExist = "DoesNotExist"
    }
    public var key: String
    public var `operator`: Operator
    public var values: [String]
    public init(key: String, operator: Operator, values: [String] = []) {
      self.key = key
      self.operator = `operator`
      self.values = values
    }

    public func matches(_ labels: [String: String]) -> Bool {
      let v = labels[key]
      switch self.operator {
      case .in: return v.map(values.contains) ?? false
      case .notIn: return v.map { !values.contains($0) } ?? true
      case .exists: return v != nil
      case .doesNotExist: return v == nil
      }
    }
  }

  /// Sorted by key, so equal selectors compare equal.
  public var matchLabels: [LabelPair]
  public var matchExpressions: [Requirement]

  public init(matchLabels: [String: String] = [:], matchExpressions: [Requirement] = []) {
    self.matchLabels = matchLabels.map { LabelPair(key: $0.key, value: $0.value) }.sorted {
      $0.key < $1.key
    }
    self.matchExpressions = matchExpressions
  }

  public func matches(_ labels: [String: String]) -> Bool {
    for p in matchLabels where labels[p.key] != p.value { return false }
    for r in matchExpressions where !r.matches(labels) { return false }
    return true
  }
}

/// `topologySpreadConstraints[]` of a pod.
public struct TopologySpreadConstraint: Hashable, Sendable {
  public enum Policy: String, Hashable, Sendable {
    case honor = "Honor"
    case ignore = "Ignore"
  }

  public var maxSkew: Int32
  public var topologyKey: String
  /// `DoNotSchedule` (a filter) when true, `ScheduleAnyway` (a score) when false.
  public var doNotSchedule: Bool
  /// nil matches no pod, as upstream treats a missing selector.
  public var labelSelector: LabelSelector?
  public var minDomains: Int32
  public var nodeAffinityPolicy: Policy
  public var nodeTaintsPolicy: Policy
  public var matchLabelKeys: [String]

  public init(
    maxSkew: Int32, topologyKey: String, doNotSchedule: Bool, labelSelector: LabelSelector?,
    minDomains: Int32 = 1,
    nodeAffinityPolicy: Policy = .honor, nodeTaintsPolicy: Policy = .ignore,
    matchLabelKeys: [String] = []
  ) {
    self.maxSkew = maxSkew
    self.topologyKey = topologyKey
    self.doNotSchedule = doNotSchedule
    self.labelSelector = labelSelector
    self.minDomains = minDomains
    self.nodeAffinityPolicy = nodeAffinityPolicy
    self.nodeTaintsPolicy = nodeTaintsPolicy
    self.matchLabelKeys = matchLabelKeys
  }

  /// The selector with `matchLabelKeys` folded in from the pod's own labels (keys the pod lacks
  /// are skipped), or nil when there is no selector.
  public func effectiveSelector(podLabels: [String: String]) -> LabelSelector? {
    guard var s = labelSelector else { return nil }
    for key in matchLabelKeys {
      if let v = podLabels[key] {
        s.matchExpressions.append(.init(key: key, operator: .in, values: [v]))
      }
    }
    return s
  }
}
