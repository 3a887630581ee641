import BerthCore

/// One class of the FGD target workload: a pod shape and its probability.
public struct TypicalPod: Sendable, Equatable {
  public var cpuMillis: Int64
  public var milli: Int16
  public var gpuCount: Int
  /// The accepted models as written (`V100M16|V100M32`), empty for any.
  public var models: String
  public var probability: Double

  public init(cpuMillis: Int64, milli: Int16, gpuCount: Int, models: String, probability: Double) {
    self.cpuMillis = cpuMillis
    self.milli = milli
    self.gpuCount = gpuCount
    self.models = models
    self.probability = probability
  }
}

/// Fragmentation Gradient Descent (FGD): place the pod where the node's expected GPU
/// fragmentation, measured against the typical pods, grows least.
///
/// For a node N and class m: if m needs no GPU, all idle GPU milli counts as fragment (XL/XR);
/// if N's model does not serve m, all of it (NoAccess); if N can host m's GPUs and has the CPU
/// (Q3), only the GPUs too small for m count; otherwise all of it (Q1, Q2, Q4). The node's
/// fragmentation is Σ pₘ·F(m), accumulated per category in class order and summed except Q3, in
/// double precision exactly as `NodeGpuShareFragAmount` does. Score = int(100·σ((F(N) −
/// F(N′))/1000)); a sharing pod tries every GPU that fits and keeps the first best.
public struct FragmentationModel: Sendable {
  public let classes: [TypicalPod]
  /// `serves[class][modelID]`.
  let serves: [[Bool]]

  public init(classes: [TypicalPod], models: GPUModelRegistry) {
    self.classes = classes
    serves = classes.map { c in
      let accepted = Set(c.models.split(separator: "|").map(String.init))
      return models.names.enumerated().map { id, name in
        c.models.isEmpty || (id != 0 && accepted.contains(name))
      }
    }
  }

  /// The node's fragmentation in milli-GPU for GPU state `left[0..<count]`, CPU left `cpuLeft`.
  public func fragmentation(left: UnsafePointer<Int16>, count: Int, cpuLeft: Int64, model: Int)
    -> Double
  {
    var total: Int64 = 0
    for i in 0..<count { total += Int64(left[i]) }
    // Bins in FragRatioDataMap order: Q1, Q2, Q3, Q4, XL, XR, NoAccess.
    var q1 = 0.0
    var q2 = 0.0
    var q3 = 0.0
    var q4 = 0.0
    var xl = 0.0
    var xr = 0.0
    var na = 0.0
    for (k, c) in classes.enumerated() {
      let p = c.probability
      let cpuOK = cpuLeft >= c.cpuMillis
      if c.milli == 0 {
        if cpuOK { xl += p * Double(total) } else { xr += p * Double(total) }
        continue
      }
      if model >= serves[k].count || !serves[k][model] {
        na += p * Double(total)
        continue
      }
      var need = c.gpuCount
      var fits = false
      for i in 0..<count where left[i] >= c.milli {
        need -= 1
        if need <= 0 {
          fits = true
          break
        }
      }
      if fits {
        if cpuOK {
          var small: Int64 = 0
          for i in 0..<count where left[i] < c.milli { small += Int64(left[i]) }
          q2 += p * Double(small)
          q3 += p * Double(total - small)
        } else {
          q4 += p * Double(total)
        }
      } else if cpuOK {
        q2 += p * Double(total)
      } else {
        q1 += p * Double(total)
      }
    }
    _ = q3
    var out = 0.0
    out += q1
    out += q2
    out += q4
    out += xl
    out += xr
    out += na
    return out
  }

  /// int(100·σ(Δ/1000)) with σ(x) = 1/(1 + e^−x).
  @inline(__always)
  public static func score(before: Double, after: Double) -> Int64 {
    let x = (before - after) / 1000
    return Int64(1 / (1 + (-x).exp) * 100)
  }
}

extension Double {
  @inline(__always) var exp: Double { libmExp(self) }
}

#if canImport(Glibc)
  import Glibc
  @inline(__always) func libmExp(_ x: Double) -> Double { Glibc.exp(x) }
#else
  import Darwin
  @inline(__always) func libmExp(_ x: Double) -> Double { Darwin.exp(x) }
#endif

extension FragmentationModel {
  /// The typical pods of a workload (`GetTypicalPods`): classes by (CPU, per-GPU milli, GPU
  /// count, models), most frequent first (ties: larger key first), taken until their share of
  /// all pods reaches `threshold` percent, then renormalised.
  public static func typicalPods(_ pods: [PodSpec], threshold: Double = 95) -> [TypicalPod] {
    typicalPods(
      pods.map { p in
        let g = p.gpu
        return TypicalKey(
          cpu: (try? PodRequests.effective(p))?.cpuMillis ?? 0, milli: Int64(g?.milliPerGPU ?? 0),
          count: g?.count ?? 0, models: g?.models.joined(separator: "|") ?? "")
      }, threshold: threshold)
  }

  /// The typical pods of every pod in `cluster`'s table (models in name order).
  public static func typicalPods(of cluster: Cluster, threshold: Double = 95) -> [TypicalPod] {
    let t = cluster.pods
    let names = cluster.gpuModels.names
    return typicalPods(
      (0..<t.count).map { p in
        TypicalKey(
          cpu: t.requestCPU[p], milli: Int64(t.gpuMilli[p]), count: Int(t.gpuCount[p]),
          models: t.gpuModelSets[t.gpuModels[p]].map { names[Int($0)] }.joined(separator: "|"))
      }, threshold: threshold)
  }

  struct TypicalKey: Hashable, Comparable {
    var cpu: Int64, milli: Int64, count: Int, models: String
    static func < (a: Self, b: Self) -> Bool {
      if a.cpu != b.cpu { return a.cpu < b.cpu }
      if a.milli != b.milli { return a.milli < b.milli }
      if a.count != b.count { return a.count < b.count }
      return a.models < b.models
    }
  }

  static func typicalPods(_ keys: [TypicalKey], threshold: Double) -> [TypicalPod] {
    typealias Key = TypicalKey
    var counts: [Key: Double] = [:]
    for key in keys { counts[key, default: 0] += 1 }
    let total = Double(keys.count)
    // Descending by count, then by key (sort.Reverse of ascending count-then-key).
    let sorted = counts.sorted { a, b in a.value != b.value ? a.value > b.value : b.key < a.key }
    let expected = threshold * total / 100
    var cumulative = 0.0
    var chosen: [(Key, Double)] = []
    for (key, count) in sorted {
      if cumulative >= expected { break }
      cumulative += count
      chosen.append((key, count / total))
    }
    if chosen.count == sorted.count {
      return chosen.map {
        TypicalPod(
          cpuMillis: $0.0.cpu, milli: Int16($0.0.milli), gpuCount: $0.0.count, models: $0.0.models,
          probability: $0.1)
      }
    }
    let share = cumulative / total
    return chosen.map {
      TypicalPod(
        cpuMillis: $0.0.cpu, milli: Int16($0.0.milli), gpuCount: $0.0.count, models: $0.0.models,
        probability: $0.1 / share)
    }
  }
}

extension FragmentationModel {
  /// Node `row`'s fragmentation in its current state.
  public func fragmentation(ofNode row: Int, in nodes: NodeTable) -> Double {
    // SAFETY: `row` is a node row; each node has `maxPerNode` device slots in gpuMilliLeft.
    fragmentation(
      left: UnsafePointer(nodes.gpuMilliLeft.base + row * NodeGPUs.maxPerNode),
      count: Int(nodes.gpuCount[row]),
      cpuLeft: nodes.allocatableCPU[row] - nodes.requestedCPU[row], model: Int(nodes.gpuModel[row]))
  }

  /// FGD's score for placing `pod` on node `row`, and the devices it would take (for a sharing
  /// pod the first GPU of best score; whole GPUs the first free ones).
  func score(_ pod: GPUPod, row: Int, in n: NodeTable) -> (score: Int64, devices: UInt8) {
    // SAFETY: `row` is a node row; the state tuple and the row's slots hold `maxPerNode` devices.
    let count = Int(n.gpuCount[row])
    let model = Int(n.gpuModel[row])
    let cpuLeft = n.allocatableCPU[row] - n.requestedCPU[row]
    let before = fragmentation(ofNode: row, in: n)
    var state = (Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0))
    return withUnsafeMutableBytes(of: &state) { raw in
      let left = raw.bindMemory(to: Int16.self).baseAddress!
      let base = n.gpuMilliLeft.base + row * NodeGPUs.maxPerNode
      for i in 0..<NodeGPUs.maxPerNode { left[i] = base[i] }
      if pod.isSharing {
        var best: Int64 = 0
        var chosen = -1
        for i in 0..<count where base[i] >= pod.milli {
          left[i] = base[i] - pod.milli
          let after = fragmentation(
            left: left, count: count, cpuLeft: cpuLeft - pod.cpuMillis, model: model)
          left[i] = base[i]
          let s = FragmentationModel.score(before: before, after: after)
          if chosen < 0 || s > best {
            best = s
            chosen = i
          }
        }
        return (best, chosen < 0 ? 0 : 1 << UInt8(chosen))
      }
      // N.Sub(P): CPU, then the first n GPUs in stable ascending milli-left order that fit.
      var mask: UInt8 = 0
      if pod.gpuCount > 0 {
        var need = pod.gpuCount
        var taken: UInt8 = 0
        while need > 0 {
          var pick = -1
          for i in 0..<count where taken & (1 << UInt8(i)) == 0 && left[i] >= pod.milli {
            if pick < 0 || left[i] < left[pick] { pick = i }
          }
          if pick < 0 { break }
          taken |= 1 << UInt8(pick)
          left[pick] -= pod.milli
          need -= 1
        }
        mask = GPUSelection.firstFree(count: pod.gpuCount, milli: pod.milli, node: row, in: n) ?? 0
      }
      let after = fragmentation(
        left: left, count: count, cpuLeft: cpuLeft - pod.cpuMillis, model: model)
      return (FragmentationModel.score(before: before, after: after), mask)
    }
  }
}

extension PluginName {
  public static let fgdScore = PluginName("FGDScore")
}

/// `FGDScore`'s arguments: the workload's typical pods (`FragmentationModel.typicalPods`).
/// Empty (the default): the typical pods of the pods in the cluster when the plugin first
/// scores.
public struct FGDArguments: PluginArguments, Equatable {
  public static let plugin = PluginName.fgdScore
  public var typicalPods: [TypicalPod] = []
  public init() {}
  public init(typicalPods: [TypicalPod]) { self.typicalPods = typicalPods }

  public static func read<Reader: ArgumentsReader>(_ args: Reader) throws(Reader.Failure) -> Self {
    try args.requireKeys(in: ["apiVersion", "kind", "typicalPods"])
    var a = FGDArguments()
    a.typicalPods = try (args.child("typicalPods")?.sequence() ?? []).map {
      t throws(Reader.Failure) in
      try t.requireKeys(in: ["cpuMillis", "milli", "gpuCount", "models", "probability"])
      guard let p = t.child("probability") else {
        throw t.error("a typical pod needs a probability")
      }
      let probability = try p.int64()
      return TypicalPod(
        cpuMillis: try t.child("cpuMillis")?.int64() ?? 0,
        milli: Int16(clamping: try t.child("milli")?.int64() ?? 0),
        gpuCount: Int(clamping: try t.child("gpuCount")?.int64() ?? 0),
        models: try t.child("models")?.string() ?? "", probability: Double(probability) / 100)
    }
    return a
  }

  public func validate(path: String) throws(ConfigurationError) {
    for (i, t) in typicalPods.enumerated() {
      guard (0...1000).contains(t.milli), (0...NodeGPUs.maxPerNode).contains(t.gpuCount),
        t.cpuMillis >= 0, t.probability > 0
      else {
        throw ConfigurationError(
          field: "\(path).typicalPods[\(i)]",
          "expected cpuMillis ≥ 0, milli 0…1000, gpuCount 0…\(NodeGPUs.maxPerNode), probability > 0"
        )
      }
    }
  }
}

/// FGDScore (score, reserve): Fragmentation Gradient Descent. A node's score for a pod shape
/// (CPU, GPU count, milli, models) is kept until the node changes (`NodeTable.version`), for
/// every shape at once, as the FGD simulator caches it; so is each node's own fragmentation. At
/// Reserve a sharing pod takes the GPU its score was computed with.
final class FGDScorePlugin: ScorePlugin, ReservePlugin {
  static let descriptor = PluginDescriptor(
    .fgdScore, [.preScore, .score, .reserve], arguments: FGDArguments.self
  ) { FGDScorePlugin(typicalPods: $0.profile.arguments[FGDArguments.self].typicalPods) }
  let name = PluginName.fgdScore
  let normalization = ScoreNormalization.none
  private let typicalPods: [TypicalPod]
  @exclusivity(unchecked) private var model: FragmentationModel?
  @exclusivity(unchecked) private var pod = GPUPod.none

  struct Shape: Hashable {
    var cpu: Int64, count: UInt8, milli: Int16, models: UInt32
  }
  /// Per shape, per node row: the node version the entry was computed at, plus one (0: none).
  @exclusivity(unchecked) private var stamps: [[UInt64]] = []
  @exclusivity(unchecked) private var scores: [[Int64]] = []
  @exclusivity(unchecked) private var devices: [[UInt8]] = []
  @exclusivity(unchecked) private var shapes: [Shape: Int] = [:]
  @exclusivity(unchecked) private var shape = 0

  init(typicalPods: [TypicalPod]) { self.typicalPods = typicalPods }

  /// The model, made at first use (it needs the cluster's GPU models and, by default, pods).
  private func model(_ cluster: Cluster) -> FragmentationModel {
    if let model { return model }
    let m = FragmentationModel(
      classes: typicalPods.isEmpty ? FragmentationModel.typicalPods(of: cluster) : typicalPods,
      models: cluster.gpuModels)
    model = m
    return m
  }

  /// Selects (and sizes) the cache of `pod`'s shape.
  private func prepare(_ pod: PodID, cluster: Cluster) {
    let t = cluster.pods
    let p = pod.index
    let key = Shape(
      cpu: t.requestCPU[p], count: t.gpuCount[p], milli: t.gpuMilli[p], models: t.gpuModels[p])
    if let k = shapes[key] {
      shape = k
    } else {
      shape = stamps.count
      shapes[key] = shape
      stamps.append([])
      scores.append([])
      devices.append([])
    }
    let n = cluster.nodes.count
    if stamps[shape].count < n {
      let more = n - stamps[shape].count
      stamps[shape].append(contentsOf: repeatElement(0, count: more))
      scores[shape].append(contentsOf: repeatElement(0, count: more))
      devices[shape].append(contentsOf: repeatElement(0, count: more))
    }
    self.pod = GPUPod(pod, in: cluster, reusing: self.pod)
  }

  /// The cached score and devices of the current shape on `row`, computed when stale.
  @inline(__always) private func entry(_ row: Int, _ cluster: Cluster, _ model: FragmentationModel)
    -> (Int64, UInt8)
  {
    let stamp = cluster.nodes.version[row] &+ 1
    if stamps[shape][row] == stamp { return (scores[shape][row], devices[shape][row]) }
    let (s, d) = model.score(pod, row: row, in: cluster.nodes)
    stamps[shape][row] = stamp
    scores[shape][row] = s
    devices[shape][row] = d
    return (s, d)
  }

  func preScore(_ info: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    _ = model(cluster)
    prepare(info.id, cluster: cluster)
    return .perNode
  }

  func score(
    _ info: PodInfo, cluster: Cluster, rows: Range<Int>, into out: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: `rows` lie in the node table, as the scheduler asserts; so do `out`'s rows.
    guard let model else { return }
    for r in rows { out[r] = entry(r, cluster, model).0 }
  }

  func reserveDevices(_ info: PodInfo, cluster: Cluster, node: NodeID) -> UInt8? {
    let m = model(cluster)
    prepare(info.id, cluster: cluster)
    guard pod.isSharing else { return nil }
    return entry(node.index, cluster, m).1
  }
}
