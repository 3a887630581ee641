import Foundation
import PackagePlugin

/// Records the source commit the `berth` executable is built from (`BerthBuild.commit`), so a
/// sweep's manifests can say which build ran each shard. The command reruns when the checkout's
/// HEAD, index or refs change (a commit, a checkout) or any source file of the package changes
/// (so `+dirty` follows edits); scripts/build-info.sh rewrites the generated file only when its
/// text changes, so a rerun that finds the same commit recompiles nothing.
@main
struct BuildInfo: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let root = context.package.directoryURL
    let output = context.pluginWorkDirectoryURL.appending(path: "generated/BuildCommit.swift")
    let script = root.appending(path: "scripts/build-info.sh")
    var inputs = [script]
    for module in context.package.sourceModules {
      inputs += module.sourceFiles.map(\.url)
    }
    var gitFiles = [".git/HEAD", ".git/index", ".git/packed-refs", ".berth-commit"]
    if let head = try? String(contentsOf: root.appending(path: ".git/HEAD"), encoding: .utf8),
      head.hasPrefix("ref: ")
    {
      gitFiles.append(".git/" + head.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    for f in gitFiles where FileManager.default.fileExists(atPath: root.appending(path: f).path) {
      inputs.append(root.appending(path: f))
    }
    return [
      .buildCommand(
        displayName: "Recording the source commit",
        executable: URL(fileURLWithPath: "/bin/sh"),
        arguments: [script.path, root.path, output.deletingLastPathComponent().path],
        inputFiles: inputs,
        outputFiles: [output])
    ]
  }
}
