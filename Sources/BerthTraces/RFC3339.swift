import BerthCore

/// RFC 3339 times as Kubernetes writes them (`2024-05-01T12:00:00Z`, `…T12:00:00.123+02:00`),
/// in the proleptic Gregorian calendar as Go's `time` package counts, so Go's zero time
/// `0001-01-01T00:00:00Z` (printed for unset times) reads as −62,135,596,800 s.
public enum RFC3339 {
  /// Milliseconds since 1970-01-01T00:00:00Z (sub-millisecond digits truncated), or nil when
  /// `text` is not an RFC 3339 date-time.
  public static func parseMillis(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    func digits(_ at: Int, _ n: Int) -> Int64? {
      guard at + n <= b.count else { return nil }
      var v: Int64 = 0
      for i in at..<(at + n) {
        guard b[i] >= 48, b[i] <= 57 else { return nil }
        v = v * 10 + Int64(b[i] - 48)
      }
      return v
    }
    guard b.count >= 20, let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45,
      let day = digits(8, 2), b[10] == 84 || b[10] == 116, let hour = digits(11, 2), b[13] == 58,
      let minute = digits(14, 2), b[16] == 58, let second = digits(17, 2)
    else { return nil }
    guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24,
      minute < 60, second < 60
    else { return nil }
    var i = 19
    var millis: Int64 = 0
    if i < b.count, b[i] == 46 {
      i += 1
      var n = 0
      while i < b.count, b[i] >= 48, b[i] <= 57 {
        if n < 3 { millis = millis * 10 + Int64(b[i] - 48) }
        n += 1
        i += 1
      }
      guard n > 0 else { return nil }
      if n < 3 { for _ in n..<3 { millis *= 10 } }
    }
    guard i < b.count else { return nil }
    var offsetSeconds: Int64 = 0
    if b[i] == 90 || b[i] == 122 {
      i += 1
    } else if b[i] == 43 || b[i] == 45 {
      guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = digits(i + 4, 2),
        oh < 24, om < 60
      else { return nil }
      offsetSeconds = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
      i += 6
    } else {
      return nil
    }
    guard i == b.count else { return nil }
    let days = daysFromCivil(year, month, day)
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
    return seconds * 1000 + millis
  }

  /// `2024-05-01T12:00:00Z` (with `.123` when the milliseconds are not zero).
  public static func format(millis: Int64) -> String {
    let seconds = floorDiv(millis, 1000)
    let ms = millis - seconds * 1000
    let days = floorDiv(seconds, 86_400)
    var rest = seconds - days * 86_400
    let (y, m, d) = civilFromDays(days)
    let hour = rest / 3600
    rest -= hour * 3600
    let minute = rest / 60
    let second = rest - minute * 60
    func pad(_ v: Int64, _ n: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    var out =
      "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
    if ms != 0 { out += "." + pad(ms, 3) }
    return out + "Z"
  }

  static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
  }

  static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

  static func daysIn(month: Int64, year: Int64) -> Int64 {
    switch month {
    case 2: isLeap(year) ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
  static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = floorDiv(y, 400)
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
    let z = z0 + 719_468
    let era = floorDiv(z, 146_097)
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }
}
