import BerthAutoscaling
import BerthCore
import BerthTraces
import Foundation

/// A duration drawn per pod: fixed, uniform between two, or exponential with a mean.
public enum DurationDistribution: Sendable, Equatable {
  case fixed(VirtualTime)
  case uniform(VirtualTime, VirtualTime)
  case exponential(mean: VirtualTime)

  public func sample(_ rng: inout SplitMix64) -> VirtualTime {
    switch self {
    case .fixed(let d): return d
    case .uniform(let a, let b):
      guard b > a else { return a }
      let span = UInt64(b.nanoseconds - a.nanoseconds)
      return VirtualTime(nanoseconds: a.nanoseconds + Int64(rng.next() % (span + 1)))
    case .exponential(let mean):
      // Inverse transform on a 53-bit uniform in (0, 1].
      let u = (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_992
      return VirtualTime(nanoseconds: Int64((-log(u) * Double(mean.nanoseconds)).rounded()))
    }
  }
}

/// What the API has no field for: how long a pod's image takes to pull, when its container is
/// ready, when and how it exits. The first behaviour whose selector matches a pod's labels (in
/// its namespace, when one is given) applies.
public struct Behavior: Sendable {
  public var selector: LabelSelector
  public var namespace: String?
  /// Pull time when the node lacks the image; absent: 0.
  public var imagePull: DurationDistribution?
  /// Readiness probes succeed from this long after the container starts (absent: at once).
  public var readyAfter: DurationDistribution?
  /// The main container exits this long after it starts (absent: it runs on).
  public var exitAfter: DurationDistribution?
  public var exitCode: Int32 = 0
  /// How long the container takes to stop after SIGTERM (capped by the grace period; absent: 0).
  public var stopAfter: DurationDistribution?
  /// Each init container runs this long (absent: 0).
  public var initDuration: DurationDistribution?
  /// The startup probe succeeds from this long after the container starts (absent: at once).
  public var startedAfter: DurationDistribution?
  /// The liveness probe fails from this long after the container starts (absent: never).
  public var unhealthyAfter: DurationDistribution?
  /// How long an exec or HTTP preStop hook runs (absent: 0; a sleep hook says it itself).
  public var preStop: DurationDistribution?
  /// The pod's first sidecar (an init container with `restartPolicy: Always`) exits this long
  /// after each start, and is restarted with its own CrashLoopBackOff (absent: it runs on).
  public var sidecarExitAfter: DurationDistribution?

  public static let none = Behavior(selector: LabelSelector())
}

/// Settings of the simulated control plane whose defaults differ between Kubernetes versions,
/// or that users tune: each named after the upstream flag.
public struct SimulationSettings: Sendable, Equatable {
  /// The release whose defaults apply (`1.34` unless the scenario says otherwise).
  public var kubernetesVersion = "1.34"
  /// kube-controller-manager `--node-monitor-grace-period`: 50 s from v1.32, 40 s before.
  public var nodeMonitorGracePeriod = VirtualTime.seconds(Int64(50))
  /// The DefaultTolerationSeconds admission plugin's not-ready and unreachable tolerations.
  public var defaultTolerationSeconds: Int64 = 300
  /// The Job controller's cap on the pod-failure back-off (10 min).
  public var jobPodFailureBackOffMax = VirtualTime.seconds(Int64(600))
  /// kube-controller-manager's horizontal-pod-autoscaler flags and gates
  /// (`HPAConfigurableTolerance` on from 1.35).
  public var hpa: HPAControllerFlags = {
    var f = HPAControllerFlags()
    f.configurableTolerance = false
    return f
  }()
  /// The VPA recommender's flags (`spec.settings.vpaRecommender`, upstream names).
  public var vpaRecommender = VPARecommenderFlags()
  /// The VPA updater's flags (`spec.settings.vpaUpdater`, upstream names).
  public var vpaUpdater = VPAUpdaterFlags()

  public init() {}

  /// The defaults of a release, `major.minor`.
  public static func defaults(for version: String) -> SimulationSettings? {
    let parts = version.split(separator: ".")
    guard parts.count >= 2, parts[0] == "1", let minor = Int(parts[1]), minor >= 20 else {
      return nil
    }
    var s = SimulationSettings()
    s.kubernetesVersion = "1.\(minor)"
    s.nodeMonitorGracePeriod = .seconds(Int64(minor >= 32 ? 50 : 40))
    s.hpa.configurableTolerance = minor >= 35
    return s
  }
}

/// A kubectl-like verb at a virtual time.
public struct ScenarioAction: Sendable {
  public enum Verb: Sendable {
    case apply(ObjectDocument)
    /// A Karpenter NodePool applied again, changed (its nodes may drift).
    case applyNodePool(NodePoolSpec)
    case delete(ObjectReference)
    case scale(ObjectReference, replicas: Int)
    case setImage(ObjectReference, container: String, image: String)
    case patch(ObjectReference, ObjectDocument)
    case rolloutUndo(ObjectReference, toRevision: Int?)
    case rolloutPause(ObjectReference)
    case rolloutResume(ObjectReference)
    case cordon(String)
    case uncordon(String)
    case drain(String)
    case failNode(String)
    case recoverNode(String)
    case addNode(NodeSpec)
    case removeNode(String)

    public var name: String {
      switch self {
      case .apply, .applyNodePool: "apply"
      case .delete: "delete"
      case .scale: "scale"
      case .setImage: "setImage"
      case .patch: "patch"
      case .rolloutUndo: "rolloutUndo"
      case .rolloutPause: "rolloutPause"
      case .rolloutResume: "rolloutResume"
      case .cordon: "cordon"
      case .uncordon: "uncordon"
      case .drain: "drain"
      case .failNode: "failNode"
      case .recoverNode: "recoverNode"
      case .addNode: "addNode"
      case .removeNode: "removeNode"
      }
    }
  }
  public var at: VirtualTime
  public var verb: Verb
  /// Where it was written, for messages (`file:line`).
  public var origin: String
}

/// A scenario: the cluster's objects and one `Scenario` document (`berth.dev/v1alpha1`).
public struct Scenario: Sendable {
  public var name: String
  public var file: String
  public var duration: VirtualTime
  /// The virtual wall clock at time 0, Unix seconds.
  public var startTime: Int64
  public var seed: UInt64?
  public var settings: SimulationSettings
  public var behaviors: [Behavior]
  public var actions: [ScenarioAction]
  /// Nodes, bare pods, namespaces, priority classes, disruption budgets.
  public var manifest: Manifest
  public var workloads: [WorkloadObject]
  /// Named loads (`spec.loads`).
  public var loads: [LoadSpec] = []
  /// How pods use resources (`spec.usage`).
  public var usage: [UsageSpec] = []
  public var metricsServer = MetricsServerSpec()
  /// The scenario's HorizontalPodAutoscalers (autoscaling/v2), in file order.
  public var horizontalPodAutoscalers: [HPASpec] = []
  /// KEDA ScaledObjects (keda.sh/v1alpha1), in file order.
  public var scaledObjects: [ScaledObjectSpec] = []
  /// VerticalPodAutoscalers (autoscaling.k8s.io/v1), in file order.
  public var verticalPodAutoscalers: [VPASpec] = []
  /// The Cluster Autoscaler (`spec.clusterAutoscaler`); nil: the node set changes only by
  /// actions.
  public var clusterAutoscaler: ClusterAutoscalerScenario?
  /// Karpenter (`spec.karpenter` and the NodePools); nil without.
  public var karpenter: KarpenterScenario?

  public static let apiVersion = "berth.dev/v1alpha1"
  /// 2024-01-01T00:00:00Z.
  public static let defaultStartTime: Int64 = 1_704_067_200
  /// Refused before reading: a scenario is hand-written YAML, not a dump.
  public static let maxFileBytes = 64 << 20

  /// Reads a scenario file, or a directory of `.yaml`/`.yml` files (sorted by name).
  public static func read(path: String) throws(InputError) -> Scenario {
    let files = try InputFile.yamlFiles(at: path)
    var reader = Reader()
    for f in files {
      let size = ClusterLoader.inputBytes(f)
      guard size <= maxFileBytes else {
        throw InputError(
          file: f, "\(size) bytes is more than a scenario file may hold (\(maxFileBytes))")
      }
      let data = try InputFile.data(f)
      try InputFile.validateUTF8(data, file: f)
      try reader.add(String(decoding: data, as: UTF8.self), file: f)
    }
    return try reader.finish(path: path)
  }

  /// Reads a scenario from text (tests, fuzzing).
  public static func parse(_ text: String, file: String) throws(InputError) -> Scenario {
    guard text.utf8.count <= maxFileBytes else {
      throw InputError(file: file, "more than a scenario file may hold (\(maxFileBytes) bytes)")
    }
    var reader = Reader()
    try reader.add(text, file: file)
    return try reader.finish(path: file)
  }

  struct Reader {
    var objects = KubernetesYAML.Objects()
    var workloads: [WorkloadObject] = []
    var hpas: [(spec: HPASpec, node: YAMLValue)] = []
    var scaledObjects: [(spec: ScaledObjectSpec, node: YAMLValue)] = []
    var vpas: [(spec: VPASpec, node: YAMLValue)] = []
    var priorities: (ExpanderPriorities, YAMLValue)?
    var nodePools: [(spec: NodePoolSpec, node: YAMLValue)] = []
    var scenario: (YAMLValue, String)?
    var parsed: Scenario?

    mutating func add(_ text: String, file: String) throws(InputError) {
      var roots: [YAMLValue] = []
      try InputFile.withBytes(text) { bytes throws(InputError) in
        try YAMLParser.parse(bytes, file: file) { tree throws(InputError) in
          if let root = tree.root, !root.isNull { roots.append(root) }
        }
      }
      for root in roots {
        guard root.kind == .mapping else { throw root.error("expected an object (a mapping)") }
        let kind = try root.child("kind")?.string()
        if kind == "List" {
          for item in try root.child("items")?.sequence() ?? [] { try object(item) }
        } else {
          try object(root)
        }
      }
    }

    mutating func object(_ v: YAMLValue) throws(InputError) {
      guard let kind = try v.child("kind")?.string() else { throw v.error("missing kind") }
      if kind == "Scenario" {
        if let (first, file) = scenario {
          throw v.error("a second Scenario (the first is at \(file):\(first.line ?? 0))")
        }
        scenario = (v, v.file)
        parsed = try Scenario.scenario(v)
      } else if kind == "NodePool" {
        let p = try Scenario.nodePool(v)
        if nodePools.contains(where: { $0.spec.name == p.name }) {
          throw v.error("duplicate NodePool \(p.name)")
        }
        nodePools.append((p, v))
      } else if kind == "ConfigMap" {
        try v.requireKeys(in: ["apiVersion", "kind", "metadata", "data"])
        let name = try KubernetesYAML.name(v)
        guard name == ExpanderPriorities.configMapName else {
          throw v.error(
            "the only ConfigMap a scenario reads is \(ExpanderPriorities.configMapName) (the Cluster Autoscaler's priority expander), not \(name)"
          )
        }
        if let (_, first) = priorities {
          throw v.error("a second \(name) (the first is at \(first.file):\(first.line ?? 0))")
        }
        priorities = (try Scenario.expanderPriorities(v), v)
      } else if kind == "VerticalPodAutoscaler" {
        let o = try VPAInputs.vpa(v)
        if vpas.contains(where: { $0.spec.namespace == o.namespace && $0.spec.name == o.name }) {
          throw v.error("duplicate VerticalPodAutoscaler \(o.namespace)/\(o.name)")
        }
        guard ["Deployment", "StatefulSet", "ReplicaSet"].contains(o.targetRef.kind) else {
          throw v.error("the simulator's VPA targets Deployments, StatefulSets and ReplicaSets")
        }
        vpas.append((o, v))
      } else if kind == "ScaledObject" {
        let o = try HPAInputs.scaledObject(v)
        if scaledObjects.contains(where: {
          $0.spec.namespace == o.namespace && $0.spec.name == o.name
        }) {
          throw v.error("duplicate ScaledObject \(o.namespace)/\(o.name)")
        }
        scaledObjects.append((o, v))
      } else if kind == "HorizontalPodAutoscaler" {
        let h = try HPAInputs.hpa(v, scaleToZero: true)
        if hpas.contains(where: {
          $0.spec.namespace == h.spec.namespace && $0.spec.name == h.spec.name
        }) {
          throw v.error("duplicate HorizontalPodAutoscaler \(h.spec.namespace)/\(h.spec.name)")
        }
        hpas.append((h.spec, v))
      } else if WorkloadObject.kinds.contains(kind) {
        let w = try WorkloadObject.read(v)
        if workloads.contains(where: { $0.reference == w.reference }) {
          throw v.error("duplicate \(w.reference)")
        }
        workloads.append(w)
      } else {
        try objects.add(v)
      }
    }

    mutating func finish(path: String) throws(InputError) -> Scenario {
      guard var s = parsed else {
        throw InputError(
          file: path, "no Scenario document (apiVersion \(Scenario.apiVersion), kind Scenario)")
      }
      s.manifest = try objects.resolved()
      s.workloads = workloads
      for (h, node) in hpas {
        if h.minReplicas == 0 && !s.settings.hpa.scaleToZero {
          throw node.error(
            "HorizontalPodAutoscaler \(h.namespace)/\(h.name): spec.minReplicas 0 needs the HPAScaleToZero feature gate (spec.settings.featureGates)"
          )
        }
        guard ["Deployment", "StatefulSet", "ReplicaSet"].contains(h.scaleTargetRef.kind) else {
          throw node.error(
            "HorizontalPodAutoscaler \(h.namespace)/\(h.name): the simulator scales Deployments, StatefulSets and ReplicaSets, not \(h.scaleTargetRef.kind)"
          )
        }
      }
      s.horizontalPodAutoscalers = hpas.map(\.spec)
      for (o, node) in scaledObjects {
        for t in o.triggers where !t.isResource {
          guard s.loads.contains(where: { $0.name == t.source }) else {
            throw node.error(
              "ScaledObject \(o.namespace)/\(o.name): no load named \(t.source) in spec.loads")
          }
        }
        guard ["Deployment", "StatefulSet", "ReplicaSet"].contains(o.scaleTargetRef.kind) else {
          throw node.error(
            "ScaledObject \(o.namespace)/\(o.name): the simulator scales Deployments, StatefulSets and ReplicaSets"
          )
        }
        let h = o.hpa
        if s.horizontalPodAutoscalers.contains(where: {
          $0.namespace == h.namespace && $0.name == h.name
        }) {
          throw node.error(
            "ScaledObject \(o.namespace)/\(o.name): an HPA named \(h.name) exists already")
        }
      }
      s.scaledObjects = scaledObjects.map(\.spec)
      s.verticalPodAutoscalers = vpas.map(\.spec)
      if var k = s.karpenter {
        guard !nodePools.isEmpty else {
          throw InputError(
            file: path, "spec.karpenter needs at least one NodePool (karpenter.sh/v1)")
        }
        guard s.clusterAutoscaler == nil else {
          throw InputError(
            file: path,
            "spec.karpenter and spec.clusterAutoscaler both given: a cluster runs one node autoscaler"
          )
        }
        k.nodePools = nodePools.map(\.spec)
        s.karpenter = k
      } else if let (_, node) = nodePools.first {
        throw node.error("a NodePool needs spec.karpenter in the Scenario (the instance types)")
      }
      for a in s.actions {
        guard case .applyNodePool(let pool) = a.verb else { continue }
        guard let k = s.karpenter, k.nodePools.contains(where: { $0.name == pool.name }) else {
          throw InputError(
            file: a.origin,
            "apply NodePool \(pool.name): only the scenario's own NodePools can be applied again (spec.karpenter and a NodePool \(pool.name))"
          )
        }
      }
      if var ca = s.clusterAutoscaler {
        ca.priorities = priorities?.0
        if ca.flags.expanders.contains(.priority) && ca.priorities == nil {
          throw InputError(
            file: path,
            "the priority expander needs a ConfigMap \(ExpanderPriorities.configMapName) with data.priorities"
          )
        }
        for n in s.manifest.nodes {
          guard let g = n.labels[NodeGroupSpec.label] else { continue }
          guard ca.groups.contains(where: { $0.spec.name == g }) else {
            throw InputError(
              file: path,
              "node \(n.name) is labelled \(NodeGroupSpec.label)=\(g), but spec.clusterAutoscaler has no such node group"
            )
          }
        }
        s.clusterAutoscaler = ca
      }
      return s
    }
  }

  // MARK: The Scenario document

  static func scenario(_ v: YAMLValue) throws(InputError) -> Scenario {
    try v.requireKeys(in: ["apiVersion", "kind", "metadata", "spec"])
    let apiVersion = try v.child("apiVersion")?.string() ?? ""
    guard apiVersion == Scenario.apiVersion else {
      throw (v.child("apiVersion") ?? v).error("a Scenario needs apiVersion \(Scenario.apiVersion)")
    }
    let name = try KubernetesYAML.name(v)
    guard let spec = v.child("spec") else { throw v.error("Scenario \(name) has no spec") }
    try spec.requireKeys(in: [
      "duration", "startTime", "seed", "behaviors", "actions", "settings", "loads", "usage",
      "metricsServer", "clusterAutoscaler", "karpenter",
    ])
    guard let d = spec.child("duration") else {
      throw spec.error("Scenario \(name) needs spec.duration")
    }
    let duration = try Self.duration(d)
    guard duration > .zero else { throw d.error("must be positive") }
    var start = Scenario.defaultStartTime
    if let t = spec.child("startTime") {
      let f = ISO8601DateFormatter()
      f.formatOptions = [.withInternetDateTime]
      guard let date = f.date(from: try t.string()) else {
        throw t.error("expected an RFC 3339 time such as 2024-01-01T00:00:00Z")
      }
      start = Int64(date.timeIntervalSince1970)
    }
    var seed: UInt64?
    if let s = spec.child("seed") {
      guard let x = UInt64(try s.string()) else { throw s.error("expected a non-negative integer") }
      seed = x
    }
    var settings = SimulationSettings()
    if let st = spec.child("settings") {
      try st.requireKeys(
        in: Set(
          [
            "kubernetesVersion", "nodeMonitorGracePeriod", "defaultTolerationSeconds",
            "jobPodFailureBackOffMax", "vpaRecommender", "vpaUpdater",
          ] + hpaFlagKeys))
      if let k = st.child("kubernetesVersion") {
        guard let s = SimulationSettings.defaults(for: try k.string()) else {
          throw k.error("expected a release such as 1.34 (1.20 or later)")
        }
        settings = s
      }
      if let g = st.child("nodeMonitorGracePeriod") {
        settings.nodeMonitorGracePeriod = try Self.duration(g)
      }
      if let t = st.child("defaultTolerationSeconds") {
        settings.defaultTolerationSeconds = try t.int64()
        guard settings.defaultTolerationSeconds >= 0 else { throw t.error("must be ≥ 0") }
      }
      if let j = st.child("jobPodFailureBackOffMax") {
        settings.jobPodFailureBackOffMax = try Self.duration(j)
      }
      try hpaFlags(st, into: &settings.hpa)
      if let r = st.child("vpaRecommender") {
        try vpaRecommenderFlags(r, into: &settings.vpaRecommender)
      }
      if let u = st.child("vpaUpdater") { try vpaUpdaterFlags(u, into: &settings.vpaUpdater) }
    }
    var behaviors: [Behavior] = []
    for b in try spec.child("behaviors")?.sequence() ?? [] {
      try b.requireKeys(in: [
        "selector", "namespace", "imagePull", "readyAfter", "exitAfter", "exitCode", "stopAfter",
        "initDuration", "startedAfter", "unhealthyAfter", "preStop", "sidecarExitAfter",
      ])
      var behavior = Behavior(
        selector: try b.child("selector").map { s throws(InputError) in
          try KubernetesYAML.labelSelector(s)
        } ?? LabelSelector())
      behavior.namespace = try b.child("namespace")?.string()
      behavior.imagePull = try b.child("imagePull").map(distribution)
      behavior.readyAfter = try b.child("readyAfter").map(distribution)
      behavior.exitAfter = try b.child("exitAfter").map(distribution)
      behavior.stopAfter = try b.child("stopAfter").map(distribution)
      behavior.initDuration = try b.child("initDuration").map(distribution)
      behavior.startedAfter = try b.child("startedAfter").map(distribution)
      behavior.unhealthyAfter = try b.child("unhealthyAfter").map(distribution)
      behavior.preStop = try b.child("preStop").map(distribution)
      behavior.sidecarExitAfter = try b.child("sidecarExitAfter").map(distribution)
      if let c = b.child("exitCode") {
        behavior.exitCode = try c.int32()
        guard (0...255).contains(behavior.exitCode) else { throw c.error("expected 0…255") }
      }
      behaviors.append(behavior)
    }
    var actions: [ScenarioAction] = []
    for a in try spec.child("actions")?.sequence() ?? [] {
      actions.append(try action(a, limit: duration))
    }
    var scenario = Scenario(
      name: name, file: v.file, duration: duration, startTime: start, seed: seed,
      settings: settings, behaviors: behaviors, actions: actions,
      manifest: Manifest(nodes: [], pods: []), workloads: [])
    let dir = (v.file as NSString).deletingLastPathComponent
    if let l = spec.child("loads") { scenario.loads = try loads(l, dir: dir) }
    if let u = spec.child("usage") {
      scenario.usage = try usage(u, loads: scenario.loads, dir: dir)
    }
    if let k = spec.child("karpenter") { scenario.karpenter = try karpenter(k, dir: dir) }
    if let c = spec.child("clusterAutoscaler") {
      scenario.clusterAutoscaler = try clusterAutoscaler(c)
    }
    if let m = spec.child("metricsServer") {
      try m.requireKeys(in: ["metricResolution"])
      if let r = m.child("metricResolution") {
        let d = try Self.duration(r)
        guard d > .zero else { throw r.error("must be positive") }
        scenario.metricsServer.metricResolution = d
      }
    }
    return scenario
  }

  static func duration(_ v: YAMLValue) throws(InputError) -> VirtualTime {
    let text = try v.string()
    let ns: Int64
    do throws(GoDuration.ParseError) { ns = try GoDuration.parse(text) } catch {
      throw v.error("\(error.description) (expected a duration such as 500ms, 90s, 30m or 2h)")
    }
    guard ns >= 0 else { throw v.error("must not be negative") }
    return VirtualTime(nanoseconds: ns)
  }

  static func distribution(_ v: YAMLValue) throws(InputError) -> DurationDistribution {
    if v.kind == .scalar { return .fixed(try duration(v)) }
    let entries = try v.mapping()
    guard entries.count == 1 else {
      throw v.error("expected a duration, or one of {uniform: [min, max]} and {exponential: mean}")
    }
    let (key, value) = entries[0]
    switch key {
    case "uniform":
      let bounds = try value.sequence()
      guard bounds.count == 2 else { throw value.error("expected [min, max]") }
      let a = try duration(bounds[0])
      let b = try duration(bounds[1])
      guard a <= b else { throw value.error("min must not exceed max") }
      return .uniform(a, b)
    case "exponential":
      return .exponential(mean: try duration(value))
    default:
      throw value.error(
        "unknown distribution \"\(Escaped(key))\" (expected uniform or exponential)")
    }
  }

  static let verbs: Set<String> = [
    "apply", "delete", "scale", "setImage", "patch", "rolloutUndo", "rolloutPause",
    "rolloutResume", "cordon", "uncordon", "drain", "failNode", "recoverNode", "addNode",
    "removeNode",
  ]

  static func action(_ v: YAMLValue, limit: VirtualTime) throws(InputError) -> ScenarioAction {
    let entries = try v.mapping()
    guard let atNode = v.child("at") else { throw v.error("an action needs `at` (a duration)") }
    let at = try duration(atNode)
    let verbs = entries.filter { $0.key != "at" }
    guard verbs.count == 1, let (verb, body) = verbs.first, Scenario.verbs.contains(verb) else {
      if let unknown = verbs.first(where: { !Scenario.verbs.contains($0.key) }) {
        throw unknown.value.error(
          "unknown verb \"\(Escaped(unknown.key))\" (expected one of \(Scenario.verbs.sorted().joined(separator: ", ")))"
        )
      }
      throw v.error("an action has `at` and exactly one verb")
    }
    let origin = "\(v.file):\(v.line ?? 0)"
    func reference(allowed: Set<String>) throws(InputError) -> ObjectReference {
      guard let kind = try body.child("kind")?.string() else { throw body.error("needs kind") }
      guard allowed.contains(kind) else {
        throw body.child("kind")!.error("expected \(allowed.sorted().joined(separator: " or "))")
      }
      guard let name = try body.child("name")?.string(), !name.isEmpty else {
        throw body.error("needs name")
      }
      return ObjectReference(
        kind: kind, namespace: try body.child("namespace")?.string() ?? "default", name: name)
    }
    func nodeName() throws(InputError) -> String {
      try body.requireKeys(in: ["name"])
      guard let n = try body.child("name")?.string(), !n.isEmpty else {
        throw body.error("needs the node's name")
      }
      return n
    }
    let workloadKinds = WorkloadObject.kinds
    let result: ScenarioAction.Verb
    switch verb {
    case "apply":
      guard body.kind == .mapping else { throw body.error("expected an object to apply") }
      let kind = try body.child("kind")?.string() ?? ""
      if kind == "NodePool" {
        result = .applyNodePool(try Scenario.nodePool(body))
        break
      }
      guard workloadKinds.contains(kind) else {
        throw (body.child("kind") ?? body).error(
          "apply takes a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob or NodePool (nodes come with addNode)"
        )
      }
      _ = try WorkloadObject.read(body)
      result = .apply(ObjectDocument(body))
    case "delete":
      try body.requireKeys(in: ["kind", "name", "namespace"])
      let kinds = workloadKinds.union(["Pod"])
      result = .delete(try reference(allowed: kinds))
    case "scale":
      try body.requireKeys(in: ["kind", "name", "namespace", "replicas"])
      guard let r = body.child("replicas") else { throw body.error("needs replicas") }
      let n = try r.int32()
      guard n >= 0 else { throw r.error("must be greater than or equal to 0") }
      result = .scale(
        try reference(allowed: ["Deployment", "ReplicaSet", "StatefulSet"]), replicas: Int(n))
    case "setImage":
      try body.requireKeys(in: ["kind", "name", "namespace", "container", "image"])
      guard let c = try body.child("container")?.string(), let i = try body.child("image")?.string()
      else { throw body.error("needs container and image") }
      result = .setImage(
        try reference(allowed: workloadKinds.subtracting(["CronJob"])), container: c, image: i)
    case "patch":
      try body.requireKeys(in: ["kind", "name", "namespace", "patch"])
      guard let p = body.child("patch"), p.kind == .mapping else {
        throw body.error("needs patch (a strategic merge patch, as a mapping)")
      }
      result = .patch(try reference(allowed: workloadKinds), ObjectDocument(p))
    case "rolloutUndo":
      try body.requireKeys(in: ["kind", "name", "namespace", "toRevision"])
      let to = try body.child("toRevision").map { r throws(InputError) in
        let x = try r.int64()
        guard x >= 0 else { throw r.error("must be ≥ 0") }
        return Int(x)
      }
      result = .rolloutUndo(
        try reference(allowed: ["Deployment", "DaemonSet", "StatefulSet"]),
        toRevision: to == 0 ? nil : to)
    case "rolloutPause":
      try body.requireKeys(in: ["kind", "name", "namespace"])
      result = .rolloutPause(try reference(allowed: ["Deployment"]))
    case "rolloutResume":
      try body.requireKeys(in: ["kind", "name", "namespace"])
      result = .rolloutResume(try reference(allowed: ["Deployment"]))
    case "cordon": result = .cordon(try nodeName())
    case "uncordon": result = .uncordon(try nodeName())
    case "drain": result = .drain(try nodeName())
    case "failNode": result = .failNode(try nodeName())
    case "recoverNode": result = .recoverNode(try nodeName())
    case "removeNode": result = .removeNode(try nodeName())
    case "addNode":
      try body.requireKeys(in: ["node"])
      guard let n = body.child("node") else { throw body.error("needs node (a Node object)") }
      try StrictFields.check(n, kind: "Node")
      result = .addNode(try KubernetesYAML.node(n))
    default:
      throw v.error("unknown verb")
    }
    if at > limit {
      throw atNode.error("after the scenario's duration (\(limit))")
    }
    return ScenarioAction(at: at, verb: result, origin: origin)
  }
}
