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
