import BerthAutoscaling
import BerthBench
import BerthCore
import BerthExperiments
import BerthSimulation
import BerthTraces
import BerthWorkloads
import Foundation

/// One fuzz target per reader. Each feeds arbitrary bytes to the reader and checks its contract:
/// it returns a value or an `InputError` whose message is one non-empty line — never a trap, a
/// hang or an unbounded allocation (libFuzzer's -timeout, -rss_limit_mb and -malloc_limit_mb
/// catch those).
enum FuzzTarget: String, CaseIterable {
  case kubernetesYAML = "kubernetes-yaml"
  case clusterCSV = "cluster-csv"
  case openbCSV = "openb-csv"
  case quantity
  case labelSelector = "label-selector"
  case schedulerConfig = "scheduler-config"
  case suite
  case placements
  case benchReport = "bench-report"
  case duration
  case cronSchedule = "cron-schedule"
  case scenario
  case hpaExplain = "hpa-explain"
  case vpaRecommend = "vpa-recommend"
  case loadSeries = "load-series"
  case instanceCatalogue = "instance-catalogue"
  case sweep
  case compareRuns = "compare-runs"
  case autoscaleRuns = "autoscale-runs"
  case sweepManifest = "sweep-manifest"

  /// 2024-03-10 06:59:59 UTC: a minute before New York springs forward, where stepping is hardest.
  static let cronStart: Int64 = 1_710_053_999
  static let newYork = CronZone(identifier: "America/New_York")

  /// Runs the reader on `data`.
  func run(_ data: Data) {
    switch self {
    case .kubernetesYAML:
      check { () throws(InputError) in
        let manifest = try KubernetesYAML.parse(text(data), file: "fuzz.yaml")
        _ = try manifest.arrivals(file: "fuzz.yaml")
        _ = try manifest.makeCluster(file: "fuzz.yaml")
      }
    case .clusterCSV:
      // The first line break splits the input into nodes.csv and pods.csv.
      let (a, b) = halves(data)
      check { () throws(InputError) in
        let nodes = try ClusterCSV.parseNodes(text(a), file: "nodes.csv")
        _ = try ClusterCSV.parsePods(text(b), file: "pods.csv", nodes: nodes)
      }
    case .openbCSV:
      let (a, b) = halves(data)
      check { () throws(InputError) in _ = try OpenbCSV.parseNodes(text(a), file: "nodes.csv") }
      check { () throws(InputError) in _ = try OpenbCSV.parsePods(text(b), file: "pods.csv") }
    case .quantity:
      let s = String(decoding: data, as: UTF8.self)
      do throws(QuantityError) {
        let q = try Quantity(parsing: s)
        for name in [ResourceName.cpu, ResourceName.memory, "nvidia.com/gpu"] {
          _ = try? ResourceList.amount(of: name, q)
        }
        _ = try? q.adding(q)
        _ = q.description
      } catch {
        precondition(
          !error.description.isEmpty && !error.description.contains("\n") || s.contains("\n"),
          "quantity error: \(error)")
      }
    case .labelSelector:
      check { () throws(InputError) in
        _ = try KubernetesYAML.parseLabelSelector(text(data), file: "selector.yaml")
      }
    case .schedulerConfig:
      check { () throws(InputError) in
        _ = try SchedulerConfigurationYAML.parse(text(data), file: "config.yaml")
      }
    case .suite:
      // Relative schedulerConfig paths resolve in a directory that does not exist.
      check { () throws(InputError) in
        _ = try Suite.parse(text(data), file: "/nonexistent-berth-fuzz/suite.yaml")
      }
    case .placements:
      check { () throws(InputError) in
        _ = try PlacementsCSV.parse(text(data), file: "placements.csv")
      }
    case .benchReport:
      check { () throws(InputError) in _ = try BenchReport.decode(data, file: "report.json") }
    case .duration:
      let s = String(decoding: data, as: UTF8.self)
      do throws(GoDuration.ParseError) {
        _ = try GoDuration.parse(s)
      } catch {
        precondition(!error.description.isEmpty, "empty duration error")
        precondition(
          !error.description.contains("\n"), "duration error spans lines: \(error.description)")
      }
    case .scenario:
      check { () throws(InputError) in try Self.runScenario(text(data)) }
    case .hpaExplain:
      check { () throws(InputError) in try Self.runHPAExplain(data) }
    case .vpaRecommend:
      check { () throws(InputError) in try Self.runVPARecommend(data) }
    case .sweep:
      check { () throws(InputError) in
        let d = try SweepYAML.parse(text(data), file: "sweep.yaml")
        precondition(!d.axes.isEmpty && d.axes.allSatisfy { !$0.values.isEmpty }, "an empty axis")
      }
    case .compareRuns:
      check { () throws(InputError) in
        for r in try CompareRunRecord.parse(text(data), file: "runs.tsv") {
          precondition(r.result.1.allocation.count == Curves.bins.count, "a short curve")
        }
      }
    case .autoscaleRuns:
      check { () throws(InputError) in
        for r in try AutoscaleRunRecord.parse(text(data), file: "runs.tsv") {
          precondition(r.result.values.count == AutoscaleComparison.metrics.count, "short metrics")
        }
      }
    case .sweepManifest:
      check { () throws(InputError) in
        let m = try SweepManifest.parse(data, file: "manifest.json")
        precondition(m.runs.allSatisfy { $0 < m.totalRuns }, "a run past the grid")
      }
    case .instanceCatalogue:
      check { () throws(InputError) in
        for t in try InstanceCatalogueCSV.parse(text(data), file: "types.csv", spotPriceRatio: 0.35)
        {
          let a = t.allocatable
          precondition(a.cpuMillis >= 0 && a.memoryBytes >= 0, "negative allocatable")
        }
      }
    case .loadSeries:
      check { () throws(InputError) in
        let points = try LoadSeriesCSV.parse(text(data), file: "series.csv")
        let series = LoadSeries(.series(points: points, linear: true, loop: true), seed: 1)
        for t in [Int64(0), 1_000_000_000, points.last!.t, points.last!.t &+ 7] {
          precondition(series.value(at: t) >= 0, "a negative load")
        }
      }
    case .cronSchedule:
      // The first byte chooses the form (standard or with seconds) and the zone.
      let flags = data.first ?? 0
      let s = String(decoding: data.dropFirst(), as: UTF8.self)
      do throws(CronSchedule.ParseError) {
        let schedule = try CronSchedule.parse(s, withSeconds: flags & 1 != 0)
        let zone = flags & 2 != 0 ? Self.newYork ?? .utc : .utc
        var t = Self.cronStart
        for _ in 0..<3 {
          guard let next = schedule.next(after: t, in: zone) else { break }
          precondition(next > t, "a schedule stepped backwards: \(s)")
          t = next
        }
      } catch {
        precondition(!error.description.isEmpty, "empty schedule error")
        precondition(!error.description.contains("\n"), "schedule error spans lines")
      }
    }
  }

  /// A scenario small enough is also run for up to an hour of virtual time: whatever the reader
  /// accepts, the simulation must take without a trap.
  static func runScenario(_ text: String) throws(InputError) {
    let s = try Scenario.parse(text, file: "fuzz.yaml")
    var replicas = 0
    for w in s.workloads {
      switch w {
      case .deployment(let d): replicas += d.replicas
      case .replicaSet(let r): replicas += r.replicas
      case .job(let j): replicas += j.parallelism
      case .cronJob: replicas += 1
      case .daemonSet: replicas += 50
      case .statefulSet(let s): replicas += s.replicas
      }
    }
    // A Cluster Autoscaler group starts at its minimum size: those nodes count too.
    let groupNodes = s.clusterAutoscaler?.groups.reduce(0) { $0 + $1.spec.minSize } ?? 0
    guard replicas <= 200, s.manifest.nodes.count + groupNodes <= 50, s.manifest.pods.count <= 200
    else {
      return
    }
    let sim = try Simulation(scenario: s)
    sim.run(until: min(s.duration, .seconds(Int64(3600))))
  }

  /// `berth hpa explain`'s readers on four NUL-separated parts (HPA, pods, metrics, history);
  /// when all four read, one reconcile runs on them: whatever the readers accept, the
  /// controller's arithmetic must take without a trap.
  static func runHPAExplain(_ data: Data) throws(InputError) {
    let parts = data.split(separator: 0x00, maxSplits: 3, omittingEmptySubsequences: false)
    func part(_ i: Int) throws(InputError) -> String {
      try InputFile.text(i < parts.count ? Data(parts[i]) : Data(), file: "part\(i)")
    }
    let hpa = try HPAInputs.hpa(text: try part(0), file: "hpa.yaml", scaleToZero: true)
    let pods = try HPAInputs.pods(text: try part(1), file: "pods.yaml")
    var metrics = HPAInputs.Metrics()
    try HPAInputs.metrics(text: try part(2), file: "metrics.yaml", into: &metrics)
    let historyText = try part(3)
    var history =
      historyText.isEmpty
      ? HPAHistory() : try HPAInputs.history(text: historyText, file: "history.yaml")
    let source = FuzzMetrics(metrics: metrics)
    let current = hpa.currentReplicas ?? 1
    let r = HorizontalController().reconcile(
      hpa.spec, specReplicas: current, statusReplicas: current, pods: pods.map(\.pod),
      metrics: source, history: &history, conditions: hpa.conditions,
      now: metrics.newestTimestamp ?? UnixMillis(0))
    precondition(!r.rescaled || r.desiredReplicas != current, "a rescale to the same count")
  }

  /// `berth vpa recommend`'s readers on three NUL-separated parts (usage CSV, OOM CSV, VPA
  /// YAML); what they accept goes through the recommender model.
  static func runVPARecommend(_ data: Data) throws(InputError) {
    let parts = data.split(separator: 0x00, maxSplits: 2, omittingEmptySubsequences: false)
    func part(_ i: Int) throws(InputError) -> String {
      try InputFile.text(i < parts.count ? Data(parts[i]) : Data(), file: "part\(i)")
    }
    let usage = try VPAInputs.usage(try part(0), file: "usage.csv")
    let oomText = try part(1)
    let ooms = oomText.isEmpty ? [] : try VPAInputs.oom(oomText, file: "oom.csv")
    let vpaText = try part(2)
    let vpa = vpaText.isEmpty ? nil : try VPAInputs.vpa(text: vpaText, file: "vpa.yaml")
    var model = VPAModel()
    for r in usage.prefix(10_000) {
      model.addUsage(
        pod: r.pod, container: r.container, at: r.time, cpuCores: r.cpuCores,
        memoryBytes: r.memoryBytes)
    }
    for o in ooms.prefix(1000) {
      model.addOOM(pod: o.pod, container: o.container, at: o.time, requestBytes: o.memoryBytes)
    }
    let now = usage.last?.time ?? UnixMillis(0)
    for r in model.recommendations(vpa: vpa, at: now) {
      precondition(r.target.cpuMilli >= 0 && r.target.memoryBytes >= 0, "a negative target")
    }
  }

  func text(_ data: Data) throws(InputError) -> String { try InputFile.text(data, file: "fuzz") }

  func halves(_ data: Data) -> (Data, Data) {
    guard let cut = data.firstIndex(of: 0x00) else { return (data, Data()) }
    return (data[..<cut], data[(cut + 1)...])
  }

  /// The contract: a value or one line of error.
  func check(_ body: () throws(InputError) -> Void) {
    do {
      try body()
    } catch {
      let line = error.description
      precondition(!line.isEmpty, "empty error message")
      precondition(!line.contains("\n"), "error message spans lines: \(line)")
    }
  }
}

/// The metrics documents answering every query (no selection).
struct FuzzMetrics: HPAMetricsSource {
  var metrics: HPAInputs.Metrics
  func podResourceMetrics() throws(HPAMetricError) -> [PodResourceMetrics] {
    metrics.podMetrics.map(\.metrics)
  }
  func podsMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    samples: [(podName: String, sample: PodMetricSample)], timestamp: UnixMillis
  ) {
    guard let first = metrics.custom.first else { throw HPAMetricError("none") }
    return (
      metrics.custom.map {
        (
          $0.describedObject.name,
          PodMetricSample(valueMilli: $0.valueMilli, timestamp: $0.timestamp)
        )
      }, first.timestamp
    )
  }
  func objectMetric(_ object: ObjectRef, _ metric: HPAMetricIdentifier) throws(HPAMetricError)
    -> (valueMilli: Int64, timestamp: UnixMillis)
  {
    guard let first = metrics.custom.first else { throw HPAMetricError("none") }
    return (first.valueMilli, first.timestamp)
  }
  func externalMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    seriesMilli: [Int64], timestamp: UnixMillis
  ) {
    guard let first = metrics.external.first else { throw HPAMetricError("none") }
    return (metrics.external.map(\.valueMilli), first.timestamp)
  }
}
