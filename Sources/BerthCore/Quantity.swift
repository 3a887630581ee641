/// A Kubernetes resource quantity held exactly, as `coefficient × 10^exponent`.
///
/// Parsing follows apimachinery's `resource.ParseQuantity`: an optional sign, digits with an
/// optional fraction (`1.`, `.5` and `1.G` are accepted, as upstream accepts them), then one
/// suffix — binary SI (`Ki` … `Ei`), decimal SI (`n u m k M G T P E`) or a decimal exponent
/// (`e3`, `E-2`). Every binary multiple of a decimal is itself a decimal, so the value is always
/// exact; sums are exact too, which matters because the scheduler adds container quantities
/// before it rounds (`PodRequests`), never after.
///
/// Conversions round toward +∞ as `Quantity.Value()` and `MilliValue()` do:
/// `0.1m` of CPU is 1 millicore, `1.5` bytes is 2 bytes.
public struct Quantity: Hashable, Sendable, CustomStringConvertible {
  /// Significant digits, signed. Normalised so that it has no trailing decimal zeros
  /// (`coefficient % 10 != 0` unless it is zero, in which case `exponent` is 0).
  public let coefficient: Int128
  /// Power of ten applied to `coefficient`.
  public let exponent: Int

  public static let zero = Quantity(coefficient: 0, exponent: 0)

  public init(coefficient: Int128, exponent: Int) {
    var c = coefficient
    var e = exponent
    if c == 0 {
      e = 0
    } else {
      while c % 10 == 0 {
        c /= 10
        e += 1
      }
    }
    self.coefficient = c
    self.exponent = e
  }

  /// A whole number of base units (bytes, pods, devices).
  public init(integer: Int64) { self.init(coefficient: Int128(integer), exponent: 0) }

  /// A number of thousandths of the base unit (millicores).
  public init(milli: Int64) { self.init(coefficient: Int128(milli), exponent: -3) }

  public var isNegative: Bool { coefficient < 0 }

  /// The value in base units, rounded up: `1.5` → 2, `100m` → 1.
  public func value() throws(QuantityError) -> Int64 { try scaled(by: 0) }

  /// The value in thousandths, rounded up: `0.5` → 500, `0.1m` → 1.
  public func milliValue() throws(QuantityError) -> Int64 { try scaled(by: 3) }

  /// `ceil(self × 10^scale)` as an `Int64`.
  func scaled(by scale: Int) throws(QuantityError) -> Int64 {
    let e = exponent + scale
    var result: Int128
    if e >= 0 {
      guard e <= 38 else { throw .outOfRange(description) }
      result = coefficient
      for _ in 0..<e {
        let (product, overflow) = result.multipliedReportingOverflow(by: 10)
        guard !overflow else { throw .outOfRange(description) }
        result = product
      }
    } else {
      // Dividing by more than 10^38 leaves a magnitude below 1: the ceiling is 1 or 0.
      if -e > 38 {
        result = coefficient > 0 ? 1 : 0
      } else {
        var divisor: Int128 = 1
        for _ in 0..<(-e) { divisor *= 10 }
        let (q, r) = coefficient.quotientAndRemainder(dividingBy: divisor)
        result = (r > 0) ? q + 1 : q  // toward +∞ (a negative remainder truncates toward +∞)
      }
    }
    guard result >= Int128(Int64.min), result <= Int128(Int64.max) else {
      throw .outOfRange(description)
    }
    return Int64(result)
  }

  /// Exact sum.
  /// - Throws: `outOfRange` when the exact sum needs more than 128 bits (two 38-digit
  ///   quantities, or magnitudes 10^38 apart) — far beyond anything a scheduler unit can hold.
  public func adding(_ other: Quantity) throws(QuantityError) -> Quantity {
    let e = min(exponent, other.exponent)
    guard let a = coefficient.scaledUp(by: exponent - e),
      let b = other.coefficient.scaledUp(by: other.exponent - e)
    else {
      if coefficient == 0 { return other }
      if other.coefficient == 0 { return self }
      throw .outOfRange("\(self) + \(other)")
    }
    let (sum, overflow) = a.addingReportingOverflow(b)
    guard !overflow else { throw .outOfRange("\(self) + \(other)") }
    return Quantity(coefficient: sum, exponent: e)
  }

  public static func max(_ lhs: Quantity, _ rhs: Quantity) -> Quantity { lhs < rhs ? rhs : lhs }

  public var description: String {
    if exponent > 18 { return "\(coefficient)e\(exponent)" }  // "1e100", still a valid quantity
    if exponent >= 0 {
      return String(coefficient) + String(repeating: "0", count: exponent)
    }
    let sign = coefficient < 0 ? "-" : ""
    var digits = String(coefficient.magnitude)
    let fraction = -exponent
    if digits.count <= fraction {
      digits = String(repeating: "0", count: fraction - digits.count + 1) + digits
    }
    let split = digits.index(digits.endIndex, offsetBy: -fraction)
    return sign + digits[..<split] + "." + digits[split...]
  }
}

extension Quantity: Comparable {
  public static func < (lhs: Quantity, rhs: Quantity) -> Bool {
    let e = Swift.min(lhs.exponent, rhs.exponent)
    switch (
      lhs.coefficient.scaledUp(by: lhs.exponent - e), rhs.coefficient.scaledUp(by: rhs.exponent - e)
    ) {
    case (let a?, let b?): return a < b
    case (nil, _): return lhs.coefficient < 0  // lhs is huge in magnitude
    case (_, nil): return rhs.coefficient > 0
    }
  }
}

extension Int128 {
  /// `self × 10^power`, or nil when it does not fit.
  fileprivate func scaledUp(by power: Int) -> Int128? {
    var result = self
    for _ in 0..<power {
      let (product, overflow) = result.multipliedReportingOverflow(by: 10)
      if overflow { return nil }
      result = product
    }
    return result
  }
}

/// Why a quantity string was rejected.
public enum QuantityError: Error, Equatable, Sendable, CustomStringConvertible {
  case empty
  case malformed(String)
  case unknownSuffix(String, suffix: String)
  case tooPrecise(String)
  case outOfRange(String)
  case negative(String)
  /// Converts, but above `ResourceAmounts.limit` for `resource`.
  case aboveLimit(String, resource: String)

  public var description: String {
    switch self {
    case .empty: return "quantity is empty"
    case .malformed(let s): return "quantity \"\(s)\" is not a number with an optional suffix"
    case .unknownSuffix(let s, let suffix):
      return "quantity \"\(s)\" has unknown suffix \"\(suffix)\" (expected Ki, Mi, Gi, Ti, Pi, Ei, "
        + "n, u, m, k, M, G, T, P, E or an exponent like e3)"
    case .tooPrecise(let s): return "quantity \"\(s)\" has more than 38 significant digits"
    case .outOfRange(let s): return "quantity \"\(s)\" is out of range"
    case .negative(let s): return "quantity \"\(s)\" is negative"
    case .aboveLimit(let s, let resource):
      let unit =
        resource == ResourceName.cpu
        ? " millicores"
        : resource == ResourceName.memory || resource == ResourceName.ephemeralStorage
          ? " bytes" : ""
      return
        "quantity \"\(s)\" of \(resource) is above Berth's limit of 2^53 (\(ResourceAmounts.limit)\(unit))"
    }
  }
}

extension Quantity {
  /// Parses a quantity string exactly as `resource.ParseQuantity` reads it.
  ///
  /// `"100m"` → 0.1, `"1.5Gi"` → 1610612736, `"1e3"` → 1000, `"1E"` → 10^18, `"500k"` → 500000.
  public init(parsing text: String) throws(QuantityError) {
    var copy = text
    // Parse the UTF-8 bytes in place: no array per call.
    let parsed: Result<Quantity, QuantityError> = copy.withUTF8 { bytes in
      do throws(QuantityError) { return .success(try Quantity.parse(bytes, text: text)) } catch {
        return .failure(error)
      }
    }
    self = try parsed.get()
  }

  private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, text: String) throws(QuantityError)
    -> Quantity
  {
    // SAFETY: `bytes` is the text's UTF-8, valid for this call; every read is bounds-checked.
    guard !bytes.isEmpty else { throw .empty }
    var pos = 0
    var negative = false
    if bytes[0] == UInt8(ascii: "-") {
      negative = true
      pos = 1
    } else if bytes[0] == UInt8(ascii: "+") {
      pos = 1
    }
    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    var coefficient: Int128 = 0
    var significant = 0
    var fractionDigits = 0
    var sawDigit = false
    while pos < bytes.count, isDigit(bytes[pos]) {
      sawDigit = true
      try Quantity.push(bytes[pos], into: &coefficient, significant: &significant, text: text)
      pos += 1
    }
    if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
      pos += 1
      while pos < bytes.count, isDigit(bytes[pos]) {
        sawDigit = true
        try Quantity.push(bytes[pos], into: &coefficient, significant: &significant, text: text)
        fractionDigits += 1
        pos += 1
      }
    } else if !sawDigit {
      throw .malformed(text)
    }

    let suffix = String(decoding: UnsafeBufferPointer(rebasing: bytes[pos...]), as: UTF8.self)
    var decimalExponent = -fractionDigits
    var binaryPower = 0
    switch suffix {
    case "": break
    case "Ki": binaryPower = 10
    case "Mi": binaryPower = 20
    case "Gi": binaryPower = 30
    case "Ti": binaryPower = 40
    case "Pi": binaryPower = 50
    case "Ei": binaryPower = 60
    case "n": decimalExponent -= 9
    case "u": decimalExponent -= 6
    case "m": decimalExponent -= 3
    case "k": decimalExponent += 3
    case "M": decimalExponent += 6
    case "G": decimalExponent += 9
    case "T": decimalExponent += 12
    case "P": decimalExponent += 15
    case "E": decimalExponent += 18
    default:
      guard let exp = Quantity.parseExponent(suffix) else {
        throw .unknownSuffix(text, suffix: suffix)
      }
      decimalExponent += exp
    }
    if binaryPower > 0 {
      let (product, overflow) = coefficient.multipliedReportingOverflow(
        by: Int128(1) << binaryPower)
      guard !overflow else { throw .outOfRange(text) }
      coefficient = product
    }
    // Exponents far outside Int64's decimal range can only produce overflow or (near) zero.
    guard decimalExponent > -400, decimalExponent < 400 else {
      if coefficient == 0 { return .zero }
      throw .outOfRange(text)
    }
    return Quantity(coefficient: negative ? -coefficient : coefficient, exponent: decimalExponent)
  }

  private static func push(
    _ digit: UInt8, into coefficient: inout Int128, significant: inout Int, text: String
  ) throws(QuantityError) {
    let d = Int128(digit - 0x30)
    if coefficient == 0 && d == 0 { return }  // leading zeros carry no precision
    significant += 1
    guard significant <= 38 else { throw .tooPrecise(text) }
    coefficient = coefficient * 10 + d
  }

  /// `e3`, `E-2`, `e+5`: a decimal exponent suffix.
  private static func parseExponent(_ suffix: String) -> Int? {
    let bytes = Array(suffix.utf8)
    guard bytes.count >= 2, bytes[0] == UInt8(ascii: "e") || bytes[0] == UInt8(ascii: "E") else {
      return nil
    }
    var i = 1
    var negative = false
    if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
      negative = bytes[i] == UInt8(ascii: "-")
      i += 1
    }
    guard i < bytes.count else { return nil }
    var value = 0
    while i < bytes.count {
      let b = bytes[i]
      guard b >= 0x30 && b <= 0x39 else { return nil }
      value = value * 10 + Int(b - 0x30)
      if value > 100_000 { value = 100_000 }  // clamps absurd exponents; caller range-checks
      i += 1
    }
    return negative ? -value : value
  }
}
