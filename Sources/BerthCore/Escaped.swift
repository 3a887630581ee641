/// Text for a one-line message: control characters — the line breaks that would split it
/// first — written as escapes (`\\n`, `\\t`, `\\r`, `\\u{1b}`).
package enum ControlEscapes {
  package static func escaping(_ s: String) -> String {
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
    return ControlEscapes.escaping(cut)
  }
}
