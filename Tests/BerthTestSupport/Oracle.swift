import BerthCore
import BerthTraces
import Foundation

/// The kube-scheduler oracle in ../shared (beside the repository root).
public enum Oracle {
  /// `<repo>/../shared/oracles/kube-scheduler`.
  public static let root: String = {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent()
    return repo.deletingLastPathComponent().appendingPathComponent("shared/oracles/kube-scheduler")
      .path
  }()

  public static var isAvailable: Bool {
    FileManager.default.fileExists(atPath: root + "/README.md")
  }

  public static func input(_ n: String) -> String { root + "/input/" + n }
  public static func run(_ name: String) -> String { root + "/runs/" + name }

  /// Lines of a (possibly gzip-compressed) text file, header included.
  public static func lines(_ path: String) throws -> [Substring] {
    let text: String
    if path.hasSuffix(".gz") {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/gzip")
      p.arguments = ["-dc", path]
      let pipe = Pipe()
      p.standardOutput = pipe
      try p.run()
      let data = pipe.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      text = String(decoding: data, as: UTF8.self)
    } else {
      text = try String(contentsOfFile: path, encoding: .utf8)
    }
    return text.split(separator: "\n", omittingEmptySubsequences: true)
  }

  /// `pod → node name or "unschedulable"` from a placements.csv.
  public static func placements(_ run: String) throws -> [(pod: String, node: String)] {
    try lines(self.run(run) + "/placements.csv").dropFirst().map {
      let f = $0.split(separator: ",", omittingEmptySubsequences: false)
      return (String(f[0]), String(f[1]))
    }
  }
}
