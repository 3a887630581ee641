import BerthBench
import BerthTestSupport
import Foundation
import Testing

/// The regression gate judges times from per-round samples: noise never fails, a real slowdown
/// beyond the tolerance does once there are enough rounds.
struct ComparisonTests {
  @Test(
    "Mann–Whitney tail probabilities match hand counts",
    arguments: [
      ([1.0, 2, 3], [4.0, 5, 6], 1.0 / 20),  // fully separated: 1 of C(6,3)
      ([1.0, 2, 3, 4, 5], [6.0, 7, 8, 9, 10], 1.0 / 252),  // 1 of C(10,5)
      ([1.0, 2, 4], [3.0, 5, 6], 2.0 / 20),  // U = 8 of 9: two interleavings reach it
      ([6.0, 7, 8], [1.0, 2, 3], 1.0),  // the other way round: certain
    ] as [([Double], [Double], Double)])
  func mannWhitney(x: [Double], y: [Double], p: Double) {
    #expect(abs(Statistics.mannWhitneyLess(x, than: y) - p) < 1e-12)
  }

  @Test("ties count half, on the conservative side")
  func ties() {
    let same = [5.0, 5, 5, 5, 5]
    #expect(Statistics.mannWhitneyLess(same, than: same) > 0.4)
  }

  static let base: BenchReport = {
    let file = repository + "/datasets/suites/node-affinity.yaml"
    return try! BenchSession.run(
      paths: [file], labels: ["smoke"], workloadFilter: nil, seed: 1, rounds: 5,
      minimumSampleSeconds: 0.001)
  }()

  /// `base` with round r's samples set to `factors[r]` × 10,000 pods/s (latencies inversely)
  /// and the reference probe at `probe` ms (nil: absent, as in older reports), so the test
  /// controls the noise exactly.
  static func scaled(_ factors: [Double], probe: Double? = 1) -> BenchReport {
    var r = base
    for w in r.workloads.indices {
      let rounds = r.workloads[w].rounds!
      r.workloads[w].rounds = zip(rounds, factors).map { round, f in
        var x = round
        x.throughput = 10_000 * f
        x.latencyP50Micros = 100 / f
        x.latencyP99Micros = 300 / f
        x.referenceProbeNanos = probe.map { $0 * 1e6 }
        return x
      }
    }
    return r
  }

  @Test(
    "a machine slowed down as much as the reference probe shows is not a regression; a slowdown the probe does not show is"
  )
  func speedAdjusted() {
    #expect(Self.base.workloads.allSatisfy { $0.hasReferenceProbe }, "bench runs time the probe")
    let old = Self.scaled([1.0, 1.01, 0.99, 1.02, 0.98])
    // Everything 25 % slower, the probe too: the machine, not Berth.
    let busyMachine = Self.scaled([0.8, 0.81, 0.79, 0.82, 0.78], probe: 1.25)
    #expect(Comparison(old: old, new: busyMachine).regressions == 0)
    #expect(
      Comparison(old: old, new: busyMachine).rows.first { $0.metric == "throughputAverage" }?.new
        .contains("speed-adjusted") == true)
    // 25 % slower with the probe unchanged: Berth.
    let slowBerth = Self.scaled([0.8, 0.81, 0.79, 0.82, 0.78], probe: 1)
    #expect(
      Comparison(old: old, new: slowBerth).rows.contains {
        $0.metric == "throughputAverage" && $0.verdict == .regressed
      })
    // Without probe times on one side, raw samples are compared (and the slowdown is seen).
    let unprobed = Self.scaled([0.8, 0.81, 0.79, 0.82, 0.78], probe: nil)
    #expect(
      Comparison(old: old, new: unprobed).rows.contains {
        $0.metric == "throughputAverage" && $0.verdict == .regressed
      })
  }

  @Test("reports carry five rounds with repeats that make each sample long enough")
  func rounds() throws {
    for w in Self.base.workloads {
      let rounds = try #require(w.rounds)
      #expect(rounds.count == 5)
      #expect(
        rounds.allSatisfy {
          $0.repeats >= 1 && ($0.measuredSeconds >= 0.001 || $0.repeats == 10_000)
        })
    }
  }

  @Test("the same samples, and noise of a few percent both ways, pass")
  func noisePasses() {
    #expect(Comparison(old: Self.base, new: Self.base).regressions == 0)
    let old = Self.scaled([1.0, 1.01, 0.99, 1.02, 0.98])
    let noisy = Self.scaled([0.97, 1.02, 0.95, 1.04, 0.99])
    #expect(Comparison(old: old, new: noisy).regressions == 0)
  }

  @Test("a consistent 15 % slowdown is a regression; 5 % is within the 10 % tolerance")
  func slowdownCaught() {
    let old = Self.scaled([1.0, 1.01, 0.99, 1.02, 0.98])
    let slow = Self.scaled([0.85, 0.86, 0.84, 0.85, 0.87])
    let c = Comparison(old: old, new: slow)
    #expect(c.regressions > 0)
    #expect(c.rows.contains { $0.metric == "throughputAverage" && $0.verdict == .regressed })
    let mild = Self.scaled([0.95, 0.96, 0.94, 0.95, 0.95])
    #expect(Comparison(old: old, new: mild).regressions == 0)
    // A 15 % median drop that the samples cannot tell from noise is not flagged either.
    let wild = Self.scaled([0.6, 1.1, 0.85, 1.3, 0.7])
    #expect(
      Comparison(old: old, new: wild).rows.allSatisfy {
        $0.metric != "throughputAverage" || $0.verdict != .regressed
      })
  }

  @Test("fewer than five rounds: not enough data, which does not fail")
  func notEnoughData() {
    var thin = Self.scaled([0.5, 0.5, 0.5, 0.5, 0.5])
    for w in thin.workloads.indices {
      thin.workloads[w].rounds = Array(thin.workloads[w].rounds!.prefix(3))
    }
    let c = Comparison(old: Self.base, new: thin)
    #expect(c.regressions == 0)
    #expect(c.rows.contains { $0.verdict == .notEnoughData })
    #expect(c.table().contains("not judged: fewer than 5 rounds"))
  }
}

struct MedianIntervalTests {
  @Test(
    "median intervals from order statistics with their binomial coverage",
    arguments: [
      (5, 1, 0.9375),  // five samples: only the full range, 30/32
      (6, 1, 0.96875),  // 62/64
      (9, 2, 0.9609375),
      (20, 6, 0.9586105346679688),
    ] as [(Int, Int, Double)])
  func interval(n: Int, k: Int, coverage: Double) {
    let xs = (1...n).map(Double.init).reversed()
    let i = Statistics.medianInterval(Array(xs), confidence: 0.95)
    #expect(i.low == Double(k))
    #expect(i.high == Double(n - k + 1))
    #expect(abs(i.coverage - coverage) < 1e-9)
  }
}

/// With instruction counts on both sides the gate judges them, and times are reported without
/// failing: the gate then holds on a machine whose speed drifts.
struct InstructionGateTests {
  /// `ComparisonTests.scaled(factors)` with `instructions` per pod on every workload.
  static func counted(_ factors: [Double], instructions: Double?, probe: Double? = 1)
    -> BenchReport
  {
    var r = ComparisonTests.scaled(factors, probe: probe)
    for w in r.workloads.indices { r.workloads[w].instructionsPerPod = instructions }
    return r
  }

  static let steady = [1.0, 1.01, 0.99, 1.02, 0.98]
  static let slower = [0.8, 0.81, 0.79, 0.82, 0.78]

  @Test("equal counts pass however the times moved; times worse beyond tolerance are shown")
  func timesNotGated() {
    let old = Self.counted(Self.steady, instructions: 10_000)
    let new = Self.counted(Self.slower, instructions: 10_000.5)
    let c = Comparison(old: old, new: new)
    #expect(c.regressions == 0)
    #expect(
      c.rows.contains { $0.metric == "throughputAverage" && $0.verdict == .worseNotGated })
    #expect(
      c.rows.contains { $0.metric == "instructionsPerPod" && $0.verdict == .withinTolerance })
    #expect(c.table().contains("worse but not gated"))
    // --gate time and --gate both judge the times again.
    #expect(Comparison(old: old, new: new, gate: .time).regressions > 0)
    #expect(Comparison(old: old, new: new, gate: .both).regressions > 0)
  }

  @Test("more instructions than the tolerance fail even when times look the same")
  func moreInstructionsFail() {
    let old = Self.counted(Self.steady, instructions: 10_000)
    let new = Self.counted(Self.steady, instructions: 10_300)
    let c = Comparison(old: old, new: new)
    #expect(
      c.rows.contains {
        $0.metric == "instructionsPerPod" && $0.verdict == .regressed
          && abs(($0.deltaPercent ?? 0) - 3) < 1e-9
      })
    #expect(c.regressions == old.workloads.count)
    // Within a wider tolerance, or judged on time only, it passes; fewer instructions improve.
    #expect(Comparison(old: old, new: new, instructionTolerance: 5).regressions == 0)
    #expect(Comparison(old: old, new: new, gate: .time).regressions == 0)
    let fewer = Self.counted(Self.steady, instructions: 9_000)
    #expect(
      Comparison(old: old, new: fewer).rows.contains {
        $0.metric == "instructionsPerPod" && $0.verdict == .improved
      })
  }

  @Test("counts on one side only: auto judges time; --gate instructions fails")
  func oneSideCounted() {
    let old = Self.counted(Self.steady, instructions: 10_000)
    let uncounted = Self.counted(Self.slower, instructions: nil)
    let auto = Comparison(old: old, new: uncounted)
    #expect(auto.rows.contains { $0.metric == "instructionsPerPod" && $0.verdict == .notCounted })
    #expect(
      auto.rows.contains { $0.metric == "throughputAverage" && $0.verdict == .regressed },
      "without counts on both sides the time gate applies")
    let strict = Comparison(
      old: old, new: Self.counted(Self.steady, instructions: nil),
      gate: .instructions)
    #expect(strict.rows.contains { $0.metric == "instructionsPerPod" && $0.verdict == .missing })
    #expect(strict.regressions > 0)
  }

  @Test("instructions_per_pod round-trips through the JSON report and its schema")
  func reportField() throws {
    let report = Self.counted(Self.steady, instructions: 12_345.5)
    let schema = try JSONSchema(path: repository + "/docs/bench-report.schema.json")
    #expect(try schema.violations(of: Data(report.json().utf8)) == [])
    let decoded = try BenchReport.decode(Data(report.json().utf8), file: "r.json")
    #expect(decoded.workloads.allSatisfy { $0.instructionsPerPod == 12_345.5 })
    #expect(report.csv().split(separator: "\n")[0].hasSuffix(",instructions_per_pod"))
  }
}
