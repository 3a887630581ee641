// swift-tools-version: 6.1
//
// Micro-benchmarks for Berth with ordo-one/package-benchmark, kept in their own package so the
// main build and `swift test` never compile the benchmark framework.
//
//   cd Benchmarks
//   swift package -Xswiftc -target-cpu -Xswiftc native benchmark                       # run
//   swift package -Xswiftc -target-cpu -Xswiftc native benchmark thresholds check      # CI gate
//   swift package --allow-writing-to-package-directory -Xswiftc -target-cpu -Xswiftc native \
//       benchmark thresholds update                                                    # refresh

import PackageDescription

let package = Package(
  name: "BerthBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "Berth", path: ".."),
    .package(
      url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    .executableTarget(
      name: "BerthBenchmarks",
      dependencies: [
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "BerthCore", package: "Berth"),
        .product(name: "BerthEngine", package: "Berth"),
        .product(name: "BerthScheduling", package: "Berth"),
        .product(name: "BerthTraces", package: "Berth"),
      ],
      path: "Benchmarks/BerthBenchmarks",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")])
  ]
)
