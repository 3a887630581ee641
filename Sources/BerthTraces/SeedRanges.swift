import BerthCore

/// Seed lists as options and sweeps write them: `N`, `A-B` (inclusive), or a comma-separated
/// mix (`1,5-7,9` → 1, 5, 6, 7, 9), expanded in order.
public enum SeedRanges {
  /// At most this many seeds in one list: more is a typo, not an experiment.
  public static let maxCount = 100_000

  /// Why a list was refused, as one line without the list itself.
  public struct Problem: Error, Equatable, Sendable {
    public var message: String
  }

  /// Expands `parts` (each `N` or `A-B`).
  /// - Throws: for an empty entry, an open or reversed range, a non-number, a seed listed twice
  ///   or more than `maxCount` seeds.
  public static func expand(_ parts: [Substring]) throws(Problem) -> [UInt64] {
    var out: [UInt64] = []
    var seen = Set<UInt64>()
    for part in parts {
      guard !part.isEmpty else { throw Problem(message: "an empty entry") }
      let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
      guard bounds.allSatisfy({ !$0.isEmpty }) else {
        throw Problem(message: "\"\(Escaped(part))\" is an open range")
      }
      guard let lo = UInt64(bounds[0]), let hi = bounds.count == 2 ? UInt64(bounds[1]) : lo else {
        throw Problem(message: "\"\(Escaped(part))\" is not a non-negative integer or range")
      }
      guard lo <= hi else { throw Problem(message: "the range \(lo)-\(hi) runs backwards") }
      guard hi - lo < UInt64(maxCount), out.count + Int(hi - lo) < maxCount else {
        throw Problem(message: "more than \(maxCount) seeds")
      }
      for s in lo...hi {
        guard seen.insert(s).inserted else { throw Problem(message: "seed \(s) is listed twice") }
        out.append(s)
      }
    }
    return out
  }

  /// Expands a comma-separated text.
  public static func parse(_ text: String) throws(Problem) -> [UInt64] {
    try expand(text.split(separator: ",", omittingEmptySubsequences: false))
  }
}
