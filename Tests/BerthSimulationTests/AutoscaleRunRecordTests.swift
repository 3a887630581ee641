import BerthCore
import BerthSimulation
import BerthTraces
import Testing

struct AutoscaleRunRecordTests {
  /// Random runs: awkward doubles, empty and long series.
  static func runs(seed: UInt64, count: Int) -> [AutoscaleComparison.Run] {
    var rng = SplitMix64(seed: seed)
    func number() -> Double {
      switch rng.nextInt(below: 4) {
      case 0: Double(bitPattern: rng.next() & 0x3FEF_FFFF_FFFF_FFFF)  // any finite in 0…2
      case 1: 5e-324
      case 2: -Double(rng.nextInt(below: 1000)) / 3
      default: Double(rng.nextInt(below: 1_000_000)) / 7
      }
    }
    return (0..<count).map { k in
      var run = AutoscaleComparison.Run(
        variant: ["baseline", "window-60s", "a b"][k % 3], seed: UInt64(rng.nextInt(below: 100)),
        values: AutoscaleComparison.metrics.map { _ in number() })
      run.end = Int64(rng.nextInt(below: 1 << 40))
      func series() -> [(time: Int64, value: Double)] {
        (0..<[0, 1, 40][rng.nextInt(below: 3)]).map { i in (Int64(i) * 15_000_000_000, number()) }
      }
      (run.readyPods, run.offered, run.served) = (series(), series(), series())
      (run.p99, run.nodes, run.vpaMemory) = (series(), series(), series())
      return run
    }
  }

  @Test("records read back to the same bits, so the comparison's files are the same bytes")
  func roundTrip() throws {
    for seed in UInt64(1)...20 {
      let runs = Self.runs(seed: seed, count: 12)
      let text = runs.enumerated().map { AutoscaleRunRecord.line(run: $0.offset, $0.element) }
        .joined()
      let back = try AutoscaleRunRecord.parse(text, file: "runs.tsv")
      #expect(back.map(\.run) == Array(0..<12))
      let again = back.map { AutoscaleRunRecord.line(run: $0.run, $0.result) }.joined()
      #expect(again == text, "seed \(seed)")
      let a = AutoscaleComparison.outputFiles(runs, scenario: "s", seeds: [1, 2])
      let b = AutoscaleComparison.outputFiles(back.map(\.result), scenario: "s", seeds: [1, 2])
      #expect(a.map(\.contents) == b.map(\.contents), "seed \(seed)")
    }
  }

  @Test(
    "malformed records fail with the line and field",
    arguments: [
      ("x", "runs.tsv:1: expected 29 tab-separated fields, found 1"),
      ("-1", "runs.tsv:1: run: expected a run number 0…9999999"),
      ("s", "runs.tsv:1: seed: expected a non-negative integer"),
      ("m", "runs.tsv:1: sloViolationSeconds: expected a number"),
      ("p", "runs.tsv:1: offered: expected time:value pairs joined by commas, or -"),
    ])
  func errors(change: String, message: String) throws {
    var fields = AutoscaleRunRecord.line(run: 0, Self.runs(seed: 3, count: 1)[0])
      .dropLast().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    switch change {
    case "x": fields = ["x"]
    case "-1": fields[0] = "-1"
    case "s": fields[2] = "-4"
    case "m": fields[4] = "nan"
    default: fields[24] = "1:2,3"
    }
    #expect(
      throws: InputError.self,
      performing: { try AutoscaleRunRecord.parse(fields.joined(separator: "\t"), file: "runs.tsv") }
    )
    do {
      _ = try AutoscaleRunRecord.parse(fields.joined(separator: "\t"), file: "runs.tsv")
    } catch {
      #expect(error.description == message)
    }
  }
}
