import Foundation

/// The VPA recommender's histogram bucketing (`util/histogram_options.go`): linear buckets, or
/// exponential ones — bucket 0 is [0, first), bucket n ≥ 1 starts at
/// first · (ratioⁿ − 1) / (ratio − 1), the last starts at or above `maxValue` and is unbounded.
public struct HistogramOptions: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case linear(bucketSize: Double)
    case exponential(firstBucketSize: Double, ratio: Double)
  }
  public let kind: Kind
  public let numBuckets: Int
  /// The weight below which a bucket counts as empty.
  public let epsilon: Double

  public static func linear(maxValue: Double, bucketSize: Double, epsilon: Double) -> Self {
    Self(
      kind: .linear(bucketSize: bucketSize),
      numBuckets: Int((maxValue / bucketSize).rounded(.up)) + 1,
      epsilon: epsilon)
  }

  public static func exponential(
    maxValue: Double, firstBucketSize: Double, ratio: Double, epsilon: Double
  ) -> Self {
    let n = Int((log(maxValue * (ratio - 1) / firstBucketSize + 1) / log(ratio)).rounded(.up)) + 1
    return Self(
      kind: .exponential(firstBucketSize: firstBucketSize, ratio: ratio), numBuckets: n,
      epsilon: epsilon)
  }

  /// CPU: 0.01 core first bucket, 5 % growth, up to 1000 cores (176 buckets); epsilon 1e-4.
  public static let cpu = exponential(
    maxValue: 1000, firstBucketSize: 0.01, ratio: 1.05, epsilon: 0.001 * 0.1)
  /// Memory: 10 MB first bucket, 5 % growth, up to 1 TB (176 buckets); epsilon 1e-4.
  public static let memory = exponential(
    maxValue: 1e12, firstBucketSize: 1e7, ratio: 1.05, epsilon: 0.001 * 0.1)

  public func findBucket(_ value: Double) -> Int {
    switch kind {
    case .linear(let size):
      let b = value / size
      if !(b >= 0) { return 0 }
      return b >= Double(numBuckets) ? numBuckets - 1 : Int(b)
    case .exponential(let first, let ratio):
      if !(value >= first) { return 0 }
      let b = log(value * (ratio - 1) / first + 1) / log(ratio)
      return b >= Double(numBuckets) ? numBuckets - 1 : Int(b)
    }
  }

  public func bucketStart(_ bucket: Int) -> Double {
    switch kind {
    case .linear(let size): return Double(bucket) * size
    case .exponential(let first, let ratio):
      return bucket == 0 ? 0 : first * (pow(ratio, Double(bucket)) - 1) / (ratio - 1)
    }
  }
}

/// `util/histogram.go`: bucket weights, the first and last non-empty buckets, percentiles as
/// the upper edge of the bucket where the cumulative weight reaches the percentile (the start
/// of the last bucket, which has no upper edge).
public struct Histogram: Sendable, Equatable {
  public let options: HistogramOptions
  public private(set) var weights: [Double]
  public private(set) var totalWeight = 0.0
  public private(set) var minBucket: Int
  public private(set) var maxBucket = 0

  public init(_ options: HistogramOptions) {
    self.options = options
    weights = Array(repeating: 0, count: options.numBuckets)
    minBucket = options.numBuckets - 1
  }

  public mutating func add(_ value: Double, weight: Double) {
    precondition(weight >= 0, "sample weight must be non-negative")
    let b = options.findBucket(value)
    weights[b] += weight
    totalWeight += weight
    if b < minBucket && weights[b] >= options.epsilon { minBucket = b }
    if b > maxBucket && weights[b] >= options.epsilon { maxBucket = b }
  }

  public mutating func subtract(_ value: Double, weight w: Double) {
    precondition(w >= 0, "sample weight must be non-negative")
    let b = options.findBucket(value)
    var weight = w
    if weight > weights[b] - options.epsilon { weight = weights[b] }
    totalWeight -= weight
    weights[b] -= weight
    updateMinAndMax()
  }

  public var isEmpty: Bool { weights[minBucket] < options.epsilon }

  public func percentile(_ p: Double) -> Double {
    guard !isEmpty else { return 0 }
    var partial = 0.0
    let threshold = p * totalWeight
    var b = minBucket
    while b < maxBucket {
      partial += weights[b]
      if partial >= threshold { break }
      b += 1
    }
    return b < options.numBuckets - 1 ? options.bucketStart(b + 1) : options.bucketStart(b)
  }

  /// Multiplies every weight (percentiles unchanged); buckets below epsilon become empty.
  public mutating func scale(_ factor: Double) {
    precondition(factor >= 0, "scale factor must be non-negative")
    if minBucket <= maxBucket {
      for b in minBucket...maxBucket { weights[b] *= factor }
    }
    totalWeight *= factor
    updateMinAndMax()
  }

  public mutating func merge(_ other: Histogram) {
    precondition(options == other.options, "histograms of different options")
    if other.minBucket <= other.maxBucket {
      for b in other.minBucket...other.maxBucket { weights[b] += other.weights[b] }
    }
    totalWeight += other.totalWeight
    minBucket = Swift.min(minBucket, other.minBucket)
    maxBucket = Swift.max(maxBucket, other.maxBucket)
  }

  mutating func updateMinAndMax() {
    let last = options.numBuckets - 1
    while weights[minBucket] < options.epsilon && minBucket < last { minBucket += 1 }
    while weights[maxBucket] < options.epsilon && maxBucket > 0 { maxBucket -= 1 }
  }
}

/// `util/decaying_histogram.go`: a sample at time t weighs w · 2^((t − reference) / halfLife);
/// when that exponent would pass 100 the reference moves to t rounded to a multiple of the
/// half-life (counted from Go's zero time, so whole UTC days for 24 h) and every weight is
/// rescaled by the matching power of two.
public struct DecayingHistogram: Sendable, Equatable {
  public private(set) var histogram: Histogram
  public let halfLifeMillis: Int64
  /// Go's zero time until the first sample.
  public private(set) var reference = UnixMillis.goZero
  static let maxDecayExponent: Int64 = 100

  public init(_ options: HistogramOptions, halfLifeMillis: Int64) {
    histogram = Histogram(options)
    self.halfLifeMillis = halfLifeMillis
  }

  public mutating func add(_ value: Double, weight: Double, at t: UnixMillis) {
    histogram.add(value, weight: weight * decayFactor(t))
  }

  public mutating func subtract(_ value: Double, weight: Double, at t: UnixMillis) {
    histogram.subtract(value, weight: weight * decayFactor(t))
  }

  public func percentile(_ p: Double) -> Double { histogram.percentile(p) }
  public var isEmpty: Bool { histogram.isEmpty }

  mutating func decayFactor(_ t: UnixMillis) -> Double {
    let limit = reference.value &+ halfLifeMillis &* Self.maxDecayExponent
    if t.value > limit { shiftReference(t) }
    return exp2(Double(t.value - reference.value) / Double(halfLifeMillis))
  }

  /// Go's `Time.Round(halfLife)` from the zero time (halves away from zero), then the weights
  /// rescaled by 2^(round((old − new) / halfLife)).
  mutating func shiftReference(_ t: UnixMillis) {
    let sinceZero = t.value - UnixMillis.goZero.value
    let q = sinceZero / halfLifeMillis
    let r = sinceZero - q * halfLifeMillis
    let rounded = (r + r < halfLifeMillis ? q : q + 1) * halfLifeMillis + UnixMillis.goZero.value
    let exponent = (Double(reference.value - rounded) / Double(halfLifeMillis)).rounded()
    histogram.scale(exponent < -1074 ? 0 : pow(2, exponent))
    reference = UnixMillis(rounded)
  }
}
