import BerthCore
import Testing

@testable import BerthAutoscaling

struct StubMetrics: HPAMetricsSource {
  var resource: [PodResourceMetrics] = []
  var externalSeries: [Int64]? = []
  func podResourceMetrics() throws(HPAMetricError) -> [PodResourceMetrics] { resource }
  func podsMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    samples: [(podName: String, sample: PodMetricSample)], timestamp: UnixMillis
  ) { throw HPAMetricError("no custom metrics") }
  func objectMetric(_ object: ObjectRef, _ metric: HPAMetricIdentifier) throws(HPAMetricError)
    -> (valueMilli: Int64, timestamp: UnixMillis)
  { throw HPAMetricError("no object metrics") }
  func externalMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    seriesMilli: [Int64], timestamp: UnixMillis
  ) {
    guard let externalSeries else { throw HPAMetricError("something went wrong") }
    return (externalSeries, t0)
  }
}

/// Controller-level cases of upstream's `horizontal_test.go`, and hand-computed timelines.
@Suite struct HorizontalControllerTests {
  let controller: HorizontalController = {
    var f = HPAControllerFlags()
    f.cpuInitializationPeriodMillis = 120_000
    f.initialReadinessDelayMillis = 10_000
    return HorizontalController(flags: f)
  }()

  func pods(_ n: Int) -> [HPAPod] {
    (0..<n).map { i in
      HPAPod(
        name: "test-pod-\(i)", startTime: t0.adding(milliseconds: -600_000),
        ready: (.isTrue, t0.adding(milliseconds: -600_000)),
        containers: [HPAContainer(name: "container1", requestsMilli: ["cpu": 1000])])
    }
  }
  func cpu(_ levels: [Int64]) -> [PodResourceMetrics] {
    levels.enumerated().map { i, v in
      PodResourceMetrics(
        podName: "test-pod-\(i)", timestamp: t0, windowMillis: 60_000,
        containers: [("container1", ["cpu": v])])
    }
  }
  func hpa(min: Int32, max: Int32, _ metrics: [HPAMetricSpec], behavior: HPABehavior? = nil)
    -> HPASpec
  {
    HPASpec(
      namespace: "test-namespace", name: "test-hpa",
      scaleTargetRef: ObjectRef(kind: "Deployment", name: "test-rc"), minReplicas: min,
      maxReplicas: max, metrics: metrics, behavior: behavior)
  }
  let cpuTarget30 = HPAMetricSpec.resource(name: "cpu", target: .utilization(percent: 30))

  /// `TestScaleUpOneMetricEmpty`: the External metric fails, CPU proposes 4 ≥ 3: scale to 4.
  @Test func scaleUpWhenOneMetricFailsAndTheRestScaleUp() {
    var h = HPAHistory()
    let spec = hpa(
      min: 2, max: 6,
      [
        .external(
          metric: HPAMetricIdentifier(name: "qps", selector: [:]), target: .value(milli: 100)),
        cpuTarget30,
      ])
    let r = controller.reconcile(
      spec, specReplicas: 3, statusReplicas: 3, pods: pods(3),
      metrics: StubMetrics(resource: cpu([300, 400, 500]), externalSeries: nil), history: &h,
      now: t0)
    #expect(r.desiredReplicas == 4)
    #expect(r.rescaled)
    #expect(r.events.map(\.reason) == ["FailedGetExternalMetric", "SuccessfulRescale"])
    #expect(
      r.events.last?.message
        == "New size: 4; reason: cpu resource utilization (percentage of request) above target")
  }

  /// `TestNoScaleDownOneMetricEmpty`: CPU would scale 5 → 3 but the External metric failed:
  /// no scale-down on partial data.
  @Test func noScaleDownWhenOneMetricFails() {
    var h = HPAHistory()
    let spec = hpa(
      min: 2, max: 6,
      [
        .resource(name: "cpu", target: .utilization(percent: 50)),
        .external(
          metric: HPAMetricIdentifier(name: "qps", selector: [:]), target: .value(milli: 1000)),
      ])
    let r = controller.reconcile(
      spec, specReplicas: 5, statusReplicas: 5, pods: pods(5),
      metrics: StubMetrics(resource: cpu([100, 300, 500, 250, 250]), externalSeries: nil),
      history: &h, now: t0)
    #expect(r.desiredReplicas == 5)
    #expect(!r.rescaled)
    let active = r.conditions.first { $0.type == "ScalingActive" }
    #expect(active?.status == .isFalse)
    #expect(active?.reason == "FailedGetExternalMetric")
    #expect(r.conditions.first { $0.type == "AbleToScale" }?.reason == "SucceededGetScale")
    #expect(r.events.last?.reason == "FailedComputeMetricsReplicas")
  }

  /// `TestScaleDownRCImmediately`: above maxReplicas goes to max without metrics.
  @Test func aboveMaxReplicasScalesToMaxAtOnce() {
    var h = HPAHistory()
    let r = controller.reconcile(
      hpa(min: 2, max: 5, [.resource(name: "cpu", target: .utilization(percent: 50))]),
      specReplicas: 6, statusReplicas: 6, pods: pods(3),
      metrics: StubMetrics(resource: cpu([8000, 9500, 1000])),
      history: &h, now: t0)
    #expect(r.desiredReplicas == 5)
    #expect(r.conditions.first { $0.type == "AbleToScale" }?.reason == "SucceededRescale")
    #expect(
      r.events.last?.message
        == "New size: 5; reason: Current number of replicas above Spec.MaxReplicas")
  }

  /// Zero replicas with minReplicas ≥ 1: autoscaling is disabled (KEDA parks workloads so).
  @Test func zeroReplicasDisableScaling() {
    var h = HPAHistory()
    let r = controller.reconcile(
      hpa(min: 1, max: 5, [cpuTarget30]), specReplicas: 0, statusReplicas: 0, pods: [HPAPod](),
      metrics: StubMetrics(), history: &h, now: t0)
    #expect(r.desiredReplicas == 0)
    #expect(!r.rescaled)
    #expect(r.conditions.first { $0.type == "ScalingActive" }?.reason == "ScalingDisabled")
  }

  /// A step from 2 to 40 wanted pods (an External AverageValue metric of 1 per pod), the
  /// default behavior, pods appearing at once: each 15 s sync adds at most max(4 pods, 100 %):
  /// 2 → 6 → 12 → 24 → 40. When the load falls back to 10 wanted pods, the count holds for
  /// the 300 s window after the last recommendation of 40, then drops to 10 (100 % per 15 s).
  @Test func defaultBehaviorTimeline() {
    let spec = hpa(
      min: 1, max: 100,
      [.external(metric: HPAMetricIdentifier(name: "wanted"), target: .averageValue(milli: 1000))],
      behavior: HPABehavior())
    var h = HPAHistory()
    var replicas: Int32 = 2
    var counts: [Int32] = []
    var changes: [(Int64, Int32)] = []
    for step in 0..<40 {
      let t = Int64(step) * 15
      let wanted: Int64 = t < 60 ? 40 : 10
      let now = t0.adding(milliseconds: t * 1000)
      let r = controller.reconcile(
        spec, specReplicas: replicas, statusReplicas: replicas, pods: pods(Int(replicas)),
        metrics: StubMetrics(externalSeries: [wanted * 1000]), history: &h, now: now)
      if r.desiredReplicas != replicas { changes.append((t, r.desiredReplicas)) }
      replicas = r.desiredReplicas
      counts.append(replicas)
    }
    #expect(Array(counts.prefix(4)) == [6, 12, 24, 40])
    // The last recommendation of 40 was at 45 s; at 345 s it is exactly 300 s old and no
    // longer counts (upstream counts only entries strictly newer than the window's start).
    #expect(changes.map(\.0) == [0, 15, 30, 45, 345])
    #expect(changes.last?.1 == 10)
  }

  /// The legacy path (no `behavior`): scale-up at most max(2 × current, 4) per sync, and a
  /// recommendation exactly 300 s old still counts, so the scale-down comes one sync later.
  @Test func legacyTimeline() {
    let spec = hpa(
      min: 1, max: 100,
      [.external(metric: HPAMetricIdentifier(name: "wanted"), target: .averageValue(milli: 1000))])
    var h = HPAHistory()
    var replicas: Int32 = 2
    var changes: [(Int64, Int32)] = []
    for step in 0..<40 {
      let t = Int64(step) * 15
      let wanted: Int64 = t < 60 ? 40 : 10
      let r = controller.reconcile(
        spec, specReplicas: replicas, statusReplicas: replicas, pods: pods(Int(replicas)),
        metrics: StubMetrics(externalSeries: [wanted * 1000]), history: &h,
        now: t0.adding(milliseconds: t * 1000))
      if r.desiredReplicas != replicas { changes.append((t, r.desiredReplicas)) }
      replicas = r.desiredReplicas
    }
    #expect(changes.map(\.1) == [4, 8, 16, 32, 40, 10])
    #expect(changes.map(\.0) == [0, 15, 30, 45, 60, 360])
  }

  /// Per-direction tolerance (HPAConfigurableTolerance): a 5 % rise passes a 0.02 scale-up
  /// tolerance but not the flag's 0.1; with the gate off the field is ignored.
  @Test func configurableTolerance() {
    let spec = hpa(
      min: 1, max: 100, [.resource(name: "cpu", target: .utilization(percent: 50))],
      behavior: HPABehavior(scaleUp: HPAScalingRules(tolerance: 0.02)))
    var h = HPAHistory()
    let r = controller.reconcile(
      spec, specReplicas: 10, statusReplicas: 10, pods: pods(10),
      metrics: StubMetrics(resource: cpu(Array(repeating: 525, count: 10))), history: &h, now: t0)
    #expect(r.desiredReplicas == 11)
    var off = controller
    off.flags.configurableTolerance = false
    var h2 = HPAHistory()
    let r2 = off.reconcile(
      spec, specReplicas: 10, statusReplicas: 10, pods: pods(10),
      metrics: StubMetrics(resource: cpu(Array(repeating: 525, count: 10))), history: &h2, now: t0)
    #expect(r2.desiredReplicas == 10)
  }
}
