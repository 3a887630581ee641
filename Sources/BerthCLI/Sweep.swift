import ArgumentParser
import BerthCore
import BerthExperiments
import BerthScheduling
import BerthSimulation
import BerthTraces
import CBerthSystem
import Foundation

/// `berth sweep`: an experiment's grid in shards, on one machine or as a Kubernetes Indexed Job,
/// merged to the bytes one machine writes.
struct Sweep: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Run an experiment grid in shards (locally or as a Kubernetes Indexed Job) and merge them.",
    discussion: """
      A sweep (docs/sweeps.md) names an experiment — `compare`, `autoscale-compare` or `simulate` — its settings and the axes whose cross product is the run list. Run k is the same run everywhere; `sweep run --shard I/N` runs shard I's share (split by estimated cost), `sweep merge` checks the shards and writes exactly what `--shard 0/1` writes; `sweep job` prints the Indexed Job that runs the shards on a cluster.

      Examples:
        S=datasets/sweeps/openb-like-grid.yaml
        berth sweep run $S --shard 0/2 --out /tmp/s/0
        berth sweep run $S --shard 1/2 --out /tmp/s/1
        berth sweep merge /tmp/s/0 /tmp/s/1 --out /tmp/grid
        berth sweep job datasets/sweeps/fgd-grid.yaml \\
          --image registry.example/berth:0.10 --shards 8 > job.yaml
      """,
    subcommands: [SweepRun.self, SweepMerge.self, SweepJob.self])
}

// MARK: - Plan

/// A sweep read and checked: its grid, where relative inputs resolve, and the experiment.
struct SweepPlan {
  let document: SweepDocument
  let grid: SweepGrid
  /// FNV-1a over the sweep's meaning (what `SweepManifest.sweepChecksum` records).
  let checksum: String
  /// The folder relative input paths resolve against.
  let root: String

  init(path: String, data: String?) throws {
    do throws(InputError) {
      document = try SweepYAML.read(path: path)
    } catch {
      throw CommandFailure(error.description)
    }
    do throws(SweepGrid.Problem) {
      grid = try SweepGrid(axes: document.axes.map { .init(name: $0.name, values: $0.values) })
    } catch {
      throw CommandFailure("\(path): \(error.description)")
    }
    var meaning = "\(document.name)\n\(document.experiment.rawValue)\n"
    for s in document.settings { meaning += "setting\t\(s.key)\t\(s.value)\n" }
    for a in document.axes {
      meaning += "axis\t\(a.name)\t" + a.values.joined(separator: "\t") + "\n"
    }
    checksum = String(format: "%016llx", InputChecksum.fnv1a64(Data(meaning.utf8)))
    root = data ?? (URL(fileURLWithPath: path).deletingLastPathComponent().path)
  }

  /// An input path as the sweep writes it, resolved against `root` when relative.
  func resolve(_ path: String) -> String {
    path.hasPrefix("/") ? path : (root as NSString).appendingPathComponent(path)
  }

  /// An input's size and checksum (a folder: its YAML files' names and bytes, in name order).
  func input(_ name: String) throws -> SweepManifest.Input {
    let path = resolve(name)
    do throws(InputError) {
      var isDir: ObjCBool = false
      var data = Data()
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        for f in try InputFile.yamlFiles(at: path) {
          data.append(Data((f as NSString).lastPathComponent.utf8))
          data.append(0)
          data.append(try InputFile.data(f))
        }
      } else {
        data = try InputFile.data(path)
      }
      return .init(
        name: name, bytes: data.count,
        fnv1a64: String(format: "%016llx", InputChecksum.fnv1a64(data)))
    } catch {
      throw CommandFailure(error.description)
    }
  }

  /// The axis `name`'s position (the schema requires every axis an experiment reads).
  func axis(_ name: String) -> Int {
    guard let i = grid.axes.firstIndex(where: { $0.name == name }) else {
      preconditionFailure("the sweep reader lets no \(document.experiment) sweep lack \(name)")
    }
    return i
  }

  /// The build running now, as manifests record it.
  static var build: SweepManifest.Build {
    var id = [CChar](repeating: 0, count: 129)
    let found = berth_build_id(&id, id.count) == 1
    return .init(
      version: BerthVersion.current, commit: BerthVersion.commit,
      buildID: found
        ? String(decoding: id.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        : "unknown")
  }
}

// MARK: - Experiments

/// An experiment a sweep can repeat: how it runs a shard's runs (with its inputs read), how a
/// run's results are kept in a partial, and the outputs a whole sweep's results make.
protocol SweepExperiment {
  associatedtype Result
  /// Checks the experiment's settings and axes and, with `readInputs`, reads and checks its
  /// inputs (every shard checks them all, so every shard fails alike on a bad sweep). Without
  /// it, `inputs` is empty and nothing can run: `sweep job` checks a sweep whose inputs live
  /// elsewhere.
  init(plan: SweepPlan, readInputs: Bool) throws
  /// The inputs with their checksums, as the manifest records them.
  var inputs: [SweepManifest.Input] { get }
  /// `autoscale-compare`: the scenario's name.
  var scenario: String? { get }
  /// Each run's estimated cost (relative), for splitting runs over shards.
  func costs() -> [Double]
  /// Runs `runs` (run numbers) on `threads` threads; results in `runs` order.
  func run(_ runs: [Int], threads: Int) -> [Result]
  static func line(run: Int, _ result: Result) -> String
  static func parse(_ text: String, file: String) throws(InputError) -> [(run: Int, result: Result)]
  /// The files a whole sweep's results make, and the table printed after them.
  static func outputs(_ results: [Result], manifest: SweepManifest) -> (
    files: [(name: String, contents: String)], table: String
  )
}

/// An experiment whose runs are simulations judged on `autoscale compare`'s metrics: its
/// records and outputs are autoscale compare's, in the experiment's words.
protocol SimulatedSweep: SweepExperiment where Result == AutoscaleComparison.Run {
  static var wording: AutoscaleComparison.Wording { get }
  /// What the outputs name as compared: the scenario, or the sweep.
  static func subject(_ manifest: SweepManifest) -> String
}

extension SimulatedSweep {
  static func line(run: Int, _ result: Result) -> String {
    AutoscaleRunRecord.line(run: run, result)
  }

  static func parse(_ text: String, file: String) throws(InputError) -> [(run: Int, result: Result)]
  {
    try AutoscaleRunRecord.parse(text, file: file)
  }

  static func outputs(_ results: [Result], manifest: SweepManifest) -> (
    files: [(name: String, contents: String)], table: String
  ) {
    let seeds = manifest.axes.first { $0.name == "seed" }?.values.compactMap { UInt64($0) } ?? []
    return (
      AutoscaleComparison.outputFiles(
        results, scenario: subject(manifest), seeds: seeds, wording: wording),
      AutoscaleComparison.table(results, wording: wording)
    )
  }
}

/// `experiment: compare` — `berth compare` over the axes workload (openb pod lists), policy and
/// seed, with the settings nodes (openb node list) and tune.
struct CompareSweep: SweepExperiment {
  typealias Result = (ExperimentRun, Curves)
  let plan: SweepPlan
  let inputs: [SweepManifest.Input]
  var scenario: String? { nil }
  let nodes: [NodeSpec]
  let tune: Double
  let policies: [GPUPolicy]
  let seeds: [UInt64]

  /// Relative cost of one run per policy: time per run on two openb workloads (default,
  /// gpushare100) over six seeds, one thread, against Random's (docs/sweeps.md).
  static func cost(_ p: GPUPolicy) -> Double {
    switch p {
    case .fgd: 1.9
    case .gpuPacking: 1.7
    case .bestFit: 1.2
    case .gpuClustering: 1.1
    default: 1
    }
  }

  init(plan: SweepPlan, readInputs: Bool = true) throws {
    self.plan = plan
    let d = plan.document
    guard let nodesName = d.setting("nodes") else {
      preconditionFailure("the sweep reader requires nodes")
    }
    if let t = d.setting("tune") {
      guard let v = Double(t), v >= 0, v <= 10 else {
        throw CommandFailure(
          "\(d.name): settings.tune: expected a number in 0…10, found \"\(Escaped(t))\"")
      }
      tune = v
    } else {
      tune = 1.3
    }
    policies = try plan.grid.axes[plan.axis("policy")].values.map { name in
      guard let p = GPUPolicy(rawValue: name) else {
        throw CommandFailure(
          "\(d.name): axis policy: unknown policy \"\(Escaped(name))\" (expected \(GPUPolicy.allCases.map(\.rawValue).joined(separator: ", ")))"
        )
      }
      return p
    }
    seeds = plan.grid.axes[plan.axis("seed")].values.map { UInt64($0)! }
    let workloads = plan.grid.axes[plan.axis("workload")].values
    var names = Set<String>()
    for w in workloads where !names.insert(Compare.workloadName(w)).inserted {
      throw CommandFailure(
        "\(d.name): axis workload: two files give the workload name \"\(Compare.workloadName(w))\" (results are labelled by file name)"
      )
    }
    guard readInputs else {
      (inputs, nodes) = ([], [])
      return
    }
    inputs = try ([nodesName] + workloads).map { try plan.input($0) }
    do throws(InputError) {
      nodes = try OpenbCSV.readNodes(path: plan.resolve(nodesName))
    } catch {
      throw CommandFailure(error.description)
    }
  }

  func costs() -> [Double] {
    let p = plan.axis("policy")
    return (0..<plan.grid.count).map { Self.cost(policies[plan.grid.indices(of: $0)[p]]) }
  }

  func run(_ runs: [Int], threads: Int) -> [Result] {
    let (w, p, s) = (plan.axis("workload"), plan.axis("policy"), plan.axis("seed"))
    let files = plan.grid.axes[w].values
    var workloads: [Compare.Workload] = []
    var slot: [Int: Int] = [:]
    var tasks: [(workload: Int, policy: GPUPolicy, seed: UInt64)] = []
    for k in runs {
      let i = plan.grid.indices(of: k)
      if slot[i[w]] == nil {
        // Read in init's checks already: a failure now is the file changing underneath.
        guard let specs = try? OpenbCSV.readPods(path: plan.resolve(files[i[w]])) else {
          preconditionFailure("\(files[i[w]]) could be read a moment ago")
        }
        slot[i[w]] = workloads.count
        workloads.append(
          (
            Compare.workloadName(files[i[w]]), specs,
            FragmentationModel.typicalPods(specs, threshold: Experiment.popularity)
          ))
      }
      tasks.append((slot[i[w]]!, policies[i[p]], seeds[i[s]]))
    }
    return Compare.execute(tasks, nodes: nodes, workloads: workloads, tune: tune, threads: threads)
  }

  static func line(run: Int, _ result: Result) -> String { CompareRunRecord.line(run: run, result) }

  static func parse(_ text: String, file: String) throws(InputError) -> [(run: Int, result: Result)]
  {
    try CompareRunRecord.parse(text, file: file)
  }

  static func outputs(_ results: [Result], manifest: SweepManifest) -> (
    files: [(name: String, contents: String)], table: String
  ) {
    let summary = ExperimentCSV.summary(results)
    return (Compare.outputFiles(results, summary: summary), ExperimentCSV.summaryMarkdown(summary))
  }
}

/// `experiment: autoscale-compare` — `berth autoscale compare` over the axes variant
/// (`baseline`, `NAME=PATCH.yaml` or `NAME=none`) and seed, with the setting scenario.
struct AutoscaleCompareSweep: SimulatedSweep {
  typealias Result = AutoscaleComparison.Run
  let plan: SweepPlan
  let inputs: [SweepManifest.Input]
  let scenario: String?
  let variants: [(name: String, scenario: Scenario)]
  let seeds: [UInt64]

  init(plan: SweepPlan, readInputs: Bool = true) throws {
    self.plan = plan
    let d = plan.document
    guard let scenarioName = d.setting("scenario") else {
      preconditionFailure("the sweep reader requires scenario")
    }
    // The variants as written: (name, patch or nil for the baseline), checked before any read.
    var written: [(name: String, patch: String?)] = []
    for v in plan.grid.axes[plan.axis("variant")].values {
      var variant: (name: String, patch: String?) = ("baseline", nil)
      if v != "baseline" {
        guard let eq = v.firstIndex(of: "="), eq != v.startIndex, v.index(after: eq) != v.endIndex
        else {
          throw CommandFailure(
            "\(d.name): axis variant: expected baseline, NAME=PATCH.yaml or NAME=none, found \"\(Escaped(v))\""
          )
        }
        variant = (String(v[..<eq]), String(v[v.index(after: eq)...]))
      }
      guard !written.contains(where: { $0.name == variant.name }) else {
        throw CommandFailure("\(d.name): axis variant: \(variant.name) is named twice")
      }
      written.append(variant)
    }
    seeds = plan.grid.axes[plan.axis("seed")].values.map { UInt64($0)! }
    guard readInputs else {
      (inputs, scenario, variants) = ([], nil, [])
      return
    }
    let scenarioPath = plan.resolve(scenarioName)
    let base: Scenario
    do throws(InputError) { base = try Scenario.read(path: scenarioPath) } catch {
      throw CommandFailure(error.description)
    }
    var variants: [(name: String, scenario: Scenario)] = []
    for (name, patch) in written {
      guard let patch else {
        variants.append((name, base))
        continue
      }
      do throws(InputError) {
        variants.append(
          (
            name,
            try ScenarioVariants.apply(
              scenario: scenarioPath, patch: patch == "none" ? "none" : plan.resolve(patch))
          ))
      } catch {
        throw CommandFailure("variant \(name): \(error.description)")
      }
    }
    self.variants = variants
    scenario = base.name
    let patches = written.compactMap(\.patch).filter { $0 != "none" }
    inputs = try ([scenarioName] + patches).map { try plan.input($0) }
  }

  /// Every run simulates the same scenario for the same time: equal costs.
  func costs() -> [Double] { Array(repeating: 1, count: plan.grid.count) }

  func run(_ runs: [Int], threads: Int) -> [Result] {
    let (v, s) = (plan.axis("variant"), plan.axis("seed"))
    return Self.simulate(
      runs.map { k in
        let i = plan.grid.indices(of: k)
        return (variants[i[v]].name, variants[i[v]].scenario, seeds[i[s]])
      }, threads: threads)
  }

  /// Runs each (label, scenario, seed) to the scenario's end on `threads` threads, with
  /// progress on stderr; results in order.
  static func simulate(_ runs: [(name: String, scenario: Scenario, seed: UInt64)], threads: Int)
    -> [Result]
  {
    let results = ResultSlots<Result>(count: runs.count)
    let progress = Progress(total: runs.count, label: "runs", unit: "")
    let next = TaskCounter()
    DispatchQueue.concurrentPerform(iterations: min(threads, max(runs.count, 1))) { _ in
      while let j = next.take(below: runs.count) {
        let r = runs[j]
        // The runs already share the cores: each keeps to one thread.
        results.set(
          j,
          AutoscaleComparison.runOne(
            name: r.name, scenario: r.scenario, seed: r.seed, threads: runs.count > 1 ? 1 : nil))
        progress.update(next.done())
      }
    }
    progress.finish()
    return results.values
  }

  static let wording = AutoscaleComparison.Wording.variants
  static func subject(_ manifest: SweepManifest) -> String { manifest.scenario ?? "" }
}

/// `experiment: simulate` — `berth simulate` over the axes scenario (files or folders) and
/// seed, each run judged on `autoscale compare`'s metrics; the scenarios' labels are their file
/// names.
struct SimulateSweep: SimulatedSweep {
  typealias Result = AutoscaleComparison.Run
  let plan: SweepPlan
  let inputs: [SweepManifest.Input]
  var scenario: String? { nil }
  let scenarios: [(name: String, scenario: Scenario)]
  let seeds: [UInt64]

  /// A scenario's label: its file or folder name less `.yaml`/`.yml`.
  static func label(_ path: String) -> String {
    let name = (path as NSString).lastPathComponent
    for ext in [".yaml", ".yml"] where name.hasSuffix(ext) {
      return String(name.dropLast(ext.count))
    }
    return name
  }

  init(plan: SweepPlan, readInputs: Bool = true) throws {
    self.plan = plan
    let paths = plan.grid.axes[plan.axis("scenario")].values
    var labels = Set<String>()
    for path in paths where !labels.insert(Self.label(path)).inserted {
      throw CommandFailure(
        "\(plan.document.name): axis scenario: two scenarios have the label \"\(Self.label(path))\" (results are labelled by file name)"
      )
    }
    seeds = plan.grid.axes[plan.axis("seed")].values.map { UInt64($0)! }
    guard readInputs else {
      (scenarios, inputs) = ([], [])
      return
    }
    scenarios = try paths.map { path in
      do throws(InputError) {
        return (Self.label(path), try Scenario.read(path: plan.resolve(path)))
      } catch {
        throw CommandFailure(error.description)
      }
    }
    inputs = try paths.map { try plan.input($0) }
  }

  /// Runs of different scenarios differ in length: each counts its scenario's duration.
  func costs() -> [Double] {
    let s = plan.axis("scenario")
    return (0..<plan.grid.count).map {
      max(Double(scenarios[plan.grid.indices(of: $0)[s]].scenario.duration.nanoseconds) / 1e9, 1)
    }
  }

  func run(_ runs: [Int], threads: Int) -> [Result] {
    let (c, s) = (plan.axis("scenario"), plan.axis("seed"))
    return AutoscaleCompareSweep.simulate(
      runs.map { k in
        let i = plan.grid.indices(of: k)
        return (scenarios[i[c]].name, scenarios[i[c]].scenario, seeds[i[s]])
      }, threads: threads)
  }

  static let wording = AutoscaleComparison.Wording.scenarios
  static func subject(_ manifest: SweepManifest) -> String { manifest.sweep }
}

// MARK: - Partials

/// A sweep's partial result on disk: `manifest.json` and `runs.tsv` (one record per run, in run
/// order); a whole sweep's also holds the experiment's outputs.
enum SweepPartial {
  static let manifestName = "manifest.json"
  static let recordsName = "runs.tsv"

  /// Creates `out`'s missing parent folders (a Job's pods write under a shared folder that the
  /// first of them creates) and checks it can take an output set.
  static func prepare(_ out: String) throws {
    let parent = URL(fileURLWithPath: out).standardizedFileURL.deletingLastPathComponent().path
    try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    do { try OutputSet.checkDestination(out) } catch { throw CommandFailure(error.description) }
  }

  /// Every file of a partial, and of a whole sweep (one shard of one) the outputs too.
  static func files<E: SweepExperiment>(
    _: E.Type, manifest: SweepManifest, results: [(run: Int, result: E.Result)]
  ) -> (files: [(name: String, contents: String)], table: String?) {
    var records = ""
    for r in results { records += E.line(run: r.run, r.result) }
    var files = [(manifestName, manifest.json()), (recordsName, records)]
    guard manifest.runs.count == manifest.totalRuns else { return (files, nil) }
    let (outputs, table) = E.outputs(results.map(\.result), manifest: manifest)
    files += outputs
    return (files, table)
  }
}

// MARK: - Commands

/// `berth sweep run`: one shard of a sweep.
struct SweepRun: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run one shard of a sweep and write its partial result.",
    discussion: """
      Writes DIR/manifest.json (the sweep, its inputs with checksums, the Berth build, the shard and its runs) and DIR/runs.tsv (each run's results, exactly); with one shard (0/1) also the experiment's outputs — what `sweep merge` writes from all shards. DIR is replaced as a whole once the shard is done, so a killed shard leaves the previous result or none, and a retried one writes the same bytes.

      Without --shard, an Indexed Job's JOB_COMPLETION_INDEX with BERTH_SHARDS (set by `sweep job`) choose the shard; else 0/1.

      Examples:
        berth sweep run datasets/sweeps/hpa-windows.yaml --out /tmp/hpa-windows
        berth sweep run datasets/sweeps/fgd-grid.yaml --data /path/to/traces \\
          --shard 3/8 --out /tmp/fgd/shards/3
      """)

  @Argument(help: "The sweep: a YAML file (kind: Sweep).") var sweep: String
  @Option(help: "I/N: run shard I of N (default: $JOB_COMPLETION_INDEX/$BERTH_SHARDS, else 0/1).")
  var shard: String?
  @Option(help: "Output folder: new, empty, or one berth wrote (it is replaced as a whole).")
  var out: String
  @Option(help: "Folder relative input paths resolve against (default: the sweep file's folder).")
  var data: String?
  @Option(help: "Worker threads (default: all cores).") var jobs: Int?

  func validate() throws {
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    if let shard {
      do throws(SweepGrid.ShardProblem) { _ = try SweepShard.parse(shard) } catch {
        throw ValidationError("--shard: \(error.message)")
      }
    }
  }

  func chosenShard() throws -> SweepShard {
    do throws(SweepGrid.ShardProblem) {
      if let shard { return try SweepShard.parse(shard) }
      return try SweepShard.fromEnvironment(ProcessInfo.processInfo.environment)
        ?? SweepShard(index: 0, count: 1)
    } catch {
      throw CommandFailure(error.message)
    }
  }

  func run() throws {
    let plan = try SweepPlan(path: sweep, data: data)
    switch plan.document.experiment {
    case .compare: try run(CompareSweep(plan: plan), plan: plan)
    case .autoscaleCompare: try run(AutoscaleCompareSweep(plan: plan), plan: plan)
    case .simulate: try run(SimulateSweep(plan: plan), plan: plan)
    }
  }

  func run<E: SweepExperiment>(_ experiment: E, plan: SweepPlan) throws {
    let shard = try chosenShard()
    try SweepPartial.prepare(out)
    let costs = experiment.costs()
    let runs = SweepSharding.runs(of: shard.index, costs: costs, shards: shard.count)
    let share = runs.reduce(0) { $0 + costs[$1] } / max(costs.reduce(0, +), 1e-300)
    let threads = jobs ?? ProcessInfo.processInfo.activeProcessorCount
    print(
      "sweep \(plan.document.name) (\(plan.document.experiment.rawValue)): \(plan.grid.count) runs; shard \(shard): \(runs.count) runs, \(String(format: "%.1f", share * 100)) % of the estimated cost, on \(threads) thread(s)"
    )
    let results = experiment.run(runs, threads: threads)
    let manifest = SweepManifest(
      sweep: plan.document.name, experiment: plan.document.experiment.rawValue,
      sweepChecksum: plan.checksum, axes: plan.grid.axes, scenario: experiment.scenario,
      inputs: experiment.inputs, berth: SweepPlan.build,
      shard: .init(index: shard.index, count: shard.count), totalRuns: plan.grid.count, runs: runs)
    let (files, table) = SweepPartial.files(
      E.self, manifest: manifest, results: Array(zip(runs, results)).map { ($0.0, $0.1) })
    do { try OutputSet.write(files, to: out) } catch { throw CommandFailure(error.description) }
    if let table { print(table, terminator: "") }
    print("wrote \(out): \(files.map(\.name).joined(separator: ", "))")
  }
}

/// `berth sweep merge`: the shards' partials into the whole sweep's outputs.
struct SweepMerge: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "merge",
    abstract: "Check the shards of a sweep and merge them into its outputs.",
    discussion: """
      Each DIR is a shard's output folder, or a folder of them (its subfolders holding a manifest.json, in name order). The shards must come from the same sweep, inputs and Berth build, and hold every run exactly once; otherwise merge names the difference, the missing or the duplicated runs, and writes nothing. OUT receives exactly what `berth sweep run SWEEP --shard 0/1` writes.

      Examples:
        berth sweep merge /tmp/fgd/shards --out /tmp/fgd/merged
        berth sweep merge /tmp/s/0 /tmp/s/1 --out /tmp/grid
      """)

  @Argument(help: "Shard output folders, or folders of them.") var partials: [String]
  @Option(help: "Output folder: new, empty, or one berth wrote (it is replaced as a whole).")
  var out: String

  /// A partial read from disk.
  struct Loaded {
    var folder: String
    var manifest: SweepManifest
  }

  /// The partial folders named, with folders of partials opened (their subfolders in name order).
  func folders() throws -> [String] {
    var out: [String] = []
    for p in partials {
      if FileManager.default.fileExists(atPath: p + "/" + SweepPartial.manifestName) {
        out.append(p)
        continue
      }
      var isDir: ObjCBool = false
      guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue else {
        throw CommandFailure("\(p): no such folder")
      }
      // Hidden names are staging folders a killed shard left (docs/reliability.md), not shards.
      let subs = ((try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []).sorted()
        .filter { !$0.hasPrefix(".") }.map { p + "/" + $0 }
        .filter { FileManager.default.fileExists(atPath: $0 + "/" + SweepPartial.manifestName) }
      guard !subs.isEmpty else {
        throw CommandFailure(
          "\(p): holds no \(SweepPartial.manifestName), nor do its subfolders (not a sweep shard's output)"
        )
      }
      out += subs
    }
    return out
  }

  func run() throws {
    var loaded: [Loaded] = []
    for f in try folders() {
      let file = f + "/" + SweepPartial.manifestName
      do throws(InputError) {
        loaded.append(
          .init(folder: f, manifest: try SweepManifest.parse(InputFile.data(file), file: file)))
      } catch {
        throw CommandFailure(error.description)
      }
    }
    let first = loaded[0]
    for l in loaded.dropFirst() {
      try Self.checkSame(first, l)
    }
    switch first.manifest.experiment {
    case SweepDocument.Experiment.compare.rawValue: try merge(CompareSweep.self, loaded)
    case SweepDocument.Experiment.autoscaleCompare.rawValue:
      try merge(AutoscaleCompareSweep.self, loaded)
    case SweepDocument.Experiment.simulate.rawValue: try merge(SimulateSweep.self, loaded)
    default:
      throw CommandFailure(
        "\(first.folder)/\(SweepPartial.manifestName): experiment: unknown experiment \"\(Escaped(first.manifest.experiment))\""
      )
    }
  }

  /// Refuses partials of different sweeps, inputs or builds, with one line naming both.
  static func checkSame(_ a: Loaded, _ b: Loaded) throws {
    let (x, y) = (a.manifest, b.manifest)
    func refuse(_ what: String, _ u: String, _ v: String) -> CommandFailure {
      CommandFailure(
        "cannot merge: \(what) differ — \(a.folder) (shard \(x.shard.index)/\(x.shard.count)) has \(u), \(b.folder) (shard \(y.shard.index)/\(y.shard.count)) has \(v)"
      )
    }
    if x.sweep != y.sweep || x.experiment != y.experiment || x.sweepChecksum != y.sweepChecksum
      || x.axes != y.axes || x.scenario != y.scenario || x.totalRuns != y.totalRuns
    {
      throw refuse(
        "the sweeps", "\(x.sweep) (\(x.experiment), checksum \(x.sweepChecksum))",
        "\(y.sweep) (\(y.experiment), checksum \(y.sweepChecksum))")
    }
    if x.berth != y.berth {
      func text(_ b: SweepManifest.Build) -> String {
        "Berth \(b.version) commit \(b.commit) build \(b.buildID)"
      }
      throw refuse("the Berth builds", text(x.berth), text(y.berth))
    }
    if x.inputs != y.inputs {
      let names = x.inputs.map(\.name) + y.inputs.map(\.name)
      for name in names {
        let u = x.inputs.first { $0.name == name }
        let v = y.inputs.first { $0.name == name }
        guard u != v else { continue }
        func text(_ i: SweepManifest.Input?) -> String {
          i.map { "\($0.bytes) bytes, fnv1a64 \($0.fnv1a64)" } ?? "none"
        }
        throw refuse("the inputs", "\(name): \(text(u))", "\(name): \(text(v))")
      }
      throw refuse(
        "the inputs' order", x.inputs.map(\.name).joined(separator: ", "),
        y.inputs.map(\.name).joined(separator: ", "))
    }
  }

  /// A run named by its axes' values, for messages.
  static func describe(_ k: Int, _ grid: SweepGrid) -> String {
    "\(k) (" + grid.run(k).map { "\($0.axis)=\($0.value)" }.joined(separator: ", ") + ")"
  }

  func merge<E: SweepExperiment>(_: E.Type, _ loaded: [Loaded]) throws {
    let m = loaded[0].manifest
    // The manifest reader checked the axes make a grid of totalRuns runs.
    guard let grid = try? SweepGrid(axes: m.axes) else { preconditionFailure("checked axes") }
    var owner = [Int](repeating: -1, count: m.totalRuns)
    for (p, l) in loaded.enumerated() {
      for k in l.manifest.runs {
        guard owner[k] < 0 else {
          throw CommandFailure(
            "cannot merge: run \(Self.describe(k, grid)) is in both \(loaded[owner[k]].folder) and \(l.folder) (the same shard twice, or shards of different splits)"
          )
        }
        owner[k] = p
      }
    }
    let missing = owner.indices.filter { owner[$0] < 0 }
    if !missing.isEmpty {
      let shards = Set(loaded.map(\.manifest.shard.index)).sorted()
      let counts = Set(loaded.map(\.manifest.shard.count)).sorted()
      let absent = counts.count == 1 ? (0..<counts[0]).filter { !shards.contains($0) } : []
      let named = missing.prefix(3).map { Self.describe($0, grid) }.joined(separator: ", ")
      throw CommandFailure(
        "cannot merge: \(missing.count) of \(m.totalRuns) runs are missing (\(named)\(missing.count > 3 ? ", …" : "")); shards present: \(shards.map(String.init).joined(separator: ", ")) of \(counts.map(String.init).joined(separator: "/"))\(absent.isEmpty ? "" : "; absent: " + absent.map(String.init).joined(separator: ", "))"
      )
    }
    var results = [E.Result?](repeating: nil, count: m.totalRuns)
    for l in loaded {
      let file = l.folder + "/" + SweepPartial.recordsName
      let records: [(run: Int, result: E.Result)]
      do throws(InputError) {
        records = try E.parse(try InputFile.text(file), file: file)
      } catch {
        throw CommandFailure(error.description)
      }
      guard records.map(\.run) == l.manifest.runs else {
        throw CommandFailure(
          "\(file): holds runs other than its manifest lists (\(records.count) records for \(l.manifest.runs.count) runs): an incomplete or altered shard output"
        )
      }
      for r in records { results[r.run] = r.result }
    }
    var whole = m
    whole.shard = .init(index: 0, count: 1)
    whole.runs = Array(0..<m.totalRuns)
    try SweepPartial.prepare(out)
    let (files, table) = SweepPartial.files(
      E.self, manifest: whole, results: results.enumerated().map { ($0.offset, $0.element!) })
    do { try OutputSet.write(files, to: out) } catch { throw CommandFailure(error.description) }
    if let table { print(table, terminator: "") }
    print(
      "merged \(loaded.count) shard(s), \(m.totalRuns) runs of sweep \(m.sweep); wrote \(out): \(files.map(\.name).joined(separator: ", "))"
    )
  }
}

/// `berth sweep job`: the Kubernetes objects that run a sweep as an Indexed Job.
struct SweepJob: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "job",
    abstract:
      "Print the Kubernetes objects that run a sweep's shards as an Indexed Job and merge them.",
    discussion: """
      Prints, for `kubectl apply -f -`: a ConfigMap holding the sweep, the volume the shards write to (a PersistentVolumeClaim for pvc:NAME), an Indexed Job (completionMode: Indexed, completions and BERTH_SHARDS = --shards, backoffLimitPerIndex = --retries, restartPolicy: Never) whose pod I runs `berth sweep run --shard I/N` into RESULTS/SWEEP/shards/I, and a merge Job created suspended: resume it once the Indexed Job completes (docs/sweeps.md walks through it). Each shard is idempotent: a retried index rewrites its folder whole.

      Relative input paths in the sweep resolve against --data inside the container: by default the image's bundled sweeps folder, so the bundled sweeps run as they are.

      Examples:
        berth sweep job datasets/sweeps/openb-like-grid.yaml \\
          --image registry.example/berth:0.10 --shards 4 | kubectl apply -f -
        berth sweep job my-study.yaml --image registry.example/berth:0.10 \\
          --shards 16 --storage pvc:studies --data /results/inputs
      """)

  @Argument(help: "The sweep: a YAML file (kind: Sweep).") var sweep: String
  @Option(help: "The container image holding berth (see the Dockerfile).") var image: String
  @Option(help: "Shards: the Indexed Job's completions.") var shards: Int
  @Option(
    help: ArgumentHelp(
      "Where shards write: pvc:NAME (a ReadWriteMany claim, printed too) or hostpath:/PATH.",
      valueName: "pvc:name|hostpath:path"))
  var storage: String?
  @Option(help: "The claim's size for pvc: storage.") var storageSize: String = "1Gi"
  @Option(help: "Shards running at once (default: all).") var parallelism: Int?
  @Option(help: "Retries of a failed shard (backoffLimitPerIndex).") var retries: Int = 2
  @Option(help: "CPUs per shard: the request, and its worker threads.") var cpus: Int = 2
  @Option(help: "Memory per shard, a Kubernetes quantity (default: estimated from the inputs).")
  var memory: String?
  @Option(help: "Folder in the container that relative inputs resolve against.") var data: String =
    SweepJob.imageSweeps

  /// Where the image (Dockerfile) keeps the bundled datasets and sweeps.
  static let imageDatasets = "/usr/share/berth/datasets"
  static let imageSweeps = imageDatasets + "/sweeps"
  /// Mount points in the pods.
  static let sweepMount = "/etc/berth/sweep"
  static let resultsMount = "/results"

  func validate() throws {
    guard shards >= 1, shards <= SweepShard.maxCount else {
      throw ValidationError("--shards must be 1…\(SweepShard.maxCount), found \(shards)")
    }
    if let parallelism, parallelism < 1 || parallelism > shards {
      throw ValidationError(
        "--parallelism must be 1…\(shards) (the shard count), found \(parallelism)")
    }
    guard retries >= 0, retries <= 100 else {
      throw ValidationError("--retries must be 0…100, found \(retries)")
    }
    guard cpus >= 1, cpus <= 1024 else {
      throw ValidationError("--cpus must be 1…1024, found \(cpus)")
    }
    guard !image.isEmpty, !image.contains(where: \.isWhitespace) else {
      throw ValidationError(
        "--image: expected an image reference such as registry.example/berth:0.10")
    }
    _ = try volume()
    for (option, q) in [("--storage-size", storageSize), ("--memory", memory ?? "1Gi")] {
      guard (try? Quantity(parsing: q)) != nil, !q.hasPrefix("-") else {
        throw ValidationError(
          "\(option): expected a Kubernetes quantity such as 512Mi or 2Gi, found \"\(Escaped(q))\"")
      }
    }
  }

  /// The results volume: a claim's name, or a host path.
  enum Volume: Equatable {
    case claim(String)
    case hostPath(String)
  }

  func volume() throws -> Volume {
    let text = storage ?? "pvc:\(Self.objectName("berth", sweepName(), ""))"
    if text.hasPrefix("pvc:"), Self.isDNSLabel(String(text.dropFirst(4))) {
      return .claim(String(text.dropFirst(4)))
    }
    if text.hasPrefix("hostpath:/") { return .hostPath(String(text.dropFirst(9))) }
    throw ValidationError(
      "--storage: expected pvc:NAME (a DNS label) or hostpath:/ABSOLUTE/PATH, found \"\(Escaped(text))\""
    )
  }

  /// The sweep's name as read, or its file name before the document is read (for defaults).
  func sweepName() -> String {
    (try? SweepYAML.read(path: sweep).name)
      ?? ((sweep as NSString).lastPathComponent as NSString).deletingPathExtension
  }

  static func isDNSLabel(_ s: String) -> Bool {
    !s.isEmpty && s.count <= 63 && s.first!.isLetter
      && s.last.map { $0.isLetter || $0.isNumber } == true
      && s.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
  }

  /// `prefix-NAME-suffix` as a DNS label of at most 52 characters (an Indexed Job's pods are
  /// named after it with the index and a random suffix): lower case, other characters as `-`.
  static func objectName(_ prefix: String, _ name: String, _ suffix: String) -> String {
    var body = String(
      name.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
    while body.contains("--") { body = body.replacingOccurrences(of: "--", with: "-") }
    body = String(body.trimmingCharacters(in: CharacterSet(charactersIn: "-")))
    let fixed = prefix.count + 1 + (suffix.isEmpty ? 0 : suffix.count + 1)
    body = String(body.prefix(max(52 - fixed, 1))).trimmingCharacters(
      in: CharacterSet(charactersIn: "-"))
    return [prefix, body.isEmpty ? "sweep" : body, suffix].filter { !$0.isEmpty }.joined(
      separator: "-")
  }

  /// A YAML scalar for any text: JSON's double-quoted string is one.
  static func quoted(_ s: String) -> String {
    let data = (try? JSONEncoder().encode(s)) ?? Data("\"\"".utf8)
    return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
  }

  func run() throws { print(try manifests(), terminator: "") }

  /// The objects, as YAML documents.
  func manifests() throws -> String {
    let plan = try SweepPlan(path: sweep, data: nil)
    // The sweep is checked whole; its inputs, which may live only where the pods run, are read
    // here only for the memory estimate.
    let experiment: any SweepExperiment.Type =
      switch plan.document.experiment {
      case .compare: CompareSweep.self
      case .autoscaleCompare: AutoscaleCompareSweep.self
      case .simulate: SimulateSweep.self
      }
    _ = try experiment.init(plan: plan, readInputs: false)
    let inputs: Result<[SweepManifest.Input], any Error> = Result {
      try experiment.init(plan: plan, readInputs: true).inputs
    }
    let text: String
    do throws(InputError) { text = try InputFile.text(sweep) } catch {
      throw CommandFailure(error.description)
    }
    guard text.utf8.count < 1 << 20 else {
      throw CommandFailure("\(sweep): more than 1 MiB, more than a ConfigMap may hold")
    }
    return manifests(plan: plan, sweepText: text, inputs: inputs)
  }

  /// Memory per shard: the inputs held once per worker thread, plus the runtime, rounded up
  /// to 64 MiB; at least 512 MiB. Inputs that cannot be read here give 1 GiB.
  func estimatedMemoryMiB(_ inputs: Result<[SweepManifest.Input], any Error>) -> Int {
    guard case .success(let inputs) = inputs else { return 1024 }
    let bytes = inputs.reduce(0) { $0 + $1.bytes }
    let mib = 256 + cpus * (64 + (bytes * 8) >> 20)
    return max(512, (mib + 63) / 64 * 64)
  }

  /// Where the memory figure came from, for the header.
  func memoryNote(_ inputs: Result<[SweepManifest.Input], any Error>) -> String {
    if memory != nil { return "--memory" }
    switch inputs {
    case .success: return "estimated from the inputs' size; --memory sets it"
    case .failure(let e):
      return "1Gi, the inputs are not readable here (\(String(describing: e))); --memory sets it"
    }
  }

  func manifests(
    plan: SweepPlan, sweepText: String, inputs: Result<[SweepManifest.Input], any Error>
  ) -> String {
    let name = plan.document.name
    let job = Self.objectName("berth-sweep", name, "")
    let merge = Self.objectName("berth-merge", name, "")
    let config = Self.objectName("berth-sweep", name, "spec")
    let folder = Self.resultsMount + "/" + Self.objectName("sweep", name, "")
    let mem = memory ?? "\(estimatedMemoryMiB(inputs))Mi"
    let volumeName = "results"
    let vol = (try? volume()) ?? .claim(job)
    var volumeSource: String
    switch vol {
    case .claim(let c): volumeSource = "persistentVolumeClaim: {claimName: \(c)}"
    case .hostPath(let p):
      volumeSource = "hostPath: {path: \(Self.quoted(p)), type: DirectoryOrCreate}"
    }
    let labels =
      "{app.kubernetes.io/name: berth, berth.dev/sweep: \(Self.quoted(Self.objectName("", name, "")))}"
    /// A Job's pod spec, as the lines under `template.spec` (indented six spaces).
    func podSpec(args: [String], env: [(String, String)], cpu: Int, restart: String) -> String {
      var lines = [
        "restartPolicy: \(restart)",
        "# The image runs as user 10001; the volume is made writable to its group.",
        "securityContext: {runAsUser: 10001, runAsNonRoot: true, fsGroup: 10001}",
        "containers:",
        "- name: berth",
        "  image: \(Self.quoted(image))",
        "  args: [\(args.map(Self.quoted).joined(separator: ", "))]",
      ]
      if !env.isEmpty {
        lines.append("  env:")
        for (k, v) in env { lines.append("  - {name: \(k), value: \(Self.quoted(v))}") }
      }
      lines += [
        "  resources:",
        "    requests: {cpu: \"\(cpu)\", memory: \(mem)}",
        "    limits: {memory: \(mem)}",
        "  volumeMounts:",
        "  - {name: \(volumeName), mountPath: \(Self.resultsMount)}",
        "  - {name: sweep, mountPath: \(Self.sweepMount), readOnly: true}",
        "volumes:",
        "- name: \(volumeName)",
        "  \(volumeSource)",
        "- name: sweep",
        "  configMap: {name: \(config)}",
      ]
      return lines.map { "      " + $0 + "\n" }.joined()
    }
    var out = """
      # berth sweep job: sweep \(name) (\(plan.document.experiment.rawValue)), \(plan.grid.count) runs in \(shards) shards.
      # Apply: kubectl apply -f THIS; wait: kubectl wait --for=condition=complete job/\(job) --timeout=24h
      # Merge: kubectl patch job \(merge) --type=merge -p '{"spec":{"suspend":false}}'
      # Results: \(folder)/merged on the results volume (docs/sweeps.md).
      # Memory per shard: \(memoryNote(inputs)).

      """
    if case .claim(let c) = vol {
      out += """
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: \(c)
          labels: \(labels)
        spec:
          accessModes: [ReadWriteMany]
          resources:
            requests: {storage: \(storageSize)}

        """
    }
    let literal =
      sweepText.hasSuffix("\n") && !sweepText.hasSuffix("\n\n") && !sweepText.contains("\r")
      && !sweepText.contains("\t") && !(sweepText.first?.isWhitespace ?? true)
    let body =
      literal
      ? "|\n"
        + sweepText.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map {
          $0.isEmpty ? "" : "    " + $0
        }.joined(separator: "\n") + "\n"
      : Self.quoted(sweepText) + "\n"
    out += """
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: \(config)
        labels: \(labels)
      data:
        sweep.yaml: \(body)
      """
    out += """
      ---
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: \(job)
        labels: \(labels)
      spec:
        completionMode: Indexed
        completions: \(shards)
        parallelism: \(parallelism ?? shards)
        backoffLimitPerIndex: \(retries)
        template:
          metadata:
            labels: \(labels)
          spec:

      """
    out += podSpec(
      args: [
        "sweep", "run", Self.sweepMount + "/sweep.yaml", "--data", data, "--jobs", String(cpus),
        "--out", folder + "/shards/$(JOB_COMPLETION_INDEX)",
      ], env: [("BERTH_SHARDS", String(shards))], cpu: cpus, restart: "Never")
    out += """
      ---
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: \(merge)
        labels: \(labels)
      spec:
        suspend: true
        completions: 1
        backoffLimit: \(retries)
        template:
          metadata:
            labels: \(labels)
          spec:

      """
    out += podSpec(
      args: ["sweep", "merge", folder + "/shards", "--out", folder + "/merged"], env: [], cpu: 1,
      restart: "Never")
    return out
  }
}
