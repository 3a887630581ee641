import BerthCore
import BerthTraces

/// Each Service's endpoints, as the endpoints controller keeps them: the pods its selector
/// matches in its namespace that are running (they have an address) and not being deleted,
/// Ready (`addresses`) or not (`notReadyAddresses`). Counted as pods change, recorded as the
/// Service's `readyEndpoints` and `notReadyEndpoints`.
final class Endpoints {
  // SAFETY: the simulation owns this tracker and outlives it.
  unowned(unsafe) let sim: Simulation
  @exclusivity(unchecked) private(set) var services: [ServiceSpec]
  @exclusivity(unchecked) private var ready: [Int]
  @exclusivity(unchecked) private var notReady: [Int]
  @exclusivity(unchecked) private var series: [Int] = []
  /// Per pod: 0 no endpoint, 1 not ready, 2 ready (as last counted).
  @exclusivity(unchecked) private var state: [UInt8] = []
  /// The Services selecting pods of a (label set, namespace); lookups only.
  @exclusivity(unchecked) private var selecting: [UInt64: [Int32]] = [:]

  static let fields = ["readyEndpoints", "notReadyEndpoints"]

  init(_ sim: Simulation, services: [ServiceSpec]) {
    self.sim = sim
    self.services = services
    ready = [Int](repeating: 0, count: services.count)
    notReady = ready
    for s in services {
      series.append(
        sim.recorder.series(
          kind: "Service", namespace: s.namespace, name: s.name, fields: Self.fields))
    }
  }

  private func services(of pod: PodID) -> [Int32] {
    let pods = sim.cluster.pods
    let key = UInt64(pods.labels[pod.index]) << 32 | UInt64(pods.namespace[pod.index])
    if let hit = selecting[key] { return hit }
    let labels = pods.labelSets[pods.labels[pod.index]]
    let namespace = sim.namespace(pod)
    var out: [Int32] = []
    for (k, s) in services.enumerated() where s.namespace == namespace {
      guard let selector = s.selector, !selector.isEmpty else { continue }
      if selector.allSatisfy({ labels[$0.key] == $0.value }) { out.append(Int32(k)) }
    }
    selecting[key] = out
    return out
  }

  /// A pod's phase, readiness or deletion may have changed.
  func podChanged(_ pod: PodID) {
    guard !services.isEmpty else { return }
    while state.count <= pod.index { state.append(0) }
    let pods = sim.cluster.pods
    let new: UInt8
    if sim.isGone(pod) || pods.isTerminating(pod) || pods.phase(of: pod) != .running {
      new = 0
    } else {
      new = sim.isReady(pod) ? 2 : 1
    }
    let old = state[pod.index]
    guard new != old else { return }
    state[pod.index] = new
    for k in services(of: pod) {
      let s = Int(k)
      if old == 2 { ready[s] -= 1 }
      if old == 1 { notReady[s] -= 1 }
      if new == 2 { ready[s] += 1 }
      if new == 1 { notReady[s] += 1 }
      sim.recorder.set(series: series[s], ready[s])
      sim.recorder.set(series: series[s] + 1, notReady[s])
    }
  }

  /// The counts of Service `k`: (ready, not ready).
  func counts(_ k: Int) -> (ready: Int, notReady: Int) { (ready[k], notReady[k]) }

  /// What is wrong with the kept counts, if anything (recounted from every pod).
  func violation() -> String? {
    var r = [Int](repeating: 0, count: services.count)
    var n = r
    let pods = sim.cluster.pods
    for p in 0..<pods.count {
      let id = PodID(UInt32(p))
      guard !sim.isGone(id), !pods.isTerminating(id), pods.phase(of: id) == .running else {
        continue
      }
      for k in services(of: id) {
        if sim.isReady(id) { r[Int(k)] += 1 } else { n[Int(k)] += 1 }
      }
    }
    guard r != ready || n != notReady else { return nil }
    return "endpoints count \(ready) ready, \(notReady) not ready; pods give \(r), \(n)"
  }
}
