import BerthTestSupport
import BerthTraces
import Foundation
import Testing

/// Outputs are complete or absent: no temporary files, no mixed sets, no lost results.
struct OutputTests {
  static func dir() throws -> String {
    let d = InputFixtures.scratch("berth-out").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }

  static func listing(_ d: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []).sorted()
  }

  @Test("a file is replaced whole and leaves no temporary sibling")
  func atomicFile() throws {
    let d = try Self.dir()
    try AtomicFile.write("one\n", to: d + "/a.csv")
    try AtomicFile.write("two\n", to: d + "/a.csv")
    #expect(try String(contentsOfFile: d + "/a.csv", encoding: .utf8) == "two\n")
    #expect(Self.listing(d) == ["a.csv"])
  }

  @Test("leftovers of a killed write are removed by the next write to the same file")
  func staleLeftovers() throws {
    let d = try Self.dir()
    // A process id far above any pid_max: certainly not running.
    FileManager.default.createFile(
      atPath: d + "/.a.csv.berth-2147483000", contents: Data("half".utf8))
    try FileManager.default.createDirectory(
      atPath: d + "/.out.berth-2147483001", withIntermediateDirectories: false)
    try AtomicFile.write("x\n", to: d + "/a.csv")
    try OutputSet.write([("f.txt", "f\n")], to: d + "/out")
    #expect(Self.listing(d) == ["a.csv", "out"])
  }

  @Test("a set replaces the whole folder, marked as Berth's, and a second set replaces the first")
  func outputSet() throws {
    let d = try Self.dir()
    try OutputSet.write([("a.csv", "1\n"), ("b.csv", "1\n")], to: d + "/out")
    #expect(Self.listing(d + "/out") == ["a.csv", "b.csv", "berth-outputs.txt"])
    #expect(
      try String(contentsOfFile: d + "/out/berth-outputs.txt", encoding: .utf8) == "a.csv\nb.csv\n")
    try OutputSet.write([("a.csv", "2\n"), ("c.csv", "2\n")], to: d + "/out")
    #expect(Self.listing(d + "/out") == ["a.csv", "berth-outputs.txt", "c.csv"])
    #expect(try String(contentsOfFile: d + "/out/a.csv", encoding: .utf8) == "2\n")
    #expect(Self.listing(d) == ["out"])
  }

  @Test("a streamed file has no name until its set is written, and then sits beside the others")
  func streamedOutput() throws {
    let d = try Self.dir()
    let stream = try StreamedOutput(name: "rows.csv", in: d + "/out")
    stream.write(Array("a,1\n".utf8))
    stream.write(Array("b,2\n".utf8))
    #expect(Self.listing(d).isEmpty, "nothing named while the run goes on")
    try OutputSet.write([("x.txt", "x\n")], streamed: [stream], to: d + "/out")
    #expect(Self.listing(d + "/out") == ["berth-outputs.txt", "rows.csv", "x.txt"])
    #expect(try String(contentsOfFile: d + "/out/rows.csv", encoding: .utf8) == "a,1\nb,2\n")
    #expect(Self.listing(d) == ["out"])
  }

  @Test(
    "a set never replaces a folder holding files Berth did not write, nor writes into a missing parent"
  )
  func refusedDestinations() throws {
    let d = try Self.dir()
    try FileManager.default.createDirectory(atPath: d + "/mine", withIntermediateDirectories: false)
    _ = FileManager.default.createFile(atPath: d + "/mine/notes.txt", contents: Data("keep".utf8))
    let e = try #require(
      InputFixtures.error { try OutputSet.write([("a.csv", "1\n")], to: d + "/mine") })
    #expect(e.message.hasPrefix("holds files Berth did not write"))
    #expect(Self.listing(d + "/mine") == ["notes.txt"])
    let missing = try #require(
      InputFixtures.error { try OutputSet.checkDestination(d + "/no/such/out") })
    #expect(missing.message.hasSuffix("does not exist"))
    FileManager.default.createFile(atPath: d + "/file", contents: Data())
    #expect(
      InputFixtures.error { try OutputSet.checkDestination(d + "/file") }?.message
        == "is a file, not a folder")
    // An empty folder is fine.
    try FileManager.default.createDirectory(
      atPath: d + "/empty", withIntermediateDirectories: false)
    try OutputSet.write([("a.csv", "1\n")], to: d + "/empty")
    #expect(Self.listing(d + "/empty") == ["a.csv", "berth-outputs.txt"])
  }

  @Test("single output paths are checked before a run: missing folder, folder instead of file")
  func fileChecks() throws {
    let d = try Self.dir()
    #expect(
      InputFixtures.error { try OutputPaths.checkFile(d + "/nope/x.csv", option: "--out") }?
        .description
        == "\(d)/nope/x.csv: --out: the folder \(d)/nope does not exist")
    #expect(
      InputFixtures.error { try OutputPaths.checkFile(d, option: "--out") }?.message
        == "is a folder, not a file")
    try OutputPaths.checkFile(d + "/x.csv", option: "--out")
  }
}
