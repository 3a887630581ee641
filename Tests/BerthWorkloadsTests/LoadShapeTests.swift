import Testing

@testable import BerthWorkloads

@Suite struct LoadShapeTests {
  let s: Int64 = 1_000_000_000
  let hour: Int64 = 3_600_000_000_000

  func at(_ shape: LoadShape, _ t: Int64, seed: UInt64 = 1) -> Double {
    LoadSeries(shape, seed: seed).value(at: t)
  }

  @Test func deterministicShapesGiveTheirFormulas() {
    #expect(at(.constant(7), 99 * s) == 7)
    #expect(at(.steps([(0, 10), (60 * s, 40)]), 59 * s) == 10)
    #expect(at(.steps([(0, 10), (60 * s, 40)]), 60 * s) == 40)
    #expect(at(.ramp(from: 0, to: 100, start: 10 * s, end: 20 * s), 15 * s) == 50)
    #expect(at(.ramp(from: 0, to: 100, start: 10 * s, end: 20 * s), 25 * s) == 100)
    #expect(abs(at(.sine(mean: 10, amplitude: 5, period: 40 * s, phase: 0), 10 * s) - 15) < 1e-9)
    // A diurnal wave peaking at 14:00: mean + amplitude then, mean − amplitude at 02:00.
    let day = LoadShape.diurnal(mean: 100, amplitude: 80, peakAt: 14 * hour, period: 24 * hour)
    #expect(abs(at(day, 14 * hour) - 180) < 1e-9)
    #expect(abs(at(day, 2 * hour) - 20) < 1e-9)
    #expect(abs(at(day, 38 * hour) - 180) < 1e-9)
    #expect(at(.square(low: 1, high: 9, period: 10 * s, duty: 0.3), 2 * s) == 9)
    #expect(at(.square(low: 1, high: 9, period: 10 * s, duty: 0.3), 3 * s) == 1)
    #expect(at(.spikes([(10 * s, 50, 5 * s)]), 12 * s) == 50)
    #expect(at(.spikes([(10 * s, 50, 5 * s)]), 15 * s) == 0)
    #expect(at(.sum([.constant(2), .constant(3)]), 0) == 5)
    #expect(at(.product([.constant(2), .constant(3)]), 0) == 6)
    #expect(at(.shift(.steps([(10 * s, 1)]), by: 5 * s), 14 * s) == 0)
    #expect(at(.shift(.steps([(10 * s, 1)]), by: 5 * s), 15 * s) == 1)
    #expect(
      at(.scale(.ramp(from: 0, to: 10, start: 0, end: 10 * s), time: 2, value: 3), 10 * s) == 15)
    #expect(at(.clamp(.constant(50), min: 0, max: 20), 0) == 20)
    #expect(at(.constant(-5), 0) == 0)
  }

  @Test func seriesInterpolateHoldAndLoop() {
    let pts: [(t: Int64, value: Double)] = [(0, 0), (10 * s, 100), (20 * s, 50)]
    #expect(at(.series(points: pts, linear: true, loop: false), 5 * s) == 50)
    #expect(at(.series(points: pts, linear: false, loop: false), 5 * s) == 0)
    #expect(at(.series(points: pts, linear: true, loop: false), 99 * s) == 50)
    // Looped with period 30 s (the last spacing repeated): t = 35 s reads as 5 s.
    #expect(at(.series(points: pts, linear: true, loop: true), 35 * s) == 50)
  }

  /// A looped series whose period would not fit Int64 (a fuzzer's find: two samples 164 years
  /// apart) holds its ends instead of trapping; so do times near Int64's ends.
  @Test func extremeLoopsDoNotOverflow() {
    let far: Int64 = 5_166_666_669_000_000_000
    let series = LoadSeries(
      .series(points: [(0, 1.2), (far, 105)], linear: true, loop: true), seed: 1)
    for t in [Int64(0), 1_000_000_000, far, far &+ 7, .max, .min] {
      let v = series.value(at: t)
      #expect(v.isFinite && v >= 0)
    }
  }

  @Test func poissonNoiseIsSeededAndUnbiased() {
    let shape = LoadShape.poisson(.constant(20), interval: s)
    let a = LoadSeries(shape, seed: 3)
    let b = LoadSeries(shape, seed: 3)
    var sum = 0.0
    for k in 0..<20_000 {
      let t = Int64(k) * s
      #expect(a.value(at: t) == b.value(at: t))
      sum += a.value(at: t)
    }
    #expect(abs(sum / 20_000 - 20) < 0.2)
    // Asking out of order gives the same values (keyed by bucket, not by draw order).
    #expect(LoadSeries(shape, seed: 3).value(at: 777 * s) == a.value(at: 777 * s))
    // Large rates: the normal approximation keeps the mean.
    let big = LoadSeries(.poisson(.constant(5000), interval: s), seed: 9)
    let mean = (0..<5000).map { big.value(at: Int64($0) * s) }.reduce(0, +) / 5000
    #expect(abs(mean - 5000) < 5)
  }

  @Test func mmppSpendsTimeInProportionToMeanDurations() {
    let shape = LoadShape.mmpp(states: [(10, 60 * s), (200, 20 * s)])
    let series = LoadSeries(shape, seed: 5)
    var high = 0
    let n = 200_000
    for k in 0..<n where series.value(at: Int64(k) * s) == 200 { high += 1 }
    // Two states alternate: the share of time in the bursty one is 20 / (60 + 20).
    #expect(abs(Double(high) / Double(n) - 0.25) < 0.03)
    // A query back in time replays the same chain.
    #expect(series.value(at: 1234 * s) == LoadSeries(shape, seed: 5).value(at: 1234 * s))
  }
}
