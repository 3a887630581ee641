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
    struct Key: Hashable, Comparable {
      var cpu: Int64, milli: Int64, count: Int, models: String
      static func < (a: Key, b: Key) -> Bool {
        if a.cpu != b.cpu { return a.cpu < b.cpu }
        if a.milli != b.milli { return a.milli < b.milli }
        if a.count != b.count { return a.count < b.count }
        return a.models < b.models
      }
    }
    var counts: [Key: Double] = [:]
    for p in pods {
      let req = (try? PodRequests.effective(p))?.cpuMillis ?? 0
      let g = p.gpu
      let key = Key(
        cpu: req, milli: Int64(g?.milliPerGPU ?? 0), count: g?.count ?? 0,
        models: g?.models.joined(separator: "|") ?? "")
      counts[key, default: 0] += 1
    }
    let total = Double(pods.count)
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
