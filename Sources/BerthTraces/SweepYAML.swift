import BerthCore
import Foundation

/// A sweep as written (`kind: Sweep`, docs/sweeps.md): the experiment it repeats, that
/// experiment's fixed settings, and the axes whose cross product is the run list.
///
/// ```yaml
/// apiVersion: berth.dev/v1alpha1
/// kind: Sweep
/// metadata: {name: fgd-grid}
/// spec:
///   experiment: compare
///   settings: {nodes: ../openb-like/openb_node_list_gpu_node.csv, tune: 1.3}
///   axes:
///   - {name: workload, values: [../openb-like/openb_pod_list_default.csv]}
///   - {name: policy, values: [random, dotprod, clustering, packing, bestfit, fgd]}
///   - {name: seed, values: 42-51}
/// ```
public struct SweepDocument: Sendable, Equatable {
  public enum Experiment: String, CaseIterable, Sendable {
    /// `berth compare`: GPU-sharing policies on openb workloads.
    case compare
    /// `berth autoscale compare`: autoscaler variants of one scenario.
    case autoscaleCompare = "autoscale-compare"
    /// `berth simulate`: scenarios run to their end, judged on autoscale compare's metrics.
    case simulate
  }

  public struct Setting: Sendable, Equatable {
    public var key: String
    public var value: String
  }

  public struct Axis: Sendable, Equatable {
    public var name: String
    public var values: [String]
  }

  public var name: String
  public var experiment: Experiment
  /// In the order written.
  public var settings: [Setting]
  /// In the order written: the first axis varies slowest.
  public var axes: [Axis]

  public func setting(_ key: String) -> String? { settings.first { $0.key == key }?.value }
}

/// Reads sweep documents strictly: an unknown field, experiment, setting or axis, a missing one,
/// or a bad value is one line naming the file, line and field.
public enum SweepYAML {
  public static let apiVersion = "berth.dev/v1alpha1"
  /// At most this many values on one axis (a seed range included).
  public static let maxValues = 100_000

  /// Per experiment: its settings (required ones marked) and its axes (all required).
  static let schema: [SweepDocument.Experiment: (settings: [String: Bool], axes: [String])] = [
    .compare: (["nodes": true, "tune": false], ["workload", "policy", "seed"]),
    .autoscaleCompare: (["scenario": true], ["variant", "seed"]),
    .simulate: ([:], ["scenario", "seed"]),
  ]

  public static func read(path: String) throws(InputError) -> SweepDocument {
    try parse(try InputFile.text(path), file: path)
  }

  public static func parse(_ text: String, file: String) throws(InputError) -> SweepDocument {
    let v = try YAMLValue.document(text, file: file, empty: "sweep")
    try v.requireKeys(in: ["apiVersion", "kind", "metadata", "spec"])
    guard let api = v.child("apiVersion"), try api.string() == apiVersion else {
      throw (v.child("apiVersion") ?? v).error("apiVersion must be \(apiVersion)")
    }
    guard let kind = v.child("kind"), try kind.string() == "Sweep" else {
      throw (v.child("kind") ?? v).error("kind must be Sweep")
    }
    guard let metadata = v.child("metadata") else { throw v.error("metadata.name is required") }
    try metadata.requireKeys(in: ["name"])
    guard let nameNode = metadata.child("name") else {
      throw metadata.error("metadata.name is required")
    }
    let name = try nameNode.string()
    guard !name.isEmpty else { throw nameNode.error("the name is empty") }
    guard let spec = v.child("spec") else { throw v.error("spec is required") }
    try spec.requireKeys(in: ["experiment", "settings", "axes"])
    guard let experimentNode = spec.child("experiment") else {
      throw spec.error("spec.experiment is required")
    }
    let experimentName = try experimentNode.string()
    guard let experiment = SweepDocument.Experiment(rawValue: experimentName),
      let shape = schema[experiment]
    else {
      throw experimentNode.error(
        "unknown experiment \"\(Escaped(experimentName))\" (expected one of \(SweepDocument.Experiment.allCases.map(\.rawValue).joined(separator: ", ")))"
      )
    }
    var settings: [SweepDocument.Setting] = []
    if let s = spec.child("settings") {
      for (key, value) in try s.mapping() {
        guard shape.settings[key] != nil else {
          throw value.error(
            "\(experiment.rawValue) has no setting \(key) (expected \(shape.settings.keys.sorted().joined(separator: ", ")))"
          )
        }
        settings.append(.init(key: key, value: try value.string()))
      }
    }
    for (key, required) in shape.settings.sorted(by: { $0.key < $1.key })
    where required && !settings.contains(where: { $0.key == key }) {
      throw (spec.child("settings") ?? spec).error("the setting \(key) is required")
    }
    guard let axesNode = spec.child("axes") else { throw spec.error("spec.axes is required") }
    var axes: [SweepDocument.Axis] = []
    for a in try axesNode.sequence() {
      try a.requireKeys(in: ["name", "values"])
      guard let n = a.child("name") else { throw a.error("an axis needs a name") }
      let axisName = try n.string()
      guard shape.axes.contains(axisName) else {
        throw n.error(
          "\(experiment.rawValue) has no axis \(axisName) (expected \(shape.axes.joined(separator: ", ")))"
        )
      }
      guard !axes.contains(where: { $0.name == axisName }) else {
        throw n.error("the axis \(axisName) is given twice")
      }
      guard let valuesNode = a.child("values") else { throw a.error("the axis needs values") }
      let values =
        axisName == "seed" ? try seeds(valuesNode) : try valuesNode.stringList()
      guard !values.isEmpty else { throw valuesNode.error("the axis has no values") }
      guard values.count <= maxValues else {
        throw valuesNode.error("more than \(maxValues) values")
      }
      var seen = Set<String>()
      for value in values
      where value.isEmpty
        || value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
      {
        throw valuesNode.error("\"\(Escaped(value))\" is empty or holds a control character")
      }
      for value in values where !seen.insert(value).inserted {
        throw valuesNode.error("\(Escaped(value)) is listed twice")
      }
      axes.append(.init(name: axisName, values: values))
    }
    for required in shape.axes where !axes.contains(where: { $0.name == required }) {
      throw axesNode.error("the axis \(required) is required")
    }
    return SweepDocument(name: name, experiment: experiment, settings: settings, axes: axes)
  }

  /// Seeds: a list of non-negative integers or ranges, or one text of them (`42-51`,
  /// `1,5-7`), expanded in order (`SeedRanges`).
  static func seeds(_ v: YAMLValue) throws(InputError) -> [String] {
    let parts: [Substring]
    if v.kind == .sequence {
      parts = try v.stringList().map { Substring($0) }
    } else {
      parts = try v.string().split(separator: ",", omittingEmptySubsequences: false)
    }
    do throws(SeedRanges.Problem) {
      return try SeedRanges.expand(parts).map(String.init)
    } catch {
      throw v.error(error.message)
    }
  }
}
