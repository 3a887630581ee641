import BerthCore
import Foundation

/// A load over virtual time — requests per second, or any named metric such as a queue's
/// length — as an expression of generators: constant, steps, ramps, sine and diurnal waves,
/// square waves, spikes, Poisson noise, Markov-modulated bursts (MMPP), replayed series, and
/// sums, products, shifts and scalings of these.
///
/// A shape is pure data; `LoadSeries` evaluates it. Randomness (noise, MMPP) comes from the
/// series' own seeded stream, keyed by the node and the time bucket, so a value never depends
/// on which other values were asked for, or in what order.
public indirect enum LoadShape: Sendable, Equatable {
  case constant(Double)
  /// Piecewise constant: the value of the last step at or before t (before the first: 0).
  case steps([(at: Int64, value: Double)])
  /// `from` until `start`, linear to `to` at `end`, then `to`.
  case ramp(from: Double, to: Double, start: Int64, end: Int64)
  /// `mean + amplitude · sin(2π (t − phase) / period)`.
  case sine(mean: Double, amplitude: Double, period: Int64, phase: Int64)
  /// A day's shape: `mean + amplitude · cos(2π (t − peakAt) / period)` (period 24 h), so the
  /// peak is at `peakAt` into each day of the scenario's clock and the trough half a day later.
  case diurnal(mean: Double, amplitude: Double, peakAt: Int64, period: Int64)
  /// `high` for the first `duty` fraction of each period, then `low`.
  case square(low: Double, high: Double, period: Int64, duty: Double)
  /// Added heights while each spike lasts (`[at, at + duration)`).
  case spikes([(at: Int64, height: Double, duration: Int64)])
  /// The inner rate made into counts: in each `interval` the value is a Poisson draw of
  /// `rate × interval`, divided by the interval (normal approximation above 30 expected).
  case poisson(LoadShape, interval: Int64)
  /// A Markov-modulated rate: the chain stays in a state an exponential time of its mean
  /// duration, then moves to another state uniformly at random; the value is the state's rate.
  case mmpp(states: [(rate: Double, meanDuration: Int64)])
  /// A replayed series (`time,value`): linear between points or held (`step`), held at the
  /// ends; `loop` repeats it with the period `points.last.t + (spacing of the last two)`.
  case series(points: [(t: Int64, value: Double)], linear: Bool, loop: Bool)
  case sum([LoadShape])
  case product([LoadShape])
  /// `shape(t − by)`.
  case shift(LoadShape, by: Int64)
  /// `value · shape(t / time)`: time > 1 stretches the shape.
  case scale(LoadShape, time: Double, value: Double)
  /// Never below `min` nor above `max`.
  case clamp(LoadShape, min: Double, max: Double)

  public static func == (a: LoadShape, b: LoadShape) -> Bool {
    String(describing: a) == String(describing: b)
  }
}

/// A load shape being evaluated: `value(at:)` at virtual times (nanoseconds since the start).
public final class LoadSeries {
  public let shape: LoadShape
  let seed: UInt64
  /// Per MMPP node (by its position in a depth-first walk): the state and the time it ends,
  /// for evaluation forward in time; a query before them restarts the chain.
  private var chains: [Int: (start: Int64, until: Int64, state: Int, draws: SplitMix64)] = [:]

  public init(_ shape: LoadShape, seed: UInt64) {
    self.shape = shape
    self.seed = seed
  }

  /// The load at `t`, never negative.
  public func value(at t: Int64) -> Double {
    var node = 0
    return max(0, eval(shape, t, &node))
  }

  private func eval(_ s: LoadShape, _ t: Int64, _ node: inout Int) -> Double {
    let me = node
    node += 1
    switch s {
    case .constant(let v): return v
    case .steps(let list):
      var v = 0.0
      for step in list where step.at <= t { v = step.value }
      return v
    case .ramp(let from, let to, let start, let end):
      if t <= start { return from }
      if t >= end { return to }
      return from + (to - from) * Double(t - start) / Double(end - start)
    case .sine(let mean, let amplitude, let period, let phase):
      return mean + amplitude * sin(2 * Double.pi * Double(t - phase) / Double(period))
    case .diurnal(let mean, let amplitude, let peakAt, let period):
      return mean + amplitude * cos(2 * Double.pi * Double(t - peakAt) / Double(period))
    case .square(let low, let high, let period, let duty):
      let into = ((t % period) + period) % period
      return Double(into) < duty * Double(period) ? high : low
    case .spikes(let list):
      var v = 0.0
      for s in list where s.at <= t && t < s.at + s.duration { v += s.height }
      return v
    case .poisson(let inner, let interval):
      let bucket = t >= 0 ? t / interval : (t - interval + 1) / interval
      let rate = max(0, eval(inner, bucket * interval, &node))
      var rng = stream(me, UInt64(bitPattern: bucket))
      let seconds = Double(interval) / 1e9
      return Double(Self.poisson(rate * seconds, &rng)) / seconds
    case .mmpp(let states):
      return states[state(me, t, states)].rate
    case .series(let points, let linear, let loop):
      return Self.interpolate(points, linear: linear, loop: loop, t)
    case .sum(let parts):
      var v = 0.0
      for p in parts { v += eval(p, t, &node) }
      return v
    case .product(let parts):
      var v = 1.0
      for p in parts { v *= eval(p, t, &node) }
      return v
    case .shift(let inner, let by): return eval(inner, t - by, &node)
    case .scale(let inner, let time, let value):
      return value * eval(inner, Int64((Double(t) / time).rounded(.down)), &node)
    case .clamp(let inner, let lo, let hi): return min(hi, max(lo, eval(inner, t, &node)))
    }
  }

  private func stream(_ node: Int, _ key: UInt64) -> SplitMix64 {
    var mix = SplitMix64(
      seed: seed ^ (UInt64(node) &* 0x9E37_79B9_7F4A_7C15) ^ (key &* 0xBF58_476D_1CE4_E5B9))
    return SplitMix64(seed: mix.next())
  }

  private func state(_ node: Int, _ t: Int64, _ states: [(rate: Double, meanDuration: Int64)])
    -> Int
  {
    var c = chains[node] ?? (start: 0, until: 0, state: 0, draws: stream(node, 0))
    if t < c.start { c = (start: 0, until: 0, state: 0, draws: stream(node, 0)) }
    if c.until == 0 {
      c.state = c.draws.nextInt(below: states.count)
      c.until = Self.exponential(states[c.state].meanDuration, &c.draws)
    }
    var steps = 0
    while t >= c.until && steps < 10_000_000 {
      c.start = c.until
      if states.count > 1 {
        let next = c.draws.nextInt(below: states.count - 1)
        c.state = next >= c.state ? next + 1 : next
      }
      c.until = c.start + Self.exponential(states[c.state].meanDuration, &c.draws)
      steps += 1
    }
    chains[node] = c
    return c.state
  }

  static func exponential(_ mean: Int64, _ rng: inout SplitMix64) -> Int64 {
    let u = (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_992
    return max(1, Int64((-log(u) * Double(mean)).rounded()))
  }

  /// A Poisson draw of mean `lambda`: Knuth's product of uniforms up to 30, a rounded normal
  /// (Box–Muller) above.
  static func poisson(_ lambda: Double, _ rng: inout SplitMix64) -> Int64 {
    guard lambda > 0 else { return 0 }
    if lambda <= 30 {
      let limit = exp(-lambda)
      var p = 1.0
      var k: Int64 = 0
      repeat {
        k += 1
        p *= (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_992
      } while p > limit && k < 1000
      return k - 1
    }
    let u1 = (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_992
    let u2 = Double(rng.next() >> 11) / 9_007_199_254_740_992
    let z = sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
    return max(0, Int64((lambda + sqrt(lambda) * z).rounded()))
  }

  static func interpolate(
    _ points: [(t: Int64, value: Double)], linear: Bool, loop: Bool, _ t0: Int64
  ) -> Double {
    guard let first = points.first, let last = points.last else { return 0 }
    var t = t0
    if loop, points.count > 1 {
      // Overflow-safe: a period or an offset beyond Int64 leaves the time as it is.
      let spacing = last.t &- points[points.count - 2].t
      let (period, o1) = (last.t &- first.t).addingReportingOverflow(spacing)
      let (offset, o2) = t.subtractingReportingOverflow(first.t)
      if period > 0 && !o1 && !o2 {
        var m = offset % period
        if m < 0 { m += period }
        let (looped, o3) = first.t.addingReportingOverflow(m)
        if !o3 { t = looped }
      }
    }
    if t <= first.t { return first.value }
    if t >= last.t { return last.value }
    // The last point at or before t.
    var lo = 0
    var hi = points.count - 1
    while lo + 1 < hi {
      let mid = (lo + hi) / 2
      if points[mid].t <= t { lo = mid } else { hi = mid }
    }
    let a = points[lo]
    let b = points[hi]
    guard linear, b.t > a.t else { return a.value }
    return a.value + (b.value - a.value) * Double(t - a.t) / Double(b.t - a.t)
  }
}
