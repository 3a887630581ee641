import BerthBench
import BerthTestSupport
import BerthTraces
import Foundation
import Testing

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent()
  .deletingLastPathComponent().path
let suitesDirectory = repository + "/datasets/suites"

struct BundledSuiteTests {
  static let files: [String] = (try? BenchSession.suiteFiles([suitesDirectory])) ?? []

  @Test(
    "every bundled suite runs its smoke workloads and meets every measurable threshold",
    arguments: files)
  func smoke(file: String) throws {
    let report = try BenchSession.run(
      paths: [file], labels: ["smoke"], workloadFilter: nil, seed: 1)
    #expect(!report.workloads.isEmpty)
    for w in report.workloads {
      #expect(w.measuredPods > 0, "\(w.id)")
      for t in w.thresholds where t.status == .fail {
        Issue.record("\(w.id): \(t.expression), measured \(t.measured ?? "-")")
      }
      // Golden checksums pin every smoke workload's decisions.
      #expect(
        w.thresholds.contains {
          $0.expression.hasPrefix("placementsChecksum ==") && $0.status == .pass
        }, "\(w.id)")
    }
  }

  @Test("there are bundled suites for every required shape")
  func coverage() {
    let names = Self.files.map { ($0 as NSString).lastPathComponent }
    for expected in [
      "scheduling-basic.yaml", "node-affinity.yaml", "taints.yaml", "mixed-shapes.yaml",
      "50k-nodes.yaml",
      "scoring-least-allocated.yaml", "scoring-most-allocated.yaml",
      "scoring-requested-to-capacity-ratio.yaml",
    ] {
      #expect(names.contains(expected), "\(expected)")
    }
  }

  @Test("the JSON report validates against docs/bench-report.schema.json and round-trips")
  func schema() throws {
    let report = try BenchSession.run(
      paths: [suitesDirectory + "/scheduling-basic.yaml"], labels: ["smoke"], workloadFilter: nil,
      seed: 1)
    let schema = try JSONSchema(path: repository + "/docs/bench-report.schema.json")
    let json = Data(report.json().utf8)
    #expect(try schema.violations(of: json) == [])
    let path = InputFixtures.scratch("berth-report").appendingPathExtension("json").path
    try AtomicFile.write(report.json(), to: path)
    let decoded = try BenchReport.decode(path: path)
    #expect(
      decoded.workloads.map(\.placementsChecksum) == report.workloads.map(\.placementsChecksum))
    // The machine is recorded with its vector extensions (the kernels' speed depends on them).
    #expect(decoded.environment.vectorExtensions == report.environment.vectorExtensions)
    #if arch(x86_64) && os(Linux)
      #expect(report.environment.vectorExtensions?.contains("sse4_2") == true)
    #endif
    // The validator is not vacuous: a wrong type is reported.
    let broken = Data(
      report.json().replacingOccurrences(
        of: "\"measured_pods\" : 400", with: "\"measured_pods\" : \"400\""
      ).utf8)
    #expect(try !schema.violations(of: broken).isEmpty)
  }

  @Test(
    "churn in a queue test case interleaves its pods with the measured ones: preemptors evict and bind, unschedulable pods pile up"
  )
  func queueChurn() throws {
    let report = try BenchSession.run(
      paths: [suitesDirectory + "/preemption.yaml", suitesDirectory + "/unschedulable.yaml"],
      labels: ["smoke"],
      workloadFilter: "Async", seed: 1)
    let async = try #require(report.workloads.first)
    // 400 setup pods, 200 measured, one preemptor per 20 measured pods.
    #expect(async.outcome.pods == 610 && async.outcome.scheduled == 200)
    // Setup and measured pods hold 380 of 400 CPUs; each bound preemptor adds 3 CPUs for three
    // 900m victims (+0.3), less 0.1 for each measured pod among the victims.
    let cpus = async.outcome.cpuUtilization.mean * 400
    #expect(
      cpus > 380 + 9 * 0.3 && cpus <= 380 + 10 * 0.3 + 1e-6,
      "all ten preemptors bound: \(cpus) CPUs")
    let stuck = try BenchSession.run(
      paths: [suitesDirectory + "/unschedulable.yaml"], labels: ["smoke"], workloadFilter: nil,
      seed: 1)
    let u = try #require(stuck.workloads.first)
    #expect(u.outcome.pods == 10 + 1000 + 1000 / 118 && u.outcome.scheduled == 1000)
  }

  @Test("same seed, same checksums and counters")
  func determinism() throws {
    let a = try BenchSession.run(
      paths: [suitesDirectory + "/mixed-shapes.yaml"], labels: ["smoke"], workloadFilter: nil,
      seed: 5)
    let b = try BenchSession.run(
      paths: [suitesDirectory + "/mixed-shapes.yaml"], labels: ["smoke"], workloadFilter: nil,
      seed: 5)
    #expect(a.workloads.map(\.placementsChecksum) == b.workloads.map(\.placementsChecksum))
    #expect(a.workloads.map(\.nodesEvaluatedPerPod) == b.workloads.map(\.nodesEvaluatedPerPod))
  }
}

struct SuiteErrorTests {
  static let header = "name: S\ntestCases:\n- name: T\n  workloadTemplate:\n"

  @Test(
    "a broken suite file gives one clear error",
    arguments: [
      (
        header
          + "  - opcode: createAny\n    template: {kind: Deployment, metadata: {name: d}}\n  workloads:\n  - name: w\n",
        "s.yaml:6: testCases[0].workloadTemplate[0].template.kind: createAny supports kind Service only"
      ),
      (
        header
          + "  - opcode: createPods\n    count: 1\n  - opcode: churn\n    everyPods: 0\n  queue: true\n  workloads:\n  - name: w\n",
        "s.yaml:8: testCases[0].workloadTemplate[1].everyPods: must be at least 1"
      ),
      (
        header + "  - opcode: createNodez\n    count: 1\n  workloads:\n  - name: w\n",
        "s.yaml:5: testCases[0].workloadTemplate[0].opcode: unknown opcode \"createNodez\" (expected createNodes, createNamespaces, createAny, createPods, createPodSets, churn, deletePods, updateNodes, barrier, startCollectingMetrics or stopCollectingMetrics)"
      ),
      (
        header + "  - opcode: updateNodes\n    count: 1\n  workloads:\n  - name: w\n",
        "s.yaml:5: testCases[0].workloadTemplate[0]: updateNodes needs unschedulable, labels, removeLabels or taints"
      ),
      (
        header
          + "  - opcode: updateNodes\n    count: 1\n    labels: {kubernetes.io/hostname: other}\n  workloads:\n  - name: w\n",
        "s.yaml:5: testCases[0].workloadTemplate[0]: updateNodes cannot change kubernetes.io/hostname"
      ),
      (
        header
          + "  - opcode: updateNodes\n    count: 1\n    taints: [{key: k, effect: Sometimes}]\n  workloads:\n  - name: w\n",
        "s.yaml:7: testCases[0].workloadTemplate[0].taints[0].effect: expected NoSchedule, PreferNoSchedule or NoExecute"
      ),
      (
        header
          + "  - opcode: createNodes\n    count: $n\n  workloads:\n  - name: w\n    params: {n: 1, m: 2}\n",
        "s.yaml:9: testCases[0].workloads[0].params.m: param \"m\" is not used by the workload template"
      ),
      (
        header + "  - opcode: createNodes\n    count: $n\n  workloads:\n  - name: w\n",
        "s.yaml:6: testCases[0].workloadTemplate[0].count: unknown param \"$n\""
      ),
      (
        header
          + "  - opcode: createNodes\n    count: 1\n  workloads:\n  - name: w\n    thresholds: [throughput >= 5]\n",
        "s.yaml:9: testCases[0].workloads[0].thresholds[0]: unknown metric \"throughput\" (expected one of throughputAverage, throughputP50, throughputP90, throughputP99, latencyP50Micros, latencyP90Micros, latencyP99Micros, latencyMaxMicros, nodesEvaluatedPerPod, allocationsPerCycle, peakRSSBytes, instructionsPerPod, scheduled, unschedulable, nodesUsed, placementsChecksum)"
      ),
      (
        header
          + "  - opcode: createNodes\n    count: 1\n  workloads:\n  - name: w\n    thresholds: [scheduled => 5]\n",
        "s.yaml:9: testCases[0].workloads[0].thresholds[0]: unknown comparison \"=>\" (expected >=, <=, ==, > or <)"
      ),
      (
        header
          + "  - opcode: createNodes\n    count: 1\n    colour: red\n  workloads:\n  - name: w\n",
        "s.yaml:7: testCases[0].workloadTemplate[0].colour: unknown field (expected one of count, mix, nodeTemplate, opcode, zones)"
      ),
      (
        header + "  - opcode: createPods\n    count: -3\n  workloads:\n  - name: w\n",
        "s.yaml:6: testCases[0].workloadTemplate[0].count: expected a count in 0…10000000, found -3"
      ),
      (
        header
          + "  - opcode: createNodes\n    count: 1\n    mix: huge\n  workloads:\n  - name: w\n",
        "s.yaml:7: testCases[0].workloadTemplate[0].mix: expected one of oracle, mixed"
      ),
    ])
  func errors(text: String, message: String) {
    #expect { try Suite.parse(text, file: "s.yaml") } throws: {
      ($0 as? InputError)?.description == message
    }
  }

  @Test("thresholds parse and judge")
  func thresholds() throws {
    let t = try Threshold(parsing: "throughputAverage >= 1000")
    #expect(t.holds(for: .number(1000)))
    #expect(!t.holds(for: .number(999.9)))
    #expect(!t.holds(for: nil))
    let c = try Threshold(parsing: "placementsChecksum == 0x00000000000000ff")
    #expect(c.holds(for: .checksum(255)))
    #expect(!c.holds(for: .checksum(254)))
    #expect(throws: Threshold.ParseError.self) {
      try Threshold(parsing: "placementsChecksum >= 0x1")
    }
  }

  @Test("throughput windows: full windows, plus a final one covering at least half a window")
  func windows() {
    let rates = WorkloadRunner.windowThroughputs([100, 200, 1_100, 1_900], window: 1000)
    #expect(rates.count == 2)
    #expect(rates[0] == 2_000_000)
    #expect(abs(rates[1] - 2e9 / 900) < 1e-6)
    #expect(WorkloadRunner.windowThroughputs([100, 1_100, 1_200], window: 1000) == [1_000_000])
  }
}
