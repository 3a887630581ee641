import BerthTraces
import Foundation
import Testing

/// Helpers for tests of bad input.
public enum InputFixtures {
  /// The `InputError` `body` throws, or nil when it throws none; any other error is recorded
  /// as a test issue.
  public static func error(_ body: () throws -> Void) -> InputError? {
    do {
      try body()
      return nil
    } catch let e as InputError {
      return e
    } catch {
      Issue.record("unexpected error type: \(error)")
      return nil
    }
  }

  /// Writes `text` to a file called `name` in a fresh temporary directory; returns its path.
  public static func temp(_ name: String, _ text: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "berth-input-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    return path
  }
}
