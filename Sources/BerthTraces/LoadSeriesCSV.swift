import BerthCore

/// A load series as CSV: a `time,value` header, then one sample per line. `time` is seconds
/// (a decimal number, from any origin) or an RFC 3339 time; a series starts at its first
/// sample, which becomes time 0. Times strictly increase; values are finite and non-negative.
public enum LoadSeriesCSV {
  /// More is refused before it is read: a series is a small excerpt, not a raw trace.
  public static let maxRows = 5_000_000
  /// The longest series, from its first sample: 10 years (× timeScale), in nanoseconds.
  public static let maxSpanNanoseconds = 10 * 365.25 * 86_400 * 1e9

  /// Samples as (nanoseconds from the first sample, value × `valueScale`), times × `timeScale`.
  public static func parse(
    _ text: String, file: String, timeScale: Double = 1, valueScale: Double = 1
  ) throws(InputError) -> [(t: Int64, value: Double)] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last == "" { lines.removeLast() }
    guard let header = lines.first else { throw InputError(file: file, "empty load series") }
    let columns = header.split(separator: ",").map {
      $0.trimmingCharacters(in: .whitespaces).lowercased()
    }
    guard columns == ["time", "value"] else {
      throw InputError(
        file: file, line: 1, "expected the header time,value, found \(Escaped(String(header)))")
    }
    guard lines.count - 1 <= maxRows else {
      throw InputError(file: file, "more than \(maxRows) samples")
    }
    var out: [(t: Int64, value: Double)] = []
    out.reserveCapacity(lines.count - 1)
    var origin: Double?
    var previous = -Double.infinity
    for (i, raw) in lines.enumerated().dropFirst() {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      let cells = line.split(separator: ",", omittingEmptySubsequences: false)
      guard cells.count == 2 else {
        throw InputError(
          file: file, line: i + 1, "expected 2 fields (time,value), found \(cells.count)")
      }
      let timeText = ClusterCSV.trimmed(cells[0])
      var seconds: Double
      if let s = Double(timeText), s.isFinite {
        seconds = s
      } else if let ms = RFC3339.parseMillis(timeText) {
        seconds = Double(ms) / 1000
      } else {
        throw InputError(
          file: file, line: i + 1, field: "time",
          "expected seconds or an RFC 3339 time, found \(Escaped(timeText))")
      }
      guard seconds > previous else {
        throw InputError(file: file, line: i + 1, field: "time", "times must increase")
      }
      previous = seconds
      let valueText = ClusterCSV.trimmed(cells[1])
      guard let v = Double(valueText), v.isFinite, v >= 0 else {
        throw InputError(
          file: file, line: i + 1, field: "value",
          "expected a non-negative number, found \(Escaped(valueText))")
      }
      let start = origin ?? seconds
      origin = start
      let ns = (seconds - start) * timeScale * 1e9
      // At most 10 years from the first sample (× timeScale): a load, not a geological record.
      guard ns <= Self.maxSpanNanoseconds else {
        throw InputError(
          file: file, line: i + 1, field: "time",
          "more than 10 years after the first sample (× timeScale)")
      }
      out.append((Int64(ns.rounded()), v * valueScale))
    }
    guard !out.isEmpty else { throw InputError(file: file, "no samples after the header") }
    return out
  }
}
