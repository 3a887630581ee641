import BerthCore
import BerthTraces
import Testing

@testable import BerthSimulation

/// The Scenario reader: the shape users write, and one-line errors naming file, line and field.
struct ScenarioReaderTests {
  static let header = """
    apiVersion: berth.dev/v1alpha1
    kind: Scenario
    metadata: {name: s}
    spec:
      duration: 30m

    """

  static func error(_ text: String) -> String {
    do {
      _ = try Scenario.parse(text, file: "s.yaml")
      return ""
    } catch {
      return error.description
    }
  }

  @Test("the documented shape reads: durations, distributions, actions, defaults")
  func shape() throws {
    let s = try Scenario.parse(
      Self.header + """
          startTime: "2024-03-01T00:00:00Z"
          seed: 7
          behaviors:
          - selector: {matchLabels: {app: web}}
            imagePull: {uniform: [1s, 3s]}
            readyAfter: 5s
            exitAfter: {exponential: 30s}
            exitCode: 2
          actions:
          - {at: 60s, setImage: {kind: Deployment, name: web, container: app, image: "web:v2"}}
          - {at: 400s, rolloutUndo: {kind: Deployment, name: web}}
          - {at: 100s, failNode: {name: node-a}}
          - {at: 300s, addNode: {node: {apiVersion: v1, kind: Node, metadata: {name: node-d}, status: {allocatable: {cpu: "8", memory: 32Gi, pods: "110"}}}}}
        """, file: "s.yaml")
    #expect(s.duration == .seconds(Int64(1800)))
    #expect(s.startTime == 1_709_251_200)
    #expect(s.seed == 7)
    #expect(s.behaviors[0].imagePull == .uniform(.seconds(Int64(1)), .seconds(Int64(3))))
    #expect(s.behaviors[0].exitCode == 2)
    #expect(s.actions.map(\.verb.name) == ["setImage", "rolloutUndo", "failNode", "addNode"])
    #expect(s.actions[0].origin == "s.yaml:15")
    #expect(Scenario.defaultStartTime == 1_704_067_200)
  }

  /// (text after the header, the error's expected part).
  static let errorCases: [(String, String)] = [
    (
      "  actions:\n  - {at: 10s, explode: {name: x}}\n",
      "s.yaml:7: spec.actions[0].explode: unknown verb \"explode\""
    ),
    (
      "  actions:\n  - {at: ten, failNode: {name: x}}\n",
      "s.yaml:7: spec.actions[0].at: invalid duration"
    ),
    ("  behaviors:\n  - {readyAfter: {normal: 3s}}\n", "unknown distribution \"normal\""),
    (
      "  behaviors:\n  - {readyAfter: 3s, exitCode: 300}\n",
      "spec.behaviors[0].exitCode: expected 0…255"
    ),
    ("  durations: 3s\n", "spec.durations: unknown field"),
    ("  actions:\n  - {at: 2h, failNode: {name: x}}\n", "after the scenario's duration"),
  ]

  @Test("errors name file, line and field", arguments: errorCases)
  func errorMessages(_ c: (String, String)) {
    let message = Self.error(Self.header + c.0)
    #expect(message.contains(c.1), "\(message)")
  }

  @Test("a workload's selector must match its template; a Job needs OnFailure or Never")
  func workloadValidation() {
    let deployment = """
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: api}}
          spec: {containers: [{name: a, image: x}]}
      """
    #expect(
      Self.error(Self.header + deployment).contains("`selector` does not match template `labels`"))
    let job = """
      ---
      apiVersion: batch/v1
      kind: Job
      metadata: {name: j}
      spec:
        template:
          spec: {containers: [{name: a, image: x}]}
      """
    #expect(Self.error(Self.header + job).contains("restartPolicy OnFailure or Never"))
    let valid = deployment.replacingOccurrences(of: "app: api", with: "app: web")
    #expect(Self.error(valid).contains("no Scenario document"))
    let typo = Self.header + deployment.replacingOccurrences(of: "selector:", with: "selectr:")
    #expect(Self.error(typo).contains("unknown field \"selectr\""))
  }

  @Test(
    "a DaemonSet reads with upstream's defaults; its pods restart Always; no surge with unavailability"
  )
  func daemonSetValidation() throws {
    func daemonSet(_ strategy: String, policy: String = "") -> String {
      """
      ---
      apiVersion: apps/v1
      kind: DaemonSet
      metadata: {name: agent}
      spec:
        selector: {matchLabels: {app: agent}}
      \(strategy)
        template:
          metadata: {labels: {app: agent}}
          spec: {\(policy)containers: [{name: a, image: x}]}
      """
    }
    let s = try Scenario.parse(Self.header + daemonSet(""), file: "s.yaml")
    guard case .daemonSet(let d) = s.workloads.first else {
      Issue.record("no DaemonSet read")
      return
    }
    #expect(d.updateStrategy == .rollingUpdate(maxSurge: .int(0), maxUnavailable: .int(1)))
    #expect(
      Self.error(Self.header + daemonSet("", policy: "restartPolicy: Never, "))
        .contains("a DaemonSet's pods need restartPolicy Always"))
    #expect(
      Self.error(
        Self.header
          + daemonSet(
            "  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}"
          )
      ).contains("maxUnavailable must be 0 when maxSurge is set"))
    #expect(
      Self.error(Self.header + daemonSet("  updateStrategy: {type: Everywhere}"))
        .contains("spec.updateStrategy.type: expected OnDelete or RollingUpdate"))
    let onDelete = try Scenario.parse(
      Self.header + daemonSet("  updateStrategy: {type: OnDelete}"), file: "s.yaml")
    guard case .daemonSet(let o) = onDelete.workloads.first else { return }
    #expect(o.updateStrategy == .onDelete)
  }

  @Test("a StatefulSet reads its policies and partition; refuses what is not simulated")
  func statefulSetValidation() throws {
    func statefulSet(_ extra: String) -> String {
      """
      ---
      apiVersion: apps/v1
      kind: StatefulSet
      metadata: {name: db}
      spec:
        replicas: 3
        selector: {matchLabels: {app: db}}
      \(extra)
        template:
          metadata: {labels: {app: db}}
          spec: {containers: [{name: a, image: x}]}
      """
    }
    let s = try Scenario.parse(
      Self.header
        + statefulSet(
          "  podManagementPolicy: Parallel\n  updateStrategy: {rollingUpdate: {partition: 2}}\n  ordinals: {start: 5}"
        ), file: "s.yaml")
    guard case .statefulSet(let o) = s.workloads.first else {
      Issue.record("no StatefulSet read")
      return
    }
    #expect(o.parallel && o.updateStrategy == .rollingUpdate(partition: 2) && o.ordinalsStart == 5)
    #expect(
      Self.error(Self.header + statefulSet("  podManagementPolicy: Random"))
        .contains("spec.podManagementPolicy: expected OrderedReady or Parallel"))
    #expect(
      Self.error(
        Self.header + statefulSet("  updateStrategy: {rollingUpdate: {maxUnavailable: 2}}")
      ).contains("maxUnavailable is not simulated"))
    #expect(
      Self.error(Self.header + statefulSet("  updateStrategy: {rollingUpdate: {partition: -1}}"))
        .contains("must be greater than or equal to 0"))
  }

  @Test("per-index back-off limits are validated as the API server does")
  func perIndexValidation() {
    func job(_ lines: String, mode: String = "Indexed") -> String {
      """
      ---
      apiVersion: batch/v1
      kind: Job
      metadata: {name: j}
      spec:
        completions: 3
        completionMode: \(mode)
      \(lines.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        template:
          spec: {restartPolicy: Never, containers: [{name: a, image: x}]}
      """
    }
    let cases: [(String, String, String)] = [
      ("backoffLimitPerIndex: 1", "NonIndexed", "requires indexed completion mode"),
      ("backoffLimitPerIndex: -1", "Indexed", "must be greater than or equal to 0"),
      ("maxFailedIndexes: 1", "Indexed", "requires the backoffLimitPerIndex to be set"),
      (
        "backoffLimitPerIndex: 1\nmaxFailedIndexes: 4", "Indexed",
        "must be less than or equal to completions"
      ),
    ]
    for (lines, mode, message) in cases {
      let error = Self.error(Self.header + job(lines, mode: mode))
      #expect(error.contains(message), "\(lines): \(error)")
    }
  }

  @Test("a pod failure policy is validated as the API server does")
  func podFailurePolicyValidation() {
    func job(_ policy: String, restart: String = "Never") -> String {
      """
      ---
      apiVersion: batch/v1
      kind: Job
      metadata: {name: j}
      spec:
        podFailurePolicy:
          rules:
          - \(policy)
        template:
          spec: {restartPolicy: \(restart), containers: [{name: a, image: x}]}
      """
    }
    let cases: [(String, String, String)] = [
      (
        "{action: Ignore, onExitCodes: {operator: In, values: [1]}}", "OnFailure",
        "restartPolicy must be Never"
      ),
      (
        "{action: Ignore, onExitCodes: {operator: In, values: [0, 1]}}", "Never",
        "must not be 0 for the In operator"
      ),
      (
        "{action: Ignore, onExitCodes: {operator: In, values: [3, 1]}}", "Never",
        "distinct and in increasing order"
      ),
      (
        "{action: Ignore}", "Never", "specifying one of onExitCodes and onPodConditions is required"
      ),
      (
        "{action: Count, onExitCodes: {operator: NotIn, values: [1]}, onPodConditions: [{type: DisruptionTarget}]}",
        "Never", "specifying both onExitCodes and onPodConditions is not supported"
      ),
      (
        "{action: FailIndex, onExitCodes: {operator: In, values: [1]}}", "Never",
        "FailIndex requires the backoffLimitPerIndex to be set"
      ),
      (
        "{action: Retry, onExitCodes: {operator: In, values: [1]}}", "Never",
        "expected FailJob, FailIndex, Ignore or Count"
      ),
      (
        "{action: Ignore, onPodConditions: [{type: DisruptionTarget, status: Maybe}]}", "Never",
        "expected True, False or Unknown"
      ),
    ]
    for (policy, restart, message) in cases {
      let error = Self.error(Self.header + job(policy, restart: restart))
      #expect(error.contains(message), "\(error)")
    }
  }

  @Test("strategic merge patches merge maps, lists by name, and delete with null")
  func strategicMerge() throws {
    func doc(_ json: String) throws -> ObjectDocument {
      ObjectDocument(try YAMLValue.document(json, file: "t", empty: "x"))
    }
    let base = try doc(
      #"{"spec": {"replicas": "3", "template": {"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}}}}"#
    )
    let patched = base.merging(
      try doc(
        #"{"spec": {"replicas": null, "template": {"spec": {"containers": [{"name": "b", "image": "y:2"}]}}}}"#
      ))
    #expect(patched.at(["spec", "replicas"]) == nil)
    guard
      case .list(let containers) = patched.at(["spec", "template", "spec", "containers"]) ?? .null
    else {
      Issue.record("containers lost")
      return
    }
    #expect(containers.count == 2)
    #expect(containers[0]["image"]?.string == "x:1" && containers[1]["image"]?.string == "y:2")
  }
}
