import BerthCore
import Testing

@testable import BerthScheduling

/// The vectorisable arithmetic equals the plain one it stands in for.
struct ExactMathTests {
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
