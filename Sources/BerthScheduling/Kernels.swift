import BerthCore
import CBerthSystem

/// The column loops the framework runs between plugins: counting, normalising, summing and
/// selecting over row ranges of scratch columns.
///
/// Each loop is branch-free over unsafe pointers so it vectorises when compiled for the real
/// CPU. Callers guarantee every row in a range is below the column length.
enum Kernels {
  /// Rows per block when looking for the n-th match: blocks are counted vectorised and only the
  /// block holding the match is turned into a bit mask (so at most 64 rows).
  static let scanBlock = 64

  /// Rows in `rows` whose status is 0.
  static func countZeros(_ st: UnsafePointer<UInt8>, _ rows: Range<Int>) -> Int {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    // Counted in bytes over blocks of 255 rows (no byte count can wrap): a byte per lane, where
    // a running Int would widen every status byte to 64 bits.
    var n = 0
    var lo = rows.lowerBound
    while lo < rows.upperBound {
      let hi = min(lo &+ 255, rows.upperBound)
      var c: UInt8 = 0
      for i in lo..<hi { c &+= bit(st[i] == 0) }
      n &+= Int(c)
      lo = hi
    }
    return n
  }

  /// Rows in `rows` where both `a` and `b` are 0.
  static func countZeros(_ a: UnsafePointer<UInt8>, or b: UnsafePointer<UInt8>, _ rows: Range<Int>)
    -> Int
  {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    var n = 0
    for i in rows { n &+= Int(bit(a[i] | b[i] == 0)) }
    return n
  }

  /// Row of the `ordinal`-th (1-based) zero status in `rows`.
  ///
  /// Counts whole blocks with the vectorised counter and scans only the block that holds it.
  /// - Precondition: at least `ordinal` zeros exist in `rows`.
  static func indexOfZero(_ st: UnsafePointer<UInt8>, _ rows: Range<Int>, ordinal: Int) -> Int {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    var remaining = ordinal
    var lo = rows.lowerBound
    while lo < rows.upperBound {
      let block = lo..<min(lo + scanBlock, rows.upperBound)
      let c = countZeros(st, block)
      if c >= remaining {
        var mask: UInt64 = 0
        for i in block { mask |= UInt64(bit(st[i] == 0)) &<< UInt64(i &- block.lowerBound) }
        return block.lowerBound + nthSetBit(mask, remaining)
      }
      remaining &-= c
      lo = block.upperBound
    }
    preconditionFailure("fewer feasible rows than counted")
  }

  /// Position of the `ordinal`-th (1-based) set bit of `mask`, which has at least that many:
  /// the block scans build a match mask without branches and pick the bit here, since a
  /// row-by-row scan mispredicts on every scattered match.
  @inline(__always)
  static func nthSetBit(_ mask: UInt64, _ ordinal: Int) -> Int {
    var m = mask
    for _ in 1..<ordinal { m &= m &- 1 }
    return m.trailingZeroBitCount
  }

  /// Rows in `rows` whose status is `code`.
  static func count(of code: UInt8, _ st: UnsafePointer<UInt8>, _ rows: Range<Int>) -> Int {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    var n = 0
    for i in rows { n &+= Int(bit(st[i] == code)) }
    return n
  }

  /// The largest `col` value over the rows of `rows` whose status is 0 (feasible), or 0: the
  /// others masked to 0 without a branch, so the loop vectorises.
  static func maxWhereFeasible(
    _ col: UnsafePointer<Int64>, _ st: UnsafePointer<UInt8>, _ rows: Range<Int>
  ) -> Int64 {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    var m: Int64 = 0
    for i in rows {
      let v = col[i] & (0 &- Int64(bit(st[i] == 0)))
      m = v > m ? v : m
    }
    return m
  }

  /// The smallest and largest `col` values over the rows of `rows` whose status is 0, or
  /// (Int64.max, Int64.min) when there is none: the others replaced by those bounds without a
  /// branch, so the loop vectorises.
  static func minMaxWhereFeasible(
    _ col: UnsafePointer<Int64>, _ st: UnsafePointer<UInt8>, _ rows: Range<Int>
  ) -> (Int64, Int64) {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    var lo = Int64.max
    var hi = Int64.min
    for i in rows {
      let keep = 0 &- Int64(bit(st[i] == 0))
      let v = col[i]
      lo = min(lo, (v & keep) | (Int64.max & ~keep))
      hi = max(hi, (v & keep) | (Int64.min & ~keep))
    }
    return (lo, hi)
  }

  /// The OR over `rows` of bit `code & 63` for each row's status code: bit c (1 ≤ c ≤ 62) is
  /// set when some row holds code c; bit 0 stands for 0 (and 64, 128, 192), bit 63 for 255 (and
  /// 63, 127, 191) — callers with at most 61 filters read bits 1…61 exactly. No branch per row.
  static func codeBits(_ st: UnsafePointer<UInt8>, _ rows: Range<Int>) -> UInt64 {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    var bits: UInt64 = 0
    for i in rows { bits |= 1 &<< UInt64(st[i] & 63) }
    return bits
  }

  static func firstIndex(of code: UInt8, _ st: UnsafePointer<UInt8>, _ rows: Range<Int>) -> Int? {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    for i in rows where st[i] == code { return i }
    return nil
  }

  static func fill(_ col: UnsafeMutablePointer<Int64>, _ rows: Range<Int>, _ value: Int64) {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    col.advanced(by: rows.lowerBound).update(repeating: value, count: rows.count)
  }

  static func addWeighted(
    _ total: UnsafeMutablePointer<Int64>, _ col: UnsafePointer<Int64>, _ weight: Int64,
    _ rows: Range<Int>
  ) {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    for i in rows { total[i] &+= col[i] &* weight }
  }

  /// How the weighted sum multiplies, decided once per cycle for its terms.
  enum TermWeights {
    /// Every weight is 1: no multiply.
    case unit
    /// Every weight is in [0, 2^32) — configured weights are non-negative Int32s.
    case narrow
    case wide

    init(_ terms: UnsafeBufferPointer<(column: UnsafePointer<Int64>, weight: Int64)>) {
      if terms.allSatisfy({ $0.weight == 1 }) {
        self = .unit
      } else if terms.allSatisfy({ $0.weight >= 0 && $0.weight <= Int64(UInt32.max) }) {
        self = .narrow
      } else {
        self = .wide
      }
    }
  }

  /// `total = constant + Σ weight·column` on feasible rows, `Int64.min` on infeasible ones (so
  /// they never win a maximum), in one pass for up to three columns; `weights` describes the
  /// terms' weights (`TermWeights(terms)`).
  /// - Returns: the largest total in `rows` (`Int64.min` when none is feasible).
  @discardableResult
  static func weightedSum(
    into total: UnsafeMutablePointer<Int64>, constant: Int64,
    _ terms: UnsafeBufferPointer<(column: UnsafePointer<Int64>, weight: Int64)>,
    weights: TermWeights, status st: UnsafePointer<UInt8>, _ rows: Range<Int>
  ) -> Int64 {
    switch weights {
    case .unit: weightedSum(UnitWeight.self, into: total, constant, terms, st, rows)
    case .narrow: weightedSum(NarrowWeight.self, into: total, constant, terms, st, rows)
    case .wide: weightedSum(WideWeight.self, into: total, constant, terms, st, rows)
    }
  }

  @inline(__always)
  private static func weightedSum<W: TermWeight>(
    _: W.Type, into total: UnsafeMutablePointer<Int64>, _ constant: Int64,
    _ terms: UnsafeBufferPointer<(column: UnsafePointer<Int64>, weight: Int64)>,
    _ st: UnsafePointer<UInt8>, _ rows: Range<Int>
  ) -> Int64 {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    assert(rows.lowerBound >= 0, "a negative row")
    var m = Int64.min
    switch terms.count {
    case 0:
      for i in rows {
        let v = st[i] == 0 ? constant : Int64.min
        total[i] = v
        m = max(m, v)
      }
    // Each sum is taken on every row and then selected: a sum inside the select lets the
    // compiler read the columns only on feasible rows, as masked loads (slow on x86).
    case 1:
      let (a, wa) = terms[0]
      for i in rows {
        let sum = constant &+ W.times(a[i], wa)
        let v = st[i] == 0 ? sum : Int64.min
        total[i] = v
        m = max(m, v)
      }
    case 2:
      let (a, wa) = terms[0]
      let (b, wb) = terms[1]
      for i in rows {
        let sum = constant &+ W.times(a[i], wa) &+ W.times(b[i], wb)
        let v = st[i] == 0 ? sum : Int64.min
        total[i] = v
        m = max(m, v)
      }
    case 3:
      let (a, wa) = terms[0]
      let (b, wb) = terms[1]
      let (c, wc) = terms[2]
      for i in rows {
        let sum = constant &+ W.times(a[i], wa) &+ W.times(b[i], wb) &+ W.times(c[i], wc)
        let v = st[i] == 0 ? sum : Int64.min
        total[i] = v
        m = max(m, v)
      }
    default:
      fill(total, rows, constant)
      for (col, w) in terms { addWeighted(total, col, w, rows) }
      maskInfeasible(total, st, rows)
      for i in rows { m = max(m, total[i]) }
    }
    return m
  }

  /// Infeasible rows (status ≠ 0) get `Int64.min`, so they never win a maximum.
  static func maskInfeasible(
    _ total: UnsafeMutablePointer<Int64>, _ st: UnsafePointer<UInt8>, _ rows: Range<Int>
  ) {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    for i in rows { total[i] = st[i] == 0 ? total[i] : Int64.min }
  }

  static func count(of value: Int64, _ col: UnsafePointer<Int64>, _ rows: Range<Int>) -> Int {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    var n = 0
    for i in rows { n &+= Int(bit(col[i] == value)) }
    return n
  }

  /// Row of the `ordinal`-th (1-based) occurrence of `value` in `rows`, block by block.
  static func firstIndex(
    of value: Int64, _ col: UnsafePointer<Int64>, _ rows: Range<Int>, ordinal: Int
  ) -> Int? {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    var remaining = ordinal
    var lo = rows.lowerBound
    while lo < rows.upperBound {
      let block = lo..<min(lo + scanBlock, rows.upperBound)
      let c = count(of: value, col, block)
      if c >= remaining {
        var mask: UInt64 = 0
        for i in block { mask |= UInt64(bit(col[i] == value)) &<< UInt64(i &- block.lowerBound) }
        return block.lowerBound + nthSetBit(mask, remaining)
      }
      remaining &-= c
      lo = block.upperBound
    }
    return nil
  }

  /// Applies a NormalizeScore rule over the feasible rows of the window.
  static func normalize(
    _ col: UnsafeMutablePointer<Int64>, window: Window, status st: UnsafePointer<UInt8>,
    _ rule: ScoreNormalization
  ) {
    // SAFETY: callers pass rows below every column's length (Scheduler asserts its chunks).
    switch rule {
    case .none, .custom:
      return
    case .scaleByMax(let reverse):
      // DefaultNormalizeScore: max starts at 0; all-zero scores stay 0 (or become 100 reversed).
      var maxCount: Int64 = 0
      for seg in window.segments { maxCount = max(maxCount, maxWhereFeasible(col, st, seg)) }
      for seg in window.segments {
        if maxCount == 0 {
          if reverse { fill(col, seg, NodeScore.max) }
          continue
        }
        // Raw scores of these plugins are counts and weight sums, never negative.
        guard maxCount < 1 << 45 else {
          for i in seg {
            let s = ExactMath.divide(NodeScore.max &* max(col[i], 0), maxCount)
            col[i] = reverse ? NodeScore.max &- s : s
          }
          continue
        }
        // The divisor is the same for every row: one reciprocal, and the quotient corrected in
        // doubles (no vector int64 multiply, which AVX2 lacks). A feasible row's score is at
        // most the maximum; an infeasible row's (taking no part) is clamped to it, so every
        // operand is an integer below 2^52 and `floorQuotient`'s argument holds.
        let m = ExactMath.exactDouble(maxCount)
        let inverse = 1 / m
        for i in seg {
          let a = ExactMath.exactDouble(NodeScore.max &* min(max(col[i], 0), maxCount))
          let s = ExactMath.truncatedToInt(ExactMath.floorQuotient(a, m, inverse: inverse))
          col[i] = reverse ? NodeScore.max &- s : s
        }
      }
    case .minMax, .integerMinMax:
      var lo = Int64.max
      var hi = Int64.min
      for seg in window.segments {
        let (l, h) = minMaxWhereFeasible(col, st, seg)
        lo = min(lo, l)
        hi = max(hi, h)
      }
      let integer = rule == .integerMinMax
      for seg in window.segments {
        for i in seg {
          if hi == lo {
            col[i] = 0
          } else if integer {
            col[i] = (col[i] &- lo) &* NodeScore.max / (hi &- lo)
          } else {
            // Upstream order of operations: 100 × ((s − min) / (max − min)), truncated.
            col[i] = Int64(Double(NodeScore.max) * (Double(col[i] &- lo) / Double(hi &- lo)))
          }
        }
      }
    }
  }
}

/// How `Kernels.weightedSum` multiplies a score by its weight: the product wraps as `&*` does
/// either way.
protocol TermWeight {
  static func times(_ x: Int64, _ weight: Int64) -> Int64
}

/// Any weight.
enum WideWeight: TermWeight {
  @inline(__always) static func times(_ x: Int64, _ weight: Int64) -> Int64 { x &* weight }
}

/// A weight of 1: no multiply.
enum UnitWeight: TermWeight {
  @inline(__always) static func times(_ x: Int64, _ weight: Int64) -> Int64 { x }
}

/// A weight in [0, 2^32): with its upper half known to be zero, a vector of products takes two
/// 32-bit multiplies instead of three (AVX2 has no 64-bit one) — the same wrapped product.
enum NarrowWeight: TermWeight {
  @inline(__always) static func times(_ x: Int64, _ weight: Int64) -> Int64 {
    x &* Int64(UInt32(truncatingIfNeeded: weight))
  }
}

/// Exact integer arithmetic that vectorises: x86 has no vector integer division, so quotients are
/// estimated in double precision and corrected by at most one in each direction.
enum ExactMath {
  /// `a / b` truncated, for 0 ≤ a and 0 < b (both below 2^62).
  ///
  /// The double quotient is within one of the true quotient for such operands, and the two
  /// integer corrections make it exact: (a, b) = (3100, 32000) × … → same as `a / b`.
  @inline(__always)
  static func divide(_ a: Int64, _ b: Int64) -> Int64 {
    var q = truncatedToInt(Double(a) / Double(b))
    q &-= (q &* b > a) ? 1 : 0
    q &+= ((q &+ 1) &* b <= a) ? 1 : 0
    return q
  }

  /// ⌊a / m⌋ for integers 0 ≤ a < 2^52 and 1 ≤ m < 2^52 held in doubles, given `inverse` =
  /// 1/m rounded: a·inverse is within a/m·2^-51 of a/m, less than one when a/m ≤ 100 (the
  /// normalisers' quotients), so its truncation is the floor or one off either way; one step
  /// down where k·m > a and one up where (k + 1)·m ≤ a make it exact. The products are
  /// integers below 2^53 (k ≤ 101 with m·101 < 2^53 for m < 2^45), so exact too.
  @inline(__always)
  static func floorQuotient(_ a: Double, _ m: Double, inverse: Double) -> Double {
    var k = (a * inverse).rounded(.towardZero)
    k -= k * m > a ? 1 : 0
    k += (k + 1) * m <= a ? 1 : 0
    return k
  }

  /// `a / b` rounded to the nearest double — the very double a division gives — for integers
  /// 0 ≤ a < 2^53 and 1 ≤ b < 2^46 held in doubles, given `inverse` = 1/b rounded: three
  /// multiply-adds where the target fuses them (`correctlyRoundedQuotient`), the division
  /// elsewhere. (A vector division is one instruction but occupies the divider for 8 cycles per
  /// four lanes; kernels bound by it gain from the multiply-adds.) a = b = 0 with an `inverse`
  /// of 0 gives 0 either way.
  @inline(__always)
  static func quotient(_ a: Double, _ b: Double, inverse: Double) -> Double {
    fusesMultiplyAdd ? correctlyRoundedQuotient(a, b, inverse: inverse) : a / max(b, 1)
  }

  /// The division-free form of `quotient` (a Markstein step; exact on this domain):
  /// q = a·y rounded, y = 1/b rounded, is within 2.5 ulp(q) of x = a/b. The remainder
  /// r = a − q·b is a multiple of ulp(q) (a and b are integers) below 2.5·b·ulp(q) < 2^48·ulp(q)
  /// in magnitude, so the fused multiply-add computes it exactly. q + r·y, formed exactly
  /// inside the second multiply-add, equals x + (x − q)·e with |e| ≤ 2^-53, so it is within
  /// 2.5·ulp(q)·2^-53 ≤ 5·ulp(x)·2^-53 of x. No midpoint between doubles lies that close: a
  /// midpoint has 54 significant bits, so x = a/b (a < 2^53) is none, and one differs from x by
  /// a nonzero multiple of ulp(x)/2 divided by b, at least ulp(x)/(2b) > 5·ulp(x)·2^-53 for
  /// b < 2^46. Rounding q + r·y therefore gives the rounded a/b.
  @inline(__always)
  static func correctlyRoundedQuotient(_ a: Double, _ b: Double, inverse y: Double) -> Double {
    let q = a * y
    let r = a.addingProduct(-q, b)
    return q.addingProduct(r, y)
  }

  /// Whether the build's target CPU has a fused multiply-add instruction; a constant the
  /// optimiser folds.
  @inline(__always)
  static var fusesMultiplyAdd: Bool { berth_target_fuses_multiply_add() != 0 }

  /// Go's `math.Round`: to the nearest integer, halves away from zero, as
  /// `x.rounded(.toNearestOrAwayFromZero)` — which x86 has no instruction for (it calls libm,
  /// once per element). Truncation has one, and the fraction `x − trunc(x)` is exact.
  @inline(__always)
  static func roundedHalfAway(_ x: Double) -> Double {
    let t = x.rounded(.towardZero)
    let f = x - t
    return f >= 0.5 ? t + 1 : f <= -0.5 ? t - 1 : t
  }

  /// Whether the build's target CPU converts int64 vectors to doubles in one instruction
  /// (AVX-512DQ); a constant the optimiser folds.
  @inline(__always)
  static var convertsInt64Vectors: Bool { berth_target_converts_int64_vectors() != 0 }

  /// `Double(x)` for 0 ≤ x < 2^52, exactly: where the target has no vector int64 → double
  /// conversion (AVX2 converts element by element), by placing x in the mantissa of 2^52 and
  /// subtracting 2^52 — two vector instructions.
  @inline(__always)
  static func exactDouble(_ x: Int64) -> Double {
    if convertsInt64Vectors { return Double(x) }
    let magic = 4_503_599_627_370_496.0  // 2^52
    return Double(bitPattern: UInt64(bitPattern: x) | magic.bitPattern) - magic
  }

  /// max(x, 0) for a number x, in one vector instruction: `Swift.max` keeps the order of
  /// signed zeros and NaNs apart, which costs a compare and a mask.
  @inline(__always)
  static func positivePart(_ x: Double) -> Double { x > 0 ? x : 0 }

  /// `Int64(x)` for an integer 0 ≤ x < 2^52 held in a double: two vector instructions.
  @inline(__always)
  static func integerToInt(_ x: Double) -> Int64 {
    let magic = 4_503_599_627_370_496.0  // 2^52
    return Int64(bitPattern: (x + magic).bitPattern) &- Int64(bitPattern: magic.bitPattern)
  }

  /// `Int64(x)` truncating toward zero for 0 ≤ x < 2^52, without the trap checks that keep
  /// `Int64.init(_: Double)` from vectorising.
  @inline(__always)
  static func truncatedToInt(_ x: Double) -> Int64 {
    let magic = 4_503_599_627_370_496.0  // 2^52
    let f = max(0, x).rounded(.towardZero)
    return Int64(bitPattern: (f + magic).bitPattern) &- Int64(bitPattern: magic.bitPattern)
  }
}
