import BerthCLI
import BerthTestSupport
import Foundation
import Testing

let hpaDir: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("datasets/hpa/web").path

/// `berth hpa explain` driven end to end from Kubernetes-native files.
struct HPAExplainTests {
  static func json(_ args: [String]) throws -> [String: Any] {
    let text = try BerthCLI.hpaExplainReport(args + ["--output", "json"])
    return try #require(
      JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
  }

  @Test func theBundledExampleScalesUpOnTheQueueWithTheStartingPodsCountedAsIdle() throws {
    let args = [
      "--hpa", hpaDir + "/hpa.yaml", "--pods", hpaDir + "/pods.yaml", "--metrics",
      hpaDir + "/metrics.json", "--metrics", hpaDir + "/external.yaml",
    ]
    let j = try Self.json(args)
    #expect(j["desiredReplicas"] as? Int == 7)
    #expect(j["now"] as? String == "2026-03-01T12:00:00Z")
    let metrics = try #require(j["metrics"] as? [[String: Any]])
    #expect(metrics[0]["proposedReplicas"] as? Int == 6)
    #expect(metrics[0]["currentUtilization"] as? Int == 145)
    #expect(metrics[0]["currentAverageValue"] as? String == "725m")
    let pods = try #require(metrics[0]["pods"] as? [String: [String]])
    #expect(pods["unready"] == ["web-7d4b9c-c3", "web-7d4b9c-d4"])
    #expect(metrics[1]["proposedReplicas"] as? Int == 7)
    #expect(metrics[1]["currentValue"] as? String == "200")
    #expect(metrics[1]["currentAverageValue"] as? String == "50")
    let text = try BerthCLI.hpaExplainReport(args)
    #expect(text.contains("replicas: 4 → 7 (scale up)"))
    #expect(text.contains("web-7d4b9c-d4: unready, Pending: counted as using 0 on this scale-up"))
    // Same inputs, same bytes.
    #expect(text == (try BerthCLI.hpaExplainReport(args)))
  }

  /// A pod of upstream's replica-calculator harness as `kubectl get pods -o yaml` prints it:
  /// two containers each requesting `request`, started and turned Ready at Go's zero time
  /// unless hot (started now).
  static func podsYAML(
    requests: [String], ready: [String] = [], phases: [String] = [], hot: [Bool] = [],
    deleting: [Bool] = []
  ) -> String {
    var o = "apiVersion: v1\nkind: PodList\nitems:\n"
    for i in 0..<max(requests.count, phases.count) {
      let start = (i < hot.count && hot[i]) ? "2026-01-01T00:00:00Z" : "0001-01-01T00:00:00Z"
      o +=
        "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: test-pod-\(i)\n    namespace: test-namespace\n"
      if i < deleting.count && deleting[i] {
        o += "    deletionTimestamp: \"2025-12-31T23:59:00Z\"\n"
      }
      o += "  spec:\n    containers:\n"
      for c in ["container1", "container2"] {
        o += "    - name: \(c)\n      resources: {requests: {cpu: \"\(requests[i])\"}}\n"
      }
      o += "  status:\n    phase: \(i < phases.count ? phases[i] : "Running")\n"
      o += "    startTime: \"\(start)\"\n"
      o +=
        "    conditions:\n    - {type: Ready, status: \"\(i < ready.count ? ready[i] : "True")\", lastTransitionTime: \"0001-01-01T00:00:00Z\"}\n"
    }
    return o
  }

  static func metricsYAML(_ levels: [Int64]) -> String {
    var o = "apiVersion: metrics.k8s.io/v1beta1\nkind: PodMetricsList\nmetadata: {}\nitems:\n"
    for (i, v) in levels.enumerated() {
      o += "- metadata: {name: test-pod-\(i), namespace: test-namespace}\n"
      o += "  timestamp: \"0001-01-01T00:00:00Z\"\n  window: 1m0s\n  containers:\n"
      o +=
        "  - {name: container1, usage: {cpu: \(v)m}}\n  - {name: container2, usage: {cpu: \(v)m}}\n"
    }
    return o
  }

  static func hpaYAML(target: Int, current: Int) -> String {
    """
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: test-hpa, namespace: test-namespace}
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: test-rc}
      minReplicas: 1
      maxReplicas: 100
      metrics:
      - type: Resource
        resource: {name: cpu, target: {type: Utilization, averageUtilization: \(target)}}
    status: {currentReplicas: \(current), desiredReplicas: \(current)}
    """
  }

  /// Upstream replica-calculator cases through the command: the files carry the cases'
  /// pods, readiness, phases and samples; the command's first metric proposes upstream's count.
  @Test(
    arguments: [
      // (name, current, requests, levels, target, ready, phases, hot, deleting, expected, utilization)
      ("ScaleUp", 3, ["1", "1", "1"], [300, 500, 700], 30, [], [], [], [], 5, 50),
      (
        "ScaleUpUnreadyLessScale", 3, ["1", "1", "1"], [300, 500, 700], 30,
        ["False", "True", "True"], [], [], [], 4, 60
      ),
      (
        "ScaleUpHotCpuLessScale", 3, ["1", "1", "1"], [300, 500, 700], 30, [], [],
        [true, false, false], [], 4, 60
      ),
      (
        "ScaleUpIgnoresDeletionPods", 2, ["1", "1", "1", "1"], [500, 700], 30,
        ["True", "True", "False", "False"], [], [], [false, false, true, true], 4, 60
      ),
      (
        "ScaleDownExcludeUnscheduledPods", 5, ["1", "1", "1", "1", "1"], [100], 50,
        ["True", "False", "False", "False", "False"],
        ["Running", "Pending", "Pending", "Pending", "Pending"], [], [], 1, 10
      ),
      (
        "MissingMetricsScaleDownTargetOver100", 4, ["1", "1", "2", "2"], [200, 100, 100], 300,
        ["False", "True", "True", "True"], [], [], [], 2, 6
      ),
      ("Tolerance", 3, ["900m", "1", "1100m"], [1010, 1030, 1020], 100, [], [], [], [], 3, 102),
    ] as [(String, Int, [String], [Int64], Int, [String], [String], [Bool], [Bool], Int, Int)])
  func upstreamCaseThroughFiles(
    _ c: (String, Int, [String], [Int64], Int, [String], [String], [Bool], [Bool], Int, Int)
  ) throws {
    let (name, current, requests, levels, target, ready, phases, hot, deleting, expected, util) = c
    let hpa = try InputFixtures.temp("hpa.yaml", Self.hpaYAML(target: target, current: current))
    let pods = try InputFixtures.temp(
      "pods.yaml",
      Self.podsYAML(requests: requests, ready: ready, phases: phases, hot: hot, deleting: deleting))
    let metrics = try InputFixtures.temp("metrics.yaml", Self.metricsYAML(levels))
    let j = try Self.json([
      "--hpa", hpa, "--pods", pods, "--metrics", metrics, "--now", "2026-01-01T00:00:00Z",
      "--horizontal-pod-autoscaler-cpu-initialization-period", "2m",
      "--horizontal-pod-autoscaler-initial-readiness-delay", "10s",
    ])
    let m = try #require((j["metrics"] as? [[String: Any]])?.first, "\(name)")
    #expect(m["proposedReplicas"] as? Int == expected, "\(name)")
    #expect(m["currentUtilization"] as? Int == util, "\(name)")
  }

  /// The behavior path with a history: scale-down waits for the window's highest
  /// recommendation, and `limitedBy` says so.
  @Test func historyHoldsAScaleDownInTheWindow() throws {
    let hpa = try InputFixtures.temp(
      "hpa.yaml",
      Self.hpaYAML(target: 50, current: 4)
        .replacingOccurrences(
          of: "  metrics:",
          with: "  behavior: {scaleDown: {stabilizationWindowSeconds: 300}}\n  metrics:"))
    let pods = try InputFixtures.temp("pods.yaml", Self.podsYAML(requests: ["1", "1", "1", "1"]))
    let metrics = try InputFixtures.temp("metrics.yaml", Self.metricsYAML([100, 100, 100, 100]))
    let history = try InputFixtures.temp(
      "history.yaml",
      """
      apiVersion: berth.dev/v1alpha1
      kind: HorizontalPodAutoscalerHistory
      metadata: {namespace: test-namespace, name: test-hpa}
      recommendations:
      - {replicas: 4, time: "2025-12-31T23:58:00Z"}
      - {replicas: 3, time: "2025-12-31T23:59:00Z"}
      scaleUpEvents: []
      scaleDownEvents: []
      """)
    let j = try Self.json([
      "--hpa", hpa, "--pods", pods, "--metrics", metrics, "--now", "2026-01-01T00:00:00Z",
      "--history", history,
    ])
    // 100m of 1 CPU = 10 % against 50 % → ⌈0.2 × 4⌉ = 1, held at 4 by the window.
    #expect((j["metrics"] as? [[String: Any]])?.first?["proposedReplicas"] as? Int == 1)
    #expect(j["desiredReplicas"] as? Int == 4)
    let limited = try #require((j["limitedBy"] as? [[String: Any]])?.first)
    #expect(limited["stage"] as? String == "stabilization")
    #expect(limited["reason"] as? String == "ScaleDownStabilized")
    #expect(limited["windowSeconds"] as? Int == 300)
    let conditions = try #require(j["conditions"] as? [[String: Any]])
    #expect(conditions.first?["reason"] as? String == "ScaleDownStabilized")
  }

  @Test func badInputIsOneLineNamingFileLineAndField() throws {
    let hpa = try InputFixtures.temp(
      "hpa.yaml",
      Self.hpaYAML(target: 50, current: 2).replacingOccurrences(
        of: "maxReplicas", with: "maxReplica"))
    let pods = try InputFixtures.temp("pods.yaml", Self.podsYAML(requests: ["1"]))
    let metrics = try InputFixtures.temp("metrics.yaml", Self.metricsYAML([100]))
    let r = CLITests.run(["hpa", "explain", "--hpa", hpa, "--pods", pods, "--metrics", metrics])
    #expect(r.code != 0)
    #expect(
      r.message?.contains("hpa.yaml:7: spec.maxReplica: unknown field \"maxReplica\"") == true,
      "\(r.message ?? "")")
    let badTime = try InputFixtures.temp(
      "metrics.yaml",
      Self.metricsYAML([100]).replacingOccurrences(of: "0001-01-01T00:00:00Z", with: "yesterday"))
    let ok = try InputFixtures.temp("hpa.yaml", Self.hpaYAML(target: 50, current: 1))
    let r2 = CLITests.run(["hpa", "explain", "--hpa", ok, "--pods", pods, "--metrics", badTime])
    #expect(
      r2.message?.contains("metrics.yaml:6: items[0].timestamp: expected an RFC 3339 time") == true,
      "\(r2.message ?? "")")
    let zero = try InputFixtures.temp(
      "hpa.yaml",
      Self.hpaYAML(target: 50, current: 1).replacingOccurrences(
        of: "minReplicas: 1", with: "minReplicas: 0"))
    let r3 = CLITests.run(["hpa", "explain", "--hpa", zero, "--pods", pods, "--metrics", metrics])
    #expect(
      r3.message?.contains("needs the HPAScaleToZero feature gate") == true, "\(r3.message ?? "")")
  }
}
