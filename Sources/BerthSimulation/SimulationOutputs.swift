import BerthAutoscaling
import BerthCore
import Foundation

/// What `berth simulate` writes: `timeseries.csv`, `pods.csv`, `events.jsonl`, `summary.json`
/// and `report.html` (formats in docs/simulation.md).
public enum SimulationOutputs {
  /// Facts about the run the simulation cannot know itself.
  public struct RunFacts: Sendable {
    public var berthVersion: String
    public var inputs: [(path: String, fnv1a64: String)]
    public var wallSeconds: Double
    /// The machine the wall-clock figures come from: CPU model, its vector extensions, the
    /// allocator.
    public var machine: (cpu: String, vectorExtensions: [String], allocator: String)
    public init(
      berthVersion: String, inputs: [(path: String, fnv1a64: String)], wallSeconds: Double,
      machine: (cpu: String, vectorExtensions: [String], allocator: String) = ("", [], "")
    ) {
      self.berthVersion = berthVersion
      self.inputs = inputs
      self.wallSeconds = wallSeconds
      self.machine = machine
    }
  }

  public static let podsHeader =
    "namespace,name,owner_kind,owner_name,node,created_s,scheduled_s,started_s,ready_s,finished_s,phase,restarts,deleted_s"

  /// The files the recorder can stream while the run goes on (`Recorder.stream`).
  public static let streamedFiles = (
    timeseries: "timeseries.csv", events: "events.jsonl", pods: "pods.csv"
  )

  /// The output files, in a fixed order — without `streamedFiles` when the recorder streamed
  /// them. Everything but the wall-clock figures in `summary.json` repeats byte for byte for
  /// the same scenario and seed. Call after `Simulation.finish`.
  public static func files(_ sim: Simulation, facts: RunFacts) -> [(name: String, contents: String)]
  {
    let names = streamedFiles
    let rec = sim.recorder
    let streamed: [(name: String, contents: String)] =
      rec.streamsText
      ? []
      : [(names.timeseries, rec.timeseries), (names.pods, rec.pods), (names.events, rec.events)]
    return streamed + [
      ("summary.json", summaryJSON(sim, facts: facts)),
      ("report.html", reportHTML(sim)),
    ]
  }

  /// `pods.csv`: one row per pod that ever existed (an empty cell: it never happened). Rows
  /// come in the order the pods' table rows were released, then the pods still present at the
  /// end, by row. Call after `Simulation.finish`, without streaming.
  public static func podsCSV(_ sim: Simulation) -> String { sim.recorder.pods }

  /// A pod's `pods.csv` row, from the pod table and its record.
  static func appendPodRow(_ sim: Simulation, _ p: Int, to out: inout [UInt8]) {
    let pods = sim.cluster.pods
    func t(_ column: Column<Int64>) -> String {
      let v = column[p]
      return v == PodTable.never ? "" : Recorder.seconds(v)
    }
    let id = PodID(UInt32(p))
    let r = sim.records[p]
    let owner = sim.ownerName(id)
    let node = r.node >= 0 ? sim.cluster.nodes.name(NodeID(UInt32(r.node))) : ""
    let row = [
      sim.namespace(id), sim.name(id), owner.kind, owner.name, node, t(pods.createdAt),
      t(pods.scheduledAt), t(pods.startedAt),
      r.firstReady == PodTable.never ? "" : Recorder.seconds(r.firstReady), t(pods.finishedAt),
      pods.phase(of: id).rawValue, String(pods.restarts[p]), t(pods.deletedAt),
    ]
    Recorder.append(row.map(Recorder.csv).joined(separator: ","), to: &out)
    out.append(UInt8(ascii: "\n"))
  }

  static func json(_ s: String) -> String {
    var out = ""
    ObjectDocument.quote(s, into: &out)
    return out
  }

  /// The run's facts and outcomes.
  public static func summaryJSON(_ sim: Simulation, facts: RunFacts) -> String {
    let simulated = sim.now.seconds
    let events = sim.engine.eventsRun
    let wall = max(facts.wallSeconds, 1e-9)
    var o = "{\n"
    o += "  \"scenario\": \(json(sim.scenario.name)),\n"
    o += "  \"seed\": \(sim.seed),\n"
    o += "  \"berthVersion\": \(json(facts.berthVersion)),\n"
    o += "  \"kubernetesVersion\": \(json(sim.settings.kubernetesVersion)),\n"
    o +=
      "  \"inputs\": ["
      + facts.inputs.map {
        "{\"path\": \(json($0.path)), \"fnv1a64\": \(json($0.fnv1a64))}"
      }.joined(separator: ", ") + "],\n"
    o += "  \"simulatedSeconds\": \(Recorder.seconds(sim.now)),\n"
    o += "  \"engineEvents\": \(events),\n"
    o += "  \"wallSeconds\": \(String(format: "%.3f", facts.wallSeconds)),\n"
    o += "  \"eventsPerSecond\": \(String(format: "%.0f", Double(events) / wall)),\n"
    o += "  \"simulatedSecondsPerWallSecond\": \(String(format: "%.1f", simulated / wall)),\n"
    let m = facts.machine
    o +=
      "  \"machine\": {\"cpu\": \(json(m.cpu)), \"vectorExtensions\": [\(m.vectorExtensions.map(json).joined(separator: ", "))], \"allocator\": \(json(m.allocator)), \"threads\": \(sim.threads)},\n"
    let t = sim.recorder.totalsNow
    o += "  \"podsCreated\": \(sim.podsCreated),\n"
    o +=
      "  \"final\": {\"nodes\": \(t.nodes), \"readyNodes\": \(t.readyNodes), \"pods\": \(t.pods), \"pendingPods\": \(t.pending), \"runningPods\": \(t.running)},\n"
    o += "  \"workloads\": [\n"
    var rows: [String] = []
    for d in sim.deployments.deployments {
      let o = d.object
      rows.append(
        "    {\"kind\": \"Deployment\", \"namespace\": \(json(o.namespace)), \"name\": \(json(o.name)), \"deleted\": \(d.deleted), \"replicas\": \(o.replicas), \"updatedReplicas\": \(d.updatedReplicas), \"readyReplicas\": \(d.readyReplicas), \"availableReplicas\": \(d.availableReplicas), \"revision\": \(d.replicaSets.map { sim.replicaSets.sets[$0].revision }.max() ?? 0), \"progressing\": \(json(d.progressing?.reason ?? ""))}"
      )
    }
    for r in sim.replicaSets.sets where r.deployment < 0 {
      rows.append(
        "    {\"kind\": \"ReplicaSet\", \"namespace\": \(json(r.namespace)), \"name\": \(json(r.name)), \"deleted\": \(r.deleted), \"replicas\": \(r.replicas), \"readyReplicas\": \(r.readyReplicas), \"availableReplicas\": \(r.availableReplicas)}"
      )
    }
    for j in sim.jobs.jobs {
      let f = j.finished
      let outcome = f.map { $0.complete ? "Complete" : "Failed" } ?? "Running"
      let duration =
        f.map { Recorder.seconds(($0.at - (j.started ?? j.created)).nanoseconds) } ?? "null"
      // Indexed Jobs: `status.completedIndexes` (and `failedIndexes` with a per-index limit).
      var indexes = ""
      if j.object.indexed {
        indexes =
          ", \"completedIndexes\": \(json(JobController.intervals(j.succeededIndexes)))"
        if j.object.backoffLimitPerIndex != nil {
          indexes += ", \"failedIndexes\": \(json(JobController.intervals(j.failedIndexes)))"
        }
      }
      rows.append(
        "    {\"kind\": \"Job\", \"namespace\": \(json(j.object.namespace)), \"name\": \(json(j.object.name)), \"deleted\": \(j.deleted), \"outcome\": \(json(outcome)), \"reason\": \(json(f?.reason ?? "")), \"succeeded\": \(j.succeeded), \"failed\": \(j.failed)\(indexes), \"durationSeconds\": \(duration)}"
      )
    }
    for s in sim.statefulSets.sets {
      let o = s.object
      let st = s.status
      rows.append(
        "    {\"kind\": \"StatefulSet\", \"namespace\": \(json(o.namespace)), \"name\": \(json(o.name)), \"deleted\": \(s.deleted), \"replicas\": \(o.replicas), \"readyReplicas\": \(st.ready), \"currentReplicas\": \(st.current), \"updatedReplicas\": \(st.updated), \"availableReplicas\": \(st.available), \"currentRevision\": \(json(s.currentRevision)), \"updateRevision\": \(json(s.updateRevision))}"
      )
    }
    for d in sim.daemonSets.sets {
      let o = d.object
      let s = d.status
      rows.append(
        "    {\"kind\": \"DaemonSet\", \"namespace\": \(json(o.namespace)), \"name\": \(json(o.name)), \"deleted\": \(d.deleted), \"desiredNumberScheduled\": \(s.desired), \"currentNumberScheduled\": \(s.current), \"numberReady\": \(s.ready), \"numberAvailable\": \(s.available), \"updatedNumberScheduled\": \(s.updated), \"generation\": \(d.generation)}"
      )
    }
    for c in sim.cronJobs.cronJobs {
      rows.append(
        "    {\"kind\": \"CronJob\", \"namespace\": \(json(c.object.namespace)), \"name\": \(json(c.object.name)), \"deleted\": \(c.deleted), \"schedule\": \(json(c.object.schedule.text)), \"lastScheduleTime\": \(c.lastSchedule.map { json(Self.rfc3339($0)) } ?? "null")}"
      )
    }
    o += rows.joined(separator: ",\n") + (rows.isEmpty ? "" : "\n") + "  ],\n"
    let services = sim.endpoints.services.enumerated().map { k, s in
      let c = sim.endpoints.counts(k)
      return
        "    {\"namespace\": \(json(s.namespace)), \"name\": \(json(s.name)), \"readyEndpoints\": \(c.ready), \"notReadyEndpoints\": \(c.notReady)}"
    }
    o +=
      "  \"services\": [\n" + services.joined(separator: ",\n") + (services.isEmpty ? "" : "\n")
      + "  ],\n"
    let hpas = sim.horizontalAutoscaling.hpas.map { h in
      "    {\"namespace\": \(json(h.spec.namespace)), \"name\": \(json(h.spec.name)), \"target\": \(json(h.spec.scaleTargetRef.kind + "/" + h.spec.scaleTargetRef.name)), \"desiredReplicas\": \(h.desired), \"scaleEvents\": \(h.scaleEvents), \"directionChanges\": \(h.directionChanges), \"replicaSeconds\": \(Int64(h.replicaSeconds.rounded())), \"conditions\": [\(h.conditions.map { "{\"type\": \(json($0.type)), \"status\": \(json($0.status.rawValue)), \"reason\": \(json($0.reason))}" }.joined(separator: ", "))]}"
    }
    o +=
      "  \"horizontalPodAutoscalers\": [\n" + hpas.joined(separator: ",\n")
      + (hpas.isEmpty ? "" : "\n") + "  ],\n"
    let vpas = sim.verticalAutoscaling.vpas.map { v in
      let r = v.recommendation
      func amounts(_ a: VPAResources?) -> String {
        a.map { "{\"cpuMillis\": \($0.cpuMilli), \"memoryBytes\": \($0.memoryBytes)}" } ?? "null"
      }
      return
        "    {\"namespace\": \(json(v.spec.namespace)), \"name\": \(json(v.spec.name)), \"target\": \(json(v.spec.targetRef.kind + "/" + v.spec.targetRef.name)), \"updateMode\": \(json(v.spec.updateMode.rawValue)), \"evictions\": \(v.evictions), \"inPlaceResizes\": \(v.inPlaceResizes), \"recommendation\": {\"target\": \(amounts(r?.target)), \"lowerBound\": \(amounts(r?.lowerBound)), \"upperBound\": \(amounts(r?.upperBound)), \"uncappedTarget\": \(amounts(r?.uncappedTarget))}}"
    }
    o +=
      "  \"verticalPodAutoscalers\": [\n" + vpas.joined(separator: ",\n")
      + (vpas.isEmpty ? "" : "\n") + "  ],\n"
    let usage = sim.workloadMetrics.quality.enumerated().map { i, q in
      let u = sim.scenario.usage[i]
      return
        "    {\"namespace\": \(json(u.namespace ?? "default")), \"name\": \(json(WorkloadMetrics.name(of: i, sim.scenario))), \"offeredRequests\": \(Int64(q.offered.rounded())), \"servedRequests\": \(Int64(q.served.rounded())), \"droppedRequests\": \(Int64(q.dropped.rounded())), \"lateRequests\": \(Int64(q.late.rounded())), \"sloViolationSeconds\": \(Int64(q.sloViolationSeconds.rounded())), \"usedCoreSeconds\": \(Int64(q.usedCoreSeconds.rounded())), \"requestedCoreSeconds\": \(Int64(q.requestedCoreSeconds.rounded()))}"
    }
    o +=
      "  \"usage\": [\n" + usage.joined(separator: ",\n") + (usage.isEmpty ? "" : "\n") + "  ],\n"
    if let ca = sim.clusterAutoscaling {
      o += "  \"clusterAutoscaler\": \(ca.summaryJSON()),\n"
    }
    if let k = sim.karpenter {
      o += "  \"karpenter\": \(k.summaryJSON()),\n"
    }
    let reasons = sim.recorder.reasons.sorted { $0.key < $1.key }
    o +=
      "  \"events\": {" + reasons.map { "\(json($0.key)): \($0.value)" }.joined(separator: ", ")
      + "}\n"
    o += "}\n"
    return o
  }

  static func rfc3339(_ unix: Int64) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
  }
}
