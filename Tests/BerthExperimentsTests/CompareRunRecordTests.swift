import BerthCore
import BerthExperiments
import BerthScheduling
import BerthTraces
import Testing

struct CompareRunRecordTests {
  /// Random runs' curves, absent bins and awkward doubles included.
  static func runs(seed: UInt64, count: Int) -> [(ExperimentRun, Curves)] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { k in
      let policy = GPUPolicy.allCases[rng.nextInt(below: GPUPolicy.allCases.count)]
      let run = ExperimentRun(
        workload: "w\(k % 3)", policy: policy, seed: UInt64(rng.nextInt(below: 1000)),
        tune: [1.3, 0, 0.1 + 0.2][rng.nextInt(below: 3)], totalGPUs: rng.nextInt(below: 7000))
      func curve() -> [Double?] {
        Curves.bins.map { _ -> Double? in
          switch rng.nextInt(below: 5) {
          case 0: nil
          case 1: Double(bitPattern: rng.next() & 0x3FEF_FFFF_FFFF_FFFF)  // any finite in 0…2
          case 2: 5e-324
          default: Double(rng.nextInt(below: 1_000_000)) / 7
          }
        }
      }
      let first: Int? = rng.nextInt(below: 2) == 0 ? nil : rng.nextInt(below: 131)
      return (
        run,
        Curves(
          allocation: curve(), fragmentation: curve(), fragmentationRatio: curve(),
          firstFailure: first)
      )
    }
  }

  @Test("records read back to the same bits, so the writers write the same bytes")
  func roundTrip() throws {
    for seed in UInt64(1)...20 {
      let runs = Self.runs(seed: seed, count: 30)
      let text = runs.enumerated().map { CompareRunRecord.line(run: $0.offset, $0.element) }
        .joined()
      let back = try CompareRunRecord.parse(text, file: "runs.tsv")
      #expect(back.map(\.run) == Array(0..<30))
      let again = back.map(\.result)
      for (a, b) in zip(runs, again) {
        for (x, y) in [
          (a.1.allocation, b.1.allocation), (a.1.fragmentation, b.1.fragmentation),
          (a.1.fragmentationRatio, b.1.fragmentationRatio),
        ] {
          #expect(x.map { $0?.bitPattern } == y.map { $0?.bitPattern }, "seed \(seed)")
        }
        #expect(a.1.firstFailure == b.1.firstFailure)
      }
      for curve in [\Curves.allocation, \Curves.fragmentation, \Curves.fragmentationRatio] {
        #expect(ExperimentCSV.rows(runs, curve) == ExperimentCSV.rows(again, curve))
      }
      let summary = ExperimentCSV.summary(runs)
      #expect(
        ExperimentCSV.summaryCSV(summary) == ExperimentCSV.summaryCSV(ExperimentCSV.summary(again)))
      #expect(
        HTMLReport.page(runs, summary: summary, title: "t")
          == HTMLReport.page(
            again, summary: ExperimentCSV.summary(again), title: "t"))
    }
  }

  @Test("a bad record is one line naming the line and field")
  func bad() throws {
    let good = CompareRunRecord.line(run: 4, Self.runs(seed: 9, count: 1)[0])
    var f = good.dropLast().split(separator: "\t", omittingEmptySubsequences: false).map(
      String.init)
    func expectError(_ fields: [String], _ message: String) {
      do {
        _ = try CompareRunRecord.parse(fields.joined(separator: "\t") + "\n", file: "r.tsv")
        Issue.record("accepted: \(message)")
      } catch {
        #expect(error.description == message)
      }
    }
    expectError(Array(f.prefix(8)), "r.tsv:1: expected 400 tab-separated fields, found 8")
    f[2] = "best"
    expectError(f, "r.tsv:1: policy: unknown policy \"best\"")
    f[2] = "fgd"
    f[10] = "nan"
    expectError(f, "r.tsv:1: allocation[3]: expected a number or -")
    f[10] = "-"
    f[0] = "-1"
    expectError(f, "r.tsv:1: run: expected a run number 0…9999999")
  }
}
