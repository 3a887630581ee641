import BerthWorkloads
import Foundation
import Testing

/// CronJob schedules against facts from robfig/cron v3's spec tests (v3.0.1 is the library
/// kube-controller-manager vendors; later revisions run jobs of a skipped DST hour at once,
/// v3.0.1 skips them), and Kubernetes' own examples.
struct CronScheduleTests {
  /// Unix seconds of a UTC wall time.
  static func utc(_ y: Int64, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int = 0) -> Int64 {
    CronZone.utc.date(y, mo, d, h, mi, s)
  }

  /// (spec with seconds, now, expected next), all UTC: robfig/cron's TestNext.
  static let nextCases: [(String, Int64, Int64?)] = [
    ("0 0/15 * * *", utc(2012, 7, 9, 14, 45), utc(2012, 7, 9, 15, 0)),
    ("0 0/15 * * *", utc(2012, 7, 9, 14, 59), utc(2012, 7, 9, 15, 0)),
    ("0 0/15 * * *", utc(2012, 7, 9, 14, 59, 59), utc(2012, 7, 9, 15, 0)),
    ("0 20-35/15 * * *", utc(2012, 7, 9, 15, 45), utc(2012, 7, 9, 16, 20)),
    ("0 */15 * * *", utc(2012, 7, 9, 23, 46), utc(2012, 7, 10, 0, 0)),
    ("0 20-35/15 * * *", utc(2012, 7, 9, 23, 45), utc(2012, 7, 10, 0, 20)),
    ("15/35 20-35/15 * * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 0, 20, 15)),
    ("15/35 20-35/15 1/2 * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 1, 20, 15)),
    ("15/35 20-35/15 10-12 * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 10, 20, 15)),
    ("15/35 20-35/15 1/2 */2 * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 11, 1, 20, 15)),
    ("15/35 20-35/15 * 9-20 * *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 0, 20, 15)),
    ("15/35 20-35/15 * 9-20 Jul *", utc(2012, 7, 9, 23, 35, 51), utc(2012, 7, 10, 0, 20, 15)),
    ("0 0 0 9 Apr-Oct ?", utc(2012, 7, 9, 23, 35), utc(2012, 8, 9, 0, 0)),
    // A stepped star restricts (robfig/cron#70): day 1 or a Monday.
    ("0 0 0 */5 Apr,Aug,Oct Mon", utc(2012, 7, 9, 23, 35), utc(2012, 8, 1, 0, 0)),
    ("0 0 0 */5 Oct Mon", utc(2012, 7, 9, 23, 35), utc(2012, 10, 1, 0, 0)),
    ("0 0 0 * Feb Mon", utc(2012, 7, 9, 23, 35), utc(2013, 2, 4, 0, 0)),
    ("0 0 0 * Feb Mon/2", utc(2012, 7, 9, 23, 35), utc(2013, 2, 1, 0, 0)),
    ("0 * * * * *", utc(2012, 12, 31, 23, 59, 45), utc(2013, 1, 1, 0, 0, 0)),
    ("0 0 0 29 Feb ?", utc(2012, 7, 9, 23, 35), utc(2016, 2, 29, 0, 0)),
    ("0 0 0 30 Feb ?", utc(2012, 7, 9, 23, 35), nil),
    ("0 0 0 31 Apr ?", utc(2012, 7, 9, 23, 35), nil),
  ]

  @Test("next activation times equal robfig/cron's table", arguments: nextCases)
  func next(spec: String, now: Int64, expected: Int64?) throws {
    let s = try CronSchedule.parse(spec, withSeconds: true)
    #expect(s.next(after: now) == expected, "\(spec)")
  }

  /// (spec with seconds, time, activates exactly then): robfig/cron's TestActivation.
  static let activationCases: [(String, Int64, Bool)] = [
    ("0/15 * * * *", utc(2012, 7, 9, 15, 0), true),
    ("0/15 * * * *", utc(2012, 7, 9, 15, 45), true),
    ("0/15 * * * *", utc(2012, 7, 9, 15, 40), false),
    ("5/15 * * * *", utc(2012, 7, 9, 15, 5), true),
    ("5/15 * * * *", utc(2012, 7, 9, 15, 20), true),
    ("5/15 * * * *", utc(2012, 7, 9, 15, 50), true),
    ("0/15 * * Jul *", utc(2012, 7, 15, 15, 0), true),
    ("0/15 * * Jun *", utc(2012, 7, 15, 15, 0), false),
    ("30 08 ? Jul Sun", utc(2012, 7, 15, 8, 30), true),
    ("30 08 15 Jul ?", utc(2012, 7, 15, 8, 30), true),
    ("30 08 ? Jul Sun", utc(2012, 7, 16, 8, 30), false),
    ("30 08 15 Jul ?", utc(2012, 7, 16, 8, 30), false),
    ("@hourly", utc(2012, 7, 9, 15, 0), true),
    ("@hourly", utc(2012, 7, 9, 15, 4), false),
    ("@daily", utc(2012, 7, 9, 15, 0), false),
    ("@daily", utc(2012, 7, 9, 0, 0), true),
    ("@weekly", utc(2012, 7, 9, 0, 0), false),
    ("@weekly", utc(2012, 7, 8, 0, 0), true),
    ("@weekly", utc(2012, 7, 8, 1, 0), false),
    ("@monthly", utc(2012, 7, 8, 0, 0), false),
    ("@monthly", utc(2012, 7, 1, 0, 0), true),
    // Both day fields restricted: either may match (a stepped star restricts).
    ("* * 1,15 * Sun", utc(2012, 7, 15, 0, 0), true),
    ("* * 1,15 * Sun", utc(2012, 6, 15, 0, 0), true),
    ("* * 1,15 * Sun", utc(2012, 8, 1, 0, 0), true),
    ("* * */10 * Sun", utc(2012, 7, 15, 0, 0), true),
    // One of them a plain star: both must match.
    ("* * * * Mon", utc(2012, 7, 15, 0, 0), false),
    ("* * 1,15 * *", utc(2012, 7, 9, 0, 0), false),
    ("* * 1,15 * *", utc(2012, 7, 15, 0, 0), true),
    ("* * */2 * Sun", utc(2012, 7, 15, 0, 0), true),
  ]

  @Test("activations equal robfig/cron's table", arguments: activationCases)
  func activation(spec: String, time: Int64, activates: Bool) throws {
    let s = try CronSchedule.parse(spec)
    #expect((s.next(after: time - 1) == time) == activates, "\(spec)")
  }

  /// (zone, spec with seconds, now, expected next), times as (y, mo, d, h, mi, UTC offset h).
  typealias Wall = (Int64, Int, Int, Int, Int, Int)
  static let zoneCases: [(String, String, Wall, Wall)] = [
    // New York springs forward 02:00 EST → 03:00 EDT on 2012-03-11: v3.0.1 skips what is not.
    ("America/New_York", "0 30 2 11 Mar ?", (2012, 3, 11, 0, 0, -5), (2013, 3, 11, 2, 30, -4)),
    ("America/New_York", "0 0 * * * ?", (2012, 3, 11, 0, 0, -5), (2012, 3, 11, 1, 0, -5)),
    ("America/New_York", "0 0 * * * ?", (2012, 3, 11, 1, 0, -5), (2012, 3, 11, 3, 0, -4)),
    ("America/New_York", "0 0 * * * ?", (2012, 3, 11, 3, 0, -4), (2012, 3, 11, 4, 0, -4)),
    ("America/New_York", "0 0 1 * * ?", (2012, 3, 11, 0, 0, -5), (2012, 3, 11, 1, 0, -5)),
    ("America/New_York", "0 0 1 * * ?", (2012, 3, 11, 1, 0, -5), (2012, 3, 12, 1, 0, -4)),
    // It falls back 02:00 EDT → 01:00 EST on 2012-11-04: the repeated hour runs twice.
    ("America/New_York", "0 30 2 04 Nov ?", (2012, 11, 4, 0, 0, -4), (2012, 11, 4, 2, 30, -5)),
    ("America/New_York", "0 30 1 04 Nov ?", (2012, 11, 4, 1, 45, -4), (2012, 11, 4, 1, 30, -5)),
    ("America/New_York", "0 0 * * * ?", (2012, 11, 4, 0, 0, -4), (2012, 11, 4, 1, 0, -4)),
    ("America/New_York", "0 0 * * * ?", (2012, 11, 4, 1, 0, -4), (2012, 11, 4, 1, 0, -5)),
    ("America/New_York", "0 0 * * * ?", (2012, 11, 4, 1, 0, -5), (2012, 11, 4, 2, 0, -5)),
    ("America/New_York", "0 0 1 * * ?", (2012, 11, 4, 0, 0, -4), (2012, 11, 4, 1, 0, -4)),
    ("America/New_York", "0 0 1 * * ?", (2012, 11, 4, 1, 0, -4), (2012, 11, 4, 1, 0, -5)),
    ("America/New_York", "0 0 1 * * ?", (2012, 11, 4, 1, 0, -5), (2012, 11, 5, 1, 0, -5)),
    ("America/New_York", "0 0 2 * * ?", (2012, 11, 4, 0, 0, -4), (2012, 11, 4, 2, 0, -5)),
    ("America/New_York", "0 0 2 * * ?", (2012, 11, 4, 2, 0, -5), (2012, 11, 5, 2, 0, -5)),
    ("America/New_York", "0 0 3 * * ?", (2012, 11, 4, 0, 0, -4), (2012, 11, 4, 3, 0, -5)),
    ("America/New_York", "0 0 3 3 * ?", (2012, 11, 4, 0, 0, -4), (2012, 12, 3, 3, 0, -5)),
    // São Paulo's 2018 change skipped midnight (robfig/cron#157).
    ("America/Sao_Paulo", "0 0 9 10 * ?", (2018, 10, 17, 5, 0, -4), (2018, 11, 10, 6, 0, -5)),
    ("America/Sao_Paulo", "0 0 9 22 * ?", (2018, 2, 14, 5, 0, -5), (2018, 2, 22, 7, 0, -5)),
  ]

  @Test("daylight saving transitions as robfig/cron v3.0.1's table", arguments: zoneCases)
  func daylightSaving(zone: String, spec: String, now: Wall, expected: Wall) throws {
    let z = try #require(CronZone(identifier: zone), "no \(zone) in this machine's zone database")
    func unix(_ w: Wall) -> Int64 { Self.utc(w.0, w.1, w.2, w.3, w.4) - Int64(w.5) * 3600 }
    let s = try CronSchedule.parse(spec, withSeconds: true)
    #expect(s.next(after: unix(now), in: z) == unix(expected), "\(zone) \(spec)")
  }

  @Test("a */5 schedule fires 12 times in any hour; hourly once; the standard form has no seconds")
  func counts() throws {
    let every5 = try CronSchedule.parse("*/5 * * * *")
    for start in [Self.utc(2024, 1, 1, 0, 0), Self.utc(2024, 1, 1, 0, 2, 30)] {
      var t = start
      var fired: [Int64] = []
      while let n = every5.next(after: t), n <= start + 3600 {
        fired.append(n)
        t = n
      }
      #expect(fired.count == 12)
      #expect(fired.allSatisfy { $0 % 300 == 0 })
    }
    #expect(
      try CronSchedule.parse("@hourly").next(after: Self.utc(2024, 1, 1, 0, 0))
        == Self.utc(2024, 1, 1, 1, 0))
    #expect(
      try CronSchedule.parse("30 4 1,15 * 5").next(after: Self.utc(2024, 1, 1, 5, 0))
        == Self.utc(2024, 1, 5, 4, 30), "a Friday comes before the 15th")
    #expect(
      try CronSchedule.parse("0 0 * * MON-fri").next(after: Self.utc(2024, 1, 6, 12, 0))
        == Self.utc(2024, 1, 8, 0, 0), "names in any case; Saturday → Monday")
  }

  @Test(
    "bad schedules are refused with one line naming the field",
    arguments: [
      ("* * * *", "expected exactly 5 fields, found 4"),
      ("60 * * * *", "minute: end of range (60) above maximum (59)"),
      ("* 24 * * *", "hour: end of range (24) above maximum (23)"),
      ("* * 0 * *", "day of month: beginning of range (0) below minimum (1)"),
      ("* * * 13 *", "month: end of range (13) above maximum (12)"),
      ("* * * * 7", "day of week: end of range (7) above maximum (6)"),
      ("5-1 * * * *", "minute: beginning of range (5) beyond end of range (1)"),
      ("*/0 * * * *", "minute: step of range should be a positive number"),
      ("1-2-3 * * * *", "minute: too many hyphens"),
      ("*/2/3 * * * *", "minute: too many slashes"),
      ("x * * * *", "minute: not a number: \"x\""),
      ("-1 * * * *", "minute: not a number: \"\""),
      ("* * * jan-foo *", "month: not a number: \"foo\""),
      ("@every 1h", "@every is not supported"),
      ("@sometimes", "unknown macro \"@sometimes\""),
      ("TZ=UTC 0 * * * *", "TZ in the schedule is not supported: set spec.timeZone"),
      ("CRON_TZ=UTC 0 * * * *", "CRON_TZ in the schedule is not supported"),
    ])
  func errors(spec: String, message: String) {
    do {
      _ = try CronSchedule.parse(spec)
      Issue.record("\(spec) was accepted")
    } catch {
      #expect(error.description.contains(message), "\(error.description)")
      #expect(!error.description.contains("\n"))
    }
  }

  @Test(
    "any white space separates fields; control characters never reach a message (a fuzz finding)")
  func whiteSpaceAndControlCharacters() throws {
    let split = try CronSchedule.parse("*/5\n*\t* *  *")
    let plain = try CronSchedule.parse("*/5 * * * *")
    #expect(
      [split.minute, split.hour, split.dayOfMonth, split.month, split.dayOfWeek]
        == [plain.minute, plain.hour, plain.dayOfMonth, plain.month, plain.dayOfWeek])
    for spec in [" \n\n\n\n.  \n  .*  * *", "\u{1}5 * * * *", "* * * * \u{85}x"] {
      do {
        _ = try CronSchedule.parse(spec)
        Issue.record("accepted \(spec.debugDescription)")
      } catch {
        #expect(
          !error.description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x85 },
          "\(error.description.debugDescription)")
      }
    }
  }

  @Test(
    "a field of only commas has no values: never, answered at once (a fuzz finding: it took minutes)"
  )
  func emptyFields() throws {
    let now = Self.utc(2024, 1, 1, 0, 0)
    #expect(try CronSchedule.parse(", * * * *").next(after: now) == nil)
    #expect(try CronSchedule.parse(", * * * * *", withSeconds: true).next(after: now) == nil)
    #expect(try CronSchedule.parse("0 0 ,, * *").next(after: now) == nil, "no day, star weekday")
    // Both day fields restricted: an empty day of month leaves the weekday (OR).
    #expect(
      try CronSchedule.parse("0 0 , * mon").next(after: now) == Self.utc(2024, 1, 8, 0, 0),
      "2024-01-01 was a Monday; the next one is the 8th")
  }

  @Test("civil dates round-trip over four centuries, weekdays included")
  func calendar() {
    var day = CronZone.daysFromCivilForTests(1900, 1, 1)
    for _ in 0..<(400 * 366) where day < CronZone.daysFromCivilForTests(2300, 1, 1) {
      let t = day * 86_400 + 12 * 3600
      let c = CronZone.utc.civil(t)
      #expect(CronZone.utc.date(c.year, c.month, c.day, c.hour, c.minute, c.second) == t)
      day += 1
    }
    // 2024-01-01 was a Monday; 1970-01-01 a Thursday.
    #expect(CronZone.utc.civil(Self.utc(2024, 1, 1, 0, 0)).weekday == 1)
    #expect(CronZone.utc.civil(0).weekday == 4)
    // Carrying: month 13, day 32.
    #expect(CronZone.utc.date(2023, 13, 1, 0, 0, 0) == Self.utc(2024, 1, 1, 0, 0))
    #expect(CronZone.utc.date(2024, 1, 32, 0, 0, 0) == Self.utc(2024, 2, 1, 0, 0))
  }
}
