import BerthCore

/// One instance type of a cloud's catalogue, as Karpenter's cloud provider describes it: its
/// capacity, the pods it takes, its price and where it is offered.
public struct InstanceType: Sendable, Equatable {
  public var name: String
  /// `karpenter.k8s.aws/instance-family`.
  public var family: String
  /// `kubernetes.io/arch`: amd64 or arm64.
  public var arch: String
  public var cpuMillis: Int64
  public var memoryBytes: Int64
  public var gpus: Int64
  /// The kubelet's max pods (ENI-limited on AWS).
  public var maxPods: Int64
  public var onDemandPricePerHour: Double
  /// nil: no spot offering.
  public var spotPricePerHour: Double?
  public var zones: [String]

  public init(
    name: String, family: String, arch: String, cpuMillis: Int64, memoryBytes: Int64,
    gpus: Int64 = 0, maxPods: Int64, onDemandPricePerHour: Double,
    spotPricePerHour: Double? = nil, zones: [String]
  ) {
    self.name = name
    self.family = family
    self.arch = arch
    self.cpuMillis = cpuMillis
    self.memoryBytes = memoryBytes
    self.gpus = gpus
    self.maxPods = maxPods
    self.onDemandPricePerHour = onDemandPricePerHour
    self.spotPricePerHour = spotPricePerHour
    self.zones = zones
  }

  /// The CPU the kubelet reserves (`kube-reserved`, the EKS AMI's and Karpenter AWS provider's
  /// formula): 6 % of the first core, 1 % of the second, 0.5 % of the third and fourth,
  /// 0.25 % of every core above four.
  public var kubeReservedCPUMillis: Int64 {
    let cores = cpuMillis / 1000
    var m = 0.0
    for c in 0..<cores {
      switch c {
      case 0: m += 60
      case 1: m += 10
      case 2, 3: m += 5
      default: m += 2.5
      }
    }
    return Int64(m.rounded(.down))
  }

  /// Memory the kubelet reserves: 11 MiB per pod it may run plus 255 MiB (kube-reserved), and
  /// the 100 MiB hard eviction threshold.
  public var reservedMemoryBytes: Int64 { (11 * maxPods + 255 + 100) * 1_048_576 }

  /// What pods can request on a node of this type.
  public var allocatable: ResourceAmounts {
    ResourceAmounts(
      cpuMillis: max(0, cpuMillis - kubeReservedCPUMillis),
      memoryBytes: max(0, memoryBytes - reservedMemoryBytes), pods: maxPods,
      scalars: gpus > 0 ? [("nvidia.com/gpu", gpus)] : [])
  }

  /// The price of the capacity type (`spot` or `on-demand`); nil when not offered.
  public func price(capacityType: String) -> Double? {
    capacityType == "spot" ? spotPricePerHour : onDemandPricePerHour
  }
}
