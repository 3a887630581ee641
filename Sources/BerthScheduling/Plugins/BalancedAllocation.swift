import BerthCore

extension PluginName {
  public static let nodeResourcesBalancedAllocation = PluginName(
    "NodeResourcesBalancedAllocation")
}

/// NodeResourcesBalancedAllocation (score): favours nodes whose resource fractions are close.
///
/// Per configured resource with allocatable > 0, fraction = min((requested + pod) / alloc, 1)
/// with real (not non-zero) requests. With two fractions std = |f₀ − f₁| / 2, with more the
/// population standard deviation, with fewer 0; score = int((1 − std)·100), in float64 exactly
/// as upstream evaluates it. Worked example: cpu 2300/32000 = 0.071875, memory
/// 4688183296/137438953472 ≈ 0.034111 → std ≈ 0.018882 → 98.
final class BalancedAllocationPlugin: ScorePlugin {
  static let descriptor = PluginDescriptor(
    .nodeResourcesBalancedAllocation, [.preScore, .score],
    arguments: BalancedAllocationArguments.self
  ) { BalancedAllocationPlugin(arguments: $0.profile.arguments[BalancedAllocationArguments.self]) }
  let name = PluginName.nodeResourcesBalancedAllocation
  let normalization = ScoreNormalization.none
  /// Node-local: the pod's requests against the node's own columns.
  let scoresAreNodeLocal = true
  /// Reads the node columns and PreScore's list; writes only its rows.
  let scoresRowsConcurrently = true
  /// PreScore reads the pod and the node columns, never the feasible rows.
  func preScoreReadsFeasibleRows(_ pod: PodInfo, cluster: Cluster) -> Bool { false }
  let arguments: BalancedAllocationArguments
  /// `arguments.resources`, resolved.
  let resources: [ScoringResource]
  @exclusivity(unchecked) private var columns: [ResourceColumns] = []

  init(arguments: BalancedAllocationArguments) {
    self.arguments = arguments
    resources = arguments.resources.map { ScoringResource($0.name) }
  }

  func preScore(_ pod: PodInfo, cluster: Cluster, window: Window, status: UnsafePointer<UInt8>)
    -> ScoreMode
  {
    // SAFETY: the window spans the node table (asserted); `status` holds a row per node.
    assert(window.isOver(cluster.nodes), "a window over another node table")
    columns.removeAll(keepingCapacity: true)
    for r in resources {
      if let c = cluster.resourceColumns(r, weight: 1, pod: pod, nonZero: false) {
        columns.append(c)
      }
    }
    return columns.count < 2 ? .uniform(NodeScore.max) : .perNode
  }

  func score(
    _ pod: PodInfo, cluster: Cluster, rows: Range<Int>, into scores: UnsafeMutablePointer<Int64>
  ) {
    // SAFETY: rows within the node table (asserted); node columns and `scores` have a row per node.
    assert(
      rows.lowerBound >= 0 && rows.upperBound <= cluster.nodes.count, "rows beyond the node table")
    if columns.count == 2 {
      let a = columns[0]
      let b = columns[1]
      let allocA = a.allocatable
      let reqA = a.requested
      let podA = a.podAmount
      let allocB = b.allocatable
      let reqB = b.requested
      let podB = b.podAmount
      if let da = a.doubles, let db = b.doubles {
        // From the node table's doubles: the capped request min(requested + pod, a) is
        // a − max(free − pod, 0) in exact integers, and its fraction of a the rounded quotient
        // a division gives (`ExactMath.quotient`, no division where the target fuses
        // multiply-adds). A zero allocatable gives 0, replaced below.
        let (pa, pb) = (Double(podA), Double(podB))
        let (capA, freeA, inverseA) = (da.allocatable, da.free, da.inverse)
        let (capB, freeB, inverseB) = (db.allocatable, db.free, db.inverse)
        /// Row i's two fractions.
        @inline(__always) func fractions(_ i: Int) -> (Double, Double) {
          let (ca, cb) = (capA[i], capB[i])
          return (
            ExactMath.quotient(
              ca - ExactMath.positivePart(freeA[i] - pa), ca, inverse: inverseA[i]),
            ExactMath.quotient(cb - ExactMath.positivePart(freeB[i] - pb), cb, inverse: inverseB[i])
          )
        }
        if da.allPositive && db.allPositive {
          // Every node has both resources: no zero rule. 1 − std is 1 − |fa − fb|·½ rounded
          // once (std = |fa − fb|/2 is exact: halving a difference of such quotients never
          // reaches the subnormals), one multiply-add where the target fuses them.
          for i in rows {
            let (fa, fb) = fractions(i)
            let d = abs(fa - fb)
            let rest = ExactMath.fusesMultiplyAdd ? 1.0.addingProduct(-0.5, d) : 1 - d / 2
            scores[i] = ExactMath.integerToInt((rest * 100).rounded(.towardZero))
          }
          return
        }
        for i in rows {
          let (ca, cb) = (capA[i], capB[i])
          let (fa, fb) = fractions(i)
          let std = abs((fa - fb) / 2)
          // 1 − std ≥ 0.5 for fractions in [0, 1]: the truncation needs no clamp at 0.
          let both = ((1 - std) * 100).rounded(.towardZero)
          // 100 where an allocatable amount is 0, as a maximum (both ≤ 100): a select would
          // let the compiler load the columns above only where needed, in masked loads.
          let zero: Double = min(ca, cb) == 0 ? 100 : 0
          scores[i] = ExactMath.integerToInt(max(both, zero))
        }
        return
      }
      if a.fitsDoubleArithmetic && b.fitsDoubleArithmetic && !ExactMath.convertsInt64Vectors {
        // The same in exact conversions: a request of at least the allocatable amount is that
        // amount (the fraction is capped at 1 either way; requests are never negative), so
        // both operands lie in [0, 2^46). A zero allocatable gives 0/0, replaced below.
        for i in rows {
          let ca = allocA[i]
          let cb = allocB[i]
          let fa =
            ExactMath.exactDouble(min(max(reqA[i] &+ podA, 0), ca)) / ExactMath.exactDouble(ca)
          let fb =
            ExactMath.exactDouble(min(max(reqB[i] &+ podB, 0), cb)) / ExactMath.exactDouble(cb)
          let std = abs((fa - fb) / 2)
          let both = ExactMath.truncatedToInt((1 - std) * 100)
          scores[i] = (ca == 0 || cb == 0) ? NodeScore.max : both
        }
        return
      }
      for i in rows {
        let fa = min(Double(reqA[i] &+ podA) / Double(allocA[i]), 1)
        let fb = min(Double(reqB[i] &+ podB) / Double(allocB[i]), 1)
        let std = abs((fa - fb) / 2)
        let both = ExactMath.truncatedToInt((1 - std) * 100)
        // A resource with allocatable 0 drops out; one fraction left has std 0.
        scores[i] = (allocA[i] == 0 || allocB[i] == 0) ? NodeScore.max : both
      }
      return
    }
    for i in rows {
      var fractions: (sum: Double, count: Int) = (0, 0)
      for c in columns where c.allocatable[i] != 0 {
        fractions.sum += min(Double(c.requested[i] &+ c.podAmount) / Double(c.allocatable[i]), 1)
        fractions.count += 1
      }
      var std = 0.0
      if fractions.count == 2 {
        var f: [Double] = []
        for c in columns where c.allocatable[i] != 0 {
          f.append(min(Double(c.requested[i] &+ c.podAmount) / Double(c.allocatable[i]), 1))
        }
        std = abs((f[0] - f[1]) / 2)
      } else if fractions.count > 2 {
        let mean = fractions.sum / Double(fractions.count)
        var sum = 0.0
        for c in columns where c.allocatable[i] != 0 {
          let f = min(Double(c.requested[i] &+ c.podAmount) / Double(c.allocatable[i]), 1)
          sum = sum + (f - mean) * (f - mean)
        }
        std = (sum / Double(fractions.count)).squareRoot()
      }
      scores[i] = Int64((1 - std) * Double(NodeScore.max))
    }
  }
}

/// `NodeResourcesBalancedAllocationArgs`.
public struct BalancedAllocationArguments: PluginArguments, Equatable {
  public static let plugin = PluginName.nodeResourcesBalancedAllocation
  public var resources: [ResourceWeight] = [
    .init(name: "cpu", weight: 1), .init(name: "memory", weight: 1),
  ]
  public init() {}
}

extension BalancedAllocationArguments {
  public static func read<Reader: ArgumentsReader>(_ v: Reader) throws(Reader.Failure) -> Self {
    var a = BalancedAllocationArguments()
    try v.requireKeys(in: ["apiVersion", "kind", "resources"])
    if let r = v.child("resources") { a.resources = try ResourceWeight.readList(r) }
    return a
  }
}

extension BalancedAllocationArguments {
  /// `ValidateNodeResourcesBalancedAllocationArgs`: every weight must be 1, no duplicates.
  public func validate(path: String) throws(ConfigurationError) {
    var seen = Set<String>()
    for (i, r) in resources.enumerated() {
      guard r.weight == 1 else {
        throw ConfigurationError(field: "\(path).resources[\(i)].weight", "\(r.weight) must be 1")
      }
      guard seen.insert(r.name).inserted else {
        throw ConfigurationError(
          field: "\(path).resources[\(i)].name", "duplicate resource \"\(r.name)\"")
      }
    }
  }
}
