import BerthCore
import BerthScheduling

/// The Cluster Autoscaler's what-if view of a cluster (upstream's `ClusterSnapshot` with
/// `Fork`/`Revert`): nodes added from templates, pods placed and moved, each step journalled
/// and undone by `revert`, with kube-scheduler's own filter plugins (the default profile, as
/// CA's predicate checker runs them) deciding what fits.
///
/// It works on the cluster itself inside `Cluster.whatIf`, so nobody watching sees the steps
/// and nothing is copied; `revert` must run before anything else touches the cluster.
public final class SchedulingSnapshot {
  public let cluster: Cluster
  /// The filters' scheduler: its own scratch and start index, node-local caches off (what-if
  /// steps would only churn them); a failed pass still answers the next pending pod of the same
  /// filter shape while nothing changed (a scan loop over many such pods costs one pass).
  public let scheduler: Scheduler

  private enum Step {
    case addedNode(NodeID)
    case bound(PodID)
    case unbound(PodID, from: NodeID, gpus: UInt8)
  }
  private var journal: [Step] = []
  /// Where `anyFit` searches from next.
  private var lastIndex = 0
  /// Names of the nodes added since the last revert, by number: reused across forks, so the
  /// cluster's label registry does not grow with every loop.
  private var added = 0

  public init(cluster: Cluster, profile: Profile = .default, seed: UInt64 = 0) {
    self.cluster = cluster
    scheduler = Scheduler(cluster: cluster, profile: profile, seed: seed, tieBreak: .lowestIndex)
    scheduler.cachesNodeLocalResults = false
  }

  /// Whether steps are pending a `revert`.
  public var isForked: Bool { !journal.isEmpty }

  /// A node from `template` (renamed so it names no real node); it joins the end of its zone.
  @discardableResult
  public func addNode(from template: NodeSpec) -> NodeID {
    var spec = template
    spec.name = "berth-ca-template-\(added)"
    spec.labels["kubernetes.io/hostname"] = spec.name
    added += 1
    let id = cluster.whatIf { cluster.addNode(spec) }
    journal.append(.addedNode(id))
    return id
  }

  /// Whether `pod` passes every filter on `node` as things stand in the snapshot.
  public func fits(_ pod: PodID, on node: NodeID) -> Bool {
    cluster.whatIf { scheduler.fits(pod, on: node) }
  }

  /// Places an unbound pod on a node (no filters run: call `fits` first).
  public func place(_ pod: PodID, on node: NodeID) {
    cluster.whatIf { cluster.bind(pod, to: node) }
    journal.append(.bound(pod))
  }

  /// Takes a bound pod off its node.
  public func unplace(_ pod: PodID) {
    guard let node = cluster.pods.boundNode(pod) else { return }
    let gpus = cluster.pods.gpuAssignment[pod.index]
    cluster.whatIf { cluster.unbind(pod) }
    journal.append(.unbound(pod, from: node, gpus: gpus))
  }

  /// The first node from row `start` on (wrapping) whose filters `pod` passes and that
  /// `accept` takes (upstream's `FitsAnyNodeMatching`).
  public func firstFit(_ pod: PodID, from start: Int, accept: (Int) -> Bool) -> NodeID? {
    cluster.whatIf { scheduler.firstFit(pod, from: start, accept: accept) }
  }

  /// A node whose filters `pod` passes (nil: none), without placing it: upstream's
  /// `FitsAnyNodeMatching`, the first such row from the one after the last node it found,
  /// wrapping (its `lastIndex`, kept across loops).
  public func anyFit(_ pod: PodID) -> NodeID? {
    let n = cluster.nodes.count
    guard n > 0 else { return nil }
    let found = cluster.whatIf { scheduler.firstFeasibleNode(pod, from: lastIndex % n) }
    if let found { lastIndex = (found.index + 1) % n }
    return found
  }

  /// Undoes every step, newest first.
  public func revert() {
    revert(to: 0)
    added = 0
  }

  /// A mark to revert to (`revert(to:)`), for a fork inside a fork.
  public var mark: Int { journal.count }

  /// Undoes the steps after `mark`, newest first.
  public func revert(to mark: Int) {
    cluster.whatIf {
      while journal.count > mark, let step = journal.popLast() {
        switch step {
        case .addedNode(let n): cluster.removeNode(n)
        case .bound(let p): cluster.unbind(p)
        case .unbound(let p, let n, let gpus): cluster.bind(p, to: n, gpus: gpus == 0 ? nil : gpus)
        }
      }
    }
  }
}
