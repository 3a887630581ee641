import BerthAutoscaling
import BerthCore
import BerthTraces
import BerthWorkloads
import Foundation

/// A named load of a scenario (`spec.loads[]`): requests per second, or any metric a trace
/// gives (a queue's length), over virtual time.
public struct LoadSpec: Sendable {
  public var name: String
  public var shape: LoadShape
  /// `outages: [{at, duration}]`: intervals [at, at + duration) in which the load's metric
  /// source does not answer (Prometheus, a queue's API): HPA metrics and KEDA triggers reading
  /// it fail; the traffic itself goes on.
  public var outages: [(start: Int64, end: Int64)] = []

  /// Whether the load's metric source is down at `t` (ns).
  public func isOut(at t: Int64) -> Bool {
    outages.contains { $0.start <= t && t < $0.end }
  }
}

/// How the pods a selector matches use resources (`spec.usage[]`): a load shared among the
/// ready pods (or a Service's ready endpoints), turned into CPU and memory per pod.
///
/// CPU = base + perRequest × share (+ the start-up burst in the first `startup.duration` after
/// each container start), held at the container's CPU limit; memory = base + perRequest ×
/// share + leakPerHour × hours since the container started. A pod not Ready receives no load.
public struct UsageSpec: Sendable {
  public var selector: LabelSelector
  public var namespace: String?
  /// Index into the scenario's loads; -1: none (base usage only).
  public var load: Int = -1
  /// The Service whose ready endpoints share the load; nil: the ready pods this entry matches.
  public var service: String?
  public var cpuBaseMilli: Int64 = 0
  /// Millicores per request per second.
  public var cpuPerRequestMilli: Double = 0
  public var memoryBaseBytes: Int64 = 0
  public var memoryPerRequestBytes: Double = 0
  public var memoryLeakBytesPerHour: Int64 = 0
  public var startupCPUMilli: Int64 = 0
  public var startupDuration: VirtualTime = .zero
  /// The latency objective a served request is judged against.
  public var latencySLO: VirtualTime = .seconds(Int64(1))
  /// The clients' timeout: the p99 latency reported never exceeds it (a saturated queue's
  /// estimate would grow without bound).
  public var timeout: VirtualTime = .seconds(Int64(30))
  /// `trace`: each pod's CPU and memory replayed from a recorded usage trace instead of the
  /// `cpu`/`memory` model.
  public var trace: UsageTrace?
}

/// metrics-server's settings (`spec.metricsServer`).
public struct MetricsServerSpec: Sendable {
  /// `--metric-resolution`: how often kubelets are scraped (15 s).
  public var metricResolution: VirtualTime = .seconds(Int64(15))
}

/// A per-pod usage trace (`usage[].trace`): the CSV `berth vpa recommend --usage` reads
/// (`time,namespace,pod,container,cpu_cores,memory_bytes`). Each distinct pod of the trace, in
/// order of first appearance, is a series (its containers summed per instant; an empty cell
/// keeps the previous value); the entry's simulated pods take the series in turn, in the order
/// they are created. Time 0 of the trace (its first sample, × `timeScale`) is the scenario's time
/// 0; a pod uses a series' last sample at or before now (none before the first), and with
/// `loop` the series repeats every span (last time + the last step).
public final class UsageTrace: Sendable {
  public struct Series: Sendable {
    public let times: [Int64]
    public let cpuMilli: [Int64]
    public let memoryBytes: [Int64]
  }
  public let series: [Series]
  public let period: Int64
  public let loop: Bool

  public init(rows: [VPAInputs.UsageRow], timeScale: Double, loop: Bool, file: String)
    throws(InputError)
  {
    guard let origin = rows.map(\.time.value).min() else {
      throw InputError(file: file, "a usage trace needs at least one sample")
    }
    var order: [String] = []
    var byPod: [String: [(t: Int64, cpu: Double?, memory: Double?)]] = [:]
    for r in rows {
      let key = r.namespace + "/" + r.pod
      if byPod[key] == nil { order.append(key) }
      let ns = (Double(r.time.value) - Double(origin)) * 1_000_000 * timeScale
      guard ns <= LoadSeriesCSV.maxSpanNanoseconds else {
        throw InputError(
          file: file,
          "pod \(r.pod): a sample more than 10 years after the trace's first (× timeScale)")
      }
      let t = Int64(ns.rounded())
      byPod[key, default: []].append((t, r.cpuCores, r.memoryBytes))
    }
    var all: [Series] = []
    var last: Int64 = 0
    var step: Int64 = 0
    for key in order {
      // Containers at one instant are summed; an instant's missing cell keeps the last value.
      let samples = byPod[key]!.enumerated().sorted {
        ($0.element.t, $0.offset) < ($1.element.t, $1.offset)
      }
      var times: [Int64] = []
      var cpu: [Int64] = []
      var memory: [Int64] = []
      var lastCPU: Int64 = 0
      var lastMemory: Int64 = 0
      for (_, s) in samples {
        let c = s.cpu.map { Int64(($0 * 1000).rounded()) }
        let m = s.memory.map { Int64($0.rounded()) }
        if times.last == s.t {
          cpu[cpu.count - 1] += c ?? 0
          memory[memory.count - 1] += m ?? 0
        } else {
          times.append(s.t)
          cpu.append(c ?? lastCPU)
          memory.append(m ?? lastMemory)
        }
        lastCPU = cpu[cpu.count - 1]
        lastMemory = memory[memory.count - 1]
      }
      if let t = times.last, t >= last {
        last = t
        step = times.count > 1 ? t - times[times.count - 2] : max(step, 1)
      }
      all.append(Series(times: times, cpuMilli: cpu, memoryBytes: memory))
    }
    series = all
    period = max(last + max(step, 1), 1)
    self.loop = loop
  }

  /// Series `k`'s CPU (millicores) and memory (bytes) at `t` ns; nil before its first sample.
  public func sample(_ k: Int, at t: Int64) -> (cpuMilli: Int64, memoryBytes: Int64)? {
    let s = series[k % series.count]
    let at = loop && t >= 0 ? t % period : t
    // The last sample at or before `at`.
    var lo = 0
    var hi = s.times.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if s.times[mid] <= at { lo = mid + 1 } else { hi = mid }
    }
    guard lo > 0 else { return nil }
    return (s.cpuMilli[lo - 1], s.memoryBytes[lo - 1])
  }
}

extension Scenario {
  static func loads(_ list: YAMLValue, dir: String) throws(InputError) -> [LoadSpec] {
    var out: [LoadSpec] = []
    for l in try list.sequence() {
      try l.requireKeys(in: ["name", "shape", "outages"])
      guard let name = try l.child("name")?.string(), !name.isEmpty else {
        throw l.error("a load needs a name")
      }
      if out.contains(where: { $0.name == name }) { throw l.error("duplicate load \(name)") }
      guard let shape = l.child("shape") else { throw l.error("load \(name) needs a shape") }
      var load = LoadSpec(name: name, shape: try self.shape(shape, dir: dir, depth: 0))
      for o in try l.child("outages")?.sequence() ?? [] {
        try o.requireKeys(in: ["at", "duration"])
        guard let at = o.child("at"), let d = o.child("duration") else {
          throw o.error("an outage needs at and duration")
        }
        let start = try nanos(at)
        let length = try positive(d)
        guard start >= 0 else { throw at.error("expected a time at or after 0") }
        let (end, overflow) = start.addingReportingOverflow(length)
        load.outages.append((start, overflow ? Int64.max : end))
      }
      out.append(load)
    }
    return out
  }

  static func number(_ v: YAMLValue) throws(InputError) -> Double {
    guard let x = Double(try v.string()), x.isFinite else { throw v.error("expected a number") }
    return x
  }

  static func nanos(_ v: YAMLValue) throws(InputError) -> Int64 { try duration(v).nanoseconds }

  static func positive(_ v: YAMLValue) throws(InputError) -> Int64 {
    let d = try nanos(v)
    guard d > 0 else { throw v.error("must be positive") }
    return d
  }

  /// A load shape: a mapping with one key naming the generator (docs/autoscaling.md).
  static func shape(_ v: YAMLValue, dir: String, depth: Int) throws(InputError) -> LoadShape {
    guard depth < 32 else { throw v.error("load shapes nest at most 32 deep") }
    let entries = try v.mapping()
    guard entries.count == 1 else {
      throw v.error(
        "expected one of constant, steps, ramp, sine, diurnal, square, spikes, poisson, mmpp, csv, sum, product, shift, scale, clamp"
      )
    }
    let (key, b) = entries[0]
    func field(_ name: String) throws(InputError) -> YAMLValue {
      guard let f = b.child(name) else { throw b.error("\(key) needs \(name)") }
      return f
    }
    func inner() throws(InputError) -> LoadShape {
      try shape(try field("shape"), dir: dir, depth: depth + 1)
    }
    switch key {
    case "constant":
      return .constant(try number(b))
    case "steps":
      var steps: [(at: Int64, value: Double)] = []
      for s in try b.sequence() {
        try s.requireKeys(in: ["at", "value"])
        guard let at = s.child("at"), let value = s.child("value") else {
          throw s.error("a step needs at and value")
        }
        let t = try nanos(at)
        if let last = steps.last, t <= last.at { throw at.error("steps must be in time order") }
        steps.append((t, try number(value)))
      }
      return .steps(steps)
    case "step":
      try b.requireKeys(in: ["at", "before", "after"])
      return .steps([
        (Int64(0), try number(try field("before"))),
        (try nanos(try field("at")), try number(try field("after"))),
      ])
    case "ramp":
      try b.requireKeys(in: ["from", "to", "start", "end"])
      let start = try nanos(try field("start"))
      let end = try nanos(try field("end"))
      guard end > start else { throw b.error("a ramp's end must come after its start") }
      return .ramp(
        from: try number(try field("from")), to: try number(try field("to")), start: start, end: end
      )
    case "sine":
      try b.requireKeys(in: ["mean", "amplitude", "period", "phase"])
      return .sine(
        mean: try number(try field("mean")), amplitude: try number(try field("amplitude")),
        period: try positive(try field("period")), phase: try b.child("phase").map(nanos) ?? 0)
    case "diurnal":
      try b.requireKeys(in: ["mean", "amplitude", "peakAt", "period"])
      return .diurnal(
        mean: try number(try field("mean")), amplitude: try number(try field("amplitude")),
        peakAt: try b.child("peakAt").map(nanos) ?? 14 * 3_600_000_000_000,
        period: try b.child("period").map(positive) ?? 86_400_000_000_000)
    case "square":
      try b.requireKeys(in: ["low", "high", "period", "duty"])
      let duty = try b.child("duty").map(number) ?? 0.5
      guard (0...1).contains(duty) else { throw b.child("duty")!.error("expected 0…1") }
      return .square(
        low: try number(try field("low")), high: try number(try field("high")),
        period: try positive(try field("period")), duty: duty)
    case "spikes":
      var spikes: [(at: Int64, height: Double, duration: Int64)] = []
      for s in try b.sequence() {
        try s.requireKeys(in: ["at", "height", "duration"])
        guard let at = s.child("at"), let h = s.child("height"), let d = s.child("duration") else {
          throw s.error("a spike needs at, height and duration")
        }
        spikes.append((try nanos(at), try number(h), try positive(d)))
      }
      return .spikes(spikes)
    case "poisson":
      try b.requireKeys(in: ["shape", "interval"])
      return .poisson(try inner(), interval: try b.child("interval").map(positive) ?? 1_000_000_000)
    case "mmpp":
      try b.requireKeys(in: ["states"])
      var states: [(rate: Double, meanDuration: Int64)] = []
      for s in try field("states").sequence() {
        try s.requireKeys(in: ["rate", "meanDuration"])
        guard let r = s.child("rate"), let d = s.child("meanDuration") else {
          throw s.error("a state needs rate and meanDuration")
        }
        states.append((try number(r), try positive(d)))
      }
      guard !states.isEmpty, states.count <= 64 else { throw b.error("mmpp needs 1…64 states") }
      return .mmpp(states: states)
    case "csv":
      try b.requireKeys(in: ["file", "timeScale", "valueScale", "interpolation", "loop"])
      let name = try field("file").string()
      let path = name.hasPrefix("/") ? name : (dir as NSString).appendingPathComponent(name)
      let timeScale = try b.child("timeScale").map(number) ?? 1
      let valueScale = try b.child("valueScale").map(number) ?? 1
      guard timeScale > 0 else { throw b.child("timeScale")!.error("must be positive") }
      var linear = true
      if let i = b.child("interpolation") {
        switch try i.string() {
        case "linear": linear = true
        case "step": linear = false
        default: throw i.error("expected linear or step")
        }
      }
      let text = try InputFile.text(path)
      let points = try LoadSeriesCSV.parse(
        text, file: path, timeScale: timeScale, valueScale: valueScale)
      return .series(points: points, linear: linear, loop: try b.child("loop")?.bool() ?? false)
    case "sum", "product":
      var parts: [LoadShape] = []
      for p in try b.sequence() { parts.append(try shape(p, dir: dir, depth: depth + 1)) }
      guard !parts.isEmpty else { throw b.error("\(key) needs at least one shape") }
      return key == "sum" ? .sum(parts) : .product(parts)
    case "shift":
      try b.requireKeys(in: ["by", "shape"])
      return .shift(try inner(), by: try nanos(try field("by")))
    case "scale":
      try b.requireKeys(in: ["time", "value", "shape"])
      let time = try b.child("time").map(number) ?? 1
      guard time > 0 else { throw b.child("time")!.error("must be positive") }
      return .scale(try inner(), time: time, value: try b.child("value").map(number) ?? 1)
    case "clamp":
      try b.requireKeys(in: ["min", "max", "shape"])
      return .clamp(
        try inner(), min: try b.child("min").map(number) ?? 0,
        max: try b.child("max").map(number) ?? .infinity)
    default:
      throw b.error(
        "unknown load shape \(Escaped(key)) (constant, steps, step, ramp, sine, diurnal, square, spikes, poisson, mmpp, csv, sum, product, shift, scale, clamp)"
      )
    }
  }

  static func usage(_ list: YAMLValue, loads: [LoadSpec], dir: String) throws(InputError)
    -> [UsageSpec]
  {
    var out: [UsageSpec] = []
    for u in try list.sequence() {
      try u.requireKeys(in: [
        "selector", "namespace", "load", "service", "cpu", "memory", "startup", "latencySLO",
        "timeout", "trace",
      ])
      var spec = UsageSpec(
        selector: try u.child("selector").map { s throws(InputError) in
          try KubernetesYAML.labelSelector(s)
        } ?? LabelSelector())
      spec.namespace = try u.child("namespace")?.string()
      if let l = u.child("load") {
        let name = try l.string()
        guard let i = loads.firstIndex(where: { $0.name == name }) else {
          throw l.error("no load named \(Escaped(name)) in spec.loads")
        }
        spec.load = i
      }
      spec.service = try u.child("service")?.string()
      if let c = u.child("cpu") {
        try c.requireKeys(in: ["base", "perRequest"])
        spec.cpuBaseMilli = try c.child("base").map(milli) ?? 0
        spec.cpuPerRequestMilli = Double(try c.child("perRequest").map(milli) ?? 0)
      }
      if let m = u.child("memory") {
        try m.requireKeys(in: ["base", "perRequest", "leakPerHour"])
        spec.memoryBaseBytes = try m.child("base").map(bytes) ?? 0
        spec.memoryPerRequestBytes = Double(try m.child("perRequest").map(bytes) ?? 0)
        spec.memoryLeakBytesPerHour = try m.child("leakPerHour").map(bytes) ?? 0
      }
      if let s = u.child("startup") {
        try s.requireKeys(in: ["cpu", "duration"])
        spec.startupCPUMilli = try s.child("cpu").map(milli) ?? 0
        spec.startupDuration = try s.child("duration").map(duration) ?? .zero
      }
      if let s = u.child("latencySLO") { spec.latencySLO = try duration(s) }
      if let t = u.child("timeout") {
        spec.timeout = try duration(t)
        guard spec.timeout > .zero else { throw t.error("must be positive") }
      }
      if let t = u.child("trace") {
        try t.requireKeys(in: ["file", "timeScale", "loop"])
        if u.child("memory") != nil || u.child("startup") != nil
          || (u.child("cpu") != nil && spec.load < 0)
        {
          throw t.error(
            "a usage trace replaces the memory and startup models (cpu only states the cost per request, with a load)"
          )
        }
        guard let f = t.child("file") else { throw t.error("a usage trace needs a file") }
        let name = try f.string()
        let path = name.hasPrefix("/") ? name : (dir as NSString).appendingPathComponent(name)
        let timeScale = try t.child("timeScale").map(number) ?? 1
        guard timeScale > 0 else { throw t.child("timeScale")!.error("must be positive") }
        let rows = try VPAInputs.usage(try InputFile.text(path), file: path)
        spec.trace = try UsageTrace(
          rows: rows, timeScale: timeScale, loop: try t.child("loop")?.bool() ?? false, file: path)
      }
      out.append(spec)
    }
    return out
  }

  static func milli(_ v: YAMLValue) throws(InputError) -> Int64 {
    let q = try v.quantity()
    do throws(QuantityError) { return try q.milliValue() } catch {
      throw v.error(error.description)
    }
  }

  static func bytes(_ v: YAMLValue) throws(InputError) -> Int64 {
    let q = try v.quantity()
    do throws(QuantityError) { return try q.value() } catch { throw v.error(error.description) }
  }

  /// kube-controller-manager's horizontal-pod-autoscaler flags in `spec.settings`, by their
  /// upstream names.
  static let hpaFlagKeys = [
    "horizontal-pod-autoscaler-sync-period", "horizontal-pod-autoscaler-tolerance",
    "horizontal-pod-autoscaler-downscale-stabilization",
    "horizontal-pod-autoscaler-cpu-initialization-period",
    "horizontal-pod-autoscaler-initial-readiness-delay", "featureGates",
  ]

  /// The VPA recommender's flags by their upstream names (`spec.settings.vpaRecommender`).
  static func vpaRecommenderFlags(_ m: YAMLValue, into f: inout VPARecommenderFlags)
    throws(InputError)
  {
    let fractions: [(String, WritableKeyPath<VPARecommenderFlags, Double>)] = [
      ("target-cpu-percentile", \.targetCPUPercentile),
      ("target-memory-percentile", \.targetMemoryPercentile),
      ("recommendation-lower-bound-cpu-percentile", \.lowerBoundCPUPercentile),
      ("recommendation-lower-bound-memory-percentile", \.lowerBoundMemoryPercentile),
      ("recommendation-upper-bound-cpu-percentile", \.upperBoundCPUPercentile),
      ("recommendation-upper-bound-memory-percentile", \.upperBoundMemoryPercentile),
    ]
    let amounts: [(String, WritableKeyPath<VPARecommenderFlags, Double>, Double)] = [
      ("recommendation-margin-fraction", \.marginFraction, 0),
      ("pod-recommendation-min-cpu-millicores", \.podMinCPUMillicores, 0),
      ("pod-recommendation-min-memory-mb", \.podMinMemoryMB, 0),
      ("oom-bump-up-ratio", \.oomBumpUpRatio, 1),
      ("oom-min-bump-up-bytes", \.oomMinBumpUpBytes, 0),
    ]
    let durations: [(String, WritableKeyPath<VPARecommenderFlags, Int64>)] = [
      ("cpu-histogram-decay-half-life", \.cpuHalfLifeMillis),
      ("memory-histogram-decay-half-life", \.memoryHalfLifeMillis),
      ("memory-aggregation-interval", \.memoryAggregationIntervalMillis),
      ("recommender-interval", \.intervalMillis),
    ]
    try m.requireKeys(
      in: Set(
        fractions.map(\.0) + amounts.map(\.0) + durations.map(\.0)
          + ["memory-aggregation-interval-count"]))
    for (key, path) in fractions {
      guard let v = m.child(key) else { continue }
      let x = try number(v)
      guard (0...1).contains(x) else { throw v.error("expected a fraction between 0 and 1") }
      f[keyPath: path] = x
    }
    for (key, path, least) in amounts {
      guard let v = m.child(key) else { continue }
      let x = try number(v)
      guard x >= least else { throw v.error("must be at least \(least)") }
      f[keyPath: path] = x
    }
    for (key, path) in durations {
      guard let v = m.child(key) else { continue }
      f[keyPath: path] = try positive(v) / 1_000_000
      guard f[keyPath: path] > 0 else { throw v.error("must be at least 1ms") }
    }
    if let c = m.child("memory-aggregation-interval-count") {
      let n = try c.int64()
      guard (1...1000).contains(n) else { throw c.error("expected 1…1000") }
      f.memoryAggregationIntervalCount = n
    }
  }

  /// The VPA updater's flags by their upstream names (`spec.settings.vpaUpdater`).
  static func vpaUpdaterFlags(_ m: YAMLValue, into f: inout VPAUpdaterFlags) throws(InputError) {
    try m.requireKeys(in: [
      "min-replicas", "eviction-tolerance", "pod-update-threshold",
      "in-recommendation-bounds-eviction-lifetime-threshold", "evict-after-oom-threshold",
      "updater-interval",
    ])
    if let v = m.child("min-replicas") {
      let n = try v.int64()
      guard (1...Int64(Int32.max)).contains(n) else { throw v.error("must be at least 1") }
      f.minReplicas = Int32(n)
    }
    if let v = m.child("eviction-tolerance") {
      let x = try number(v)
      guard (0...1).contains(x) else { throw v.error("expected a fraction between 0 and 1") }
      f.evictionTolerance = x
    }
    if let v = m.child("pod-update-threshold") {
      let x = try number(v)
      guard x >= 0 else { throw v.error("must not be negative") }
      f.minChangePriority = x
    }
    for (key, path) in [
      (
        "in-recommendation-bounds-eviction-lifetime-threshold",
        \VPAUpdaterFlags.podLifetimeUpdateThresholdMillis
      ),
      ("evict-after-oom-threshold", \VPAUpdaterFlags.evictAfterOOMThresholdMillis),
      ("updater-interval", \VPAUpdaterFlags.intervalMillis),
    ] {
      guard let v = m.child(key) else { continue }
      f[keyPath: path] = try positive(v) / 1_000_000
      guard f[keyPath: path] > 0 else { throw v.error("must be at least 1ms") }
    }
  }

  static func hpaFlags(_ st: YAMLValue, into flags: inout HPAControllerFlags) throws(InputError) {
    func millis(_ key: String) throws(InputError) -> Int64? {
      try st.child(key).map { v throws(InputError) in try duration(v).nanoseconds / 1_000_000 }
    }
    if let v = try millis("horizontal-pod-autoscaler-sync-period") {
      guard v > 0 else {
        throw st.child("horizontal-pod-autoscaler-sync-period")!.error("must be positive")
      }
      flags.syncPeriodMillis = v
    }
    if let t = st.child("horizontal-pod-autoscaler-tolerance") {
      let x = try number(t)
      guard x >= 0 else { throw t.error("must be ≥ 0") }
      flags.tolerance = x
    }
    if let v = try millis("horizontal-pod-autoscaler-downscale-stabilization") {
      flags.downscaleStabilizationMillis = v
    }
    if let v = try millis("horizontal-pod-autoscaler-cpu-initialization-period") {
      flags.cpuInitializationPeriodMillis = v
    }
    if let v = try millis("horizontal-pod-autoscaler-initial-readiness-delay") {
      flags.initialReadinessDelayMillis = v
    }
    if let g = st.child("featureGates") {
      for (k, v) in try g.mapping() {
        switch k {
        case "HPAConfigurableTolerance": flags.configurableTolerance = try v.bool()
        case "HPAScaleToZero": flags.scaleToZero = try v.bool()
        default:
          throw v.error(
            "unknown feature gate \(Escaped(k)) (HPAConfigurableTolerance, HPAScaleToZero)")
        }
      }
    }
  }
}
