import BerthCore
import BerthScheduling
import Foundation

/// A plain, per-node implementation of the same scheduling semantics, written from the upstream
/// rules over `NodeSpec`/`PodSpec` objects with no interning, no columns and no kernels. The
/// reference test runs it beside `Scheduler` and demands identical decisions and scores.
public final class ReferenceScheduler {
  public let nodes: [NodeSpec]  // in node-tree order
  public let profile: Profile
  public private(set) var requested: [ResourceAmounts]
  public private(set) var nonZero: [ResourceAmounts]
  public private(set) var podCount: [Int64]
  public private(set) var ports: [[ContainerPort]]
  public private(set) var bound: [[PodSpec]]
  var nextStart = 0
  /// Labels of declared Namespace objects.
  public var namespaces: [String: [String: String]] = [:]
  /// Every namespace a pod scheduled so far lives in (upstream lists these as existing).
  var podNamespaces = Set<String>()

  public init(nodes specs: [NodeSpec], profile: Profile) {
    let order = NodeTree.iterationOrder(zoneKeys: specs.map(\.zoneKey))
    nodes = order.map { specs[$0] }
    self.profile = profile
    requested = Array(repeating: ResourceAmounts(), count: nodes.count)
    nonZero = requested
    podCount = Array(repeating: 0, count: nodes.count)
    ports = Array(repeating: [], count: nodes.count)
    bound = Array(repeating: [], count: nodes.count)
  }

  // MARK: InterPodAffinity, from scratch (upstream's per-pod walk over every node)

  struct Pair: Hashable {
    var key: String
    var value: String
  }

  /// A term as the API server stores it: match/mismatch label keys folded into the selector.
  func fold(_ t: PodAffinityTerm, _ labels: [String: String]) -> PodAffinityTerm {
    var t = t
    if var s = t.labelSelector {
      for k in t.matchLabelKeys {
        if let v = labels[k] {
          s.matchExpressions.append(.init(key: k, operator: .in, values: [v]))
        }
      }
      for k in t.mismatchLabelKeys {
        if let v = labels[k] {
          s.matchExpressions.append(.init(key: k, operator: .notIn, values: [v]))
        }
      }
      t.labelSelector = s
    }
    return t
  }

  func nsLabels(_ ns: String) -> [String: String] {
    var l = namespaces[ns] ?? [:]
    l["kubernetes.io/metadata.name"] = ns
    return l
  }

  /// `AffinityTerm.Matches` for a term held by a bound pod in `holderNS`, against `target`.
  func existingTermMatches(_ t: PodAffinityTerm, holderNS: String, _ target: PodSpec) -> Bool {
    let names = t.namespaces.isEmpty && t.namespaceSelector == nil ? [holderNS] : t.namespaces
    let nsOK =
      names.contains(target.namespace)
      || (t.namespaceSelector?.matches(nsLabels(target.namespace)) ?? false)
    return nsOK && (t.labelSelector?.matches(target.labels) ?? false)
  }

  /// The incoming pod's term with its namespace selector merged into the namespace list
  /// (existing namespaces it selects), as PreFilter/PreScore do; an empty selector stays.
  func incomingTermMatches(_ t: PodAffinityTerm, holder: PodSpec, _ target: PodSpec) -> Bool {
    var names = Set(
      t.namespaces.isEmpty && t.namespaceSelector == nil ? [holder.namespace] : t.namespaces)
    var everything = false
    if let sel = t.namespaceSelector {
      if sel.matchLabels.isEmpty && sel.matchExpressions.isEmpty {
        everything = true
      } else {
        for ns in Set(namespaces.keys).union(podNamespaces).union([holder.namespace])
        where sel.matches(nsLabels(ns)) { names.insert(ns) }
      }
    }
    return (names.contains(target.namespace) || everything)
      && (t.labelSelector?.matches(target.labels) ?? false)
  }

  func ipaFails(_ pod: PodSpec, _ i: Int) -> Bool {
    let aff = pod.podAffinity.required.map { fold($0, pod.labels) }
    let anti = pod.podAntiAffinity.required.map { fold($0, pod.labels) }
    var existingAnti: [Pair: Int64] = [:]
    var affCounts: [Pair: Int64] = [:]
    var antiCounts: [Pair: Int64] = [:]
    for j in nodes.indices {
      let labels = nodes[j].labels
      for e in bound[j] {
        for t in e.podAntiAffinity.required.map({ fold($0, e.labels) })
        where existingTermMatches(t, holderNS: e.namespace, pod) {
          if let v = labels[t.topologyKey] {
            existingAnti[Pair(key: t.topologyKey, value: v), default: 0] += 1
          }
        }
        if !aff.isEmpty && aff.allSatisfy({ incomingTermMatches($0, holder: pod, e) }) {
          for t in aff {
            if let v = labels[t.topologyKey] {
              affCounts[Pair(key: t.topologyKey, value: v), default: 0] += 1
            }
          }
        }
        for t in anti where incomingTermMatches(t, holder: pod, e) {
          if let v = labels[t.topologyKey] {
            antiCounts[Pair(key: t.topologyKey, value: v), default: 0] += 1
          }
        }
      }
    }
    let node = nodes[i].labels
    var podsExist = true
    for t in aff {
      guard let v = node[t.topologyKey] else { return true }
      if (affCounts[Pair(key: t.topologyKey, value: v)] ?? 0) <= 0 { podsExist = false }
    }
    if !podsExist
      && !(affCounts.isEmpty && aff.allSatisfy { incomingTermMatches($0, holder: pod, pod) })
    {
      return true
    }
    for t in anti {
      if let v = node[t.topologyKey], (antiCounts[Pair(key: t.topologyKey, value: v)] ?? 0) > 0 {
        return true
      }
    }
    for (k, v) in node where (existingAnti[Pair(key: k, value: v)] ?? 0) > 0 { return true }
    return false
  }

  func ipaScores(_ pod: PodSpec, feasible: [Int]) -> [Int: Int64] {
    let args = profile.arguments[InterPodAffinityArguments.self]
    let prefAff = pod.podAffinity.preferred.map { ($0.weight, fold($0.term, pod.labels)) }
    let prefAnti = pod.podAntiAffinity.preferred.map { ($0.weight, fold($0.term, pod.labels)) }
    let zero = Dictionary(uniqueKeysWithValues: feasible.map { ($0, Int64(0)) })
    if args.ignorePreferredTermsOfExistingPods && prefAff.isEmpty && prefAnti.isEmpty {
      return zero
    }
    var topology: [String: [String: Int64]] = [:]
    func add(_ key: String, _ labels: [String: String], _ w: Int64) {
      if let v = labels[key] { topology[key, default: [:]][v, default: 0] += w }
    }
    for j in nodes.indices {
      let labels = nodes[j].labels
      for e in bound[j] {
        for (w, t) in prefAff where incomingTermMatches(t, holder: pod, e) {
          add(t.topologyKey, labels, Int64(w))
        }
        for (w, t) in prefAnti where incomingTermMatches(t, holder: pod, e) {
          add(t.topologyKey, labels, -Int64(w))
        }
        if args.hardPodAffinityWeight > 0 {
          for t in e.podAffinity.required.map({ fold($0, e.labels) })
          where existingTermMatches(t, holderNS: e.namespace, pod) {
            add(t.topologyKey, labels, Int64(args.hardPodAffinityWeight))
          }
        }
        for w in e.podAffinity.preferred
        where existingTermMatches(fold(w.term, e.labels), holderNS: e.namespace, pod) {
          add(w.term.topologyKey, labels, Int64(w.weight))
        }
        for w in e.podAntiAffinity.preferred
        where existingTermMatches(fold(w.term, e.labels), holderNS: e.namespace, pod) {
          add(w.term.topologyKey, labels, -Int64(w.weight))
        }
      }
    }
    if topology.isEmpty { return zero }
    var raw: [Int: Int64] = [:]
    for i in feasible {
      var s: Int64 = 0
      for (key, values) in topology { if let v = nodes[i].labels[key] { s += values[v] ?? 0 } }
      raw[i] = s
    }
    let lo = raw.values.min() ?? 0
    let hi = raw.values.max() ?? 0
    return raw.mapValues { hi == lo ? 0 : Int64(100 * (Double($0 - lo) / Double(hi - lo))) }
  }

  // MARK: PodTopologySpread, from scratch

  func passesInclusion(_ c: TopologySpreadConstraint, _ pod: PodSpec, _ j: Int) -> Bool {
    let node = nodes[j]
    if c.nodeAffinityPolicy == .honor {
      if pod.nodeSelector.contains(where: { node.labels[$0.key] != $0.value }) { return false }
      if let r = pod.affinity?.required, !r.matches(labels: node.labels, nodeName: node.name) {
        return false
      }
    }
    if c.nodeTaintsPolicy == .honor
      && node.taints.contains(where: { $0.effect.isHard && !pod.tolerations.tolerate($0) })
    {
      return false
    }
    return true
  }

  func matching(_ c: TopologySpreadConstraint, _ pod: PodSpec, on j: Int) -> Int64 {
    guard let sel = c.effectiveSelector(podLabels: pod.labels) else { return 0 }
    return Int64(bound[j].filter { $0.namespace == pod.namespace && sel.matches($0.labels) }.count)
  }

  func spreadFails(_ pod: PodSpec, _ i: Int) -> Bool {
    let cs = pod.topologySpreadConstraints.filter(\.doNotSchedule)
    guard !cs.isEmpty else { return false }
    let keys = cs.map(\.topologyKey)
    if keys.contains(where: { nodes[i].labels[$0] == nil }) { return true }
    for c in cs {
      var counts: [String: Int64] = [:]
      for j in nodes.indices
      where keys.allSatisfy({ nodes[j].labels[$0] != nil }) && passesInclusion(c, pod, j) {
        counts[nodes[j].labels[c.topologyKey]!, default: 0] += matching(c, pod, on: j)
      }
      let minimum = counts.count < Int(c.minDomains) ? 0 : (counts.values.min() ?? 0)
      let selfMatch: Int64 =
        c.effectiveSelector(podLabels: pod.labels)?.matches(pod.labels) == true ? 1 : 0
      if (counts[nodes[i].labels[c.topologyKey]!] ?? 0) + selfMatch - minimum > Int64(c.maxSkew) {
        return true
      }
    }
    return false
  }

  func spreadScores(_ pod: PodSpec, feasible: [Int]) -> [Int: Int64] {
    var cs = pod.topologySpreadConstraints.filter { !$0.doNotSchedule }
    // System defaults: only for pods without constraints of their own that something selects;
    // nodes missing a key are then kept, and a missing key reads as the empty value.
    let isDefault = pod.topologySpreadConstraints.isEmpty && pod.defaultSpreadSelector != nil
    if isDefault {
      cs = [
        TopologySpreadConstraint(
          maxSkew: 3, topologyKey: "kubernetes.io/hostname", doNotSchedule: false,
          labelSelector: pod.defaultSpreadSelector),
        TopologySpreadConstraint(
          maxSkew: 5, topologyKey: "topology.kubernetes.io/zone", doNotSchedule: false,
          labelSelector: pod.defaultSpreadSelector),
      ]
    }
    guard !cs.isEmpty else {
      return Dictionary(uniqueKeysWithValues: feasible.map { ($0, Int64(100)) })
    }
    let keys = cs.map(\.topologyKey)
    func considered(_ i: Int) -> Bool {
      isDefault || keys.allSatisfy { nodes[i].labels[$0] != nil }
    }
    let kept = feasible.filter(considered)
    var raw: [Int: Int64] = [:]
    var weights: [Double] = []
    var domainCounts: [[String: Int64]] = []
    for c in cs {
      let values = Set(kept.map { nodes[$0].labels[c.topologyKey] ?? "" })
      weights.append(
        log(Double((c.topologyKey == "kubernetes.io/hostname" ? kept.count : values.count) + 2)))
      var counts: [String: Int64] = [:]
      for j in nodes.indices where considered(j) && passesInclusion(c, pod, j) {
        let v = nodes[j].labels[c.topologyKey] ?? ""
        if values.contains(v) { counts[v, default: 0] += matching(c, pod, on: j) }
      }
      domainCounts.append(counts)
    }
    for i in kept {
      var score = 0.0
      for (k, c) in cs.enumerated() {
        guard nodes[i].labels[c.topologyKey] != nil else { continue }
        let count =
          c.topologyKey == "kubernetes.io/hostname"
          ? matching(c, pod, on: i) : domainCounts[k][nodes[i].labels[c.topologyKey]!] ?? 0
        score += Double(count) * weights[k] + Double(c.maxSkew - 1)
      }
      raw[i] = Int64(score.rounded(.toNearestOrAwayFromZero))
    }
    let hi = raw.values.max() ?? 0
    let lo = raw.values.min() ?? 0
    var out: [Int: Int64] = [:]
    for i in feasible {
      guard let s = raw[i] else {
        out[i] = 0
        continue
      }
      out[i] = hi == 0 ? 100 : 100 * (hi + lo - s) / hi
    }
    return out
  }

  public struct Decision: Equatable {
    public var node: Int?
    public var evaluated: Int
    public var totals: [Int: Int64]
  }

  func scalar(_ a: ResourceAmounts, _ name: String) -> Int64 { a.scalar(name) ?? 0 }

  /// Name of the first failing filter plugin, nil when the pod fits.
  public func failingFilter(_ pod: PodSpec, _ i: Int) throws -> PluginName? {
    let node = nodes[i]
    let req = try PodRequests.effective(pod)
    for f in profile.filters {
      switch f {
      case .nodeUnschedulable:
        if node.unschedulable
          && !pod.tolerations.tolerate(Taint(key: unschedulableTaintKey, effect: .noSchedule))
        {
          return f
        }
      case .nodeName:
        if !pod.nodeName.isEmpty && pod.nodeName != node.name { return f }
      case .taintToleration:
        if node.taints.contains(where: { $0.effect.isHard && !pod.tolerations.tolerate($0) }) {
          return f
        }
      case .nodeAffinity:
        if let added = profile.arguments[NodeAffinityArguments.self].addedAffinity?.required,
          !added.matches(labels: node.labels, nodeName: node.name)
        {
          return f
        }
        if pod.nodeSelector.contains(where: { node.labels[$0.key] != $0.value }) { return f }
        if let required = pod.affinity?.required,
          !required.matches(labels: node.labels, nodeName: node.name)
        {
          return f
        }
      case .nodePorts:
        if NodePortsReference.conflicts(pod.hostPorts, ports[i]) { return f }
      case .podTopologySpread:
        if spreadFails(pod, i) { return f }
      case .interPodAffinity:
        if ipaFails(pod, i) { return f }
      case .nodeResourcesFit:
        if podCount[i] + 1 > node.allocatable.pods { return f }
        let a = node.allocatable
        let r = requested[i]
        if req.cpuMillis > 0 && req.cpuMillis > a.cpuMillis - r.cpuMillis { return f }
        if req.memoryBytes > 0 && req.memoryBytes > a.memoryBytes - r.memoryBytes { return f }
        if req.ephemeralStorageBytes > 0
          && req.ephemeralStorageBytes > a.ephemeralStorageBytes - r.ephemeralStorageBytes
        {
          return f
        }
        for (name, amount) in req.scalars where amount != 0 {
          if ResourceName.isExtended(name) {
            let group = String(name.split(separator: "/")[0])
            if profile.arguments[NodeResourcesFitArguments.self].ignoredResources.contains(name)
              || profile.arguments[NodeResourcesFitArguments.self].ignoredResourceGroups.contains(
                group)
            {
              continue
            }
          }
          if amount > scalar(a, name) - scalar(r, name) { return f }
        }
      default:
        continue
      }
    }
    return nil
  }

  /// Normalised score of `plugin` for every feasible row (normalisation over `feasible`).
  public func scores(_ plugin: PluginName, _ pod: PodSpec, feasible: [Int]) throws -> [Int: Int64] {
    var raw: [Int: Int64] = [:]
    let req = try PodRequests.effective(pod)
    let nz = try PodRequests.effective(pod, nonMissing: true)
    switch plugin {
    case .taintToleration:
      let tols = pod.tolerations.filter { $0.effect == nil || $0.effect == .preferNoSchedule }
      for i in feasible {
        raw[i] = Int64(
          nodes[i].taints.filter { $0.effect == .preferNoSchedule && !tols.tolerate($0) }.count)
      }
      let m = raw.values.max() ?? 0
      return raw.mapValues { m == 0 ? 100 : 100 - 100 * $0 / m }
    case .nodeAffinity:
      let terms =
        (pod.affinity?.preferred ?? [])
        + (profile.arguments[NodeAffinityArguments.self].addedAffinity?.preferred ?? [])
      for i in feasible {
        raw[i] = terms.filter {
          $0.weight != 0 && $0.preference.matches(labels: nodes[i].labels, nodeName: nodes[i].name)
        }
        .reduce(0) { $0 + Int64($1.weight) }
      }
      let m = raw.values.max() ?? 0
      return raw.mapValues { m == 0 ? 0 : 100 * $0 / m }
    case .nodeResourcesFit:
      let args = profile.arguments[NodeResourcesFitArguments.self]
      for i in feasible {
        var total: Int64 = 0
        var weights: Int64 = 0
        for r in args.resources {
          let (alloc, used, podAmount) = amounts(r.name, i, req: req, nz: nz, nonZero: true)
          if alloc == 0 || (ResourceName.isScalar(r.name) && podAmount == 0) { continue }
          let q = used + podAmount
          switch args.strategy {
          case .leastAllocated:
            total += (q > alloc ? 0 : (alloc - q) * 100 / alloc) * r.weight
            weights += r.weight
          case .mostAllocated:
            total += (min(q, alloc) * 100 / alloc) * r.weight
            weights += r.weight
          case .requestedToCapacityRatio:
            let u = q > alloc ? 100 : q * 100 / alloc
            let shape = args.shape.map {
              UtilizationShapePoint(utilization: $0.utilization, score: $0.score * 10)
            }
            var s = shape.last!.score
            for (k, p) in shape.enumerated() where u <= p.utilization {
              s =
                k == 0
                ? p.score
                : shape[k - 1].score + (p.score - shape[k - 1].score)
                  * (u - shape[k - 1].utilization) / (p.utilization - shape[k - 1].utilization)
              break
            }
            if s > 0 {
              total += s * r.weight
              weights += r.weight
            }
          }
        }
        if args.strategy == .requestedToCapacityRatio {
          raw[i] = weights == 0 ? 0 : Int64((Double(total) / Double(weights)).rounded())
        } else {
          raw[i] = weights == 0 ? 0 : total / weights
        }
      }
      return raw
    case .nodeResourcesBalancedAllocation:
      for i in feasible {
        var fractions: [Double] = []
        for r in profile.arguments[BalancedAllocationArguments.self].resources {
          let (alloc, used, podAmount) = amounts(r.name, i, req: req, nz: nz, nonZero: false)
          if alloc == 0 || (ResourceName.isScalar(r.name) && podAmount == 0) { continue }
          fractions.append(min(Double(used + podAmount) / Double(alloc), 1))
        }
        var std = 0.0
        if fractions.count == 2 {
          std = abs((fractions[0] - fractions[1]) / 2)
        } else if fractions.count > 2 {
          let mean = fractions.reduce(0, +) / Double(fractions.count)
          std = (fractions.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(fractions.count))
            .squareRoot()
        }
        raw[i] = Int64((1 - std) * 100)
      }
      return raw
    case .imageLocality:
      let images = (pod.initContainers + pod.containers).map {
        PodConstraints.normalizedImageName($0.image)
      }
      let containers = Int64(max(pod.initContainers.count + pod.containers.count, 1))
      for i in feasible {
        var sum: Int64 = 0
        for image in images {
          guard let size = nodes[i].images.first(where: { $0.names.contains(image) })?.sizeBytes
          else { continue }
          let having = nodes.filter { $0.images.contains { $0.names.contains(image) } }.count
          sum += Int64(Double(size) * (Double(having) / Double(nodes.count)))
        }
        let lo: Int64 = 23 << 20
        let hi: Int64 = (1000 << 20) * containers
        raw[i] = 100 * (min(max(sum, lo), hi) - lo) / (hi - lo)
      }
      return raw
    case .podTopologySpread:
      return spreadScores(pod, feasible: feasible)
    case .interPodAffinity:
      return ipaScores(pod, feasible: feasible)
    default:
      return Dictionary(uniqueKeysWithValues: feasible.map { ($0, Int64(0)) })
    }
  }

  func amounts(_ name: String, _ i: Int, req: ResourceAmounts, nz: ResourceAmounts, nonZero: Bool)
    -> (Int64, Int64, Int64)
  {
    let a = nodes[i].allocatable
    switch name {
    case "cpu":
      return (
        a.cpuMillis, nonZero ? nonZeroAmounts(i).cpuMillis : requested[i].cpuMillis,
        nonZero ? nz.cpuMillis : req.cpuMillis
      )
    case "memory":
      return (
        a.memoryBytes, nonZero ? nonZeroAmounts(i).memoryBytes : requested[i].memoryBytes,
        nonZero ? nz.memoryBytes : req.memoryBytes
      )
    case "ephemeral-storage":
      return (
        a.ephemeralStorageBytes, requested[i].ephemeralStorageBytes, req.ephemeralStorageBytes
      )
    default: return (scalar(a, name), scalar(requested[i], name), scalar(req, name))
    }
  }

  private func nonZeroAmounts(_ i: Int) -> ResourceAmounts { nonZero[i] }

  /// The nodes NodeAffinity's PreFilter leaves as candidates: nil for all, [] when none.
  func candidates(_ pod: PodSpec) -> [Int]? {
    guard profile.filters.contains(.nodeAffinity), let terms = pod.affinity?.required?.terms,
      !terms.isEmpty
    else { return nil }
    var union = Set<String>()
    for term in terms {
      let sets = term.matchFields.filter { $0.key == "metadata.name" && $0.operator == .in }.map {
        Set($0.values)
      }
      guard let first = sets.first else { return nil }
      let names = sets.dropFirst().reduce(first) { $0.intersection($1) }
      if names.isEmpty { return [] }
      union.formUnion(names)
    }
    return nodes.indices.filter { union.contains(nodes[$0].name) }
  }

  /// One cycle with lowest-index tie-breaking; binds on success.
  public func schedule(_ pod: PodSpec) throws -> Decision {
    podNamespaces.insert(pod.namespace)
    let all = Array(nodes.indices)
    let list = candidates(pod) ?? all
    let n = list.count
    guard n > 0 else { return Decision(node: nil, evaluated: 0, totals: [:]) }
    let k = Scheduler.numFeasibleNodesToFind(
      nodeCount: n, percentage: profile.percentageOfNodesToScore,
      hasScorePlugins: !profile.scores.isEmpty)
    var feasible: [Int] = []
    var examined = 0
    while examined < n && feasible.count < k {
      let i = list[(nextStart + examined) % n]
      if try failingFilter(pod, i) == nil { feasible.append(i) }
      examined += 1
    }
    nextStart = (nextStart + examined) % n
    var totals: [Int: Int64] = [:]
    var chosen: Int?
    if feasible.count == 1 {
      chosen = feasible[0]
    } else if feasible.count > 1 {
      for i in feasible { totals[i] = 0 }
      for w in profile.scores {
        for (i, s) in try scores(w.name, pod, feasible: feasible) { totals[i]! += s * w.weight }
      }
      let best = totals.values.max()!
      chosen = feasible.filter { totals[$0] == best }.min()
    }
    if let c = chosen { try bind(pod, c) }
    return Decision(node: chosen, evaluated: examined, totals: totals)
  }

  func bind(_ pod: PodSpec, _ i: Int) throws {
    let r = try PodRequests.effective(pod)
    let z = try PodRequests.effective(pod, nonMissing: true)
    requested[i].cpuMillis += r.cpuMillis
    requested[i].memoryBytes += r.memoryBytes
    requested[i].ephemeralStorageBytes += r.ephemeralStorageBytes
    var scalars = requested[i].scalars
    for (name, amount) in r.scalars {
      if let k = scalars.firstIndex(where: { $0.name == name }) {
        scalars[k].amount += amount
      } else {
        scalars.append((name, amount))
      }
    }
    requested[i].scalars = scalars.sorted { $0.name < $1.name }
    nonZero[i].cpuMillis += z.cpuMillis
    nonZero[i].memoryBytes += z.memoryBytes
    podCount[i] += 1
    ports[i] += pod.hostPorts
    bound[i].append(pod)
  }
}

enum NodePortsReference {
  static func conflicts(_ wanted: [ContainerPort], _ used: [ContainerPort]) -> Bool {
    for w in wanted where w.hostPort > 0 {
      let wip = w.hostIP.isEmpty ? "0.0.0.0" : w.hostIP
      for u in used where u.hostPort == w.hostPort && u.protocol == w.protocol {
        let uip = u.hostIP.isEmpty ? "0.0.0.0" : u.hostIP
        if wip == "0.0.0.0" || uip == "0.0.0.0" || wip == uip { return true }
      }
    }
    return false
  }
}
