/// Berth's one pseudo-random generator: SplitMix64.
///
/// Every run is seeded; components get their own stream with `split(label:)`, so adding a
/// consumer of randomness never shifts another component's draws.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  @usableFromInline var state: UInt64

  public init(seed: UInt64) { self.state = seed }

  @inlinable
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// An independent stream for the component called `label`, derived from this generator's
  /// seed and the label alone (not from how many values were drawn).
  public func split(label: String) -> SplitMix64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
    for byte in label.utf8 {
      hash ^= UInt64(byte)
      hash &*= 0x0000_0100_0000_01B3
    }
    var mixer = SplitMix64(seed: state ^ hash)
    return SplitMix64(seed: mixer.next())
  }

  /// A uniform integer in `0..<bound` without modulo bias (Lemire's method).
  @inlinable
  public mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0)
    let b = UInt64(bound)
    var m = next().multipliedFullWidth(by: b)
    if m.low < b {
      let threshold = (0 &- b) % b
      while m.low < threshold { m = next().multipliedFullWidth(by: b) }
    }
    return Int(m.high)
  }
}
