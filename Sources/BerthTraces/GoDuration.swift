import BerthCore

/// Durations written as Go writes them (`time.ParseDuration`): `500ms`, `90s`, `1h30m`, `1.5h`,
/// `-2m3.4s` — what Kubernetes users write for probe periods, timeouts and Berth scenarios.
///
/// A signed sequence of decimal numbers, each with an optional fraction and a unit: `ns`, `us`
/// (or `µs`, `μs`), `ms`, `s`, `m`, `h`. `0` alone needs no unit. Fractions are scaled into the
/// unit in floating point and truncated, as upstream does; anything beyond ±2⁶³ − 1 ns is an
/// error.
public enum GoDuration {
  public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
  }

  static let units: [(String, UInt64)] = [
    ("ns", 1), ("us", 1_000), ("µs", 1_000), ("μs", 1_000), ("ms", 1_000_000),
    ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
  ]

  /// Nanoseconds.
  public static func parse(_ text: String) throws(ParseError) -> Int64 {
    let invalid = ParseError(description: "invalid duration \(quoted(text))")
    var s = Array(text.unicodeScalars)
    var d: UInt64 = 0
    var negative = false
    if let c = s.first, c == "-" || c == "+" {
      negative = c == "-"
      s.removeFirst()
    }
    if s == ["0"] { return 0 }
    guard !s.isEmpty else { throw invalid }
    let limit = UInt64(1) << 63
    while !s.isEmpty {
      // The number: digits, then an optional fraction.
      guard s[0] == "." || s[0].properties.numericType == .decimal && s[0].isASCII else {
        throw invalid
      }
      var v: UInt64 = 0
      var i = 0
      while i < s.count, let digit = asciiDigit(s[i]) {
        guard v <= limit / 10 else { throw invalid }
        v = v * 10 + digit
        guard v <= limit else { throw invalid }
        i += 1
      }
      let hadInteger = i > 0
      var fraction: UInt64 = 0
      var scale = 1.0
      var hadFraction = false
      if i < s.count && s[i] == "." {
        i += 1
        let start = i
        var overflowed = false
        while i < s.count, let digit = asciiDigit(s[i]) {
          if !overflowed {
            if fraction > limit / 10 {
              overflowed = true
            } else {
              let y = fraction * 10 + digit
              if y > limit {
                overflowed = true
              } else {
                fraction = y
                scale *= 10
              }
            }
          }
          i += 1
        }
        hadFraction = i > start
      }
      guard hadInteger || hadFraction else { throw invalid }
      // The unit: everything up to the next digit or point.
      var j = i
      while j < s.count && s[j] != "." && asciiDigit(s[j]) == nil { j += 1 }
      guard j > i else {
        throw ParseError(description: "missing unit in duration \(quoted(text))")
      }
      let unitText = String(String.UnicodeScalarView(s[i..<j]))
      guard let unit = units.first(where: { $0.0 == unitText })?.1 else {
        throw ParseError(
          description:
            "unknown unit \(quoted(unitText)) in duration \(quoted(text)) (expected ns, us, ms, s, m or h)"
        )
      }
      guard v <= limit / unit else { throw invalid }
      v *= unit
      if fraction > 0 {
        v += UInt64(Double(fraction) * (Double(unit) / scale))
        guard v <= limit else { throw invalid }
      }
      // Both are at most 2^63: their sum can leave UInt64 (Go's wraps to a small value there).
      guard v <= limit - d else { throw invalid }
      d += v
      s.removeFirst(j)
    }
    if negative { return d == limit ? Int64.min : -Int64(d) }
    guard d <= limit - 1 else { throw invalid }
    return Int64(d)
  }

  static func asciiDigit(_ c: Unicode.Scalar) -> UInt64? {
    c.value >= 48 && c.value <= 57 ? UInt64(c.value - 48) : nil
  }

  /// `text` in quotes, control characters escaped and long input cut.
  static func quoted(_ text: String) -> String { "\"\(Escaped(text, limit: 60))\"" }
}
