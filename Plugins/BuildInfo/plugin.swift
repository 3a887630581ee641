import Foundation
import PackagePlugin

/// Records the source commit the `berth` executable is built from (`BerthBuild.commit`), so a
/// sweep's manifests can say which build ran each shard. Runs before every build (a prebuild
/// command: the commit changes without any source file changing); the generated file is
/// rewritten only when its text changes, so an unchanged commit recompiles nothing.
@main
struct BuildInfo: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let output = context.pluginWorkDirectoryURL.appending(path: "generated")
    return [
      .prebuildCommand(
        displayName: "Recording the source commit",
        executable: URL(fileURLWithPath: "/bin/sh"),
        arguments: [
          context.package.directoryURL.appending(path: "scripts/build-info.sh").path,
          context.package.directoryURL.path, output.path,
        ],
        outputFilesDirectory: output)
    ]
  }
}
