import BerthCore
import Foundation

/// A CronJob's `spec.schedule`, read and stepped as kube-controller-manager does (it uses
/// robfig/cron v3's standard parser): five fields — minute, hour, day of month, month, day of
/// week — each a comma-separated list of `*`, `?`, `N`, `N-M`, with an optional `/step`
/// (`N/step` meaning `N-max/step`); months and weekdays also by name (`jan`, `mon`, any case);
/// or a macro: `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`),
/// `@hourly`.
///
/// Day of month and day of week combine as cron's do: when either is a plain `*` (or `?`) both
/// must match, otherwise either may (`0 0 1,15 * mon` fires on the 1st, the 15th and every
/// Monday). A stepped star (`*/2`) counts as a restriction, as upstream.
///
/// Each field is a bit set; bit 63 records a plain star.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
  public var second: UInt64
  public var minute: UInt64
  public var hour: UInt64
  public var dayOfMonth: UInt64
  public var month: UInt64
  public var dayOfWeek: UInt64
  /// The text it was read from.
  public var text: String

  static let starBit: UInt64 = 1 << 63

  public var description: String { text }

  /// One field's accepted range and names.
  struct Bounds {
    var name: String
    var min: UInt64
    var max: UInt64
    var names: [String: UInt64] = [:]
  }

  static let seconds = Bounds(name: "second", min: 0, max: 59)
  static let minutes = Bounds(name: "minute", min: 0, max: 59)
  static let hours = Bounds(name: "hour", min: 0, max: 23)
  static let daysOfMonth = Bounds(name: "day of month", min: 1, max: 31)
  static let months = Bounds(
    name: "month", min: 1, max: 12,
    names: [
      "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
      "oct": 10, "nov": 11, "dec": 12,
    ])
  static let daysOfWeek = Bounds(
    name: "day of week", min: 0, max: 6,
    names: ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6])

  /// Why a schedule was refused, in one line.
  public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
  }

  /// Reads a standard five-field schedule or a macro.
  /// - Parameter withSeconds: a leading seconds field, and the day of week optional (five or six
  ///   fields), as robfig/cron's own tests write schedules; CronJobs never do.
  public static func parse(_ text: String, withSeconds: Bool = false) throws(ParseError)
    -> CronSchedule
  {
    let spec = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard spec.utf8.count <= 1_000 else {
      throw ParseError(description: "schedule longer than 1000 characters")
    }
    if spec.hasPrefix("TZ=") || spec.hasPrefix("CRON_TZ=") {
      throw ParseError(
        description:
          "\(spec.split(separator: "=")[0]) in the schedule is not supported: set spec.timeZone")
    }
    if spec.hasPrefix("@") { return try macro(spec) }
    // Any Unicode white space separates fields, as Go's strings.Fields splits.
    let fields = spec.split(whereSeparator: \.isWhitespace).map(String.init)
    let expected = withSeconds ? 6 : 5
    guard fields.count == expected || (withSeconds && fields.count == 5) else {
      throw ParseError(
        description:
          "expected exactly \(expected) fields, found \(fields.count): \(Self.quoted(spec))")
    }
    let f = withSeconds ? fields + (fields.count == 5 ? ["*"] : []) : ["0"] + fields
    return CronSchedule(
      second: try field(f[0], seconds), minute: try field(f[1], minutes),
      hour: try field(f[2], hours), dayOfMonth: try field(f[3], daysOfMonth),
      month: try field(f[4], months), dayOfWeek: try field(f[5], daysOfWeek), text: spec)
  }

  /// `s` in quotes for a message: control characters escaped, long text cut.
  static func quoted(_ s: String) -> String { "\"\(Escaped(s, limit: 60))\"" }

  static func macro(_ spec: String) throws(ParseError) -> CronSchedule {
    let all = { (b: Bounds) in bits(b.min, b.max, step: 1) | starBit }
    func make(minute: UInt64, hour: UInt64, dom: UInt64, month: UInt64, dow: UInt64)
      -> CronSchedule
    {
      CronSchedule(
        second: 1, minute: minute, hour: hour, dayOfMonth: dom, month: month, dayOfWeek: dow,
        text: spec)
    }
    switch spec {
    case "@yearly", "@annually":
      return make(minute: 1, hour: 1, dom: 1 << 1, month: 1 << 1, dow: all(daysOfWeek))
    case "@monthly":
      return make(minute: 1, hour: 1, dom: 1 << 1, month: all(months), dow: all(daysOfWeek))
    case "@weekly":
      return make(minute: 1, hour: 1, dom: all(daysOfMonth), month: all(months), dow: 1)
    case "@daily", "@midnight":
      return make(
        minute: 1, hour: 1, dom: all(daysOfMonth), month: all(months), dow: all(daysOfWeek))
    case "@hourly":
      return make(
        minute: 1, hour: all(hours), dom: all(daysOfMonth), month: all(months),
        dow: all(daysOfWeek))
    default:
      if spec.hasPrefix("@every") {
        throw ParseError(description: "@every is not supported in a CronJob schedule")
      }
      throw ParseError(
        description:
          "unknown macro \(quoted(spec)) (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"
      )
    }
  }

  /// A field: comma-separated ranges, their bits or'ed (empty items between commas are skipped,
  /// as upstream's split drops them).
  static func field(_ text: String, _ b: Bounds) throws(ParseError) -> UInt64 {
    var out: UInt64 = 0
    for item in text.split(separator: ",", omittingEmptySubsequences: true) {
      out |= try range(String(item), b)
    }
    return out
  }

  /// `*`, `?`, `N` or `N-M`, with an optional `/step`.
  static func range(_ expr: String, _ b: Bounds) throws(ParseError) -> UInt64 {
    let rangeAndStep = expr.split(separator: "/", omittingEmptySubsequences: false)
    let lowAndHigh = rangeAndStep[0].split(separator: "-", omittingEmptySubsequences: false)
    var start: UInt64
    var end: UInt64
    var extra: UInt64 = 0
    if lowAndHigh[0] == "*" || lowAndHigh[0] == "?" {
      start = b.min
      end = b.max
      extra = starBit
    } else {
      start = try number(String(lowAndHigh[0]), b, expr)
      switch lowAndHigh.count {
      case 1: end = start
      case 2: end = try number(String(lowAndHigh[1]), b, expr)
      default:
        throw ParseError(description: "\(b.name): too many hyphens in \(quoted(expr))")
      }
    }
    var step: UInt64 = 1
    switch rangeAndStep.count {
    case 1: break
    case 2:
      step = try number(String(rangeAndStep[1]), Bounds(name: b.name, min: 0, max: 0), expr)
      if lowAndHigh.count == 1 { end = b.max }  // "N/step" means "N-max/step"
      if step > 1 { extra = 0 }
    default:
      throw ParseError(description: "\(b.name): too many slashes in \(quoted(expr))")
    }
    guard start >= b.min else {
      throw ParseError(
        description:
          "\(b.name): beginning of range (\(start)) below minimum (\(b.min)): \(quoted(expr))")
    }
    guard end <= b.max else {
      throw ParseError(
        description: "\(b.name): end of range (\(end)) above maximum (\(b.max)): \(quoted(expr))")
    }
    guard start <= end else {
      throw ParseError(
        description:
          "\(b.name): beginning of range (\(start)) beyond end of range (\(end)): \(quoted(expr))")
    }
    guard step > 0 else {
      throw ParseError(
        description: "\(b.name): step of range should be a positive number: \(quoted(expr))")
    }
    return bits(start, end, step: step) | extra
  }

  /// A non-negative decimal number or, where the field has names, a name (any case).
  static func number(_ text: String, _ b: Bounds, _ expr: String) throws(ParseError) -> UInt64 {
    if let named = b.names[text.lowercased()] { return named }
    var digits = Substring(text)
    if digits.hasPrefix("+") { digits = digits.dropFirst() }  // Go's Atoi takes a sign
    guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
      let n = UInt64(digits)
    else {
      throw ParseError(description: "\(b.name): not a number: \(quoted(text)) in \(quoted(expr))")
    }
    return n
  }

  static func bits(_ min: UInt64, _ max: UInt64, step: UInt64) -> UInt64 {
    var out: UInt64 = 0
    var i = min
    while i <= max {
      out |= 1 << i
      i += step
    }
    return out
  }

  // MARK: Stepping

  /// The first activation strictly after `after` (Unix seconds), in `zone`; nil when none falls
  /// within five years (`0 0 30 2 *` never does).
  ///
  /// Upstream's search, step by step: from the next whole second, find a matching month (from
  /// its first day), then day, hour, minute, second; a field that wraps around starts the search
  /// over. Days are stepped by calendar date and hours by elapsed time, so on a day that skips an
  /// hour (spring forward) a time inside the gap is not found that day, and on a day that repeats
  /// one the first occurrence is taken.
  public func next(after: Int64, in zone: CronZone = .utc) -> Int64? {
    // A field written as only commas has no values: upstream then searches five years in vain
    // (minutes of them for an empty seconds or minutes field); the answer, never, comes at once.
    guard canFire else { return nil }
    var t = after + 1
    var added = false
    let yearLimit = zone.civil(t).year + 5
    search: while true {
      var c = zone.civil(t)
      if c.year > yearLimit { return nil }
      while month & (1 << UInt64(c.month)) == 0 {
        if !added {
          added = true
          t = zone.date(c.year, c.month, 1, 0, 0, 0)
          c = zone.civil(t)
        }
        t = zone.date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second)
        c = zone.civil(t)
        if c.month == 1 { continue search }
      }
      while !dayMatches(c) {
        if !added {
          added = true
          t = zone.date(c.year, c.month, c.day, 0, 0, 0)
          c = zone.civil(t)
        }
        t = zone.date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second)
        c = zone.civil(t)
        // Midnight may not exist (a zone that springs forward at 00:00): back to the day's start.
        if c.hour != 0 {
          t += c.hour > 12 ? Int64(24 - c.hour) * 3600 : -Int64(c.hour) * 3600
          c = zone.civil(t)
        }
        if c.day == 1 { continue search }
      }
      while hour & (1 << UInt64(c.hour)) == 0 {
        if !added {
          added = true
          t = zone.date(c.year, c.month, c.day, c.hour, 0, 0)
          c = zone.civil(t)
        }
        t += 3600
        c = zone.civil(t)
        if c.hour == 0 { continue search }
      }
      while minute & (1 << UInt64(c.minute)) == 0 {
        if !added {
          added = true
          t -= floorMod(t, 60)
          c = zone.civil(t)
        }
        t += 60
        c = zone.civil(t)
        if c.minute == 0 { continue search }
      }
      while second & (1 << UInt64(c.second)) == 0 {
        added = true
        t += 1
        c = zone.civil(t)
        if c.second == 0 { continue search }
      }
      return t
    }
  }

  /// Whether every field has a value some time can take (the day fields as they combine).
  var canFire: Bool {
    let values = ~Self.starBit
    let dom = dayOfMonth & values != 0
    let dow = dayOfWeek & values != 0
    let starred = (dayOfMonth | dayOfWeek) & Self.starBit != 0
    return second & values != 0 && minute & values != 0 && hour & values != 0
      && month & values != 0 && (starred ? dom && dow : dom || dow)
  }

  func dayMatches(_ c: CronZone.Civil) -> Bool {
    let dom = dayOfMonth & (1 << UInt64(c.day)) != 0
    let dow = dayOfWeek & (1 << UInt64(c.weekday)) != 0
    if dayOfMonth & Self.starBit != 0 || dayOfWeek & Self.starBit != 0 { return dom && dow }
    return dom || dow
  }
}

@inline(__always) func floorMod(_ a: Int64, _ n: Int64) -> Int64 {
  let r = a % n
  return r < 0 ? r + n : r
}

@inline(__always) func floorDiv(_ a: Int64, _ n: Int64) -> Int64 {
  (a - floorMod(a, n)) / n
}

/// A time zone for schedules: UTC (kube-controller-manager's default in a simulation) or an IANA
/// zone (`spec.timeZone`), with the conversions upstream's Go time package makes.
public struct CronZone: Sendable, Equatable {
  /// The zone's identifier (`UTC`, `Europe/Berlin`, …).
  public let identifier: String
  let zone: TimeZone?

  public static let utc = CronZone(identifier: "UTC", zone: nil)

  /// The IANA zone named `identifier`, or nil when this machine's time zone database lacks it.
  public init?(identifier: String) {
    if identifier == "UTC" || identifier == "Etc/UTC" {
      self = .utc
      return
    }
    guard let z = TimeZone(identifier: identifier) else { return nil }
    self.identifier = identifier
    zone = z
  }

  init(identifier: String, zone: TimeZone?) {
    self.identifier = identifier
    self.zone = zone
  }

  public static func == (a: CronZone, b: CronZone) -> Bool { a.identifier == b.identifier }

  /// Seconds east of UTC in effect at Unix time `t`.
  func offset(at t: Int64) -> Int64 {
    guard let zone else { return 0 }
    return Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t))))
  }

  public struct Civil: Equatable, Sendable {
    public var year: Int64
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// 0 = Sunday.
    public var weekday: Int
  }

  /// The wall-clock reading of Unix time `t` here.
  public func civil(_ t: Int64) -> Civil {
    let local = t + offset(at: t)
    let days = floorDiv(local, 86_400)
    let secs = Int(local - days * 86_400)
    let (y, m, d) = Self.civilFromDays(days)
    return Civil(
      year: y, month: m, day: d, hour: secs / 3600, minute: secs % 3600 / 60, second: secs % 60,
      weekday: Int(floorMod(days + 4, 7)))
  }

  /// Go's `time.Date` in this zone: out-of-range fields carry over (month 13 is January of the
  /// next year, day 32 the next month's first), and a wall time the zone skips or repeats at a
  /// transition resolves as Go resolves it — the offset in effect at the reading taken as UTC,
  /// unless the result falls outside that offset's period, then the offset in effect there.
  public func date(
    _ year: Int64, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int
  )
    -> Int64
  {
    var y = year
    var m = Int64(month) - 1
    y += floorDiv(m, 12)
    m = floorMod(m, 12)
    let days = Self.daysFromCivil(y, Int(m) + 1, 1) + Int64(day) - 1
    let wall = days * 86_400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
    guard zone != nil else { return wall }
    let guess = offset(at: wall)
    let utc = wall - guess
    let actual = offset(at: utc)
    return actual == guess ? utc : wall - actual
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
  static func daysFromCivil(_ year: Int64, _ month: Int, _ day: Int) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = floorDiv(y, 400)
    let yoe = y - era * 400
    let mp = Int64((month + 9) % 12)
    let doy = (153 * mp + 2) / 5 + Int64(day) - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  static func civilFromDays(_ z0: Int64) -> (Int64, Int, Int) {
    let z = z0 + 719_468
    let era = floorDiv(z, 146_097)
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = Int(doy - (153 * mp + 2) / 5 + 1)
    let m = Int(mp < 10 ? mp + 3 : mp - 9)
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }
}

extension CronZone {
  /// `daysFromCivil`, for tests.
  public static func daysFromCivilForTests(_ year: Int64, _ month: Int, _ day: Int) -> Int64 {
    daysFromCivil(year, month, day)
  }
}
