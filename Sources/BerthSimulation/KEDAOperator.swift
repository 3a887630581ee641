import BerthAutoscaling
import BerthCore
import BerthEngine

/// KEDA's operator in the simulated cluster: every ScaledObject's HPA (`keda-hpa-<name>`,
/// External metrics per trigger) runs in `HorizontalAutoscaling`; this component does what KEDA
/// does itself — every `pollingInterval` (from its creation) it asks each trigger whether it is
/// active (its load above the activation threshold; cpu and memory triggers always are) and
/// takes the target between zero (or `idleReplicaCount`) and `minReplicaCount`
/// (`KEDAScaling.decide`). Recorded as ScaledObject `active` (1/0); events
/// KEDAScaleTargetActivated and KEDAScaleTargetDeactivated.
final class KEDAOperator: Component {
  // SAFETY: the simulation owns its components and outlives them.
  unowned(unsafe) let sim: Simulation
  struct State {
    var spec: ScaledObjectSpec
    var lastActive: UnixMillis?
    var series = -1
    /// Per trigger: the metrics adapter's failed reads in a row (`status.health`).
    var failures: [Int32] = []
    /// HPA reads answered with the fallback.
    var fallbacks = 0
  }
  @exclusivity(unchecked) private(set) var objects: [State] = []

  init(_ sim: Simulation) {
    self.sim = sim
    for o in sim.scenario.scaledObjects {
      var s = State(spec: o)
      s.failures = Array(repeating: 0, count: o.triggers.count)
      s.series = sim.recorder.series(
        kind: "ScaledObject", namespace: o.namespace, name: o.name, fields: ["active"])
      objects.append(s)
    }
  }

  var name: String { "keda-operator" }

  func start(_ engine: Engine) {
    for (i, o) in objects.enumerated() {
      engine.every(.seconds(Int64(o.spec.pollingInterval)), self, first: .zero, payload: UInt64(i))
    }
  }

  /// The metrics adapter's bookkeeping for an HPA read of trigger `t` of ScaledObject `name`
  /// (`GetMetricsWithFallback`): a success resets the trigger's failures; a failure counts,
  /// and once there are more than `fallback.failureThreshold` the answer is the fallback value.
  /// - Returns: the value to answer instead of the error; nil to answer normally (or fail).
  func metricRead(scaledObject name: String, trigger t: Int, failed: Bool) -> Int64? {
    guard let i = objects.firstIndex(where: { $0.spec.name == name }), t < objects[i].failures.count
    else { return nil }
    guard failed else {
      objects[i].failures[t] = 0
      return nil
    }
    objects[i].failures[t] += 1
    let o = objects[i].spec
    let current =
      sim.targetScale(
        kind: o.scaleTargetRef.kind, namespace: o.namespace, name: o.scaleTargetRef.name)?
      .spec ?? 0
    let v = KEDAScaling.fallbackValueMilli(
      o, trigger: t, failures: objects[i].failures[t], current: current)
    if v != nil { objects[i].fallbacks += 1 }
    return v
  }

  /// The value trigger `t` of ScaledObject `o` reads now (milli-units), nil for resource
  /// triggers.
  func value(_ o: ScaledObjectSpec, trigger t: Int) -> Int64? {
    let trig = o.triggers[t]
    guard !trig.isResource, let i = sim.scenario.loads.firstIndex(where: { $0.name == trig.source })
    else { return nil }
    return Int64((sim.workloadMetrics.loadValue(i) * 1000).rounded())
  }

  func fire(_ timer: BerthEngine.Timer, _ engine: Engine) {
    let i = Int(timer.payload)
    let o = objects[i].spec
    let now = sim.horizontalAutoscaling.unixMillis(sim.now)
    var active = false
    var isError = false
    for t in o.triggers.indices {
      let trig = o.triggers[t]
      if !trig.isResource, let l = sim.scenario.loads.firstIndex(where: { $0.name == trig.source }),
        sim.scenario.loads[l].isOut(at: sim.now.nanoseconds)
      {
        isError = true
        sim.recorder.event(
          kind: "ScaledObject", namespace: o.namespace, name: o.name, type: .warning,
          reason: "KEDAScalerFailed",
          message:
            "error getting metric for trigger s\(t)-\(trig.type): the metric source of \(trig.source) did not answer"
        )
        continue
      }
      if let v = value(o, trigger: t) {
        if v > trig.activationMilli { active = true }
      } else {
        active = true
      }
    }
    sim.recorder.set(series: objects[i].series, active ? 1 : 0)
    let ref = o.scaleTargetRef
    guard let scale = sim.targetScale(kind: ref.kind, namespace: o.namespace, name: ref.name) else {
      if active && !isError { objects[i].lastActive = now }
      return
    }
    let decision = KEDAScaling.decide(
      o, current: scale.spec, active: active, isError: isError, lastActive: objects[i].lastActive,
      created: sim.horizontalAutoscaling.unixMillis(.zero), now: now)
    if KEDAScaling.refreshesLastActive(
      active: active, isError: isError, scaledFromZero: decision != nil)
    {
      objects[i].lastActive = now
    }
    guard let n = decision else { return }
    sim.setTargetScale(kind: ref.kind, namespace: o.namespace, name: ref.name, replicas: n)
    let target = "\(ref.apiVersion).\(ref.kind) \(o.namespace)/\(ref.name)"
    sim.recorder.event(
      kind: "ScaledObject", namespace: o.namespace, name: o.name, type: .normal,
      reason: active ? "KEDAScaleTargetActivated" : "KEDAScaleTargetDeactivated",
      message: "Scaled \(target) from \(scale.spec) to \(n)")
  }
}

extension Simulation {
  /// The selector of a Deployment, StatefulSet or ReplicaSet (an autoscaler's target); nil when
  /// there is none.
  func targetSelector(kind: String, namespace: String, name: String) -> LabelSelector? {
    switch kind {
    case "Deployment":
      return deployments.find(namespace: namespace, name: name).map {
        deployments.deployments[$0].object.selector
      }
    case "StatefulSet":
      return statefulSets.find(namespace: namespace, name: name).map {
        statefulSets.sets[$0].object.selector
      }
    case "ReplicaSet":
      return replicaSets.find(namespace: namespace, name: name).map {
        replicaSets.sets[$0].selector
      }
    default: return nil
    }
  }

  /// A scale target's `spec.replicas` and `status.replicas` (Deployments, StatefulSets,
  /// ReplicaSets); nil when there is none.
  func targetScale(kind: String, namespace: String, name: String) -> (spec: Int32, status: Int32)? {
    switch kind {
    case "Deployment":
      guard let k = deployments.find(namespace: namespace, name: name) else { return nil }
      let d = deployments.deployments[k]
      return (Int32(clamping: d.object.replicas), Int32(clamping: d.replicas))
    case "StatefulSet":
      guard let k = statefulSets.find(namespace: namespace, name: name) else { return nil }
      let s = statefulSets.sets[k]
      return (Int32(clamping: s.object.replicas), Int32(clamping: s.status.replicas))
    case "ReplicaSet":
      guard let k = replicaSets.find(namespace: namespace, name: name) else { return nil }
      let r = replicaSets.sets[k]
      return (Int32(clamping: r.replicas), Int32(clamping: r.statusReplicas))
    default: return nil
    }
  }

  /// Writes a scale target's `spec.replicas` as `kubectl scale` would (its document too).
  func setTargetScale(kind: String, namespace: String, name: String, replicas n: Int32) {
    let value = ObjectDocument.scalar(String(n))
    switch kind {
    case "Deployment":
      guard let k = deployments.find(namespace: namespace, name: name) else { return }
      let d = deployments.deployments[k]
      d.object.replicas = Int(n)
      d.object.document.set(["spec", "replicas"], value)
      deployments.markDirty(k)
    case "StatefulSet":
      guard let k = statefulSets.find(namespace: namespace, name: name) else { return }
      let s = statefulSets.sets[k]
      s.object.replicas = Int(n)
      s.object.document.set(["spec", "replicas"], value)
      statefulSets.markDirty(k)
    case "ReplicaSet":
      guard let k = replicaSets.find(namespace: namespace, name: name) else { return }
      let r = replicaSets.sets[k]
      r.replicas = Int(n)
      r.document?.set(["spec", "replicas"], value)
      replicaSets.markDirty(k)
    default: return
    }
  }
}
