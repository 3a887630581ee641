import BerthScheduling
import Foundation

/// Curves over "arrived GPU demand, % of capacity" bins 0…130, as the paper's
/// `merge_alloc_discrete.py` computes them.
///
/// Each scheduled pod is an event with arrive% = round(100 · arrived / capacity) (half to even,
/// as Python rounds) and alloc% = 100 · allocated / capacity rounded to 2 decimals. The value
/// at bin x is the mean over events with arrive% = x, else over those in [x − 1, x + 1], else
/// absent.
public struct Curves: Sendable {
  public static let bins = 0...130
  public var allocation: [Double?]
  public var fragmentation: [Double?]
  public var fragmentationRatio: [Double?]
  /// arrive% of the first pod that could not be placed, nil when every pod was placed.
  public var firstFailure: Int?

  /// Curves as worked out elsewhere (a sweep's partial results, read back).
  public init(
    allocation: [Double?], fragmentation: [Double?], fragmentationRatio: [Double?],
    firstFailure: Int?
  ) {
    self.allocation = allocation
    self.fragmentation = fragmentation
    self.fragmentationRatio = fragmentationRatio
    self.firstFailure = firstFailure
  }

  public init(_ run: ExperimentRun) {
    let capacity = Double(run.totalGPUs) * 1000
    var arrive = [Int](repeating: 0, count: run.arrived.count)
    var alloc = [Double](repeating: 0, count: run.arrived.count)
    var frag = alloc
    var ratio = alloc
    firstFailure = nil
    for i in run.arrived.indices {
      arrive[i] =
        capacity > 0 ? Int((100 * Double(run.arrived[i]) / capacity).rounded(.toNearestOrEven)) : 0
      alloc[i] =
        capacity > 0
        ? (100 * Double(run.allocated[i]) / capacity * 100).rounded(.toNearestOrEven) / 100 : 0
      frag[i] = capacity > 0 ? 100 * run.fragmented[i] / 1000 / Double(run.totalGPUs) : 0
      let idle = capacity - Double(run.allocated[i])
      ratio[i] = idle > 0 ? run.fragmented[i] / idle * 100 : 0
      if firstFailure == nil && !run.placed[i] { firstFailure = arrive[i] }
    }
    func binned(_ values: [Double]) -> [Double?] {
      var sums = [Double](repeating: 0, count: Curves.bins.count + 2)
      var counts = [Int](repeating: 0, count: Curves.bins.count + 2)
      for (a, v) in zip(arrive, values) where a >= 0 && a <= Curves.bins.upperBound + 1 {
        sums[a] += v
        counts[a] += 1
      }
      return Curves.bins.map { x in
        if counts[x] > 0 { return sums[x] / Double(counts[x]) }
        var s = 0.0
        var c = 0
        for y in max(x - 1, 0)...(x + 1) {
          s += sums[y]
          c += counts[y]
        }
        return c > 0 ? s / Double(c) : nil
      }
    }
    allocation = binned(alloc)
    fragmentation = binned(frag)
    fragmentationRatio = binned(ratio)
  }
}

/// Writers for the experiment's CSV files.
public enum ExperimentCSV {
  public static let header =
    "workload,sc_policy,tune,seed,total_gpus," + Curves.bins.map(String.init).joined(separator: ",")

  public static func rows(_ runs: [(ExperimentRun, Curves)], _ curve: KeyPath<Curves, [Double?]>)
    -> String
  {
    var out = header + "\n"
    for (run, curves) in runs {
      out += "\(run.workload),\(run.policy.rawValue),\(run.tune),\(run.seed),\(run.totalGPUs)"
      for v in curves[keyPath: curve] { out += "," + (v.map { String(format: "%.4f", $0) } ?? "") }
      out += "\n"
    }
    return out
  }

  public struct SummaryRow: Sendable {
    public var workload: String
    public var policy: GPUPolicy
    public var seeds: Int
    public var alloc100: (mean: Double, std: Double)
    public var alloc130: (mean: Double, std: Double)
    public var firstFailure: (mean: Double, std: Double)?
  }

  static func meanStd(_ xs: [Double]) -> (mean: Double, std: Double) {
    guard !xs.isEmpty else { return (0, 0) }
    let m = xs.reduce(0, +) / Double(xs.count)
    return (m, (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count)).squareRoot())
  }

  /// Per workload and policy (input order), over seeds.
  public static func summary(_ runs: [(ExperimentRun, Curves)]) -> [SummaryRow] {
    var keys: [String] = []
    var groups: [String: [(ExperimentRun, Curves)]] = [:]
    for r in runs {
      let k = r.0.workload + "\u{0}" + r.0.policy.rawValue
      if groups[k] == nil { keys.append(k) }
      groups[k, default: []].append(r)
    }
    return keys.map { k in
      let g = groups[k]!
      let fails = g.compactMap { $0.1.firstFailure.map(Double.init) }
      return SummaryRow(
        workload: g[0].0.workload, policy: g[0].0.policy, seeds: g.count,
        alloc100: meanStd(g.map { $0.1.allocation[100] ?? 0 }),
        alloc130: meanStd(
          g.map { $0.1.allocation[130] ?? $0.1.allocation.compactMap { $0 }.last ?? 0 }),
        firstFailure: fails.isEmpty ? nil : meanStd(fails))
    }
  }

  public static func summaryCSV(_ rows: [SummaryRow]) -> String {
    var out =
      "workload,sc_policy,seeds,alloc_at_100_mean,alloc_at_100_std,alloc_at_130_mean,alloc_at_130_std,first_failure_arrived_mean,first_failure_arrived_std\n"
    for r in rows {
      let head = "\(r.workload),\(r.policy.rawValue),\(r.seeds),"
      let alloc = String(
        format: "%.4f,%.4f,%.4f,%.4f,", r.alloc100.mean, r.alloc100.std, r.alloc130.mean,
        r.alloc130.std)
      let fail: String = r.firstFailure.map { String(format: "%.2f,%.2f", $0.mean, $0.std) } ?? ","
      out += head + alloc + fail + "\n"
    }
    return out
  }

  public static func summaryMarkdown(_ rows: [SummaryRow]) -> String {
    var out =
      "| workload | policy | seeds | GPU alloc % at 100 % arrived | at 130 % arrived | first failure at arrived % |\n|---|---|---|---|---|---|\n"
    for r in rows {
      let head = "| \(r.workload) | \(r.policy.rawValue) | \(r.seeds) | "
      let alloc = String(
        format: "%.2f ± %.2f | %.2f ± %.2f | ", r.alloc100.mean, r.alloc100.std, r.alloc130.mean,
        r.alloc130.std)
      let fail: String =
        r.firstFailure.map { String(format: "%.1f ± %.1f", $0.mean, $0.std) } ?? "none"
      out += head + alloc + fail + " |\n"
    }
    return out
  }
}
