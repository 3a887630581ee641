import BerthCore
import BerthTraces
import CBerthSystem
import Foundation

/// Loads suites, selects workloads and runs them (shared by `bench run` and tests).
public enum BenchSession {
  public static func suiteFiles(_ paths: [String]) throws(InputError) -> [String] {
    var files: [String] = []
    for p in paths {
      var isDir: ObjCBool = false
      guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
        throw InputError(file: p, "no such file or directory")
      }
      if isDir.boolValue {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []).filter {
          $0.hasSuffix(".yaml") || $0.hasSuffix(".yml")
        }
        guard !names.isEmpty else { throw InputError(file: p, "directory holds no suite files") }
        files += names.sorted().map { p + "/" + $0 }
      } else {
        files.append(p)
      }
    }
    return files
  }

  /// The workloads `labels` and `workloadFilter` select from the suites at `paths`, in order.
  public static func select(paths: [String], labels: [String], workloadFilter: String?)
    throws(InputError) -> (
      suites: [Suite], selected: [(suite: Suite, testCase: TestCase, workload: Workload)]
    )
  {
    let suites = try suiteFiles(paths).map { f throws(InputError) in try Suite.read(path: f) }
    var selected: [(suite: Suite, testCase: TestCase, workload: Workload)] = []
    for suite in suites {
      for tc in suite.testCases {
        for w in tc.workloads where labels.allSatisfy(w.labels.contains) {
          let id = WorkloadResult.id(suite: suite.name, testCase: tc.name, workload: w.name)
          if let workloadFilter, !id.contains(workloadFilter) { continue }
          selected.append((suite, tc, w))
        }
      }
    }
    if selected.isEmpty {
      throw InputError(
        file: paths.joined(separator: " "),
        "no workload matches labels \(labels) \(workloadFilter.map { "and \"\($0)\"" } ?? "")")
    }
    return (suites, selected)
  }

  /// - Parameter progress: called with (workload id, pods measured, pods planned); 0 starts a workload.
  /// - Parameters:
  ///   - rounds: samples per workload after one untimed warm-up run; each round runs the workload
  ///     again (same seed) until its measured time reaches `minimumSampleSeconds`, workloads
  ///     taking turns round by round. The report's average throughput is the median round's;
  ///     every run must decide the same (same placements checksum).
  ///   - instructionCounts: when given, called after the timed rounds for the instructions of
  ///     each workload's measured region by workload id (`InstructionCounting.measure`); the
  ///     report then carries instructions per pod.
  public static func run(
    paths: [String], labels: [String], workloadFilter: String?, seed: UInt64,
    windowNanos: UInt64 = 1_000_000_000,
    allocations: AllocationCounter = .none, rounds: Int = 1, minimumSampleSeconds: Double = 0.05,
    instructionCounts: (() throws(InputError) -> [String: UInt64])? = nil,
    progress: ((String, Int, Int) -> Void)? = nil
  ) throws(InputError) -> BenchReport {
    precondition(rounds >= 1, "at least one round")
    let (suites, selected) = try select(
      paths: paths, labels: labels, workloadFilter: workloadFilter)
    var options = RunOptions(seed: seed)
    options.throughputWindowNanos = windowNanos
    let counterLoaded = allocations.read() != nil
    options.allocations = allocations
    // Every selected workload's warm-up run first, then the timed rounds round-robin (round 1
    // of each workload, then round 2, …): each workload's samples then span the whole bench run,
    // so a machine whose speed drifts meanwhile weighs on every workload alike.
    var results: [WorkloadResult] = []
    for s in selected {
      let runner = WorkloadRunner(
        suite: s.suite, testCase: s.testCase, workload: s.workload, options: options)
      let id = runner.workloadID
      let planned = runner.plannedPods
      progress?(id, 0, planned)
      if let progress { runner.progress = { done in progress(id, done, planned) } }
      // The warm-up warms caches, page tables and the allocator; it gives the counters and
      // the checksum every timed run must repeat, and is not itself timed.
      var result = try runner.run()
      result.rounds = []
      results.append(result)
    }
    for _ in 0..<rounds {
      for (k, s) in selected.enumerated() {
        results[k].rounds! += try sample(
          results[k], rounds: 1, minimumSeconds: minimumSampleSeconds
        ) {
          () throws(InputError) in
          try WorkloadRunner(
            suite: s.suite, testCase: s.testCase, workload: s.workload, options: options
          ).run()
        }
      }
    }
    for k in results.indices {
      // Timed figures are the rounds' medians; thresholds are judged on them.
      let samples = results[k].rounds!
      results[k].throughput.average = samples.map(\.throughput).sorted()[samples.count / 2]
      results[k].latency.p50 = samples.map(\.latencyP50Micros).sorted()[samples.count / 2]
      results[k].latency.p99 = samples.map(\.latencyP99Micros).sorted()[samples.count / 2]
    }
    if let instructionCounts {
      let counts = try instructionCounts()
      for k in results.indices where results[k].measuredPods > 0 {
        guard let count = counts[results[k].id] else {
          throw InputError(
            file: results[k].suite, field: results[k].id,
            "callgrind reported no instruction count for this workload")
        }
        results[k].instructionsPerPod = Double(count) / Double(results[k].measuredPods)
      }
    }
    for k in results.indices { results[k].judge(selected[k].workload.thresholds) }
    return BenchReport(
      environment: .init(
        commit: BuildEnvironment.commit(), swiftVersion: BuildEnvironment.swiftVersion,
        cpuModel: BuildEnvironment.cpuModel(),
        vectorExtensions: BuildEnvironment.vectorExtensions(),
        cores: ProcessInfo.processInfo.activeProcessorCount, seed: seed,
        allocationCounter: counterLoaded ? "libBerthMallocCounter.so (LD_PRELOAD)" : "none",
        suites: suites.map {
          .init(name: $0.name, file: $0.file, checksum: MetricValue.hex($0.checksum))
        }),
      workloads: results)
  }
}

extension BenchSession {
  /// `rounds` samples of a workload whose first (warm-up) run gave `first`: each round repeats
  /// runs until their measured time reaches `minimumSeconds` (at most 10,000 runs).
  /// - Throws: when a run decides differently from the first (its checksum differs).
  static func sample(
    _ first: WorkloadResult, rounds: Int, minimumSeconds: Double,
    probe: (() -> UInt64)? = { berth_reference_probe() },
    run: () throws(InputError) -> WorkloadResult
  ) throws(InputError) -> [WorkloadResult.Round] {
    var out: [WorkloadResult.Round] = []
    for _ in 0..<rounds {
      var pods = 0
      var seconds = 0.0
      var repeats = 0
      var p50s: [Double] = []
      var p99s: [Double] = []
      var probes: [Double] = []
      while repeats == 0 || (seconds < minimumSeconds && repeats < 10_000) {
        if let probe { probes.append(Double(probe())) }
        let r = try run()
        guard r.placementsChecksum == first.placementsChecksum else {
          throw InputError(
            file: r.suite, field: r.id,
            "two runs with the same seed decided differently (placements \(first.placementsChecksum) and \(r.placementsChecksum))"
          )
        }
        if let probe, seconds + r.measuredSeconds >= minimumSeconds || repeats + 1 >= 10_000 {
          probes.append(Double(probe()))
        }
        pods += r.measuredPods
        seconds += r.measuredSeconds
        repeats += 1
        p50s.append(r.latency.p50)
        p99s.append(r.latency.p99)
      }
      p50s.sort()
      p99s.sort()
      probes.sort()
      out.append(
        WorkloadResult.Round(
          throughput: seconds > 0 ? Double(pods) / seconds : 0,
          latencyP50Micros: p50s[p50s.count / 2],
          latencyP99Micros: p99s[p99s.count / 2], measuredSeconds: seconds, repeats: repeats,
          referenceProbeNanos: probes.isEmpty ? nil : probes[probes.count / 2]))
    }
    return out
  }
}

/// Facts about the machine and build recorded in reports.
public enum BuildEnvironment {
  public static var swiftVersion: String {
    #if compiler(>=6.4)
      return "6.4 or later"
    #elseif compiler(>=6.3.1)
      return "6.3.1"
    #elseif compiler(>=6.3)
      return "6.3"
    #elseif compiler(>=6.2)
      return "6.2"
    #else
      return "older than 6.2"
    #endif
  }

  /// The SIMD extensions among the CPU's flags (x86: `flags`, Arm: `Features` in
  /// /proc/cpuinfo), in a fixed order; empty when unknown.
  public static func vectorExtensions() -> [String] {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
      return []
    }
    let known = [
      "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl",
      "avx512_vnni", "neon", "asimd", "sve", "sve2",
    ]
    for line in text.split(separator: "\n")
    where line.hasPrefix("flags") || line.hasPrefix("Features") {
      let flags = Set(
        (line.split(separator: ":", maxSplits: 1).last ?? "").split(separator: " ").map(String.init)
      )
      return known.filter(flags.contains)
    }
    return []
  }

  public static func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
      return "unknown"
    }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
      return line.split(separator: ":", maxSplits: 1).last.map {
        $0.trimmingCharacters(in: .whitespaces)
      } ?? "unknown"
    }
    return "unknown"
  }

  /// The allocator serving this process's malloc: `jemalloc <version>` when jemalloc is linked
  /// in or preloaded (it exports `mallctl`), else `system`.
  public static func allocator() -> String {
    #if canImport(Glibc)
      // RTLD_DEFAULT is the null handle on glibc: the global symbol search.
      guard let symbol = dlsym(nil, "mallctl") else { return "system" }
      typealias Mallctl =
        @convention(c) (
          UnsafePointer<CChar>, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?,
          UnsafeMutableRawPointer?, Int
        ) -> Int32
      // SAFETY: `mallctl` has this C signature in every jemalloc release; "version" writes one
      // `const char *` into the pointer-sized buffer given with its size.
      let mallctl = unsafeBitCast(symbol, to: Mallctl.self)
      var version: UnsafePointer<CChar>?
      var size = MemoryLayout<UnsafePointer<CChar>?>.size
      let status = withUnsafeMutablePointer(to: &version) { mallctl("version", $0, &size, nil, 0) }
      guard status == 0, let version else { return "jemalloc" }
      let text = String(cString: version)
      return "jemalloc " + (text.split(separator: "-").first.map(String.init) ?? text)
    #else
      return "system"
    #endif
  }

  /// The commit of the working directory's repository, from BERTH_COMMIT or git, else "unknown".
  static func commit() -> String {
    if let c = ProcessInfo.processInfo.environment["BERTH_COMMIT"], !c.isEmpty { return c }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "rev-parse", "--short=12", "HEAD"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return "unknown" }
    p.waitUntilExit()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return p.terminationStatus == 0 && !out.isEmpty ? out : "unknown"
  }
}
