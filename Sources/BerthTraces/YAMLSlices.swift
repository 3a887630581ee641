import Foundation

/// Cuts a large YAML file into two parts that parse independently, so both cores can read it.
///
/// Two cuts are safe by the YAML grammar alone, without parsing:
/// - **between documents**: a line that is exactly `---` (or starts `--- `) at column 0 always
///   starts a new document, and documents share nothing (anchors are per document);
/// - **between the items of a top-level List** written in block style at column 0, as
///   `kubectl get -o yaml` writes them (`items:` then `- apiVersion: …` lines): inside an item
///   every line is indented (block content and the continuation lines of flow scalars alike), so
///   a line starting `- ` at column 0 starts the next item. The first part is then the file less
///   the second run of items; the second part is that run alone, a block sequence at column 0.
///   Files using anchors (`&`) are not cut this way, since an alias could reach across.
package enum YAMLSlices {
  /// How to read a file in two parts.
  package enum Plan: Equatable {
    /// `bytes[..<offset]` and `bytes[offset...]`, the second starting at 1-based `line`.
    case documents(offset: Int, line: Int)
    /// Items `[start, end)` (byte offsets, `start` at the 1-based `line`, item number `item`)
    /// read on their own; the rest of the file — `bytes[..<start] + bytes[end...]`, whose lines
    /// after `line − 1` come from `endLine` on — read as the List.
    case listItems(start: Int, end: Int, line: Int, item: Int, endLine: Int)
  }

  /// Files smaller than this are read in one part: a thread costs more than it saves.
  package static let minimumBytes = 4 << 20

  package static func plan(_ bytes: UnsafeRawBufferPointer) -> Plan? {
    guard bytes.count >= minimumBytes else { return nil }
    let lines = lineStarts(bytes)
    func startsWith(_ line: Int, _ text: StaticString) -> Bool {
      let at = lines[line]
      let n = text.utf8CodeUnitCount
      guard at + n <= bytes.count else { return false }
      for k in 0..<n where bytes[at + k] != text.utf8Start[k] { return false }
      return true
    }
    func isDocumentMarker(_ line: Int) -> Bool {
      guard startsWith(line, "---") else { return false }
      let after = lines[line] + 3
      return after >= bytes.count || bytes[after] == 0x0A || bytes[after] == 0x20
        || bytes[after] == 0x0D
    }
    // Directives (%YAML, %TAG) apply to the document after them: leave such files whole.
    if lines.indices.contains(where: { startsWith($0, "%") }) { return nil }
    let markers = lines.indices.filter { $0 > 0 && isDocumentMarker($0) }
    if !markers.isEmpty {
      // The marker nearest the middle of the file.
      let middle = bytes.count / 2
      let best = markers.min { abs(lines[$0] - middle) < abs(lines[$1] - middle) }!
      return .documents(offset: lines[best], line: best + 1)
    }
    // One document: is it a List with block items at column 0 and no anchors?
    guard !bytes.contains(UInt8(ascii: "&")) else { return nil }
    guard let itemsLine = lines.indices.first(where: { isKey(bytes, lines[$0], "items") }) else {
      return nil
    }
    var itemStarts: [Int] = []
    var end = lines.count
    for l in (itemsLine + 1)..<lines.count {
      let at = lines[l]
      guard at < bytes.count else { continue }
      let b = bytes[at]
      if b == UInt8(ascii: "-")
        && (at + 1 >= bytes.count || bytes[at + 1] == 0x20 || bytes[at + 1] == 0x0A)
      {
        itemStarts.append(l)
      } else if b == 0x20 || b == 0x0A || b == 0x0D || b == UInt8(ascii: "#") {
        continue  // item content, blank or comment
      } else {
        end = l
        break
      }
    }
    guard itemStarts.count >= 2, itemStarts[0] == itemsLine + 1 else { return nil }
    let middle = itemStarts.count / 2
    let startLine = itemStarts[middle]
    let endOffset = end < lines.count ? lines[end] : bytes.count
    return .listItems(
      start: lines[startLine], end: endOffset, line: startLine + 1, item: middle, endLine: end + 1)
  }

  /// Byte offsets where lines start (the last may equal the byte count).
  static func lineStarts(_ bytes: UnsafeRawBufferPointer) -> [Int] {
    var starts = [0]
    starts.reserveCapacity(bytes.count / 16)
    for i in 0..<bytes.count where bytes[i] == 0x0A { starts.append(i + 1) }
    if starts.last == bytes.count { starts.removeLast() }
    return starts
  }

  /// The line at `at` is `key:` at column 0 with nothing after it but spaces.
  static func isKey(_ bytes: UnsafeRawBufferPointer, _ at: Int, _ key: StaticString) -> Bool {
    let n = key.utf8CodeUnitCount
    guard at + n < bytes.count else { return false }
    for k in 0..<n where bytes[at + k] != key.utf8Start[k] { return false }
    guard bytes[at + n] == UInt8(ascii: ":") else { return false }
    var i = at + n + 1
    while i < bytes.count && bytes[i] == 0x20 { i += 1 }
    return i >= bytes.count || bytes[i] == 0x0A || bytes[i] == 0x0D
  }
}

/// The two parts' outcomes, written by worker threads into distinct slots.
final class PartResults: @unchecked Sendable {
  private var slots: [Result<KubernetesYAML.Objects, InputError>?] = [nil, nil]
  private let lock = NSLock()

  func set(_ part: Int, _ result: Result<KubernetesYAML.Objects, InputError>) {
    lock.lock()
    slots[part] = result
    lock.unlock()
  }

  /// Both parts' objects in order, or the first part's error, else the second's.
  func get() throws(InputError) -> [KubernetesYAML.Objects] {
    var out: [KubernetesYAML.Objects] = []
    for slot in slots {
      guard let slot else { preconditionFailure("a part finished without a result") }
      out.append(try slot.get())
    }
    return out
  }
}

/// A value handed to worker threads that only read it while the caller waits for them.
struct UnsafeSendable<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
