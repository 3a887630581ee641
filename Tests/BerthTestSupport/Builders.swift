import BerthCore

/// Small constructors for tests.
public enum Builders {
  public static func node(
    _ name: String, cpu: Int64, memory: Int64, pods: Int64 = 110, labels: [String: String] = [:],
    taints: [Taint] = [], unschedulable: Bool = false, scalars: [(String, Int64)] = [],
    images: [NodeSpec.Image] = []
  ) -> NodeSpec {
    var l = labels
    l["kubernetes.io/hostname"] = l["kubernetes.io/hostname"] ?? name
    return NodeSpec(
      name: name, labels: l, taints: taints,
      allocatable: ResourceAmounts(
        cpuMillis: cpu, memoryBytes: memory, pods: pods, scalars: scalars.map { ($0.0, $0.1) }),
      unschedulable: unschedulable, images: images)
  }

  public static func pod(
    _ name: String, cpu: Int64? = nil, memory: Int64? = nil, scalars: [(String, Int64)] = [],
    nodeSelector: [String: String] = [:], affinity: NodeAffinity? = nil,
    tolerations: [Toleration] = [],
    hostPorts: [ContainerPort] = [], image: String = "", nodeName: String = ""
  ) -> PodSpec {
    var r = ResourceList()
    if let cpu { r["cpu"] = Quantity(milli: cpu) }
    if let memory { r["memory"] = Quantity(integer: memory) }
    for (n, v) in scalars { r[n] = Quantity(integer: v) }
    return PodSpec(
      name: name, containers: [Container(name: "c", image: image, requests: r, ports: hostPorts)],
      nodeSelector: nodeSelector, affinity: affinity, tolerations: tolerations, nodeName: nodeName)
  }
}
