import BerthBench
import BerthCore
import BerthTestSupport
import BerthTraces
import Foundation
import Testing

/// Suites that once crashed or allocated without bound while being read.
struct SuiteHardeningTests {
  static func error(_ body: () throws -> Void) -> InputError? { InputFixtures.error(body) }
  static func temp(_ name: String, _ text: String) throws -> String {
    try InputFixtures.temp(name, text)
  }

  @Test("a suite whose schedulerConfig has profiles: [] runs the default profile")
  func emptyProfilesInSuite() throws {
    let config = try Self.temp(
      "c.yaml",
      "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles: []\n"
    )
    let dir = (config as NSString).deletingLastPathComponent
    let suite = """
      name: s
      testCases:
      - name: t
        schedulerConfig: c.yaml
        workloadTemplate:
        - {opcode: createNodes, count: 2}
        - {opcode: createPods, count: 3, collectMetrics: true}
        workloads:
        - {name: w}
      """
    let s = try Suite.parse(suite, file: dir + "/suite.yaml")
    #expect(s.testCases[0].profile.schedulerName == "default-scheduler")
  }

  @Test(
    "createPodSets and createNodes with absurd counts are refused while reading, before any allocation"
  )
  func absurdCounts() throws {
    let podSets = """
      name: s
      testCases:
      - name: t
        workloadTemplate:
        - {opcode: createNodes, count: 2}
        - {opcode: createPodSets, count: 100000000, namespacePrefix: ns, createPodsOp: {opcode: createPods, count: 1}}
        workloads:
        - {name: w, labels: [never-selected]}
      """
    let e = try #require(Self.error { _ = try Suite.parse(podSets, file: "s.yaml") })
    #expect(e.line == 6)
    #expect(e.message.contains("expected a count in 0…100000"))
    let nodes = podSets.replacingOccurrences(
      of:
        "{opcode: createPodSets, count: 100000000, namespacePrefix: ns, createPodsOp: {opcode: createPods, count: 1}}",
      with: "{opcode: createNodes, count: 100000000}")
    let n = try #require(Self.error { _ = try Suite.parse(nodes, file: "s.yaml") })
    #expect(n.message.contains("expected a count in 0…10000000"))
    // Many sets of many pods: each count in range, the product not.
    let product = podSets.replacingOccurrences(of: "count: 100000000", with: "count: 100000")
      .replacingOccurrences(of: "createPods, count: 1}", with: "createPods, count: 1000}")
    let p = try #require(Self.error { _ = try Suite.parse(product, file: "s.yaml") })
    #expect(p.message.contains("more than a workload may create"))
  }
}
