// swift-tools-version: 6.1
//
// Berth: a Swift engine for benchmarking Kubernetes scheduling and autoscaling.
//
// Release builds for measurement should target the real CPU; SwiftPM's default is baseline
// x86-64, which keeps the columnar kernels from vectorising (see docs/performance.md):
//
//     swift build -c release -Xswiftc -target-cpu -Xswiftc native
//
// Setting BERTH_TARGET_CPU=<llvm cpu name> (e.g. `native`, `znver4`, `haswell`) in the
// environment bakes the same flag into this root package instead. It is read only here, in
// the root manifest, so a package that depends on Berth never inherits an unsafe flag.

import Foundation
import PackageDescription

let targetCPUFlags: [SwiftSetting] = {
  guard let cpu = ProcessInfo.processInfo.environment["BERTH_TARGET_CPU"], !cpu.isEmpty else {
    return []
  }
  return [.unsafeFlags(["-target-cpu", cpu])]
}()

/// jemalloc as the `berth` executable's allocator, when its library is installed
/// (`apt-get install libjemalloc-dev`; CI installs it): the week-long simulation benchmark runs
/// 8 % faster with it than with glibc's malloc (docs/performance.md). Without the library, or
/// with BERTH_MALLOC=system, the system allocator stays. Only the executable links it: the
/// libraries leave the allocator to whoever links them.
let jemallocLinkerSettings: [LinkerSetting] = {
  if ProcessInfo.processInfo.environment["BERTH_MALLOC"] == "system" { return [] }
  let dirs = [
    "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
    "/usr/local/lib", "/opt/homebrew/lib",
  ]
  let found = dirs.contains { dir in
    ["libjemalloc.so", "libjemalloc.dylib"].contains {
      FileManager.default.fileExists(atPath: dir + "/" + $0)
    }
  }
  guard found else { return [] }
  // The linker would drop a library nothing calls by name: malloc is called from the Swift
  // runtime, so the executable must keep jemalloc explicitly, ahead of libc.
  return [.unsafeFlags(["-Xlinker", "--no-as-needed", "-ljemalloc", "-Xlinker", "--as-needed"])]
}()

let package = Package(
  name: "Berth",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "berth", targets: ["berth"]),
    .library(name: "BerthCore", targets: ["BerthCore"]),
    .library(name: "BerthEngine", targets: ["BerthEngine"]),
    .library(name: "BerthScheduling", targets: ["BerthScheduling"]),
    .library(name: "BerthSimulation", targets: ["BerthSimulation"]),
    .library(name: "BerthTraces", targets: ["BerthTraces"]),
    .library(name: "BerthBench", targets: ["BerthBench"]),
    // Preloaded by `berth bench` to count heap allocations; nothing links it.
    .library(name: "BerthMallocCounter", type: .dynamic, targets: ["BerthMallocCounter"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.0"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
  ],
  targets: [
    .target(
      name: "BerthCore", dependencies: [.product(name: "HeapModule", package: "swift-collections")],
      swiftSettings: targetCPUFlags),
    .target(name: "BerthMallocCounter", linkerSettings: [.linkedLibrary("dl")]),
    // The system calls Foundation does not expose (atomic exchange of two paths).
    .target(name: "CBerthSystem"),
    // The discrete-event engine: virtual time, the agenda, components, the change feed.
    .target(name: "BerthEngine", dependencies: ["BerthCore"], swiftSettings: targetCPUFlags),
    // Workload controllers and their rules (CronJob schedules so far).
    .target(
      name: "BerthWorkloads", dependencies: ["BerthCore", "BerthEngine"],
      swiftSettings: targetCPUFlags),
    // The simulated cluster: scenarios, controllers, kubelets, node lifecycle, recording.
    .target(
      name: "BerthSimulation",
      dependencies: [
        "BerthCore", "BerthEngine", "BerthScheduling", "BerthTraces", "BerthWorkloads",
        "BerthAutoscaling", "CBerthSystem",
      ],
      swiftSettings: targetCPUFlags),
    // Workload autoscalers (HPA so far): the controllers' decision rules, free of files and
    // of the engine.
    .target(
      name: "BerthAutoscaling", dependencies: ["BerthCore", "BerthScheduling"],
      swiftSettings: targetCPUFlags),
    .target(
      name: "BerthScheduling",
      dependencies: [
        "BerthCore", "BerthEngine", "CBerthSystem",
        .product(name: "HeapModule", package: "swift-collections"),
      ],
      swiftSettings: targetCPUFlags),
    .target(
      name: "BerthTraces",
      dependencies: [
        "BerthCore", "BerthScheduling", "BerthAutoscaling", "CBerthSystem",
        .product(name: "Yams", package: "Yams"),
        .product(name: "CSV", package: "CSV.swift"),
      ],
      swiftSettings: targetCPUFlags),
    .target(
      name: "BerthExperiments",
      dependencies: ["BerthCore", "BerthScheduling", "BerthTraces"],
      swiftSettings: targetCPUFlags),
    .target(
      name: "BerthBench",
      dependencies: [
        "BerthCore", "BerthScheduling", "BerthTraces", "CBerthSystem",
        .product(name: "Yams", package: "Yams"),
        .product(name: "Histogram", package: "hdrhistogram-swift"),
      ],
      swiftSettings: targetCPUFlags),
    .target(
      name: "BerthCLI",
      dependencies: [
        "BerthCore", "BerthScheduling", "BerthTraces", "BerthBench", "BerthExperiments",
        "BerthSimulation", "BerthAutoscaling",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Histogram", package: "hdrhistogram-swift"),
      ],
      swiftSettings: targetCPUFlags, plugins: ["BuildInfo"]),
    // The commit `berth` is built from, for sweep manifests (scripts/build-info.sh).
    .plugin(name: "BuildInfo", capability: .buildTool()),
    .executableTarget(
      name: "berth", dependencies: ["BerthCLI"], swiftSettings: targetCPUFlags,
      linkerSettings: jemallocLinkerSettings),
    // Fuzz targets for every reader (docs/reliability.md): built with libFuzzer by
    // scripts/fuzz.sh, or plainly as a corpus replayer.
    .target(name: "CLibFuzzer"),
    .executableTarget(
      name: "berth-fuzz",
      dependencies: [
        "BerthCore", "BerthTraces", "BerthBench", "BerthWorkloads", "BerthSimulation",
        "BerthAutoscaling", "BerthExperiments", "CLibFuzzer",
      ],
      path: "Sources/BerthFuzz"),
    .target(
      name: "BerthTestSupport",
      dependencies: ["BerthCore", "BerthScheduling", "BerthTraces"],
      path: "Tests/BerthTestSupport"),
    .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore", "BerthTestSupport"]),
    .testTarget(name: "BerthWorkloadsTests", dependencies: ["BerthWorkloads"]),
    .testTarget(
      name: "BerthAutoscalingTests",
      dependencies: ["BerthAutoscaling", "BerthCore", "BerthScheduling", "BerthTestSupport"]),
    .testTarget(
      name: "BerthSimulationTests",
      dependencies: [
        "BerthCore", "BerthScheduling", "BerthSimulation", "BerthTraces", "BerthWorkloads",
        "BerthAutoscaling",
      ]),
    .testTarget(
      name: "BerthEngineTests",
      dependencies: ["BerthCore", "BerthEngine", "BerthScheduling", "BerthTestSupport"]),
    .testTarget(
      name: "BerthSchedulingTests",
      dependencies: [
        "BerthCore", "BerthScheduling", "BerthTraces", "BerthTestSupport", "CBerthSystem",
      ]),
    .testTarget(
      name: "BerthTracesTests",
      dependencies: ["BerthCore", "BerthScheduling", "BerthTraces", "BerthTestSupport"]),
    .testTarget(
      name: "BerthExperimentsTests",
      dependencies: [
        "BerthExperiments", "BerthCore", "BerthScheduling", "BerthTraces", "BerthTestSupport",
      ]),
    .testTarget(
      name: "BerthBenchTests",
      dependencies: [
        "BerthBench", "BerthCore", "BerthScheduling", "BerthTraces", "BerthTestSupport",
      ]),
    .testTarget(
      name: "BerthCLITests",
      dependencies: [
        "BerthCLI", "BerthCore", "BerthTraces", "BerthTestSupport",
        .product(name: "Yams", package: "Yams"),
      ]),
  ]
)
