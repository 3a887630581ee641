import Foundation

/// A validator for the subset of JSON Schema Berth's documented schemas use: `type` (one or a
/// list), `required`, `properties`, `additionalProperties` (false or a schema), `items`, `enum`,
/// `pattern`, `minimum` and local `$ref`s into `$defs`.
public struct JSONSchema {
  let root: [String: Any]

  public init(path: String) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw NSError(
        domain: "JSONSchema", code: 1,
        userInfo: [NSLocalizedDescriptionKey: "schema is not an object"])
    }
    root = object
  }

  /// Every violation, as `path: problem`; empty when the document conforms.
  public func violations(of json: Data) throws -> [String] {
    let value = try JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed])
    var out: [String] = []
    check(value, against: root, at: "$", into: &out)
    return out
  }

  func resolve(_ schema: [String: Any]) -> [String: Any] {
    guard let ref = schema["$ref"] as? String, ref.hasPrefix("#/$defs/"),
      let defs = root["$defs"] as? [String: Any],
      let target = defs[String(ref.dropFirst(8))] as? [String: Any]
    else { return schema }
    return target
  }

  static func typeName(_ v: Any) -> String {
    switch v {
    case is NSNull: return "null"
    case let n as NSNumber:
      if String(describing: type(of: n)).contains("Boolean") { return "boolean" }
      return n.doubleValue == n.doubleValue.rounded() && !"\(n)".contains(".")
        ? "integer" : "number"
    case is String: return "string"
    case is [Any]: return "array"
    case is [String: Any]: return "object"
    default: return "unknown"
    }
  }

  func check(_ value: Any, against raw: [String: Any], at path: String, into out: inout [String]) {
    let schema = resolve(raw)
    if let t = schema["type"] {
      let allowed = (t as? [String]) ?? [(t as? String) ?? ""]
      let actual = Self.typeName(value)
      let ok = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
      if !ok {
        out.append("\(path): expected \(allowed.joined(separator: " or ")), found \(actual)")
        return
      }
    }
    if let e = schema["enum"] as? [Any], !e.contains(where: { "\($0)" == "\(value)" }) {
      out.append("\(path): \(value) is not one of \(e)")
    }
    if let minimum = schema["minimum"] as? Double, let n = value as? NSNumber,
      n.doubleValue < minimum
    {
      out.append("\(path): \(n) is below \(minimum)")
    }
    if let pattern = schema["pattern"] as? String, let s = value as? String,
      s.range(of: pattern, options: .regularExpression) == nil
    {
      out.append("\(path): \"\(s)\" does not match \(pattern)")
    }
    if let object = value as? [String: Any] {
      for key in (schema["required"] as? [String]) ?? [] where object[key] == nil {
        out.append("\(path): missing \(key)")
      }
      let properties = (schema["properties"] as? [String: Any]) ?? [:]
      for (key, v) in object.sorted(by: { $0.key < $1.key }) {
        if let p = properties[key] as? [String: Any] {
          check(v, against: p, at: "\(path).\(key)", into: &out)
        } else if let extra = schema["additionalProperties"] {
          if let b = extra as? Bool, !b { out.append("\(path): unexpected property \(key)") }
          if let s = extra as? [String: Any] {
            check(v, against: s, at: "\(path).\(key)", into: &out)
          }
        }
      }
    }
    if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
      for (i, v) in array.enumerated() { check(v, against: items, at: "\(path)[\(i)]", into: &out) }
    }
  }
}
