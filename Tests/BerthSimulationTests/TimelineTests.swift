import BerthCore
import BerthScheduling
import Foundation
import Testing

@testable import BerthSimulation

/// Scenarios run to hand-computed facts: the invariants hold after every event, and the
/// timeline is what upstream's rules give.
struct TimelineTests {
  static let s: Int64 = 1_000_000_000

  static func nodes(_ n: Int, cpu: String = "4") -> String {
    (0..<n).map {
      "---\n{apiVersion: v1, kind: Node, metadata: {name: node-\($0)}, status: {allocatable: {cpu: \"\(cpu)\", memory: 16Gi, pods: \"110\"}}}\n"
    }.joined()
  }

  static func simulate(_ text: String, seed: UInt64? = nil, check: ((Simulation) -> Void)? = nil)
    throws -> Simulation
  {
    let scenario = try Scenario.parse(text, file: "test.yaml")
    let sim = try Simulation(scenario: scenario, seed: seed)
    sim.engine.checksInvariants = true
    sim.engine.invariants = { _ in
      let violations = sim.invariantViolations()
      #expect(violations.isEmpty, "\(violations.first ?? "")")
      sim.cluster.checkInvariants()
      check?(sim)
    }
    sim.run()
    return sim
  }

  static func events(_ sim: Simulation, reason: String, name: String? = nil) -> [Double] {
    sim.recorder.events.split(separator: "\n").filter { line in
      line.contains("\"reason\":\"\(reason)\"")
        && (name.map { n in line.contains("\"name\":\"\(n)") } ?? true)
    }.compactMap { line in
      let start = line.index(line.startIndex, offsetBy: 10)
      return Double(line[start...].prefix { $0 != "," })
    }
  }

  /// A series' value at `t` seconds: timeseries.csv's last row for it at or before then.
  static func recorded(_ sim: Simulation, _ series: String, at t: Double) -> Int64? {
    let key = "," + series + ","
    return sim.recorder.timeseries.split(separator: "\n").compactMap { line -> Int64? in
      guard let r = line.range(of: key), let at = Double(line[..<r.lowerBound]), at <= t
      else { return nil }
      return Int64(line[r.upperBound...])
    }.last
  }

  static let web = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 10
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - {name: app, image: "web:v1", resources: {requests: {cpu: 100m, memory: 64Mi}}}

    """

  @Test(
    "a rolling update stays within replicas + maxSurge pods and replicas − maxUnavailable available"
  )
  func rollingUpdateBounds() throws {
    var maxActive = 0
    // Available pods as each instant settles (pods turn ready one event at a time).
    var availableAt: [Int64: Int] = [:]
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 10m
        behaviors:
        - {selector: {matchLabels: {app: web}}, imagePull: 2s, readyAfter: 5s, stopAfter: 3s}
        actions:
        - {at: 60s, setImage: {kind: Deployment, name: web, container: app, image: "web:v2"}}
      ---
      \(Self.web)\(Self.nodes(3))
      """
    let sim = try Self.simulate(text) { sim in
      let pods = sim.cluster.pods
      var active = 0
      var available = 0
      for p in 0..<pods.count {
        let id = PodID(UInt32(p))
        guard sim.isActive(id), !sim.isGone(id) else { continue }
        active += 1
        if sim.isReady(id) { available += 1 }
      }
      maxActive = max(maxActive, active)
      availableAt[sim.now.nanoseconds] = available
    }
    #expect(maxActive == 13, "10 replicas + ⌈25 %⌉ surge")
    let settled = availableAt.filter { $0.key >= 7 * Self.s }.map(\.value)
    #expect(settled.min() == 8, "10 replicas − ⌊25 %⌋ unavailable")
    let d = sim.deployments.deployments[0]
    #expect(d.availableReplicas == 10 && d.updatedReplicas == 10)
    #expect(d.replicaSets.count == 2)
    #expect(d.progressing?.reason == "NewReplicaSetAvailable")
    // First step as upstream takes it: new ReplicaSet to 3, old to 8, new to 5.
    let scaling = sim.recorder.events.split(separator: "\n").filter {
      $0.contains("ScalingReplicaSet") && $0.hasPrefix("{\"time_s\":60.000")
    }
    #expect(scaling.count == 3)
    #expect(scaling[0].contains("from 0 to 3") && scaling[1].contains("from 10 to 8"))
    #expect(scaling[2].contains("from 3 to 5"))
  }

  @Test("Recreate: no new pod before every old one is gone")
  func recreate() throws {
    var overlap = false
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 5m
        behaviors:
        - {selector: {matchLabels: {app: web}}, readyAfter: 5s, stopAfter: 20s}
        actions:
        - {at: 60s, setImage: {kind: Deployment, name: web, container: app, image: "web:v2"}}
      ---
      \(Self.web.replacingOccurrences(of: "  replicas: 10\n", with: "  replicas: 4\n  strategy: {type: Recreate}\n"))\(Self.nodes(2))
      """
    let sim = try Self.simulate(text) { sim in
      let live = sim.replicaSets.sets.map { rs in rs.pods.contains { !sim.isGone($0) } }
      if live.filter({ $0 }).count > 1 { overlap = true }
    }
    #expect(!overlap)
    let created = Self.events(sim, reason: "SuccessfulCreate")
    #expect(
      created.filter { $0 > 0 }.allSatisfy { $0 == 80 },
      "new pods once the old stopped, 60 s + 20 s")
    #expect(sim.deployments.deployments[0].availableReplicas == 4)
  }

  @Test("a Job with parallelism 2 and 5 completions of 30 s finishes in three waves, at 90 s")
  func jobWaves() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 5m
        behaviors:
        - {selector: {matchLabels: {job: batch}}, exitAfter: 30s}
      ---
      apiVersion: batch/v1
      kind: Job
      metadata: {name: batch}
      spec:
        parallelism: 2
        completions: 5
        template:
          metadata: {labels: {job: batch}}
          spec:
            restartPolicy: Never
            containers: [{name: work, image: busybox, resources: {requests: {cpu: 100m}}}]
      \(Self.nodes(1))
      """
    let sim = try Self.simulate(text)
    let j = sim.jobs.jobs[0]
    #expect(j.succeeded == 5 && j.failed == 0)
    #expect(j.finished?.complete == true)
    #expect(j.finished?.at == .seconds(Int64(90)))
    #expect(Self.events(sim, reason: "SuccessfulCreate") == [0, 0, 30, 30, 60])
    #expect(Self.events(sim, reason: "Completed") == [90])
  }

  @Test("a failing Job: the pod-failure back-off between attempts, then BackoffLimitExceeded")
  func jobBackoffLimit() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 10m
        behaviors:
        - {selector: {matchLabels: {job: flaky}}, exitAfter: 1s, exitCode: 1}
      ---
      apiVersion: batch/v1
      kind: Job
      metadata: {name: flaky}
      spec:
        backoffLimit: 3
        template:
          metadata: {labels: {job: flaky}}
          spec:
            restartPolicy: Never
            containers: [{name: work, image: busybox}]
      \(Self.nodes(1))
      """
    let sim = try Self.simulate(text)
    // Attempts at 0; failure at 1 → +10 s; failure at 12 → +20 s; failure at 33 → +40 s.
    #expect(Self.events(sim, reason: "SuccessfulCreate") == [0, 11, 32, 73])
    #expect(Self.events(sim, reason: "BackoffLimitExceeded") == [74])
    #expect(sim.jobs.jobs[0].failed == 4)
  }

  /// An Indexed Job of four 10-second completions whose index 1 exits with `code` after 5 s.
  static func indexedJob(_ spec: String, code: Int = 1) -> String {
    """
    apiVersion: berth.dev/v1alpha1
    kind: Scenario
    metadata: {name: t}
    spec:
      duration: 10m
      behaviors:
      - {selector: {matchLabels: {batch.kubernetes.io/job-completion-index: "1"}}, exitAfter: 5s, exitCode: \(code)}
      - {selector: {matchLabels: {job: idx}}, exitAfter: 10s, exitCode: 0}
    ---
    apiVersion: batch/v1
    kind: Job
    metadata: {name: idx}
    spec:
      completions: 4
      parallelism: 4
      completionMode: Indexed
    \(spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
      template:
        metadata: {labels: {job: idx}}
        spec:
          restartPolicy: Never
          containers: [{name: work, image: busybox}]
    \(Self.nodes(2))
    """
  }

  @Test("backoffLimitPerIndex: an index retried after its own back-off, then failed; the Job fails")
  func backoffLimitPerIndex() throws {
    let sim = try Self.simulate(Self.indexedJob("backoffLimitPerIndex: 1"))
    // Index 1 fails at 5 s, is retried 10 s later (at 15 s), fails again at 20 s: with one
    // failure before it, that exceeds the limit of 1 and the index fails; the other three
    // succeeded at 10 s, so every index is done and the Job fails with FailedIndexes.
    #expect(Self.events(sim, reason: "SuccessfulCreate") == [0, 0, 0, 0, 15])
    #expect(Self.events(sim, reason: "FailedIndexes") == [20])
    let job = sim.jobs.jobs[0]
    #expect(job.failed == 2 && job.succeeded == 3)
    #expect(JobController.intervals(job.failedIndexes) == "1")
    #expect(JobController.intervals(job.succeededIndexes) == "0,2-3")
    #expect(
      SimulationOutputs.summaryJSON(sim, facts: .init(berthVersion: "", inputs: [], wallSeconds: 1))
        .contains("\"completedIndexes\": \"0,2-3\", \"failedIndexes\": \"1\""))
  }

  @Test("maxFailedIndexes: one failed index too many fails the Job at once, its pods deleted")
  func maxFailedIndexes() throws {
    let text = Self.indexedJob("backoffLimitPerIndex: 0\nmaxFailedIndexes: 0")
    let sim = try Self.simulate(text)
    #expect(Self.events(sim, reason: "MaxFailedIndexesExceeded") == [5])
    #expect(Self.events(sim, reason: "SuccessfulCreate") == [0, 0, 0, 0])
    let job = sim.jobs.jobs[0]
    #expect(job.succeeded == 0 && job.failed == 1)
  }

  @Test("a FailIndex rule fails the index at its first failure, within a larger per-index limit")
  func failIndexRule() throws {
    let spec = """
      backoffLimitPerIndex: 3
      podFailurePolicy:
        rules:
        - {action: FailIndex, onExitCodes: {operator: In, values: [42]}}
      """
    let sim = try Self.simulate(Self.indexedJob(spec, code: 42))
    #expect(Self.events(sim, reason: "SuccessfulCreate") == [0, 0, 0, 0])
    #expect(Self.events(sim, reason: "FailedIndexes") == [10])
    // Exit code 1 is no FailIndex match: the index is retried up to its limit, each retry
    // after its own back-off — failures at 5, 20, 45 and 90 s, retries 10, 20 and 40 s later;
    // the fourth failure, with three before it, fails the index.
    let retried = try Self.simulate(Self.indexedJob(spec, code: 1))
    #expect(Self.events(retried, reason: "SuccessfulCreate") == [0, 0, 0, 0, 15, 40, 85])
    #expect(Self.events(retried, reason: "FailedIndexes") == [90])
  }

  @Test("rollout undo takes a DaemonSet and a StatefulSet back to a ControllerRevision's template")
  func controllerRevisionUndo() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 15m
        behaviors:
        - {selector: {}, readyAfter: 2s}
        actions:
        - {at: 10s, setImage: {kind: DaemonSet, name: agent, container: agent, image: "agent:v2"}}
        - {at: 10s, setImage: {kind: StatefulSet, name: db, container: db, image: "db:v2"}}
        - {at: 300s, rolloutUndo: {kind: DaemonSet, name: agent}}
        - {at: 300s, rolloutUndo: {kind: StatefulSet, name: db}}
        - {at: 600s, rolloutUndo: {kind: DaemonSet, name: agent, toRevision: 3}}
        - {at: 700s, rolloutUndo: {kind: StatefulSet, name: db, toRevision: 9}}
      ---
      apiVersion: apps/v1
      kind: DaemonSet
      metadata: {name: agent}
      spec:
        selector: {matchLabels: {app: agent}}
        template:
          metadata: {labels: {app: agent}}
          spec:
            containers: [{name: agent, image: "agent:v1", resources: {requests: {cpu: 100m}}}]
      ---
      apiVersion: apps/v1
      kind: StatefulSet
      metadata: {name: db}
      spec:
        replicas: 2
        serviceName: db
        selector: {matchLabels: {app: db}}
        template:
          metadata: {labels: {app: db}}
          spec:
            containers: [{name: db, image: "db:v1", resources: {requests: {cpu: 100m}}}]
      \(Self.nodes(3))
      """
    let sim = try Self.simulate(text)
    func images(_ prefix: String) -> [String] {
      let pods = sim.cluster.pods
      return (0..<pods.count).map { PodID(UInt32($0)) }.filter {
        !pods.isReleased($0) && !sim.isGone($0) && pods.name($0).hasPrefix(prefix)
      }.map { sim.mainContainer($0).image }
    }
    // Revision 1 (v1), 2 (v2), then the undo makes v1's revision 3: every pod back on v1.
    let ds = sim.daemonSets.sets[0]
    #expect(ds.generation == 3 && images("agent-") == ["agent:v1", "agent:v1", "agent:v1"])
    #expect(ds.history.entries.map(\.revision).sorted() == [2, 3])
    let db = sim.statefulSets.sets[0]
    #expect(images("db-") == ["db:v1", "db:v1"])
    #expect(db.currentRevision == db.updateRevision)
    // Undoing to the revision in force changes nothing; an unknown revision fails the action.
    let events = sim.recorder.events
    #expect(events.contains("skipped rollback (current template already matches revision 3)"))
    #expect(events.contains("unable to find specified revision 9 in history"))
  }

  @Test("a crash-looping container restarts at once, then after 10, 20, 40, 80, 160, 300, 300 s")
  func crashLoop() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 25m
        behaviors:
        - {selector: {matchLabels: {app: web}}, exitAfter: 5s, exitCode: 1}
      ---
      \(Self.web.replacingOccurrences(of: "replicas: 10", with: "replicas: 1"))\(Self.nodes(1))
      """
    let sim = try Self.simulate(text)
    let starts = Self.events(sim, reason: "Started")
    let gaps = zip(starts.dropFirst(), starts).map { Int($0 - $1) - 5 }
    #expect(Array(gaps.prefix(8)) == [0, 10, 20, 40, 80, 160, 300, 300])
    #expect(!Self.events(sim, reason: "BackOff").isEmpty)
    #expect(sim.cluster.pods.restarts[0] == Int32(starts.count - 1))
  }

  @Test("a sidecar restarts with its own back-off while the app runs on, its pod unready meanwhile")
  func sidecar() throws {
    let text = try String(contentsOfFile: "datasets/scenarios/sidecar.yaml", encoding: .utf8)
    let sim = try Self.simulate(text)
    let pods = sim.cluster.pods
    let api = (0..<pods.count).map { PodID(UInt32($0)) }.filter {
      pods.name($0).hasPrefix("api-")
    }
    try #require(api.count == 2)
    let name = pods.name(api[0])
    let lines = sim.recorder.events.split(separator: "\n").filter {
      $0.contains("\"name\":\"\(name)\"") && $0.contains("\"reason\":\"Started\"")
    }
    func times(_ container: String) -> [Double] {
      lines.filter { $0.contains("Started container \(container)\"") }.compactMap {
        Double($0.dropFirst(10).prefix { $0 != "," })
      }
    }
    // The proxy starts first; the migrate init container's 5 s alone delay the app.
    #expect(times("api") == [5])
    let proxy = times("proxy")
    #expect(proxy.first == 0)
    // It exits 60 s after each start: back at once, then after 10, 20, 40, 80, 160, 300 s.
    #expect(
      zip(proxy.dropFirst(), proxy).map { Int($0 - $1) - 60 } == [0, 10, 20, 40, 80, 160, 300])
    #expect(api.allSatisfy { pods.restarts[$0.index] == 7 && pods.phase(of: $0) == .running })
    // While the proxies are down (120–130 s) no endpoint is ready; then both are again.
    func endpointsAt(_ t: Double) -> Int64? {
      Self.recorded(sim, "Service,default,api,readyEndpoints", at: t)
    }
    #expect(endpointsAt(125) == 0 && endpointsAt(135) == 2 && endpointsAt(100) == 2)
    // The Job completes when its main containers exit; the sidecars do not hold it.
    let job = sim.jobs.jobs[0]
    #expect(job.succeeded == 2 && job.finished?.complete == true)
    #expect(job.finished?.at == .seconds(Int64(90)))
  }

  @Test("a failed node's pods are replaced only after the grace period and their toleration")
  func nodeFailure() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 20m
        behaviors:
        - {selector: {matchLabels: {app: web}}, readyAfter: 1s}
        actions:
        - {at: 100s, failNode: {name: node-0}}
        - {at: 900s, recoverNode: {name: node-0}}
      ---
      \(Self.web.replacingOccurrences(of: "replicas: 10", with: "replicas: 4"))\(Self.nodes(2))
      """
    let sim = try Self.simulate(text)
    let onFailed = (0..<4).filter { sim.records[$0].node == 0 }
    #expect(!onFailed.isEmpty)
    // NotReady at 100 + 50 s; evicted at 150 + 300 s; replaced at once.
    #expect(Self.events(sim, reason: "NodeNotReady", name: "node-0") == [150])
    #expect(Self.events(sim, reason: "TaintManagerEviction").allSatisfy { $0 == 450 })
    #expect(Self.events(sim, reason: "TaintManagerEviction").count == onFailed.count)
    let creations = Self.events(sim, reason: "SuccessfulCreate")
    #expect(creations.filter { $0 > 0 } == Array(repeating: 450, count: onFailed.count))
    // The evicted pods stay Terminating until the node is back.
    for p in onFailed {
      #expect(
        sim.cluster.pods.time(sim.cluster.pods.deletedAt, of: PodID(UInt32(p)))
          == .seconds(Int64(900)))
    }
    #expect(sim.deployments.deployments[0].availableReplicas == 4)
  }

  @Test("the Kubernetes 1.31 defaults: node-monitor-grace-period 40 s")
  func versionDefaults() throws {
    let s = try Scenario.parse(
      """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec: {duration: 1m, settings: {kubernetesVersion: "1.31"}}
      """, file: "t.yaml")
    #expect(s.settings.nodeMonitorGracePeriod == .seconds(Int64(40)))
    #expect(SimulationSettings().nodeMonitorGracePeriod == .seconds(Int64(50)))
  }

  @Test("a */5 CronJob over an hour creates 12 Jobs and keeps three finished ones")
  func cronJob() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 1h
        behaviors:
        - {selector: {matchLabels: {app: report}}, exitAfter: 10s}
      ---
      apiVersion: batch/v1
      kind: CronJob
      metadata: {name: report}
      spec:
        schedule: "*/5 * * * *"
        jobTemplate:
          spec:
            template:
              metadata: {labels: {app: report}}
              spec:
                restartPolicy: OnFailure
                containers: [{name: r, image: busybox}]
      \(Self.nodes(1))
      """
    let sim = try Self.simulate(text)
    let created = Self.events(sim, reason: "SuccessfulCreate", name: "report")
    let jobs = sim.recorder.events.split(separator: "\n").filter {
      $0.contains("\"kind\":\"CronJob\"") && $0.contains("SuccessfulCreate")
    }
    #expect(jobs.count == 12)
    #expect(created.first == 300)
    // The first Job is named after its scheduled minute: 2024-01-01T00:05Z.
    #expect(jobs[0].contains("report-\((1_704_067_200 + 300) / 60)"))
    #expect(sim.cronJobs.cronJobs[0].jobs.count <= 4)
  }

  @Test("rollout undo returns to the previous template's ReplicaSet under a new revision")
  func rolloutUndo() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 10m
        behaviors:
        - {selector: {matchLabels: {app: web}}, readyAfter: 2s}
        actions:
        - {at: 60s, setImage: {kind: Deployment, name: web, container: app, image: "web:v2"}}
        - {at: 300s, rolloutUndo: {kind: Deployment, name: web}}
      ---
      \(Self.web)\(Self.nodes(3))
      """
    let sim = try Self.simulate(text)
    let d = sim.deployments.deployments[0]
    let sets = d.replicaSets.map { sim.replicaSets.sets[$0] }
    #expect(sets.count == 2)
    let first = sets.first { $0.created == .zero }!
    #expect(first.replicas == 10 && first.revision == 3)
    #expect(sets.first { $0 !== first }!.replicas == 0)
  }

  /// The DaemonSet fields of the bundled `daemonset` scenario at an instant.
  static func daemonStatus(_ sim: Simulation, _ name: String) -> DaemonSetState.Status {
    sim.daemonSets.sets[sim.daemonSets.sets.firstIndex { $0.object.name == name }!].status
  }

  @Test("DaemonSets: one pod per admitted node, pinned by name; a node added later gets one")
  func daemonSetPlacement() throws {
    let text = try String(contentsOfFile: "datasets/scenarios/daemonset.yaml", encoding: .utf8)
    var desiredBefore = 0
    let sim = try Self.simulate(text) { sim in
      if sim.now == .seconds(Int64(299)) || sim.now < .seconds(Int64(300)) {
        desiredBefore = Self.daemonStatus(sim, "node-exporter").desired
      }
      // Every bound daemon pod sits on the node its affinity names.
      let pods = sim.cluster.pods
      for p in 0..<pods.count {
        let id = PodID(UInt32(p))
        guard sim.records[p].ownerKind == .daemonSet, let n = pods.boundNode(id) else { continue }
        #expect(Int32(n.index) == sim.records[p].targetNode, "\(sim.name(id))")
      }
    }
    #expect(desiredBefore == 3)
    let exporter = Self.daemonStatus(sim, "node-exporter")
    #expect(exporter.desired == 4 && exporter.available == 4 && exporter.misscheduled == 0)
    let gpu = Self.daemonStatus(sim, "gpu-driver")
    #expect(gpu.desired == 1 && gpu.available == 1)
    // The GPU driver runs on node-d and nowhere else; node-exporter everywhere but node-d.
    let pods = sim.cluster.pods
    var exporterNodes: [String] = []
    for p in 0..<pods.count where !sim.isGone(PodID(UInt32(p))) {
      let id = PodID(UInt32(p))
      let node = pods.boundNode(id).map { sim.cluster.nodes.name($0) } ?? "-"
      if sim.ownerName(id).name == "gpu-driver" { #expect(node == "node-d") }
      if sim.ownerName(id).name == "node-exporter" { exporterNodes.append(node) }
    }
    #expect(exporterNodes.sorted() == ["node-a", "node-b", "node-c", "node-e"])
    // Its pod arrived on node-e when it joined.
    #expect(Self.events(sim, reason: "SuccessfulCreate", name: "node-exporter").contains(300))
  }

  @Test("a DaemonSet rolls out node by node: never more than maxUnavailable nodes unavailable")
  func daemonSetRollingUpdate() throws {
    let text = try String(contentsOfFile: "datasets/scenarios/daemonset.yaml", encoding: .utf8)
    var worst = 0
    let sim = try Self.simulate(text) { sim in
      let t = sim.now.nanoseconds
      guard t > 20 * Self.s && t < 300 * Self.s else { return }
      // Settled instants only: the status is published when the controller syncs.
      guard !sim.daemonSets.isPending(0) else { return }
      worst = max(worst, Self.daemonStatus(sim, "node-exporter").unavailable)
    }
    #expect(worst == 1)
    let ds = sim.daemonSets.sets[0]
    #expect(ds.generation == 2 && ds.status.updated == 4)
    // The three old pods went one after another, each once the previous node's new pod was
    // available: pull 3 s + ready 5 s after the 2 s stop.
    let deletes = Self.events(sim, reason: "SuccessfulDelete", name: "node-exporter")
    #expect(deletes == [60, 70, 80])
  }

  @Test("a failed node keeps its daemon pods: tolerated unreachable, counted misscheduled")
  func daemonSetNodeFailure() throws {
    let text = try String(contentsOfFile: "datasets/scenarios/daemonset.yaml", encoding: .utf8)
    let sim = try Self.simulate(text)
    // The recorded series at 600 s, while node-b is unreachable.
    func at600(_ field: String) -> Int64? {
      Self.recorded(sim, "DaemonSet,monitoring,node-exporter,\(field)", at: 600)
    }
    let during = (
      desired: at600("desiredNumberScheduled"), misscheduled: at600("numberMisscheduled")
    )
    #expect(during.desired == 3 && during.misscheduled == 1)
    #expect(Self.events(sim, reason: "TaintManagerEviction").isEmpty)
    #expect(
      Self.events(sim, reason: "SuccessfulCreate", name: "node-exporter").allSatisfy { $0 < 400 })
  }

  @Test("a StatefulSet: ordered creation, a rolling update from the top, scaling at the top")
  func statefulSetOrdering() throws {
    let text = try String(contentsOfFile: "datasets/scenarios/statefulset.yaml", encoding: .utf8)
    // db's pods in the order they were made or deleted, with the time.
    func log(_ sim: Simulation, _ reason: String) -> [String] {
      sim.recorder.events.split(separator: "\n").filter {
        $0.contains("\"reason\":\"\(reason)\"") && $0.contains("\"name\":\"db\"")
      }.map { line in
        let t = Double(line.dropFirst(10).prefix { $0 != "," })!
        let pod = line.split(separator: " ")[2]
        return "\(Int(t)):\(pod)"
      }
    }
    let sim = try Self.simulate(text)
    // OrderedReady: each pod once the one before is Running and Ready (pull 2 s + ready 5 s,
    // then 5 s on a node that has the image).
    #expect(
      log(sim, "SuccessfulCreate") == [
        "0:db-0", "7:db-1", "14:db-2", "63:db-2", "73:db-1", "83:db-0", "150:db-3", "155:db-4",
      ])
    // The update from the highest ordinal down, each after the last replacement is Ready; the
    // scale-down from the top, each once the last pod is gone (stop 3 s).
    #expect(
      log(sim, "SuccessfulDelete") == [
        "60:db-2", "70:db-1", "80:db-0", "240:db-4", "243:db-3", "246:db-2",
      ])
    let db = sim.statefulSets.sets[0]
    #expect(db.currentRevision == db.updateRevision)
    #expect(db.status == .init(replicas: 2, ready: 2, current: 2, updated: 2, available: 2))
    // Parallel with partition 2: all three at once; only cache-2 takes the new revision.
    let cache = sim.statefulSets.sets[1]
    #expect(cache.status.updated == 1 && cache.status.current == 2 && cache.status.ready == 3)
    #expect(cache.currentRevision != cache.updateRevision)
    #expect(
      Self.events(sim, reason: "SuccessfulCreate", name: "cache") == [0, 0, 0, 63])
  }

  @Test("podFailurePolicy: FailJob on an exit code at once; an evicted pod ignored and replaced")
  func podFailurePolicy() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 20m
        behaviors:
        - {selector: {matchLabels: {app: flaky}}, imagePull: 2s, exitAfter: 10s, exitCode: 42}
        - {selector: {matchLabels: {app: steady}}, imagePull: 2s, exitAfter: 100s, stopAfter: 1s}
        actions:
        - {at: 30s, failNode: {name: node-0}}
        - {at: 500s, recoverNode: {name: node-0}}
      ---
      apiVersion: batch/v1
      kind: Job
      metadata: {name: flaky}
      spec:
        backoffLimit: 6
        podFailurePolicy:
          rules:
          - {action: Ignore, onExitCodes: {operator: In, values: [1, 2]}}
          - {action: FailJob, onExitCodes: {containerName: main, operator: In, values: [42]}}
        template:
          metadata: {labels: {app: flaky}}
          spec:
            restartPolicy: Never
            containers: [{name: main, image: x, resources: {requests: {cpu: 100m}}}]
      ---
      apiVersion: batch/v1
      kind: Job
      metadata: {name: steady}
      spec:
        backoffLimit: 0
        podFailurePolicy:
          rules:
          - {action: Ignore, onPodConditions: [{type: DisruptionTarget}]}
        template:
          metadata: {labels: {app: steady}}
          spec:
            restartPolicy: Never
            containers: [{name: main, image: y, resources: {requests: {cpu: 100m}}}]
      \(Self.nodes(1))
      """
    let sim = try Self.simulate(text)
    let flaky = sim.jobs.jobs[0]
    #expect(flaky.finished?.complete == false && flaky.finished?.reason == "PodFailurePolicy")
    #expect(flaky.finished?.at == .seconds(Int64(12)))
    #expect(flaky.failed == 1)
    #expect(
      sim.recorder.events.contains(
        "Container main for pod default/flaky-")
        && sim.recorder.events.contains(
          "failed with exit code 42 matching FailJob rule at index 1")
    )
    // The steady Job's pod is evicted from the failed node at 380 s (50 s grace, 300 s
    // toleration): ignored, not failed, replaced only once it is gone after the node's return.
    let steady = sim.jobs.jobs[1]
    #expect(steady.failed == 0 && steady.finished?.complete == true)
    let creates = Self.events(sim, reason: "SuccessfulCreate", name: "steady")
    #expect(creates.count == 2 && creates[0] == 0 && creates[1] >= 500)
  }

  @Test("a Service's ready endpoints follow its pods: never below replicas − maxUnavailable")
  func serviceEndpoints() throws {
    let text = try String(
      contentsOfFile: "datasets/scenarios/rolling-update.yaml", encoding: .utf8)
    var lowest = Int.max
    var highestNotReady = 0
    let sim = try Self.simulate(text) { sim in
      guard sim.now.nanoseconds > 20 * Self.s else { return }
      let c = sim.endpoints.counts(0)
      lowest = min(lowest, c.ready)
      highestNotReady = max(highestNotReady, c.notReady)
    }
    #expect(lowest == 8)
    // New pods run 5 s before they are Ready: not-ready endpoints, at most surge (3) plus
    // unavailable (2) of them at once.
    #expect(highestNotReady > 0 && highestNotReady <= 5)
    #expect(sim.endpoints.counts(0) == (10, 0))
    #expect(sim.recorder.timeseries.contains("Service,default,web,readyEndpoints,10"))
  }

  @Test("liveness and startup probe failures kill the container, which restarts with back-off")
  func probeFailures() throws {
    let text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: t}
      spec:
        duration: 5m
        behaviors:
        - {selector: {matchLabels: {app: leaky}}, unhealthyAfter: 45s}
        - {selector: {matchLabels: {app: slow}}, startedAfter: 100s}
      ---
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: leaky}
      spec:
        replicas: 1
        selector: {matchLabels: {app: leaky}}
        template:
          metadata: {labels: {app: leaky}}
          spec:
            containers:
            - name: app
              image: x
              livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 10, failureThreshold: 3}
      ---
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: slow}
      spec:
        replicas: 1
        selector: {matchLabels: {app: slow}}
        template:
          metadata: {labels: {app: slow}}
          spec:
            containers:
            - name: app
              image: y
              startupProbe: {httpGet: {path: /started, port: 8080}, periodSeconds: 10, failureThreshold: 3}
      \(Self.nodes(1))
      """
    let sim = try Self.simulate(text)
    // Unhealthy from 45 s: probes at 50, 60, 70 s fail, killed at 70; restarted at once, again
    // unhealthy 45 s later (killed at 140), then after the 10 s back-off (at 150; killed at 220).
    let leaky = Self.events(sim, reason: "Unhealthy", name: "leaky")
    #expect(leaky == [70, 140, 220, 310].filter { $0 <= 300 })
    // Startup never passes within three probes: killed 20 s after each start, never Ready.
    let slow = Self.events(sim, reason: "Unhealthy", name: "slow")
    #expect(slow.first == 20 && slow.count >= 4)
    let pods = sim.cluster.pods
    let slowPod = sim.replicaSets.sets.first { $0.name == "slow" }!.pods[0]
    #expect(pods.readyAt[slowPod.index] == PodTable.never)
    #expect(sim.records[slowPod.index].exitCode == 137)
    #expect(pods.restarts[slowPod.index] >= 3)
  }

  @Test("a preStop hook runs before SIGTERM, within the grace period (then 2 s at least)")
  func preStop() throws {
    func lastsAfterDelete(sleep: Int, grace: Int) throws -> Int64 {
      let text = """
        apiVersion: berth.dev/v1alpha1
        kind: Scenario
        metadata: {name: t}
        spec:
          duration: 5m
          behaviors:
          - {selector: {}, stopAfter: 3s}
          actions:
          - {at: 60s, scale: {kind: ReplicaSet, name: web, replicas: 0}}
        ---
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: web}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: \(grace)
              containers:
              - {name: app, image: x, lifecycle: {preStop: {sleep: {seconds: \(sleep)}}}}
        \(Self.nodes(1))
        """
      let sim = try Self.simulate(text)
      return (sim.cluster.pods.deletedAt[0] - 60 * Self.s) / Self.s
    }
    // Hook 5 s, then the container's 3 s stop.
    #expect(try lastsAfterDelete(sleep: 5, grace: 30) == 8)
    // The hook is cut at the 30 s grace period; the container then has 2 s, not its 3.
    #expect(try lastsAfterDelete(sleep: 40, grace: 30) == 32)
    // 29 s of hook leave 1 s of grace, raised to the 2 s minimum.
    #expect(try lastsAfterDelete(sleep: 29, grace: 30) == 31)
  }

  @Test("every bundled scenario runs to its end with every invariant holding after every event")
  func bundledScenarios() throws {
    let dir = "datasets/scenarios"
    let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
      $0.hasSuffix(".yaml")
    }.sorted()
    #expect(files.count >= 9)
    for f in files {
      // Read from its path, so files it names (traces, catalogues) resolve beside it.
      let scenario = try Scenario.read(path: dir + "/" + f)
      let started = Date()
      let sim = try Simulation(scenario: scenario)
      sim.engine.checksInvariants = true
      // Days of a busy cluster: the O(pods) check every 25th event keeps the run in seconds
      // (the short scenarios are checked after every event).
      let stride = scenario.duration > .seconds(Int64(6 * 3600)) ? 25 : 1
      var events = 0
      sim.engine.invariants = { _ in
        events += 1
        guard events % stride == 0 else { return }
        let violations = sim.invariantViolations()
        #expect(violations.isEmpty, "\(f): \(violations.first ?? "")")
        sim.cluster.checkInvariants()
      }
      sim.run()
      print("bundled scenario \(f): \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
      #expect(sim.now == sim.scenario.duration, "\(f)")
      #expect(!sim.recorder.events.contains("ActionFailed"), "\(f): an action failed")
    }
  }

  @Test(
    "pods go to the profile their schedulerName names; a MostAllocated profile packs, pods of an unknown scheduler stay Pending"
  )
  func schedulerProfiles() throws {
    func deployment(_ name: String, scheduler: String) -> String {
      """
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: \(name)}
      spec:
        replicas: 4
        selector: {matchLabels: {app: \(name)}}
        template:
          metadata: {labels: {app: \(name)}}
          spec:
            schedulerName: \(scheduler)
            containers:
            - {name: app, image: "x", resources: {requests: {cpu: 500m, memory: 64Mi}}}

      """
    }
    let text =
      "apiVersion: berth.dev/v1alpha1\nkind: Scenario\nmetadata: {name: p}\nspec: {duration: 2m}\n"
      + Self.nodes(4) + deployment("packed", scheduler: "packer")
      + deployment("spread", scheduler: "default-scheduler")
      + deployment("orphan", scheduler: "someone-else")
    var fit = NodeResourcesFitArguments()
    fit.strategy = .mostAllocated
    var packer = ProfileConfiguration(schedulerName: "packer")
    packer.plugins[.score] = PluginSet(
      enabled: [PluginReference(name: "NodeResourcesFit")], disabled: [PluginReference(name: "*")])
    packer.pluginConfig = [PluginConfig(fit)]
    let profiles = try Profile.resolve(
      SchedulerConfiguration(profiles: [ProfileConfiguration(), packer]))
    let sim = try Simulation(
      scenario: try Scenario.parse(text, file: "p.yaml"), seed: 2, profiles: profiles)
    sim.engine.checksInvariants = true
    sim.engine.invariants = { _ in #expect(sim.invariantViolations().isEmpty) }
    sim.run()
    let pods = sim.cluster.pods
    func nodes(_ prefix: String) -> [NodeID?] {
      (0..<pods.count).map { PodID(UInt32($0)) }.filter { pods.name($0).hasPrefix(prefix) }
        .map { pods.boundNode($0) }
    }
    // MostAllocated alone puts the four 500m pods on one 4-CPU node.
    #expect(nodes("packed-").allSatisfy { $0 != nil })
    #expect(Set(nodes("packed-").compactMap { $0 }).count == 1)
    #expect(nodes("spread-").allSatisfy { $0 != nil })
    #expect(nodes("orphan-").count == 4 && nodes("orphan-").allSatisfy { $0 == nil })
    #expect(Self.events(sim, reason: "FailedScheduling").isEmpty)
  }

  @Test("the same scenario and seed give byte-identical outputs; another seed other names")
  func determinism() throws {
    let text = try String(contentsOfFile: "datasets/scenarios/rolling-update.yaml", encoding: .utf8)
    func outputs(_ seed: UInt64) throws -> [String] {
      let sim = try Simulation(scenario: try Scenario.parse(text, file: "r.yaml"), seed: seed)
      sim.run()
      return [
        sim.recorder.timeseries, sim.recorder.events, SimulationOutputs.podsCSV(sim),
        SimulationOutputs.reportHTML(sim),
      ]
    }
    let a = try outputs(3)
    #expect(a == (try outputs(3)))
    #expect(a[2] != (try outputs(4))[2])
  }

  @Test("rows of pods that are gone hold new pods; pods.csv still has one row per pod ever")
  func rowReuse() throws {
    let text = try String(
      contentsOfFile: "datasets/scenarios/recreate-and-scale.yaml", encoding: .utf8)
    let sim = try Self.simulate(text)
    let pods = sim.cluster.pods
    #expect(pods.count < sim.podsCreated, "\(pods.count) rows for \(sim.podsCreated) pods")
    let rows = SimulationOutputs.podsCSV(sim).split(separator: "\n").dropFirst()
    #expect(rows.count == sim.podsCreated)
    // Every pod once: names are random per pod, and each row's times are its own.
    #expect(
      Set(rows.map { $0.split(separator: ",", omittingEmptySubsequences: false)[1] }).count
        == rows.count)
    // The same run without reuse would have written the same rows, in creation order.
    let created = rows.map {
      Double($0.split(separator: ",", omittingEmptySubsequences: false)[5])!
    }
    #expect(created.count == sim.podsCreated && created.allSatisfy { $0 >= 0 })
  }

  @Test("streamed time series, event lines and pod rows are the bytes a run in memory keeps")
  func streamedOutputs() throws {
    let text = try String(contentsOfFile: "datasets/scenarios/node-failure.yaml", encoding: .utf8)
    let kept = try Simulation(scenario: try Scenario.parse(text, file: "n.yaml"), seed: 5)
    kept.run()
    let streamed = try Simulation(scenario: try Scenario.parse(text, file: "n.yaml"), seed: 5)
    var timeseries: [UInt8] = []
    var events: [UInt8] = []
    var podRows: [UInt8] = []
    var chunks = 0
    streamed.recorder.stream(
      timeseries: {
        timeseries += $0
        chunks += 1
      }, events: { events += $0 }, pods: { podRows += $0 }, chunk: 256)
    streamed.run()
    #expect(chunks > 5, "small chunks: the text went out as the run went on")
    #expect(String(decoding: timeseries, as: UTF8.self) == kept.recorder.timeseries)
    #expect(String(decoding: events, as: UTF8.self) == kept.recorder.events)
    #expect(String(decoding: podRows, as: UTF8.self) == kept.recorder.pods)
    #expect(
      streamed.recorder.timeseries.isEmpty && streamed.recorder.events.isEmpty
        && streamed.recorder.pods.isEmpty)
    #expect(SimulationOutputs.reportHTML(streamed) == SimulationOutputs.reportHTML(kept))
    // Only what the report draws keeps its points.
    let rec = streamed.recorder
    let node = try #require(rec.objects(kind: "Node").first)
    let nodeReady = try #require(
      rec.seriesID(kind: "Node", namespace: node.namespace, name: node.name, field: "ready"))
    let running = try #require(
      rec.seriesID(kind: "Cluster", namespace: "-", name: "-", field: "runningPods"))
    #expect(rec.points[nodeReady].isEmpty && !rec.points[running].isEmpty)
  }
}
