import BerthCore

/// Bad input: which file, where in it, which field, and what was expected. One line.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
  public var file: String
  /// 1-based line, when known.
  public var line: Int?
  public var field: String?
  public var message: String

  public init(file: String, line: Int? = nil, field: String? = nil, _ message: String) {
    self.file = file
    self.line = line
    self.field = field
    self.message = message
  }

  /// `file:line: field: message` on one line, control characters escaped.
  public var description: String {
    var s = file
    if let line { s += ":\(line)" }
    if let field, !field.isEmpty { s += ": \(field)" }
    return Self.escapingControls(s + ": " + message)
  }
}

extension InputError {
  /// Control characters (and the line breaks that would split a one-line error) as escapes.
  static func escapingControls(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
      return s
    }
    var out = ""
    for u in s.unicodeScalars {
      switch u {
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      default:
        if u.properties.generalCategory == .control {
          out += "\\u{" + String(u.value, radix: 16) + "}"
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out
  }
}

/// A value from the input as an error message shows it: control characters escaped, and cut
/// to `limit` characters with an ellipsis, so one bad cell cannot flood the terminal.
package struct Escaped: CustomStringConvertible {
  package let text: String
  package let limit: Int
  package init(_ text: some StringProtocol, limit: Int = 64) {
    self.text = String(text)
    self.limit = limit
  }
  package var description: String {
    let cut = text.count > limit ? String(text.prefix(limit)) + "…" : text
    return InputError.escapingControls(cut)
  }
}
