import BerthCLI
import BerthTestSupport
import Foundation
import Testing

let vpaDir: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("datasets/vpa/web").path

/// `berth vpa recommend` end to end.
struct VPARecommendTests {
  @Test func aWeekOfConstantUsageRecommendsUsageTimesTheMargin() throws {
    var csv = "time,namespace,pod,container,cpu_cores,memory_bytes\n"
    let t0 = 1_767_225_600  // 2026-01-01T00:00:00Z
    for k in stride(from: 0, to: 7 * 1440, by: 1) {
      let s = t0 + k * 60
      let d = Date(timeIntervalSince1970: TimeInterval(s))
      let f = ISO8601DateFormatter()
      f.timeZone = TimeZone(identifier: "UTC")
      csv += "\(f.string(from: d)),default,web-1,app,1.000,1073741824\n"
    }
    let usage = try InputFixtures.temp("usage.csv", csv)
    let text = try BerthCLI.vpaRecommendReport(["--usage", usage, "--output", "json"])
    let j = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    let recs = try #require(j["containerRecommendations"] as? [[String: Any]])
    let target = try #require(recs.first?["target"] as? [String: String])
    // 1 core falls in the bucket [0.9584, 1.0163) → P90 = 1.0163 → 1016m × 1.15 = 1168m.
    #expect(target["cpu"] == "1168m")
    let memory = try #require(Double(target["memory"] ?? ""))
    #expect(memory / 1_073_741_824 >= 1.15 && memory / 1_073_741_824 < 1.15 * 1.06)
  }

  @Test func theBundledExampleIsCappedByItsPolicyAndRepeats() throws {
    let args = ["--usage", vpaDir + "/usage.csv", "--vpa", vpaDir + "/vpa.yaml"]
    let a = try BerthCLI.vpaRecommendReport(args)
    #expect(a == (try BerthCLI.vpaRecommendReport(args)))
    #expect(a.contains("- containerName: app"))
    #expect(a.contains("target: {cpu: \"763m\""))
    // An OOM at a 256 Mi request bumps the memory target: max(256 Mi + 100 Mi, 1.2 × the
    // day's peak) enters the memory peaks.
    let b = try BerthCLI.vpaRecommendReport(args + ["--oom", vpaDir + "/ooms.csv"])
    #expect(a != b)
  }

  @Test func badInputIsOneLine() throws {
    let bad = try InputFixtures.temp("u.csv", "time,ns,pod,container,cpu,memory\n")
    let r = CLITests.run(["vpa", "recommend", "--usage", bad])
    #expect(r.code != 0)
    #expect(
      r.message?.contains(
        "u.csv:1: expected the header time,namespace,pod,container,cpu_cores,memory_bytes") == true,
      "\(r.message ?? "")")
    let row = try InputFixtures.temp(
      "u.csv",
      "time,namespace,pod,container,cpu_cores,memory_bytes\n2026-01-01T00:00:00Z,d,p,c,-1,\n")
    let r2 = CLITests.run(["vpa", "recommend", "--usage", row])
    #expect(
      r2.message?.contains("u.csv:2: cpu_cores: expected a non-negative number") == true,
      "\(r2.message ?? "")")
  }
}
