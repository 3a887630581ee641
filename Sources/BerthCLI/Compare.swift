import ArgumentParser
import BerthCore
import BerthExperiments
import BerthScheduling
import BerthTraces
import Foundation

/// `berth compare`: GPU-sharing policies side by side on trace workloads (the FGD paper's grid).
struct Compare: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compare GPU-sharing scheduling policies on openb-format traces over many seeds.",
    discussion: """
      Runs every (workload, policy, seed) as the FGD paper does — seeded node permutation for ties, seeded pod shuffle, workload tuned to --tune × GPU capacity, arrival only, a pod that fits nowhere is dropped — in parallel across cores, and writes alloc_curves.csv, frag_curves.csv, frag_ratio_curves.csv, summary.csv (GPU allocation at 100 % and 130 % of capacity arrived, first failure) and report.html (SVG charts) to DIR, plus a summary table on stdout.

      Policies: random, dotprod, clustering, packing, bestfit, fgd, firstfit, leastallocated, mostallocated (`paper` = the paper's six).

      Example:
        berth compare \\
          --nodes datasets/openb-like/openb_node_list_gpu_node.csv \\
          --pods datasets/openb-like/openb_pod_list_default.csv \\
          --policies paper --seeds 42-51 --out /tmp/fgd
      """)

  @Option(help: "openb node list CSV.") var nodes: String
  @Option(help: "openb pod list CSV (repeatable: one workload each).") var pods: [String]
  @Option(help: "Comma-separated policies, or `paper`.") var policies: String = "paper"
  @Option(help: "Seeds: N, A-B, or a comma-separated list.") var seeds: String = "42-51"
  @Option(help: "Tune the workload to this multiple of GPU capacity (0 leaves it as is).") var tune:
    Double = 1.3
  @Option(help: "Output folder: new, empty, or one berth wrote (it is replaced as a whole).")
  var out: String
  @Option(help: "Worker threads (default: all cores).") var jobs: Int?

  func parsedPolicies() throws -> [GPUPolicy] {
    if policies == "paper" { return GPUPolicy.paper }
    var out: [GPUPolicy] = []
    for name in policies.split(separator: ",", omittingEmptySubsequences: false) {
      guard let p = GPUPolicy(rawValue: String(name)) else {
        throw ValidationError(
          "--policies: unknown policy \"\(Escaped(name))\" (expected a comma-separated list of \(GPUPolicy.allCases.map(\.rawValue).joined(separator: ", ")), or paper)"
        )
      }
      guard !out.contains(p) else {
        throw ValidationError("--policies: \(p.rawValue) is listed twice")
      }
      out.append(p)
    }
    return out
  }

  func validate() throws {
    _ = try parsedPolicies()
    _ = try SeedList.parse(seeds, option: "--seeds")
    if !(tune >= 0 && tune <= 10) {
      throw ValidationError("--tune must be a number in 0…10, found \(tune)")
    }
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    var seen = Set<String>()
    for file in pods {
      let path = URL(fileURLWithPath: file).standardizedFileURL.path
      guard seen.insert(path).inserted else {
        throw ValidationError("--pods: \(file) is given twice")
      }
    }
    var names = Set<String>()
    for file in pods where !names.insert(Self.workloadName(file)).inserted {
      throw ValidationError(
        "--pods: two files give the workload name \"\(Self.workloadName(file))\" (results are labelled by file name)"
      )
    }
  }

  /// A workload's label in the results: its pod file's name less the extension and openb's
  /// `openb_pod_list_` prefix. A label only: no result depends on it.
  static func workloadName(_ file: String) -> String {
    ((file as NSString).lastPathComponent as NSString).deletingPathExtension.replacingOccurrences(
      of: "openb_pod_list_", with: "")
  }

  func run() throws {
    let policyList = try parsedPolicies()
    let seedList = try SeedList.parse(seeds, option: "--seeds")
    let (nodeSpecs, workloads) = try loadInputs()
    var tasks: [(workload: Int, policy: GPUPolicy, seed: UInt64)] = []
    for w in workloads.indices {
      for p in policyList { for s in seedList { tasks.append((w, p, s)) } }
    }
    let threads = jobs ?? ProcessInfo.processInfo.activeProcessorCount
    print(
      "experiments: \(workloads.count) workload(s) × \(policyList.count) policies × \(seedList.count) seeds = \(tasks.count) runs on \(threads) thread(s)"
    )
    let clock = ContinuousClock()
    let started = clock.now
    let workers = min(threads, max(tasks.count, 1))
    let all = Self.execute(
      tasks, nodes: nodeSpecs, workloads: workloads, tune: tune, threads: threads)
    let elapsed = clock.now - started
    let summary = ExperimentCSV.summary(all)
    do {
      try OutputSet.write(
        Self.outputFiles(all, summary: summary)
          + [("run.json", runRecord(policies: policyList, seeds: seedList))], to: out)
    } catch {
      throw CommandFailure(error.description)
    }
    print(ExperimentCSV.summaryMarkdown(summary), terminator: "")
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(
      String(
        format: "wall time: %.1f s for %d runs (%.2f s per run per thread)", seconds, tasks.count,
        seconds * Double(workers) / Double(max(tasks.count, 1))))
    print(
      "wrote \(out)/alloc_curves.csv, frag_curves.csv, frag_ratio_curves.csv, summary.csv, summary.md, report.html, run.json"
    )
  }

  /// A workload as the runs read it: its label, pods, and typical pods.
  typealias Workload = (name: String, pods: [PodSpec], typical: [TypicalPod])

  /// Runs `tasks` on `threads` worker threads, with progress on stderr; results in task order.
  static func execute(
    _ tasks: [(workload: Int, policy: GPUPolicy, seed: UInt64)], nodes: [NodeSpec],
    workloads: [Workload], tune: Double, threads: Int
  ) -> [(ExperimentRun, Curves)] {
    let results = ResultSlots<(ExperimentRun, Curves)>(count: tasks.count)
    let progress = Progress(total: tasks.count, label: "runs")
    let next = TaskCounter()
    DispatchQueue.concurrentPerform(iterations: min(threads, max(tasks.count, 1))) { _ in
      while let i = next.take(below: tasks.count) {
        let t = tasks[i]
        let w = workloads[t.workload]
        let run = Experiment.run(
          workload: w.name, nodes: nodes, pods: w.pods, typical: w.typical, policy: t.policy,
          seed: t.seed, tune: tune)
        results.set(i, (run, Curves(run)))
        progress.update(next.done())
      }
    }
    progress.finish()
    return results.values
  }

  /// The result files of a set of runs (all but `run.json`), in the runs' order.
  static func outputFiles(_ all: [(ExperimentRun, Curves)], summary: [ExperimentCSV.SummaryRow])
    -> [(name: String, contents: String)]
  {
    var names: [String] = []
    for (run, _) in all where !names.contains(run.workload) { names.append(run.workload) }
    return [
      ("alloc_curves.csv", ExperimentCSV.rows(all, \.allocation)),
      ("frag_curves.csv", ExperimentCSV.rows(all, \.fragmentation)),
      ("frag_ratio_curves.csv", ExperimentCSV.rows(all, \.fragmentationRatio)),
      ("summary.csv", ExperimentCSV.summaryCSV(summary)),
      ("summary.md", ExperimentCSV.summaryMarkdown(summary)),
      (
        "report.html",
        HTMLReport.page(
          all, summary: summary,
          title: "GPU-sharing policies: \(names.joined(separator: ", "))")
      ),
    ]
  }

  /// The node list and each pod list with its typical pods, after checking that `--out` can
  /// take the results (so a bad path fails before the runs, not after).
  func loadInputs() throws -> (
    nodes: [NodeSpec], workloads: [(name: String, pods: [PodSpec], typical: [TypicalPod])]
  ) {
    do throws(InputError) {
      let nodeSpecs = try OpenbCSV.readNodes(path: nodes)
      var workloads: [(name: String, pods: [PodSpec], typical: [TypicalPod])] = []
      for file in pods {
        let specs = try OpenbCSV.readPods(path: file)
        workloads.append(
          (
            Self.workloadName(file), specs,
            FragmentationModel.typicalPods(specs, threshold: Experiment.popularity)
          ))
      }
      try OutputSet.checkDestination(out)
      return (nodeSpecs, workloads)
    } catch {
      throw CommandFailure(error.description)
    }
  }

  /// What produced the results: inputs with their checksums, policies, seeds, tune, version.
  func runRecord(policies: [GPUPolicy], seeds: [UInt64]) -> String {
    var podInputs: [RunRecord.Input] = []
    for p in pods { podInputs.append(RunRecord.Input(path: p)) }
    let record = RunRecord(
      berthVersion: BerthVersion.current, command: "compare", nodes: RunRecord.Input(path: nodes),
      pods: podInputs,
      policies: policies.map(\.rawValue), seeds: seeds, tune: tune)
    return record.json()
  }
}

/// `run.json` of `berth compare`: what produced the results.
struct RunRecord: Encodable {
  struct Input: Encodable {
    var path: String
    var bytes: Int
    var fnv1a64: String
    init(path: String) {
      let data = (try? InputFile.data(path)) ?? Data()
      self.path = path
      bytes = data.count
      fnv1a64 = String(format: "%016llx", InputChecksum.fnv1a64(data))
    }
  }
  var berthVersion: String
  var command: String
  var nodes: Input
  var pods: [Input]
  var policies: [String]
  var seeds: [UInt64]
  var tune: Double

  func json() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
  }
}

/// Results written by worker threads into distinct slots.
final class ResultSlots<Value>: @unchecked Sendable {
  private var slots: [Value?]
  private let lock = NSLock()
  init(count: Int) { slots = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ v: Value) {
    lock.lock()
    slots[i] = v
    lock.unlock()
  }
  var values: [Value] { slots.compactMap { $0 } }
}

/// Hands out task indices to worker threads.
final class TaskCounter: @unchecked Sendable {
  private var nextIndex = 0
  private var finished = 0
  private let lock = NSLock()
  func take(below n: Int) -> Int? {
    lock.lock()
    defer { lock.unlock() }
    guard nextIndex < n else { return nil }
    nextIndex += 1
    return nextIndex - 1
  }
  func done() -> Int {
    lock.lock()
    defer { lock.unlock() }
    finished += 1
    return finished
  }
}
