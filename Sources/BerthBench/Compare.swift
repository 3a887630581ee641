import Foundation

/// Per-metric comparison of two reports.
///
/// Deterministic counters must match exactly (a changed checksum means the decisions changed).
/// Times are judged from the per-round samples both reports carry: a timed metric regresses
/// only when the new samples are worse by a one-sided Mann–Whitney test at `significance`
/// **and** the median moved the wrong way by more than the tolerance in percent — so noise
/// between two runs of one build is never a regression, and a real slowdown beyond the
/// tolerance is caught once there are enough rounds. Reports with fewer than `minimumRounds`
/// samples on either side get "not enough data" for their times, which does not fail.
///
/// Instructions per pod (`bench run --instructions`) repeat between runs of one build to a few
/// parts per million whatever the machine's speed: when both reports carry them, the gate judges
/// them (more than `instructionTolerance` percent more is a regression) and reports times
/// without failing on them, unless `gate` says otherwise.
public struct Comparison: Sendable {
  public enum Verdict: String, Sendable {
    case same
    case withinTolerance = "within tolerance"
    case improved, regressed, missing
    case notEnoughData = "not enough data"
    /// Worse beyond the tolerance, on a metric the gate does not judge.
    case worseNotGated = "worse (not gated)"
    /// Instructions absent from one report or both.
    case notCounted = "not counted"
  }
  /// What fails a comparison: time metrics, instruction counts, or both. `auto` judges
  /// instructions for the workloads both reports counted and time for the rest.
  public enum Gate: String, Sendable, CaseIterable {
    case auto, time, instructions, both
  }
  public struct Row: Sendable {
    public var workload: String
    public var metric: String
    public var old: String
    public var new: String
    public var deltaPercent: Double?
    public var verdict: Verdict
    /// One-sided p-value of "new is worse" (timed metrics judged on samples).
    public var pValue: Double?
  }

  /// Timed metrics judged on per-round samples.
  public static let timedMetrics: [Metric] = [
    .throughputAverage, .latencyP50Micros, .latencyP99Micros,
  ]
  public static let countedMetrics: [Metric] = [
    .nodesEvaluatedPerPod, .allocationsPerCycle, .scheduled, .unschedulable, .nodesUsed,
    .placementsChecksum,
  ]
  /// Tolerances where the default would be too tight: a p99 of a short sample moves a lot.
  public static let defaultTolerances: [Metric: Double] = [.latencyP99Micros: 25]
  public static let minimumRounds = 5
  public static let significance = 0.01
  /// Percent more instructions per pod that fails the instruction gate.
  public static let defaultInstructionTolerance = 2.0

  public var rows: [Row] = []
  public var regressions: Int {
    rows.filter { $0.verdict == .regressed || $0.verdict == .missing }.count
  }

  /// - Parameter tolerances: percent per timed metric; `defaultTolerances`, then `defaultTolerance`
  ///   for the rest.
  public init(
    old: BenchReport, new: BenchReport, defaultTolerance: Double = 10,
    tolerances: [Metric: Double] = [:], gate: Gate = .auto,
    instructionTolerance: Double = Comparison.defaultInstructionTolerance
  ) {
    let newByID = Dictionary(new.workloads.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    for o in old.workloads {
      guard let n = newByID[o.id] else {
        rows.append(
          Row(
            workload: o.id, metric: "-", old: "present", new: "absent", deltaPercent: nil,
            verdict: .missing))
        continue
      }
      let counted = o.instructionsPerPod != nil && n.instructionsPerPod != nil
      let gatesTime = gate == .time || gate == .both || (gate == .auto && !counted)
      let gatesInstructions = gate != .time && (gate != .auto || counted)
      for m in Self.timedMetrics {
        let tolerance = tolerances[m] ?? Self.defaultTolerances[m] ?? defaultTolerance
        var row = Self.judge(m, old: o, new: n, tolerance: tolerance)
        if !gatesTime && row.verdict == .regressed { row.verdict = .worseNotGated }
        rows.append(row)
      }
      if o.instructionsPerPod != nil || n.instructionsPerPod != nil || gate == .instructions
        || gate == .both
      {
        var row = Self.judgeInstructions(
          old: o, new: n, tolerance: tolerances[.instructionsPerPod] ?? instructionTolerance)
        if !gatesInstructions && row.verdict == .regressed { row.verdict = .worseNotGated }
        // Asked to gate on counts a report lacks: that fails rather than passing unjudged.
        if gatesInstructions && row.verdict == .notCounted { row.verdict = .missing }
        rows.append(row)
      }
      for m in Self.countedMetrics {
        let a = o.value(of: m)
        let b = n.value(of: m)
        guard a != nil || b != nil else { continue }
        var verdict: Verdict = a == b ? .same : .regressed
        var delta: Double?
        if case .number(let x)? = a, case .number(let y)? = b, x != y {
          delta = x == 0 ? 100 : (y - x) / x * 100
          let better = m.higherIsBetter ? y > x : y < x
          // Fewer allocations or nodes evaluated is better; any other counter change is a change
          // of decisions and fails until the baseline is renewed.
          if better && (m == .allocationsPerCycle || m == .nodesEvaluatedPerPod) {
            verdict = .improved
          }
        }
        rows.append(
          Row(
            workload: o.id, metric: m.rawValue, old: a.map(WorkloadResult.text) ?? "not measured",
            new: b.map(WorkloadResult.text) ?? "not measured", deltaPercent: delta, verdict: verdict
          ))
      }
    }
  }

  /// One timed metric from the two reports' round samples.
  static func judge(_ m: Metric, old o: WorkloadResult, new n: WorkloadResult, tolerance: Double)
    -> Row
  {
    // With reference-probe times on every round of both reports, each sample is scaled to the
    // machine's speed in its round: throughput × probe time, latency ÷ probe time (per
    // millisecond of probe). The two reports may then come from moments when the machine ran
    // at different speeds (a busy neighbour, frequency changes).
    let adjusted = o.hasReferenceProbe && n.hasReferenceProbe
    func samples(_ w: WorkloadResult) -> [Double] {
      (w.rounds ?? []).map { r in
        let probeMillis = adjusted ? r.referenceProbeNanos! / 1e6 : 1
        switch m {
        case .latencyP50Micros: return r.latencyP50Micros / probeMillis
        case .latencyP99Micros: return r.latencyP99Micros / probeMillis
        default: return r.throughput * probeMillis
        }
      }
    }
    let a = samples(o)
    let b = samples(n)
    guard a.count >= minimumRounds, b.count >= minimumRounds else {
      let text = { (w: WorkloadResult, k: Int) in
        "\(k) round(s)" + (w.value(of: m).map { ", " + WorkloadResult.text($0) } ?? "")
      }
      return Row(
        workload: o.id, metric: m.rawValue, old: text(o, a.count), new: text(n, b.count),
        deltaPercent: nil, verdict: .notEnoughData)
    }
    let ma = Statistics.median(a)
    let mb = Statistics.median(b)
    let delta = ma == 0 ? (mb == 0 ? 0 : 100) : (mb - ma) / ma * 100
    // "Worse" is lower throughput or higher latency.
    let worse = m.higherIsBetter ? -delta : delta
    let pWorse =
      m.higherIsBetter
      ? Statistics.mannWhitneyLess(b, than: a) : Statistics.mannWhitneyLess(a, than: b)
    let pBetter =
      m.higherIsBetter
      ? Statistics.mannWhitneyLess(a, than: b) : Statistics.mannWhitneyLess(b, than: a)
    let verdict: Verdict
    if worse > tolerance && pWorse < significance {
      verdict = .regressed
    } else if -worse > tolerance && pBetter < significance {
      verdict = .improved
    } else {
      verdict = delta == 0 ? .same : .withinTolerance
    }
    let unit = adjusted ? " speed-adjusted" : ""
    return Row(
      workload: o.id, metric: m.rawValue,
      old: "median " + WorkloadResult.text(.number(ma)) + unit + " of \(a.count)",
      new: "median " + WorkloadResult.text(.number(mb)) + unit + " of \(b.count)",
      deltaPercent: delta, verdict: verdict, pValue: pWorse)
  }

  /// Instructions per pod: more than `tolerance` percent more regresses, as many fewer improves.
  static func judgeInstructions(old o: WorkloadResult, new n: WorkloadResult, tolerance: Double)
    -> Row
  {
    let metric = Metric.instructionsPerPod.rawValue
    guard let a = o.instructionsPerPod, let b = n.instructionsPerPod else {
      let text = { (x: Double?) in x.map { WorkloadResult.text(.number($0)) } ?? "not counted" }
      return Row(
        workload: o.id, metric: metric, old: text(o.instructionsPerPod),
        new: text(n.instructionsPerPod), deltaPercent: nil, verdict: .notCounted)
    }
    let delta = a == 0 ? (b == 0 ? 0 : 100) : (b - a) / a * 100
    let verdict: Verdict =
      delta > tolerance
      ? .regressed : delta < -tolerance ? .improved : delta == 0 ? .same : .withinTolerance
    return Row(
      workload: o.id, metric: metric, old: WorkloadResult.text(.number(a)),
      new: WorkloadResult.text(.number(b)), deltaPercent: delta, verdict: verdict)
  }

  public func table() -> String {
    var out = ""
    for r in rows {
      let d = r.deltaPercent.map { String(format: "%+.1f%%", $0) } ?? ""
      let p = r.pValue.map { String(format: "  (p %.3f)", $0) } ?? ""
      out += "\(r.workload)  \(r.metric): \(r.old) → \(r.new) \(d)  \(r.verdict.rawValue)\(p)\n"
    }
    let thin = rows.filter { $0.verdict == .notEnoughData }.count
    if thin > 0 {
      out +=
        "\(thin) timed metric(s) not judged: fewer than \(Self.minimumRounds) rounds on a side (run `berth bench --rounds 5` or more)\n"
    }
    let ungated = rows.filter { $0.verdict == .worseNotGated }.count
    if ungated > 0 {
      out +=
        "\(ungated) metric(s) worse but not gated (with instruction counts on both sides the gate judges instructions; --gate both judges times too)\n"
    }
    out += "\(regressions) regression(s)\n"
    return out
  }
}

/// Small, exact statistics for comparing per-round samples.
public enum Statistics {
  public static func median(_ xs: [Double]) -> Double {
    precondition(!xs.isEmpty, "median of nothing")
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
  }

  /// A distribution-free interval for the median of `xs`: the order statistics x₍ₖ₎ … x₍ₙ₋ₖ₊₁₎
  /// with the largest k whose binomial coverage reaches `confidence` (or the full range, with its
  /// lower coverage, when even that falls short: five samples cover 93.75 %).
  public static func medianInterval(_ xs: [Double], confidence: Double) -> (
    low: Double, high: Double, coverage: Double
  ) {
    precondition(!xs.isEmpty, "interval of nothing")
    let s = xs.sorted()
    let n = s.count
    // P(x₍ₖ₎ ≤ median ≤ x₍ₙ₋ₖ₊₁₎) = 1 − 2·P(Binomial(n, ½) ≤ k − 1).
    func coverage(_ k: Int) -> Double {
      var tail = 0.0
      var c = 1.0  // C(n, 0)
      for i in 0..<k {
        tail += c
        c = c * Double(n - i) / Double(i + 1)
      }
      return max(0, 1 - 2 * tail / pow(2, Double(n)))
    }
    var k = 1
    while k + 1 <= (n + 1) / 2 && coverage(k + 1) >= confidence { k += 1 }
    return (s[k - 1], s[n - k], coverage(k))
  }

  /// One-sided p-value that the values of `x` tend to be smaller than those of `y`
  /// (Mann–Whitney U; exact for up to 30 samples a side, ties counted half).
  ///
  /// U counts the pairs with xᵢ < yⱼ; under "no difference" every interleaving of the pooled
  /// samples is equally likely, so p = P(U ≥ observed). Five rounds against five, fully
  /// separated, give p = 1/252 ≈ 0.004.
  public static func mannWhitneyLess(_ x: [Double], than y: [Double]) -> Double {
    let n = x.count
    let m = y.count
    guard n > 0, m > 0 else { return 1 }
    var u2 = 0  // twice U, so ties count exactly
    for a in x { for b in y { u2 += a < b ? 2 : (a == b ? 1 : 0) } }
    guard n <= 30, m <= 30 else {
      // Normal approximation with continuity correction.
      let mean = Double(n * m) / 2
      let sd = (Double(n * m * (n + m + 1)) / 12).squareRoot()
      let z = (Double(u2) / 2 - 0.5 - mean) / sd
      return 0.5 * erfc(z / 2.0.squareRoot())
    }
    let maxU = n * m
    // Place the m y's and n x's from largest to smallest: dp over (x's placed, y's placed).
    var dp = [[[Double]]](
      repeating: [[Double]](repeating: [Double](repeating: 0, count: maxU + 1), count: m + 1),
      count: n + 1)
    dp[0][0][0] = 1
    for i in 0...n {
      for j in 0...m {
        for u in 0...maxU where dp[i][j][u] > 0 {
          let c = dp[i][j][u]
          // Next (smaller) value is an x: it is below all j y's placed so far.
          if i < n && u + j <= maxU { dp[i + 1][j][u + j] += c }
          if j < m { dp[i][j + 1][u] += c }
        }
      }
    }
    let total = dp[n][m].reduce(0, +)
    let observed = (u2 + 1) / 2  // ties: round half up, the conservative side
    var tail = 0.0
    for u in observed...maxU { tail += dp[n][m][u] }
    return min(1, tail / total)
  }
}
