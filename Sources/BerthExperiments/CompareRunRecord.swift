import BerthCore
import BerthScheduling
import BerthTraces

/// One `compare` run's results as a sweep's partial result keeps them: everything the writers
/// read (`ExperimentCSV`, `HTMLReport`) and nothing more, each number exactly — a double as
/// Swift's shortest text that reads back to the same bits — so a merge writes what one machine
/// would have written.
///
/// One line per run, tab-separated: run number, workload, policy, seed, tune, total GPUs, first
/// failure (`-` for none), then the 131 bins of the allocation, fragmentation and
/// fragmentation-ratio curves (`-` for an absent bin).
public enum CompareRunRecord {
  /// At most this many runs in one file (a sweep's limit).
  public static let maxRuns = 10_000_000

  public static func line(run k: Int, _ r: (ExperimentRun, Curves)) -> String {
    let (run, curves) = r
    var fields = [
      String(k), run.workload, run.policy.rawValue, String(run.seed), String(run.tune),
      String(run.totalGPUs), run.firstFailure(curves),
    ]
    for curve in [curves.allocation, curves.fragmentation, curves.fragmentationRatio] {
      for v in curve { fields.append(v.map { String($0) } ?? "-") }
    }
    return fields.joined(separator: "\t") + "\n"
  }

  /// Reads the lines of a file of records.
  /// - Throws: an `InputError` naming the line and field for anything not as `line` writes it.
  public static func parse(_ text: String, file: String) throws(InputError) -> [(
    run: Int, result: (ExperimentRun, Curves)
  )] {
    var out: [(run: Int, result: (ExperimentRun, Curves))] = []
    let bins = Curves.bins.count
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    for (n, raw) in lines.enumerated() {
      // The text after the last line's newline (and an empty file: a shard without runs).
      if raw.isEmpty && n == lines.count - 1 { continue }
      let line = n + 1
      func fail(_ field: String, _ why: String) -> InputError {
        InputError(file: file, line: line, field: field, why)
      }
      let f = raw.split(separator: "\t", omittingEmptySubsequences: false)
      guard f.count == 7 + 3 * bins else {
        throw InputError(
          file: file, line: line, "expected \(7 + 3 * bins) tab-separated fields, found \(f.count)")
      }
      guard out.count < maxRuns else { throw fail("run", "more than \(maxRuns) runs") }
      guard let k = Int(f[0]), k >= 0, k < maxRuns else {
        throw fail("run", "expected a run number 0…\(maxRuns - 1)")
      }
      guard let policy = GPUPolicy(rawValue: String(f[2])) else {
        throw fail("policy", "unknown policy \"\(Escaped(f[2]))\"")
      }
      guard let seed = UInt64(f[3]) else { throw fail("seed", "expected a non-negative integer") }
      guard let tune = Double(f[4]), tune.isFinite else { throw fail("tune", "expected a number") }
      guard let gpus = Int(f[5]), gpus >= 0 else {
        throw fail("total_gpus", "expected a non-negative integer")
      }
      var first: Int?
      if f[6] != "-" {
        guard let v = Int(f[6]) else { throw fail("first_failure", "expected an integer or -") }
        first = v
      }
      var curves: [[Double?]] = []
      for (c, name) in ["allocation", "fragmentation", "fragmentation_ratio"].enumerated() {
        var values: [Double?] = []
        values.reserveCapacity(bins)
        for b in 0..<bins {
          let text = f[7 + c * bins + b]
          if text == "-" {
            values.append(nil)
          } else {
            guard let v = Double(text), v.isFinite else {
              throw fail("\(name)[\(b)]", "expected a number or -")
            }
            values.append(v)
          }
        }
        curves.append(values)
      }
      var run = ExperimentRun(
        workload: String(f[1]), policy: policy, seed: seed, tune: tune, totalGPUs: gpus)
      run.checksum = 0
      out.append(
        (
          k,
          (
            run,
            Curves(
              allocation: curves[0], fragmentation: curves[1], fragmentationRatio: curves[2],
              firstFailure: first)
          )
        ))
    }
    return out
  }
}

extension ExperimentRun {
  fileprivate func firstFailure(_ c: Curves) -> String { c.firstFailure.map(String.init) ?? "-" }
}
