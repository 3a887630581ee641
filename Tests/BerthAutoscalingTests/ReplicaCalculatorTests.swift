import BerthCore
import Testing

@testable import BerthAutoscaling

/// The cases of upstream's `replica_calculator_test.go`, transcribed: the same pods, levels,
/// targets and expected counts, run through Berth's calculator. Upstream's harness: every pod
/// has two containers (`container1`, `container2`) each requesting the pod's request; Running
/// and Ready unless stated; start time and Ready transition at Go's zero time unless stated;
/// metric samples stamped at the zero time with a one-minute window; tolerance 0.1, CPU
/// initialization period 2 min, initial readiness delay 10 s. "Hot" pods started now, "cool"
/// ones 3 min ago.
struct ReplicaCalcCase: Sendable, CustomTestStringConvertible {
  enum Kind: Sendable { case resource, pods, object, objectPerPod, external, externalPerPod }
  var name: String
  var kind: Kind = .resource
  var current: Int32
  var expected: Int32 = 0
  var error: String?
  var resource = "cpu"
  var requests: [String] = []
  /// Per pod, per container (resource kinds); per pod or the one value (metric kinds).
  var levels: [[Int64]] = []
  var podNames: [String] = []
  var container: String?
  var target: Int64 = 0
  var expectedUtilization: Int32 = 0
  var expectedValue: Int64 = 0
  var readiness: [ConditionStatus] = []
  var startTimes: [Bool] = []  // true: hot (now), false: cool (now - 3 min)
  var phases: [PodPhase] = []
  var deleting: [Bool] = []
  var testDescription: String { name }

  static let now = UnixMillis(1_767_225_600_000)  // 2026-01-01T00:00:00Z

  func pods() -> [HPAPod] {
    let count = max(Int(current), phases.count)
    return (0..<count).map { i in
      var containers = [
        HPAContainer(name: "container1", requestsMilli: [:]),
        HPAContainer(name: "container2", requestsMilli: [:]),
      ]
      if i < requests.count {
        let milli = try! Quantity(parsing: requests[i]).milliValue()
        containers[0].requestsMilli[resource] = milli
        containers[1].requestsMilli[resource] = milli
      }
      let start: UnixMillis =
        startTimes.isEmpty
        ? .goZero : (startTimes[i] ? Self.now : Self.now.adding(milliseconds: -180_000))
      return HPAPod(
        name: "test-pod-\(i)", phase: phases.isEmpty ? .running : phases[i],
        isDeleting: deleting.isEmpty ? false : deleting[i], startTime: start,
        ready: (i < readiness.count ? readiness[i] : .isTrue, .goZero), containers: containers)
    }
  }

  func resourceMetrics() -> [PodResourceMetrics] {
    levels.enumerated().map { i, perContainer in
      PodResourceMetrics(
        podName: i < podNames.count ? podNames[i] : "test-pod-\(i)", timestamp: .goZero,
        windowMillis: 60_000,
        containers: perContainer.enumerated().map { j, v in ("container\(j + 1)", [resource: v]) })
    }
  }
}

struct FixedMetrics: HPAMetricsSource {
  var resource: [PodResourceMetrics] = []
  var pods: [(podName: String, sample: PodMetricSample)] = []
  var object: Int64 = 0
  var external: [Int64] = []
  func podResourceMetrics() throws(HPAMetricError) -> [PodResourceMetrics] { resource }
  func podsMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    samples: [(podName: String, sample: PodMetricSample)], timestamp: UnixMillis
  ) { (pods, .goZero) }
  func objectMetric(_ object: ObjectRef, _ metric: HPAMetricIdentifier) throws(HPAMetricError)
    -> (valueMilli: Int64, timestamp: UnixMillis)
  { (self.object, .goZero) }
  func externalMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    seriesMilli: [Int64], timestamp: UnixMillis
  ) { (external, .goZero) }
}

func levels(_ perPod: Int64...) -> [[Int64]] { perPod.map { [$0, $0] } }
func ones(_ n: Int) -> [String] { Array(repeating: "1.0", count: n) }

let replicaCalcCases: [ReplicaCalcCase] = [
  .init(
    name: "DisjointResourcesMetrics", current: 1, error: "no metrics returned matched known pods",
    requests: ["1.0"], levels: levels(100), podNames: ["an-older-pod-name"], target: 100),
  .init(
    name: "ScaleUp", current: 3, expected: 5, requests: ones(3), levels: levels(300, 500, 700),
    target: 30, expectedUtilization: 50, expectedValue: 2 * 500),
  .init(
    name: "ContainerScaleUp", current: 3, expected: 5, requests: ones(3),
    levels: [[1000, 300], [1000, 500], [1000, 700]], container: "container2", target: 30,
    expectedUtilization: 50, expectedValue: 500),
  .init(
    name: "ScaleUpUnreadyLessScale", current: 3, expected: 4, requests: ones(3),
    levels: levels(300, 500, 700), target: 30, expectedUtilization: 60, expectedValue: 2 * 600,
    readiness: [.isFalse, .isTrue, .isTrue]),
  .init(
    name: "ScaleUpContainerHotCpuLessScale", current: 3, expected: 4, requests: ones(3),
    levels: [[0, 300], [0, 500], [0, 700]], container: "container2", target: 30,
    expectedUtilization: 60, expectedValue: 600, startTimes: [true, false, false]),
  .init(
    name: "ScaleUpHotCpuLessScale", current: 3, expected: 4, requests: ones(3),
    levels: levels(300, 500, 700), target: 30, expectedUtilization: 60, expectedValue: 2 * 600,
    startTimes: [true, false, false]),
  .init(
    name: "ScaleUpUnreadyNoScale", current: 3, expected: 3, requests: ones(3),
    levels: levels(400, 500, 700), target: 30, expectedUtilization: 40, expectedValue: 2 * 400,
    readiness: [.isTrue, .isFalse, .isFalse]),
  .init(
    name: "ScaleHotCpuNoScale", current: 3, expected: 3, requests: ones(3),
    levels: levels(400, 500, 700), target: 30, expectedUtilization: 40, expectedValue: 2 * 400,
    readiness: [.isTrue, .isFalse, .isFalse], startTimes: [false, true, true]),
  .init(
    name: "ScaleUpIgnoresFailedPods", current: 2, expected: 4, requests: ones(4),
    levels: levels(500, 700), target: 30, expectedUtilization: 60, expectedValue: 2 * 600,
    readiness: [.isTrue, .isTrue, .isFalse, .isFalse],
    phases: [.running, .running, .failed, .failed]),
  .init(
    name: "MissingContainerMetricScaleUpIgnoresFailedPods", current: 2, expected: 4,
    requests: ones(4), levels: [[1000, 500], [9000, 700], [1000], [9000]],
    container: "container2", target: 30, expectedUtilization: 60, expectedValue: 600,
    readiness: [.isTrue, .isTrue, .isFalse, .isFalse],
    phases: [.running, .running, .failed, .failed]),
  .init(
    name: "ScaleUpContainerIgnoresFailedPods", current: 2, expected: 4, requests: ones(4),
    levels: [[1000, 500], [9000, 700]], container: "container2", target: 30,
    expectedUtilization: 60, expectedValue: 600,
    readiness: [.isTrue, .isTrue, .isFalse, .isFalse],
    phases: [.running, .running, .failed, .failed]),
  .init(
    name: "ScaleUpIgnoresDeletionPods", current: 2, expected: 4, requests: ones(4),
    levels: levels(500, 700), target: 30, expectedUtilization: 60, expectedValue: 2 * 600,
    readiness: [.isTrue, .isTrue, .isFalse, .isFalse],
    phases: [.running, .running, .running, .running], deleting: [false, false, true, true]),
  .init(
    name: "ScaleUpContainerIgnoresDeletionPods", current: 2, expected: 4, requests: ones(4),
    levels: levels(500, 700), container: "container1", target: 30, expectedUtilization: 60,
    expectedValue: 600, readiness: [.isTrue, .isTrue, .isFalse, .isFalse],
    phases: [.running, .running, .running, .running], deleting: [false, false, true, true]),
  .init(
    name: "ScaleUpCM", kind: .pods, current: 3, expected: 4,
    levels: [[20000], [10000], [30000]], target: 15000, expectedValue: 20000),
  .init(
    name: "ScaleUpCMUnreadyHotCpuNoLessScale", kind: .pods, current: 3, expected: 6,
    levels: [[50000], [10000], [30000]], target: 15000, expectedValue: 30000,
    readiness: [.isTrue, .isTrue, .isFalse], startTimes: [false, false, true]),
  .init(
    name: "ScaleUpCMUnreadyHotCpuScaleWouldScaleDown", kind: .pods, current: 3, expected: 7,
    levels: [[50000], [15000], [30000]], target: 15000, expectedValue: 31666,
    readiness: [.isFalse, .isTrue, .isFalse], startTimes: [true, false, true]),
  .init(
    name: "ScaleUpCMObject", kind: .object, current: 3, expected: 4, levels: [[20000]],
    target: 15000, expectedValue: 20000),
  .init(
    name: "ScaleUpCMPerPodObject", kind: .objectPerPod, current: 3, expected: 4,
    levels: [[20000]], target: 5000, expectedValue: 6667),
  .init(
    name: "ScaleUpCMObjectIgnoresUnreadyPods", kind: .object, current: 3, expected: 5,
    levels: [[50000]], target: 10000, expectedValue: 50000,
    readiness: [.isFalse, .isTrue, .isFalse]),
  .init(
    name: "ScaleUpCMExternal", kind: .pods, current: 1, expected: 2, levels: [[8600]],
    target: 4400, expectedValue: 8600),
  .init(
    name: "ScaleUpCMExternalIgnoresUnreadyPods", kind: .external, current: 3, expected: 2,
    levels: [[8600]], target: 4400, expectedValue: 8600, readiness: [.isFalse, .isTrue, .isFalse]),
  .init(
    name: "ScaleUpCMExternalNoLabels", kind: .pods, current: 1, expected: 2, levels: [[8600]],
    target: 4400, expectedValue: 8600),
  .init(
    name: "ScaleUpPerPodCMExternal", kind: .externalPerPod, current: 3, expected: 4,
    levels: [[8600]], target: 2150, expectedValue: 2867),
  .init(
    name: "ScaleDown", current: 5, expected: 3, requests: ones(5),
    levels: levels(100, 300, 500, 250, 250), target: 50, expectedUtilization: 28,
    expectedValue: 2 * 280),
  .init(
    name: "ContainerScaleDown", current: 5, expected: 3, requests: ones(5),
    levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
    container: "container2", target: 50, expectedUtilization: 28, expectedValue: 280),
  .init(
    name: "ScaleDownCM", kind: .pods, current: 5, expected: 3,
    levels: [[12000], [12000], [12000], [12000], [12000]], target: 20000, expectedValue: 12000),
  .init(
    name: "ScaleDownPerPodCMObject", kind: .objectPerPod, current: 5, expected: 3,
    levels: [[6000]], target: 2000, expectedValue: 1200),
  .init(
    name: "ScaleDownCMObject", kind: .object, current: 5, expected: 3, levels: [[12000]],
    target: 20000, expectedValue: 12000),
  .init(
    name: "ScaleDownCMExternal", kind: .external, current: 5, expected: 3, levels: [[8600]],
    target: 14334, expectedValue: 8600),
  .init(
    name: "ScaleDownPerPodCMExternal", kind: .externalPerPod, current: 5, expected: 3,
    levels: [[8600]], target: 2867, expectedValue: 1720),
  .init(
    name: "ScaleDownExcludeUnreadyPods", current: 5, expected: 2, requests: ones(5),
    levels: levels(100, 300, 500, 250, 250), target: 50, expectedUtilization: 30,
    expectedValue: 2 * 300, readiness: [.isTrue, .isTrue, .isTrue, .isFalse, .isFalse]),
  .init(
    name: "ScaleDownContainerExcludeUnreadyPods", current: 5, expected: 2, requests: ones(5),
    levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
    container: "container2", target: 50, expectedUtilization: 30, expectedValue: 300,
    readiness: [.isTrue, .isTrue, .isTrue, .isFalse, .isFalse]),
  .init(
    name: "ScaleDownExcludeUnscheduledPods", current: 5, expected: 1, requests: ones(5),
    levels: levels(100), target: 50, expectedUtilization: 10, expectedValue: 2 * 100,
    readiness: [.isTrue, .isFalse, .isFalse, .isFalse, .isFalse],
    phases: [.running, .pending, .pending, .pending, .pending]),
  .init(
    name: "ScaleDownContainerExcludeUnscheduledPods", current: 5, expected: 1,
    requests: ones(5),
    levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
    container: "container2", target: 50, expectedUtilization: 10, expectedValue: 100,
    readiness: [.isTrue, .isFalse, .isFalse, .isFalse, .isFalse],
    phases: [.running, .pending, .pending, .pending, .pending]),
  .init(
    name: "ScaleDownIgnoreHotCpuPods", current: 5, expected: 2, requests: ones(5),
    levels: levels(100, 300, 500, 250, 250), target: 50, expectedUtilization: 30,
    expectedValue: 2 * 300, startTimes: [false, false, false, true, true]),
  .init(
    name: "ScaleDownContainerIgnoreHotCpuPods", current: 5, expected: 2, requests: ones(5),
    levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 1000], [1000, 1000]],
    container: "container2", target: 50, expectedUtilization: 30, expectedValue: 300,
    startTimes: [false, false, false, true, true]),
  .init(
    name: "ScaleDownIgnoresFailedPods", current: 5, expected: 3, requests: ones(7),
    levels: levels(100, 300, 500, 250, 250), target: 50, expectedUtilization: 28,
    expectedValue: 2 * 280,
    readiness: [.isTrue, .isTrue, .isTrue, .isTrue, .isTrue, .isFalse, .isFalse],
    phases: [.running, .running, .running, .running, .running, .failed, .failed]),
  .init(
    name: "ScaleDownContainerIgnoresFailedPods", current: 5, expected: 3, requests: ones(7),
    levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
    container: "container2", target: 50, expectedUtilization: 28, expectedValue: 280,
    readiness: [.isTrue, .isTrue, .isTrue, .isTrue, .isTrue, .isFalse, .isFalse],
    phases: [.running, .running, .running, .running, .running, .failed, .failed]),
  .init(
    name: "ScaleDownIgnoresDeletionPods", current: 5, expected: 3, requests: ones(7),
    levels: levels(100, 300, 500, 250, 250), target: 50, expectedUtilization: 28,
    expectedValue: 2 * 280,
    readiness: [.isTrue, .isTrue, .isTrue, .isTrue, .isTrue, .isFalse, .isFalse],
    phases: Array(repeating: .running, count: 7),
    deleting: [false, false, false, false, false, true, true]),
  .init(
    name: "ScaleDownIgnoresDeletionPods_StillRunning", current: 5, expected: 3,
    requests: ones(7),
    levels: [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
    container: "container2", target: 50, expectedUtilization: 28, expectedValue: 280,
    readiness: [.isTrue, .isTrue, .isTrue, .isTrue, .isTrue, .isFalse, .isFalse],
    phases: Array(repeating: .running, count: 7),
    deleting: [false, false, false, false, false, true, true]),
  .init(
    name: "Tolerance", current: 3, expected: 3, requests: ["0.9", "1.0", "1.1"],
    levels: levels(1010, 1030, 1020), target: 100, expectedUtilization: 102,
    expectedValue: 2 * 1020),
  .init(
    name: "ToleranceCM", kind: .pods, current: 3, expected: 3,
    levels: [[20000], [21000], [21000]], target: 20000, expectedValue: 20666),
  .init(
    name: "ToleranceCMObject", kind: .object, current: 3, expected: 3, levels: [[20666]],
    target: 20000, expectedValue: 20666),
  .init(
    name: "TolerancePerPodCMObject", kind: .objectPerPod, current: 4, expected: 4,
    levels: [[20166]], target: 5000, expectedValue: 5042),
  .init(
    name: "ToleranceCMExternal", kind: .external, current: 3, expected: 3, levels: [[8600]],
    target: 8888, expectedValue: 8600),
  .init(
    name: "TolerancePerPodCMExternal", kind: .externalPerPod, current: 3, expected: 3,
    levels: [[8600]], target: 2900, expectedValue: 2867),
  .init(
    name: "SuperfluousMetrics", current: 4, expected: 24, requests: ones(4),
    levels: levels(4000, 9500, 3000, 7000, 3200, 2000), target: 100, expectedUtilization: 587,
    expectedValue: 2 * 5875),
  .init(
    name: "MissingMetrics", current: 4, expected: 3, requests: ones(4), levels: levels(400, 95),
    target: 100, expectedUtilization: 24, expectedValue: 495),
  .init(
    name: "EmptyMetrics", current: 4,
    error: "unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    requests: ones(3), levels: [], target: 100),
  .init(
    name: "EmptyCPURequest", current: 1, error: "missing request for", requests: [],
    levels: levels(200), target: 100),
  .init(
    name: "PlainMetricMissingMetricsNoChangeEq", kind: .pods, current: 5, expected: 5,
    levels: [[20000], [19000], [21000]], target: 20000, expectedValue: 20000),
  .init(
    name: "MissingMetricsNoChangeEq", current: 2, expected: 2, requests: ones(2),
    levels: levels(1000), target: 100, expectedUtilization: 100, expectedValue: 2 * 1000),
  .init(
    name: "MissingMetricsNoChangeGt", current: 2, expected: 2, requests: ones(2),
    levels: levels(1900), target: 100, expectedUtilization: 190, expectedValue: 2 * 1900),
  .init(
    name: "MissingMetricsNoChangeLt", current: 2, expected: 2, requests: ones(2),
    levels: levels(600), target: 100, expectedUtilization: 60, expectedValue: 2 * 600),
  .init(
    name: "MissingMetricsUnreadyChange", current: 3, expected: 3, requests: ones(3),
    levels: levels(100, 450), target: 50, expectedUtilization: 45, expectedValue: 2 * 450,
    readiness: [.isFalse, .isTrue, .isTrue]),
  .init(
    name: "MissingMetricsHotCpuNoChange", current: 3, expected: 3, requests: ones(3),
    levels: levels(100, 450), target: 50, expectedUtilization: 45, expectedValue: 2 * 450,
    startTimes: [true, false, false]),
  .init(
    name: "MissingMetricsUnreadyScaleUp", current: 3, expected: 4, requests: ones(3),
    levels: levels(100, 2000), target: 50, expectedUtilization: 200, expectedValue: 2 * 2000,
    readiness: [.isFalse, .isTrue, .isTrue]),
  .init(
    name: "MissingMetricsHotCpuScaleUp", current: 3, expected: 4, requests: ones(3),
    levels: levels(100, 2000), target: 50, expectedUtilization: 200, expectedValue: 2 * 2000,
    readiness: [.isFalse, .isTrue, .isTrue], startTimes: [true, false, false]),
  .init(
    name: "MissingMetricsUnreadyScaleDown", current: 4, expected: 3, requests: ones(4),
    levels: levels(100, 100, 100), target: 50, expectedUtilization: 10, expectedValue: 2 * 100,
    readiness: [.isFalse, .isTrue, .isTrue, .isTrue]),
  .init(
    name: "MissingMetricsScaleDownTargetOver100", current: 4, expected: 2,
    requests: ["1.0", "1.0", "2.0", "2.0"], levels: levels(200, 100, 100), target: 300,
    expectedUtilization: 6, expectedValue: 2 * 100,
    readiness: [.isFalse, .isTrue, .isTrue, .isTrue]),
  .init(
    name: "DuringRollingUpdateWithMaxSurge", current: 2, expected: 2, requests: ones(3),
    levels: levels(100, 100), target: 50, expectedUtilization: 10, expectedValue: 2 * 100,
    phases: [.running, .running, .running]),
  .init(
    name: "DuringRollingUpdateWithMaxSurgeCM", kind: .pods, current: 2, expected: 2,
    levels: [[10000], [10000]], target: 17000, expectedValue: 10000,
    phases: [.running, .running, .running]),
]

@Suite struct ReplicaCalculatorTests {
  let calc = ReplicaCalculator(
    cpuInitializationPeriodMillis: 120_000, initialReadinessDelayMillis: 10_000)
  let tolerances = HPATolerances(scaleDown: 0.1, scaleUp: 0.1)

  @Test("upstream's replica calculator cases give upstream's counts", arguments: replicaCalcCases)
  func upstreamCase(_ c: ReplicaCalcCase) throws {
    let pods = c.pods()
    let now = ReplicaCalcCase.now
    do throws(HPAMetricError) {
      let p = try run(c, pods: pods, now: now)
      #expect(c.error == nil, "expected an error containing \(c.error ?? "")")
      #expect(p.replicas == c.expected)
      switch c.kind {
      case .resource:
        #expect(p.utilizationPercent == c.expectedUtilization)
        #expect(p.averageValueMilli == c.expectedValue)
      case .pods, .objectPerPod, .externalPerPod:
        #expect((p.averageValueMilli ?? p.valueMilli) == c.expectedValue)
      case .object, .external:
        #expect(p.valueMilli == c.expectedValue)
      }
    } catch {
      let expected = try #require(c.error, "unexpected error: \(error.message)")
      #expect(error.message.contains(expected), "\(error.message)")
    }
  }

  func run(_ c: ReplicaCalcCase, pods: [HPAPod], now: UnixMillis) throws(HPAMetricError)
    -> HPAProposal
  {
    switch c.kind {
    case .resource:
      let raw = c.resourceMetrics()
      guard !raw.isEmpty else {
        throw HPAMetricError(
          "unable to get metrics for resource \(c.resource): no metrics returned from resource metrics API"
        )
      }
      let samples = raw.compactMap { m -> (podName: String, sample: PodMetricSample)? in
        let s =
          c.container.map { m.containerSample(c.resource, container: $0) }
          ?? m.podSample(c.resource)
        return s.map { (m.podName, $0) }
      }
      return try calc.resourceUtilizationReplicas(
        currentReplicas: c.current, targetPercent: Int32(c.target), resource: c.resource,
        container: c.container, pods: pods, metrics: PodMetricSet(pods: pods, samples: samples),
        timestamp: .goZero, tolerances: tolerances, now: now)
    case .pods:
      let samples = c.levels.enumerated().map { i, v in
        (podName: "test-pod-\(i)", sample: PodMetricSample(valueMilli: v[0]))
      }
      return try calc.plainMetricReplicas(
        currentReplicas: c.current, targetMilli: c.target, resource: nil, pods: pods,
        metrics: PodMetricSet(pods: pods, samples: samples), timestamp: .goZero,
        tolerances: tolerances, now: now)
    case .object:
      return try calc.objectValueReplicas(
        currentReplicas: c.current, targetMilli: c.target, valueMilli: c.levels[0][0], pods: pods,
        tolerances: tolerances)
    case .objectPerPod, .externalPerPod:
      return calc.perPodValueReplicas(
        statusReplicas: c.current, targetAverageMilli: c.target,
        valueMilli: ReplicaCalculator.saturatingSum(c.levels.map { $0[0] }), tolerances: tolerances)
    case .external:
      return try calc.externalValueReplicas(
        currentReplicas: c.current, targetMilli: c.target, seriesMilli: c.levels.map { $0[0] },
        pods: pods, tolerances: tolerances)
    }
  }

  /// `TestReplicaCalcComputedToleranceAlgImplementation`: a target just past the tolerance
  /// scales 10 pods at 50 % utilization down to ⌈ratio × 10⌉; one just inside keeps 10.
  @Test func toleranceEdgeIsComputedAsUpstream() throws {
    let startPods: Int32 = 10
    let totalUsed: Int64 = 1500
    let totalRequested: Int64 = 3000
    let requestedToUsed = Double(totalRequested / totalUsed)
    let perPod = totalRequested / 10
    let offsets: [Int64] = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0]
    let pods = (0..<10).map { i in
      HPAPod(
        name: "p\(i)", startTime: .goZero, ready: (.isTrue, .goZero),
        containers: [
          HPAContainer(name: "a", requestsMilli: ["cpu": perPod + offsets[i]]),
          HPAContainer(name: "b", requestsMilli: ["cpu": perPod + offsets[i]]),
        ])
    }
    let samples = (0..<10).map { i in
      (podName: "p\(i)", sample: PodMetricSample(valueMilli: 2 * totalUsed / 10))
    }
    for (delta, scales) in [(0.01, true), (0.004, false)] {
      let target = abs(1 / (requestedToUsed * (1 - 0.1))) + delta
      let percent = Int32(target * 100)
      let used = Double(totalUsed) / (Double(totalRequested) * target)
      let expected = scales ? Int32((used * Double(startPods)).rounded(.up)) : startPods
      let p = try calc.resourceUtilizationReplicas(
        currentReplicas: startPods, targetPercent: percent, resource: "cpu", container: nil,
        pods: pods, metrics: PodMetricSet(pods: pods, samples: samples), timestamp: nil,
        tolerances: tolerances, now: ReplicaCalcCase.now)
      #expect(p.replicas == expected)
      #expect(p.utilizationPercent == Int32(totalUsed * 100 / totalRequested))
    }
  }
}

/// `TestGroupPods`.
@Suite struct GroupPodsTests {
  let calc = ReplicaCalculator(
    cpuInitializationPeriodMillis: 120_000, initialReadinessDelayMillis: 10_000)
  let now = ReplicaCalcCase.now
  func ago(_ s: Int64) -> UnixMillis { now.adding(milliseconds: -s * 1000) }

  func group(_ pod: HPAPod, _ sample: PodMetricSample?, resource: String? = "cpu") -> HPAPodBucket {
    calc.groupPods([pod], metrics: PodMetricSet(byPod: [sample]), resource: resource, now: now)[0]
  }

  @Test func aReadyPodCountsForMemoryWhateverItsState() {
    let pod = HPAPod(name: "bentham", phase: .succeeded)
    #expect(
      group(
        pod, PodMetricSample(valueMilli: 1, timestamp: now, windowMillis: 60_000),
        resource: "memory") == .ready)
  }
  @Test func aPodWithoutReadyConditionIsUnreadyForCPU() {
    let pod = HPAPod(name: "lucretius", phase: .succeeded, startTime: now)
    #expect(group(pod, PodMetricSample(valueMilli: 1)) == .unready)
  }
  @Test func aReadyPodWithFreshMetricsDuringInitializationCounts() {
    let pod = HPAPod(
      name: "bentham", phase: .succeeded, startTime: ago(60), ready: (.isTrue, ago(30)))
    #expect(
      group(pod, PodMetricSample(valueMilli: 1, timestamp: now, windowMillis: 30_000)) == .ready)
  }
  @Test func aReadyPodWithoutFreshMetricsDuringInitializationIsUnready() {
    let pod = HPAPod(
      name: "bentham", phase: .succeeded, startTime: ago(60), ready: (.isTrue, ago(30)))
    #expect(
      group(pod, PodMetricSample(valueMilli: 1, timestamp: now, windowMillis: 60_000)) == .unready)
  }
  @Test func anUnreadyPodDuringInitializationIsUnready() {
    let pod = HPAPod(
      name: "lucretius", phase: .succeeded, startTime: ago(600), ready: (.isFalse, ago(594)))
    #expect(group(pod, PodMetricSample(valueMilli: 1)) == .unready)
  }
  @Test func aReadyPodWithoutFreshMetricsAfterInitializationCounts() {
    let pod = HPAPod(
      name: "bentham", phase: .succeeded, startTime: ago(180), ready: (.isTrue, ago(180)))
    #expect(
      group(pod, PodMetricSample(valueMilli: 1, timestamp: ago(120), windowMillis: 60_000))
        == .ready)
  }
  @Test func anUnreadyPodThatWasReadyAfterInitializationCounts() {
    let pod = HPAPod(
      name: "lucretius", phase: .succeeded, startTime: ago(600), ready: (.isFalse, ago(540)))
    #expect(group(pod, PodMetricSample(valueMilli: 1)) == .ready)
  }
  /// Upstream names this case "unready pod that has never been ready after initialization
  /// period" yet expects it counted: its transition (9 min 50 s ago) is exactly the 10 s delay
  /// after start, and the rule needs it strictly earlier.
  @Test func anUnreadyPodWhoseTransitionIsExactlyTheDelayCounts() {
    let pod = HPAPod(
      name: "lucretius", phase: .succeeded, startTime: ago(600), ready: (.isFalse, ago(590)))
    #expect(group(pod, PodMetricSample(valueMilli: 1)) == .ready)
  }
  @Test func aPodWithoutMetricIsMissing() {
    let pod = HPAPod(name: "epicurus", phase: .succeeded, startTime: ago(180))
    #expect(group(pod, nil) == .missing)
  }
  @Test func severalPods() {
    let pods = [
      HPAPod(name: "lucretius", phase: .succeeded, startTime: now),
      HPAPod(name: "niccolo", phase: .succeeded, startTime: ago(180), ready: (.isTrue, ago(180))),
      HPAPod(name: "epicurus", phase: .succeeded, startTime: ago(180)),
    ]
    let set = PodMetricSet(byPod: [
      PodMetricSample(valueMilli: 1), PodMetricSample(valueMilli: 1), nil,
    ])
    #expect(
      calc.groupPods(pods, metrics: set, resource: "cpu", now: now) == [.unready, .ready, .missing])
  }
  @Test func pendingPodsAreUnready() {
    #expect(group(HPAPod(name: "unscheduled", phase: .pending), nil) == .unready)
  }
  @Test func podsBeingDeletedAreIgnored() {
    #expect(
      group(
        HPAPod(name: "deleted", phase: .pending, isDeleting: true), PodMetricSample(valueMilli: 1))
        == .ignored)
  }
  @Test func failedPodsAreIgnored() {
    #expect(
      group(HPAPod(name: "failed", phase: .failed), PodMetricSample(valueMilli: 1)) == .ignored)
  }
}

/// `TestCalculatePodRequests`.
@Suite struct PodRequestsTests {
  @Test func regularContainersAreSummed() throws {
    let pod = HPAPod(
      name: "test-pod",
      containers: [
        HPAContainer(name: "container1", requestsMilli: ["cpu": 100]),
        HPAContainer(name: "container2", requestsMilli: ["cpu": 50]),
      ])
    #expect(try ReplicaCalculator.request(of: pod, resource: "cpu", container: nil) == 150)
    #expect(try ReplicaCalculator.request(of: pod, resource: "cpu", container: "container1") == 100)
  }
  @Test func aContainerWithoutRequestIsAnError() {
    let pod = HPAPod(
      name: "test-pod", containers: [HPAContainer(name: "container1", requestsMilli: [:])])
    #expect(
      throws: HPAMetricError("missing request for cpu in container container1 of Pod test-pod")
    ) {
      try ReplicaCalculator.request(of: pod, resource: "cpu", container: nil)
    }
  }
  @Test func sidecarsCountPlainInitContainersDoNot() throws {
    // The pod's list holds regular containers and sidecars; a plain init container is not listed.
    let pod = HPAPod(
      name: "test-pod",
      containers: [
        HPAContainer(name: "container1", requestsMilli: ["cpu": 100]),
        HPAContainer(name: "restartable-container1", requestsMilli: ["cpu": 50], isSidecar: true),
      ])
    #expect(try ReplicaCalculator.request(of: pod, resource: "cpu", container: nil) == 150)
  }
}
