import BerthCore
import BerthTraces

/// One `autoscale compare` run as a sweep's partial result keeps it: everything the writers read
/// (`AutoscaleComparison.csv`, `json`, `html`, `table`), each double as Swift's shortest text
/// that reads back to the same bits, so a merge writes what one machine would have written.
///
/// One line per run, tab-separated: run number, variant, seed, end (ns), the metrics in
/// `AutoscaleComparison.metrics` order, then the six series (ready pods, offered, served, p99,
/// nodes, VPA memory), each as `time:value` pairs joined by `,` (`-` for an empty series).
public enum AutoscaleRunRecord {
  /// At most this many runs in one file (a sweep's limit).
  public static let maxRuns = 10_000_000
  static let seriesNames = ["readyPods", "offered", "served", "p99", "nodes", "vpaMemory"]
  static var series: [WritableKeyPath<AutoscaleComparison.Run, [(time: Int64, value: Double)]>] {
    [\.readyPods, \.offered, \.served, \.p99, \.nodes, \.vpaMemory]
  }

  public static func line(run k: Int, _ r: AutoscaleComparison.Run) -> String {
    var fields = [String(k), r.variant, String(r.seed), String(r.end)]
    for v in r.values { fields.append(String(v)) }
    for path in series {
      let points = r[keyPath: path]
      fields.append(
        points.isEmpty ? "-" : points.map { "\($0.time):\($0.value)" }.joined(separator: ","))
    }
    return fields.joined(separator: "\t") + "\n"
  }

  /// Reads the lines of a file of records.
  /// - Throws: an `InputError` naming the line and field for anything not as `line` writes it.
  public static func parse(_ text: String, file: String) throws(InputError) -> [(
    run: Int, result: AutoscaleComparison.Run
  )] {
    let metrics = AutoscaleComparison.metrics
    var out: [(run: Int, result: AutoscaleComparison.Run)] = []
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    for (n, raw) in lines.enumerated() {
      // The text after the last line's newline (and an empty file: a shard without runs).
      if raw.isEmpty && n == lines.count - 1 { continue }
      func fail(_ field: String, _ why: String) -> InputError {
        InputError(file: file, line: n + 1, field: field, why)
      }
      let f = raw.split(separator: "\t", omittingEmptySubsequences: false)
      let expected = 4 + metrics.count + series.count
      guard f.count == expected else {
        throw InputError(
          file: file, line: n + 1,
          "expected \(expected) tab-separated fields, found \(f.count)")
      }
      guard out.count < maxRuns else { throw fail("run", "more than \(maxRuns) runs") }
      guard let k = Int(f[0]), k >= 0, k < maxRuns else {
        throw fail("run", "expected a run number 0…\(maxRuns - 1)")
      }
      guard !f[1].isEmpty else { throw fail("variant", "empty") }
      guard let seed = UInt64(f[2]) else { throw fail("seed", "expected a non-negative integer") }
      guard let end = Int64(f[3]), end >= 0 else {
        throw fail("end", "expected a non-negative integer")
      }
      var values: [Double] = []
      for (i, m) in metrics.enumerated() {
        guard let v = Double(f[4 + i]), v.isFinite else { throw fail(m.key, "expected a number") }
        values.append(v)
      }
      var run = AutoscaleComparison.Run(variant: String(f[1]), seed: seed, values: values)
      run.end = end
      for (i, path) in series.enumerated() {
        let text = f[4 + metrics.count + i]
        guard text != "-" else { continue }
        var points: [(time: Int64, value: Double)] = []
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
          let tv = pair.split(separator: ":", omittingEmptySubsequences: false)
          guard tv.count == 2, let t = Int64(tv[0]), let v = Double(tv[1]), v.isFinite else {
            throw fail(seriesNames[i], "expected time:value pairs joined by commas, or -")
          }
          points.append((t, v))
        }
        run[keyPath: path] = points
      }
      out.append((k, run))
    }
    return out
  }
}
