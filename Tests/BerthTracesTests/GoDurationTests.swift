import BerthTraces
import Testing

/// Go's `time.ParseDuration`, from the facts of its own table tests.
struct GoDurationTests {
  static let ns: Int64 = 1
  static let us: Int64 = 1_000
  static let ms: Int64 = 1_000_000
  static let s: Int64 = 1_000_000_000
  static let m: Int64 = 60 * s
  static let h: Int64 = 60 * m

  @Test(
    "valid durations",
    arguments: [
      ("0", 0), ("5s", 5 * s), ("30s", 30 * s), ("1478s", 1478 * s), ("-5s", -5 * s),
      ("+5s", 5 * s), ("-0", 0), ("+0", 0), ("5.0s", 5 * s), ("5.6s", 5 * s + 600 * ms),
      ("5.s", 5 * s), (".5s", 500 * ms), ("1.0s", s), ("1.00s", s), ("1.004s", s + 4 * ms),
      ("1.0040s", s + 4 * ms), ("100.00100s", 100 * s + 1 * ms), ("10ns", 10 * ns),
      ("11us", 11 * us), ("12µs", 12 * us), ("12μs", 12 * us), ("13ms", 13 * ms),
      ("14s", 14 * s), ("15m", 15 * m), ("16h", 16 * h), ("3h30m", 3 * h + 30 * m),
      ("10.5s4m", 4 * m + 10 * s + 500 * ms), ("-2m3.4s", -(2 * m + 3 * s + 400 * ms)),
      ("1h2m3s4ms5us6ns", h + 2 * m + 3 * s + 4 * ms + 5 * us + 6 * ns),
      ("39h9m14.425s", 39 * h + 9 * m + 14 * s + 425 * ms), ("52763797000ns", 52_763_797_000 * ns),
      ("0.3333333333333333333h", 20 * m), ("9007199254740993ns", (1 << 53) + 1),
      ("9223372036854775807ns", Int64.max), ("9223372036854775.807us", Int64.max),
      ("9223372036s854ms775us807ns", Int64.max), ("-9223372036854775808ns", Int64.min),
      ("-9223372036854775.808us", Int64.min), ("-2562047h47m16.854775808s", Int64.min),
      ("0.100000000000000000000h", 6 * m),
      ("0.830103483285477580700h", 49 * m + 48 * s + 372_539_827 * ns),
      ("168h", 168 * h), ("500ms", 500 * ms), ("90s", 90 * s),
    ] as [(String, Int64)])
  func valid(text: String, nanoseconds: Int64) throws {
    #expect(try GoDuration.parse(text) == nanoseconds, "\(text)")
  }

  @Test(
    "invalid durations are refused with one line",
    arguments: [
      "", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\u{85}\u{85}", "hello world", "1s ",
      "9223372036854775808ns", "9223372036854775.808us", "9223372036s854ms775us808ns",
      "-9223372036854775809ns", "1h-5m",
      // Two maximal terms summed past UInt64 (a fuzz finding: it trapped).
      "9223372036854775808ns9223372036854775808ns",
    ])
  func invalid(text: String) {
    do {
      let v = try GoDuration.parse(text)
      Issue.record("\(text) parsed as \(v)")
    } catch {
      #expect(!error.description.contains("\n"))
      #expect(error.description.contains("duration"))
    }
  }
}
