import BerthAutoscaling
import BerthCore
import BerthTraces
import Foundation

/// A Cluster Autoscaler node group as the scenario declares it: the group and how long its
/// nodes take from request to Ready.
public struct NodeGroupScenario: Sendable {
  public var spec: NodeGroupSpec
  public var provisioningDelay: DurationDistribution
}

/// `spec.clusterAutoscaler`: the Cluster Autoscaler's flags (by upstream name), its node groups,
/// and the priority expander's ConfigMap when the scenario holds one.
public struct ClusterAutoscalerScenario: Sendable {
  public var flags = ClusterAutoscalerFlags()
  public var groups: [NodeGroupScenario] = []
  /// From the ConfigMap `cluster-autoscaler-priority-expander` (`data.priorities`).
  public var priorities: ExpanderPriorities?
  /// What the price expander charges for pods.
  public var podPricing = PodPricing()
}

extension Scenario {
  /// Groups at most, and nodes a group may hold at most: absurd sizes are refused.
  static let maxNodeGroups = 1000
  static let maxGroupSize = 100_000

  static func clusterAutoscaler(_ v: YAMLValue) throws(InputError) -> ClusterAutoscalerScenario {
    try v.requireKeys(in: ["expander", "flags", "nodeGroups", "podPricing"])
    var ca = ClusterAutoscalerScenario()
    if let f = v.child("flags") {
      let kinds = Dictionary(uniqueKeysWithValues: ClusterAutoscalerFlags.names)
      for (key, value) in try f.mapping() {
        guard let kind = kinds[key] else {
          throw value.error(
            "unknown Cluster Autoscaler flag \"\(Escaped(key))\" (the flags Berth models are listed in docs/node-autoscaling.md)"
          )
        }
        let parsed = try flagValue(value, kind: kind, name: key)
        _ = ca.flags.set(key, parsed)
      }
    }
    if let e = v.child("expander") {
      if v.child("flags")?.child("expander") != nil {
        throw e.error("the expander is given twice (here and in flags)")
      }
      _ = ca.flags.set("expander", try flagValue(e, kind: .expander, name: "expander"))
    }
    if let p = v.child("podPricing") {
      try p.requireKeys(in: ["cpuPerCoreHour", "memoryPerGiBHour"])
      if let c = p.child("cpuPerCoreHour") { ca.podPricing.cpuPerCoreHour = try price(c) }
      if let m = p.child("memoryPerGiBHour") { ca.podPricing.memoryPerGiBHour = try price(m) }
    }
    guard let list = v.child("nodeGroups") else {
      throw v.error("spec.clusterAutoscaler needs nodeGroups")
    }
    let groups = try list.sequence()
    guard !groups.isEmpty, groups.count <= maxNodeGroups else {
      throw list.error("expected 1…\(maxNodeGroups) node groups")
    }
    for g in groups {
      try g.requireKeys(in: [
        "name", "minSize", "maxSize", "provisioningDelay", "pricePerHour", "template",
        "unavailable", "spot",
      ])
      guard let nameNode = g.child("name") else { throw g.error("a node group needs a name") }
      let name = try nameNode.string()
      guard !name.isEmpty, name.utf8.count <= 63,
        name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
      else {
        throw nameNode.error("expected a name of up to 63 letters, digits, '-' and '.'")
      }
      guard !ca.groups.contains(where: { $0.spec.name == name }) else {
        throw nameNode.error("duplicate node group \(name)")
      }
      func size(_ key: String, default d: Int64?) throws(InputError) -> Int {
        guard let n = g.child(key) else {
          guard let d else { throw g.error("node group \(name) needs \(key)") }
          return Int(d)
        }
        let x = try n.int64()
        guard (0...Int64(maxGroupSize)).contains(x) else {
          throw n.error("expected 0…\(maxGroupSize)")
        }
        return Int(x)
      }
      let minSize = try size("minSize", default: 0)
      let maxSize = try size("maxSize", default: nil)
      guard minSize <= maxSize else {
        throw (g.child("minSize") ?? g).error("minSize \(minSize) exceeds maxSize \(maxSize)")
      }
      guard let t = g.child("template") else {
        throw g.error("node group \(name) needs a template (a Node object)")
      }
      try StrictFields.check(t, kind: "Node")
      var template = try KubernetesYAML.node(t, defaultName: name)
      template.labels[NodeGroupSpec.label] = name
      template.labels["kubernetes.io/hostname"] = nil
      var spec = NodeGroupSpec(name: name, minSize: minSize, maxSize: maxSize, template: template)
      if let p = g.child("pricePerHour") { spec.pricePerHour = try price(p) }
      for w in try g.child("unavailable")?.sequence() ?? [] {
        try w.requireKeys(in: ["from", "until"])
        guard let f = w.child("from"), let u = w.child("until") else {
          throw w.error("a window needs from and until")
        }
        let window = TimeWindow(from: try duration(f), until: try duration(u))
        guard window.from < window.until else { throw u.error("must be after from") }
        spec.unavailable.append(window)
      }
      if let spot = g.child("spot") {
        (spec.meanTimeToInterruption, spec.interruptionNotice) = try spotReclaims(
          spot, notice: spec.interruptionNotice)
      }
      let delay = try g.child("provisioningDelay").map(distribution) ?? .fixed(.zero)
      ca.groups.append(NodeGroupScenario(spec: spec, provisioningDelay: delay))
    }
    // The groups start at their minimum: their sum is nodes made at once.
    guard ca.groups.reduce(0, { $0 + $1.spec.minSize }) <= maxGroupSize else {
      throw list.error("the groups' minSize add up to more than \(maxGroupSize) nodes")
    }
    return ca
  }

  private static func price(_ v: YAMLValue) throws(InputError) -> Double {
    let x = try number(v)
    guard x >= 0, x < 1e9 else { throw v.error("expected a price of 0 or more") }
    return x
  }

  private static func flagValue(_ v: YAMLValue, kind: ClusterAutoscalerFlags.Kind, name: String)
    throws(InputError) -> ClusterAutoscalerFlags.Value
  {
    switch kind {
    case .duration:
      let d = try duration(v)
      if name == "scan-interval" && d < .seconds(Int64(1)) { throw v.error("must be at least 1s") }
      return .duration(d)
    case .integer:
      let n = try v.int64()
      let least: Int64 =
        switch name {
        case "expendable-pods-priority-cutoff": Int64(Int32.min)
        case "max-nodes-total", "ok-total-unready-count", "max-graceful-termination-sec": 0
        default: 1
        }
      let most: Int64 = name == "expendable-pods-priority-cutoff" ? Int64(Int32.max) : 1_000_000
      guard (least...most).contains(n) else { throw v.error("expected \(least)…\(most)") }
      return .integer(n)
    case .fraction:
      let x = try number(v)
      guard (0...1).contains(x) else { throw v.error("expected a fraction between 0 and 1") }
      return .number(x)
    case .number:
      let x = try number(v)
      guard (0...100).contains(x) else { throw v.error("expected 0…100") }
      return .number(x)
    case .boolean: return .boolean(try v.bool())
    case .range:
      let parts = try v.string().split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]), 0 <= a, a <= b,
        b <= 1_000_000_000
      else { throw v.error("expected min:max, such as 0:320000") }
      return .range(a...b)
    case .expander:
      guard let list = ExpanderName.parseList(try v.string()) else {
        throw v.error(
          "expected expanders separated by commas, each once (\(ExpanderName.allCases.map(\.rawValue).joined(separator: ", ")))"
        )
      }
      return .expander(list)
    }
  }

  /// The priority expander's ConfigMap (`cluster-autoscaler-priority-expander`): its
  /// `data.priorities`, a YAML mapping of integer priorities to lists of node-group name
  /// patterns (regular expressions matched anywhere in the name).
  static func expanderPriorities(_ v: YAMLValue) throws(InputError) -> ExpanderPriorities {
    guard let text = v.child("data")?.child(ExpanderPriorities.key) else {
      throw v.error(
        "ConfigMap \(ExpanderPriorities.configMapName) needs data.\(ExpanderPriorities.key)")
    }
    let body = try text.string()
    let origin = "\(v.file):\(text.line ?? 0) (data.priorities)"
    var root: YAMLValue?
    try InputFile.withBytes(body) { bytes throws(InputError) in
      try YAMLParser.parse(bytes, file: origin) { tree throws(InputError) in
        if root == nil { root = tree.root }
      }
    }
    guard let root, root.kind == .mapping else {
      throw text.error("expected a mapping of priorities to lists of node-group patterns")
    }
    var entries: [(priority: Int, patterns: [String])] = []
    for (key, list) in try root.mapping() {
      guard let p = Int(key), abs(p) <= 1_000_000_000 else {
        throw list.error("expected an integer priority, not \"\(Escaped(key))\"")
      }
      let patterns = try list.sequence().map { s throws(InputError) in try s.string() }
      for pattern in patterns where (try? Regex(pattern)) == nil {
        throw list.error("\"\(Escaped(pattern))\" is not a valid regular expression")
      }
      entries.append((p, patterns))
    }
    return ExpanderPriorities(entries: entries)
  }
}

/// `spec.karpenter`: Karpenter's provisioner and disruption controller over the scenario's
/// NodePools (`karpenter.sh/v1`) and an instance-type catalogue.
public struct KarpenterScenario: Sendable {
  public var nodePools: [NodePoolSpec] = []
  public var catalogue: [InstanceType] = []
  /// The catalogue's path as written, and its FNV-1a checksum (summary.json's inputs).
  public var cataloguePath = ""
  public var spotPriceRatio = 0.35
  /// Request → node Ready.
  public var launchDelay = DurationDistribution.fixed(.seconds(Int64(60)))
  /// Pending pods are batched until none came for the idle duration, or the max duration.
  public var batchIdleDuration = VirtualTime.seconds(Int64(1))
  public var batchMaxDuration = VirtualTime.seconds(Int64(10))
  /// Spot nodes are reclaimed after an exponential time of this mean (nil: never), with
  /// `interruptionNotice` of warning.
  public var meanTimeToInterruption: VirtualTime?
  public var interruptionNotice = VirtualTime.seconds(Int64(120))
}

extension Scenario {
  static func karpenter(_ v: YAMLValue, dir: String) throws(InputError) -> KarpenterScenario {
    try v.requireKeys(in: [
      "instanceTypes", "spotPriceRatio", "launchDelay", "batchIdleDuration", "batchMaxDuration",
      "spot",
    ])
    var k = KarpenterScenario()
    if let r = v.child("spotPriceRatio") {
      k.spotPriceRatio = try number(r)
      guard (0...10).contains(k.spotPriceRatio) else { throw r.error("expected 0…10") }
    }
    guard let t = v.child("instanceTypes") else {
      throw v.error("spec.karpenter needs instanceTypes (a catalogue CSV, datasets/instance-types)")
    }
    let relative = try t.string()
    let path =
      relative.hasPrefix("/") ? relative : (dir as NSString).appendingPathComponent(relative)
    let text = try InputFile.text(path)
    k.catalogue = try InstanceCatalogueCSV.parse(text, file: path, spotPriceRatio: k.spotPriceRatio)
    k.cataloguePath = path
    if let d = v.child("launchDelay") { k.launchDelay = try distribution(d) }
    for (key, path) in [
      ("batchIdleDuration", \KarpenterScenario.batchIdleDuration),
      ("batchMaxDuration", \KarpenterScenario.batchMaxDuration),
    ] {
      guard let d = v.child(key) else { continue }
      let x = try duration(d)
      guard x >= .seconds(Int64(0)), x <= .seconds(Int64(3600)) else {
        throw d.error("expected 0s…1h")
      }
      k[keyPath: path] = x
    }
    if let spot = v.child("spot") {
      (k.meanTimeToInterruption, k.interruptionNotice) = try spotReclaims(
        spot, notice: k.interruptionNotice)
    }
    return k
  }

  /// `spot: {meanTimeToInterruption, notice}` (a node group's or Karpenter's): the mean time to
  /// a reclaim, at least a minute, and the warning before it (`notice` when absent).
  static func spotReclaims(_ spot: YAMLValue, notice: VirtualTime) throws(InputError) -> (
    VirtualTime, VirtualTime
  ) {
    try spot.requireKeys(in: ["meanTimeToInterruption", "notice"])
    guard let m = spot.child("meanTimeToInterruption") else {
      throw spot.error("spot needs meanTimeToInterruption (a duration such as 24h)")
    }
    let mean = try duration(m)
    guard mean >= .seconds(Int64(60)) else { throw m.error("must be at least 1m") }
    return (mean, try spot.child("notice").map(duration) ?? notice)
  }

  /// A `karpenter.sh/v1` NodePool.
  static func nodePool(_ v: YAMLValue) throws(InputError) -> NodePoolSpec {
    try v.requireKeys(in: ["apiVersion", "kind", "metadata", "spec", "status"])
    var p = NodePoolSpec(name: try KubernetesYAML.name(v))
    guard let spec = v.child("spec") else { throw v.error("NodePool \(p.name) has no spec") }
    try spec.requireKeys(in: ["weight", "limits", "template", "disruption"])
    if let w = spec.child("weight") {
      let x = try w.int64()
      guard (1...100).contains(x) else { throw w.error("expected 1…100") }
      p.weight = Int(x)
    }
    if let l = spec.child("limits") {
      let list = try l.resourceList()
      let amounts: ResourceAmounts
      do throws(QuantityError) { amounts = try list.amounts() } catch {
        throw l.error(error.description)
      }
      if l.child("cpu") != nil { p.cpuLimitMillis = amounts.cpuMillis }
      if l.child("memory") != nil { p.memoryLimitBytes = amounts.memoryBytes }
    }
    if let t = spec.child("template") {
      try t.requireKeys(in: ["metadata", "spec"])
      if let m = t.child("metadata") {
        try m.requireKeys(in: ["labels", "annotations"])
        p.labels = try m.child("labels")?.stringMap() ?? [:]
      }
      if let s = t.child("spec") {
        try s.requireKeys(in: [
          "requirements", "taints", "startupTaints", "expireAfter", "nodeClassRef",
          "terminationGracePeriod",
        ])
        for r in try s.child("requirements")?.sequence() ?? [] {
          try r.requireKeys(in: ["key", "operator", "values", "minValues"])
          guard let key = try r.child("key")?.string(),
            let opText = try r.child("operator")?.string()
          else { throw r.error("a requirement needs key and operator") }
          guard let op = NodeSelectorRequirement.Operator(rawValue: opText) else {
            throw (r.child("operator") ?? r).error(
              "expected \(NodeSelectorRequirement.Operator.allCases.map(\.rawValue).joined(separator: ", "))"
            )
          }
          let requirement = NodeSelectorRequirement(
            key: key, operator: op, values: try r.child("values")?.stringList() ?? [])
          guard requirement.isWellFormed else {
            throw r.error(
              "\(opText) needs values (In, NotIn), none (Exists, DoesNotExist) or one integer (Gt, Lt)"
            )
          }
          p.requirements.append(requirement)
        }
        if let taints = s.child("taints") { p.taints = try KubernetesYAML.taints(taints) }
        if let e = s.child("expireAfter") {
          p.expireAfter = try e.string() == "Never" ? nil : try duration(e)
        }
      }
    }
    if let d = spec.child("disruption") {
      try d.requireKeys(in: ["consolidationPolicy", "consolidateAfter", "budgets"])
      if let c = d.child("consolidationPolicy") {
        guard let policy = NodePoolSpec.ConsolidationPolicy(rawValue: try c.string()) else {
          throw c.error("expected WhenEmpty or WhenEmptyOrUnderutilized")
        }
        p.consolidationPolicy = policy
      }
      if let a = d.child("consolidateAfter") {
        if try a.string() == "Never" {
          p.consolidates = false
        } else {
          p.consolidateAfter = try duration(a)
        }
      }
      if let b = d.child("budgets") {
        p.budgets = []
        for budget in try b.sequence() {
          try budget.requireKeys(in: ["nodes", "schedule", "duration", "reasons"])
          if budget.child("schedule") != nil {
            throw budget.error("scheduled budgets are not modelled yet (use nodes alone)")
          }
          guard let n = budget.child("nodes") else { throw budget.error("a budget needs nodes") }
          let text = try n.string()
          if text.hasSuffix("%"), let x = Int(text.dropLast()), (0...100).contains(x) {
            p.budgets.append(.percent(x))
          } else if let x = Int(text), x >= 0 {
            p.budgets.append(.count(x))
          } else {
            throw n.error("expected a count or a percentage such as 10%")
          }
        }
      }
    }
    return p
  }
}
