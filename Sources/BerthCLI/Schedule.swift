import ArgumentParser
import BerthCore
import BerthScheduling
import BerthTraces
import Foundation
import Histogram

/// `berth schedule`: place a cluster's pending pods one at a time, as kube-scheduler would.
struct Schedule: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Schedule a cluster's pods in arrival order and report throughput and latency.",
    discussion: """
      Each pod is filtered, scored and bound before the next one is taken, as kube-scheduler does
      with a single active queue. The cluster is a Berth cluster CSV directory (nodes.csv,
      pods.csv) or Kubernetes YAML (a file, a multi-document file, a List, or a directory).

      Examples:
        # Default profile, adaptive percentageOfNodesToScore, seeded tie-breaking
        berth schedule --cluster datasets/sample --seed 42

        # A KubeSchedulerConfiguration, placements written for later replay
        berth schedule --cluster datasets/sample --config datasets/profiles/pct100.yaml --out placements.csv

        # Replay another scheduler's placements and compare them with Berth's scores
        berth schedule --cluster ../shared/oracles/kube-scheduler/input/N1000 \\
          --follow ../shared/oracles/kube-scheduler/runs/N1000_pct100/placements.csv
      """)

  @Option(help: "Cluster: a Berth cluster CSV directory or Kubernetes YAML (file or directory).")
  var cluster: String

  @Option(help: "KubeSchedulerConfiguration YAML (kubescheduler.config.k8s.io/v1).")
  var config: String?

  @Option(help: "Seed for tie-breaking; drawn and printed when absent.")
  var seed: UInt64?

  @Option(help: "How ties at the top score are broken: uniform (seeded) or lowest-index.")
  var tieBreak: TieBreakOption = .uniform

  @Option(help: "Write placements as CSV (pod,node; node is 'unschedulable' when none fits).")
  var out: String?

  @Option(help: "Replay placements from this CSV instead of choosing, comparing each with Berth's scores.")
  var follow: String?

  @Option(help: "Write every scored node of the first --scores-pods pods as CSV (weighted plugin scores).")
  var scoresOut: String?

  @Option(help: "How many pods --scores-out covers.")
  var scoresPods: Int = 200

  @Option(help: "Explain one pod's cycle: filter verdicts per plugin, topology spread counts per domain and the scores of its top nodes.")
  var explain: String?

  func validate() throws {
    if scoresPods < 0 { throw ValidationError("--scores-pods must be ≥ 0") }
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
    let loaded = try ClusterLoader.load(cluster)
    let profiles = try config.map { try SchedulerConfigurationYAML.read(path: $0) }.map { try Profile.resolve($0) }
      ?? [Profile.default]
    let built = try loaded.makeCluster(file: cluster)
    var unenforced: [String: Int] = [:]
    for p in loaded.pods { for field in p.unenforced { unenforced[field, default: 0] += 1 } }
    for (field, count) in unenforced.sorted(by: { $0.key < $1.key }) {
      FileHandle.standardError.write(Data("warning: \(count) pod(s) set \(field), which this release does not enforce; their placements ignore it\n".utf8))
    }
    let profile = profiles[0]
    let scheduler = Scheduler(cluster: built, profile: profile, seed: seed, tieBreak: tieBreak.value)
    let pct = profile.percentageOfNodesToScore.map { $0 == 0 ? "adaptive" : "\($0)%" } ?? "adaptive"
    print("cluster: \(built.nodes.count) nodes, \(built.pods.count) pods (\(cluster))")
    print("profile: \(profile.schedulerName), percentageOfNodesToScore \(pct), tie-break \(tieBreak.rawValue)")

    let recorded = try follow.map { try PlacementsCSV.read(path: $0) }
    var run = RunRecorder(scheduler: scheduler, scoresPods: scoresOut == nil ? 0 : scoresPods)
    let progress = Progress(total: built.pods.count)
    let clock = ContinuousClock()
    let mallocsBefore = MallocCount.current()
    let started = clock.now
    for p in 0..<built.pods.count {
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
      print(String(format: "heap allocations per scheduling cycle: %.3f (%d in %d cycles)",
        Double(after - before) / Double(built.pods.count), after - before, built.pods.count))
    }
    if let out { try PlacementsCSV.write(run.placements(), to: out) }
    if let scoresOut { try AtomicFile.write(run.scoreRows, to: scoresOut) }
    if let explain, !run.explained {
      throw CommandFailure("--explain: no pod named \"\(explain)\" in \(cluster)")
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
