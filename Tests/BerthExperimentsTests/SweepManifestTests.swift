import BerthExperiments
import BerthTraces
import Foundation
import Testing

struct SweepManifestTests {
  static let manifest = SweepManifest(
    sweep: "grid", experiment: "compare", sweepChecksum: "00ff",
    axes: [
      .init(name: "policy", values: ["fgd", "random"]),
      .init(name: "seed", values: ["1", "2", "3"]),
    ],
    scenario: nil, inputs: [.init(name: "nodes.csv", bytes: 12, fnv1a64: "0123456789abcdef")],
    berth: .init(version: "0.10.0", commit: "abc", buildID: "unknown"),
    shard: .init(index: 1, count: 2), totalRuns: 6, runs: [1, 4, 5])

  @Test("a manifest reads back equal, and its text is stable (sorted keys, no clock)")
  func roundTrip() throws {
    let text = Self.manifest.json()
    #expect(try SweepManifest.parse(Data(text.utf8), file: "m.json") == Self.manifest)
    #expect(Self.manifest.json() == text)
    #expect(text.hasPrefix("{\n  \"axes\" : ["))
    #expect(!text.contains("scenario"))
  }

  @Test(
    "bad manifests fail with one line naming the file and field",
    arguments: [
      (
        "\"runs\" : [\n    1,\n    4,\n    5\n  ]", "\"runs\" : [5, 4]",
        "m.json: runs: expected ascending run numbers below 6, found 4"
      ),
      (
        "\"runs\" : [\n    1,\n    4,\n    5\n  ]", "\"runs\" : [1, 6]",
        "m.json: runs: expected ascending run numbers below 6, found 6"
      ),
      ("\"totalRuns\" : 6", "\"totalRuns\" : 7", "m.json: totalRuns: 7, but the axes make 6 runs"),
      (
        "\"format\" : 1", "\"format\" : 2",
        "m.json: format: 2 was written by another Berth (this one reads 1)"
      ),
      ("\"index\" : 1", "\"index\" : 2", "m.json: shard: expected 0 ≤ index < count ≤ 100000"),
      ("\"sweep\" : \"grid\",", "", "m.json: sweep: missing (not a sweep manifest?)"),
      ("\"totalRuns\" : 6", "\"totalRuns\" : \"6\"", "m.json: totalRuns: has the wrong type"),
      ("{", "[", "m.json: not valid JSON (not a sweep manifest?)"),
    ])
  func errors(find: String, replace: String, message: String) {
    let text = Self.manifest.json()
    #expect(text.contains(find), "\(find)")
    let bad = text.replacingOccurrences(of: find, with: replace)
    do {
      _ = try SweepManifest.parse(Data(bad.utf8), file: "m.json")
      Issue.record("accepted")
    } catch {
      #expect(error.description == message)
    }
  }
}
