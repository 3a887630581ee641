import ArgumentParser
import BerthBench
import BerthCore
import BerthTraces
import Foundation

/// `berth bench`: benchmark suites, report comparison and paired A/B runs.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run benchmark suites, compare reports, or compare two berth binaries.",
    subcommands: [BenchRun.self, BenchCompare.self, BenchAB.self], defaultSubcommand: BenchRun.self)
}

struct BenchRun: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract:
      "Run the workloads of one or more suites and report throughput, latency and counters.",
    discussion: """
      SUITE is a suite file or a directory of them. Setup ops run unmeasured; the pods of a `createPods` op with `collectMetrics: true` (or between start/stopCollectingMetrics) are measured one scheduling cycle at a time. Heap allocations are counted by preloading libBerthMallocCounter.so from beside the executable (berth re-executes itself once). Exits non-zero when a threshold fails.

      Examples:
        # Every smoke workload of the bundled suites
        berth bench datasets/suites --label smoke --seed 1

        # One suite's performance workloads, with JSON and Markdown reports
        berth bench datasets/suites/scheduling-basic.yaml --label performance \\
          --out report.json --markdown report.md
      """)

  @Argument(help: "Suite files or directories of suite files.") var suites: [String]
  @Option(help: "Run only workloads carrying this label (repeatable; all must match).") var label:
    [String] = []
  @Option(help: "Run only workloads whose suite/testCase/workload id contains this text.")
  var workload: String?
  @Option(help: "Seed for generators and tie-breaking; drawn and printed when absent.") var seed:
    UInt64?
  @Option(help: "JSON report path.") var out: String?
  @Option(help: "CSV report path.") var csv: String?
  @Option(help: "Markdown report path.") var markdown: String?
  @Option(help: "Throughput window in milliseconds (scheduler_perf samples once a second).")
  var throughputWindowMs: Int = 1000
  @Option(
    help:
      "Timed samples per workload after one untimed warm-up run: each round reruns the workload (same seed) until --min-sample-ms of measured time; reported throughput and latency p50/p99 are the median round's."
  ) var rounds: Int = 5
  @Option(
    help:
      "Shortest measured time of one sample, in milliseconds (short workloads are repeated within a round)."
  ) var minSampleMs: Int = 50
  @Flag(help: "Do not count heap allocations (and do not re-execute to preload the counter).")
  var noAllocationCounter = false
  @Flag(
    help: "Pass even when a threshold's metric was not measured (allocations without the counter).")
  var allowUnmeasured = false
  @Flag(
    help:
      "Also count each workload's instructions per measured pod by running it once more under valgrind's callgrind (slow: tens of times a native run). `bench compare` then gates on these counts, which a machine's changing speed does not move."
  ) var instructions = false
  /// The counting run under callgrind (`--instructions` starts it).
  @Flag(help: .hidden) var instructionCountingChild = false

  func validate() throws {
    guard (1...1_000).contains(rounds) else { throw ValidationError("--rounds must be in 1…1000") }
    guard (0...60_000).contains(minSampleMs) else {
      throw ValidationError("--min-sample-ms must be in 0…60000")
    }
    guard (1...3_600_000).contains(throughputWindowMs) else {
      throw ValidationError(
        "--throughput-window-ms must be in 1…3600000 (an hour), found \(throughputWindowMs)")
    }
  }

  func run() throws {
    if instructionCountingChild {
      do {
        try InstructionCounting.countSelected(
          paths: suites, labels: label, workloadFilter: workload, seed: seed ?? 0)
      } catch {
        throw CommandFailure(error.description)
      }
      return
    }
    do {
      for (path, option) in [(out, "--out"), (csv, "--csv"), (markdown, "--markdown")] {
        if let path { try OutputPaths.checkFile(path, option: option) }
      }
    } catch {
      throw CommandFailure(error.description)
    }
    if !noAllocationCounter { AllocationCounterLoader.reexecWithCounterIfAvailable() }
    let seed = self.seed ?? UInt64.random(in: 0..<1_000_000_000)
    print("seed=\(seed)")
    let report: BenchReport
    do {
      let counter: AllocationCounter =
        noAllocationCounter || MallocCount.current() == nil
        ? .none : AllocationCounter { MallocCount.current() }
      var bar: Progress?
      report = try BenchSession.run(
        paths: suites, labels: label, workloadFilter: workload, seed: seed,
        windowNanos: UInt64(throughputWindowMs) * 1_000_000, allocations: counter, rounds: rounds,
        minimumSampleSeconds: Double(minSampleMs) / 1000,
        instructionCounts: instructions
          ? { () throws(InputError) in
            bar?.finish()
            bar = nil
            print("counting instructions under callgrind…")
            return try InstructionCounting.measure(
              executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
              childArguments: childArguments(seed: seed))
          } : nil,
        progress: { id, done, total in
          if done == 0 {
            bar?.finish()
            bar = Progress(total: total, label: id)
          } else {
            bar?.update(done)
          }
        })
      bar?.finish()
    } catch {
      throw CommandFailure(error.description)
    }
    let e = report.environment
    let isa =
      (e.vectorExtensions ?? []).isEmpty
      ? "vector extensions unknown" : (e.vectorExtensions ?? []).joined(separator: " ")
    print("machine: \(e.cpuModel), \(e.cores) cores, \(isa)")
    print(report.table(), terminator: "")
    do {
      if let out { try AtomicFile.write(report.json(), to: out) }
      if let csv { try AtomicFile.write(report.csv(), to: csv) }
      if let markdown { try AtomicFile.write(report.markdown(), to: markdown) }
    } catch {
      throw CommandFailure(error.description)
    }
    if !report.passed {
      let failed = report.workloads.filter { !$0.passed }.count
      throw CommandFailure("\(failed) workload(s) failed their thresholds")
    }
    let unmeasured = report.workloads.reduce(0) { $0 + $1.unmeasured }
    if unmeasured > 0 && !allowUnmeasured {
      throw CommandFailure(
        "\(unmeasured) threshold(s) not measured: libBerthMallocCounter.so was not preloaded (build it with `swift build`, or pass --allow-unmeasured)"
      )
    }
  }
}

extension BenchRun {
  /// The counting child's command line: the same selection and seed, nothing written.
  func childArguments(seed: UInt64) -> [String] {
    var args = ["bench", "run"] + suites
    for l in label { args += ["--label", l] }
    if let workload { args += ["--workload", workload] }
    return args + ["--seed", String(seed), "--instruction-counting-child"]
  }
}

/// Re-executes berth once with libBerthMallocCounter.so preloaded and deterministic hashing.
///
/// `SWIFT_DETERMINISTIC_HASHING=1` fixes Swift's per-process hash seed, so dictionaries grow the
/// same way in every run and allocation counts repeat exactly between runs of one build (they
/// varied by ±1 % on PreemptionBasic without it). Decisions never depend on hashing either way.
enum AllocationCounterLoader {
  static func reexecWithCounterIfAvailable() {
    let env = ProcessInfo.processInfo.environment
    guard env["BERTH_REEXECUTED"] == nil else { return }
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let lib = exe.deletingLastPathComponent().appendingPathComponent("libBerthMallocCounter.so")
      .path
    let wantsCounter = MallocCount.current() == nil && FileManager.default.fileExists(atPath: lib)
    guard wantsCounter || env["SWIFT_DETERMINISTIC_HASHING"] != "1" else { return }
    if wantsCounter {
      let existing = env["LD_PRELOAD"].map { $0 + ":" } ?? ""
      setenv("LD_PRELOAD", existing + lib, 1)
    }
    setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1)
    setenv("BERTH_REEXECUTED", "1", 1)
    fflush(nil)
    execv(exe.path, CommandLine.unsafeArgv)
    // execv returns only on failure: carry on without allocation counts.
  }
}
