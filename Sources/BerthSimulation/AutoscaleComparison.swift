import BerthCore
import Dispatch
import Foundation

/// `berth autoscale compare`: one scenario run once per variant and seed (paired: every
/// variant sees the same seeds, so the same load and noise), judged on what autoscaling is for.
public enum AutoscaleComparison {
  /// A metric of the comparison: its key (CSV column, JSON key), label, unit, and whether
  /// less is better.
  public struct Metric: Sendable {
    public var key: String
    public var label: String
    public var unit: String
  }

  /// The metrics, in table order. Request and latency figures are summed over the scenario's
  /// usage entries; replica figures over its HPAs' targets.
  public static let metrics: [Metric] = [
    Metric(key: "sloViolationSeconds", label: "SLO violation", unit: "s"),
    Metric(key: "droppedRequests", label: "dropped requests", unit: ""),
    Metric(key: "lateRequests", label: "late requests", unit: ""),
    Metric(key: "p99LatencySeconds", label: "p99 latency (99 % of time)", unit: "s"),
    Metric(key: "underProvisionedCoreSeconds", label: "under-provisioned", unit: "core·s"),
    Metric(key: "overProvisionedCoreSeconds", label: "over-provisioned", unit: "core·s"),
    Metric(key: "replicaHours", label: "replica-hours", unit: "h"),
    Metric(key: "requestedCoreHours", label: "requested core-hours", unit: "h"),
    Metric(key: "scaleEvents", label: "scale events", unit: ""),
    Metric(key: "directionChanges", label: "direction changes", unit: ""),
    Metric(key: "meanOverloadSeconds", label: "time short after a rise", unit: "s"),
    Metric(key: "oomKills", label: "OOM kills", unit: ""),
    Metric(key: "evictions", label: "evictions", unit: ""),
    Metric(key: "pendingPodSeconds", label: "pod pending time", unit: "s"),
    Metric(key: "nodeHours", label: "node-hours", unit: "h"),
    Metric(key: "cost", label: "node cost", unit: ""),
    Metric(key: "nodeChurnPerHour", label: "nodes added and removed per hour", unit: ""),
    Metric(key: "scaleUpChainP90Seconds", label: "pending → node → Ready p90", unit: "s"),
    Metric(key: "disruptionsPerHour", label: "node-autoscaler evictions per hour", unit: ""),
  ]

  /// One run's figures and the series the report draws.
  public struct Run: Sendable {
    public var variant: String
    public var seed: UInt64
    public var values: [Double]
    /// Ready pods serving the load, offered and served load, p99 latency: (ns, value) steps
    /// of the first usage entry.
    public var readyPods: [(time: Int64, value: Double)] = []
    public var offered: [(time: Int64, value: Double)] = []
    public var served: [(time: Int64, value: Double)] = []
    public var p99: [(time: Int64, value: Double)] = []
    /// The cluster's node count.
    public var nodes: [(time: Int64, value: Double)] = []
    /// The first VerticalPodAutoscaler's memory target, MiB (empty without one).
    public var vpaMemory: [(time: Int64, value: Double)] = []
    public var end: Int64 = 0

    public init(variant: String, seed: UInt64, values: [Double]) {
      self.variant = variant
      self.seed = seed
      self.values = values
    }
  }

  /// Runs every (variant, seed) on both cores; results in variant-major, seed-minor order.
  public static func run(
    variants: [(name: String, scenario: Scenario)], seeds: [UInt64],
    progress: (@Sendable (Int, Int) -> Void)? = nil
  ) -> [Run] {
    let jobs = variants.flatMap { v in seeds.map { (v.name, v.scenario, $0) } }
    let results = Results(count: jobs.count)
    let done = Results(count: 1)
    DispatchQueue.concurrentPerform(iterations: jobs.count) { k in
      let (name, scenario, seed) = jobs[k]
      // The runs already share the cores: each keeps to one thread.
      let r = runOne(name: name, scenario: scenario, seed: seed, threads: jobs.count > 1 ? 1 : nil)
      results.set(k, r)
      let n = done.increment()
      progress?(n, jobs.count)
    }
    return results.all()
  }

  /// A thread-safe slot array.
  final class Results: @unchecked Sendable {
    private var slots: [Run?]
    private var counter = 0
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ k: Int, _ r: Run) {
      lock.lock()
      slots[k] = r
      lock.unlock()
    }
    func increment() -> Int {
      lock.lock()
      defer { lock.unlock() }
      counter += 1
      return counter
    }
    func all() -> [Run] { slots.compactMap { $0 } }
  }

  /// One run: the scenario to its end with `seed`.
  /// - Parameter threads: the run's threads (nil: the simulation's default).
  public static func runOne(name: String, scenario: Scenario, seed: UInt64, threads: Int? = nil)
    -> Run
  {
    // Inputs were read (and the variants built) before: a failure here is a bug.
    guard let sim = try? Simulation(scenario: scenario, seed: seed) else {
      preconditionFailure("the scenario of variant \(name) was read but does not build")
    }
    if let threads { sim.threads = threads }
    sim.run()
    return measure(sim, variant: name, seed: seed)
  }

  static func measure(_ sim: Simulation, variant: String, seed: UInt64) -> Run {
    let q = sim.workloadMetrics.quality
    let hpas = sim.horizontalAutoscaling.hpas
    let reasons = sim.recorder.reasons
    let end = sim.now.nanoseconds
    func count(_ r: String) -> Double { Double(reasons[r] ?? 0) }
    let episodes = q.reduce(0) { $0 + $1.overloadEpisodes }
    let overload = q.reduce(0.0) { $0 + $1.overloadSeconds }
    let rec = sim.recorder
    func steps(_ kind: String, _ ns: String, _ name: String, _ field: String, scale: Double)
      -> [(time: Int64, value: Double)]
    {
      guard let id = rec.seriesID(kind: kind, namespace: ns, name: name, field: field) else {
        return []
      }
      return rec.points[id].map { ($0.time, Double($0.value) * scale) }
    }
    let pending = steps("Cluster", "-", "-", "pendingPods", scale: 1)
    var pendingSeconds = 0.0
    for (k, p) in pending.enumerated() {
      let next = k + 1 < pending.count ? pending[k + 1].time : end
      pendingSeconds += p.value * Double(next - p.time) / 1e9
    }
    // Replica-hours: the HPAs' targets; without HPAs, the usage entries' running pods as the
    // ready-pod series shows them.
    var replicaSeconds = hpas.reduce(0.0) { $0 + $1.replicaSeconds }
    var usage: (ns: String, name: String)?
    if !sim.scenario.usage.isEmpty {
      usage = (
        sim.scenario.usage[0].namespace ?? "default", WorkloadMetrics.name(of: 0, sim.scenario)
      )
    }
    let ready = usage.map { steps("Usage", $0.ns, $0.name, "readyPods", scale: 1) } ?? []
    if hpas.isEmpty {
      for (k, p) in ready.enumerated() {
        let next = k + 1 < ready.count ? ready[k + 1].time : end
        replicaSeconds += p.value * Double(next - p.time) / 1e9
      }
    }
    // Node-hours from the cluster's node count; cost, churn and the scale-up chain from the
    // node autoscaler (0 without one).
    let nodes = steps("Cluster", "-", "-", "nodes", scale: 1)
    var nodeSeconds = 0.0
    for (k, p) in nodes.enumerated() {
      let next = k + 1 < nodes.count ? nodes[k + 1].time : end
      nodeSeconds += p.value * Double(next - p.time) / 1e9
    }
    let hours = max(Double(end) / 3.6e12, 1e-9)
    var ca = sim.clusterAutoscaling?.outcome
    if let k = sim.karpenter?.outcome {
      ca = (cost: k.cost, churn: k.churn, evictions: k.evictions, chainP90: k.chainP90)
    }
    let values: [Double] = [
      q.reduce(0) { $0 + $1.sloViolationSeconds },
      q.reduce(0) { $0 + $1.dropped },
      q.reduce(0) { $0 + $1.late },
      q.map(\.p99OfIntervals).max() ?? 0,
      q.reduce(0) { $0 + $1.underProvisionedCoreSeconds },
      q.reduce(0) { $0 + $1.overProvisionedCoreSeconds },
      replicaSeconds / 3600,
      q.reduce(0) { $0 + $1.requestedCoreSeconds } / 3600,
      Double(hpas.reduce(0) { $0 + $1.scaleEvents }),
      Double(hpas.reduce(0) { $0 + $1.directionChanges }),
      episodes > 0 ? overload / Double(episodes) : 0,
      count("OOMKilling"),
      count("Evicted") + count("EvictedByVPA") + count("TaintManagerEviction")
        + count("Preempted") + Double(ca?.evictions ?? 0),
      pendingSeconds,
      nodeSeconds / 3600,
      ca?.cost ?? 0,
      Double(ca?.churn ?? 0) / hours,
      ca?.chainP90 ?? 0,
      Double(ca?.evictions ?? 0) / hours,
    ]
    var run = Run(variant: variant, seed: seed, values: values)
    run.end = end
    if let u = usage {
      run.readyPods = ready
      run.offered = steps("Usage", u.ns, u.name, "offeredLoad", scale: 1e-3)
      run.served = steps("Usage", u.ns, u.name, "servedLoad", scale: 1e-3)
      run.p99 = steps("Usage", u.ns, u.name, "latencyP99Seconds", scale: 1e-3)
    }
    run.nodes = nodes
    if let v = sim.verticalAutoscaling.vpas.first {
      run.vpaMemory = steps(
        "VerticalPodAutoscaler", v.spec.namespace, v.spec.name, "targetMemoryBytes",
        scale: 1.0 / 1_048_576)
    }
    return run
  }

  // MARK: Statistics

  /// Mean and the half-width of a 95 % confidence interval (Student's t; 0 for one value).
  public static func interval(_ xs: [Double]) -> (mean: Double, halfWidth: Double) {
    guard !xs.isEmpty else { return (0, 0) }
    let n = Double(xs.count)
    let mean = xs.reduce(0, +) / n
    guard xs.count > 1 else { return (mean, 0) }
    let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
    return (mean, tCritical(xs.count - 1) * (variance / n).squareRoot())
  }

  /// The two-sided 95 % quantile of Student's t with `df` degrees of freedom.
  static func tCritical(_ df: Int) -> Double {
    let table: [Double] = [
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
      2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060,
      2.056, 2.052, 2.048, 2.045, 2.042,
    ]
    return df >= 1 && df <= table.count ? table[df - 1] : 1.96
  }

  // MARK: Outputs

  static func format(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e12 { return String(Int64(v)) }
    if abs(v) >= 100 { return String(format: "%.0f", v) }
    if abs(v) >= 1 { return String(format: "%.2f", v) }
    return String(format: "%.3f", v)
  }

  static func cell(_ xs: [Double]) -> String {
    let (m, h) = interval(xs)
    return xs.count > 1 ? "\(format(m)) ± \(format(h))" : format(m)
  }

  /// The variants' names in order, and each one's runs.
  static func grouped(_ runs: [Run]) -> [(name: String, runs: [Run])] {
    var out: [(name: String, runs: [Run])] = []
    for r in runs {
      if let i = out.firstIndex(where: { $0.name == r.variant }) {
        out[i].runs.append(r)
      } else {
        out.append((r.variant, [r]))
      }
    }
    return out
  }

  /// A fixed-width table: one row per metric, one column per variant (mean ± 95 % half-width
  /// over seeds), then each variant's paired difference from the first.
  public static func table(_ runs: [Run], wording: Wording = .variants) -> String {
    let groups = grouped(runs)
    var rows: [[String]] = [["metric"] + groups.map(\.name)]
    for (k, m) in metrics.enumerated() {
      var row = [m.label + (m.unit.isEmpty ? "" : " (\(m.unit))")]
      for g in groups { row.append(cell(g.runs.map { $0.values[k] })) }
      rows.append(row)
    }
    // Differences are paired only when the runs share their load (variants of one scenario).
    if wording.sameLoad, groups.count > 1, groups[0].runs.count > 1 {
      rows.append([""])
      rows.append(["paired difference from \(groups[0].name)"] + groups.map { _ in "" })
      for (k, m) in metrics.enumerated() {
        var row = [m.label]
        for g in groups {
          let diffs = zip(g.runs, groups[0].runs).map { $0.values[k] - $1.values[k] }
          row.append(cell(diffs))
        }
        rows.append(row)
      }
    }
    let widths = (0..<(groups.count + 1)).map { c in
      rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0
    }
    return rows.map { row in
      row.enumerated().map { c, text in
        c == 0
          ? text.padding(toLength: widths[0], withPad: " ", startingAt: 0)
          : String(repeating: " ", count: widths[c] - text.count) + text
      }.joined(separator: "  ")
    }.joined(separator: "\n") + "\n"
  }

  /// What the runs being compared are: variants of one scenario (`autoscale compare`), or
  /// different scenarios (a `simulate` sweep) — the words the outputs use for them.
  public struct Wording: Sendable {
    /// The CSV column and the word for one (`variant`).
    public var one: String
    /// The JSON key and the word for several (`variants`).
    public var many: String
    /// The JSON key naming what is compared, and the page title's prefix.
    public var subjectKey: String
    public var title: String
    /// Whether every run sees the same load (drawn once) or each its own (drawn per run).
    public var sameLoad: Bool

    public static let variants = Wording(
      one: "variant", many: "variants", subjectKey: "scenario", title: "Berth autoscale compare",
      sameLoad: true)
    public static let scenarios = Wording(
      one: "scenario", many: "scenarios", subjectKey: "sweep", title: "Berth simulate sweep",
      sameLoad: false)
  }

  /// The files `--out` receives: comparison.csv, comparison.json, report.html (for a
  /// `simulate` sweep, simulations.csv and simulations.json).
  public static func outputFiles(
    _ runs: [Run], scenario: String, seeds: [UInt64], wording: Wording = .variants
  ) -> [(name: String, contents: String)] {
    let stem = wording.sameLoad ? "comparison" : "simulations"
    return [
      ("\(stem).csv", csv(runs, wording: wording)),
      ("\(stem).json", json(runs, scenario: scenario, seeds: seeds, wording: wording)),
      ("report.html", html(runs, scenario: scenario, wording: wording)),
    ]
  }

  /// `comparison.csv`: one row per run.
  public static func csv(_ runs: [Run], wording: Wording = .variants) -> String {
    var out = "\(wording.one),seed," + metrics.map(\.key).joined(separator: ",") + "\n"
    for r in runs {
      out +=
        Recorder.csv(r.variant) + ",\(r.seed),"
        + r.values.map { String(format: "%.6g", $0) }.joined(separator: ",") + "\n"
    }
    return out
  }

  /// `comparison.json`: per variant, per metric, the mean, the 95 % half-width and the values.
  public static func json(
    _ runs: [Run], scenario: String, seeds: [UInt64], wording: Wording = .variants
  ) -> String {
    var o = "{\n  \"\(wording.subjectKey)\": \(SimulationOutputs.json(scenario)),\n"
    o += "  \"seeds\": [\(seeds.map(String.init).joined(separator: ", "))],\n"
    o += "  \"\(wording.many)\": [\n"
    let groups = grouped(runs)
    o += groups.map { g in
      let fields = metrics.enumerated().map { k, m in
        let xs = g.runs.map { $0.values[k] }
        let (mean, h) = interval(xs)
        return
          "      \(SimulationOutputs.json(m.key)): {\"mean\": \(String(format: "%.6g", mean)), \"halfWidth95\": \(String(format: "%.6g", h)), \"values\": [\(xs.map { String(format: "%.6g", $0) }.joined(separator: ", "))]}"
      }
      return "    {\"name\": \(SimulationOutputs.json(g.name)), \"metrics\": {\n"
        + fields.joined(separator: ",\n") + "\n    }}"
    }.joined(separator: ",\n")
    return o + "\n  ]\n}\n"
  }

  /// `report.html`: the table and, for the first seed, the variants overlaid over time.
  public static func html(_ runs: [Run], scenario: String, wording: Wording = .variants)
    -> String
  {
    let groups = grouped(runs)
    let first = groups.compactMap { $0.runs.first }
    let end = first.map(\.end).max() ?? 1
    func chart(_ title: String, _ y: String, _ pick: (Run) -> [(time: Int64, value: Double)])
      -> String
    {
      SimulationOutputs.stepChart(
        title: title, yLabel: y, end: end,
        series: first.map { r in
          (r.variant, pick(r).map { ($0.time, Int64(($0.value * 1000).rounded())) }, 1e-3)
        })
    }
    var body = ""
    if !wording.sameLoad {
      body += chart("Offered load", "requests/s") { $0.offered }
    } else if let r = first.first, !r.offered.isEmpty {
      body += SimulationOutputs.stepChart(
        title: "Offered load (the same for every variant)", yLabel: "requests/s", end: end,
        series: [("offered", r.offered.map { ($0.time, Int64(($0.value * 1000).rounded())) }, 1e-3)]
      )
    }
    body += chart("Ready pods serving the load", "pods") { $0.readyPods }
    body += chart("Served load", "requests/s") { $0.served }
    body += chart("Estimated p99 latency", "seconds") { $0.p99 }
    if first.contains(where: { run in run.nodes.contains { $0.value != run.nodes[0].value } }) {
      body += chart("Nodes", "nodes") { $0.nodes }
    }
    if first.contains(where: { !$0.vpaMemory.isEmpty }) {
      body += chart("VPA memory target (the first VPA)", "MiB") { $0.vpaMemory }
    }
    var table = "<table><tr><th>metric</th>"
    for g in groups { table += "<th>\(SimulationOutputs.escape(g.name))</th>" }
    table += "</tr>"
    for (k, m) in metrics.enumerated() {
      table +=
        "<tr><td>\(SimulationOutputs.escape(m.label))\(m.unit.isEmpty ? "" : " (\(m.unit))")</td>"
      for g in groups {
        table += "<td>\(SimulationOutputs.escape(cell(g.runs.map { $0.values[k] })))</td>"
      }
      table += "</tr>"
    }
    table += "</table>"
    let seeds = groups.first?.runs.map(\.seed) ?? []
    return """
      <!doctype html>
      <html><head><meta charset="utf-8"><title>\(wording.title): \(SimulationOutputs.escape(scenario))</title>
      <style>body{font-family:sans-serif;margin:20px;max-width:820px}svg{display:block;margin:12px 0}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}</style>
      </head><body>
      <h1>\(SimulationOutputs.escape(scenario)): \(groups.count) \(wording.many)</h1>
      <p>Seeds \(seeds.map(String.init).joined(separator: ", ")) (paired: every \(wording.one) runs each seed). Cells: mean ± the half-width of a 95 % interval over seeds. Charts: seed \(seeds.first.map(String.init) ?? "").</p>
      \(table)
      \(body)
      </body></html>

      """
  }
}
