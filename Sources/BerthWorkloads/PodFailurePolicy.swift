/// A Job's `spec.podFailurePolicy` (batch/v1): what a failed pod means, decided by the first
/// rule its exit codes or conditions match (`matchPodFailurePolicy` in `pkg/controller/job`).
public struct PodFailurePolicy: Sendable, Equatable {
  public enum Action: String, Sendable, Equatable {
    /// The Job fails at once (reason `PodFailurePolicy`).
    case failJob = "FailJob"
    /// The failure does not count towards `backoffLimit`; the pod is replaced.
    case ignore = "Ignore"
    /// The failure counts, as with no rule.
    case count = "Count"
    /// The pod's completion index fails at once, retried no more (Indexed Jobs with
    /// `backoffLimitPerIndex`); the failure counts.
    case failIndex = "FailIndex"
  }

  public struct ExitCodes: Sendable, Equatable {
    /// nil: any container.
    public var containerName: String?
    /// `NotIn` (true) or `In`.
    public var notIn: Bool
    public var values: [Int32]
    public init(containerName: String? = nil, notIn: Bool, values: [Int32]) {
      self.containerName = containerName
      self.notIn = notIn
      self.values = values
    }
  }

  public struct ConditionPattern: Sendable, Equatable {
    public var type: String
    /// "True", "False" or "Unknown".
    public var status: String
    public init(type: String, status: String = "True") {
      self.type = type
      self.status = status
    }
  }

  public struct Rule: Sendable, Equatable {
    public var action: Action
    /// Exactly one of the two is set.
    public var onExitCodes: ExitCodes?
    public var onPodConditions: [ConditionPattern]
    public init(action: Action, onExitCodes: ExitCodes) {
      self.action = action
      self.onExitCodes = onExitCodes
      self.onPodConditions = []
    }
    public init(action: Action, onPodConditions: [ConditionPattern]) {
      self.action = action
      self.onExitCodes = nil
      self.onPodConditions = onPodConditions
    }
  }

  public var rules: [Rule]
  public init(rules: [Rule]) { self.rules = rules }

  /// A failed pod as the policy sees it: its terminated containers' exit codes (regular ones
  /// first, then init containers) and its conditions (type → status).
  public struct FailedPod: Sendable {
    public var namespace: String
    public var name: String
    public var exitCodes: [(container: String, code: Int32)]
    public var conditions: [(type: String, status: String)]
    public init(
      namespace: String, name: String, exitCodes: [(container: String, code: Int32)],
      conditions: [(type: String, status: String)]
    ) {
      self.namespace = namespace
      self.name = name
      self.exitCodes = exitCodes
      self.conditions = conditions
    }
  }

  /// The first matching rule's verdict: the Job's failure message when it is FailJob, whether
  /// the failure counts towards `backoffLimit` (not for Ignore), and whether it fails the
  /// pod's index (FailIndex). No rule: it counts. Exit code 0 never matches; conditions match
  /// on type and status.
  public func match(_ pod: FailedPod) -> (failJob: String?, counts: Bool, failIndex: Bool) {
    for (index, rule) in rules.enumerated() {
      // What matched, as the FailJob message describes it.
      let matched: String
      if let e = rule.onExitCodes {
        guard
          let hit = pod.exitCodes.first(where: { c in
            (e.containerName == nil || e.containerName == c.container) && c.code != 0
              && e.values.contains(c.code) != e.notIn
          })
        else { continue }
        matched =
          "Container \(hit.container) for pod \(pod.namespace)/\(pod.name) failed with exit code \(hit.code)"
      } else {
        guard
          let hit = pod.conditions.first(where: { c in
            rule.onPodConditions.contains { $0.type == c.type && $0.status == c.status }
          })
        else { continue }
        matched = "Pod \(pod.namespace)/\(pod.name) has condition \(hit.type)"
      }
      switch rule.action {
      case .ignore: return (nil, false, false)
      case .count: return (nil, true, false)
      case .failIndex: return (nil, true, true)
      case .failJob: return ("\(matched) matching FailJob rule at index \(index)", true, false)
      }
    }
    return (nil, true, false)
  }

}
