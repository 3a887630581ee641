/// Metrics a workload reports and a threshold may test.
public enum Metric: String, CaseIterable, Sendable, Codable {
  case throughputAverage, throughputP50, throughputP90, throughputP99
  case latencyP50Micros, latencyP90Micros, latencyP99Micros, latencyMaxMicros
  case nodesEvaluatedPerPod, allocationsPerCycle, peakRSSBytes, instructionsPerPod
  case scheduled, unschedulable, nodesUsed, placementsChecksum

  /// Whether a larger value is better (throughput) or worse (latency, memory, allocations).
  public var higherIsBetter: Bool {
    switch self {
    case .throughputAverage, .throughputP50, .throughputP90, .throughputP99, .scheduled: return true
    default: return false
    }
  }
}

/// A measured value: a number, or for `placementsChecksum` a 64-bit checksum.
public enum MetricValue: Sendable, Equatable {
  case number(Double)
  case checksum(UInt64)
}

/// `metric op value`, e.g. `throughputAverage >= 50000`, `allocationsPerCycle == 0` or
/// `placementsChecksum == 0x9e3779b97f4a7c15`.
public struct Threshold: Sendable, Equatable, CustomStringConvertible {
  public enum Comparison: String, Sendable, CaseIterable {
    case atLeast = ">="
    case atMost = "<="
    case equal = "=="
    case above = ">"
    case below = "<"
  }
  public var metric: Metric
  public var comparison: Comparison
  public var value: MetricValue

  public init(metric: Metric, comparison: Comparison, value: MetricValue) {
    self.metric = metric
    self.comparison = comparison
    self.value = value
  }

  public struct ParseError: Error, CustomStringConvertible {
    public var description: String
  }

  public init(parsing text: String) throws(ParseError) {
    let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    guard parts.count == 3 else {
      throw ParseError(
        description:
          "threshold \"\(text)\" must read `metric op value`, e.g. `throughputAverage >= 1000`")
    }
    guard let metric = Metric(rawValue: parts[0]) else {
      throw ParseError(
        description:
          "unknown metric \"\(parts[0])\" (expected one of \(Metric.allCases.map(\.rawValue).joined(separator: ", ")))"
      )
    }
    guard let comparison = Comparison(rawValue: parts[1]) else {
      throw ParseError(
        description: "unknown comparison \"\(parts[1])\" (expected >=, <=, ==, > or <)")
    }
    if metric == .placementsChecksum {
      guard comparison == .equal, parts[2].hasPrefix("0x"),
        let sum = UInt64(parts[2].dropFirst(2), radix: 16)
      else {
        throw ParseError(
          description:
            "placementsChecksum thresholds must read `placementsChecksum == 0x<16 hex digits>`")
      }
      self.init(metric: metric, comparison: comparison, value: .checksum(sum))
      return
    }
    guard let number = Double(parts[2]), number.isFinite else {
      throw ParseError(description: "threshold value \"\(parts[2])\" is not a number")
    }
    self.init(metric: metric, comparison: comparison, value: .number(number))
  }

  /// Whether `measured` satisfies the threshold; nil measurements (not collected) never do.
  public func holds(for measured: MetricValue?) -> Bool {
    switch (value, measured) {
    case (.checksum(let a), .checksum(let b)?): return a == b
    case (.number(let limit), .number(let x)?):
      switch comparison {
      case .atLeast: return x >= limit
      case .atMost: return x <= limit
      case .equal: return x == limit
      case .above: return x > limit
      case .below: return x < limit
      }
    default: return false
    }
  }

  public var description: String {
    switch value {
    case .checksum(let c): return "\(metric.rawValue) \(comparison.rawValue) \(MetricValue.hex(c))"
    case .number(let v):
      let text = v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
      return "\(metric.rawValue) \(comparison.rawValue) \(text)"
    }
  }
}

extension MetricValue {
  public static func hex(_ v: UInt64) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
  }
}
