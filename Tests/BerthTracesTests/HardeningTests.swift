import BerthCore
import BerthScheduling
import BerthTestSupport
import BerthTraces
import Foundation
import Testing

/// Regression tests for inputs that once crashed, hung or were silently misread: each must now
/// give a value or a one-line error naming file, line and field.
struct HardeningTests {
  static func error(_ body: () throws -> Void) -> InputError? { InputFixtures.error(body) }
  static func temp(_ name: String, _ text: String) throws -> String {
    try InputFixtures.temp(name, text)
  }

  @Test(
    "two containers of 38-digit CPU requests are an error naming the field and echoing the text")
  func quantitySumOverflow() throws {
    let yaml = """
      kind: Pod
      metadata: {name: p}
      spec:
        containers:
        - name: a
          resources: {requests: {cpu: "99999999999999999999999999999999999999"}}
        - name: b
          resources: {requests: {cpu: "99999999999999999999999999999999999999"}}
      """
    let e = try #require(Self.error { _ = try KubernetesYAML.parse(yaml, file: "pods.yaml") })
    #expect(e.line == 6)
    #expect(e.field == "spec.containers[0].resources.requests.cpu")
    #expect(e.message.contains("99999999999999999999999999999999999999"))
  }

  @Test("requests that each fit but sum past the limit are an error on the pod's spec")
  func requestSumAboveLimit() throws {
    let yaml = """
      kind: Pod
      metadata: {name: p}
      spec:
        containers:
        - {name: a, resources: {requests: {memory: 5Pi}}}
        - {name: b, resources: {requests: {memory: 5Pi}}}
      """
    let e = try #require(Self.error { _ = try KubernetesYAML.parse(yaml, file: "pods.yaml") })
    #expect(e.field == "spec")
    #expect(e.message.contains("memory requests sum to more than Berth's limit"))
  }

  @Test("an out-of-range quantity echoes what the file says (5Ei), not a converted integer")
  func echoesUserText() throws {
    let yaml = """
      kind: Node
      metadata: {name: n}
      status: {allocatable: {cpu: "4", memory: 5Ei}}
      """
    let e = try #require(Self.error { _ = try KubernetesYAML.parse(yaml, file: "nodes.yaml") })
    #expect(
      e.description
        == "nodes.yaml:3: status.allocatable.memory: quantity \"5Ei\" of memory is above Berth's limit of 2^53 (9007199254740992 bytes)"
    )
  }

  @Test(
    "nodes of Int64.max CPU and memory, or 1e17 bytes, are rejected at input",
    arguments: [
      "{cpu: \"9223372036854775807\", memory: \"9223372036854775807\"}",
      "{cpu: \"4\", memory: \"1e17\"}",
      "{cpu: \"4\", memory: 1Gi, ephemeral-storage: \"1e17\"}",
    ])
  func hugeNodes(allocatable: String) throws {
    let yaml = "kind: Node\nmetadata: {name: n}\nstatus: {allocatable: \(allocatable)}\n"
    let e = try #require(Self.error { _ = try KubernetesYAML.parse(yaml, file: "nodes.yaml") })
    #expect(e.line == 3)
    #expect(e.message.contains("above Berth's limit"))
  }

  @Test("creation timestamps 324 years apart are an error, not a trap")
  func timestampSpan() throws {
    let yaml = """
      kind: List
      items:
      - {kind: Pod, metadata: {name: old, creationTimestamp: "1700-01-01T00:00:00Z"}, spec: {containers: [{name: c}]}}
      - {kind: Pod, metadata: {name: new, creationTimestamp: "2024-01-01T00:00:00Z"}, spec: {containers: [{name: c}]}}
      """
    let manifest = try KubernetesYAML.parse(yaml, file: "pods.yaml")
    let e = try #require(Self.error { _ = try manifest.arrivals(file: "pods.yaml") })
    #expect(e.field == "pod new: metadata.creationTimestamp")
    #expect(e.message.contains("324 years"))
    // 200 years apart still fits.
    let near = yaml.replacingOccurrences(of: "1700", with: "1824")
    let arrivals = try KubernetesYAML.parse(near, file: "pods.yaml").arrivals(file: "pods.yaml")
    #expect(arrivals[0] == .zero)
    #expect(arrivals[1].seconds > 200 * 365 * 86_400)
  }

  @Test("profiles: [] means one default profile, as upstream's defaulting adds")
  func emptyProfiles() throws {
    let config = try SchedulerConfigurationYAML.parse(
      "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles: []\n",
      file: "c.yaml")
    let profiles = try Profile.resolve(config)
    #expect(profiles.count == 1)
    #expect(profiles[0].schedulerName == "default-scheduler")
    var empty = SchedulerConfiguration()
    empty.profiles = []
    #expect(try Profile.resolve(empty).count == 1)
  }

  @Test(
    "extended resources are whole numbers with a limit equal to the request, as the API server demands",
    arguments: [
      (
        "requests: {nvidia.com/gpu: 500m}, limits: {nvidia.com/gpu: 500m}",
        "x.yaml:3: spec.containers[0].resources.requests.nvidia.com/gpu: nvidia.com/gpu must be an integer, found 0.5"
      ),
      (
        "requests: {nvidia.com/gpu: \"1\"}",
        "x.yaml:3: spec.containers[0].resources.requests.nvidia.com/gpu: nvidia.com/gpu needs a limit: it cannot be overcommitted"
      ),
      (
        "requests: {nvidia.com/gpu: \"1\"}, limits: {nvidia.com/gpu: \"2\"}",
        "x.yaml:3: spec.containers[0].resources.requests.nvidia.com/gpu: nvidia.com/gpu request 1 must equal its limit 2"
      ),
      (
        "requests: {hugepages-2Mi: 4Mi}",
        "x.yaml:3: spec.containers[0].resources.requests.hugepages-2Mi: hugepages-2Mi needs a limit: it cannot be overcommitted"
      ),
    ])
  func extendedResources(resources: String, message: String) {
    let yaml =
      "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, resources: {\(resources)}}]}\n"
    #expect(
      Self.error { _ = try KubernetesYAML.parse(yaml, file: "x.yaml") }?.description == message)
    // A limit alone (the request defaults to it) and equal whole amounts are fine.
    let ok =
      "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, resources: {limits: {nvidia.com/gpu: \"2\"}}}]}\n"
    #expect(Self.error { _ = try KubernetesYAML.parse(ok, file: "x.yaml") } == nil)
  }

  @Test(
    "an empty cluster is an error, not a run of zero nodes",
    arguments: [
      "", "kind: List\nitems: []\n", "---\n---\n",
      "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n",
    ])
  func emptyCluster(text: String) throws {
    let file = try Self.temp("empty.yaml", text)
    #expect(
      Self.error { _ = try ClusterLoader.load(file) }?.message.hasPrefix("holds no nodes") == true)
  }

  @Test(
    "a misspelled field is an error with its line and path, like kubectl --validate=strict",
    arguments: [
      (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resourcez: {requests: {cpu: 1}}\n",
        "x.yaml:6: spec.containers[0].resourcez: unknown field \"resourcez\" (not in the Kubernetes API; check its spelling and indentation)"
      ),
      (
        "kind: Node\nmetadata: {name: n, label: {a: b}}\nstatus: {allocatable: {cpu: 1}}\n",
        "x.yaml:2: metadata.label: unknown field \"label\" (not in the Kubernetes API; check its spelling and indentation)"
      ),
      (
        "kind: List\nitems: []\nextra: 1\n",
        "x.yaml:3: extra: unknown field \"extra\" (a List has apiVersion, kind, items and metadata)"
      ),
    ])
  func unknownFields(yaml: String, message: String) {
    #expect(
      Self.error { _ = try KubernetesYAML.parse(yaml, file: "x.yaml") }?.description == message)
  }

  @Test(
    "fields of the API that Berth does not model are accepted (a kubectl dump's status, managedFields, probes)"
  )
  func apiFieldsAccepted() throws {
    let yaml = """
      kind: Pod
      metadata:
        name: p
        uid: 0b1c
        managedFields: [{manager: kubectl, operation: Apply, fieldsV1: {f:spec: {}}}]
        annotations: {a: b}
      spec:
        containers:
        - name: c
          livenessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 10}
          env: [{name: X, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        dnsPolicy: ClusterFirst
      status:
        phase: Running
        conditions: [{type: Ready, status: "True"}]
        containerStatuses: [{name: c, ready: true, restartCount: 0, image: x, imageID: y, state: {running: {startedAt: "2024-01-01T00:00:00Z"}}}]
      """
    #expect(try KubernetesYAML.parse(yaml, file: "x.yaml").pods.count == 1)
  }

  @Test(
    "resource names must be qualified names; slashes alone once crashed the reader (a fuzz finding)",
    arguments: ["////", "/", "a/b/c", "-x", "example.com/"])
  func resourceNames(name: String) {
    let yaml =
      "kind: Node\nmetadata: {name: n}\nstatus: {allocatable: {cpu: \"4\", \"\(name)\": \"1\"}}\n"
    #expect(
      Self.error { _ = try KubernetesYAML.parse(yaml, file: "x.yaml") }?.message.hasSuffix(
        "is not a valid resource name (a name such as cpu, memory or example.com/widget)") == true)
    // The degenerate names no longer trap the classifier either.
    #expect(ResourceName.isExtended(name) == name.contains("/"))
  }
}
