import BerthTraces
import Foundation

/// One workload's measurements (JSON schema in docs/suites.md).
public struct WorkloadResult: Codable, Sendable {
  public struct Throughput: Codable, Sendable {
    public var average, p50, p90, p99: Double
    /// How many throughput windows the percentiles were taken over (0: all equal the average).
    public var windows: Int
  }
  public struct Latency: Codable, Sendable {
    public var p50, p90, p99, max: Double
  }
  public struct Spread: Codable, Sendable {
    public var mean: Double
    public var stddev: Double
    init(_ xs: [Double]) {
      guard !xs.isEmpty else {
        mean = 0
        stddev = 0
        return
      }
      let m = xs.reduce(0, +) / Double(xs.count)
      mean = m
      stddev = (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count)).squareRoot()
    }
  }
  public struct Outcome: Codable, Sendable {
    public var nodes: Int
    public var pods: Int
    /// Of the measured pods.
    public var scheduled: Int
    public var unschedulable: Int
    public var nodesUsed: Int
    public var cpuUtilization: Spread
    public var memoryUtilization: Spread
  }
  public struct Verdict: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
      case pass, fail
      /// The metric was not collected (allocations without the counter preloaded).
      case notMeasured = "not measured"
    }
    public var expression: String
    public var status: Status
    public var measured: String?
  }

  public var suite: String
  public var testCase: String
  public var workload: String
  public var labels: [String]
  public var params: [String: String]
  public var measuredPods: Int
  public var throughput: Throughput
  public var latency: Latency
  public var nodesEvaluatedPerPod: Double
  /// nil when no allocation counter was loaded.
  public var allocationsPerCycle: Double?
  public var peakRSSBytes: Int
  public var placementsChecksum: String
  public var outcome: Outcome
  public var thresholds: [Verdict]
  public var measuredSeconds: Double
  public var wallSeconds: Double
  /// One sample per round (absent in reports written before rounds existed).
  public var rounds: [Round]?
  /// Instructions executed per measured pod, counted by callgrind (`--instructions`): the same
  /// for every run of one build whatever the machine's speed, so a gate judged on it does not
  /// raise false alarms on a noisy machine. Nil when not counted.
  public var instructionsPerPod: Double?

  /// One round: the workload run `repeats` times (each a fresh cluster, same seed) until the
  /// measured time reached the minimum sample length, so short workloads still give samples a
  /// timer can trust.
  public struct Round: Codable, Sendable {
    /// Pods per second over the round's measured time.
    public var throughput: Double
    public var latencyP50Micros: Double
    public var latencyP99Micros: Double
    public var measuredSeconds: Double
    public var repeats: Int
    /// The median time of the fixed reference job (`berth_reference_probe`) timed before each of
    /// the round's runs and after the last: how fast the machine was during the round (nil in
    /// older reports). Comparisons scale timed metrics by it, so a machine that slows down or
    /// speeds up between two reports is not taken for a change of Berth.
    public var referenceProbeNanos: Double?
    enum CodingKeys: String, CodingKey {
      case throughput = "throughput_pods_per_s"
      case latencyP50Micros = "latency_p50_us"
      case latencyP99Micros = "latency_p99_us"
      case measuredSeconds = "measured_seconds"
      case repeats
      case referenceProbeNanos = "reference_probe_ns"
    }
  }

  enum CodingKeys: String, CodingKey {
    case suite
    case testCase = "test_case"
    case workload, labels, params
    case measuredPods = "measured_pods"
    case throughput = "throughput_pods_per_s"
    case latency = "latency_us"
    case nodesEvaluatedPerPod = "nodes_evaluated_per_pod"
    case allocationsPerCycle = "allocations_per_cycle"
    case peakRSSBytes = "peak_rss_bytes"
    case placementsChecksum = "placements_checksum"
    case outcome, thresholds
    case measuredSeconds = "measured_seconds"
    case wallSeconds = "wall_seconds"
    case rounds
    case instructionsPerPod = "instructions_per_pod"
  }

  public var id: String { Self.id(suite: suite, testCase: testCase, workload: workload) }
  /// `suite/testCase/workload`: how reports, filters and instruction dumps name a workload.
  public static func id(suite: String, testCase: String, workload: String) -> String {
    "\(suite)/\(testCase)/\(workload)"
  }
  /// No threshold failed (unmeasured ones do not count as failures here).
  public var passed: Bool { !thresholds.contains { $0.status == .fail } }
  public var unmeasured: Int { thresholds.filter { $0.status == .notMeasured }.count }

  /// Whether every round carries the reference probe's time (reports before the probe do not).
  public var hasReferenceProbe: Bool {
    rounds.map { !$0.isEmpty && $0.allSatisfy { $0.referenceProbeNanos ?? 0 > 0 } } ?? false
  }

  /// The median over rounds of throughput × the round's reference-probe time in milliseconds:
  /// throughput on a common scale across moments when the machine ran at different speeds
  /// (nil without probe times).
  public var speedAdjustedThroughput: Double? {
    guard hasReferenceProbe, let rounds else { return nil }
    let xs = rounds.map { $0.throughput * $0.referenceProbeNanos! / 1e6 }.sorted()
    return xs[xs.count / 2]
  }

  /// Judges `thresholds` on this result's figures, replacing the verdicts.
  public mutating func judge(_ thresholds: [Threshold]) {
    self.thresholds = thresholds.map { t in
      guard let measured = value(of: t.metric) else {
        return .init(expression: t.description, status: .notMeasured, measured: nil)
      }
      return .init(
        expression: t.description, status: t.holds(for: measured) ? .pass : .fail,
        measured: WorkloadResult.text(measured))
    }
  }

  public func value(of metric: Metric) -> MetricValue? {
    switch metric {
    case .throughputAverage: return .number(throughput.average)
    case .throughputP50: return .number(throughput.p50)
    case .throughputP90: return .number(throughput.p90)
    case .throughputP99: return .number(throughput.p99)
    case .latencyP50Micros: return .number(latency.p50)
    case .latencyP90Micros: return .number(latency.p90)
    case .latencyP99Micros: return .number(latency.p99)
    case .latencyMaxMicros: return .number(latency.max)
    case .nodesEvaluatedPerPod: return .number(nodesEvaluatedPerPod)
    case .allocationsPerCycle: return allocationsPerCycle.map { .number($0) }
    case .instructionsPerPod: return instructionsPerPod.map { .number($0) }
    case .peakRSSBytes: return .number(Double(peakRSSBytes))
    case .scheduled: return .number(Double(outcome.scheduled))
    case .unschedulable: return .number(Double(outcome.unschedulable))
    case .nodesUsed: return .number(Double(outcome.nodesUsed))
    case .placementsChecksum:
      return UInt64(placementsChecksum.dropFirst(2), radix: 16).map { .checksum($0) }
    }
  }

  static func text(_ v: MetricValue) -> String {
    switch v {
    case .checksum(let c): return MetricValue.hex(c)
    case .number(let x):
      return x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(format: "%.3f", x)
    }
  }
}

/// A benchmark report: the environment and every workload's result.
public struct BenchReport: Codable, Sendable {
  public struct SuiteInfo: Codable, Sendable {
    public var name: String
    public var file: String
    public var checksum: String
    public init(name: String, file: String, checksum: String) {
      self.name = name
      self.file = file
      self.checksum = checksum
    }
  }
  public struct Environment: Codable, Sendable {
    public var commit: String
    public var swiftVersion: String
    public var cpuModel: String
    /// The vector extensions the CPU reports (`avx2`, `avx512f`, `neon`, …): the scheduling
    /// kernels run several times faster with AVX-512 than with AVX2 alone. Nil in older reports.
    public var vectorExtensions: [String]?
    public var cores: Int
    public var seed: UInt64
    public var allocationCounter: String
    public var suites: [SuiteInfo]

    public init(
      commit: String, swiftVersion: String, cpuModel: String, vectorExtensions: [String]? = nil,
      cores: Int, seed: UInt64, allocationCounter: String, suites: [SuiteInfo]
    ) {
      self.commit = commit
      self.swiftVersion = swiftVersion
      self.cpuModel = cpuModel
      self.vectorExtensions = vectorExtensions
      self.cores = cores
      self.seed = seed
      self.allocationCounter = allocationCounter
      self.suites = suites
    }

    enum CodingKeys: String, CodingKey {
      case commit
      case swiftVersion = "swift_version"
      case cpuModel = "cpu_model"
      case vectorExtensions = "vector_extensions"
      case cores, seed
      case allocationCounter = "allocation_counter"
      case suites
    }
  }

  public static let schema = "berth.bench.report/v1"
  public var schema = BenchReport.schema
  public var environment: Environment
  public var workloads: [WorkloadResult]

  public var passed: Bool { workloads.allSatisfy(\.passed) }

  public init(environment: Environment, workloads: [WorkloadResult]) {
    self.environment = environment
    self.workloads = workloads
  }

  public func json() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // Encoding these plain value types cannot fail.
    let data = (try? encoder.encode(self)) ?? Data()
    return String(decoding: data, as: UTF8.self) + "\n"
  }

  public static func decode(path: String) throws(InputError) -> BenchReport {
    try decode(InputFile.data(path), file: path)
  }

  /// A report's JSON bytes, `file` naming them in errors.
  public static func decode(_ data: Data, file path: String) throws(InputError) -> BenchReport {
    do {
      let report = try JSONDecoder().decode(BenchReport.self, from: data)
      guard report.schema == schema else {
        throw InputError(file: path, field: "schema", "expected \(schema), found \(report.schema)")
      }
      return report
    } catch let e as InputError {
      throw e
    } catch let DecodingError.keyNotFound(key, ctx) {
      throw InputError(
        file: path, field: (ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."),
        "missing")
    } catch let DecodingError.typeMismatch(_, ctx) {
      throw InputError(
        file: path, field: ctx.codingPath.map(\.stringValue).joined(separator: "."), "wrong type")
    } catch {
      throw InputError(file: path, "not a Berth benchmark report (\(error))")
    }
  }

  static let csvColumns = [
    "suite", "test_case", "workload", "measured_pods", "throughput_avg", "throughput_p50",
    "throughput_p90", "throughput_p99",
    "latency_p50_us", "latency_p90_us", "latency_p99_us", "latency_max_us",
    "nodes_evaluated_per_pod",
    "allocations_per_cycle", "peak_rss_bytes", "scheduled", "unschedulable", "nodes_used",
    "placements_checksum", "thresholds", "instructions_per_pod",
  ]

  public func csv() -> String {
    var out = Self.csvColumns.joined(separator: ",") + "\n"
    for w in workloads {
      let fields: [String] = [
        w.suite, w.testCase, w.workload, String(w.measuredPods), f(w.throughput.average),
        f(w.throughput.p50), f(w.throughput.p90),
        f(w.throughput.p99), f(w.latency.p50), f(w.latency.p90), f(w.latency.p99), f(w.latency.max),
        f(w.nodesEvaluatedPerPod),
        w.allocationsPerCycle.map(f) ?? "", String(w.peakRSSBytes), String(w.outcome.scheduled),
        String(w.outcome.unschedulable),
        String(w.outcome.nodesUsed), w.placementsChecksum, w.passed ? "pass" : "fail",
        w.instructionsPerPod.map(f) ?? "",
      ]
      out += fields.map(ClusterCSV.csvField).joined(separator: ",") + "\n"
    }
    return out
  }

  public func markdown() -> String {
    var out =
      "| workload | pods | pods/s avg | p50 | p99 | latency p50 µs | p99 µs | max µs | nodes/pod | allocs/cycle | peak RSS MB | scheduled | checksum | thresholds |\n"
    out += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    for w in workloads {
      out +=
        "| \(w.id) | \(w.measuredPods) | \(f0(w.throughput.average)) | \(f0(w.throughput.p50)) | \(f0(w.throughput.p99)) | "
        + "\(f(w.latency.p50)) | \(f(w.latency.p99)) | \(f(w.latency.max)) | \(f(w.nodesEvaluatedPerPod)) | "
        + "\(w.allocationsPerCycle.map(f) ?? "—") | \(f(Double(w.peakRSSBytes) / 1_048_576)) | \(w.outcome.scheduled) | "
        + "`\(w.placementsChecksum)` | \(w.passed ? "pass" : "**fail**") |\n"
    }
    return out
  }

  public func table() -> String {
    let header = [
      "workload", "pods", "pods/s", "p50 µs", "p99 µs", "nodes/pod", "allocs", "sched", "verdict",
    ]
    var rows = [header]
    for w in workloads {
      rows.append([
        w.id, String(w.measuredPods), f0(w.throughput.average), f(w.latency.p50), f(w.latency.p99),
        f(w.nodesEvaluatedPerPod),
        w.allocationsPerCycle.map(f) ?? "-", "\(w.outcome.scheduled)/\(w.measuredPods)",
        w.passed ? "pass" : "FAIL",
      ])
    }
    let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
    var out = ""
    for (i, r) in rows.enumerated() {
      out +=
        r.enumerated().map { c, s in
          c == 0
            ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            : String(repeating: " ", count: widths[c] - s.count) + s
        }
        .joined(separator: "  ") + "\n"
      if i == 0 {
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
      }
    }
    for w in workloads {
      for t in w.thresholds where t.status == .fail {
        out += "FAIL \(w.id): \(t.expression) (measured \(t.measured ?? "-"))\n"
      }
      for t in w.thresholds where t.status == .notMeasured {
        out += "NOT MEASURED \(w.id): \(t.expression)\n"
      }
    }
    return out
  }
}

private func f(_ x: Double) -> String { String(format: "%.3f", x) }
private func f0(_ x: Double) -> String { String(format: "%.0f", x) }
