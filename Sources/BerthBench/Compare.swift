/// Per-metric comparison of two reports.
///
/// Deterministic counters must match exactly (a changed checksum means the decisions changed);
/// times may move within a tolerance in percent, beyond which the worse direction is a
/// regression and the better one an improvement.
public struct Comparison: Sendable {
  public enum Verdict: String, Sendable {
    case same, withinTolerance = "within tolerance", improved, regressed, missing
  }
  public struct Row: Sendable {
    public var workload: String
    public var metric: String
    public var old: String
    public var new: String
    public var deltaPercent: Double?
    public var verdict: Verdict
  }

  public static let timedMetrics: [Metric] = [.throughputAverage, .throughputP50, .latencyP50Micros, .latencyP99Micros]
  public static let countedMetrics: [Metric] = [.nodesEvaluatedPerPod, .allocationsPerCycle, .scheduled, .unschedulable, .nodesUsed, .placementsChecksum]

  public var rows: [Row] = []
  public var regressions: Int { rows.filter { $0.verdict == .regressed || $0.verdict == .missing }.count }

  /// - Parameter tolerances: percent per timed metric; `defaultTolerance` for the rest.
  public init(old: BenchReport, new: BenchReport, defaultTolerance: Double = 10, tolerances: [Metric: Double] = [:]) {
    let newByID = Dictionary(new.workloads.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    for o in old.workloads {
      guard let n = newByID[o.id] else {
        rows.append(Row(workload: o.id, metric: "-", old: "present", new: "absent", deltaPercent: nil, verdict: .missing))
        continue
      }
      for m in Self.timedMetrics {
        guard case .number(let a)? = o.value(of: m), case .number(let b)? = n.value(of: m) else { continue }
        let delta = a == 0 ? (b == 0 ? 0 : 100) : (b - a) / a * 100
        let worse = m.higherIsBetter ? -delta : delta
        let tolerance = tolerances[m] ?? defaultTolerance
        let verdict: Verdict = worse > tolerance ? .regressed : (worse < -tolerance ? .improved : (delta == 0 ? .same : .withinTolerance))
        rows.append(Row(workload: o.id, metric: m.rawValue, old: WorkloadResult.text(.number(a)), new: WorkloadResult.text(.number(b)), deltaPercent: delta, verdict: verdict))
      }
      for m in Self.countedMetrics {
        let a = o.value(of: m), b = n.value(of: m)
        guard a != nil || b != nil else { continue }
        var verdict: Verdict = a == b ? .same : .regressed
        var delta: Double?
        if case .number(let x)? = a, case .number(let y)? = b, x != y {
          delta = x == 0 ? 100 : (y - x) / x * 100
          let better = m.higherIsBetter ? y > x : y < x
          // Fewer allocations or nodes evaluated is better; any other counter change is a change
          // of decisions and fails until the baseline is renewed.
          if better && (m == .allocationsPerCycle || m == .nodesEvaluatedPerPod) { verdict = .improved }
        }
        rows.append(Row(
          workload: o.id, metric: m.rawValue, old: a.map(WorkloadResult.text) ?? "not measured",
          new: b.map(WorkloadResult.text) ?? "not measured", deltaPercent: delta, verdict: verdict))
      }
    }
  }

  public func table() -> String {
    var out = ""
    for r in rows {
      let d = r.deltaPercent.map { String(format: "%+.1f%%", $0) } ?? ""
      out += "\(r.workload)  \(r.metric): \(r.old) → \(r.new) \(d)  \(r.verdict.rawValue)\n"
    }
    out += "\(regressions) regression(s)\n"
    return out
  }
}
