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

/// The startup and liveness probes on the kubelet's grid (period 10 s, failureThreshold 3, as
/// upstream's defaults; the kubelet's prober worker semantics).
struct ProbeTimelineTests {
  static let s: Int64 = 1_000_000_000
  static let defaults = ProbeTimeline.Probe(initialDelay: 0, period: 10 * s, failureThreshold: 3)

  @Test("a startup probe passes at the first probe after the application is up, or kills")
  func startup() {
    let p = Self.defaults
    #expect(ProbeTimeline.startup(p, start: 0, passesFrom: 0) == (true, 0))
    #expect(ProbeTimeline.startup(p, start: 0, passesFrom: 15 * Self.s) == (true, 20 * Self.s))
    // Probes at 0, 10 and 20 s fail: killed at the third.
    #expect(ProbeTimeline.startup(p, start: 0, passesFrom: 25 * Self.s) == (false, 20 * Self.s))
    let delayed = ProbeTimeline.Probe(
      initialDelay: 5 * Self.s, period: 10 * Self.s, failureThreshold: 3)
    #expect(
      ProbeTimeline.startup(delayed, start: 100 * Self.s, passesFrom: 107 * Self.s) == (
        true, 115 * Self.s
      ))
  }

  @Test("a liveness probe kills failureThreshold probes after the application turns unhealthy")
  func liveness() {
    let p = Self.defaults
    #expect(
      ProbeTimeline.livenessKill(p, start: 0, startedAt: 0, failsFrom: 45 * Self.s) == 70 * Self.s)
    #expect(
      ProbeTimeline.livenessKill(p, start: 0, startedAt: 0, failsFrom: 40 * Self.s) == 60 * Self.s)
    // Held back until the startup probe passed.
    #expect(
      ProbeTimeline.livenessKill(p, start: 0, startedAt: 60 * Self.s, failsFrom: 0) == 80 * Self.s)
  }
}
