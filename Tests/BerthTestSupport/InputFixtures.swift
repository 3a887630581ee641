import BerthTraces
import Foundation
import Testing

/// Helpers for tests of bad input.
public enum InputFixtures {
  /// A fresh path `<prefix>-<uuid>` (not created) under this test process's own scratch
  /// directory, which is removed when the process exits: test runs leave nothing in the
  /// system's temporary directory.
  public static func scratch(_ prefix: String) -> URL {
    ScratchRoot.shared.url.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
  }

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
    let dir = scratch("berth-input")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let path = dir.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    return path
  }
}

/// `<tmp>/berth-tests-<pid>`, created on first use and removed at process exit.
final class ScratchRoot: Sendable {
  static let shared = ScratchRoot()
  let url: URL

  private init() {
    url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "berth-tests-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit {
      try? FileManager.default.removeItem(at: ScratchRoot.shared.url)
    }
  }
}
