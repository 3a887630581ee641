import BerthCore
import BerthScheduling
import BerthTraces
import Foundation

/// A benchmark suite read from YAML (format in docs/suites.md): test cases, each a template of
/// ops and named workloads that fill the template's `$params`.
public struct Suite: Sendable {
  public var name: String
  public var file: String
  /// FNV-1a of the file's bytes, recorded in reports so results name exactly what ran.
  public var checksum: UInt64
  public var testCases: [TestCase]
}

public struct TestCase: Sendable {
  public var name: String
  public var profile: Profile
  public var workloads: [Workload]
  /// Pods go through the scheduling queue in virtual time (retries, preemption) instead of one
  /// attempt each in creation order.
  public var queue = false
}

public struct Workload: Sendable {
  public var name: String
  public var labels: [String]
  public var params: [String: String]
  /// The template with this workload's params substituted.
  public var ops: [Op]
  public var thresholds: [Threshold]
  /// A fixed seed overriding the run's, so a golden placements checksum stays valid.
  public var seed: UInt64?
}

/// How nodes or pods are made: a generator mix or a Kubernetes object used as a template.
public enum ObjectSource: Sendable {
  case mix(SyntheticCluster.Mix)
  case nodeTemplate(NodeSpec)
  case podTemplate(PodSpec)
}

/// A change to nodes' specs: cordon or uncordon, labels set or removed, taints replaced.
public struct NodePatch: Sendable, Equatable {
  public var unschedulable: Bool?
  public var setLabels: [String: String] = [:]
  public var removeLabels: [String] = []
  public var taints: [Taint]?

  public func applied(to spec: NodeSpec) -> NodeSpec {
    var s = spec
    if let unschedulable { s.unschedulable = unschedulable }
    for (k, v) in setLabels { s.labels[k] = v }
    for k in removeLabels { s.labels[k] = nil }
    if let taints { s.taints = taints }
    return s
  }
}

public enum Op: Sendable {
  case createNodes(count: Int, source: ObjectSource, zones: [String])
  /// Pods from `source`, in `namespace` when given (else the template's).
  case createPods(count: Int, source: ObjectSource, collectMetrics: Bool, namespace: String?)
  /// Namespaces `prefix-0` … `prefix-(count−1)`, each with `labels`.
  case createNamespaces(prefix: String, count: Int, labels: [String: String])
  /// A Service (the only kind `createAny` takes): pods created later in its namespace that it
  /// selects get PodTopologySpread's system default constraints.
  case createService(namespace: String, selector: [String: String]?)
  /// From here on, every `everyPods` scheduled pods: delete `delete` random bound pods and create
  /// `create` pods from `source`.
  case churn(everyPods: Int, create: Int, delete: Int, source: ObjectSource)
  case deletePods(count: Int)
  /// Applies `patch` to `count` distinct random nodes (seeded) — in a queue test case as Node
  /// update events, after which the queue runs until nothing can change.
  case updateNodes(count: Int, patch: NodePatch)
  /// Waits until no pod is pending; scheduling here is synchronous, so it only marks the point.
  case barrier
  case startCollectingMetrics
  case stopCollectingMetrics

  public var opcode: String {
    switch self {
    case .createNodes: return "createNodes"
    case .createPods: return "createPods"
    case .createNamespaces: return "createNamespaces"
    case .createService: return "createAny"
    case .churn: return "churn"
    case .deletePods: return "deletePods"
    case .updateNodes: return "updateNodes"
    case .barrier: return "barrier"
    case .startCollectingMetrics: return "startCollectingMetrics"
    case .stopCollectingMetrics: return "stopCollectingMetrics"
    }
  }
}

extension Suite {
  public static func read(path: String) throws(InputError) -> Suite {
    let data = try InputFile.data(path)
    let text = try InputFile.text(data, file: path)
    return try parse(text, file: path, checksum: InputChecksum.fnv1a64(data))
  }

  public static func parse(_ text: String, file: String, checksum: UInt64 = 0) throws(InputError)
    -> Suite
  {
    let v = try YAMLValue.document(text, file: file, empty: "suite")
    try v.requireKeys(in: ["name", "description", "testCases"])
    guard let name = try v.child("name")?.string(), !name.isEmpty else {
      throw v.error("a suite needs a name")
    }
    guard let cases = v.child("testCases") else { throw v.error("a suite needs testCases") }
    let dir = (file as NSString).deletingLastPathComponent
    var testCases: [TestCase] = []
    for c in try cases.sequence() { testCases.append(try testCase(c, directory: dir)) }
    guard !testCases.isEmpty else { throw cases.error("a suite needs at least one test case") }
    return Suite(name: name, file: file, checksum: checksum, testCases: testCases)
  }

  static func testCase(_ v: YAMLValue, directory: String) throws(InputError) -> TestCase {
    try v.requireKeys(in: ["name", "schedulerConfig", "workloadTemplate", "workloads", "queue"])
    guard let name = try v.child("name")?.string(), !name.isEmpty else {
      throw v.error("a test case needs a name")
    }
    var profile = Profile.default
    if let configNode = v.child("schedulerConfig") {
      let relative = try configNode.string()
      let path = relative.hasPrefix("/") ? relative : directory + "/" + relative
      let config = try SchedulerConfigurationYAML.read(path: path)
      do { profile = try Profile.resolve(config)[0] } catch {
        throw configNode.error(error.description)
      }
    }
    guard let template = v.child("workloadTemplate") else {
      throw v.error("a test case needs a workloadTemplate")
    }
    guard let workloadList = v.child("workloads") else {
      throw v.error("a test case needs workloads")
    }
    var workloads: [Workload] = []
    var names = Set<String>()
    for w in try workloadList.sequence() {
      let workload = try self.workload(w, template: template)
      guard names.insert(workload.name).inserted else {
        throw w.error("duplicate workload name \"\(workload.name)\"")
      }
      workloads.append(workload)
    }
    var testCase = TestCase(name: name, profile: profile, workloads: workloads)
    testCase.queue = try v.child("queue")?.bool() ?? false
    return testCase
  }

  static func workload(_ v: YAMLValue, template: YAMLValue) throws(InputError) -> Workload {
    try v.requireKeys(in: ["name", "labels", "params", "thresholds", "seed"])
    guard let name = try v.child("name")?.string(), !name.isEmpty else {
      throw v.error("a workload needs a name")
    }
    var params: [String: YAMLValue] = [:]
    var paramText: [String: String] = [:]
    for (key, value) in try v.child("params")?.mapping() ?? [] {
      guard value.kind == .scalar else { throw value.error("a param must be a scalar") }
      params[key] = value
      paramText[key] = try value.string()
    }
    var used = Set<String>()
    let substituted = try template.substituting(params, used: &used)
    if let unused = params.keys.sorted().first(where: { !used.contains($0) }) {
      throw (v.child("params")?.child(unused) ?? v).error(
        "param \"\(unused)\" is not used by the workload template")
    }
    var ops: [Op] = []
    var objects = 0
    for o in try substituted.sequence() {
      let added = try self.ops(o)
      for op in added {
        switch op {
        case .createNodes(let count, _, _), .createPods(let count, _, _, _): objects += count
        default: break
        }
      }
      guard objects <= Limits.objectsPerWorkload else {
        throw o.error(
          "workload \(name) creates more than \(Limits.objectsPerWorkload) nodes and pods")
      }
      ops += added
    }
    var thresholds: [Threshold] = []
    for t in try v.child("thresholds")?.sequence() ?? [] {
      let text = try t.string()
      do throws(Threshold.ParseError) { thresholds.append(try Threshold(parsing: text)) } catch {
        throw t.error(error.description)
      }
    }
    let seed = try v.child("seed").map { s throws(InputError) -> UInt64 in
      let n = try s.int64()
      guard n >= 0 else { throw s.error("a seed must be ≥ 0") }
      return UInt64(n)
    }
    return Workload(
      name: name, labels: try v.child("labels")?.stringList() ?? [], params: paramText, ops: ops,
      thresholds: thresholds,
      seed: seed)
  }

  /// Bounds on what a suite may ask for, checked while reading so that an absurd count is an
  /// error, never an allocation — whether or not its workload is selected to run.
  public enum Limits {
    /// Objects one op creates (nodes, pods, namespaces, updates, deletions).
    public static let countPerOp = 10_000_000
    /// Namespaces one `createPodSets` op expands to.
    public static let podSets = 100_000
    /// Nodes plus pods one workload creates over all its ops (churn excluded).
    public static let objectsPerWorkload = 20_000_000
  }

  static func count(
    _ v: YAMLValue?, in op: YAMLValue, field: String = "count", max: Int = Limits.countPerOp
  ) throws(InputError) -> Int {
    guard let v else { throw op.error("\(op.path) needs \(field)") }
    let n = try v.int64()
    guard n >= 0, n <= max else { throw v.error("expected a count in 0…\(max), found \(n)") }
    return Int(n)
  }

  static func source(_ v: YAMLValue, template key: String) throws(InputError) -> ObjectSource {
    if let t = v.child(key) {
      // Templates may omit metadata.name and kind; the runner names each copy.
      let kind = key == "nodeTemplate" ? "Node" : "Pod"
      let line = t.line ?? 0
      guard t.kind == .mapping else { throw t.error("expected a mapping") }
      var manifest = t.withDefault("kind") { $0.addScalar(kind, line: line) }
      let meta =
        manifest.child("metadata")
        ?? YAMLValue(tree: t.tree, index: t.tree.addContainer(.mapping, items: [], line: line))
      guard meta.kind == .mapping else { throw meta.error("expected a mapping") }
      let named = meta.withDefault("name") { $0.addScalar("template", line: line) }
      if named.index != meta.index || manifest.child("metadata") == nil {
        manifest = manifest.setting("metadata", to: named.index)
      }
      try StrictFields.check(manifest, kind: kind)
      return key == "nodeTemplate"
        ? .nodeTemplate(try KubernetesYAML.node(manifest))
        : .podTemplate(try KubernetesYAML.pod(manifest))
    }
    let mixText = try v.child("mix")?.string() ?? "oracle"
    guard let mix = SyntheticCluster.Mix(rawValue: mixText) else {
      throw v.child("mix")!.error(
        "expected one of \(SyntheticCluster.Mix.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return .mix(mix)
  }

  /// One op, or for `createPodSets` one `createPods` per namespace `namespacePrefix-i`.
  static func ops(_ v: YAMLValue) throws(InputError) -> [Op] {
    guard try v.child("opcode")?.string() == "createPodSets" else { return [try op(v)] }
    try v.requireKeys(in: ["opcode", "count", "namespacePrefix", "createPodsOp"])
    let n = try count(v.child("count"), in: v, max: Limits.podSets)
    guard let prefix = try v.child("namespacePrefix")?.string(), !prefix.isEmpty else {
      throw v.error("createPodSets needs a namespacePrefix")
    }
    guard let inner = v.child("createPodsOp") else {
      throw v.error("createPodSets needs a createPodsOp")
    }
    guard case .createPods(let c, let source, let collect, nil) = try op(inner) else {
      throw inner.error("createPodsOp must be a createPods op without a namespace")
    }
    guard n * c <= Limits.objectsPerWorkload else {
      throw v.error(
        "\(n) pod sets of \(c) pods is \(n * c) pods, more than a workload may create (\(Limits.objectsPerWorkload))"
      )
    }
    return (0..<n).map {
      .createPods(count: c, source: source, collectMetrics: collect, namespace: "\(prefix)-\($0)")
    }
  }

  static func op(_ v: YAMLValue) throws(InputError) -> Op {
    guard let codeNode = v.child("opcode") else { throw v.error("an op needs an opcode") }
    let code = try codeNode.string()
    switch code {
    case "createAny":
      try v.requireKeys(in: ["opcode", "namespace", "template"])
      guard let t = v.child("template") else { throw v.error("createAny needs a template") }
      guard try t.child("kind")?.string() == "Service" else {
        throw (t.child("kind") ?? t).error("createAny supports kind Service only")
      }
      var service = try KubernetesYAML.serviceSelector(t)
      if let ns = try v.child("namespace")?.string() { service.namespace = ns }
      return .createService(namespace: service.namespace, selector: service.selector)
    case "createNamespaces":
      try v.requireKeys(in: ["opcode", "prefix", "count", "labels"])
      guard let prefix = try v.child("prefix")?.string(), !prefix.isEmpty else {
        throw v.error("createNamespaces needs a prefix")
      }
      return .createNamespaces(
        prefix: prefix, count: try count(v.child("count"), in: v),
        labels: try v.child("labels")?.stringMap() ?? [:])
    case "createNodes":
      try v.requireKeys(in: ["opcode", "count", "mix", "nodeTemplate", "zones"])
      return .createNodes(
        count: try count(v.child("count"), in: v), source: try source(v, template: "nodeTemplate"),
        zones: try v.child("zones")?.stringList() ?? [])
    case "createPods":
      try v.requireKeys(in: [
        "opcode", "count", "mix", "podTemplate", "collectMetrics", "namespace",
      ])
      return .createPods(
        count: try count(v.child("count"), in: v), source: try source(v, template: "podTemplate"),
        collectMetrics: try v.child("collectMetrics")?.bool() ?? false,
        namespace: try v.child("namespace")?.string())
    case "churn":
      try v.requireKeys(in: ["opcode", "everyPods", "create", "delete", "mix", "podTemplate"])
      let every = try count(v.child("everyPods"), in: v, field: "everyPods")
      guard every > 0 else { throw v.child("everyPods")!.error("must be at least 1") }
      return .churn(
        everyPods: every,
        create: try v.child("create").map { c throws(InputError) in try count(c, in: v) } ?? 0,
        delete: try v.child("delete").map { c throws(InputError) in try count(c, in: v) } ?? 0,
        source: try source(v, template: "podTemplate"))
    case "updateNodes":
      try v.requireKeys(in: [
        "opcode", "count", "unschedulable", "labels", "removeLabels", "taints",
      ])
      var patch = NodePatch()
      patch.unschedulable = try v.child("unschedulable")?.bool()
      patch.setLabels = try v.child("labels")?.stringMap() ?? [:]
      patch.removeLabels = try v.child("removeLabels")?.stringList() ?? []
      patch.taints = try v.child("taints").map { t throws(InputError) in
        try KubernetesYAML.taints(t)
      }
      if patch.setLabels.keys.contains("kubernetes.io/hostname")
        || patch.removeLabels.contains("kubernetes.io/hostname")
      {
        throw v.error("updateNodes cannot change kubernetes.io/hostname")
      }
      guard patch != NodePatch() else {
        throw v.error("updateNodes needs unschedulable, labels, removeLabels or taints")
      }
      return .updateNodes(count: try count(v.child("count"), in: v), patch: patch)
    case "deletePods":
      try v.requireKeys(in: ["opcode", "count"])
      return .deletePods(count: try count(v.child("count"), in: v))
    case "barrier":
      try v.requireKeys(in: ["opcode"])
      return .barrier
    case "startCollectingMetrics":
      try v.requireKeys(in: ["opcode"])
      return .startCollectingMetrics
    case "stopCollectingMetrics":
      try v.requireKeys(in: ["opcode"])
      return .stopCollectingMetrics
    default:
      throw codeNode.error(
        "unknown opcode \"\(code)\" (expected createNodes, createNamespaces, createAny, createPods, createPodSets, churn, deletePods, updateNodes, barrier, startCollectingMetrics or stopCollectingMetrics)"
      )
    }
  }
}
