import ArgumentParser
import BerthBench
import BerthCore
import BerthScheduling
import BerthSimulation
import BerthTraces
import Foundation

/// `berth simulate`: a scenario through the simulated cluster, in virtual time.
struct Simulate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "simulate",
    abstract: "Run a scenario: the cluster's workloads, scheduler and kubelets in virtual time.",
    discussion: """
      SCENARIO is a YAML file (or a folder of them) holding the cluster's objects — Nodes, Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs, Services, Pods, PriorityClasses, PodDisruptionBudgets — and one document of kind Scenario (apiVersion berth.dev/v1alpha1) with the duration, pod behaviours and timed actions (docs/simulation.md).

      Prints a summary and, with --out, writes timeseries.csv, pods.csv, events.jsonl, summary.json and report.html there as one set. The same scenario and seed give byte-identical files (summary.json's wall-clock figures aside).

      --hpa-history NAME@TIME adds the HPA controller's in-memory history (recommendations and scale events) as it stands after everything at that virtual time: hpa-history-NAMESPACE-NAME-at-SECONDSs.yaml, the file `berth hpa explain --history` reads.

      Examples:
        berth simulate datasets/scenarios/rolling-update.yaml --out /tmp/rollout
        berth simulate datasets/scenarios/crash-loop.yaml --seed 3 --until 1h
        berth simulate datasets/scenarios/rolling-update.yaml \\
          --config datasets/profiles/most-allocated.yaml
        berth simulate datasets/scenarios/hpa-flapping.yaml --out /tmp/flap \\
          --hpa-history web@30m --hpa-history web@1h
      """)

  @Argument(help: "The scenario: a YAML file or a folder of them.") var scenario: String
  @Option(help: "Seed; overrides the scenario's (default 1).") var seed: UInt64?
  @Option(help: "Output folder: new, empty, or one berth wrote (it is replaced as a whole).")
  var out: String?
  @Option(help: "Stop at this virtual time instead of the scenario's duration (e.g. 90s, 2h).")
  var until: String?
  @Option(
    help: ArgumentHelp(
      "KubeSchedulerConfiguration YAML (kubescheduler.config.k8s.io/v1) for the scheduler.",
      discussion:
        "Each pod goes to the profile its spec.schedulerName names; pods naming none stay Pending."
    ))
  var config: String?
  @Option(
    name: .customLong("hpa-history"),
    help: ArgumentHelp(
      "Also write an HPA's controller history at a virtual time: NAME@TIME or NAMESPACE/NAME@TIME.",
      discussion: "Repeatable; needs --out. The file is what `berth hpa explain --history` reads."))
  var hpaHistory: [String] = []
  @Option(
    help: ArgumentHelp(
      "timeseries.csv's resolution (e.g. 1m): changes within each interval make one row.",
      discussion: "Default: every change. Long runs of many autoscalers change every scrape."))
  var timeseriesInterval: String?
  @Option(
    help: ArgumentHelp(
      "Threads the run may use (default: the machine's cores).",
      discussion:
        "The HPA controller works out its reconciles of one sync on all of them; the outputs are the same for any count."
    ))
  var threads: Int?

  /// A `--hpa-history` request: the HPA and the instant.
  struct HistoryDump {
    var namespace: String
    var name: String
    var at: VirtualTime
    var file: String
  }

  static func historyDump(_ text: String) throws -> HistoryDump {
    guard let at = text.lastIndex(of: "@"), at != text.startIndex else {
      throw CommandFailure("--hpa-history \(text): expected NAME@TIME or NAMESPACE/NAME@TIME")
    }
    let who = text[..<at].split(separator: "/", omittingEmptySubsequences: false)
    guard who.count <= 2, !who.contains(where: \.isEmpty) else {
      throw CommandFailure("--hpa-history \(text): expected NAME@TIME or NAMESPACE/NAME@TIME")
    }
    let t: Int64
    do { t = try GoDuration.parse(String(text[text.index(after: at)...])) } catch {
      throw CommandFailure("--hpa-history \(text): \(error.description)")
    }
    guard t >= 0 else { throw CommandFailure("--hpa-history \(text): the time is negative") }
    let namespace = who.count == 2 ? String(who[0]) : "default"
    let name = String(who.last!)
    let seconds = VirtualTime(nanoseconds: t).description
    return HistoryDump(
      namespace: namespace, name: name, at: VirtualTime(nanoseconds: t),
      file: "hpa-history-\(namespace)-\(name)-at-\(seconds).yaml")
  }

  func run() throws {
    let scenario: Scenario
    do { scenario = try Scenario.read(path: self.scenario) } catch {
      throw CommandFailure(error.description)
    }
    if let out {
      do { try OutputSet.checkDestination(out) } catch { throw CommandFailure(error.description) }
    }
    var end = scenario.duration
    if let until {
      do { end = VirtualTime(nanoseconds: try GoDuration.parse(until)) } catch {
        throw ValidationError("--until: \(error.description)")
      }
      guard end > .zero else { throw ValidationError("--until must be positive") }
    }
    var resolution: Int64 = 0
    if let timeseriesInterval {
      do { resolution = try GoDuration.parse(timeseriesInterval) } catch {
        throw CommandFailure("--timeseries-interval: \(error.description)")
      }
      guard resolution > 0 else { throw CommandFailure("--timeseries-interval must be positive") }
    }
    var dumps = try hpaHistory.map(Self.historyDump).sorted { $0.at < $1.at }
    if !dumps.isEmpty && out == nil { throw CommandFailure("--hpa-history needs --out") }
    if let late = dumps.first(where: { $0.at > end }) {
      throw CommandFailure(
        "--hpa-history \(late.name)@\(late.at): after the run's end (\(Self.format(end)))")
    }
    let profiles: [Profile]
    do {
      profiles =
        try config.map { try Profile.resolve(try SchedulerConfigurationYAML.read(path: $0)) }
        ?? [.default]
    } catch let error as ConfigurationError {
      throw CommandFailure("\(config ?? ""): \(error)")
    } catch { throw CommandFailure("\(error)") }
    let sim: Simulation
    do {
      sim = try Simulation(
        scenario: scenario, seed: seed, keepsOutputs: out != nil, profiles: profiles)
    } catch { throw CommandFailure(error.description) }
    sim.recorder.timeseriesInterval = resolution
    if let threads {
      guard threads > 0 else { throw CommandFailure("--threads must be positive") }
      sim.threads = threads
    }
    for d in dumps where sim.hpaHistoryYAML(namespace: d.namespace, name: d.name) == nil {
      throw CommandFailure(
        "--hpa-history: the scenario has no HorizontalPodAutoscaler \(d.namespace)/\(d.name)")
    }
    // The time series, event lines and pod rows grow with the run: they go to their files as
    // they come.
    var streamed: [StreamedOutput] = []
    if let out {
      do {
        let names = SimulationOutputs.streamedFiles
        let timeseries = try StreamedOutput(name: names.timeseries, in: out)
        let events = try StreamedOutput(name: names.events, in: out)
        let pods = try StreamedOutput(name: names.pods, in: out)
        sim.recorder.stream(timeseries: timeseries.write, events: events.write, pods: pods.write)
        streamed = [timeseries, events, pods]
      } catch { throw CommandFailure(error.description) }
    }
    print("scenario=\(scenario.name) seed=\(sim.seed) until=\(Self.format(end))")
    if config != nil {
      print("scheduler profiles: \(profiles.map(\.schedulerName).joined(separator: ", "))")
    }
    let started = DispatchTime.now().uptimeNanoseconds
    let totalSeconds = max(1, Int(end.nanoseconds / 1_000_000_000))
    let progress = Progress(total: totalSeconds, label: "virtual time", unit: "s")
    // In steps of 1 % of virtual time, for the progress bar; the result is the same in one step.
    let step = max(end.nanoseconds / 100, 1)
    var t: Int64 = 0
    var histories: [(name: String, content: String)] = []
    func takeDumps() throws {
      while let d = dumps.first, d.at.nanoseconds <= t {
        dumps.removeFirst()
        guard let yaml = sim.hpaHistoryYAML(namespace: d.namespace, name: d.name) else {
          throw CommandFailure(
            "--hpa-history: the scenario has no HorizontalPodAutoscaler \(d.namespace)/\(d.name)")
        }
        if !histories.contains(where: { $0.name == d.file }) {
          histories.append((d.file, yaml))
        }
      }
    }
    if !dumps.isEmpty {
      sim.advance(until: .zero)
      try takeDumps()
    }
    while t < end.nanoseconds {
      t = min(
        t + step, dumps.first.map { max($0.at.nanoseconds, t + 1) } ?? Int64.max, end.nanoseconds)
      sim.advance(until: VirtualTime(nanoseconds: t))
      try takeDumps()
      progress.update(Int(t / 1_000_000_000))
    }
    sim.finish()
    progress.finish()
    let wall = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    printSummary(sim, wall: wall)
    guard let out else { return }
    var inputs: [(path: String, fnv1a64: String)] = []
    for f in ((try? InputFile.yamlFiles(at: self.scenario)) ?? []) + (config.map { [$0] } ?? []) {
      if let data = FileManager.default.contents(atPath: f) {
        inputs.append((f, String(format: "%016llx", InputChecksum.fnv1a64(data))))
      }
    }
    let files =
      SimulationOutputs.files(
        sim,
        facts: .init(
          berthVersion: BerthVersion.current, inputs: inputs, wallSeconds: wall,
          machine: (
            BuildEnvironment.cpuModel(), BuildEnvironment.vectorExtensions(),
            BuildEnvironment.allocator()
          ))) + histories.map { (name: $0.name, contents: $0.content) }
    do { try OutputSet.write(files, streamed: streamed, to: out) } catch {
      throw CommandFailure(error.description)
    }
    let written = (files.map(\.name) + streamed.map(\.name)).sorted()
    print("wrote \(written.joined(separator: ", ")) to \(out)")
  }

  static func format(_ t: VirtualTime) -> String {
    let s = t.nanoseconds / 1_000_000_000
    if t.nanoseconds % 1_000_000_000 != 0 { return t.description }
    if s % 3600 == 0 && s >= 3600 { return "\(s / 3600)h" }
    if s % 60 == 0 && s >= 60 { return "\(s / 60)m" }
    return "\(s)s"
  }

  private func printSummary(_ sim: Simulation, wall: Double) {
    let t = sim.summaryTotals
    print(
      "simulated \(Self.format(sim.now)) in \(String(format: "%.2f", wall)) s wall "
        + "(\(String(format: "%.0f", sim.now.seconds / max(wall, 1e-9)))× real time; "
        + "\(sim.engine.eventsRun) engine events, \(String(format: "%.0f", Double(sim.engine.eventsRun) / max(wall, 1e-9)))/s)"
    )
    print(
      "pods created \(sim.podsCreated); now \(t.pods) pods (\(t.running) running, \(t.pending) pending) on \(t.readyNodes)/\(t.nodes) ready nodes; \(sim.recorder.eventCount) events"
    )
    if let line = sim.nodeAutoscalingLine { print(line) }
    let lines = sim.workloadLines()
    for line in lines.prefix(20) { print("  " + line) }
    if lines.count > 20 {
      print("  … and \(lines.count - 20) more workloads (summary.json lists them all)")
    }
  }
}
