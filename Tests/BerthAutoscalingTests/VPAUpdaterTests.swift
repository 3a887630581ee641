import Testing

@testable import BerthAutoscaling

/// The VPA updater's rules, with the cases of upstream's `priority_processor_test.go`,
/// `update_priority_calculator_test.go` and the eviction-restriction tests
/// (`pods_eviction_restriction_test.go`), transcribed as facts.
@Suite struct VPAUpdaterTests {
  static let m: Int64 = 1_000_000  // 1M of memory, in milli-bytes: 1e6 × 1000
  static let container = "test-container"

  static func pod(cpu: Int64?, memory: Int64? = nil) -> [VPAUpdateContainer] {
    [VPAUpdateContainer(name: container, requests: VPAAmounts(cpuMilli: cpu, memoryMilli: memory))]
  }
  static func rec(
    _ name: String = container, cpu: Int64?, memory: Int64? = nil, lower: VPAAmounts = VPAAmounts(),
    upper: VPAAmounts = VPAAmounts()
  ) -> VPARecommendedBounds {
    VPARecommendedBounds(
      containerName: name, target: VPAAmounts(cpuMilli: cpu, memoryMilli: memory),
      lowerBound: lower, upperBound: upper)
  }

  struct PriorityCase: CustomTestStringConvertible, Sendable {
    var name: String
    var containers: [VPAUpdateContainer]
    var recommendations: [VPARecommendedBounds]
    var expected: VPAPodPriority
    var testDescription: String { name }
  }

  static let priorityCases: [PriorityCase] = [
    .init(
      name: "simple scale up", containers: pod(cpu: 2000), recommendations: [rec(cpu: 10_000)],
      expected: .init(scaleUp: true, resourceDiff: 4)),
    // The status's request (2) is what counts, not the spec's (10000).
    .init(
      name: "scale up from the container status's requests", containers: pod(cpu: 2000),
      recommendations: [rec(cpu: 10_000)], expected: .init(scaleUp: true, resourceDiff: 4)),
    .init(
      name: "simple scale down", containers: pod(cpu: 4000), recommendations: [rec(cpu: 2000)],
      expected: .init(resourceDiff: 0.5)),
    .init(
      name: "no resource diff", containers: pod(cpu: 2000), recommendations: [rec(cpu: 2000)],
      expected: .init()),
    .init(
      name: "scale up on milliquantities", containers: pod(cpu: 10),
      recommendations: [rec(cpu: 900)], expected: .init(scaleUp: true, resourceDiff: 89)),
    .init(
      name: "scale up outside recommended range", containers: pod(cpu: 4000),
      recommendations: [
        rec(cpu: 10_000, lower: VPAAmounts(cpuMilli: 6000), upper: VPAAmounts(cpuMilli: 14_000))
      ],
      expected: .init(outsideRecommendedRange: true, scaleUp: true, resourceDiff: 1.5)),
    .init(
      name: "scale down outside recommended range", containers: pod(cpu: 8000),
      recommendations: [
        rec(cpu: 2000, lower: VPAAmounts(cpuMilli: 1000), upper: VPAAmounts(cpuMilli: 3000))
      ],
      expected: .init(outsideRecommendedRange: true, resourceDiff: 0.75)),
    .init(
      name: "multiple resources, both scale up", containers: pod(cpu: 3000, memory: 10 * m),
      recommendations: [rec(cpu: 6000, memory: 20 * m)],
      expected: .init(scaleUp: true, resourceDiff: 2)),
    .init(
      name: "multiple resources, only one scale up", containers: pod(cpu: 4000, memory: 10 * m),
      recommendations: [rec(cpu: 2000, memory: 20 * m)],
      expected: .init(scaleUp: true, resourceDiff: 1.5)),
    .init(
      name: "multiple resources, both scale down", containers: pod(cpu: 4000, memory: 20 * m),
      recommendations: [rec(cpu: 2000, memory: 10 * m)], expected: .init(resourceDiff: 1)),
    .init(
      name: "multiple resources, one outside recommended range",
      containers: pod(cpu: 4000, memory: 20 * m),
      recommendations: [
        rec(
          cpu: 2000, memory: 10 * m, lower: VPAAmounts(cpuMilli: 1000, memoryMilli: 5 * m),
          upper: VPAAmounts(cpuMilli: 3000, memoryMilli: 30 * m))
      ],
      expected: .init(outsideRecommendedRange: true, resourceDiff: 1)),
    .init(
      name: "multiple containers, both scale up",
      containers: pod(cpu: 1000) + [
        .init(name: "test-container-2", requests: .init(cpuMilli: 2000))
      ],
      recommendations: [rec(cpu: 4000), rec("test-container-2", cpu: 8000)],
      expected: .init(scaleUp: true, resourceDiff: 3)),
    .init(
      name: "multiple containers, both scale down",
      containers: pod(cpu: 3000) + [
        .init(name: "test-container-2", requests: .init(cpuMilli: 7000))
      ],
      recommendations: [rec(cpu: 1000), rec("test-container-2", cpu: 2000)],
      expected: .init(resourceDiff: 0.7)),
    .init(
      name: "multiple containers, both scale up, one outside range",
      containers: pod(cpu: 1000) + [
        .init(name: "test-container-2", requests: .init(cpuMilli: 2000))
      ],
      recommendations: [
        rec(cpu: 4000, lower: VPAAmounts(cpuMilli: 1000)),
        rec(
          "test-container-2", cpu: 8000, lower: VPAAmounts(cpuMilli: 3000),
          upper: VPAAmounts(cpuMilli: 10_000)),
      ],
      expected: .init(outsideRecommendedRange: true, scaleUp: true, resourceDiff: 3)),
    // container1 {6 CPU, 10M} → {8, 20M}; container2 {4, 30M} → {7, 30M}: totals {10, 40M} →
    // {15, 50M}: 0.5 + 0.25.
    .init(
      name: "multiple containers, multiple resources",
      containers: pod(cpu: 6000, memory: 10 * m) + [
        .init(name: "test-container-2", requests: .init(cpuMilli: 4000, memoryMilli: 30 * m))
      ],
      recommendations: [
        rec(cpu: 8000, memory: 20 * m), rec("test-container-2", cpu: 7000, memory: 30 * m),
      ],
      expected: .init(scaleUp: true, resourceDiff: 0.75)),
  ]

  @Test(arguments: priorityCases) func updatePriority(_ c: PriorityCase) {
    let p = VPAUpdatePriority.priority(containers: c.containers, recommendations: c.recommendations)
    #expect(p.outsideRecommendedRange == c.expected.outsideRecommendedRange)
    #expect(p.scaleUp == c.expected.scaleUp)
    #expect(abs(p.resourceDiff - c.expected.resourceDiff) < 1e-12, "\(p.resourceDiff)")
  }

  /// A low-confidence upper bound far above anything (10^17 bytes) saturates in milli-units
  /// instead of wrapping: a request under it is inside the range, as upstream's exact
  /// quantities compare (a wrapped bound once made every such pod look outside and evicted it).
  @Test func aHugeUpperBoundSaturates() {
    var r = VPAContainerRecommendation(
      containerName: Self.container, target: VPAResources(cpuMilli: 100, memoryBytes: 300 << 20),
      lowerBound: VPAResources(cpuMilli: 50, memoryBytes: 200 << 20),
      upperBound: VPAResources(cpuMilli: 1_000_000, memoryBytes: 100_000_000_000_000_000),
      uncappedTarget: VPAResources(cpuMilli: 100, memoryBytes: 300 << 20))
    r.controlled = ["memory"]
    let bounds = VPARecommendedBounds(r)
    #expect(bounds.upperBound.memoryMilli == .max)
    let p = VPAUpdatePriority.priority(
      containers: Self.pod(cpu: nil, memory: (256 << 20) * 1000), recommendations: [bounds])
    #expect(!p.outsideRecommendedRange)
  }

  /// `TestGetUpdatePriority_NoRecommendationForContainer`: nothing to compare, nothing to do.
  @Test func noRecommendationForTheContainer() {
    let p = VPAUpdatePriority.priority(
      containers: Self.pod(cpu: 5000, memory: 10_000), recommendations: [])
    #expect(p == VPAPodPriority())
  }

  /// A request the container does not set counts as outside the range and growing.
  @Test func missingRequestIsOutsideAndGrowing() {
    let p = VPAUpdatePriority.priority(
      containers: Self.pod(cpu: nil), recommendations: [Self.rec(cpu: 100)])
    #expect(p.outsideRecommendedRange && p.scaleUp)
    #expect(p.resourceDiff == 99)  // |max(0, 1) − 100| / 1
  }

  // MARK: UpdatePriorityCalculator

  static let start = UnixMillis(1_700_000_000_000)
  static let hour: Int64 = 3_600_000

  /// AddPod over `pods` at `start + hours`, then GetSortedPods: the names kept, in order.
  func calculate(
    _ pods: [(String, VPAPodPriority, quickOOM: Bool)], hours: Int64, minChange: Double = 0.1
  ) -> [String] {
    var flags = VPAUpdaterFlags()
    flags.minChangePriority = minChange
    let now = Self.start.adding(milliseconds: hours * Self.hour)
    let kept = pods.filter {
      VPAUpdatePriority.accepts(
        $0.1, quickOOM: $0.quickOOM, startTime: Self.start, now: now, flags: flags)
    }
    return VPAUpdatePriority.sorted(kept.map { ($0.0, $0.1) })
  }

  @Test func sortPriority() {
    let order = calculate(
      [
        ("POD1", .init(resourceDiff: 4), false), ("POD2", .init(resourceDiff: 1.5), false),
        ("POD3", .init(resourceDiff: 9), false), ("POD4", .init(resourceDiff: 2.33), false),
      ], hours: 24)
    #expect(order == ["POD3", "POD1", "POD4", "POD2"])
  }

  @Test func sortPriorityResourcesDecrease() {
    // pod1 wants to grow by 1 unit; pod3 can reclaim 5, pod2 3.
    let order = calculate(
      [
        ("POD1", .init(scaleUp: true, resourceDiff: 0.25), false),
        ("POD2", .init(resourceDiff: 0.25), false), ("POD3", .init(resourceDiff: 0.5), false),
      ], hours: 24)
    #expect(order == ["POD1", "POD3", "POD2"])
  }

  @Test func updateNotRequired() {
    #expect(calculate([("POD1", .init(resourceDiff: 0), false)], hours: 24).isEmpty)
  }

  @Test func longLivedPodsInsideTheRangeNeedTheMinimumChange() {
    let order = calculate(
      [
        ("POD1", .init(scaleUp: true, resourceDiff: 0.25), false),
        ("POD2", .init(scaleUp: true, resourceDiff: 4), false),
        ("POD3", .init(outsideRecommendedRange: true, resourceDiff: 0.25), false),
      ], hours: 13, minChange: 0.5)
    #expect(order == ["POD2", "POD3"])
  }

  @Test func shortLivedPodsOnlyOutsideTheRange() {
    let order = calculate(
      [
        ("POD1", .init(scaleUp: true, resourceDiff: 0.25), false),
        ("POD2", .init(scaleUp: true, resourceDiff: 0), false),
        ("POD3", .init(outsideRecommendedRange: true, resourceDiff: 0.9), false),
      ], hours: 11, minChange: 0.5)
    #expect(order == ["POD3"])
  }

  @Test func quickOOM() {
    let flags = VPAUpdaterFlags()
    let now = Self.start.adding(milliseconds: 11 * Self.hour)
    let minute: Int64 = 60_000
    // Ran 2 minutes before the kill: quick.
    let quick = VPAUpdatePriority.isQuickOOM(
      lastTermination: (
        "OOMKilled", now.adding(milliseconds: -5 * minute), now.adding(milliseconds: -3 * minute)
      ), flags: flags)
    #expect(quick)
    // TestUpdatePodWithQuickOOM: inside the range, young, diff under the minimum — updated.
    #expect(
      calculate(
        [("POD1", .init(scaleUp: true, resourceDiff: 0.25), quickOOM: quick)], hours: 11,
        minChange: 0.5)
        == ["POD1"])
    // TestDontUpdatePodWithQuickOOMNoResourceChange.
    #expect(
      calculate([("POD1", .init(scaleUp: true, resourceDiff: 0), quickOOM: quick)], hours: 11)
        .isEmpty)
    // TestDontUpdatePodWithOOMAfterLongRun: 57 minutes of running is not quick.
    let long = VPAUpdatePriority.isQuickOOM(
      lastTermination: (
        "OOMKilled", now.adding(milliseconds: -60 * minute), now.adding(milliseconds: -3 * minute)
      ), flags: flags)
    #expect(!long)
    #expect(
      calculate(
        [("POD1", .init(scaleUp: true, resourceDiff: 0), quickOOM: long)], hours: 11, minChange: 0.5
      ).isEmpty)
    // Another reason is not an OOM.
    #expect(
      !VPAUpdatePriority.isQuickOOM(
        lastTermination: ("Error", now.adding(milliseconds: -5 * minute), now), flags: flags))
  }

  @Test func podWithoutStartTimeInsideTheRangeIsNotUpdated() {
    #expect(
      !VPAUpdatePriority.accepts(
        .init(resourceDiff: 5), quickOOM: false, startTime: nil, now: Self.start, flags: .init()))
  }

  @Test func lessPodPriority() {
    let cases: [(VPAPodPriority, VPAPodPriority, Bool)] = [
      (.init(resourceDiff: 0.1), .init(), false),  // scale down more than empty
      (.init(scaleUp: true, resourceDiff: 0.1), .init(), false),  // scale up more than empty
      (.init(scaleUp: true, resourceDiff: 0.1), .init(scaleUp: true, resourceDiff: 1), true),
      (.init(resourceDiff: 0.9), .init(resourceDiff: 0.1), false),  // two scale downs
    ]
    for (p, other, less) in cases {
      #expect(p.isLess(than: other) == less)
      #expect(other.isLess(than: p) == !less)
    }
  }

  // MARK: Eviction restriction

  /// Evicts pods of a group of `replicas` (all running) one after another: how many go.
  func evictions(replicas: Int, live: Int? = nil, tolerance: Double, minReplicas: Int32 = 2) -> Int
  {
    var flags = VPAUpdaterFlags()
    flags.evictionTolerance = tolerance
    guard
      var g = VPADisruptionGroup(
        configured: replicas, live: live ?? replicas, pending: 0, minReplicas: minReplicas,
        flags: flags)
    else { return 0 }
    var n = 0
    for _ in 0..<(live ?? replicas) where g.canEvict(pending: false) {
      g.evicted += 1
      n += 1
    }
    return n
  }

  @Test func evictionTolerance() {
    // TestEvictReplicatedByController: 3 replicas, 0.5 → one pod.
    #expect(evictions(replicas: 3, tolerance: 0.5) == 1)
    // TestEvictionTolerance: 5 replicas, 0.8 → four.
    #expect(evictions(replicas: 5, tolerance: 0.8) == 4)
    // TestEvictAtLeastOne: 5 replicas, 0.1 (tolerance 0) → one.
    #expect(evictions(replicas: 5, tolerance: 0.1) == 1)
    // TestEvictTooFewReplicas: minReplicas 10 with 5 live → none.
    #expect(evictions(replicas: 5, tolerance: 0.5, minReplicas: 10) == 0)
    // A group short of its replicas with tolerance 0 keeps its pods.
    #expect(evictions(replicas: 5, live: 4, tolerance: 0.1) == 0)
  }

  @Test func pendingPodsCanAlwaysBeEvicted() {
    var flags = VPAUpdaterFlags()
    flags.evictionTolerance = 0
    var g = VPADisruptionGroup(configured: 3, live: 3, pending: 1, minReplicas: 2, flags: flags)!
    #expect(!g.canEvict(pending: false))
    #expect(g.canEvict(pending: true))
    g.evicted = 0
    #expect(g.running == 2)
  }

  @Test func inPlaceUpdatesCountAgainstTheTolerance() {
    var g = VPADisruptionGroup(configured: 4, live: 4, pending: 0, minReplicas: 2, flags: .init())!
    #expect(g.isPodDisruptable)
    g.inPlaceUpdateInitiated = 2
    #expect(!g.isPodDisruptable)
  }
}
