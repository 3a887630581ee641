import BerthTraces
import CBerthSystem
import Foundation

/// Instruction counts of benchmark workloads, from valgrind's callgrind.
///
/// Times on a shared or virtual machine drift with its neighbours (docs/suites.md); the number of
/// instructions a run executes does not. `berth bench run --instructions` runs berth once more
/// under `valgrind --tool=callgrind --instr-atstart=no`: that child warms each selected workload
/// up uninstrumented, then runs it once with counting switched on only while pods are measured
/// (callgrind's client requests, compiled in from valgrind's header) and dumps the count under the
/// workload's id. The parent reads the dumps back. Hashing is deterministic in the child, so two
/// runs of one build count the same instructions.
public enum InstructionCounting {
  /// Whether this berth was built with callgrind's client requests.
  public static var built: Bool { berth_instruction_counting_built() != 0 }

  /// An executable named `name` on PATH, or nil.
  static func onPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
      let candidate = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// Runs `tool arguments` to completion; its exit status.
  static func runTool(_ tool: String, _ arguments: [String], environment: [String: String]? = nil)
    throws(InputError) -> Int32
  {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = arguments
    if let environment { p.environment = environment }
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch {
      throw InputError(file: tool, "cannot start (\(error))")
    }
    p.waitUntilExit()
    return p.terminationStatus
  }

  /// The child's side: every selected workload run once as a warm-up, then once counted.
  public static func countSelected(
    paths: [String], labels: [String], workloadFilter: String?, seed: UInt64
  ) throws(InputError) {
    guard berth_running_under_valgrind() != 0 else {
      throw InputError(file: "berth", "instruction counting runs only under valgrind's callgrind")
    }
    let (_, selected) = try BenchSession.select(
      paths: paths, labels: labels, workloadFilter: workloadFilter)
    var options = RunOptions(seed: seed)
    for s in selected {
      options.countInstructions = false
      _ = try WorkloadRunner(
        suite: s.suite, testCase: s.testCase, workload: s.workload, options: options
      ).run()
      options.countInstructions = true
      _ = try WorkloadRunner(
        suite: s.suite, testCase: s.testCase, workload: s.workload, options: options
      ).run()
    }
  }

  /// Runs `executable childArguments` under callgrind and returns each dump's instruction count by
  /// its label (the workload id).
  /// - Throws: when valgrind is missing, this build lacks the client requests, or the child fails.
  public static func measure(executable: String, childArguments: [String]) throws(InputError)
    -> [String: UInt64]
  {
    guard built else {
      throw InputError(
        file: executable,
        "this berth was built without valgrind's header (install valgrind, e.g. `apt-get install valgrind`, and rebuild) so it cannot count instructions"
      )
    }
    guard let valgrind = onPath("valgrind") else {
      throw InputError(
        file: "valgrind",
        "not found on PATH: --instructions needs valgrind (apt-get install valgrind)")
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "berth-callgrind-\(getpid())-\(UInt64.random(in: 0..<UInt64.max))")
    do {
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
    } catch {
      throw InputError(file: dir.path, "cannot create a folder for callgrind's dumps (\(error))")
    }
    defer { try? FileManager.default.removeItem(at: dir) }
    // Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes and gives up; counting
    // needs only the symbols, so the child runs a copy without debug information.
    var program = executable
    if let strip = onPath("strip") ?? onPath("llvm-strip") {
      let copy = dir.appendingPathComponent("berth").path
      if try runTool(strip, ["--strip-debug", "-o", copy, executable]) == 0 { program = copy }
    }
    var env = ProcessInfo.processInfo.environment
    // The allocation counter's shim would add its own instructions to every malloc.
    env["LD_PRELOAD"] = nil
    env["SWIFT_DETERMINISTIC_HASHING"] = "1"
    env["BERTH_REEXECUTED"] = "1"
    let status = try runTool(
      valgrind,
      [
        "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=\(dir.path)/dump",
        "--log-file=\(dir.path)/valgrind.log", program,
      ] + childArguments, environment: env)
    guard status == 0 else {
      let log =
        (try? String(contentsOf: dir.appendingPathComponent("valgrind.log"), encoding: .utf8))
        ?? ""
      let last = log.split(separator: "\n").last(where: { !$0.hasSuffix("== ") }) ?? ""
      throw InputError(
        file: valgrind,
        "the counting run failed with status \(status)\(last.isEmpty ? "" : ": \(last)")"
      )
    }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    var counts: [String: UInt64] = [:]
    for name in names.sorted() where name.hasPrefix("dump.") {
      guard
        let text = try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8),
        let (label, count) = parseDump(text)
      else { continue }
      counts[label] = count
    }
    return counts
  }

  /// A callgrind dump's client-request label and total instruction count (`events: Ir`), or nil
  /// for a dump of another trigger (program termination) or an unreadable one.
  public static func parseDump(_ text: String) -> (String, UInt64)? {
    let prefix = "desc: Trigger: Client Request: "
    var label: String?
    var total: UInt64?
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      if line.hasPrefix(prefix) {
        label = String(line.dropFirst(prefix.count))
      } else if line.hasPrefix("totals: ") {
        total = line.dropFirst("totals: ".count).split(separator: " ").first.flatMap {
          UInt64($0)
        }
      }
    }
    guard let label, let total else { return nil }
    return (label, total)
  }
}
