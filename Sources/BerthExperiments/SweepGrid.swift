/// A sweep's runs: the cross product of named axes (seeds, workloads, variants, sizes), numbered
/// in one fixed order so that run *k* is the same run on every machine that reads the same
/// sweep — the first axis slowest, the last fastest, each axis's values in the order written.
///
/// Example: axes `workload: [a, b]`, `seed: [1, 2, 3]` → runs 0…5 are (a,1) (a,2) (a,3) (b,1)
/// (b,2) (b,3).
public struct SweepGrid: Sendable, Equatable {
  public struct Axis: Codable, Sendable, Equatable {
    public var name: String
    public var values: [String]
    public init(name: String, values: [String]) {
      self.name = name
      self.values = values
    }
  }

  /// At most this many runs in one sweep: more is a typo (a seed range too long), not an
  /// experiment, and is refused before anything is allocated per run.
  public static let maxRuns = 10_000_000

  public let axes: [Axis]
  /// The number of runs: the product of the axes' value counts.
  public let count: Int

  /// What is wrong with a list of axes.
  public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
    case noAxes
    case emptyAxis(String)
    case duplicateAxis(String)
    case duplicateValue(axis: String, value: String)
    case tooManyRuns(limit: Int)

    public var description: String {
      switch self {
      case .noAxes: "a sweep needs at least one axis"
      case .emptyAxis(let a): "axis \(a) has no values"
      case .duplicateAxis(let a): "axis \(a) is given twice"
      case .duplicateValue(let a, let v): "axis \(a) lists \(v) twice"
      case .tooManyRuns(let limit): "the axes make more than \(limit) runs"
      }
    }
  }

  /// - Throws: `Problem` for no axes, an empty axis, a name or a value given twice, or more
  ///   than `maxRuns` runs (checked as the product grows, so no overflow).
  public init(axes: [Axis]) throws(Problem) {
    guard !axes.isEmpty else { throw .noAxes }
    var names = Set<String>()
    var product = 1
    for axis in axes {
      guard names.insert(axis.name).inserted else { throw .duplicateAxis(axis.name) }
      guard !axis.values.isEmpty else { throw .emptyAxis(axis.name) }
      var seen = Set<String>()
      for v in axis.values where !seen.insert(v).inserted {
        throw .duplicateValue(axis: axis.name, value: v)
      }
      let (p, overflow) = product.multipliedReportingOverflow(by: axis.values.count)
      guard !overflow, p <= Self.maxRuns else { throw .tooManyRuns(limit: Self.maxRuns) }
      product = p
    }
    self.axes = axes
    count = product
  }

  /// Run `k`'s index into each axis's values (mixed radix, the last axis fastest).
  /// - Precondition: `0 ≤ k < count`.
  public func indices(of k: Int) -> [Int] {
    precondition(k >= 0 && k < count, "run \(k) of \(count)")
    var out = [Int](repeating: 0, count: axes.count)
    var rest = k
    for a in axes.indices.reversed() {
      let n = axes[a].values.count
      out[a] = rest % n
      rest /= n
    }
    return out
  }

  /// Run `k`'s value on each axis, by axis name.
  public func run(_ k: Int) -> [(axis: String, value: String)] {
    zip(axes, indices(of: k)).map { ($0.name, $0.values[$1]) }
  }

  /// The number of the run with these indices (the inverse of `indices(of:)`).
  public func number(of indices: [Int]) -> Int {
    precondition(
      indices.count == axes.count
        && zip(indices, axes).allSatisfy { $0 >= 0 && $0 < $1.values.count },
      "one index per axis, within its values")
    var k = 0
    for (a, i) in indices.enumerated() { k = k * axes[a].values.count + i }
    return k
  }
}

/// Splits a sweep's runs over shards by their estimated cost, the same way on every machine:
/// runs taken from the costliest (ties: the lower run number first), each to the shard with
/// the least cost so far (ties: the lower shard) — the longest-processing-time rule, within 4/3
/// of the best split's largest shard.
public enum SweepSharding {
  /// The shard of each run.
  /// - Precondition: `shards ≥ 1`; costs finite and not negative.
  public static func assign(costs: [Double], shards: Int) -> [Int] {
    precondition(shards >= 1, "at least one shard")
    precondition(costs.allSatisfy { $0.isFinite && $0 >= 0 }, "finite costs, not negative")
    let order = costs.indices.sorted { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }
    var load = [Double](repeating: 0, count: shards)
    var out = [Int](repeating: 0, count: costs.count)
    for r in order {
      var best = 0
      for s in 1..<shards where load[s] < load[best] { best = s }
      out[r] = best
      load[best] += costs[r]
    }
    return out
  }

  /// The runs of shard `index`, in run order.
  public static func runs(of index: Int, costs: [Double], shards: Int) -> [Int] {
    precondition(index >= 0 && index < shards, "shard \(index) of \(shards)")
    return assign(costs: costs, shards: shards).enumerated().filter { $0.element == index }.map(
      \.offset)
  }
}

/// Shard `index` of `count` (`--shard I/N`, or an Indexed Job's `JOB_COMPLETION_INDEX` with the
/// shard count the job passes as `BERTH_SHARDS`).
public struct SweepShard: Sendable, Equatable, CustomStringConvertible {
  public var index: Int
  public var count: Int

  /// At most this many shards: more than runs make sense is refused as a typo.
  public static let maxCount = 100_000

  public init(index: Int, count: Int) {
    self.index = index
    self.count = count
  }

  public var description: String { "\(index)/\(count)" }

  /// `I/N` with 0 ≤ I < N ≤ `maxCount`.
  /// - Throws: a one-line reason naming what was expected.
  public static func parse(_ text: String) throws(SweepGrid.ShardProblem) -> SweepShard {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
      throw .init("expected I/N such as 0/8, found \"\(text)\"")
    }
    guard n >= 1, n <= maxCount else {
      throw .init("the shard count must be 1…\(maxCount), found \(n)")
    }
    guard i >= 0, i < n else { throw .init("the shard index must be 0…\(n - 1), found \(i)") }
    return SweepShard(index: i, count: n)
  }

  /// The shard an Indexed Job's pod runs: `JOB_COMPLETION_INDEX` out of `BERTH_SHARDS`; nil
  /// when neither is set.
  /// - Throws: when only one is set, or either is not what `parse` accepts.
  public static func fromEnvironment(_ env: [String: String]) throws(SweepGrid.ShardProblem)
    -> SweepShard?
  {
    let index = env["JOB_COMPLETION_INDEX"]
    let count = env["BERTH_SHARDS"]
    switch (index, count) {
    case (nil, nil): return nil
    case (let i?, let n?):
      do throws(SweepGrid.ShardProblem) {
        return try parse("\(i)/\(n)")
      } catch {
        throw .init("JOB_COMPLETION_INDEX/BERTH_SHARDS: \(error.message)")
      }
    case (nil, _): throw .init("BERTH_SHARDS is set without JOB_COMPLETION_INDEX")
    case (_, nil): throw .init("JOB_COMPLETION_INDEX is set without BERTH_SHARDS")
    }
  }
}

extension SweepGrid {
  /// Why a shard was refused, as one line.
  public struct ShardProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
  }
}
