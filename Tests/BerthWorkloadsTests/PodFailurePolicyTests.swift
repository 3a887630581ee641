import BerthWorkloads
import Testing

/// `matchPodFailurePolicy` against the cases of upstream's `TestMatchPodFailurePolicy` (facts
/// transcribed, code not): the pod is default/mypod.
struct PodFailurePolicyTests {
  typealias Policy = PodFailurePolicy

  static func pod(
    _ codes: [(String, Int32)] = [], conditions: [(String, String)] = []
  ) -> Policy.FailedPod {
    Policy.FailedPod(
      namespace: "default", name: "mypod", exitCodes: codes.map { ($0.0, $0.1) },
      conditions: conditions.map { ($0.0, $0.1) })
  }

  static func exits(_ action: Policy.Action, notIn: Bool = false, _ values: [Int32])
    -> Policy.Rule
  {
    Policy.Rule(action: action, onExitCodes: .init(notIn: notIn, values: values))
  }

  static func conditions(_ action: Policy.Action, _ status: String) -> Policy.Rule {
    Policy.Rule(
      action: action, onPodConditions: [.init(type: "DisruptionTarget", status: status)])
  }

  /// (rules, pod, expected FailJob message, expected counts).
  static let cases: [([Policy.Rule], Policy.FailedPod, String?, Bool)] = [
    ([], pod([("", 2)]), nil, true),
    ([exits(.ignore, [1, 2, 3])], pod([("", 2)]), nil, false),
    ([exits(.ignore, [-1_073_741_676, -1_073_741_510])], pod([("", -1_073_741_510)]), nil, false),
    (
      [exits(.failJob, [1, 2, 3])], pod([("main-container", 2)]),
      "Container main-container for pod default/mypod failed with exit code 2 matching FailJob rule at index 0",
      true
    ),
    // Successful containers never match, even NotIn.
    (
      [exits(.failJob, notIn: true, [111])],
      pod([("main-container", 111), ("suppport-container", 0), ("init-container", 0)]), nil, true
    ),
    (
      [exits(.failJob, notIn: true, [0])],
      pod([("main-container", 1), ("suppport-container", 0)]),
      "Container main-container for pod default/mypod failed with exit code 1 matching FailJob rule at index 0",
      true
    ),
    (
      [exits(.count, [1, 2, 3]), exits(.failJob, [4, 5, 6])], pod([("main-container", 6)]),
      "Container main-container for pod default/mypod failed with exit code 6 matching FailJob rule at index 1",
      true
    ),
    ([exits(.count, [1, 2, 3])], pod([("bar", 2)]), nil, true),
    ([conditions(.ignore, "True")], pod(conditions: [("DisruptionTarget", "True")]), nil, false),
    ([conditions(.ignore, "False")], pod(conditions: [("DisruptionTarget", "False")]), nil, false),
    (
      [conditions(.ignore, "Unknown")], pod(conditions: [("DisruptionTarget", "Unknown")]), nil,
      false
    ),
    ([conditions(.ignore, "False")], pod(conditions: [("DisruptionTarget", "True")]), nil, true),
    (
      [conditions(.failJob, "True")], pod(conditions: [("DisruptionTarget", "True")]),
      "Pod default/mypod has condition DisruptionTarget matching FailJob rule at index 0", true
    ),
  ]

  @Test("the first matching rule decides; exit code 0 never matches", arguments: cases.indices)
  func matching(_ k: Int) {
    let (rules, pod, message, counts) = Self.cases[k]
    let verdict = Policy(rules: rules).match(pod)
    #expect(verdict.failJob == message)
    #expect(verdict.counts == counts)
  }
}
