import Foundation

#if FUZZING
  import CLibFuzzer

  /// The target libFuzzer drives, named by BERTH_FUZZ_TARGET (see `FuzzTarget`).
  nonisolated(unsafe) var fuzzTarget = FuzzTarget.kubernetesYAML

  /// The executable's entry point under libFuzzer: picks the target, then runs libFuzzer's driver
  /// (SwiftPM names an executable's entry point itself, so libFuzzer's own `main` is not used).
  @_cdecl("berth_fuzz_main")
  func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    let name = ProcessInfo.processInfo.environment["BERTH_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
      FileHandle.standardError.write(
        Data(
          "set BERTH_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n"
            .utf8))
      return 2
    }
    fuzzTarget = target
    var count = argc
    var args: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &args) { bytes, size in
      fuzzTarget.run(bytes.map { Data(bytes: $0, count: size) } ?? Data())
      return 0
    }
  }
#else
  /// Without libFuzzer: replays corpus files through a target, for tests and reproducing a
  /// finding. `berth-fuzz TARGET FILE…`
  @main
  struct Replay {
    static func main() {
      let args = CommandLine.arguments.dropFirst()
      guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(
          Data(
            "usage: berth-fuzz TARGET FILE… (TARGET: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n"
              .utf8))
        exit(2)
      }
      var count = 0
      for path in args.dropFirst() {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
        let files =
          isDir.boolValue
          ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map {
            path + "/" + $0
          } : [path]
        for f in files {
          guard let data = FileManager.default.contents(atPath: f) else { continue }
          target.run(data)
          count += 1
        }
      }
      print("\(name): \(count) input(s) replayed, no contract violated")
    }
  }
#endif
