import BerthCore
import BerthTraces
import Foundation
import Testing

@testable import BerthSimulation

/// The VPA in the simulated cluster: recommendations from metrics-server samples, admission,
/// the updater's evictions and in-place resizes — hand-computed timelines, every invariant
/// checked after every event (node sums included, which in-place resizes change).
struct VerticalAutoscalingTests {
  /// `replicas` pods of `api` requesting `requests` with constant usage `cpu`/`memory`, a VPA
  /// in `mode` (its extra spec lines after it), on `nodes`.
  static func scenario(
    replicas: Int, requests: String, cpu: String, memory: String, mode: String,
    vpaExtra: String = "", duration: String = "30m", nodes: String = TimelineTests.nodes(2)
  ) -> String {
    """
    apiVersion: berth.dev/v1alpha1
    kind: Scenario
    metadata: {name: vpa}
    spec:
      duration: \(duration)
      usage:
      - selector: {matchLabels: {app: api}}
        cpu: {base: \(cpu)}
        memory: {base: \(memory)}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      replicas: \(replicas)
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
          - {name: app, image: api, resources: {requests: \(requests)}}
    ---
    apiVersion: autoscaling.k8s.io/v1
    kind: VerticalPodAutoscaler
    metadata: {name: api}
    spec:
      targetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
      updatePolicy: {updateMode: \(mode)\(vpaExtra)}

    """ + nodes
  }

  static func series(_ field: String) -> String { "VerticalPodAutoscaler,default,api,\(field)" }

  /// Constant usage of 200m and 300 Mi: the target is the end of the usage's histogram bucket
  /// (P90; buckets start at 0.01 cores and 10^7 bytes, each 5 % wider than the one before:
  /// 0.2 cores lies in [0.19599, 0.21579), 314,572,800 bytes in [305,390,039, 330,659,541)) ×
  /// 1.15, the safety margin, in upstream's integer steps: 215m × 1.15 = 247m (truncated), and
  /// 330,659,541 × 1.15 = 380,258,472 bytes — ≈ usage × 1.15 to within a bucket.
  @Test func theTargetIsTheUsageTimesTheMargin() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        replicas: 2, requests: "{cpu: 100m, memory: 100Mi}", cpu: "200m", memory: "300Mi",
        mode: "\"Off\"", duration: "24h"))
    let cpu = try #require(TimelineTests.recorded(sim, Self.series("targetCpuMillis"), at: 86_400))
    let memory = try #require(
      TimelineTests.recorded(sim, Self.series("targetMemoryBytes"), at: 86_400))
    #expect(cpu == 247)
    #expect(memory == 380_258_472)
    #expect(TimelineTests.recorded(sim, Self.series("targetCpuMillis"), at: 60) == 247)
    // Off: nothing is evicted, and the pods keep their requests.
    #expect(TimelineTests.events(sim, reason: "EvictedByVPA").isEmpty)
  }

  /// The recommender's and updater's flags by upstream's names in `spec.settings`: a margin of
  /// 0.5 makes the 215m bucket end 322m (215 × 1.5, truncated); `min-replicas: 1` lets the
  /// updater evict a lone pod; a recommender running every 5 minutes first speaks at 300 s.
  @Test func settingsCarryTheUpstreamFlags() throws {
    func with(_ settings: String, replicas: Int = 2, mode: String = "\"Off\"") -> String {
      Self.scenario(
        replicas: replicas, requests: "{cpu: 10m, memory: 50Mi}", cpu: "200m", memory: "300Mi",
        mode: mode
      ).replacingOccurrences(
        of: "  duration: 30m\n", with: "  duration: 30m\n  settings: \(settings)\n")
    }
    let margin = try TimelineTests.simulate(
      with("{vpaRecommender: {recommendation-margin-fraction: 0.5, recommender-interval: 5m}}"))
    #expect(TimelineTests.recorded(margin, Self.series("targetCpuMillis"), at: 299) == 0)
    #expect(TimelineTests.recorded(margin, Self.series("targetCpuMillis"), at: 300) == 322)
    let lone = try TimelineTests.simulate(
      with("{vpaUpdater: {min-replicas: 1}}", replicas: 1, mode: "Recreate"))
    #expect(TimelineTests.events(lone, reason: "EvictedByVPA") == [60])
    #expect(throws: InputError.self) {
      try Scenario.parse(with("{vpaRecommender: {oom-bump-up-ratio: 0.5}}"), file: "t.yaml")
    }
    #expect(throws: InputError.self) {
      try Scenario.parse(with("{vpaUpdater: {min-replica: 1}}"), file: "t.yaml")
    }
  }

  /// Four pods requesting far below the lower bound (10m, 50 Mi against ≥ the pod minimums of
  /// 25m and 250 Mi): at the first updater loop (60 s) ⌊4 × 0.5⌋ = 2 may go, at the next the
  /// other two; their replacements are admitted at the target and stay.
  @Test func recreateEvictsWithinTheToleranceAndAdmissionSetsTheTarget() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        replicas: 4, requests: "{cpu: 10m, memory: 50Mi}", cpu: "300m", memory: "400Mi",
        mode: "Recreate"))
    #expect(TimelineTests.events(sim, reason: "EvictedByVPA") == [60, 60, 120, 120])
    let pods = sim.cluster.pods
    let live = (0..<pods.count).map { PodID(UInt32($0)) }.filter {
      !sim.isGone($0) && !pods.isTerminating($0) && pods.name($0).hasPrefix("api-")
    }
    #expect(live.count == 4)
    for p in live {
      // Admitted at a target of at least the usage × 1.15.
      #expect(pods.requestMemory[p.index] >= 460 * 1024 * 1024)
      #expect(pods.requestCPU[p.index] >= 345)
    }
  }

  /// Fewer live pods than `--min-replicas` (2): the updater leaves them alone; the VPA's own
  /// `minReplicas: 1` lets the single pod go (tolerance ⌊0.5⌋ = 0: one pod when all run).
  @Test func minReplicasGuardsSmallWorkloads() throws {
    let alone = try TimelineTests.simulate(
      Self.scenario(
        replicas: 1, requests: "{cpu: 10m, memory: 50Mi}", cpu: "300m", memory: "400Mi",
        mode: "Recreate"))
    #expect(TimelineTests.events(alone, reason: "EvictedByVPA").isEmpty)
    let allowed = try TimelineTests.simulate(
      Self.scenario(
        replicas: 1, requests: "{cpu: 10m, memory: 50Mi}", cpu: "300m", memory: "400Mi",
        mode: "Recreate", vpaExtra: ", minReplicas: 1"))
    #expect(TimelineTests.events(allowed, reason: "EvictedByVPA") == [60])
  }

  /// Initial: admission only. The running pods keep their (far too small) requests — no
  /// evictions, no resizes — while the two pods a scale-up adds at 10 min are admitted at the
  /// target.
  @Test func initialOnlySizesNewPods() throws {
    let text = Self.scenario(
      replicas: 2, requests: "{cpu: 10m, memory: 50Mi}", cpu: "300m", memory: "400Mi",
      mode: "Initial"
    ).replacingOccurrences(
      of: "  duration: 30m\n",
      with:
        "  duration: 30m\n  actions:\n  - {at: 10m, scale: {kind: Deployment, name: api, replicas: 4}}\n"
    )
    let sim = try TimelineTests.simulate(text)
    #expect(TimelineTests.events(sim, reason: "EvictedByVPA").isEmpty)
    #expect(TimelineTests.events(sim, reason: "InPlaceResizedByVPA").isEmpty)
    let pods = sim.cluster.pods
    let memory = (0..<pods.count).map { pods.requestMemory[$0] }.sorted()
    #expect(memory.count == 4)
    #expect(memory.prefix(2).allSatisfy { $0 == 50 * 1024 * 1024 })
    #expect(memory.suffix(2).allSatisfy { $0 >= 460 * 1024 * 1024 })
  }

  /// InPlaceOrRecreate with room on the nodes: the same pods are resized at the same loops,
  /// without a restart, and the nodes' requested sums follow (checked after every event).
  @Test func inPlaceResizesWithoutRestarts() throws {
    let sim = try TimelineTests.simulate(
      Self.scenario(
        replicas: 4, requests: "{cpu: 10m, memory: 50Mi}", cpu: "300m", memory: "400Mi",
        mode: "InPlaceOrRecreate"))
    #expect(TimelineTests.events(sim, reason: "InPlaceResizedByVPA") == [60, 60, 120, 120])
    #expect(TimelineTests.events(sim, reason: "EvictedByVPA").isEmpty)
    let pods = sim.cluster.pods
    #expect(pods.count == 4)
    for p in 0..<4 {
      #expect(pods.restarts[p] == 0)
      #expect(pods.requestMemory[p] >= 460 * 1024 * 1024)
    }
  }

  /// resizePolicy RestartContainer for memory: the same resizes, each restarting its
  /// container at once (no back-off) — one restart per pod, a Killing event per resize.
  @Test func restartContainerResizePolicyRestarts() throws {
    let text = Self.scenario(
      replicas: 4, requests: "{cpu: 10m, memory: 50Mi}", cpu: "300m", memory: "400Mi",
      mode: "InPlaceOrRecreate"
    ).replacingOccurrences(
      of: "resources: {requests: {cpu: 10m, memory: 50Mi}}}",
      with:
        "resources: {requests: {cpu: 10m, memory: 50Mi}}, resizePolicy: [{resourceName: memory, restartPolicy: RestartContainer}]}"
    )
    let sim = try TimelineTests.simulate(text)
    #expect(TimelineTests.events(sim, reason: "InPlaceResizedByVPA") == [60, 60, 120, 120])
    let kills = sim.recorder.events.split(separator: "\n").filter {
      $0.contains("resize requires restart")
    }
    #expect(kills.count == 4)
    for p in 0..<4 { #expect(sim.cluster.pods.restarts[p] == 1) }
    #expect(TimelineTests.events(sim, reason: "EvictedByVPA").isEmpty)
    #expect(throws: InputError.self) {
      try Scenario.parse(
        text.replacingOccurrences(of: "RestartContainer", with: "Sometimes"), file: "t.yaml")
    }
  }

  /// A node of 1 GiB: the first resize to ≈ 690 Mi fits (150 Mi + 690 Mi), the second does
  /// not (Deferred); Deferred for more than 5 minutes falls back to eviction, at the first
  /// loop after 60 + 300 s: 420 s.
  @Test func aDeferredResizeFallsBackToEviction() throws {
    let node =
      "---\n{apiVersion: v1, kind: Node, metadata: {name: node-0}, status: {allocatable: {cpu: \"8\", memory: 1Gi, pods: \"110\"}}}\n"
    let sim = try TimelineTests.simulate(
      Self.scenario(
        replicas: 4, requests: "{cpu: 10m, memory: 50Mi}", cpu: "100m", memory: "600Mi",
        mode: "InPlaceOrRecreate", duration: "10m", nodes: node))
    #expect(TimelineTests.events(sim, reason: "InPlaceResizedByVPA").prefix(2) == [60, 60])
    #expect(TimelineTests.events(sim, reason: "EvictedByVPA").first == 420)
    // One running pod was resized; the evicted one's replacement, admitted at the target, finds
    // no room and stays Pending.
    let pods = sim.cluster.pods
    let big = (0..<pods.count).map { PodID(UInt32($0)) }.filter {
      !sim.isGone($0) && pods.requestMemory[$0.index] > 600 * 1024 * 1024
    }
    #expect(big.filter { pods.isBound($0) }.count == 1)
    #expect(big.contains { pods.phase(of: $0) == .pending })
  }

  /// InPlace on the same 1 GiB node: the same first resizes, but a Deferred one waits and
  /// nothing is ever evicted; on a node of 600 Mi the ≈ 690 Mi target is Infeasible for every
  /// pod and they keep running as they are.
  @Test func inPlaceNeverEvicts() throws {
    func node(_ memory: String) -> String {
      "---\n{apiVersion: v1, kind: Node, metadata: {name: node-0}, status: {allocatable: {cpu: \"8\", memory: \(memory), pods: \"110\"}}}\n"
    }
    let sim = try TimelineTests.simulate(
      Self.scenario(
        replicas: 4, requests: "{cpu: 10m, memory: 50Mi}", cpu: "100m", memory: "600Mi",
        mode: "InPlace", duration: "20m", nodes: node("1Gi")))
    #expect(TimelineTests.events(sim, reason: "InPlaceResizedByVPA").prefix(2) == [60, 60])
    #expect(TimelineTests.events(sim, reason: "EvictedByVPA").isEmpty)
    let pods = sim.cluster.pods
    #expect((0..<4).filter { pods.requestMemory[$0] > 600 * 1024 * 1024 }.count == 1)
    let small = try TimelineTests.simulate(
      Self.scenario(
        replicas: 2, requests: "{cpu: 10m, memory: 50Mi}", cpu: "100m", memory: "600Mi",
        mode: "InPlace", duration: "20m", nodes: node("600Mi")))
    #expect(TimelineTests.events(small, reason: "EvictedByVPA").isEmpty)
    #expect(small.cluster.pods.requestMemory[0] == 50 * 1024 * 1024)
    #expect(small.cluster.pods.restarts[0] == 0)
  }

  static let bundled = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("datasets/scenarios/vpa-oom-loop.yaml").path

  /// The bundled OOM loop: with the 256 Mi cap the containers are OOM-killed again and again
  /// after the 2 h step and the updater has nothing to change (the capped target is what
  /// they run with); without it, the OOM bump-ups lift the target, the quick-OOM rule evicts
  /// and the kills stop.
  @Test func theCapMakesAnOOMLoopAndTheBumpUpEndsIt() throws {
    let text = try String(contentsOfFile: Self.bundled, encoding: .utf8)
    let capped = try TimelineTests.simulate(text)
    let cappedKills = TimelineTests.events(capped, reason: "OOMKilling")
    #expect(cappedKills.filter { $0 > 4 * 3600 }.count > 20)
    #expect(TimelineTests.events(capped, reason: "EvictedByVPA").filter { $0 > 7200 }.isEmpty)
    let free = try TimelineTests.simulate(
      text.replacingOccurrences(of: "      maxAllowed: {memory: 256Mi}\n", with: ""))
    let kills = TimelineTests.events(free, reason: "OOMKilling")
    #expect(!kills.isEmpty && kills.count < 10)
    #expect(kills.allSatisfy { $0 < 7200 + 1800 })
    #expect(!TimelineTests.events(free, reason: "EvictedByVPA").filter { $0 > 7200 }.isEmpty)
  }

  @Test func theSameScenarioAndSeedGiveTheSameBytes() throws {
    func run() throws -> (String, String) {
      let sim = try Simulation(scenario: try Scenario.read(path: Self.bundled))
      sim.run(until: .seconds(Int64(3 * 3600)))
      return (sim.recorder.timeseries, sim.recorder.events)
    }
    let a = try run()
    let b = try run()
    #expect(a.0 == b.0)
    #expect(a.1 == b.1)
    #expect(a.0.contains(Self.series("targetMemoryBytes")))
  }
}
