import Testing

@testable import BerthAutoscaling

/// KEDA's activation and cooldown rules, as its documentation states them.
@Suite struct KEDATests {
  let created = UnixMillis(0)
  func at(_ s: Int64) -> UnixMillis { UnixMillis(s * 1000) }
  func spec(min: Int32 = 0, idle: Int32? = nil, cooldown: Int32 = 300, initial: Int32 = 0)
    -> ScaledObjectSpec
  {
    var s = ScaledObjectSpec(
      namespace: "default", name: "web", scaleTargetRef: ObjectRef(kind: "Deployment", name: "web"),
      triggers: [.init(type: "prometheus", targetMilli: 10_000, source: "load")])
    s.minReplicaCount = min
    s.idleReplicaCount = idle
    s.cooldownPeriod = cooldown
    s.initialCooldownPeriod = initial
    return s
  }

  @Test func activationFromZeroGoesToTheMinimumOrOne() {
    #expect(
      KEDAScaling.decide(
        spec(), current: 0, active: true, lastActive: nil, created: created, now: at(30)) == 1)
    #expect(
      KEDAScaling.decide(
        spec(min: 3), current: 0, active: true, lastActive: nil, created: created, now: at(30)) == 3
    )
    // Above zero the HPA scales.
    #expect(
      KEDAScaling.decide(
        spec(), current: 4, active: true, lastActive: at(0), created: created, now: at(30)) == nil)
  }

  @Test func zeroOnlyAfterTheCooldownSinceTheLastActivePoll() {
    let s = spec()
    #expect(
      KEDAScaling.decide(
        s, current: 3, active: false, lastActive: at(570), created: created, now: at(840)) == nil)
    #expect(
      KEDAScaling.decide(
        s, current: 3, active: false, lastActive: at(570), created: created, now: at(870)) == 0)
    // Never active: at once ("the cooldown period only applies after a trigger occurs").
    #expect(
      KEDAScaling.decide(
        s, current: 2, active: false, lastActive: nil, created: created, now: at(0)) == 0)
    // … unless the initial cooldown from creation has not passed.
    #expect(
      KEDAScaling.decide(
        spec(initial: 120), current: 2, active: false, lastActive: nil, created: created,
        now: at(60)) == nil)
    #expect(
      KEDAScaling.decide(
        spec(initial: 120), current: 2, active: false, lastActive: nil, created: created,
        now: at(120)) == 0)
  }

  @Test func idleReplicaCountIsTheFloorWhenInactive() {
    let s = spec(min: 3, idle: 1)
    #expect(
      KEDAScaling.decide(
        s, current: 5, active: false, lastActive: at(0), created: created, now: at(300)) == 1)
    #expect(
      KEDAScaling.decide(
        s, current: 1, active: true, lastActive: at(0), created: created, now: at(330)) == 3)
    // A minimum above zero without idle: nothing for KEDA to do; the HPA keeps the minimum.
    #expect(
      KEDAScaling.decide(
        spec(min: 2), current: 5, active: false, lastActive: at(0), created: created, now: at(900))
        == nil)
  }

  /// `RequestScale` with a failing trigger: nothing is taken down (with a fallback the HPA
  /// brings the target to the fallback count; without, the ScaledObject is just not Ready);
  /// activation from zero still happens; a partial error leaves `lastActiveTime` alone.
  @Test func aFailingTriggerFreezesTheWayDown() {
    var s = spec()
    #expect(
      KEDAScaling.decide(
        s, current: 3, active: false, isError: true, lastActive: nil, created: created,
        now: at(3600)) == nil)
    s.fallback = (3, 6)
    #expect(
      KEDAScaling.decide(
        s, current: 3, active: false, isError: true, lastActive: at(0), created: created,
        now: at(3600)) == nil)
    #expect(
      KEDAScaling.decide(
        s, current: 0, active: true, isError: true, lastActive: nil, created: created,
        now: at(30)) == 1)
    #expect(!KEDAScaling.refreshesLastActive(active: true, isError: true, scaledFromZero: false))
    #expect(KEDAScaling.refreshesLastActive(active: true, isError: true, scaledFromZero: true))
    #expect(KEDAScaling.refreshesLastActive(active: true, isError: false, scaledFromZero: false))
    #expect(!KEDAScaling.refreshesLastActive(active: false, isError: false, scaledFromZero: false))
  }

  /// `GetMetricsWithFallback`: the fallback answers only after more than `failureThreshold`
  /// failed reads in a row, only for AverageValue triggers, as replicas × the target (10 per
  /// replica here); `fallback.behavior` picks the replicas.
  @Test func theFallbackValueAfterTheThreshold() {
    var s = spec()
    #expect(KEDAScaling.fallbackValueMilli(s, trigger: 0, failures: 9, current: 2) == nil)
    s.fallback = (failureThreshold: 3, replicas: 6)
    #expect(KEDAScaling.fallbackValueMilli(s, trigger: 0, failures: 3, current: 2) == nil)
    #expect(KEDAScaling.fallbackValueMilli(s, trigger: 0, failures: 4, current: 2) == 60_000)
    let cases: [(String, Int32, Int64)] = [
      ("static", 2, 60_000), ("currentReplicas", 2, 20_000),
      ("currentReplicasIfHigher", 2, 60_000), ("currentReplicasIfHigher", 9, 90_000),
      ("currentReplicasIfLower", 2, 20_000), ("currentReplicasIfLower", 9, 60_000),
    ]
    for (behavior, current, value) in cases {
      s.fallbackBehavior = behavior
      #expect(
        KEDAScaling.fallbackValueMilli(s, trigger: 0, failures: 4, current: current) == value,
        "\(behavior)")
    }
    s.fallbackBehavior = "static"
    s.triggers[0].metricType = "Value"
    #expect(KEDAScaling.fallbackValueMilli(s, trigger: 0, failures: 4, current: 2) == nil)
  }

  @Test func theHPAKEDAMakes() {
    var s = spec(min: 0)
    s.maxReplicaCount = 20
    let h = s.hpa
    #expect(h.name == "keda-hpa-web")
    #expect(h.minReplicas == 1)
    #expect(h.maxReplicas == 20)
    #expect(
      h.metrics == [
        .external(
          metric: HPAMetricIdentifier(
            name: "s0-prometheus", selector: ["scaledobject.keda.sh/name": "web"]),
          target: .averageValue(milli: 10_000))
      ])
  }
}
