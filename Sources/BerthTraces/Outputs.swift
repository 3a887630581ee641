import CBerthSystem
import Foundation

/// Outputs that are complete or absent, even after `kill -9`.
///
/// A file's bytes are written to an unnamed file (`O_TMPFILE`) in the destination's
/// directory, flushed, and only then given a name — a hidden sibling `.NAME.berth-PID` — that is
/// renamed over the destination at once. A kill while writing leaves nothing (an unnamed file
/// vanishes with its process); only in the few microseconds between naming and renaming can a
/// kill leave the hidden sibling, which the next write to that destination removes. Where the
/// file system has no `O_TMPFILE`, the bytes go to the hidden sibling directly (same rules, a
/// longer window).
public enum AtomicFile {
  /// Writes `text` to `path`, replacing what was there in one step.
  public static func write(_ text: String, to path: String) throws(InputError) {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    let name = url.lastPathComponent
    OutputPaths.removeStale(beside: path)
    let staged = dir + "/" + OutputPaths.stagingName(for: name)
    try stage(Data(text.utf8), at: staged, directory: dir, destination: path)
    guard rename(staged, path) == 0 else {
      let why = String(cString: strerror(errno))
      unlink(staged)
      throw InputError(file: path, "cannot move the finished file into place (\(why))")
    }
  }

  /// Writes `data` and names it `staged`: through an unnamed file when the file system allows.
  static func stage(_ data: Data, at staged: String, directory: String, destination: String)
    throws(InputError)
  {
    let file = try UnnamedFile(data, directory: directory, destination: destination)
    defer { file.close() }
    try file.link(as: staged)
  }

  static func writeAll(_ fd: Int32, _ data: Data, destination: String) throws(InputError) {
    // SAFETY: offset < bytes.count in the loop; the bytes live for the closure.
    let failed: Int32? = data.withUnsafeBytes { bytes in
      var offset = 0
      while offset < bytes.count {
        let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          return errno
        }
        offset += n
      }
      return nil
    }
    if let failed {
      throw InputError(
        file: destination, "cannot write file (\(String(cString: strerror(failed))))")
    }
  }
}

/// A folder of outputs written as one: `berth compare`'s six files, `berth generate`'s three.
///
/// The files are written into a hidden staging folder beside the destination
/// (`.NAME.berth-PID`), which then takes the destination's place in one `renameat2` exchange;
/// the previous outputs, swapped into the staging name, are removed. Readers of the destination
/// see the old set or the new set, never a mix. A kill before the exchange leaves the old set
/// and a staging folder; a kill after it, the new set and the old set under the staging name:
/// either way the next write to that destination removes the leftover.
///
/// Because the whole folder is replaced, the destination must be new, empty, or a folder Berth
/// wrote (it holds `berth-outputs.txt`, the list of what the set contains): Berth never throws
/// away files it did not write.
public enum OutputSet {
  /// Written into every set: its files, one per line, so a folder is recognised as Berth's.
  public static let marker = "berth-outputs.txt"

  /// Checks, before any work, that `directory` can receive a set: its parent exists and is
  /// writable, and it is absent, empty or Berth's own.
  public static func checkDestination(_ directory: String) throws(InputError) {
    let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
    let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue
    else {
      throw InputError(file: directory, "the folder that would hold it, \(parent), does not exist")
    }
    guard access(parent, W_OK) == 0 else {
      throw InputError(file: directory, "cannot write in \(parent) (permission denied)")
    }
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else { return }
    guard isDir.boolValue else { throw InputError(file: directory, "is a file, not a folder") }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    guard entries.isEmpty || entries.contains(marker) else {
      throw InputError(
        file: directory,
        "holds files Berth did not write (no \(marker)); choose a new or empty folder, since the whole folder is replaced"
      )
    }
  }

  /// Replaces `directory` with a folder holding exactly `files` (name → contents), the
  /// `streamed` files (written while the run went on, see `StreamedOutput`) and the marker.
  public static func write(
    _ files: [(name: String, contents: String)], streamed: [StreamedOutput] = [],
    to directory: String
  ) throws(InputError) {
    try checkDestination(directory)
    let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
    let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().path
    OutputPaths.removeStale(beside: dir)
    let staging =
      parent + "/" + OutputPaths.stagingName(for: URL(fileURLWithPath: dir).lastPathComponent)
    // Every file is written and flushed unnamed first; the staging folder exists only for the
    // moments it takes to name them and swap.
    let listing =
      (files.map(\.name) + streamed.map(\.name)).sorted().joined(separator: "\n") + "\n"
    var written: [(name: String, file: UnnamedFile)] = []
    defer { for w in written { w.file.close() } }
    for s in streamed { written.append((s.name, try s.finish())) }
    for (name, contents) in files + [(marker, listing)] {
      written.append(
        (
          name,
          try UnnamedFile(
            Data(contents.utf8), directory: parent, destination: directory + "/" + name)
        ))
    }
    guard mkdir(staging, 0o755) == 0 else {
      throw InputError(
        file: directory,
        "cannot create a staging folder beside it (\(String(cString: strerror(errno))))")
    }
    do throws(InputError) {
      for w in written { try w.file.link(as: staging + "/" + w.name) }
      if FileManager.default.fileExists(atPath: dir) {
        // An exchange: both names stay valid throughout; no moment without the folder.
        guard berth_exchange_paths(staging, dir) == 0 else {
          throw InputError(
            file: directory,
            "cannot swap the new outputs into place (\(String(cString: strerror(errno))))")
        }
      } else {
        guard rename(staging, dir) == 0 else {
          throw InputError(
            file: directory,
            "cannot move the new outputs into place (\(String(cString: strerror(errno))))")
        }
      }
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      throw error
    }
    // The previous set, now under the staging name (absent when there was none).
    try? FileManager.default.removeItem(atPath: staging)
  }
}

/// A file of an output set written while the run that makes it goes on, so its text is never
/// held whole: an unnamed file (as `UnnamedFile`) beside the destination, named only when
/// `OutputSet.write(_:streamed:to:)` writes the set. A kill leaves nothing of it.
///
/// Writes never throw mid-run: the first failure (a full disk) is kept, later writes are
/// dropped, and writing the set reports it.
public final class StreamedOutput {
  public let name: String
  private let file: UnnamedFile
  private var failure: InputError?

  /// An empty file that will be `name` in the set written to `directory`.
  public init(name: String, in directory: String) throws(InputError) {
    self.name = name
    let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
    let parent = URL(fileURLWithPath: dir).deletingLastPathComponent().path
    file = try UnnamedFile(directory: parent, destination: directory + "/" + name)
  }

  /// Appends bytes to the file.
  public func write(_ bytes: [UInt8]) {
    guard failure == nil, !bytes.isEmpty else { return }
    do throws(InputError) {
      try file.append(Data(bytes))
    } catch { failure = error }
  }

  /// Flushes the file and hands it over for naming.
  fileprivate func finish() throws(InputError) -> UnnamedFile {
    if let failure { throw failure }
    try file.sync()
    return file
  }

  deinit { file.close() }
}

/// Bytes written and flushed to a file with no name yet (`O_TMPFILE`), or, where the file
/// system lacks it, to a hidden named file.
final class UnnamedFile {
  let fd: Int32
  /// The hidden name used where unnamed files are not supported (nil: the file is unnamed).
  let fallbackName: String?
  let destination: String

  /// Writes `data` and flushes it.
  convenience init(_ data: Data, directory: String, destination: String) throws(InputError) {
    try self.init(directory: directory, destination: destination)
    do throws(InputError) {
      try append(data)
      try sync()
    } catch {
      close()
      throw error
    }
  }

  /// An empty file, to be appended to.
  init(directory: String, destination: String) throws(InputError) {
    self.destination = destination
    // O_TMPFILE is __O_TMPFILE | O_DIRECTORY (Linux); Glibc's module does not export it.
    let oTmpFile: Int32 = 0o20_000_000 | O_DIRECTORY
    var fd = open(directory, oTmpFile | O_WRONLY | O_CLOEXEC, 0o644)
    var fallback: String?
    if fd < 0 {
      let name =
        directory + "/"
        + OutputPaths.stagingName(for: URL(fileURLWithPath: destination).lastPathComponent) + "-w"
      fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      guard fd >= 0 else {
        throw InputError(
          file: destination, "cannot write file (\(String(cString: strerror(errno))))")
      }
      fallback = name
    }
    self.fd = fd
    fallbackName = fallback
  }

  func append(_ data: Data) throws(InputError) {
    try AtomicFile.writeAll(fd, data, destination: destination)
  }

  /// Flushes what was written to the disk.
  func sync() throws(InputError) {
    guard fsync(fd) == 0 else {
      throw InputError(
        file: destination, "cannot flush file (\(String(cString: strerror(errno))))")
    }
  }

  /// Gives the file the name `path` (replacing nothing: a stale entry there is removed first).
  func link(as path: String) throws(InputError) {
    unlink(path)
    if let fallbackName {
      guard rename(fallbackName, path) == 0 else {
        throw InputError(
          file: destination, "cannot name the written file (\(String(cString: strerror(errno))))")
      }
    } else {
      guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 else {
        throw InputError(
          file: destination, "cannot name the written file (\(String(cString: strerror(errno))))")
      }
    }
  }

  private var closed = false
  func close() {
    guard !closed else { return }
    closed = true
    Foundation.close(fd)
    if let fallbackName { unlink(fallbackName) }
  }
}

/// Names of staged outputs and their cleanup.
public enum OutputPaths {
  static let tag = ".berth-"

  /// `.NAME.berth-PID`: hidden, and tied to the process that writes it.
  static func stagingName(for name: String) -> String { "." + name + tag + String(getpid()) }

  /// Removes leftovers of killed writes in the folder of `path`: hidden `.NAME.berth-PID…`
  /// entries whose process is gone.
  public static func removeStale(beside path: String) {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    where entry.hasPrefix(".") {
      guard let range = entry.range(of: tag, options: .backwards) else { continue }
      guard let pid = Int32(entry[range.upperBound...].prefix(while: \.isNumber)), pid != getpid()
      else { continue }
      if kill(pid, 0) == 0 || errno == EPERM { continue }  // still running
      try? FileManager.default.removeItem(atPath: dir + "/" + entry)
    }
  }

  /// Checks, before a run, that a single output file can be written at `path`: its folder
  /// exists and is writable, and `path` is not a folder.
  public static func checkFile(_ path: String, option: String) throws(InputError) {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
      throw InputError(file: path, field: option, "the folder \(dir) does not exist")
    }
    guard access(dir, W_OK) == 0 else {
      throw InputError(file: path, field: option, "cannot write in \(dir) (permission denied)")
    }
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
      throw InputError(file: path, field: option, "is a folder, not a file")
    }
  }
}
