import Foundation

/// Reads input files with one-line errors that say what is wrong: a missing file, a directory,
/// no permission, a file too large to be an input, bytes that are not UTF-8 (with their offset).
public enum InputFile {
  /// The largest input file read: 2 GiB. A larger one is refused before any byte is read.
  public static let maxBytes = 2 << 30

  /// The file's bytes.
  public static func data(_ path: String) throws(InputError) -> Data {
    var st = stat()
    guard stat(path, &st) == 0 else {
      switch errno {
      case ENOENT, ENOTDIR: throw InputError(file: path, "no such file")
      case EACCES: throw InputError(file: path, "permission denied")
      default: throw InputError(file: path, "cannot read file (\(String(cString: strerror(errno))))")
      }
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw InputError(file: path, "is a directory (expected a file)") }
    guard Int(st.st_size) <= maxBytes else {
      throw InputError(file: path, "file is \(st.st_size) bytes, more than an input may be (\(maxBytes))")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InputError(file: path, access(path, R_OK) != 0 ? "permission denied" : "cannot read file")
    }
    return data
  }

  /// The file as UTF-8 text.
  public static func text(_ path: String) throws(InputError) -> String {
    try text(data(path), file: path)
  }

  /// `data` as UTF-8 text, or an error naming the first invalid byte's offset and line.
  public static func text(_ data: Data, file: String) throws(InputError) -> String {
    if let s = String(validating: data, as: UTF8.self) { return s }
    let offset = firstInvalidUTF8Offset(data) ?? 0
    let line = 1 + data.prefix(offset).reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    let byte = offset < data.count ? String(format: "0x%02X", data[data.startIndex + offset]) : "end of file"
    throw InputError(file: file, line: line, "not UTF-8 text: invalid byte \(byte) at byte offset \(offset)")
  }

  /// Offset of the first byte that starts no valid UTF-8 sequence (or ends one early).
  static func firstInvalidUTF8Offset(_ data: Data) -> Int? {
    let bytes = [UInt8](data)
    var i = 0
    while i < bytes.count {
      let b = bytes[i]
      let length: Int
      switch b {
      case 0x00...0x7F: length = 1
      case 0xC2...0xDF: length = 2
      case 0xE0...0xEF: length = 3
      case 0xF0...0xF4: length = 4
      default: return i
      }
      guard i + length <= bytes.count else { return i }
      var scalar = UInt32(b) & (length == 1 ? 0x7F : length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
      for k in 1..<max(length, 1) where length > 1 {
        let c = bytes[i + k]
        guard c & 0xC0 == 0x80 else { return i }
        scalar = scalar << 6 | UInt32(c & 0x3F)
      }
      // Overlong forms, surrogates and values past U+10FFFF are invalid too.
      let minimum: UInt32 = length == 3 ? 0x800 : length == 4 ? 0x10000 : 0
      if scalar < minimum || (0xD800...0xDFFF).contains(scalar) || scalar > 0x10FFFF { return i }
      i += length
    }
    return nil
  }
}
