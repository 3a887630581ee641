import BerthCore

/// A part of the simulated cluster — the scheduling queue, a controller, an autoscaler, a node's
/// kubelet — driven by one `Engine`.
///
/// Time belongs to the engine: a component never advances a clock. It asks for timers
/// (`Engine.schedule`, `Engine.every`), which come back as `fire` with the tag and payload it
/// chose, and it declares in `watches` which cluster changes it wants, which come back as
/// `observe`. Whatever it changes in the cluster is recorded and delivered to the others: nobody
/// wraps a mutation by hand to notify anyone.
public protocol Component: AnyObject {
  /// For diagnostics and errors.
  var name: String { get }
  /// The kinds of cluster change `observe` is called for.
  var watches: ClusterChangeKinds { get }
  /// Called once when the component is added to an engine (its timers are armed here).
  func start(_ engine: Engine)
  /// One of this component's timers is due.
  func fire(_ timer: Timer, _ engine: Engine)
  /// A change of a watched kind happened (after the event, or the settle, that made it).
  func observe(_ change: ClusterChange, _ engine: Engine)
  /// Called after every event due at the current instant ran and their changes were delivered:
  /// work that needs the instant settled first (the scheduler's cycles). Returns whether it did
  /// anything; the engine settles every component again until none does.
  func settle(_ engine: Engine) -> Bool
  /// Whether the component would still act with no event pending: a run without a time limit
  /// ends only when no non-daemon event is pending and every component is quiescent.
  var isQuiescent: Bool { get }
}

extension Component {
  public var watches: ClusterChangeKinds { [] }
  public func start(_ engine: Engine) {}
  public func fire(_ timer: Timer, _ engine: Engine) {}
  public func observe(_ change: ClusterChange, _ engine: Engine) {}
  public func settle(_ engine: Engine) -> Bool { false }
  public var isQuiescent: Bool { true }
}

/// A due timer as its component sees it: the tag and payload it was scheduled with, and its
/// handle (a periodic timer keeps one handle for all its firings).
public struct Timer: Sendable, Equatable {
  public var tag: UInt32
  public var payload: UInt64
  public var handle: TimerHandle
}

/// A scheduled timer, to cancel it.
public struct TimerHandle: Hashable, Sendable {
  /// Index of the periodic timer's record, or -1 for a one-shot timer.
  let periodic: Int32
  let event: AgendaHandle
}
