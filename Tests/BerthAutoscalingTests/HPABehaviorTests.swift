import Testing

@testable import BerthAutoscaling

let t0 = UnixMillis(1_767_225_600_000)
func secondsAgo(_ s: Int64) -> UnixMillis { t0.adding(milliseconds: -s * 1000) }

/// upstream's `generateScalingRules(pods, podsPeriod, percent, percentPeriod, window)`.
func rules(
  _ pods: Int32, _ podsPeriod: Int32, _ percent: Int32, _ percentPeriod: Int32,
  _ window: Int32
) -> HPAScalingRules {
  var r = HPAScalingRules(stabilizationWindowSeconds: window, selectPolicy: .max, policies: [])
  if pods != 0 { r.policies!.append(.init(.pods, pods, periodSeconds: podsPeriod)) }
  if percent != 0 { r.policies!.append(.init(.percent, percent, periodSeconds: percentPeriod)) }
  return r
}

/// upstream's `generateEventsUniformDistribution`: events spread over the last `period`
/// seconds, each in the middle of its segment (whole seconds, as Go's Duration conversion
/// truncates).
func uniform(_ changes: [Int32], _ period: Int64) -> [HPAHistory.ScaleEvent] {
  let seg = Double(period) / Double(changes.count)
  return changes.enumerated().map { i, c in
    let boundary = Int64(Double(period) - seg * Double(i + 1) + seg / 2)
    return HPAHistory.ScaleEvent(c, secondsAgo(boundary))
  }
}

struct RateCase: Sendable, CustomTestStringConvertible {
  var name: String
  var up: [HPAHistory.ScaleEvent] = []
  var down: [HPAHistory.ScaleEvent] = []
  var min: Int32
  var max: Int32
  var scaleUp: HPAScalingRules? = nil
  var scaleDown: HPAScalingRules? = nil
  var current: Int32
  var desired: Int32
  var expected: Int32
  var condition: String
  var testDescription: String { name }
}

/// `TestScalingWithRules` (the rows upstream runs; its one row marked `testThis` is skipped
/// there and here).
let rateCases: [RateCase] = [
  .init(
    name: "prenormalized desired replicas within range", min: 3, max: 8, current: 5, desired: 7,
    expected: 7, condition: "DesiredWithinRange"),
  .init(
    name: "prenormalized desired replicas < minReplicas", min: 2, max: 8, current: 3, desired: 1,
    expected: 2, condition: "TooFewReplicas"),
  .init(
    name: "prenormalized desired replicas within range when minReplicas is 0", min: 0, max: 10,
    current: 1, desired: 0, expected: 0, condition: "DesiredWithinRange"),
  .init(
    name: "maxReplicas is the limit because maxReplicas < scaleUpLimit", min: 1, max: 10,
    current: 20, desired: 1000, expected: 10, condition: "TooManyReplicas"),
  .init(
    name: "desired replica count is more than the maximum replica count", min: 100, max: 150,
    current: 100, desired: 1000, expected: 150, condition: "TooManyReplicas"),
  .init(
    name: "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", min: 1,
    max: 2000, scaleUp: rules(0, 0, 1, 60, 0), current: 3, desired: 1000, expected: 4,
    condition: "ScaleUpLimit"),
  .init(
    name: "scaleUp with default behavior", min: 1, max: 1000, current: 10, desired: 50,
    expected: 20, condition: "ScaleUpLimit"),
  .init(
    name: "scaleUp with pods policy larger than percent policy", min: 1, max: 1000,
    scaleUp: rules(100, 60, 100, 60, 0), current: 10, desired: 500, expected: 110,
    condition: "ScaleUpLimit"),
  .init(
    name: "scaleUp with percent policy larger than pods policy", min: 1, max: 1000,
    scaleUp: rules(2, 60, 100, 60, 0), current: 10, desired: 500, expected: 20,
    condition: "ScaleUpLimit"),
  .init(
    name: "scaleUp with spec MaxReplicas limitation with large pod policy", min: 1, max: 1000,
    scaleUp: rules(100, 60, 0, 0, 0), current: 10, desired: 50, expected: 50,
    condition: "DesiredWithinRange"),
  .init(
    name: "scaleUp with spec MaxReplicas limitation with large percent policy", min: 1, max: 1000,
    scaleUp: rules(10000, 60, 0, 0, 0), current: 10, desired: 50, expected: 50,
    condition: "DesiredWithinRange"),
  .init(
    name: "scaleUp with pod policy limitation", min: 1, max: 1000, scaleUp: rules(30, 60, 0, 0, 0),
    current: 10, desired: 50, expected: 40, condition: "ScaleUpLimit"),
  .init(
    name: "scaleUp with percent policy limitation", min: 1, max: 1000,
    scaleUp: rules(0, 0, 200, 60, 0), current: 10, desired: 50, expected: 30,
    condition: "ScaleUpLimit"),
  .init(
    name: "scaleDown with percent policy larger than pod policy", min: 1, max: 1000,
    scaleDown: rules(20, 60, 1, 60, 300), current: 100, desired: 2, expected: 80,
    condition: "ScaleDownLimit"),
  .init(
    name: "scaleDown with pod policy larger than percent policy", min: 1, max: 1000,
    scaleDown: rules(2, 60, 1, 60, 300), current: 100, desired: 2, expected: 98,
    condition: "ScaleDownLimit"),
  .init(
    name: "scaleDown with spec MinReplicas=nil limitation with large pod policy", min: 1, max: 1000,
    scaleDown: rules(100, 60, 0, 0, 300), current: 10, desired: 0, expected: 1,
    condition: "TooFewReplicas"),
  .init(
    name: "scaleDown with spec MinReplicas limitation with large percent policy", min: 5, max: 1000,
    scaleDown: rules(0, 0, 100, 60, 300), current: 10, desired: 2, expected: 5,
    condition: "TooFewReplicas"),
  .init(
    name: "scaleDown with pod policy limitation", min: 1, max: 1000,
    scaleDown: rules(5, 60, 0, 0, 300), current: 10, desired: 2, expected: 5,
    condition: "ScaleDownLimit"),
  .init(
    name: "scaleDown with percent policy limitation", min: 1, max: 1000,
    scaleDown: rules(0, 0, 50, 60, 300), current: 10, desired: 5, expected: 5,
    condition: "DesiredWithinRange"),
  .init(
    name: "scaleUp with spec MaxReplicas limitation with large pod policy and events",
    up: uniform([1, 5, 9], 120), min: 1, max: 200, scaleUp: rules(300, 60, 0, 0, 0), current: 100,
    desired: 500, expected: 200, condition: "TooManyReplicas"),
  .init(
    name: "scaleUp with spec MaxReplicas limitation with large percent policy and events",
    up: uniform([1, 5, 9], 120), min: 1, max: 200, scaleUp: rules(0, 0, 10000, 60, 0), current: 100,
    desired: 500, expected: 200, condition: "TooManyReplicas"),
  .init(
    name:
      "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
    up: uniform([1, 5, 9], 120), min: 1, max: 1000, scaleUp: rules(5, 120, 0, 0, 0), current: 100,
    desired: 500, expected: 100, condition: "ScaleUpLimit"),
  .init(
    name: "scaleUp with pod policy and previous scale up events", up: uniform([1, 5, 9], 120),
    min: 1, max: 1000, scaleUp: rules(150, 120, 0, 0, 0), current: 100, desired: 500, expected: 235,
    condition: "ScaleUpLimit"),
  .init(
    name: "scaleUp with percent policy and previous scale up events", up: uniform([1, 5, 9], 120),
    min: 1, max: 1000, scaleUp: rules(0, 0, 200, 120, 0), current: 100, desired: 500, expected: 255,
    condition: "ScaleUpLimit"),
  .init(
    name: "scaleUp with percent policy and previous scale up and down events",
    up: uniform([4], 120), down: uniform([2], 120), min: 1, max: 1000,
    scaleUp: rules(0, 0, 300, 300, 0), current: 6, desired: 24, expected: 16,
    condition: "ScaleUpLimit"),
  .init(
    name: "scaleDown with default policy and previous events", down: uniform([1, 5, 9], 120),
    min: 1, max: 1000, current: 10, desired: 5, expected: 5, condition: "DesiredWithinRange"),
  .init(
    name:
      "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
    down: uniform([1, 5, 9], 120), min: 1, max: 1000, scaleDown: rules(115, 120, 0, 0, 300),
    current: 100, desired: 0, expected: 1, condition: "TooFewReplicas"),
  .init(
    name: "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
    down: uniform([1, 5, 9], 120), min: 5, max: 1000, scaleDown: rules(130, 120, 0, 0, 300),
    current: 100, desired: 0, expected: 5, condition: "TooFewReplicas"),
  .init(
    name:
      "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
    down: uniform([1, 5, 9], 120), min: 5, max: 1000, scaleDown: rules(0, 0, 100, 120, 300),
    current: 100, desired: 2, expected: 5, condition: "TooFewReplicas"),
  .init(
    name: "scaleDown with pod policy limitation and previous events",
    down: uniform([1, 5, 9], 120), min: 1, max: 1000, scaleDown: rules(5, 120, 0, 0, 300),
    current: 100, desired: 2, expected: 100, condition: "ScaleDownLimit"),
  .init(
    name: "scaleDown with percent policy limitation and previous events",
    down: uniform([2, 4, 6], 120), min: 1, max: 1000, scaleDown: rules(0, 0, 50, 120, 300),
    current: 100, desired: 0, expected: 56, condition: "ScaleDownLimit"),
  .init(
    name: "scaleDown with percent policy and previous scale up and down events",
    up: uniform([2], 120), down: uniform([4], 120), min: 1, max: 1000,
    scaleDown: rules(0, 0, 50, 180, 0), current: 10, desired: 1, expected: 6,
    condition: "ScaleDownLimit"),
  .init(
    name: "scaleDown with previous events preventing further scale down",
    down: uniform([10, 10, 10], 120), min: 1, max: 1000, scaleDown: rules(0, 0, 10, 120, 300),
    current: 100, desired: 0, expected: 100, condition: "ScaleDownLimit"),
  .init(
    name: "scaleDown with with previous events still allowing more scale down",
    down: uniform([10, 10, 10], 120), min: 1, max: 1000, scaleDown: rules(0, 0, 1000, 120, 300),
    current: 10, desired: 5, expected: 5, condition: "DesiredWithinRange"),
  .init(
    name: "check 'outdated' flag for events for one behavior for up",
    up: uniform([8, 12, 9, 11], 120), min: 1, max: 1000, scaleUp: rules(1000, 60, 0, 0, 0),
    current: 100, desired: 200, expected: 200, condition: "DesiredWithinRange"),
  .init(
    name:
      "check that events were not marked 'outdated' for two different policies in the behavior for up",
    up: uniform([8, 12, 9, 11], 120), min: 1, max: 1000, scaleUp: rules(1000, 120, 100, 60, 0),
    current: 100, desired: 200, expected: 200, condition: "DesiredWithinRange"),
  .init(
    name:
      "check that events were marked 'outdated' for two different policies in the behavior for up",
    up: uniform([8, 12, 9, 11], 120), min: 1, max: 1000, scaleUp: rules(1000, 30, 100, 60, 0),
    current: 100, desired: 200, expected: 200, condition: "DesiredWithinRange"),
  .init(
    name: "check 'outdated' flag for events for one behavior for down",
    down: uniform([8, 12, 9, 11], 120), min: 1, max: 1000, scaleDown: rules(1000, 60, 0, 0, 300),
    current: 100, desired: 5, expected: 5, condition: "DesiredWithinRange"),
  .init(
    name:
      "check that events were not marked 'outdated' for two different policies in the behavior for down",
    down: uniform([8, 12, 9, 11], 120), min: 1, max: 1000,
    scaleDown: rules(1000, 120, 100, 60, 300), current: 100, desired: 5, expected: 5,
    condition: "DesiredWithinRange"),
  .init(
    name:
      "check that events were marked 'outdated' for two different policies in the behavior for down",
    down: uniform([8, 12, 9, 11], 120), min: 1, max: 1000, scaleDown: rules(1000, 30, 100, 60, 300),
    current: 100, desired: 5, expected: 5, condition: "DesiredWithinRange"),
]

@Suite struct HPABehaviorTests {
  @Test("upstream's rate-limit cases", arguments: rateCases)
  func rateLimit(_ c: RateCase) {
    let history = HPAHistory(scaleUpEvents: c.up, scaleDownEvents: c.down)
    let r = HPANormalization.convertWithBehaviorRate(
      current: c.current, desired: c.desired, minReplicas: c.min, maxReplicas: c.max,
      scaleUp: .defaultedScaleUp(c.scaleUp), scaleDown: .defaultedScaleDown(c.scaleDown),
      history: history, now: t0)
    #expect(r.replicas == c.expected)
    #expect(r.limit.reason == c.condition)
  }

  /// `TestConvertDesiredReplicasWithRules` (the legacy path).
  @Test func legacyClamp() {
    let cases: [(Int32, Int32, Int32, Int32, Int32, String)] = [
      (5, 7, 3, 8, 7, "DesiredWithinRange"),
      (3, 1, 2, 8, 2, "TooFewReplicas"),
      (1, 0, 0, 10, 0, "DesiredWithinRange"),
      (20, 1000, 1, 10, 10, "TooManyReplicas"),
      (3, 1000, 1, 2000, HPANormalization.legacyScaleUpLimit(3), "ScaleUpLimit"),
    ]
    for (current, desired, min, max, expected, condition) in cases {
      let r = HPANormalization.convertWithRules(
        current: current, desired: desired, minReplicas: min, maxReplicas: max)
      #expect(r.replicas == expected)
      #expect(r.limit.reason == condition)
    }
    #expect(HPANormalization.legacyScaleUpLimit(1) == 4)
    #expect(HPANormalization.legacyScaleUpLimit(3) == 6)
  }

  /// `TestCalculateScaleUpLimitWithScalingRules` / `TestCalculateScaleDownLimitWithBehaviors`:
  /// Min selects the smaller change.
  @Test func minSelectPolicy() {
    let r = HPAScalingRules(
      stabilizationWindowSeconds: 300, selectPolicy: .min,
      policies: [.init(.pods, 2, periodSeconds: 60), .init(.percent, 50, periodSeconds: 60)])
    #expect(
      HPANormalization.scaleUpLimit(current: 1, history: HPAHistory(), rules: r, now: t0) == 2)
    #expect(
      HPANormalization.scaleDownLimit(current: 5, history: HPAHistory(), rules: r, now: t0) == 3)
  }

  /// `TestNormalizeDesiredReplicas` (legacy stabilisation, 5 min window).
  @Test func legacyStabilization() {
    let cases: [(String, [HPAHistory.Recommendation], Int32, Int32, Int)] = [
      ("empty log", [], 5, 5, 1),
      ("stabilize", [.init(4, secondsAgo(120)), .init(5, secondsAgo(60))], 3, 5, 3),
      ("no stabilize", [.init(1, secondsAgo(120)), .init(2, secondsAgo(60))], 3, 3, 3),
      (
        "no stabilize - old recommendations",
        [.init(10, secondsAgo(600)), .init(9, secondsAgo(540))], 3, 3, 2
      ),
      (
        "stabilize - old recommendations",
        [
          .init(10, secondsAgo(600)), .init(4, secondsAgo(60)), .init(5, secondsAgo(120)),
          .init(9, secondsAgo(540)),
        ],
        3, 5, 4
      ),
    ]
    for (name, recs, proposal, expected, length) in cases {
      var h = HPAHistory(recommendations: recs)
      let r = HPANormalization.stabilizeLegacy(
        &h, proposal: proposal, windowMillis: 300_000, now: t0)
      #expect(r == expected, "\(name)")
      #expect(h.recommendations.count == length, "\(name)")
    }
  }

  /// `TestNormalizeDesiredReplicasWithBehavior` (stabilisation with behaviors).
  @Test func behaviorStabilization() {
    struct C {
      var name: String
      var recs: [HPAHistory.Recommendation]
      var current: Int32
      var proposal: Int32
      var expected: Int32
      var stored: [Int32]?
      var up: Int32 = 0
      var down: Int32 = 0
    }
    let cases: [C] = [
      C(
        name: "empty recommendations for scaling down", recs: [], current: 100, proposal: 5,
        expected: 5, stored: [5]),
      C(
        name: "simple scale down stabilization",
        recs: [.init(4, secondsAgo(120)), .init(5, secondsAgo(60))], current: 100, proposal: 3,
        expected: 5, stored: [4, 5, 3], down: 180),
      C(
        name: "simple scale up stabilization",
        recs: [.init(4, secondsAgo(120)), .init(5, secondsAgo(60))], current: 1, proposal: 7,
        expected: 4, stored: [4, 5, 7], up: 300),
      C(
        name: "no scale down stabilization",
        recs: [.init(1, secondsAgo(120)), .init(2, secondsAgo(60))], current: 100, proposal: 3,
        expected: 3, stored: [1, 2, 3], up: 300),
      C(
        name: "no scale up stabilization",
        recs: [.init(4, secondsAgo(120)), .init(5, secondsAgo(60))], current: 1, proposal: 3,
        expected: 3, stored: [4, 5, 3], down: 300),
      C(
        name: "no scale down stabilization, reuse recommendation element",
        recs: [.init(10, secondsAgo(600)), .init(9, secondsAgo(540))], current: 100, proposal: 3,
        expected: 3, stored: [10, 3]),
      C(
        name: "no scale up stabilization, reuse recommendation element",
        recs: [.init(10, secondsAgo(600)), .init(9, secondsAgo(540))], current: 1, proposal: 100,
        expected: 100, stored: [10, 100]),
      C(
        name: "scale down stabilization, reuse one of obsolete recommendation element",
        recs: [
          .init(10, secondsAgo(600)), .init(4, secondsAgo(60)), .init(5, secondsAgo(120)),
          .init(9, secondsAgo(540)),
        ],
        current: 100, proposal: 3, expected: 5, stored: [10, 4, 5, 3], down: 180),
      C(
        name: "scale up stabilization, reuse one of obsolete recommendation element",
        recs: [
          .init(10, secondsAgo(6000)), .init(6, secondsAgo(60)), .init(5, secondsAgo(120)),
          .init(9, secondsAgo(180)),
        ],
        current: 1, proposal: 100, expected: 5, stored: [100, 6, 5, 9], up: 300),
      C(
        name: "scale up and down stabilization, do not scale up when prenormalized rec goes down",
        recs: [.init(2, secondsAgo(6000)), .init(3, secondsAgo(180))], current: 2, proposal: 1,
        expected: 2, stored: nil, up: 300, down: 300),
      C(
        name: "scale up and down stabilization, do not scale down when prenormalized rec goes up",
        recs: [.init(2, secondsAgo(6000)), .init(1, secondsAgo(180))], current: 2, proposal: 3,
        expected: 2, stored: nil, up: 300, down: 300),
    ]
    for c in cases {
      var h = HPAHistory(recommendations: c.recs)
      let r = HPANormalization.stabilizeWithBehaviors(
        &h, proposal: c.proposal, current: c.current, upWindowSeconds: c.up,
        downWindowSeconds: c.down, now: t0)
      #expect(r.replicas == c.expected, "\(c.name)")
      if let stored = c.stored { #expect(h.recommendations.map(\.replicas) == stored, "\(c.name)") }
    }
  }

  /// `TestStoreScaleEvents`: events of one direction, with the change in the last 60 s
  /// before the store and the events after it.
  @Test func storeScaleEvents() {
    struct C {
      var name: String
      var previous: [HPAHistory.ScaleEvent]
      var after: [(Int32, Bool)]
      var rules: HPAScalingRules?
      var changeBefore: Int32
    }
    let cases: [C] = [
      C(
        name: "empty entries with default behavior", previous: [], after: [], rules: nil,
        changeBefore: 0),
      C(
        name: "empty entries with two-policy-behavior", previous: [], after: [(5, false)],
        rules: rules(10, 60, 100, 60, 0), changeBefore: 0),
      C(
        name: "one outdated entry to be kept untouched without behavior",
        previous: [.init(7, secondsAgo(61))], after: [(7, false)], rules: nil, changeBefore: 0),
      C(
        name: "one outdated entry to be replaced with behavior",
        previous: [.init(7, secondsAgo(61))], after: [(5, false)], rules: rules(10, 60, 100, 60, 0),
        changeBefore: 0),
      C(
        name: "one actual entry to be not touched with behavior",
        previous: [.init(7, secondsAgo(58))], after: [(7, false), (5, false)],
        rules: rules(10, 60, 100, 60, 0), changeBefore: 7),
      C(
        name: "two entries, one of them to be replaced",
        previous: [.init(7, secondsAgo(61)), .init(6, secondsAgo(59))],
        after: [(5, false), (6, false)], rules: rules(10, 60, 0, 0, 0), changeBefore: 6),
      C(
        name: "replace one entry, use policies with different periods",
        previous: [
          .init(8, secondsAgo(29)), .init(6, secondsAgo(59)), .init(7, secondsAgo(61)),
          .init(9, secondsAgo(61)),
        ],
        after: [(8, false), (6, false), (7, true), (5, false)], rules: rules(10, 60, 100, 30, 0),
        changeBefore: 14),
      C(
        name: "two entries, both actual",
        previous: [.init(7, secondsAgo(58)), .init(6, secondsAgo(59))],
        after: [(7, false), (6, false), (5, false)], rules: rules(10, 120, 100, 30, 0),
        changeBefore: 13),
    ]
    for c in cases {
      for up in [true, false] {
        var h = up ? HPAHistory(scaleUpEvents: c.previous) : HPAHistory(scaleDownEvents: c.previous)
        let events = up ? h.scaleUpEvents : h.scaleDownEvents
        #expect(
          HPANormalization.changeInPeriod(events, periodSeconds: 60, now: t0) == c.changeBefore,
          "\(c.name)")
        let behavior = c.rules.map { up ? HPABehavior(scaleUp: $0) : HPABehavior(scaleDown: $0) }
        HPANormalization.storeScaleEvent(
          &h, behavior: behavior, previous: 10, new: up ? 15 : 5, now: t0)
        let got = up ? h.scaleUpEvents : h.scaleDownEvents
        #expect(got.map(\.change) == c.after.map(\.0), "\(c.name)")
        #expect(got.map(\.outdated) == c.after.map(\.1), "\(c.name)")
      }
    }
  }

  /// The reference's worked examples.
  @Test func workedExamples() {
    // Up: Pods 4/60 s + Percent 100/60 s, Max; scaled 5 → 10 30 s ago: stays at 10.
    let up = HPAScalingRules(
      selectPolicy: .max,
      policies: [.init(.pods, 4, periodSeconds: 60), .init(.percent, 100, periodSeconds: 60)])
    let h = HPAHistory(scaleUpEvents: [.init(5, secondsAgo(30))])
    #expect(HPANormalization.scaleUpLimit(current: 10, history: h, rules: up, now: t0) == 10)
    // Down: 10 %/60 s. 80 → 72; 15 s later periodStart 80 → still 72; after it ages out → 64.
    let down = HPAScalingRules(
      selectPolicy: .max, policies: [.init(.percent, 10, periodSeconds: 60)])
    #expect(
      HPANormalization.scaleDownLimit(current: 80, history: HPAHistory(), rules: down, now: t0)
        == 72)
    let later = HPAHistory(scaleDownEvents: [.init(8, secondsAgo(15))])
    #expect(
      HPANormalization.scaleDownLimit(current: 72, history: later, rules: down, now: t0) == 72)
    let aged = HPAHistory(scaleDownEvents: [.init(8, secondsAgo(61))])
    #expect(HPANormalization.scaleDownLimit(current: 72, history: aged, rules: down, now: t0) == 64)
    // Default behavior at 1 replica: max(1 + 4, 2) = 5.
    #expect(
      HPANormalization.scaleUpLimit(
        current: 1, history: HPAHistory(), rules: .defaultedScaleUp(nil), now: t0) == 5)
  }
}
