import BerthCore
import Testing

/// Resource names are qualified names (apimachinery's `IsQualifiedName`); the cases are
/// transcribed from upstream's validation tests.
struct ResourceNameTests {
  static let valid = [
    "simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple",
    "now-with-dashes/simple",
    "now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple",
    "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123",
    "example.com/Uppercase_Is_OK_123", "requests.storage-foo", String(repeating: "a", count: 63),
    String(repeating: "a", count: 253) + "/" + String(repeating: "b", count: 63),
    "nvidia.com/gpu", "hugepages-2Mi", "cpu",
  ]
  static let invalid = [
    "nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash",
    "Example.com/abc", "example_com/abc", "example.com/", "/simple",
    String(repeating: "a", count: 64),
    String(repeating: "a", count: 254) + "/abc", "", "////", "é", "a\u{301}", "gpu/é",
  ]

  @Test("qualified names as upstream's IsQualifiedName accepts them", arguments: valid)
  func accepted(name: String) { #expect(ResourceName.isValid(name)) }

  @Test("names upstream rejects", arguments: invalid)
  func rejected(name: String) { #expect(!ResourceName.isValid(name)) }

  /// The rule written on Characters, as it read before it moved to bytes.
  static func reference(_ name: String) -> Bool {
    let parts = name.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count <= 2, let local = parts.last else { return false }
    func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
    guard (1...63).contains(local.count), alnum(local.first!), alnum(local.last!),
      local.allSatisfy({ alnum($0) || $0 == "-" || $0 == "_" || $0 == "." })
    else { return false }
    guard parts.count == 2 else { return true }
    let prefix = parts[0]
    return (1...253).contains(prefix.count) && alnum(prefix.first!) && alnum(prefix.last!)
      && prefix.allSatisfy {
        ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "."
      }
  }

  @Test("the byte-level check agrees with the Character-level rule on 20,000 random names")
  func agreesWithReference() {
    var rng = SplitMix64(seed: 11)
    let alphabet = Array("aZ09-_./%é\u{301}A.z")
    for _ in 0..<20_000 {
      let length = rng.nextInt(below: 12)
      let name = String((0..<length).map { _ in alphabet[rng.nextInt(below: alphabet.count)] })
      #expect(ResourceName.isValid(name) == Self.reference(name), "\(name)")
    }
  }
}
