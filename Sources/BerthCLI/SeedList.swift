import ArgumentParser
import BerthCore
import BerthTraces

/// Seed lists as options take them: `N`, `A-B` (inclusive), or a comma-separated mix
/// (`1,5-7,9` → 1, 5, 6, 7, 9).
enum SeedList {
  /// At most this many seeds in one list: more is a typo, not an experiment.
  static let maxCount = 100_000

  /// - Throws: a `ValidationError` naming `option` for an empty entry, an open or reversed
  ///   range, a seed listed twice, a non-number or more than `maxCount` seeds.
  static func parse(_ text: String, option: String) throws -> [UInt64] {
    func fail(_ why: String) -> ValidationError {
      ValidationError(
        "\(option): \(why) (expected N, A-B or a comma-separated list such as 1,5-7,9; found \"\(Escaped(text))\")"
      )
    }
    var out: [UInt64] = []
    var seen = Set<UInt64>()
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      guard !part.isEmpty else { throw fail("an empty entry") }
      let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
      guard bounds.allSatisfy({ !$0.isEmpty }) else {
        throw fail("\"\(Escaped(part))\" is an open range")
      }
      guard let lo = UInt64(bounds[0]), let hi = bounds.count == 2 ? UInt64(bounds[1]) : lo else {
        throw fail("\"\(Escaped(part))\" is not a non-negative integer or range")
      }
      guard lo <= hi else { throw fail("the range \(lo)-\(hi) runs backwards") }
      guard hi - lo < UInt64(maxCount), out.count + Int(hi - lo) < maxCount else {
        throw fail("more than \(maxCount) seeds")
      }
      for s in lo...hi {
        guard seen.insert(s).inserted else { throw fail("seed \(s) is listed twice") }
        out.append(s)
      }
    }
    return out
  }
}
