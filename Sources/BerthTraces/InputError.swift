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
  static func escapingControls(_ s: String) -> String { ControlEscapes.escaping(s) }
}
