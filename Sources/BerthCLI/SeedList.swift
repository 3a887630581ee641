import ArgumentParser
import BerthCore
import BerthTraces

/// Seed lists as options take them (`SeedRanges`: `N`, `A-B` or a comma-separated mix).
enum SeedList {
  /// - Throws: a `ValidationError` naming `option` and the text for anything `SeedRanges`
  ///   refuses.
  static func parse(_ text: String, option: String) throws -> [UInt64] {
    do throws(SeedRanges.Problem) {
      return try SeedRanges.parse(text)
    } catch {
      throw ValidationError(
        "\(option): \(error.message) (expected N, A-B or a comma-separated list such as 1,5-7,9; found \"\(Escaped(text))\")"
      )
    }
  }
}
