import BerthTraces
import Testing

struct SweepYAMLTests {
  static let fgd = """
    apiVersion: berth.dev/v1alpha1
    kind: Sweep
    metadata: {name: fgd-grid}
    spec:
      experiment: compare
      settings: {nodes: nodes.csv, tune: 1.3}
      axes:
      - {name: workload, values: [default.csv, gpuspec33.csv]}
      - {name: policy, values: [random, fgd]}
      - {name: seed, values: "42-44,50"}
    """

  @Test("a compare sweep: settings and axes in the order written, seed ranges expanded")
  func compare() throws {
    let d = try SweepYAML.parse(Self.fgd, file: "s.yaml")
    #expect(d.name == "fgd-grid")
    #expect(d.experiment == .compare)
    #expect(d.settings.map(\.key) == ["nodes", "tune"])
    #expect(d.setting("tune") == "1.3")
    #expect(d.axes.map(\.name) == ["workload", "policy", "seed"])
    #expect(d.axes[2].values == ["42", "43", "44", "50"])
  }

  @Test("an autoscale-compare sweep with seeds as a list")
  func autoscale() throws {
    let d = try SweepYAML.parse(
      """
      apiVersion: berth.dev/v1alpha1
      kind: Sweep
      metadata: {name: flapping}
      spec:
        experiment: autoscale-compare
        settings: {scenario: hpa-flapping.yaml}
        axes:
        - {name: variant, values: [baseline, window-60s=window-60s.yaml]}
        - {name: seed, values: [1, 2, 3]}
      """, file: "s.yaml")
    #expect(d.experiment == .autoscaleCompare)
    #expect(d.axes[1].values == ["1", "2", "3"])
  }

  @Test(
    "bad sweeps fail with one line naming the file, line and what was expected",
    arguments: [
      ("kind: Sweep", "s.yaml:1: apiVersion must be berth.dev/v1alpha1"),
      (
        Self.fgd.replacingOccurrences(of: "experiment: compare", with: "experiment: cmp"),
        "s.yaml:5: spec.experiment: unknown experiment \"cmp\" (expected one of compare, autoscale-compare, simulate)"
      ),
      (
        Self.fgd.replacingOccurrences(of: "tune: 1.3", with: "tunes: 1.3"),
        "s.yaml:6: spec.settings.tunes: compare has no setting tunes (expected nodes, tune)"
      ),
      (
        Self.fgd.replacingOccurrences(of: "nodes: nodes.csv, ", with: ""),
        "s.yaml:6: spec.settings: the setting nodes is required"
      ),
      (
        Self.fgd.replacingOccurrences(of: "name: policy", with: "name: variant"),
        "s.yaml:9: spec.axes[1].name: compare has no axis variant (expected workload, policy, seed)"
      ),
      (
        Self.fgd.replacingOccurrences(of: "[random, fgd]", with: "[fgd, fgd]"),
        "s.yaml:9: spec.axes[1].values: fgd is listed twice"
      ),
      (
        Self.fgd.replacingOccurrences(of: "\"42-44,50\"", with: "44-42"),
        "s.yaml:10: spec.axes[2].values: the range 44-42 runs backwards"
      ),
      (
        Self.fgd.replacingOccurrences(of: "\"42-44,50\"", with: "0-100000"),
        "s.yaml:10: spec.axes[2].values: more than 100000 seeds"
      ),
      (
        Self.fgd.replacingOccurrences(of: "  - {name: policy, values: [random, fgd]}\n", with: ""),
        "s.yaml:8: spec.axes: the axis policy is required"
      ),
    ])
  func bad(_ text: String, _ message: String) {
    do {
      _ = try SweepYAML.parse(text, file: "s.yaml")
      Issue.record("accepted: \(message)")
    } catch {
      #expect(error.description == message)
    }
  }
}
