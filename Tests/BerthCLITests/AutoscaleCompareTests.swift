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
