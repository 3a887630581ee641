import BerthAutoscaling
import BerthTestSupport
import BerthTraces
import Foundation
import Testing

/// `berth simulate --hpa-history`: the HPA controller's history at a virtual time, in the file
/// `berth hpa explain --history` reads.
struct SimulateHistoryTests {
  @Test func theHistoryAtAnInstantIsWhatExplainReads() throws {
    let d = try CLITests.tempDir()
    let args = [
      "simulate", scenariosDir + "/hpa-flapping.yaml", "--until", "40m", "--hpa-history",
      "web@30m", "--hpa-history", "default/web@0s",
    ]
    #expect(CLITests.run(args + ["--out", d + "/a"]).code == 0)
    #expect(CLITests.run(args + ["--out", d + "/b"]).code == 0)
    let file = "/hpa-history-default-web-at-1800s.yaml"
    let text = try String(contentsOfFile: d + "/a" + file, encoding: .utf8)
    #expect(text == (try String(contentsOfFile: d + "/b" + file, encoding: .utf8)))
    let h = try HPAInputs.history(path: d + "/a" + file)
    // The scenario starts 2024-01-01T00:00:00Z; syncs every 15 s up to 30 min, the last
    // 5 minutes' recommendations kept (the legacy path's downscale stabilization).
    let start: Int64 = 1_704_067_200_000
    #expect(!h.recommendations.isEmpty)
    #expect(h.recommendations.map(\.time.value).max() == start + 1_800_000)
    #expect(h.recommendations.allSatisfy { $0.time.value >= start + 1_500_000 })
    let first = try HPAInputs.history(path: d + "/a/hpa-history-default-web-at-0s.yaml")
    #expect(first.recommendations.map(\.time.value) == [start])
    let listed = try String(contentsOfFile: d + "/a/berth-outputs.txt", encoding: .utf8)
    #expect(listed.contains("hpa-history-default-web-at-1800s.yaml"))
  }

  @Test func badRequestsAreOneLineAndWriteNothing() throws {
    let d = try CLITests.tempDir()
    let path = scenariosDir + "/hpa-flapping.yaml"
    let missing = CLITests.run(["simulate", path, "--out", d + "/x", "--hpa-history", "nope@1m"])
    #expect(missing.code != 0)
    #expect(
      missing.message?.contains("has no HorizontalPodAutoscaler default/nope") == true,
      "\(missing.message ?? "")")
    #expect(!FileManager.default.fileExists(atPath: d + "/x/summary.json"))
    let shape = CLITests.run(["simulate", path, "--out", d + "/y", "--hpa-history", "web"])
    #expect(shape.message?.contains("expected NAME@TIME") == true)
    let late = CLITests.run(["simulate", path, "--out", d + "/z", "--hpa-history", "web@3h"])
    #expect(late.message?.contains("after the run's end") == true)
    let noOut = CLITests.run(["simulate", path, "--hpa-history", "web@1m"])
    #expect(noOut.message?.contains("needs --out") == true)
  }

  /// `--timeseries-interval 1m`: at most one row per series per minute, the same last values.
  @Test func aCoarserTimeseriesKeepsTheLastValues() throws {
    let d = try CLITests.tempDir()
    let path = scenariosDir + "/hpa-flapping.yaml"
    #expect(CLITests.run(["simulate", path, "--until", "30m", "--out", d + "/fine"]).code == 0)
    #expect(
      CLITests.run([
        "simulate", path, "--until", "30m", "--out", d + "/coarse", "--timeseries-interval", "1m",
      ]).code == 0)
    func rows(_ dir: String) throws -> [[Substring]] {
      try String(contentsOfFile: dir + "/timeseries.csv", encoding: .utf8)
        .split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
    }
    let fine = try rows(d + "/fine")
    let coarse = try rows(d + "/coarse")
    #expect(coarse.count * 3 < fine.count, "\(coarse.count) vs \(fine.count)")
    var seen = Set<String>()
    var last: [String: Substring] = [:]
    for r in coarse {
      let key = r[1...4].joined(separator: ",")
      let minute = Int(Double(r[0])! / 60)
      #expect(seen.insert("\(key)@\(minute)").inserted, "two rows of \(key) in minute \(minute)")
      last[key] = r[5]
    }
    var fineLast: [String: Substring] = [:]
    for r in fine { fineLast[r[1...4].joined(separator: ",")] = r[5] }
    #expect(last == fineLast)
    let bad = CLITests.run(["simulate", path, "--timeseries-interval", "0s"])
    #expect(bad.message?.contains("must be positive") == true)
  }
}
