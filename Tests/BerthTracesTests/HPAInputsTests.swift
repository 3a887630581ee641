import BerthAutoscaling
import BerthCore
import BerthTestSupport
import Testing

@testable import BerthTraces

@Suite struct RFC3339Tests {
  @Test func goZeroTimeAndEpochAndOffsetsRead() {
    #expect(RFC3339.parseMillis("0001-01-01T00:00:00Z") == -62_135_596_800_000)
    #expect(RFC3339.parseMillis("1970-01-01T00:00:00Z") == 0)
    #expect(RFC3339.parseMillis("2024-02-29T12:00:00.5Z") == 1_709_208_000_500)
    #expect(RFC3339.parseMillis("2024-02-29T14:00:00.123456+02:00") == 1_709_208_000_123)
    #expect(RFC3339.parseMillis("2024-02-29t12:00:00z") == 1_709_208_000_000)
  }

  @Test func invalidTimesAreRefused() {
    for bad in [
      "", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z",
      "2024-01-01 00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00",
      "2024-01-01T00:00:00.Z",
      "2024-01-01T00:00:00+0200", "yesterday",
    ] {
      #expect(RFC3339.parseMillis(bad) == nil, "\(bad)")
    }
  }

  @Test func formatIsTheInverseOfParse() {
    var rng = SplitMix64(seed: 7)
    for _ in 0..<2000 {
      let ms = Int64(bitPattern: rng.next() % 315_537_897_600_000) - 62_135_596_800_000
      #expect(RFC3339.parseMillis(RFC3339.format(millis: ms)) == ms)
    }
    #expect(RFC3339.format(millis: -62_135_596_800_000) == "0001-01-01T00:00:00Z")
  }
}

@Suite struct HPAInputsTests {
  @Test func historyRoundTrips() throws {
    let h = HPAHistory(
      recommendations: [.init(4, UnixMillis(1_000_000)), .init(7, UnixMillis(1_015_000))],
      scaleUpEvents: [.init(3, UnixMillis(1_015_000))],
      scaleDownEvents: [.init(1, UnixMillis(900_000), outdated: true)])
    let text = HPAInputs.historyYAML(h, namespace: "ns", name: "web")
    #expect(try HPAInputs.history(text: text, file: "h.yaml") == h)
  }

  @Test func noMetricsDefaultsToCPUAt80Percent() throws {
    let o = try HPAInputs.hpa(
      text: """
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: web}
        spec: {scaleTargetRef: {kind: Deployment, name: web}, maxReplicas: 3}
        """, file: "hpa.yaml")
    #expect(o.spec.metrics == [.resource(name: "cpu", target: .utilization(percent: 80))])
    #expect(o.spec.behavior == nil)
    #expect(o.spec.namespace == "default")
  }

  @Test func behaviorFieldsReadWithTheAPIBounds() throws {
    let o = try HPAInputs.hpa(
      text: """
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: web}
        spec:
          scaleTargetRef: {kind: Deployment, name: web}
          maxReplicas: 30
          behavior:
            scaleUp:
              tolerance: 50m
              selectPolicy: Min
              policies: [{type: Pods, value: 2, periodSeconds: 60}]
            scaleDown: {stabilizationWindowSeconds: 60}
        """, file: "hpa.yaml")
    #expect(o.spec.behavior?.scaleUp?.tolerance == 0.05)
    #expect(o.spec.behavior?.scaleUp?.selectPolicy == .min)
    #expect(o.spec.behavior?.scaleUp?.policies == [.init(.pods, 2, periodSeconds: 60)])
    #expect(o.spec.behavior?.scaleDown?.stabilizationWindowSeconds == 60)
    let e = InputFixtures.error {
      _ = try HPAInputs.hpa(
        text: """
          apiVersion: autoscaling/v2
          kind: HorizontalPodAutoscaler
          metadata: {name: web}
          spec:
            scaleTargetRef: {kind: Deployment, name: web}
            maxReplicas: 30
            behavior: {scaleDown: {stabilizationWindowSeconds: 3601}}
          """, file: "hpa.yaml")
    }
    #expect(
      e?.description
        == "hpa.yaml:7: spec.behavior.scaleDown.stabilizationWindowSeconds: must be between 0 and 3600"
    )
  }

  @Test func podsReadFromAListWithSidecarsAndReadiness() throws {
    let pods = try HPAInputs.pods(
      text: """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Pod
          metadata: {name: a, namespace: ns, labels: {app: web}, deletionTimestamp: "2026-01-01T00:00:00Z"}
          spec:
            initContainers:
            - {name: init, resources: {requests: {cpu: 1}}}
            - {name: proxy, restartPolicy: Always, resources: {requests: {cpu: 100m}}}
            containers:
            - {name: app, resources: {requests: {cpu: 250m}}}
          status:
            phase: Running
            startTime: "2026-01-01T00:00:00Z"
            conditions: [{type: Ready, status: "False", lastTransitionTime: "2026-01-01T00:00:10Z"}]
        """, file: "pods.yaml")
    let p = try #require(pods.first)
    #expect(p.namespace == "ns")
    #expect(p.labels == ["app": "web"])
    #expect(p.pod.isDeleting)
    #expect(p.pod.containers.map(\.name) == ["app", "proxy"])
    #expect(try ReplicaCalculator.request(of: p.pod, resource: "cpu", container: nil) == 350)
    #expect(p.pod.ready?.status == .isFalse)
    #expect(p.pod.ready?.lastTransition == UnixMillis(1_767_225_610_000))
  }
}
