import BerthCore

/// The Cluster Autoscaler's flags that bear on its decisions, by their upstream names
/// (`cluster-autoscaler/config/flags/flags.go`) and with upstream's defaults.
public struct ClusterAutoscalerFlags: Sendable, Equatable {
  /// `--scan-interval`: how often the loop runs.
  public var scanInterval = VirtualTime.seconds(Int64(10))
  /// `--expander`: a comma list; each filters the survivors of the one before, random breaks
  /// the last tie.
  public var expanders: [ExpanderName] = [.leastWaste]
  /// `--max-node-provision-time`: a requested node not Ready by then is a failed scale-up.
  public var maxNodeProvisionTime = VirtualTime.seconds(Int64(900))
  /// `--max-nodes-total` (0: no limit).
  public var maxNodesTotal = 0
  /// `--cores-total` and `--memory-total` (memory in GiB), as `min:max`.
  public var coresTotal: ClosedRange<Int64> = 0...320_000
  public var memoryTotalGiB: ClosedRange<Int64> = 0...6_400_000
  /// `--max-nodes-per-scaleup`: the binpacking estimate stops adding nodes there.
  public var maxNodesPerScaleUp = 1000
  /// `--new-pod-scale-up-delay`: pods younger than this are not considered.
  public var newPodScaleUpDelay = VirtualTime.zero
  /// `--expendable-pods-priority-cutoff`: pods below it never trigger a scale-up and are not
  /// rescheduled when their node goes.
  public var expendablePodsPriorityCutoff: Int32 = -10
  /// `--scale-down-enabled`.
  public var scaleDownEnabled = true
  /// `--scale-down-utilization-threshold`: a node is a candidate at or below it.
  public var scaleDownUtilizationThreshold = 0.5
  /// `--scale-down-unneeded-time`, `--scale-down-unready-time`.
  public var scaleDownUnneededTime = VirtualTime.seconds(Int64(600))
  public var scaleDownUnreadyTime = VirtualTime.seconds(Int64(1200))
  /// `--scale-down-unready-enabled`: unready nodes may be removed (after the unready time).
  public var scaleDownUnreadyEnabled = true
  /// `--scale-down-delay-after-add`, `-after-delete`, `-after-failure`.
  public var scaleDownDelayAfterAdd = VirtualTime.seconds(Int64(600))
  public var scaleDownDelayAfterDelete = VirtualTime.zero
  public var scaleDownDelayAfterFailure = VirtualTime.seconds(Int64(180))
  /// `--max-scale-down-parallelism`: nodes being deleted at once; `--max-drain-parallelism`:
  /// of them, non-empty nodes being drained.
  public var maxScaleDownParallelism = 10
  public var maxDrainParallelism = 1
  /// `--max-empty-bulk-delete`: empty nodes started per loop (superseded upstream by
  /// max-scale-down-parallelism, which caps it too).
  public var maxEmptyBulkDelete = 10
  /// `--max-graceful-termination-sec`: the grace period evictions give at most.
  public var maxGracefulTerminationSec: Int64 = 600
  /// `--max-pod-eviction-time`: how long evictions are retried before the drain fails.
  public var maxPodEvictionTime = VirtualTime.seconds(Int64(120))
  /// `--node-delete-delay-after-taint`: the wait between the taint and the deletion or drain.
  public var nodeDeleteDelayAfterTaint = VirtualTime.seconds(Int64(5))
  /// `--skip-nodes-with-system-pods`, `--blocking-system-pod-distruption-timeout` (upstream's
  /// spelling): a kube-system pod without a PodDisruptionBudget blocks its node until it is
  /// that old (cluster-autoscaler 1.33; earlier releases blocked for ever).
  public var skipNodesWithSystemPods = true
  public var blockingSystemPodDisruptionTimeout = VirtualTime.seconds(Int64(3600))
  /// `--skip-nodes-with-local-storage`.
  public var skipNodesWithLocalStorage = true
  /// `--skip-nodes-with-custom-controller-pods`: pods owned by kinds other than ReplicaSet,
  /// ReplicationController, StatefulSet, Job and DaemonSet block their node.
  public var skipNodesWithCustomControllerPods = true
  /// `--ignore-daemonsets-utilization`.
  public var ignoreDaemonSetsUtilization = false
  /// `--daemonset-eviction-for-empty-nodes`, `--daemonset-eviction-for-occupied-nodes`.
  public var daemonSetEvictionForEmptyNodes = false
  public var daemonSetEvictionForOccupiedNodes = true
  /// `--max-total-unready-percentage`, `--ok-total-unready-count`: with more unready nodes than
  /// both allow, the loop does nothing.
  public var maxTotalUnreadyPercentage = 45.0
  public var okTotalUnreadyCount = 3
  /// `--initial-node-group-backoff-duration`, `--max-node-group-backoff-duration`,
  /// `--node-group-backoff-reset-timeout`.
  public var initialNodeGroupBackoff = VirtualTime.seconds(Int64(300))
  public var maxNodeGroupBackoff = VirtualTime.seconds(Int64(1800))
  public var nodeGroupBackoffReset = VirtualTime.seconds(Int64(10_800))
  /// `--unremovable-node-recheck-timeout`: a node found unremovable is not checked again
  /// before this.
  public var unremovableNodeRecheckTimeout = VirtualTime.seconds(Int64(300))
  /// `--balance-similar-node-groups`.
  public var balanceSimilarNodeGroups = false
  /// `--enforce-node-group-min-size`: groups below their minimum are scaled up to it.
  public var enforceNodeGroupMinSize = false

  public init() {}

  /// The flags by name, with what each takes: a duration, a number, a boolean, `min:max`, or
  /// the expander list.
  public enum Kind: Sendable { case duration, integer, fraction, number, boolean, range, expander }

  public static let names: [(String, Kind)] = [
    ("scan-interval", .duration), ("expander", .expander),
    ("max-node-provision-time", .duration), ("max-nodes-total", .integer),
    ("cores-total", .range), ("memory-total", .range), ("max-nodes-per-scaleup", .integer),
    ("new-pod-scale-up-delay", .duration), ("expendable-pods-priority-cutoff", .integer),
    ("scale-down-enabled", .boolean), ("scale-down-utilization-threshold", .fraction),
    ("scale-down-unneeded-time", .duration), ("scale-down-unready-time", .duration),
    ("scale-down-unready-enabled", .boolean), ("scale-down-delay-after-add", .duration),
    ("scale-down-delay-after-delete", .duration), ("scale-down-delay-after-failure", .duration),
    ("max-scale-down-parallelism", .integer), ("max-drain-parallelism", .integer),
    ("max-empty-bulk-delete", .integer), ("max-graceful-termination-sec", .integer),
    ("max-pod-eviction-time", .duration), ("node-delete-delay-after-taint", .duration),
    ("skip-nodes-with-system-pods", .boolean),
    ("blocking-system-pod-distruption-timeout", .duration),
    ("skip-nodes-with-local-storage", .boolean),
    ("skip-nodes-with-custom-controller-pods", .boolean),
    ("ignore-daemonsets-utilization", .boolean), ("daemonset-eviction-for-empty-nodes", .boolean),
    ("daemonset-eviction-for-occupied-nodes", .boolean),
    ("max-total-unready-percentage", .number), ("ok-total-unready-count", .integer),
    ("initial-node-group-backoff-duration", .duration),
    ("max-node-group-backoff-duration", .duration),
    ("node-group-backoff-reset-timeout", .duration),
    ("unremovable-node-recheck-timeout", .duration),
    ("balance-similar-node-groups", .boolean), ("enforce-node-group-min-size", .boolean),
  ]

  /// A parsed flag value.
  public enum Value: Sendable {
    case duration(VirtualTime)
    case integer(Int64)
    case number(Double)
    case boolean(Bool)
    case range(ClosedRange<Int64>)
    case expander([ExpanderName])
  }

  /// Sets flag `name` (one of `names`, with a value of its kind). Returns false for an unknown
  /// name or a value of the wrong kind.
  public mutating func set(_ name: String, _ value: Value) -> Bool {
    switch (name, value) {
    case ("scan-interval", .duration(let d)): scanInterval = d
    case ("expander", .expander(let e)): expanders = e
    case ("max-node-provision-time", .duration(let d)): maxNodeProvisionTime = d
    case ("max-nodes-total", .integer(let n)): maxNodesTotal = Int(n)
    case ("cores-total", .range(let r)): coresTotal = r
    case ("memory-total", .range(let r)): memoryTotalGiB = r
    case ("max-nodes-per-scaleup", .integer(let n)): maxNodesPerScaleUp = Int(n)
    case ("new-pod-scale-up-delay", .duration(let d)): newPodScaleUpDelay = d
    case ("expendable-pods-priority-cutoff", .integer(let n)):
      expendablePodsPriorityCutoff = Int32(n)
    case ("scale-down-enabled", .boolean(let b)): scaleDownEnabled = b
    case ("scale-down-utilization-threshold", .number(let x)): scaleDownUtilizationThreshold = x
    case ("scale-down-unneeded-time", .duration(let d)): scaleDownUnneededTime = d
    case ("scale-down-unready-time", .duration(let d)): scaleDownUnreadyTime = d
    case ("scale-down-unready-enabled", .boolean(let b)): scaleDownUnreadyEnabled = b
    case ("scale-down-delay-after-add", .duration(let d)): scaleDownDelayAfterAdd = d
    case ("scale-down-delay-after-delete", .duration(let d)): scaleDownDelayAfterDelete = d
    case ("scale-down-delay-after-failure", .duration(let d)): scaleDownDelayAfterFailure = d
    case ("max-scale-down-parallelism", .integer(let n)): maxScaleDownParallelism = Int(n)
    case ("max-drain-parallelism", .integer(let n)): maxDrainParallelism = Int(n)
    case ("max-empty-bulk-delete", .integer(let n)): maxEmptyBulkDelete = Int(n)
    case ("max-graceful-termination-sec", .integer(let n)): maxGracefulTerminationSec = n
    case ("max-pod-eviction-time", .duration(let d)): maxPodEvictionTime = d
    case ("node-delete-delay-after-taint", .duration(let d)): nodeDeleteDelayAfterTaint = d
    case ("skip-nodes-with-system-pods", .boolean(let b)): skipNodesWithSystemPods = b
    case ("blocking-system-pod-distruption-timeout", .duration(let d)):
      blockingSystemPodDisruptionTimeout = d
    case ("skip-nodes-with-local-storage", .boolean(let b)): skipNodesWithLocalStorage = b
    case ("skip-nodes-with-custom-controller-pods", .boolean(let b)):
      skipNodesWithCustomControllerPods = b
    case ("ignore-daemonsets-utilization", .boolean(let b)): ignoreDaemonSetsUtilization = b
    case ("daemonset-eviction-for-empty-nodes", .boolean(let b)):
      daemonSetEvictionForEmptyNodes = b
    case ("daemonset-eviction-for-occupied-nodes", .boolean(let b)):
      daemonSetEvictionForOccupiedNodes = b
    case ("max-total-unready-percentage", .number(let x)): maxTotalUnreadyPercentage = x
    case ("ok-total-unready-count", .integer(let n)): okTotalUnreadyCount = Int(n)
    case ("initial-node-group-backoff-duration", .duration(let d)): initialNodeGroupBackoff = d
    case ("max-node-group-backoff-duration", .duration(let d)): maxNodeGroupBackoff = d
    case ("node-group-backoff-reset-timeout", .duration(let d)): nodeGroupBackoffReset = d
    case ("unremovable-node-recheck-timeout", .duration(let d)):
      unremovableNodeRecheckTimeout = d
    case ("balance-similar-node-groups", .boolean(let b)): balanceSimilarNodeGroups = b
    case ("enforce-node-group-min-size", .boolean(let b)): enforceNodeGroupMinSize = b
    default: return false
    }
    return true
  }
}

/// A time window (from, until) in virtual time.
public struct TimeWindow: Sendable, Equatable {
  public var from: VirtualTime
  public var until: VirtualTime
  public init(from: VirtualTime, until: VirtualTime) {
    self.from = from
    self.until = until
  }
  public func contains(_ t: VirtualTime) -> Bool { from <= t && t < until }
}

/// One node group of the Cluster Autoscaler (`spec.clusterAutoscaler.nodeGroups[]`).
public struct NodeGroupSpec: Sendable, Equatable {
  public var name: String
  public var minSize: Int
  public var maxSize: Int
  /// The node each new instance registers as (its name is replaced by `<group>-<n>`).
  public var template: NodeSpec
  /// What one node of the group costs an hour (the price expander and cost reports); nil:
  /// not priced.
  public var pricePerHour: Double?
  /// Windows in which the cloud refuses to add instances (a quota or stock-out error):
  /// scale-ups fail with `FailedToScaleUpGroup` and back the group off.
  public var unavailable: [TimeWindow] = []
  /// Spot capacity: each node is reclaimed after an exponentially distributed time of this
  /// mean, with `interruptionNotice` of warning (nil: on-demand, never reclaimed).
  public var meanTimeToInterruption: VirtualTime?
  public var interruptionNotice = VirtualTime.seconds(Int64(120))

  public init(name: String, minSize: Int, maxSize: Int, template: NodeSpec) {
    self.name = name
    self.minSize = minSize
    self.maxSize = maxSize
    self.template = template
  }

  /// The label Berth puts on every node of a group (and reads from the scenario's nodes).
  public static let label = "berth.dev/node-group"
}
