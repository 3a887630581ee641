import BerthCore
import Testing

struct QuantityTests {
  @Test(
    "valid quantities convert as Kubernetes' Value and MilliValue do",
    arguments: [
      ("100m", 1, 100), ("0.5", 1, 500), ("2", 2, 2000), ("1e3", 1000, 1_000_000),
      ("1E3", 1000, 1_000_000),
      ("128Mi", 134_217_728, 134_217_728_000), ("1Gi", 1_073_741_824, 1_073_741_824_000),
      ("1G", 1_000_000_000, 1_000_000_000_000),
      ("500k", 500_000, 500_000_000), ("1.5Gi", 1_610_612_736, 1_610_612_736_000), ("0.1m", 1, 1),
      ("1.5", 2, 1500),
      ("0", 0, 0), ("000", 0, 0), ("+3", 3, 3000), ("1Ki", 1024, 1_024_000),
      ("1E", 1_000_000_000_000_000_000, -1),
      ("1n", 1, 1), ("1u", 1, 1), ("250m", 1, 250), ("1.", 1, 1000), (".5", 1, 500),
      ("12e-1", 2, 1200), ("0.3Ki", 308, 307_200),
      ("8Ei", -1, -1), ("7Ei", 8_070_450_532_247_928_832, -1),
    ] as [(String, Int64, Int64)])
  func valid(text: String, value: Int64, milli: Int64) throws {
    let q = try Quantity(parsing: text)
    if value >= 0 {
      #expect(try q.value() == value)
    } else {
      #expect(throws: QuantityError.self) { try q.value() }
    }
    if milli >= 0 {
      #expect(try q.milliValue() == milli)
    } else {
      #expect(throws: QuantityError.self) { try q.milliValue() }
    }
  }

  @Test("negative quantities keep their sign and round toward +∞")
  func negative() throws {
    #expect(try Quantity(parsing: "-1.5").value() == -1)
    #expect(try Quantity(parsing: "-100m").milliValue() == -100)
    #expect(try Quantity(parsing: "-1").isNegative)
  }

  @Test(
    "malformed quantities are errors naming the input",
    arguments: [
      ("", QuantityError.empty), ("abc", .malformed("abc")),
      ("1K", .unknownSuffix("1K", suffix: "K")),
      ("1.2.3", .unknownSuffix("1.2.3", suffix: ".3")),
      ("1 Gi", .unknownSuffix("1 Gi", suffix: " Gi")),
      ("-", .malformed("-")), ("Gi", .malformed("Gi")), ("1e", .unknownSuffix("1e", suffix: "e")),
      ("1ee3", .unknownSuffix("1ee3", suffix: "ee3")),
      ("1e3.5", .unknownSuffix("1e3.5", suffix: "e3.5")),
      (
        "123456789012345678901234567890123456789",
        .tooPrecise("123456789012345678901234567890123456789")
      ),
    ] as [(String, QuantityError)])
  func malformed(text: String, error: QuantityError) {
    #expect(throws: error) { try Quantity(parsing: text) }
  }

  @Test("overflowing quantities are range errors")
  func overflow() throws {
    #expect(throws: QuantityError.outOfRange("1e100")) { try Quantity(parsing: "1e100").value() }
    #expect(throws: QuantityError.outOfRange("1e1000")) { try Quantity(parsing: "1e1000") }
    #expect(throws: QuantityError.self) { try Quantity(parsing: "10E").milliValue() }
  }

  @Test("sums are exact before rounding: 0.1m + 0.1m + 0.8m is 1 millicore, not 3")
  func exactSums() throws {
    let a = try Quantity(parsing: "0.1m")
    let b = try Quantity(parsing: "0.8m")
    #expect(try a.adding(a).adding(b).milliValue() == 1)
    #expect(
      try Quantity(parsing: "1Gi").adding(Quantity(parsing: "512Mi")).value() == 1_610_612_736)
  }

  @Test("a sum past 128 bits is a range error, not a trap (two 38-digit requests)")
  func sumOverflow() throws {
    let huge = try Quantity(parsing: "99999999999999999999999999999999999999")
    #expect(throws: QuantityError.self) { try huge.adding(huge) }
    // Magnitudes 10^38 apart cannot be held exactly in one coefficient either.
    #expect(throws: QuantityError.self) {
      try Quantity(parsing: "1e100").adding(Quantity(parsing: "1m"))
    }
    #expect(try Quantity(parsing: "1e100").adding(.zero) == Quantity(parsing: "1e100"))
  }

  @Test("a pod's requests summing past 128 bits make addPod throw, not trap")
  func podRequestOverflow() throws {
    let huge = ResourceList([
      ("cpu", try Quantity(parsing: "99999999999999999999999999999999999999"))
    ])
    let pod = PodSpec(
      name: "p",
      containers: [Container(name: "a", requests: huge), Container(name: "b", requests: huge)])
    #expect(throws: QuantityError.self) { try PodRequests.effective(pod) }
    #expect(throws: QuantityError.self) { try Cluster().addPod(pod) }
  }

  @Test(
    "amounts above 2^53 scheduler units are rejected, naming the resource",
    arguments: [
      ("cpu", "9007199254740992m", true), ("cpu", "9007199254740993m", false),
      ("cpu", "9007199254741", false),
      ("memory", "8Pi", true), ("memory", "9007199254740993", false), ("memory", "1e17", false),
      ("nvidia.com/gpu", "9223372036854775807", false),
    ] as [(String, String, Bool)])
  func limit(resource: String, text: String, accepted: Bool) throws {
    let q = try Quantity(parsing: text)
    if accepted {
      #expect(try ResourceList.amount(of: resource, q) <= ResourceAmounts.limit)
    } else {
      #expect(throws: QuantityError.aboveLimit(q.description, resource: resource)) {
        try ResourceList.amount(of: resource, q)
      }
    }
  }

  @Test("comparison is numeric across notations")
  func comparison() throws {
    #expect(try Quantity(parsing: "1k") == Quantity(parsing: "1000"))
    #expect(try Quantity(parsing: "1Ki") > Quantity(parsing: "1k"))
    #expect(try Quantity(parsing: "999m") < Quantity(parsing: "1"))
  }
}
