import BerthCore
import Yams

/// A YAML node with the file and field path it came from, for one-line errors.
package struct YAMLValue {
  package init(node: Node, file: String, path: String) {
    self.node = node
    self.file = file
    self.path = path
  }

  package let node: Node
  package let file: String
  package let path: String

  package var line: Int? { node.mark?.line }

  /// The single YAML document in `text`, or a one-line error (`empty` names what was expected).
  package static func document(_ text: String, file: String, empty: String) throws(InputError) -> YAMLValue {
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch let e as YamlError {
      throw InputError(file: file, line: KubernetesYAML.yamlErrorLine(e), "invalid YAML: \(KubernetesYAML.yamlErrorSummary(e))")
    } catch {
      throw InputError(file: file, "invalid YAML: \(error)")
    }
    guard let root else { throw InputError(file: file, "empty \(empty)") }
    return YAMLValue(node: root, file: file, path: "")
  }

  package func error(_ message: String) -> InputError { InputError(file: file, line: line, field: path, message) }

  package var isNull: Bool {
    if case .scalar(let s) = node { return s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string) }
    return false
  }

  package func child(_ key: String) -> YAMLValue? {
    guard case .mapping(let m) = node, let v = m[key] else { return nil }
    let value = YAMLValue(node: v, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    return value.isNull ? nil : value
  }

  package func mapping() throws(InputError) -> [(key: String, value: YAMLValue)] {
    guard case .mapping(let m) = node else { throw error("expected a mapping") }
    var out: [(String, YAMLValue)] = []
    for (k, v) in m {
      guard case .scalar(let ks) = k else { throw error("expected string keys") }
      out.append((ks.string, YAMLValue(node: v, file: file, path: path.isEmpty ? ks.string : "\(path).\(ks.string)")))
    }
    return out
  }

  /// Rejects keys outside `allowed` (strict decoding, as kube-scheduler decodes its config).
  package func requireKeys(in allowed: Set<String>) throws(InputError) {
    for (k, v) in try mapping() where !allowed.contains(k) {
      throw InputError(file: file, line: v.line, field: v.path, "unknown field (expected one of \(allowed.sorted().joined(separator: ", ")))")
    }
  }

  package func sequence() throws(InputError) -> [YAMLValue] {
    guard case .sequence(let s) = node else { throw error("expected a list") }
    return s.enumerated().map { YAMLValue(node: $0.element, file: file, path: "\(path)[\($0.offset)]") }
  }

  package func string() throws(InputError) -> String {
    guard case .scalar(let s) = node else { throw error("expected a string") }
    return s.string
  }

  package func int64() throws(InputError) -> Int64 {
    guard case .scalar(let s) = node, let v = Int64(s.string) else { throw error("expected an integer") }
    return v
  }

  package func int32() throws(InputError) -> Int32 {
    let v = try int64()
    guard let w = Int32(exactly: v) else { throw error("\(v) does not fit a 32-bit integer") }
    return w
  }

  package func bool() throws(InputError) -> Bool {
    guard case .scalar(let s) = node else { throw error("expected true or false") }
    switch s.string {
    case "true", "True", "TRUE": return true
    case "false", "False", "FALSE": return false
    default: throw error("expected true or false, found \"\(s.string)\"")
    }
  }

  package func stringMap() throws(InputError) -> [String: String] {
    var out: [String: String] = [:]
    for (k, v) in try mapping() { out[k] = try v.string() }
    return out
  }

  package func stringList() throws(InputError) -> [String] { try sequence().map { v throws(InputError) in try v.string() } }

  package func quantity(nonNegative: Bool = true) throws(InputError) -> Quantity {
    let text: String
    guard case .scalar(let s) = node else { throw error("expected a quantity") }
    text = s.string
    do throws(QuantityError) {
      let q = try Quantity(parsing: text)
      if nonNegative && q.isNegative { throw QuantityError.negative(text) }
      return q
    } catch {
      throw self.error(error.description)
    }
  }

  /// A resource list whose every amount converts to scheduler units within
  /// `ResourceAmounts.limit`; an error names the entry and echoes what the file says.
  package func resourceList() throws(InputError) -> ResourceList {
    var list = ResourceList()
    for (k, v) in try mapping() {
      let q = try v.quantity()
      do throws(QuantityError) {
        _ = try ResourceList.amount(of: k, q)
      } catch {
        let text = (try? v.string()) ?? q.description
        switch error {
        case .aboveLimit(_, let resource): throw v.error(QuantityError.aboveLimit(text, resource: resource).description)
        default: throw v.error(QuantityError.outOfRange(text).description)
        }
      }
      list[k] = q
    }
    return list
  }
}
