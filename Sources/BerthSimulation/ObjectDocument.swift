import BerthCore
import BerthTraces

/// An API object as a plain tree: what actions patch (`scale`, `setImage`, `patch` are all
/// patches) before the object is read again into its typed form, as the API server stores the
/// object and controllers read it back.
///
/// Scalars keep their text (the readers interpret it); maps keep their keys in the order
/// written.
public indirect enum ObjectDocument: Sendable, Equatable {
  case null
  case scalar(String)
  case map([(key: String, value: ObjectDocument)])
  case list([ObjectDocument])

  public static func == (a: Self, b: Self) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.scalar(let x), .scalar(let y)): return x == y
    case (.list(let x), .list(let y)): return x == y
    case (.map(let x), .map(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  package init(_ v: YAMLValue) {
    if v.isNull {
      self = .null
      return
    }
    switch v.kind {
    case .scalar: self = .scalar((try? v.string()) ?? "")
    case .sequence: self = .list(((try? v.sequence()) ?? []).map(ObjectDocument.init))
    case .mapping:
      self = .map(((try? v.mapping()) ?? []).map { ($0.key, ObjectDocument($0.value)) })
    }
  }

  /// The value at `key` of a map.
  public subscript(key: String) -> ObjectDocument? {
    guard case .map(let entries) = self else { return nil }
    return entries.first(where: { $0.key == key })?.value
  }

  /// Sets `key` of a map (appended when new); a non-map becomes a map.
  public mutating func set(_ key: String, _ value: ObjectDocument) {
    var entries: [(key: String, value: ObjectDocument)] = []
    if case .map(let e) = self { entries = e }
    if let i = entries.firstIndex(where: { $0.key == key }) {
      entries[i].value = value
    } else {
      entries.append((key, value))
    }
    self = .map(entries)
  }

  /// The value at a dotted path (`spec.template.spec`).
  public func at(_ path: [String]) -> ObjectDocument? {
    var d = self
    for k in path {
      guard let next = d[k] else { return nil }
      d = next
    }
    return d
  }

  /// Sets the value at a path, making maps on the way.
  public mutating func set(_ path: ArraySlice<String>, _ value: ObjectDocument) {
    guard let first = path.first else {
      self = value
      return
    }
    var child = self[first] ?? .map([])
    child.set(path.dropFirst(), value)
    set(first, child)
  }

  public var string: String? {
    if case .scalar(let s) = self { return s }
    return nil
  }

  /// JSON text (which YAML reads as well): scalars become JSON strings, the readers convert them.
  public var json: String {
    var out = ""
    write(to: &out, sortedKeys: false)
    return out
  }

  /// JSON with map keys sorted: the same object gives the same text whatever order it was
  /// written in (for template hashes and comparisons).
  public var canonicalJSON: String {
    var out = ""
    write(to: &out, sortedKeys: true)
    return out
  }

  private func write(to out: inout String, sortedKeys: Bool) {
    switch self {
    case .null: out += "null"
    case .scalar(let s): Self.quote(s, into: &out)
    case .list(let items):
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += "," }
        item.write(to: &out, sortedKeys: sortedKeys)
      }
      out += "]"
    case .map(let entries):
      out += "{"
      let ordered = sortedKeys ? entries.sorted { $0.key < $1.key } : entries
      for (i, e) in ordered.enumerated() {
        if i > 0 { out += "," }
        Self.quote(e.key, into: &out)
        out += ":"
        e.value.write(to: &out, sortedKeys: sortedKeys)
      }
      out += "}"
    }
  }

  static func quote(_ s: String, into out: inout String) {
    out += "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 || u.value == 0x7f || (0x80...0x9f).contains(u.value) {
          let hex = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    out += "\""
  }

  /// A strategic merge patch (`kubectl patch`'s default for built-in kinds): maps merge key by
  /// key, `null` deletes a key, lists of objects with a merge key (`name` for containers,
  /// volumes and environment variables, `containerPort` for ports) merge item by item, and
  /// other lists are replaced. The `$patch: replace` and `$patch: delete` directives are
  /// honoured on maps.
  public func merging(_ patch: ObjectDocument) -> ObjectDocument {
    guard case .map(let patchEntries) = patch else { return patch }
    if patch["$patch"]?.string == "replace" {
      return .map(patchEntries.filter { $0.key != "$patch" })
    }
    var result = self
    if case .map = result {} else { result = .map([]) }
    for (key, value) in patchEntries where key != "$patch" {
      if value == .null {
        if case .map(var entries) = result {
          entries.removeAll { $0.key == key }
          result = .map(entries)
        }
        continue
      }
      let current = result[key]
      switch (current, value) {
      case (.some(.map), .map):
        result.set(key, current!.merging(value))
      case (.some(.list(let old)), .list(let new)):
        result.set(key, Self.mergeLists(old, new))
      default:
        if case .map = value {
          result.set(key, ObjectDocument.map([]).merging(value))
        } else {
          result.set(key, value)
        }
      }
    }
    return result
  }

  static let mergeKeys = ["name", "containerPort", "mountPath", "devicePath", "ip", "topologyKey"]

  private static func mergeLists(_ old: [ObjectDocument], _ new: [ObjectDocument])
    -> ObjectDocument
  {
    guard let first = new.first, case .map = first,
      let key = mergeKeys.first(where: { first[$0] != nil }),
      new.allSatisfy({ $0[key] != nil }), old.allSatisfy({ $0[key] != nil })
    else { return .list(new) }
    var out = old
    for item in new {
      let id = item[key]
      if let i = out.firstIndex(where: { $0[key] == id }) {
        if item["$patch"]?.string == "delete" {
          out.remove(at: i)
        } else {
          out[i] = out[i].merging(item)
        }
      } else if item["$patch"]?.string != "delete" {
        out.append(ObjectDocument.map([]).merging(item))
      }
    }
    return .list(out)
  }
}
