import Foundation
import Testing

@testable import BerthAutoscaling

/// Upstream's `histogram_test.go` and `decaying_histogram_test.go` cases (linear test options:
/// max 10, bucket size 1, epsilon 1e-15), the recommender's estimation rules and the facts its
/// code comments state.
@Suite struct VPAHistogramTests {
  let options = HistogramOptions.linear(maxValue: 10, bucketSize: 1, epsilon: 1e-15)
  let hour: Int64 = 3_600_000
  let start = UnixMillis(1_234_567_890_000)

  @Test func emptyHistogramPercentilesAreZero() {
    let h = Histogram(options)
    for p in stride(from: -0.5, through: 1.5, by: 0.5) { #expect(h.percentile(p) == 0) }
  }

  @Test func percentilesAreUpperBucketEdges() {
    var h = Histogram(options)
    for i in 1...4 { h.add(Double(i), weight: Double(i)) }
    let expected: [(Double, Double)] = [
      (0.0, 2), (0.1, 2), (0.2, 3), (0.3, 3), (0.4, 4), (0.5, 4), (0.6, 4), (0.7, 5), (0.8, 5),
      (0.9, 5), (1.0, 5),
    ]
    for (p, v) in expected { #expect(h.percentile(p) == v, "\(p)") }
  }

  @Test func outOfBoundsPercentilesGiveTheEnds() {
    var h = Histogram(.linear(maxValue: 1, bucketSize: 0.1, epsilon: 1e-15))
    h.add(0.1, weight: 0.1)
    h.add(0.2, weight: 0.2)
    #expect(abs(h.percentile(-0.1) - 0.2) < 1e-12)
    #expect(abs(h.percentile(1.1) - 0.3) < 1e-12)
    h.add(0.0, weight: 0.1)
    h.add(1.0, weight: 0.2)
    #expect(abs(h.percentile(-0.1) - 0.1) < 1e-12)
    #expect(abs(h.percentile(1.1) - 1.0) < 1e-12)
  }

  @Test func emptinessFollowsEpsilon() {
    let eps = 1e-15
    var h = Histogram(.linear(maxValue: 1, bucketSize: 0.1, epsilon: eps))
    #expect(h.isEmpty)
    h.add(0.1, weight: eps * 2.5)
    #expect(!h.isEmpty)
    h.subtract(0.1, weight: eps)
    #expect(!h.isEmpty)
    h.subtract(0.1, weight: eps)
    #expect(h.isEmpty)
    var g = Histogram(.linear(maxValue: 1, bucketSize: 0.1, epsilon: eps))
    g.add(9.9, weight: eps * 3)
    g.add(0.1, weight: eps * 0.3)
    #expect(!g.isEmpty)
    g.add(999.9, weight: eps * 0.3)
    #expect(!g.isEmpty)
  }

  @Test func mergeAddsWeights() {
    var a = Histogram(options)
    a.add(1, weight: 1)
    a.add(2, weight: 1)
    var b = Histogram(options)
    b.add(2, weight: 1)
    b.add(3, weight: 1)
    var expected = Histogram(options)
    for v in [1.0, 2, 2, 3] { expected.add(v, weight: 1) }
    a.merge(b)
    #expect(a == expected)
  }

  @Test func aHeavySampleDecaysAfterTwentyHalfLives() {
    var h = DecayingHistogram(options, halfLifeMillis: hour)
    h.add(2, weight: 1000, at: start)
    h.add(1, weight: 1, at: start.adding(milliseconds: 20 * hour))
    #expect(h.percentile(0.999) == 2)
    #expect(h.percentile(1.0) == 3)
  }

  @Test func longTermDecayRenormalises() {
    var h = DecayingHistogram(options, halfLifeMillis: hour)
    h.add(2, weight: 1, at: start)
    h.add(1, weight: 1, at: start.adding(milliseconds: 101 * hour))
    #expect(h.percentile(1.0) == 2)
  }

  @Test func decayingPercentiles() {
    var h = DecayingHistogram(options, halfLifeMillis: hour)
    var t = start
    for i in 1...4 {
      h.add(Double(i), weight: Double(i), at: t)
      t = t.adding(milliseconds: hour)
    }
    let expected: [(Double, Double)] = [
      (0.00, 2), (0.02, 2), (0.03, 3), (0.10, 3), (0.11, 4), (0.34, 4), (0.35, 5), (1.00, 5),
    ]
    for (p, v) in expected { #expect(h.percentile(p) == v, "\(p)") }
  }

  @Test func noDecayAtOneInstant() {
    var h = DecayingHistogram(options, halfLifeMillis: hour)
    for i in 1...4 { h.add(Double(i), weight: Double(i), at: start) }
    #expect(h.percentile(0.0) == 2)
    #expect(h.percentile(0.4) == 4)
    #expect(h.percentile(0.7) == 5)
  }

  /// The recommender's options: 176 exponential buckets for CPU and for memory.
  @Test func cpuAndMemoryOptions() {
    #expect(HistogramOptions.cpu.numBuckets == 176)
    #expect(HistogramOptions.memory.numBuckets == 176)
    #expect(HistogramOptions.cpu.findBucket(0.005) == 0)
    #expect(HistogramOptions.cpu.findBucket(0.01) == 1)
    #expect(abs(HistogramOptions.cpu.bucketStart(1) - 0.01) < 1e-12)
    #expect(abs(HistogramOptions.cpu.bucketStart(2) - 0.0205) < 1e-12)
    #expect(HistogramOptions.cpu.findBucket(1e9) == 175)
  }
}

@Suite struct VPARecommenderTests {
  let flags = VPARecommenderFlags()
  let t0 = UnixMillis(1_767_225_600_000)
  let minute: Int64 = 60_000

  /// Constant usage for a week at one sample a minute: the target is the usage's bucket's
  /// upper edge × 1.15 — within one bucket of usage × 1.15 (a bucket spans 5 % of its start
  /// for large values, 8 % around 300 MiB, where the first 10 MB bucket still counts).
  @Test func constantUsageGivesAboutUsageTimesMargin() {
    var m = VPAModel(flags: flags)
    for k in 0..<(7 * 1440) {
      m.addUsage(
        pod: "p", container: "app", at: t0.adding(milliseconds: Int64(k) * minute),
        cpuCores: 0.5, memoryBytes: 300 * 1024 * 1024)
    }
    let r = m.recommendations(vpa: nil, at: t0.adding(milliseconds: 7 * 1440 * minute))[0]
    let cpuRatio = Double(r.target.cpuMilli) / 500
    let memRatio = Double(r.target.memoryBytes) / (300 * 1024 * 1024)
    #expect(cpuRatio >= 1.15 && cpuRatio <= 1.15 * 1.05, "\(cpuRatio)")
    #expect(memRatio >= 1.15 && memRatio <= 1.15 * 1.09, "\(memRatio)")
    // P50 and P95 of a constant fall in the same bucket: only the confidence factors differ.
    // A week of samples: confidence 7 → upper × (1 + 1/7), lower × (1 + 0.001/7)⁻².
    #expect(r.upperBound.cpuMilli == Int64(Double(r.target.cpuMilli) * (1 + 1.0 / 7)))
    #expect(r.lowerBound.cpuMilli == Int64(Double(r.target.cpuMilli) * pow(1 + 0.001 / 7, -2)))
  }

  /// The confidence multipliers of upstream's comments: no history → upper unbounded, lower
  /// 0; 12 h → ×3; 24 h → ×2; a week → ×1.14; the lower bound ×0.6 at 5 min, ×0.9 at 30 min.
  @Test func confidenceMultipliers() {
    func state(minutes: Int) -> VPAAggregateState {
      var s = VPAAggregateState(flags: flags)
      var w = VPAContainerWindow()
      for k in 0...minutes {
        s.addCPU(1, at: t0.adding(milliseconds: Int64(k) * minute), window: &w)
      }
      return s
    }
    let one = VPAAggregateState(flags: flags).confidence
    #expect(one == 0)
    var single = VPAAggregateState(flags: flags)
    var w = VPAContainerWindow()
    single.addCPU(1, at: t0, window: &w)
    let e0 = VPARecommender.estimate(single, containers: 1, flags: flags)
    #expect(e0.upper.cpuMilli == .max)
    #expect(e0.lower.cpuMilli == 25)  // 0, lifted to the pod minimum
    for (minutes, upper) in [(720, 3.0), (1440, 2.0), (7 * 1440, 1 + 1.0 / 7)] {
      let s = state(minutes: minutes)
      #expect(abs(pow(1 + 1 / s.confidence, 1) - upper) < 0.01, "\(minutes)")
    }
    for (minutes, lower) in [(5, 0.6), (30, 0.9), (60, 0.95)] {
      let s = state(minutes: minutes)
      #expect(abs(pow(1 + 0.001 / s.confidence, -2) - lower) < 0.03, "\(minutes)")
    }
  }

  /// `RecordOOM`: the sample is max(used + 100 MiB, used × 1.2), used the request or the
  /// window's usage peak; an OOM from before the window's start is discarded.
  @Test func oomBumpUp() {
    var s = VPAAggregateState(flags: flags)
    var w = VPAContainerWindow()
    s.addMemory(200 * 1024 * 1024, at: t0, window: &w, flags: flags)
    #expect(
      s.recordOOM(
        at: t0.adding(milliseconds: minute), requestBytes: 100 * 1024 * 1024, window: &w,
        flags: flags))
    // used = max(100 Mi, 200 Mi peak) = 200 Mi; needed = max(300 Mi, 240 Mi) = 300 Mi.
    #expect(w.oomPeak == 300 * 1024 * 1024)
    var big = VPAContainerWindow()
    var s2 = VPAAggregateState(flags: flags)
    s2.addMemory(1, at: t0, window: &big, flags: flags)
    #expect(
      s2.recordOOM(
        at: t0.adding(milliseconds: minute), requestBytes: 1000 * 1024 * 1024, window: &big,
        flags: flags))
    #expect(big.oomPeak == 1200 * 1024 * 1024)
    // Too old: before windowEnd − 24 h.
    #expect(
      !s2.recordOOM(
        at: t0.adding(milliseconds: -minute), requestBytes: 1, window: &big, flags: flags))
  }

  /// Memory peaks: one per container per day, the window moving on by whole days.
  @Test func memoryPeaksPerInterval() {
    var s = VPAAggregateState(flags: flags)
    var w = VPAContainerWindow()
    s.addMemory(100e6, at: t0, window: &w, flags: flags)
    #expect(w.windowEnd == t0.adding(milliseconds: 86_400_000))
    s.addMemory(300e6, at: t0.adding(milliseconds: 3_600_000), window: &w, flags: flags)
    s.addMemory(200e6, at: t0.adding(milliseconds: 7_200_000), window: &w, flags: flags)
    #expect(w.memoryPeak == 300e6)
    #expect(
      abs(
        s.memoryPeaks.histogram.totalWeight
          - s.memoryPeaks.histogram.weights[HistogramOptions.memory.findBucket(300e6)]) < 1e-9)
    s.addMemory(50e6, at: t0.adding(milliseconds: 3 * 86_400_000 + 5), window: &w, flags: flags)
    #expect(w.windowEnd == t0.adding(milliseconds: 4 * 86_400_000))
    #expect(w.memoryPeak == 50e6)
  }

  /// Policies: min/max allowed cap target and bounds; uncappedTarget is the raw target; the
  /// pod minimum is split among containers; mode Off gives none.
  @Test func policiesAndMinimums() {
    var m = VPAModel(flags: flags)
    for k in 0..<120 {
      let t = t0.adding(milliseconds: Int64(k) * minute)
      m.addUsage(pod: "p", container: "app", at: t, cpuCores: 0.001, memoryBytes: 1e6)
      m.addUsage(pod: "p", container: "sidecar", at: t, cpuCores: 2, memoryBytes: 2e9)
    }
    var vpa = VPASpec(
      namespace: "default", name: "v", targetRef: ObjectRef(kind: "Deployment", name: "d"))
    var cap = VPAContainerPolicy(containerName: "sidecar")
    cap.maxAllowed = (cpuMilli: 1000, memoryBytes: 1_000_000_000)
    vpa.containerPolicies = [cap]
    let r = m.recommendations(vpa: vpa, at: t0.adding(milliseconds: 120 * minute))
    #expect(r.map(\.containerName) == ["app", "sidecar"])
    // 25m and 250 MiB split over two containers.
    #expect(r[0].target.cpuMilli == 12)
    #expect(r[0].target.memoryBytes == 131_072_000)
    #expect(r[1].target.cpuMilli == 1000)
    #expect(r[1].uncappedTarget.cpuMilli > 2000)
    var off = VPAContainerPolicy(containerName: "*")
    off.off = true
    vpa.containerPolicies = [off]
    #expect(m.recommendations(vpa: vpa, at: t0.adding(milliseconds: 120 * minute)).isEmpty)
  }
}
