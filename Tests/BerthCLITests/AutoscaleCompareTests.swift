import BerthCLI
import BerthTestSupport
import Foundation
import Testing

let scenariosDir: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("datasets/scenarios").path

/// `berth autoscale compare` end to end.
struct AutoscaleCompareTests {
  @Test func theFlappingScenarioComparesWindowsAndRepeatsByteForByte() throws {
    let d = try CLITests.tempDir()
    let args = [
      "autoscale", "compare", scenariosDir + "/hpa-flapping.yaml", "--variant",
      "window-60s=" + scenariosDir + "/variants/window-60s.yaml", "--variant",
      "window-600s=" + scenariosDir + "/variants/window-600s.yaml", "--variant", "fixed=none",
      "--seeds", "1-2",
    ]
    #expect(CLITests.run(args + ["--out", d + "/a"]).code == 0)
    #expect(CLITests.run(args + ["--out", d + "/b"]).code == 0)
    for f in ["comparison.csv", "comparison.json", "report.html"] {
      let a = try String(contentsOfFile: d + "/a/" + f, encoding: .utf8)
      #expect(a == (try String(contentsOfFile: d + "/b/" + f, encoding: .utf8)), "\(f)")
    }
    let csv = try String(contentsOfFile: d + "/a/comparison.csv", encoding: .utf8)
      .split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
    #expect(csv[0].prefix(4) == ["variant", "seed", "sloViolationSeconds", "droppedRequests"])
    #expect(csv.count == 1 + 4 * 2)
    func value(_ variant: String, _ seed: String, _ key: String) -> Double? {
      guard let col = csv[0].firstIndex(of: key),
        let row = csv.first(where: { $0[0] == variant && $0[1] == seed })
      else { return nil }
      return Double(row[col])
    }
    // The short window follows the wave: more scale events and direction changes, fewer
    // replica-hours than the default 300 s window; without an HPA nothing scales, and the two
    // pods (bursting to their 1-core limits) serve the peaks late.
    for seed in ["1", "2"] {
      let short = try #require(value("window-60s", seed, "directionChanges"))
      #expect(short > 10)
      #expect(value("baseline", seed, "directionChanges") == 0)
      #expect(
        try #require(value("window-60s", seed, "replicaHours"))
          < (try #require(value("baseline", seed, "replicaHours"))))
      #expect(value("fixed", seed, "scaleEvents") == 0)
      #expect(
        try #require(value("fixed", seed, "lateRequests"))
          > 10 * (try #require(value("baseline", seed, "lateRequests"))))
    }
    let html = try String(contentsOfFile: d + "/a/report.html", encoding: .utf8)
    #expect(html.contains("<svg"))
    #expect(html.contains("window-600s"))
  }

  /// A complaint scenario and what its documented comparison must show: `metric` of the
  /// baseline over the variant's at least `factor` (a factor below 1: at most).
  struct Complaint: Sendable, CustomTestStringConvertible {
    var file: String
    var facts: [(variant: String, metric: String, factor: Double)]
    var testDescription: String { file }
  }

  static let complaints: [Complaint] = [
    // Runaway scale-up on the start-up burst; waiting for the warm-up or a scale-up window
    // avoids it.
    Complaint(
      file: "hpa-startup-burst.yaml",
      facts: [
        ("ready-after-warmup", "replicaHours", 2), ("scale-up-window", "replicaHours", 2),
        ("ready-after-warmup", "scaleEvents", 5),
      ]),
    // Stuck on missing samples in the crash loop; the per-pod rate scales through it.
    Complaint(
      file: "hpa-unready-overload.yaml",
      facts: [("rps-per-pod", "droppedRequests", 100), ("rps-per-pod", "oomKills", 5)]),
    // The dead band's late requests; the 2 % tolerance scales in time.
    Complaint(
      file: "hpa-tolerance-dead-band.yaml", facts: [("tolerance-2pc", "lateRequests", 1000)]),
    // HPA and VPA on CPU: more, smaller pods and churn.
    Complaint(
      file: "hpa-vpa-fight.yaml",
      facts: [
        ("vpa-memory-only", "replicaHours", 1.5), ("hpa-average-value", "replicaHours", 1.5),
        ("vpa-memory-only", "scaleEvents", 1.8), ("vpa-memory-only", "evictions", 10),
      ]),
    // The cap's OOM loop; without it the bump-ups end it.
    Complaint(file: "vpa-oom-loop.yaml", facts: [("no-cap", "oomKills", 50)]),
    // Evictions cost served requests; in place they do not happen.
    Complaint(
      file: "vpa-recreate-vs-in-place.yaml",
      facts: [
        ("in-place", "droppedRequests", 3), ("in-place", "lateRequests", 1000),
        ("in-place-restart", "evictions", 9), ("in-place-restart", "droppedRequests", 1),
      ]),
    // Scale to zero saves replica-hours and pays in cold-start drops.
    Complaint(
      file: "keda-scale-to-zero.yaml",
      facts: [("warm", "replicaHours", 0.7), ("warm", "droppedRequests", 1.5)]),
    Complaint(file: "hpa-flapping.yaml", facts: [("window-60s", "directionChanges", 0)]),
    // Blockers keep idle nodes; fixed, the node-hours and cost fall by more than half.
    Complaint(
      file: "ca-wont-scale-down.yaml",
      facts: [("blockers-fixed", "nodeHours", 2), ("blockers-fixed", "cost", 2)]),
    // Placeholder headroom: fewer late requests for more node cost; an eager scale-down
    // spends fewer node-hours.
    Complaint(
      file: "ca-hpa-diurnal.yaml",
      facts: [
        ("overprovisioning", "lateRequests", 1.5), ("overprovisioning", "cost", 0),
        ("threshold-70", "nodeHours", 1),
      ]),
    // A priority list preferring the smallest nodes: more node churn and more cost.
    Complaint(
      file: "ca-expanders.yaml",
      facts: [("priority", "nodeChurnPerHour", 0), ("priority", "cost", 0)]),
    // Karpenter's packing and consolidation: cheaper, and far more evictions and churn.
    Complaint(
      file: "ca-vs-karpenter.yaml",
      facts: [
        ("karpenter", "cost", 1.3), ("karpenter", "evictions", 0),
        ("karpenter", "nodeChurnPerHour", 0),
      ]),
    // Spot: a third of the cost, paid in dropped requests and SLO violation.
    Complaint(
      file: "ca-spot-interruptions.yaml",
      facts: [
        ("on-demand", "droppedRequests", 2), ("on-demand", "sloViolationSeconds", 10),
        ("on-demand", "cost", 0.5),
      ]),
  ]

  /// Each bundled complaint scenario, compared as its header comment says (the command is
  /// read from there, so the documentation runs): a table, CSV and JSON, an HTML page with the
  /// variants plotted, and the contrast the scenario exists to show.
  @Test(arguments: complaints) func theDocumentedComparisonShowsTheComplaint(_ c: Complaint) throws
  {
    let path = scenariosDir + "/" + c.file
    let header = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
      .prefix { $0.hasPrefix("#") }.joined(separator: " ")
    var args = ["autoscale", "compare", path]
    var rest = header[...]
    while let r = rest.range(of: "--variant ") {
      let spec = rest[r.upperBound...].prefix { !$0.isWhitespace && $0 != "\\" }
      let parts = spec.split(separator: "=", maxSplits: 1)
      args += ["--variant", "\(parts[0])=" + scenariosDir + "/../../" + parts[1]]
      rest = rest[r.upperBound...]
    }
    #expect(args.count > 3, "no documented variant in \(c.file)")
    let d = try CLITests.tempDir()
    let r = CLITests.run(args + ["--out", d])
    #expect(r.code == 0, "\(r.message ?? "")")
    let csv = try String(contentsOfFile: d + "/comparison.csv", encoding: .utf8)
      .split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
    func value(_ variant: String, _ key: String) throws -> Double {
      let col = try #require(csv[0].firstIndex(of: key))
      return try #require(csv.first { $0[0] == variant }.flatMap { Double($0[col]) })
    }
    for f in c.facts {
      let base = try value("baseline", f.metric)
      let other = try value(f.variant, f.metric)
      if f.factor == 0 {
        #expect(other > base, "\(f.metric): \(f.variant) \(other) vs baseline \(base)")
      } else if f.factor >= 1 {
        #expect(base >= f.factor * other, "\(f.metric): baseline \(base) vs \(f.variant) \(other)")
      } else {
        #expect(base <= f.factor * other, "\(f.metric): baseline \(base) vs \(f.variant) \(other)")
      }
    }
    let html = try String(contentsOfFile: d + "/report.html", encoding: .utf8)
    #expect(html.contains("<svg"))
    #expect(FileManager.default.fileExists(atPath: d + "/comparison.json"))
  }

  @Test func aBadVariantIsOneLine() throws {
    let r = CLITests.run([
      "autoscale", "compare", scenariosDir + "/hpa-flapping.yaml", "--variant", "x",
    ])
    #expect(r.code != 0)
    #expect(r.message?.contains("expected NAME=PATCH.yaml") == true)
    let patch = try InputFixtures.temp("p.yaml", "apiVersion: v1\nmetadata: {name: x}\n")
    let r2 = CLITests.run([
      "autoscale", "compare", scenariosDir + "/hpa-flapping.yaml", "--variant", "x=" + patch,
    ])
    #expect(r2.message?.contains("a patch document needs kind") == true, "\(r2.message ?? "")")
  }
}
