import BerthCore
import Testing

@testable import BerthScheduling

/// The vectorisable arithmetic equals the plain one it stands in for.
struct ExactMathTests {
  @Test(
    "the floor of a ≤ 100·m over m by one reciprocal and two corrections equals integer division")
  func floorQuotient() {
    var pairs: [(Int64, Int64)] = []
    // Every numerator of small divisors (the normalisers' counts), and the edges of large ones.
    for m in Int64(1)...300 { for a in 0...(100 * m) { pairs.append((a, m)) } }
    for m: Int64 in [(1 << 45) - 1, (1 << 44) + 1, 3 << 40, 99_999_999_977, 1 << 32] {
      for k: Int64 in [0, 1, 33, 50, 99, 100] {
        for d: Int64 in [-1, 0, 1] where k * m + d >= 0 && k * m + d <= 100 * m {
          pairs.append((k * m + d, m))
        }
      }
    }
    var rng = SplitMix64(seed: 45)
    for _ in 0..<200_000 {
      let m = Int64(1 + rng.next() % ((1 << 45) - 1))
      pairs.append((Int64(rng.next() % UInt64(100 * m + 1)), m))
    }
    var wrong = 0
    for (a, m) in pairs {
      let md = Double(m)
      let q = ExactMath.floorQuotient(Double(a), md, inverse: 1 / md)
      if q != Double(a / m) { wrong += 1 }
    }
    #expect(wrong == 0, "\(wrong) of \(pairs.count) quotients off")
  }

  @Test("rounding halves away from zero equals Double.rounded(.toNearestOrAwayFromZero)")
  func roundedHalfAway() {
    var xs: [Double] = [
      0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994,
      4_503_599_627_370_495.5, -4_503_599_627_370_495.5, 9_007_199_254_740_993, 1e300, -1e300,
      .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
    ]
    var rng = SplitMix64(seed: 18)
    for _ in 0..<100_000 {
      let scale = Double(1 << (rng.next() % 40))
      xs.append((Double(rng.next() % 2_000_001) / 1000 - 1000) * scale)
      xs.append(Double(Int64(bitPattern: rng.next()) % 1_000_000) + 0.5)
    }
    for x in xs {
      #expect(ExactMath.roundedHalfAway(x) == x.rounded(.toNearestOrAwayFromZero), "x = \(x)")
    }
    #expect(ExactMath.roundedHalfAway(.nan).isNaN)
  }
}
