import ArgumentParser
import BerthBench
import BerthTraces
import Foundation

struct BenchCompare: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Compare two benchmark reports metric by metric; exit non-zero on a regression.",
    discussion: """
      Counters (nodes evaluated per pod, allocations per cycle, scheduled, unschedulable, nodes used, placements checksum) must match exactly; fewer allocations or nodes evaluated counts as an improvement, any other change fails. Timed metrics (throughput, latency p50 and p99) are judged from the reports' rounds: one fails only when the new rounds are worse by a one-sided Mann-Whitney test (p < 0.01) and the median moved the wrong way by more than the tolerance in percent (p99: 25 % unless set). With fewer than 5 rounds on either side a timed metric is "not enough data", which does not fail: run `berth bench --rounds 5` (the default) or more. When both reports timed the reference probe (a fixed job in C run beside every benchmark run), each round is first scaled by it, so a machine that ran slower or faster while one report was taken is not judged a change of Berth ("speed-adjusted").

      Reports taken with `berth bench run --instructions` carry instructions per measured pod, counted under valgrind's callgrind; they repeat between runs of one build whatever the machine's speed. With counts on both sides the gate (--gate auto) judges them — more than --instruction-tolerance percent more fails — and reports times without failing on them; --gate time, instructions or both chooses explicitly.

      Examples:
        berth bench compare main.json branch.json
        berth bench compare main.json branch.json --tolerance 20 \\
          --metric-tolerance latencyP99Micros=50
        berth bench compare main.json branch.json --gate instructions
      """)

  @Argument(help: "The baseline report.") var old: String
  @Argument(help: "The report to judge.") var new: String
  @Option(help: "Default tolerance for timed metrics, in percent.") var tolerance: Double = 10
  @Option(help: "Per-metric tolerance, METRIC=PERCENT (repeatable).") var metricTolerance:
    [String] = []
  @Option(help: "What fails the comparison: auto, time, instructions or both.") var gate: String =
    "auto"
  @Option(help: "Percent more instructions per pod that fails the instruction gate.")
  var instructionTolerance: Double = Comparison.defaultInstructionTolerance

  func run() throws {
    guard let gate = Comparison.Gate(rawValue: gate) else {
      throw CommandFailure(
        "--gate: expected one of \(Comparison.Gate.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(self.gate)\""
      )
    }
    guard instructionTolerance.isFinite, instructionTolerance >= 0 else {
      throw CommandFailure("--instruction-tolerance must be a non-negative number")
    }
    var tolerances: [Metric: Double] = [:]
    for t in metricTolerance {
      let parts = t.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, let m = Metric(rawValue: parts[0]), let v = Double(parts[1]), v >= 0
      else {
        throw CommandFailure(
          "--metric-tolerance: expected METRIC=PERCENT with a known metric, found \"\(t)\"")
      }
      tolerances[m] = v
    }
    let a: BenchReport
    let b: BenchReport
    do {
      a = try BenchReport.decode(path: old)
      b = try BenchReport.decode(path: new)
    } catch {
      throw CommandFailure(error.description)
    }
    let comparison = Comparison(
      old: a, new: b, defaultTolerance: tolerance, tolerances: tolerances, gate: gate,
      instructionTolerance: instructionTolerance)
    print(comparison.table(), terminator: "")
    if comparison.regressions > 0 {
      throw CommandFailure("\(comparison.regressions) regression(s) between \(old) and \(new)")
    }
  }
}

struct BenchAB: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ab",
    abstract:
      "Run the same workloads alternately with two berth binaries and report paired ratios.",
    discussion: """
      Runs `bench run` with the baseline binary and with this one in turn (A B A B …), each in a fresh process with the same seed, and reports per workload the median and range of the per-round throughput ratio this/baseline: the way to compare two commits on a noisy machine. The ratios are raw: each round's two runs are neighbours in time, which is what cancels the machine's drift, while the reference probe is not comparable across binaries (its timing moves with each build's code and data layout; two builds of the same probe differed by 4.5 %). Placement checksums must agree, or the two binaries decide differently.

      Example:
        berth bench ab --baseline /tmp/berth-main datasets/suites \\
          --label smoke --rounds 7
      """)

  @Option(help: "The other berth executable.") var baseline: String
  @Argument(help: "Suite files or directories.") var suites: [String]
  @Option(help: "Only workloads with these labels (repeatable).") var label: [String] = []
  @Option(help: "Only workloads whose id contains this text.") var workload: String?
  @Option(help: "Rounds (each runs both binaries once; 6 or more give a 95 % interval).")
  var rounds: Int = 7
  @Option(help: "Seed passed to both binaries.") var seed: UInt64 = 1

  func validate() throws {
    if rounds < 1 { throw ValidationError("--rounds must be at least 1") }
  }

  func run() throws {
    guard FileManager.default.isExecutableFile(atPath: baseline) else {
      throw CommandFailure("\(baseline): not an executable file")
    }
    let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("berth-ab-\(getpid())")
      .path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var args = ["bench", "run"] + suites + ["--seed", String(seed)]
    for l in label { args += ["--label", l] }
    if let workload { args += ["--workload", workload] }
    // One sample per binary per round, each at least 50 ms of measured time (short workloads are
    // repeated inside the run), when the baseline knows the options (builds before rounds did not).
    let sampling = ["--rounds", "1", "--min-sample-ms", "50"]
    let baselineSamples = Self.supportsRounds(baseline)
    var ratios: [String: [Double]] = [:]
    var checksumsAgree = true
    for round in 1...rounds {
      let a = try runOnce(
        baseline, args + (baselineSamples ? sampling : []) + ["--out", "\(dir)/a\(round).json"],
        "\(dir)/a\(round).json")
      let b = try runOnce(
        me, args + sampling + ["--out", "\(dir)/b\(round).json"], "\(dir)/b\(round).json")
      let byID = Dictionary(a.workloads.map { ($0.id, $0) }, uniquingKeysWith: { x, _ in x })
      for w in b.workloads {
        guard let base = byID[w.id], base.throughput.average > 0 else { continue }
        // Raw, not probe-adjusted: the probe's own speed differs between binaries (see above).
        ratios[w.id, default: []].append(w.throughput.average / base.throughput.average)
        if base.placementsChecksum != w.placementsChecksum { checksumsAgree = false }
      }
      FileHandle.standardError.write(Data("round \(round)/\(rounds) done\n".utf8))
    }
    print(
      "workload  throughput ratio this/baseline: median [interval for the median] over \(rounds) rounds"
    )
    var differ = 0
    for (id, rs) in ratios.sorted(by: { $0.key < $1.key }) {
      let i = Statistics.medianInterval(rs, confidence: 0.95)
      let verdict = i.low > 1 ? "faster" : i.high < 1 ? "slower" : "no difference shown"
      if i.low > 1 || i.high < 1 { differ += 1 }
      print(
        String(
          format: "%@  %.3f [%.3f, %.3f] (%.1f %%)  %@", id, Statistics.median(rs), i.low, i.high,
          i.coverage * 100, verdict))
    }
    print("\(differ) of \(ratios.count) workload(s) differ (interval excludes 1.000)")
    print(
      checksumsAgree
        ? "placements: identical decisions" : "placements: the two binaries decide differently")
  }

  /// Whether `exe`'s `bench run` takes `--rounds` (builds before it did not).
  static func supportsRounds(_ exe: String) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = ["bench", "run", "--help"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return text.contains("--rounds")
  }

  private func runOnce(_ exe: String, _ args: [String], _ out: String) throws -> BenchReport {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    // A threshold failure exits non-zero but still writes its report.
    do { return try BenchReport.decode(path: out) } catch {
      throw CommandFailure(
        "\(exe) \(args.joined(separator: " ")) produced no report (exit \(p.terminationStatus))")
    }
  }
}
