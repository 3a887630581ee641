import BerthCore
import BerthSimulation
import Foundation
import Testing

/// A busy cluster — rollouts, crash loops, failing nodes, Jobs deleted as they finish, and a
/// high-priority Deployment preempting the rest — with every invariant checked after every
/// event: rows of pods that are gone go to new pods while timers, queues and owners may still
/// remember the old ones.
struct ChurnTests {
  /// `nodes` nodes of 4 cores; `deployments` Deployments of 4 pods rolled out every 20 minutes,
  /// one in ten crash-looping; a node failing every half hour for 10 minutes; a Job of 6
  /// completions every 10 minutes, deleted when it finishes; at 90 minutes, a Deployment of
  /// high-priority pods that only fit by preempting. Every 25 minutes an extra node joins (in a
  /// zone of four, one new), is removed 15 minutes later while another joins at the same
  /// instant, and that one gives way to the first name again 500 s later: node rows are reused
  /// and the node tree reshuffled while pods run there.
  static func scenario(nodes: Int, deployments: Int, hours: Int, nodeChurn: Bool = true) -> String {
    var actions: [(Int, String)] = []
    for d in 0..<deployments {
      for k in stride(from: 1200 + d * 37, to: hours * 3600, by: 1200) {
        actions.append(
          (
            k,
            "- {at: \(k)s, setImage: {kind: Deployment, name: app-\(d), container: app, image: \"app:v\(k)\"}}"
          ))
      }
    }
    for k in stride(from: 900, to: hours * 3600, by: 1800) {
      let n = (k / 1800 * 7) % nodes
      actions.append((k, "- {at: \(k)s, failNode: {name: node-\(n)}}"))
      actions.append((k + 600, "- {at: \(k + 600)s, recoverNode: {name: node-\(n)}}"))
    }
    func node(_ name: String, zone: Int) -> String {
      "{node: {apiVersion: v1, kind: Node, metadata: {name: \(name), labels: {topology.kubernetes.io/zone: zone-\(zone)}}, status: {allocatable: {cpu: \"4\", memory: 16Gi, pods: \"110\"}}}}"
    }
    for k in stride(from: 600, to: hours * 3600 - 1400, by: 1500) where nodeChurn {
      let zone = k / 1500 % 4
      actions.append((k, "- {at: \(k)s, addNode: \(node("extra-\(k)", zone: zone))}"))
      actions.append((k + 900, "- {at: \(k + 900)s, removeNode: {name: extra-\(k)}}"))
      actions.append(
        (k + 900, "- {at: \(k + 900)s, addNode: \(node("extra-\(k)-b", zone: (zone + 1) % 4))}"))
      actions.append((k + 1400, "- {at: \(k + 1400)s, removeNode: {name: extra-\(k)-b}}"))
      actions.append((k + 1400, "- {at: \(k + 1400)s, addNode: \(node("extra-\(k)", zone: zone))}"))
    }
    for k in stride(from: 0, to: hours * 3600, by: 600) {
      actions.append(
        (
          k,
          """
          - at: \(k)s
            apply:
              apiVersion: batch/v1
              kind: Job
              metadata: {name: batch-\(k)}
              spec:
                completions: 6
                parallelism: 3
                ttlSecondsAfterFinished: 0
                template:
                  metadata: {labels: {role: batch}}
                  spec:
                    restartPolicy: Never
                    containers: [{name: work, image: batch, resources: {requests: {cpu: 500m, memory: 256Mi}}}]
          """
        ))
    }
    actions.append(
      (
        5400,
        """
        - at: 5400s
          apply:
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: urgent}
            spec:
              replicas: \(nodes)
              selector: {matchLabels: {app: urgent}}
              template:
                metadata: {labels: {app: urgent}}
                spec:
                  priorityClassName: high
                  terminationGracePeriodSeconds: 5
                  containers: [{name: app, image: urgent, resources: {requests: {cpu: "3", memory: 1Gi}}}]
        """
      ))
    var text = """
      apiVersion: berth.dev/v1alpha1
      kind: Scenario
      metadata: {name: churn}
      spec:
        duration: \(hours)h
        behaviors:
        - {selector: {matchLabels: {health: crashing}}, imagePull: 2s, readyAfter: 5s, exitAfter: 40s, exitCode: 1}
        - {selector: {matchLabels: {role: batch}}, imagePull: 1s, readyAfter: 1s, exitAfter: {uniform: [60s, 400s]}, exitCode: 0}
        - {selector: {}, imagePull: {uniform: [1s, 5s]}, readyAfter: {uniform: [2s, 8s]}, stopAfter: {uniform: [1s, 4s]}}
        actions:

      """
    for (_, a) in actions.sorted(by: { $0.0 < $1.0 }) {
      text += a.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
    }
    text += """
      ---
      apiVersion: scheduling.k8s.io/v1
      kind: PriorityClass
      metadata: {name: high}
      value: 1000

      """
    for d in 0..<deployments {
      text += """
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: app-\(d)}
        spec:
          replicas: 4
          selector: {matchLabels: {app: app-\(d)}}
          template:
            metadata: {labels: {app: app-\(d), health: \(d % 10 == 9 ? "crashing" : "ok")}}
            spec:
              containers: [{name: app, image: "app:v1", resources: {requests: {cpu: 300m, memory: 256Mi}}}]

        """
    }
    for n in 0..<nodes {
      text += """
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-\(n), labels: {topology.kubernetes.io/zone: zone-\(n % 3)}}
        status: {allocatable: {cpu: "4", memory: 16Gi, pods: "110"}}

        """
    }
    return text
  }

  @Test(
    "a busy cluster keeps every invariant after every event while pod and node rows are reused")
  func churn() throws {
    let text = Self.scenario(nodes: 8, deployments: 12, hours: 2)
    let sim = try TimelineTests.simulate(text, seed: 11)
    let pods = sim.cluster.pods
    #expect(sim.podsCreated > 2 * pods.count, "\(pods.count) rows for \(sim.podsCreated) pods")
    let rows = SimulationOutputs.podsCSV(sim).split(separator: "\n").dropFirst()
    #expect(rows.count == sim.podsCreated)
    // 8 nodes and 12 extra ones over the run, 8 of them removed: rows are taken again.
    #expect(sim.cluster.nodeCount == 8 + 4 && sim.cluster.nodes.count < 8 + 12)
    #expect((sim.recorder.reasons["RemovingNode"] ?? 0) == 8)
    // Pods ran on the extra nodes, and each pod's row names a node it could have been on.
    let names = Set(
      (0..<8).map { "node-\($0)" }
        + stride(from: 600, to: 7200 - 1400, by: 1500).flatMap { ["extra-\($0)", "extra-\($0)-b"] })
    let nodeCells = rows.map { $0.split(separator: ",", omittingEmptySubsequences: false)[4] }
    #expect(nodeCells.allSatisfy { $0.isEmpty || names.contains(String($0)) })
    #expect(nodeCells.contains { $0.hasPrefix("extra-") && $0.hasSuffix("-b") })
    let reasons = sim.recorder.reasons
    #expect((reasons["Preempted"] ?? 0) > 0, "the urgent pods preempted others")
    #expect((reasons["BackOff"] ?? 0) > 0 && (reasons["TaintManagerEviction"] ?? 0) > 0)
    // Same scenario and seed, same bytes.
    let again = try Simulation(scenario: try Scenario.parse(text, file: "churn.yaml"), seed: 11)
    again.run()
    #expect(again.recorder.timeseries == sim.recorder.timeseries)
    #expect(again.recorder.events == sim.recorder.events)
    #expect(SimulationOutputs.podsCSV(again) == SimulationOutputs.podsCSV(sim))
  }

  @Test("matchers of ReplicaSets long gone are freed, often, without changing a decision")
  func matcherCollection() throws {
    let text = Self.scenario(nodes: 8, deployments: 12, hours: 2)
    func run(floor: Int) throws -> Simulation {
      let sim = try Simulation(scenario: try Scenario.parse(text, file: "churn.yaml"), seed: 5)
      sim.matcherCollectionFloor = floor
      sim.run()
      return sim
    }
    let kept = try run(floor: 0)
    let collected = try run(floor: 4)
    #expect(kept.cluster.liveMatcherCount == kept.cluster.matchers.count)
    #expect(collected.cluster.matcherEpoch > 3, "collections happened")
    #expect(collected.cluster.liveMatcherCount * 2 < kept.cluster.liveMatcherCount)
    #expect(collected.recorder.timeseries == kept.recorder.timeseries)
    #expect(collected.recorder.events == kept.recorder.events)
    #expect(SimulationOutputs.podsCSV(collected) == SimulationOutputs.podsCSV(kept))
    collected.cluster.checkInvariants()
  }

  @Test("workload pods take their PriorityClass; an unknown class is refused, naming the object")
  func priorityAdmission() throws {
    let text = Self.scenario(nodes: 2, deployments: 1, hours: 2, nodeChurn: false)
    let sim = try Simulation(scenario: try Scenario.parse(text, file: "c.yaml"), seed: 1)
    sim.run(until: .seconds(Int64(5500)))
    let pods = sim.cluster.pods
    let urgent = (0..<pods.count).map { PodID(UInt32($0)) }.filter {
      !pods.isReleased($0) && pods.name($0).hasPrefix("urgent-")
    }
    #expect(!urgent.isEmpty && urgent.allSatisfy { pods.priority[$0.index] == 1000 })
    let preempted = sim.recorder.events.split(separator: "\n").filter {
      $0.contains("\"reason\":\"Preempted\"")
    }
    #expect(!preempted.isEmpty)
    #expect(
      preempted.allSatisfy {
        $0.contains("\"message\":\"Preempted by pod ") && $0.contains(" on node node-")
      })
    // An apply naming no class fails as an action; a scenario's own workload, at load.
    let wrongApply = text.replacingOccurrences(
      of: "priorityClassName: high", with: "priorityClassName: hi")
    let failed = try Simulation(scenario: try Scenario.parse(wrongApply, file: "c.yaml"), seed: 1)
    failed.run(until: .seconds(Int64(5500)))
    #expect(
      failed.recorder.events.contains("no PriorityClass with name hi was found")
        && failed.recorder.reasons["ActionFailed"] == 1)
    let wrongWorkload =
      text + """
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: lost}
        spec:
          replicas: 1
          selector: {matchLabels: {app: lost}}
          template:
            metadata: {labels: {app: lost}}
            spec:
              priorityClassName: nowhere
              containers: [{name: app, image: lost}]
        """
    do {
      _ = try Simulation(scenario: try Scenario.parse(wrongWorkload, file: "c.yaml"))
      Issue.record("an unknown PriorityClass was accepted")
    } catch {
      #expect(error.description.contains("Deployment default/lost"), "\(error)")
      #expect(error.description.contains("no PriorityClass with name nowhere was found"))
    }
  }
}
