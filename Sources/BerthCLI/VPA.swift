import ArgumentParser
import BerthAutoscaling
import BerthCore
import BerthTraces
import Foundation

/// `berth vpa`: the vertical pod autoscaler's recommender, offline.
struct VPA: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vpa",
    abstract: "The vertical pod autoscaler's recommendations, from usage samples.",
    discussion: """
      Examples:
        berth vpa recommend --usage datasets/vpa/web/usage.csv \\
          --vpa datasets/vpa/web/vpa.yaml
      """,
    subcommands: [VPARecommend.self])
}

/// `berth vpa recommend`: what the VPA recommender would write to the VPA's status.
struct VPARecommend: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "recommend",
    abstract: "What the VPA recommender would recommend from these samples.",
    discussion: """
      Feeds usage samples (USAGE: time,namespace,pod,container,cpu_cores,memory_bytes — one sample per row, RFC 3339 times; an empty cell samples only the other resource) and OOM kills (OOM: time,namespace,pod,container,memory_bytes — the container's memory request when killed) to kubernetes/autoscaler's recommender model: decaying CPU histograms (0.1 per sample, half-life 24 h), daily memory peaks over 8 days, OOM bump-ups. Prints status.recommendation.containerRecommendations: per container target, lowerBound, upperBound and uncappedTarget, capped by the VPA's resourcePolicy (with --vpa; only the VPA's namespace's samples then count). Samples are taken in time order; --at (default: the last sample) is when the recommendation is made.

      Examples:
        berth vpa recommend --usage datasets/vpa/web/usage.csv \\
          --vpa datasets/vpa/web/vpa.yaml
        berth vpa recommend --usage usage.csv --oom ooms.csv --output json \\
          --recommendation-margin-fraction 0.1 --target-cpu-percentile 0.95
      """)

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case yaml, json }

  @Option(help: "Usage samples: time,namespace,pod,container,cpu_cores,memory_bytes.") var usage:
    String
  @Option(help: "OOM kills: time,namespace,pod,container,memory_bytes.") var oom: String?
  @Option(help: "A VerticalPodAutoscaler (autoscaling.k8s.io/v1): its namespace and policies.")
  var vpa: String?
  @Option(help: "The instant of the recommendation (RFC 3339); default: the last sample.")
  var at: String?
  @Option(help: "yaml or json.") var output: OutputFormat = .yaml
  @Option(
    name: .customLong("target-cpu-percentile"), help: ArgumentHelp("Default 0.9.", valueName: "p"))
  var targetCPU = 0.9
  @Option(
    name: .customLong("target-memory-percentile"),
    help: ArgumentHelp("Default 0.9.", valueName: "p"))
  var targetMemory = 0.9
  @Option(
    name: .customLong("recommendation-lower-bound-cpu-percentile"),
    help: ArgumentHelp("Default 0.5.", valueName: "p"))
  var lowerCPU = 0.5
  @Option(
    name: .customLong("recommendation-lower-bound-memory-percentile"),
    help: ArgumentHelp("Default 0.5.", valueName: "p"))
  var lowerMemory = 0.5
  @Option(
    name: .customLong("recommendation-upper-bound-cpu-percentile"),
    help: ArgumentHelp("Default 0.95.", valueName: "p"))
  var upperCPU = 0.95
  @Option(
    name: .customLong("recommendation-upper-bound-memory-percentile"),
    help: ArgumentHelp("Default 0.95.", valueName: "p"))
  var upperMemory = 0.95
  @Option(
    name: .customLong("recommendation-margin-fraction"),
    help: ArgumentHelp("Default 0.15.", valueName: "f"))
  var margin = 0.15
  @Option(
    name: .customLong("pod-recommendation-min-cpu-millicores"),
    help: ArgumentHelp("Default 25.", valueName: "m"))
  var minCPU = 25.0
  @Option(
    name: .customLong("pod-recommendation-min-memory-mb"),
    help: ArgumentHelp("Default 250.", valueName: "MiB"))
  var minMemory = 250.0
  @Option(
    name: .customLong("oom-bump-up-ratio"), help: ArgumentHelp("Default 1.2.", valueName: "r"))
  var oomRatio = 1.2
  @Option(
    name: .customLong("oom-min-bump-up-bytes"),
    help: ArgumentHelp("Default 104857600.", valueName: "bytes"))
  var oomMinBytes = 104_857_600.0
  @Option(
    name: .customLong("cpu-histogram-decay-half-life"),
    help: ArgumentHelp("Default 24h0m0s.", valueName: "duration"))
  var cpuHalfLife = "24h0m0s"
  @Option(
    name: .customLong("memory-histogram-decay-half-life"),
    help: ArgumentHelp("Default 24h0m0s.", valueName: "duration"))
  var memoryHalfLife = "24h0m0s"
  @Option(
    name: .customLong("memory-aggregation-interval"),
    help: ArgumentHelp("Default 24h0m0s.", valueName: "duration"))
  var aggregationInterval = "24h0m0s"
  @Option(
    name: .customLong("memory-aggregation-interval-count"),
    help: ArgumentHelp("Default 8.", valueName: "n"))
  var aggregationCount: Int64 = 8

  func run() throws { print(try report(), terminator: "") }

  func flags() throws -> VPARecommenderFlags {
    var f = VPARecommenderFlags()
    for (name, p) in [
      ("target-cpu-percentile", targetCPU), ("target-memory-percentile", targetMemory),
      ("recommendation-lower-bound-cpu-percentile", lowerCPU),
      ("recommendation-lower-bound-memory-percentile", lowerMemory),
      ("recommendation-upper-bound-cpu-percentile", upperCPU),
      ("recommendation-upper-bound-memory-percentile", upperMemory),
    ] where !(0...1).contains(p) {
      throw ValidationError("--\(name) must be between 0 and 1")
    }
    f.targetCPUPercentile = targetCPU
    f.targetMemoryPercentile = targetMemory
    f.lowerBoundCPUPercentile = lowerCPU
    f.lowerBoundMemoryPercentile = lowerMemory
    f.upperBoundCPUPercentile = upperCPU
    f.upperBoundMemoryPercentile = upperMemory
    guard margin >= 0, minCPU >= 0, minMemory >= 0, oomRatio >= 1, oomMinBytes >= 0 else {
      throw ValidationError(
        "margins, minimums and OOM bump-ups must not be negative (the ratio at least 1)")
    }
    f.marginFraction = margin
    f.podMinCPUMillicores = minCPU
    f.podMinMemoryMB = minMemory
    f.oomBumpUpRatio = oomRatio
    f.oomMinBumpUpBytes = oomMinBytes
    func millis(_ text: String, _ name: String) throws -> Int64 {
      let ms: Int64
      do { ms = try GoDuration.parse(text) / 1_000_000 } catch {
        throw ValidationError("--\(name): \(error.description)")
      }
      guard ms > 0 else { throw ValidationError("--\(name) must be positive") }
      return ms
    }
    f.cpuHalfLifeMillis = try millis(cpuHalfLife, "cpu-histogram-decay-half-life")
    f.memoryHalfLifeMillis = try millis(memoryHalfLife, "memory-histogram-decay-half-life")
    f.memoryAggregationIntervalMillis = try millis(
      aggregationInterval, "memory-aggregation-interval")
    guard aggregationCount > 0 else {
      throw ValidationError("--memory-aggregation-interval-count must be positive")
    }
    f.memoryAggregationIntervalCount = aggregationCount
    return f
  }

  func report() throws -> String {
    let flags = try flags()
    let spec: VPASpec?
    var rows: [VPAInputs.UsageRow]
    var ooms: [VPAInputs.OOMRow] = []
    do {
      spec = try vpa.map { p in try VPAInputs.vpa(text: try InputFile.text(p), file: p) }
      rows = try VPAInputs.usage(try InputFile.text(usage), file: usage)
      if let oom { ooms = try VPAInputs.oom(try InputFile.text(oom), file: oom) }
    } catch let e as InputError { throw CommandFailure(e.description) }
    if let ns = spec?.namespace {
      rows = rows.filter { $0.namespace == ns }
      ooms = ooms.filter { $0.namespace == ns }
    }
    // Time order (stable: rows of one instant in file order), OOMs after the usage of their
    // instant.
    var events:
      [(time: UnixMillis, order: Int, usage: VPAInputs.UsageRow?, oom: VPAInputs.OOMRow?)] = []
    for (k, r) in rows.enumerated() { events.append((r.time, k, r, nil)) }
    for (k, o) in ooms.enumerated() { events.append((o.time, rows.count + k, nil, o)) }
    events.sort { ($0.time, $0.order) < ($1.time, $1.order) }
    var model = VPAModel(flags: flags)
    for e in events {
      if let r = e.usage {
        model.addUsage(
          pod: r.namespace + "/" + r.pod, container: r.container, at: r.time, cpuCores: r.cpuCores,
          memoryBytes: r.memoryBytes)
      } else if let o = e.oom {
        model.addOOM(
          pod: o.namespace + "/" + o.pod, container: o.container, at: o.time,
          requestBytes: o.memoryBytes)
      }
    }
    let now: UnixMillis
    if let at {
      guard let ms = RFC3339.parseMillis(at) else {
        throw ValidationError("--at: expected an RFC 3339 time such as 2024-05-01T12:00:00Z")
      }
      now = UnixMillis(ms)
    } else {
      guard let last = events.last?.time else {
        throw CommandFailure(
          "\(usage): no samples\(spec.map { " in namespace \($0.namespace)" } ?? "")")
      }
      now = last
    }
    let recs = model.recommendations(vpa: spec, at: now)
    return output == .json ? Self.json(recs) : Self.yaml(recs, discarded: model.discardedOOMs)
  }

  static func quantities(_ r: VPAResources, _ controlled: Set<String>) -> [(String, String)] {
    var out: [(String, String)] = []
    if controlled.contains("cpu") { out.append(("cpu", MilliQuantity.format(r.cpuMilli))) }
    if controlled.contains("memory") {
      out.append(
        (
          "memory",
          MilliQuantity.format(
            r.memoryBytes.multipliedReportingOverflow(by: 1000).overflow
              ? Int64.max / 1000 * 1000 : r.memoryBytes * 1000)
        ))
    }
    return out
  }

  static func yaml(_ recs: [VPAContainerRecommendation], discarded: Int) -> String {
    var o = "# status.recommendation of the VerticalPodAutoscaler\n"
    if discarded > 0 {
      o += "# \(discarded) OOM event(s) discarded: too old for their container's memory window\n"
    }
    o += recs.isEmpty ? "containerRecommendations: []\n" : "containerRecommendations:\n"
    for r in recs {
      o += "- containerName: \(r.containerName)\n"
      for (key, v) in [
        ("lowerBound", r.lowerBound), ("target", r.target), ("uncappedTarget", r.uncappedTarget),
        ("upperBound", r.upperBound),
      ] {
        let q = quantities(v, r.controlled).map { "\($0.0): \"\($0.1)\"" }.joined(separator: ", ")
        o += "  \(key): {\(q)}\n"
      }
    }
    return o
  }

  static func json(_ recs: [VPAContainerRecommendation]) -> String {
    let list: [JSON] = recs.map { r in
      .object(
        [("containerName", .string(r.containerName))]
          + [
            ("target", r.target), ("lowerBound", r.lowerBound), ("upperBound", r.upperBound),
            ("uncappedTarget", r.uncappedTarget),
          ].map { key, v in
            (key, JSON.object(quantities(v, r.controlled).map { ($0.0, JSON.string($0.1)) }))
          })
    }
    return JSON.object([("containerRecommendations", .array(list))]).rendered() + "\n"
  }
}
