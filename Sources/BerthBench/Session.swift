import BerthCore
import BerthTraces
import Foundation

/// Loads suites, selects workloads and runs them (shared by `bench run` and tests).
public enum BenchSession {
  public static func suiteFiles(_ paths: [String]) throws(InputError) -> [String] {
    var files: [String] = []
    for p in paths {
      var isDir: ObjCBool = false
      guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { throw InputError(file: p, "no such file or directory") }
      if isDir.boolValue {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        guard !names.isEmpty else { throw InputError(file: p, "directory holds no suite files") }
        files += names.sorted().map { p + "/" + $0 }
      } else {
        files.append(p)
      }
    }
    return files
  }

  /// - Parameter progress: called with (workload id, pods measured, pods planned); 0 starts a workload.
  public static func run(
    paths: [String], labels: [String], workloadFilter: String?, seed: UInt64, windowNanos: UInt64 = 1_000_000_000,
    allocations: AllocationCounter = .none, progress: ((String, Int, Int) -> Void)? = nil
  ) throws(InputError) -> BenchReport {
    let suites = try suiteFiles(paths).map { f throws(InputError) in try Suite.read(path: f) }
    var options = RunOptions(seed: seed)
    options.throughputWindowNanos = windowNanos
    let counterLoaded = allocations.read() != nil
    options.allocations = allocations
    var results: [WorkloadResult] = []
    for suite in suites {
      for tc in suite.testCases {
        for w in tc.workloads where labels.allSatisfy(w.labels.contains) {
          let id = "\(suite.name)/\(tc.name)/\(w.name)"
          if let workloadFilter, !id.contains(workloadFilter) { continue }
          let runner = WorkloadRunner(suite: suite, testCase: tc, workload: w, options: options)
          let planned = runner.plannedPods
          progress?(id, 0, planned)
          if let progress { runner.progress = { done in progress(id, done, planned) } }
          results.append(try runner.run())
        }
      }
    }
    if results.isEmpty {
      throw InputError(file: paths.joined(separator: " "), "no workload matches labels \(labels) \(workloadFilter.map { "and \"\($0)\"" } ?? "")")
    }
    return BenchReport(
      environment: .init(
        commit: BuildEnvironment.commit(), swiftVersion: BuildEnvironment.swiftVersion, cpuModel: BuildEnvironment.cpuModel(),
        cores: ProcessInfo.processInfo.activeProcessorCount, seed: seed,
        allocationCounter: counterLoaded ? "libBerthMallocCounter.so (LD_PRELOAD)" : "none",
        suites: suites.map { .init(name: $0.name, file: $0.file, checksum: MetricValue.hex($0.checksum)) }),
      workloads: results)
  }
}

/// Facts about the machine and build recorded in reports.
enum BuildEnvironment {
  static var swiftVersion: String {
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

  static func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
      return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
    return "unknown"
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
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return p.terminationStatus == 0 && !out.isEmpty ? out : "unknown"
  }
}

