import Foundation

/// Reads input files with one-line errors that say what is wrong: a missing file, a directory,
/// no permission, a file too large to be an input, bytes that are not UTF-8 (with their offset).
public enum InputFile {
  /// The largest input file read: 2 GiB. A larger one is refused before any byte is read.
  public static let maxBytes = 2 << 30

  /// The YAML files behind a path: the file itself, or a directory's `.yaml`/`.yml` files in
  /// name order.
  public static func yamlFiles(at path: String) throws(InputError) -> [String] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
      throw InputError(file: path, "no such file or directory")
    }
    guard isDir.boolValue else { return [path] }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    let files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map {
      path + "/" + $0
    }
    if files.isEmpty { throw InputError(file: path, "directory holds no .yaml or .yml files") }
    return files
  }

  /// The file's bytes.
  public static func data(_ path: String) throws(InputError) -> Data {
    var st = stat()
    guard stat(path, &st) == 0 else {
      switch errno {
      case ENOENT, ENOTDIR: throw InputError(file: path, "no such file")
      case EACCES: throw InputError(file: path, "permission denied")
      default:
        throw InputError(file: path, "cannot read file (\(String(cString: strerror(errno))))")
      }
    }
    if (st.st_mode & S_IFMT) == S_IFDIR {
      throw InputError(file: path, "is a directory (expected a file)")
    }
    // Devices, pipes and sockets have no size to check and may never end (/dev/zero).
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      throw InputError(file: path, "is not a regular file")
    }
    guard Int(st.st_size) <= maxBytes else {
      throw InputError(
        file: path, "file is \(st.st_size) bytes, more than an input may be (\(maxBytes))")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InputError(
        file: path, access(path, R_OK) != 0 ? "permission denied" : "cannot read file")
    }
    return data
  }

  /// The file as UTF-8 text.
  public static func text(_ path: String) throws(InputError) -> String {
    try text(data(path), file: path)
  }

  /// `data` as UTF-8 text, or an error naming the first invalid byte's offset and line.
  public static func text(_ data: Data, file: String) throws(InputError) -> String {
    try validateUTF8(data, file: file)
    return String(decoding: data, as: UTF8.self)
  }

  /// Checks that `data` is UTF-8; the error names the first invalid byte, its offset and line.
  public static func validateUTF8(_ data: Data, file: String) throws(InputError) {
    // SAFETY: the bytes are read only inside the closure, within their count.
    let invalid = data.withUnsafeBytes { firstInvalidUTF8Offset($0) }
    guard let offset = invalid else { return }
    let line = 1 + data.prefix(offset).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    let byte = String(format: "0x%02X", data[data.startIndex + offset])
    throw InputError(
      file: file, line: line, "not UTF-8 text: invalid byte \(byte) at byte offset \(offset)")
  }

  /// Offset of the first byte that starts no valid UTF-8 sequence (or ends one early).
  ///
  /// ASCII runs are skipped eight bytes at a time, so validating a 40 MB manifest costs
  /// milliseconds.
  static func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int? {
    let n = bytes.count
    var i = 0
    while i < n {
      if i + 8 <= n
        && bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
      {
        i += 8
        continue
      }
      let b = bytes[i]
      let length: Int
      switch b {
      case 0x00...0x7F: length = 1
      case 0xC2...0xDF: length = 2
      case 0xE0...0xEF: length = 3
      case 0xF0...0xF4: length = 4
      default: return i
      }
      guard i + length <= n else { return i }
      if length > 1 {
        var scalar = UInt32(b) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for k in 1..<length {
          let c = bytes[i + k]
          guard c & 0xC0 == 0x80 else { return i }
          scalar = scalar << 6 | UInt32(c & 0x3F)
        }
        // Overlong forms, surrogates and values past U+10FFFF are invalid too.
        let minimum: UInt32 = length == 3 ? 0x800 : length == 4 ? 0x10000 : 0
        if scalar < minimum || (0xD800...0xDFFF).contains(scalar) || scalar > 0x10FFFF { return i }
      }
      i += length
    }
    return nil
  }
}

extension InputFile {
  /// Runs `body` over the bytes of `data`, keeping its typed error (`withUnsafeBytes` would
  /// widen it to `any Error`).
  package static func withBytes<R>(
    _ data: Data, _ body: (UnsafeRawBufferPointer) throws(InputError) -> R
  )
    throws(InputError) -> R
  {
    // SAFETY: `body` gets the bytes only for the closure's duration and must not keep them.
    let result: Result<R, InputError> = data.withUnsafeBytes { bytes in
      Result { () throws(InputError) in try body(bytes) }
    }
    return try result.get()
  }

  /// Runs `body` over the UTF-8 bytes of `text`.
  package static func withBytes<R>(
    _ text: String, _ body: (UnsafeRawBufferPointer) throws(InputError) -> R
  )
    throws(InputError) -> R
  {
    // SAFETY: `body` gets the bytes only for the closure's duration and must not keep them.
    var copy = text
    let result: Result<R, InputError> = copy.withUTF8 { bytes in
      Result { () throws(InputError) in try body(UnsafeRawBufferPointer(bytes)) }
    }
    return try result.get()
  }
}

extension InputFile {
  /// Runs `body` over the bytes of `array`.
  package static func withBytes<R>(
    _ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(InputError) -> R
  ) throws(InputError) -> R {
    // SAFETY: `body` gets the bytes only for the closure's duration and must not keep them.
    let result: Result<R, InputError> = array.withUnsafeBytes { bytes in
      Result { () throws(InputError) in try body(bytes) }
    }
    return try result.get()
  }
}

/// The checksum reports record for their inputs.
public enum InputChecksum {
  /// FNV-1a, 64 bits, over every byte.
  public static func fnv1a64(_ data: Data) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in data {
      h ^= UInt64(b)
      h &*= 0x0000_0100_0000_01B3
    }
    return h
  }
}
