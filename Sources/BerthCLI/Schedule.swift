import ArgumentParser
import BerthBench
import BerthCore
import BerthScheduling
import BerthTraces
import Foundation
import Histogram

/// `berth schedule`: place a cluster's pending pods one at a time, as kube-scheduler would.
struct Schedule: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Schedule a cluster's pods through the scheduling queue and report throughput and latency.",
    discussion: """
      Pods arrive at their creation times (virtual time) and go through kube-scheduler's queue: one scheduling cycle at a time, retried on the cluster events their rejecting plugins' queueing hints accept, after backoff or by the 5-minute flush, preempting lower-priority pods where they may. --no-queue makes one attempt per pod in arrival order instead. The cluster is a Berth cluster CSV directory (nodes.csv, pods.csv) or Kubernetes YAML (a file, a multi-document file, a List, or a directory).

      Examples:
        # Default profile, adaptive percentageOfNodesToScore, seeded tie-breaking
        berth schedule --cluster datasets/sample --seed 42

        # A KubeSchedulerConfiguration, placements written for later replay
        berth schedule --cluster datasets/sample \\
          --config datasets/profiles/pct100.yaml --out placements.csv

        # Replay recorded placements (here the run above) against Berth's scores
        berth schedule --cluster datasets/sample --follow placements.csv \\
          --scores-out scores.csv --scores-pods 20

        # A kubectl dump as a v1.26 cluster would schedule it
        berth schedule --cluster dump.yaml \\
          --feature-gates MinDomainsInPodTopologySpread=false
      """)

  @Option(help: "Cluster: a Berth cluster CSV directory or Kubernetes YAML (file or directory).")
  var cluster: String

  @Option(help: "KubeSchedulerConfiguration YAML (kubescheduler.config.k8s.io/v1).")
  var config: String?

  @Option(help: "Seed for tie-breaking; drawn and printed when absent.")
  var seed: UInt64?

  @Option(help: "How ties at the top score are broken: uniform (seeded) or lowest-index.")
  var tieBreak: TieBreakOption = .uniform

  @Option(
    help:
      "Write placements as CSV (pod,node): the node, or unschedulable, preempted, gated, or pending (left to another scheduler)."
  )
  var out: String?

  @Option(
    help: "Replay placements from this CSV instead of choosing, comparing each with Berth's scores."
  )
  var follow: String?

  @Option(
    help: "Write every scored node of the first --scores-pods pods as CSV (weighted plugin scores)."
  )
  var scoresOut: String?

  @Option(help: "How many pods --scores-out covers.")
  var scoresPods: Int = 200

  @Option(
    help:
      "Explain one pod's first cycle: filter verdicts per plugin, topology spread and affinity counts per domain, the scores of its top nodes and any preemption."
  )
  var explain: String?

  @Flag(
    help:
      "One attempt per pod in arrival order, without the scheduling queue (implied by --follow and --scores-out)."
  )
  var noQueue = false

  @Flag(
    help:
      "Retry an unschedulable pod on every event its rejecting plugins register for, without asking their queueing hints (kube-scheduler before v1.32, or with the SchedulerQueueingHints gate off)."
  )
  var noQueueingHints = false

  @Option(
    help:
      "kube-scheduler feature gates whose defaults differ across versions, e.g. MinDomainsInPodTopologySpread=false for v1.26 (see docs/conformance.md)."
  )
  var featureGates: String?

  @Option(
    help:
      "Virtual milliseconds each scheduling cycle takes in a queue run: pending times then include the wait behind other pods' cycles (0: cycles take no virtual time)."
  )
  var cycleTime: Double = 0

  @Option(
    help:
      "Cores a scheduling cycle uses: 2 splits filter and score passes over 4,096 nodes or more between two threads, 1 keeps them on one (placements are the same)."
  )
  var cores: Int = 2

  func validate() throws {
    if !(1...2).contains(cores) { throw ValidationError("--cores must be 1 or 2") }
    if scoresPods < 0 { throw ValidationError("--scores-pods must be ≥ 0") }
    if noQueueingHints && (noQueue || follow != nil || scoresOut != nil) {
      throw ValidationError(
        "--no-queueing-hints applies to queue runs; --no-queue, --follow and --scores-out make none"
      )
    }
    if !(cycleTime >= 0 && cycleTime <= 3_600_000) {
      throw ValidationError("--cycle-time must be in 0…3600000 milliseconds")
    }
    if cycleTime > 0 && (noQueue || follow != nil || scoresOut != nil) {
      throw ValidationError(
        "--cycle-time applies to queue runs; --no-queue, --follow and --scores-out make none")
    }
  }

  func run() throws {
    let seed = self.seed ?? UInt64.random(in: 0..<1_000_000_000)
    print("seed=\(seed)")
    do {
      try execute(seed: seed)
    } catch let e as InputError {
      throw CommandFailure(e.description)
    } catch let e as ConfigurationError {
      throw CommandFailure("\(config ?? "configuration"): \(e.description)")
    }
  }

  private func execute(seed: UInt64) throws {
    // Output paths are checked before anything runs, so a typo never costs the results.
    if let out { try OutputPaths.checkFile(out, option: "--out") }
    if let scoresOut { try OutputPaths.checkFile(scoresOut, option: "--scores-out") }
    let loadClock = ContinuousClock()
    let loadStarted = loadClock.now
    let gates = try featureGates.map { try FeatureGates(parsing: $0) } ?? FeatureGates()
    let counts = LoadProgress()
    let loadingLine = LoadingLine(cluster, counts: counts)
    defer { loadingLine.finish() }
    var (loaded, omitted) = try ClusterLoader.load(cluster, progress: counts).live()
    loadingLine.finish()
    loaded.pods = gates.apply(to: loaded.pods)
    let profiles =
      try config.map { try SchedulerConfigurationYAML.read(path: $0) }.map {
        try Profile.resolve($0)
      }
      ?? [Profile.default]
    let built = try loaded.makeCluster(file: cluster)
    let loadSeconds = (loadClock.now - loadStarted).seconds
    let bytes = ClusterLoader.inputBytes(cluster)
    print(
      String(
        format: "load: %.3f s (%.1f MB at %.1f MB/s)", loadSeconds, Double(bytes) / 1e6,
        Double(bytes) / 1e6 / max(loadSeconds, 1e-9)))
    if let explain, built.pods.id(named: explain) == nil {
      throw CommandFailure("--explain: no pod named \"\(Escaped(explain))\" in \(cluster)")
    }
    var unenforced: [String: Int] = [:]
    for p in loaded.pods { for field in p.unenforced { unenforced[field, default: 0] += 1 } }
    if !unenforced.isEmpty {
      let list = unenforced.sorted { $0.key < $1.key }.map {
        "\($0.key) (\($0.value) pod\($0.value == 1 ? "" : "s"))"
      }
      FileHandle.standardError.write(
        Data("not modelled (placements ignore them): \(list.joined(separator: ", "))\n".utf8))
    }
    for (pod, node) in omitted.boundToMissingNode.prefix(1) {
      let more =
        omitted.boundToMissingNode.count > 1
        ? " (and \(omitted.boundToMissingNode.count - 1) more pod(s) bound to missing nodes)" : ""
      FileHandle.standardError.write(
        Data(
          "warning: pod \(Escaped(pod)) is bound to node \(Escaped(node)), which the input does not have; left out\(more)\n"
            .utf8))
    }
    // Which pods this run schedules: unbound ones naming one of the profiles, each through that
    // profile. Pods already bound (spec.nodeName) occupy their nodes; pods for other schedulers
    // stay pending.
    let plan = SchedulingPlan(pods: loaded.pods, profileNames: profiles.map(\.schedulerName))
    print(plan.summary(omitted: omitted))
    print("cluster: \(built.nodes.count) nodes, \(built.pods.count) pods (\(cluster))")
    for profile in profiles {
      let pct =
        profile.percentageOfNodesToScore.map { $0 == 0 ? "adaptive" : "\($0)%" } ?? "adaptive"
      print(
        "profile: \(profile.schedulerName), percentageOfNodesToScore \(pct), tie-break \(tieBreak.rawValue), cores \(cores)"
      )
    }

    let recorded = try follow.map { try PlacementsCSV.read(path: $0) }
    let profileOf = plan.profile
    if recorded == nil && scoresOut == nil && !noQueue {
      let arrivals = try loaded.arrivals(file: cluster)
      var settings = QueueSettings()
      settings.queueingHints = !noQueueingHints && gates.isEnabled(.schedulerQueueingHints)
      settings.cycleDuration = .seconds(cycleTime / 1000)
      // One scheduler per profile, sharing the start index, tie-breaking draws and nominations.
      let run = SchedulingRun(
        cluster: built, profiles: profiles, seed: seed, tieBreak: tieBreak.value,
        profileOf: { profileOf[$0.index] ?? 0 }, mode: .queued(settings, seed: seed))
      for s in run.schedulers { s.usesSecondCore = cores == 2 }
      try runQueued(
        run, built: built, arrivals: arrivals, plan: plan, classNames: loaded.priorityClassNames)
      return
    }
    let run = RunRecorder(
      run: SchedulingRun(
        cluster: built, profiles: profiles, seed: seed, tieBreak: tieBreak.value,
        profileOf: { profileOf[$0.index] ?? 0 }, mode: .direct),
      scoresPods: scoresOut == nil ? 0 : scoresPods)
    for s in run.run.schedulers { s.usesSecondCore = cores == 2 }
    let progress = Progress(total: built.pods.count)
    let clock = ContinuousClock()
    let mallocsBefore = MallocCount.current()
    let started = clock.now
    // A gated pod is never attempted (the queue keeps it gated in a queue run).
    for p in 0..<built.pods.count where plan.scheduled[p] && !plan.gated[p] {
      let pod = PodID(UInt32(p))
      let name = built.pods.name(pod)
      if let recorded {
        run.follow(pod, recorded: recorded[name])
      } else {
        run.schedule(pod, explain: name == explain)
      }
      progress.update(p + 1)
    }
    let wall = clock.now - started
    let mallocsAfter = MallocCount.current()
    progress.finish()
    built.checkInvariants()
    run.report(wall: wall, following: recorded != nil)
    if let before = mallocsBefore, let after = mallocsAfter, built.pods.count > 0 {
      print(
        String(
          format: "heap allocations per scheduling cycle: %.3f (%d in %d cycles)",
          Double(after - before) / Double(built.pods.count), after - before, built.pods.count))
    }
    if let out {
      try PlacementsCSV.write(plan.placements(run.placements(), cluster: built), to: out)
    }
    if let scoresOut { try AtomicFile.write(run.scoreRows, to: scoresOut) }
    if let explain, !run.explained {
      throw CommandFailure("--explain: no pod named \"\(explain)\" in \(cluster)")
    }
  }
}

extension Schedule {
  /// Pods arrive at their creation time relative to the earliest (0 without one), in file order
  /// on ties, and go through the scheduling queue: retries on cluster events, backoff, the
  /// 5-minute flush, preemption.
  private func runQueued(
    _ run: SchedulingRun, built: Cluster, arrivals: [VirtualTime], plan: SchedulingPlan,
    classNames: [Int32: String]
  ) throws {
    guard let queueRun = run.queue else { preconditionFailure("a queued run") }
    for p in 0..<built.pods.count where plan.scheduled[p] {
      run.submit(PodID(UInt32(p)), at: arrivals[p])
    }
    let recorder = RunRecorder(run: run, scoresPods: 0)
    var explainedCycle = false
    let progress = Progress(total: built.pods.count)
    var bound = 0
    run.onCycle = { pod, outcome, decision, nanos in
      let name = built.pods.name(pod)
      if name == explain && !explainedCycle {
        explainedCycle = true
        // Explain against the cluster as the cycle saw it: without the pod itself.
        let mask = built.pods.gpuAssignment[pod.index]
        if outcome.node != nil { built.unbind(pod) }
        recorder.printExplanation(pod, outcome)
        if let node = outcome.node { built.bind(pod, to: node, gpus: mask == 0 ? nil : mask) }
        if let d = decision {
          print(
            "  preemption: nominated \(built.nodes.name(d.node)) among \(d.candidates) candidate node(s); victims "
              + d.victims.map {
                "\(built.pods.name($0)) (priority \(built.pods.priority[$0.index]))"
              }.joined(separator: ", ")
              + "; PodDisruptionBudget violations \(d.pdbViolations)")
        } else if outcome.node == nil {
          print(
            "  preemption: none (no eligible pod or no node where evicting lower-priority pods helps)"
          )
        }
      }
      recorder.recordCycle(pod, outcome, nanos: nanos)
      if outcome.node != nil {
        bound += 1
        progress.update(bound)
      }
    }
    let clock = ContinuousClock()
    let mallocsBefore = MallocCount.current()
    let started = clock.now
    run.run()
    let wall = clock.now - started
    let mallocsAfter = MallocCount.current()
    progress.finish()
    built.checkInvariants()
    recorder.report(wall: wall, following: false, queue: queueRun, classNames: classNames)
    if let before = mallocsBefore, let after = mallocsAfter, queueRun.cycles > 0 {
      print(
        String(
          format: "heap allocations per scheduling cycle: %.3f (%d in %d cycles)",
          Double(after - before) / Double(queueRun.cycles), after - before, queueRun.cycles))
    }
    if let out {
      try PlacementsCSV.write(
        plan.placements(recorder.finalPlacements(queueRun), cluster: built), to: out)
    }
    if let explain, !explainedCycle {
      throw CommandFailure(
        built.pods.id(named: explain) != nil
          ? "--explain: pod \"\(explain)\" was never attempted (it has scheduling gates)"
          : "--explain: no pod named \"\(explain)\" in \(cluster)")
    }
  }
}

enum TieBreakOption: String, ExpressibleByArgument, CaseIterable {
  case uniform
  case lowestIndex = "lowest-index"
  var value: TieBreak { self == .uniform ? .uniform : .lowestIndex }
}

/// A failure to report as one line and a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
  var description: String
  init(_ message: String) { description = message }
}
