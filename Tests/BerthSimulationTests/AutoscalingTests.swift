import BerthCore
import BerthTraces
import Foundation
import Testing

@testable import BerthSimulation

/// The HPA, the usage model and metrics-server in the simulated cluster: hand-computed
/// timelines, with every invariant checked after every event.
struct AutoscalingTests {
  static func deployment(_ replicas: Int, memoryLimit: String? = nil) -> String {
    """
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: \(replicas)
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: app
            image: web
            resources: {requests: {cpu: 500m, memory: 256Mi}\(memoryLimit.map { ", limits: {memory: \($0)}" } ?? "")}
    ---
    {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}}}

    """
  }

  /// An HPA on Deployment web: External metric `queue`, 1 per pod, the default behavior.
  static let queueHPA = """
    ---
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: web}
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
      minReplicas: 1
      maxReplicas: 100
      behavior: {}
      metrics:
      - type: External
        external: {metric: {name: queue}, target: {type: AverageValue, averageValue: "1"}}

    """

  /// External AverageValue of 1 per pod on a load that steps from 2 to 40 at 60 s and back to
  /// 10 at 600 s, with the default behavior (an empty `behavior`): the count grows by at most
  /// max(4 pods, 100 %) per 15 s sync — 2 → 6 → 12 → 24 → 40 at 60, 75, 90, 105 s — and falls
  /// to 10 only 300 s after the last recommendation of 40 (at 585 s): at 885 s.
  @Test func defaultBehaviorScalesUpByTheRateLimitAndDownAfterTheWindow() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: step}
      spec:
        duration: 20m
        loads:
        - name: queue
          shape: {steps: [{at: 0s, value: 2}, {at: 60s, value: 40}, {at: 600s, value: 10}]}

      """ + Self.queueHPA + Self.deployment(2) + TimelineTests.nodes(20, cpu: "8")
    let sim = try TimelineTests.simulate(text)
    let rescales = TimelineTests.events(sim, reason: "SuccessfulRescale", name: "web")
    #expect(rescales == [60, 75, 90, 105, 885])
    #expect(
      TimelineTests.recorded(sim, "HorizontalPodAutoscaler,default,web,desiredReplicas", at: 104)
        == 24)
    #expect(
      TimelineTests.recorded(sim, "HorizontalPodAutoscaler,default,web,desiredReplicas", at: 884)
        == 40)
    #expect(TimelineTests.recorded(sim, "Deployment,default,web,replicas", at: 1199) == 10)
    let messages = sim.recorder.events.split(separator: "\n").filter {
      $0.contains("SuccessfulRescale")
    }
    #expect(
      messages.first?.contains("New size: 6; reason: external metric queue(<nil>) above target")
        == true)
    #expect(messages.last?.contains("New size: 10; reason: All metrics below target") == true)
  }

  /// CPU utilization: 4 pods of 500m each share 200 requests per second at 10m each (+ 50m
  /// base): 550m of 500m = 110 % against a 50 % target → ⌈2.2 × 4⌉ = 9, held at the legacy
  /// path's max(2 × 4, 4) = 8, as soon as the pods have a whole metrics window that began when
  /// they were Ready (they start and turn Ready at 0; the scrape at 15 s covers [0, 15]).
  @Test func cpuUtilizationOnASharedLoadScalesToTheComputedCount() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: cpu}
      spec:
        duration: 2m
        loads:
        - {name: web, shape: {constant: 200}}
        usage:
        - selector: {matchLabels: {app: web}}
          load: web
          service: web
          cpu: {base: 50m, perRequest: 10m}
      ---
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: web}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
        minReplicas: 1
        maxReplicas: 30
        metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}

      """ + Self.deployment(4) + TimelineTests.nodes(10, cpu: "8")
    let sim = try TimelineTests.simulate(text)
    let first = TimelineTests.events(sim, reason: "SuccessfulRescale", name: "web").first
    #expect(first == 15)
    #expect(
      TimelineTests.recorded(sim, "HorizontalPodAutoscaler,default,web,currentMetric:cpu", at: 15)
        == 110)
    #expect(
      TimelineTests.recorded(sim, "HorizontalPodAutoscaler,default,web,desiredReplicas", at: 15)
        == 8)
    #expect(
      sim.horizontalAutoscaling.hpas[0].conditions.contains { $0.reason == "ValidMetricFound" })
    // 4 pods serve (500m − 50m) / 10m = 45 requests per second each: 20 of 200 are dropped
    // until the new pods are Ready.
    #expect(TimelineTests.recorded(sim, "Usage,default,web,servedLoad", at: 15) == 180)
  }

  /// A memory leak above the limit: 100 Mi + 400 Mi per hour passes a 300 Mi limit after
  /// 30 min; the scrape after that (1815 s) kills the container (OOMKilled), which restarts at
  /// once (its run was longer than the 10 min that resets the back-off) and leaks again.
  @Test func aLeakAboveTheLimitIsOOMKilledAndRestarted() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: leak}
      spec:
        duration: 2h
        usage:
        - selector: {matchLabels: {app: web}}
          memory: {base: 100Mi, leakPerHour: 400Mi}

      """ + Self.deployment(1, memoryLimit: "300Mi") + TimelineTests.nodes(1)
    let sim = try TimelineTests.simulate(text)
    let kills = TimelineTests.events(sim, reason: "OOMKilling")
    #expect(kills == [1815, 3630, 5445])
    let pod = try #require(sim.cluster.pods.id(named: sim.cluster.pods.name(PodID(0))))
    #expect(sim.cluster.pods.restarts[pod.index] == 3)
    #expect(sim.records[pod.index].oomKilled)
  }

  /// KEDA: a target never active goes to zero at the first poll (0 s); activation at the poll
  /// after the load rises (60 s: 0 → 1, then the HPA: ⌈50 / 10⌉ = 5); the load stops at 600 s,
  /// the last active poll was 570 s, so zero comes at the first poll at least 300 s later:
  /// 870 s — not before, though the HPA may take it down to its minimum of 1 meanwhile.
  @Test func kedaScalesToZeroOnlyAfterTheCooldownWithoutActivation() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: keda}
      spec:
        duration: 20m
        loads:
        - name: queue
          shape: {steps: [{at: 0s, value: 0}, {at: 60s, value: 50}, {at: 600s, value: 0}]}
      ---
      apiVersion: keda.sh/v1alpha1
      kind: ScaledObject
      metadata: {name: web}
      spec:
        scaleTargetRef: {name: web}
        pollingInterval: 30
        cooldownPeriod: 300
        triggers:
        - type: rabbitmq
          metadata: {queueName: jobs, mode: QueueLength, value: "10", load: queue}

      """ + Self.deployment(2) + TimelineTests.nodes(4, cpu: "8")
    let sim = try TimelineTests.simulate(text)
    #expect(TimelineTests.events(sim, reason: "KEDAScaleTargetDeactivated") == [0, 870])
    #expect(TimelineTests.events(sim, reason: "KEDAScaleTargetActivated") == [60])
    #expect(TimelineTests.recorded(sim, "Deployment,default,web,replicas", at: 869)! >= 1)
    #expect(TimelineTests.recorded(sim, "Deployment,default,web,replicas", at: 870) == 0)
    // The HPA KEDA made: External metric s0-rabbitmq, AverageValue 10 → 5 replicas.
    #expect(
      TimelineTests.recorded(
        sim, "HorizontalPodAutoscaler,default,keda-hpa-web,desiredReplicas", at: 120)
        == 5)
    #expect(
      sim.horizontalAutoscaling.hpas[0].conditions.contains { $0.reason == "ScalingDisabled" })
  }

  /// A metric outage from 600 s to 1200 s under a KEDA ScaledObject (50 per replica of a load
  /// of 50 → 5 replicas). With `fallback: {failureThreshold: 3, replicas: 8}` the HPA's reads
  /// at 600, 615, 630 fail (FailedGetExternalMetric, nothing changes), the fourth (645 s, 4 > 3)
  /// gets 8 × 10 and scales to 8; after the outage (1200 s) the metric says 5 again, reached
  /// at 1500 s: the last recommendation of 8 came at 1185 s, and on the legacy path (no
  /// `behavior`) an entry exactly 300 s old still counts. KEDA's own polls fail meanwhile
  /// (KEDAScalerFailed) without taking anything down. Without a fallback the count stays 5.
  @Test func aMetricOutageFallsBackAfterTheThreshold() throws {
    func scenario(fallback: String) -> String {
      """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: outage}
      spec:
        duration: 30m
        loads:
        - name: queue
          shape: {constant: 50}
          outages: [{at: 10m, duration: 10m}]
      ---
      apiVersion: keda.sh/v1alpha1
      kind: ScaledObject
      metadata: {name: web}
      spec:
        scaleTargetRef: {name: web}
        minReplicaCount: 0
        maxReplicaCount: 20\(fallback)
        triggers:
        - type: rabbitmq
          metadata: {queueName: jobs, mode: QueueLength, value: "10", load: queue}

      """ + Self.deployment(5) + TimelineTests.nodes(4, cpu: "8")
    }
    let sim = try TimelineTests.simulate(
      scenario(fallback: "\n  fallback: {failureThreshold: 3, replicas: 8}"))
    let rescales = TimelineTests.events(sim, reason: "SuccessfulRescale")
    #expect(rescales == [645, 1500], "\(rescales)")
    #expect(
      TimelineTests.events(sim, reason: "FailedGetExternalMetric").prefix(3) == [600, 615, 630])
    #expect(TimelineTests.recorded(sim, "Deployment,default,web,replicas", at: 1000) == 8)
    #expect(TimelineTests.recorded(sim, "Deployment,default,web,replicas", at: 1799) == 5)
    #expect(!TimelineTests.events(sim, reason: "KEDAScalerFailed").isEmpty)
    #expect(TimelineTests.events(sim, reason: "KEDAScaleTargetDeactivated").isEmpty)
    let plain = try TimelineTests.simulate(scenario(fallback: ""))
    #expect(TimelineTests.events(plain, reason: "SuccessfulRescale").isEmpty)
    #expect(TimelineTests.events(plain, reason: "FailedGetExternalMetric").count == 40)
    #expect(TimelineTests.recorded(plain, "Deployment,default,web,replicas", at: 1799) == 5)
  }

  /// A per-pod usage trace (the CSV `vpa recommend` reads): two recorded pods, one whose
  /// memory steps from 100 Mi to 400 Mi at 10 min, one at 200 Mi throughout (two containers
  /// of 100 Mi, summed); the Deployment's first pod replays the first, its second the second.
  /// Against a 300 Mi limit the first is OOM-killed at the first scrape at or after 600 s, again
  /// after each restart; the second never. CPU is the recorded one, summed for the entry.
  @Test func aUsageTraceIsReplayedPodByPod() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "berth-trace-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var csv = "time,namespace,pod,container,cpu_cores,memory_bytes\n"
    for minute in 0...30 {
      let t = String(format: "2026-01-01T00:%02d:00Z", minute)
      let a = minute < 10 ? 100 : 400
      csv += "\(t),prod,api-a,app,0.25,\(a * 1_048_576)\n"
      csv += "\(t),prod,api-b,app,0.1,\(100 * 1_048_576)\n"
      csv += "\(t),prod,api-b,proxy,0.05,\(100 * 1_048_576)\n"
    }
    try csv.write(to: dir.appendingPathComponent("usage.csv"), atomically: true, encoding: .utf8)
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: trace}
      spec:
        duration: 30m
        usage:
        - selector: {matchLabels: {app: web}}
          trace: {file: usage.csv}

      """ + Self.deployment(2, memoryLimit: "300Mi") + TimelineTests.nodes(2)
    let path = dir.appendingPathComponent("scenario.yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let sim = try Simulation(scenario: try Scenario.read(path: path))
    sim.engine.checksInvariants = true
    sim.engine.invariants = { _ in #expect(sim.invariantViolations().isEmpty) }
    sim.run()
    let kills = TimelineTests.events(sim, reason: "OOMKilling")
    #expect(kills.first == 600)
    #expect(kills.count >= 3)
    let first = sim.cluster.pods.name(PodID(0))
    #expect(TimelineTests.events(sim, reason: "OOMKilling", name: first).count == kills.count)
    // Both pods running at 5 min: 250m + 150m.
    #expect(TimelineTests.recorded(sim, "Usage,default,usage-0,usedCpuMillis", at: 300) == 400)
    // A bad trace is one line naming the file.
    try "time,namespace,pod\n".write(
      to: dir.appendingPathComponent("usage.csv"), atomically: true, encoding: .utf8)
    #expect(throws: InputError.self) { try Scenario.read(path: path) }
  }

  @Test func theSameScenarioAndSeedGiveTheSameBytes() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("datasets/scenarios/hpa-diurnal.yaml")
      .path
    func run() throws -> (String, String) {
      let sim = try Simulation(scenario: try Scenario.read(path: path))
      sim.run(until: .seconds(Int64(6 * 3600)))
      return (sim.recorder.timeseries, sim.recorder.events)
    }
    let a = try run()
    let b = try run()
    #expect(a.0 == b.0)
    #expect(a.1 == b.1)
    #expect(a.0.contains("HorizontalPodAutoscaler,default,web,desiredReplicas"))
  }
}

/// The HPA controller's reconciles of one sync worked out on several threads: the same outputs
/// as on one, whatever runs beside what.
struct ParallelReconcileTests {
  /// Eighteen Deployments with CPU HPAs on stepped loads; next to them the HPAs that must
  /// reconcile in turn: two on one target, one on an External metric; a VPA resizing pods in
  /// place (app-0 asks 16 Mi of memory and uses over 64 Mi: the updater raises it soon).
  static func scenario() -> String {
    var text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: many-hpas}
      spec:
        duration: 90m
        seed: 3
        behaviors:
        - {selector: {}, imagePull: {uniform: [1s, 9s]}, readyAfter: {uniform: [3s, 20s]}}
        loads:

      """
    let apps = 18
    for d in 0..<apps {
      let low = 100 + d * 13
      text += """
          - {name: load-\(d), shape: {poisson: {interval: 15s, shape: {steps: [{at: 0s, value: \(low)}, {at: \(10 + d)m, value: \(low * 6)}, {at: \(50 + d)m, value: \(low)}]}}}}

        """
    }
    text += "  usage:\n"
    for d in 0..<apps {
      text += """
          - {selector: {matchLabels: {app: app-\(d)}}, load: load-\(d), service: app-\(d), cpu: {base: 20m, perRequest: 4m}, memory: {base: 64Mi, perRequest: 100Ki}}

        """
    }
    for d in 0..<apps {
      text += """
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: app-\(d)}
        spec:
          replicas: 2
          selector: {matchLabels: {app: app-\(d)}}
          template:
            metadata: {labels: {app: app-\(d)}}
            spec:
              containers: [{name: app, image: "app:\(d)", resources: {requests: {cpu: 500m, memory: \(d == 0 ? "16Mi" : "256Mi")}, limits: {cpu: "1"}}}]
        ---
        {apiVersion: v1, kind: Service, metadata: {name: app-\(d)}, spec: {selector: {app: app-\(d)}}}
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: app-\(d)}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: app-\(d)}
          minReplicas: 2
          maxReplicas: 30
          metrics:
          - type: Resource
            resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
          - type: ContainerResource
            containerResource: {name: memory, container: app, target: {type: AverageValue, averageValue: 900Mi}}

        """
    }
    text += """
      ---
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: app-1-again}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: app-1}
        minReplicas: 3
        maxReplicas: 12
        metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 40}}
      ---
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: app-2-external}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: app-2}
        minReplicas: 2
        maxReplicas: 30
        metrics:
        - type: External
          external: {metric: {name: load-2}, target: {type: AverageValue, averageValue: "150"}}
      ---
      apiVersion: autoscaling.k8s.io/v1
      kind: VerticalPodAutoscaler
      metadata: {name: app-0}
      spec:
        targetRef: {apiVersion: apps/v1, kind: Deployment, name: app-0}
        updatePolicy: {updateMode: InPlaceOrRecreate}
        resourcePolicy:
          containerPolicies:
          - {containerName: "*", controlledResources: [memory]}
      ---
      apiVersion: v1
      kind: List
      items:

      """
    for n in 0..<12 {
      text += """
        - {apiVersion: v1, kind: Node, metadata: {name: node-\(n)}, status: {allocatable: {cpu: "16", memory: 64Gi, pods: "110"}}}

        """
    }
    return text
  }

  @Test("one, two or three threads: the same time series, events and pod rows")
  func sameOutputsOnAnyThreads() throws {
    let text = Self.scenario()
    func run(_ threads: Int) throws -> (outputs: [String], ahead: Int, retries: Int) {
      let sim = try Simulation(scenario: try Scenario.parse(text, file: "many.yaml"))
      sim.threads = threads
      // Limits leave the cache as a resize makes them: reconciles beside others must stop
      // at them, those in turn work them out and go again.
      for minute in [20, 21, 40] {
        sim.advance(until: VirtualTime(nanoseconds: Int64(minute) * 60_000_000_000 + 5))
        sim.workloadMetrics.forgetLimits()
      }
      sim.run()
      let h = sim.horizontalAutoscaling!
      return (
        [sim.recorder.timeseries, sim.recorder.events, SimulationOutputs.podsCSV(sim)],
        h.reconciledAhead, h.limitRetries
      )
    }
    let one = try run(1)
    #expect(one.ahead == 0)
    #expect(one.retries > 0)
    #expect(one.outputs[1].contains("InPlaceResizedByVPA"))
    #expect(one.outputs[1].contains("SuccessfulRescale"))
    for threads in [2, 3] {
      let many = try run(threads)
      // Every reconcile of the HPAs that may run beside others, but those retried in turn.
      #expect(many.ahead > 0)
      #expect(many.retries > 0)
      #expect(many.outputs == one.outputs, "\(threads) threads")
    }
  }
}
