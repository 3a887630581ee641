import BerthCore
import Testing

/// The agenda against a plain reference: a list scanned for the earliest (time, sequence).
struct AgendaTests {
  @Test("equal times come out in the order scheduled; cancelled events never come out")
  func orderAndCancel() {
    var a = Agenda<String>()
    let x = a.schedule("x", at: .seconds(Int64(5)))
    a.schedule("y", at: .seconds(Int64(5)))
    a.schedule("w", at: .seconds(Int64(1)))
    let z = a.schedule("z", at: .seconds(Int64(5)))
    #expect(a.count == 4)
    let cancelled = a.cancel(x)
    let again = a.cancel(x)
    #expect(cancelled)
    #expect(!again, "a second cancel finds nothing")
    #expect(a.count == 3)
    var out: [String] = []
    while let (_, e) = a.next() { out.append(e) }
    #expect(out == ["w", "y", "z"])
    #expect(a.now == .seconds(Int64(5)) && a.isEmpty && a.nextTime == nil)
    let late = a.cancel(z)
    #expect(!late, "a taken event cannot be cancelled")
  }

  @Test("a handle to a taken event does not cancel the newer event reusing its slot")
  func staleHandle() {
    var a = Agenda<Int>()
    let h = a.schedule(1, at: .zero)
    _ = a.next()
    let h2 = a.schedule(2, at: .seconds(Int64(1)))
    #expect(h2.slot == h.slot && h2.generation != h.generation)
    let stale = a.cancel(h)
    #expect(!stale)
    #expect(a.event(h2) == 2)
    let taken = a.next()?.event
    #expect(taken == 2)
  }

  @Test("cancelling the earliest event moves nextTime to the next live one")
  func nextTimeSkipsCancelled() {
    var a = Agenda<Int>()
    let first = a.schedule(1, at: .seconds(Int64(1)))
    let second = a.schedule(2, at: .seconds(Int64(2)))
    a.schedule(3, at: .seconds(Int64(3)))
    a.cancel(second)
    a.cancel(first)
    #expect(a.nextTime == .seconds(Int64(3)))
    #expect(a.count == 1)
  }

  @Test("random schedules, cancels and takes equal the reference over 300 seeds")
  func randomAgainstReference() {
    for seed in UInt64(1)...300 {
      var rng = SplitMix64(seed: seed)
      var a = Agenda<Int>()
      var reference: [(time: Int64, sequence: Int, value: Int)] = []
      var handles: [(AgendaHandle, Int)] = []
      var sequence = 0
      var now: Int64 = 0
      for step in 0..<400 {
        switch rng.nextInt(below: 10) {
        case 0..<5:
          let t = now + Int64(rng.nextInt(below: 20))
          handles.append((a.schedule(step, at: VirtualTime(nanoseconds: t)), step))
          reference.append((t, sequence, step))
          sequence += 1
        case 5..<7 where !handles.isEmpty:
          let (h, value) = handles.remove(at: rng.nextInt(below: handles.count))
          let pending = reference.contains { $0.value == value }
          let cancelled = a.cancel(h)
          #expect(cancelled == pending, "seed \(seed)")
          reference.removeAll { $0.value == value }
        default:
          let expected = reference.min { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
          let got = a.next()
          #expect(got?.event == expected?.value, "seed \(seed) step \(step)")
          if let e = expected {
            reference.removeAll { $0.value == e.value }
            now = e.time
          }
        }
        #expect(a.count == reference.count, "seed \(seed)")
        #expect(
          a.nextTime?.nanoseconds
            == reference.min { ($0.time, $0.sequence) < ($1.time, $1.sequence) }?.time,
          "seed \(seed)")
      }
    }
  }
}
