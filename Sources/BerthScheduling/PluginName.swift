import BerthCore

/// A scheduling plugin's upstream name (`NodeResourcesFit`).
///
/// Each plugin spells its own name once, in its file, as a static constant
/// (`extension PluginName { static let nodePorts = PluginName("NodePorts") }`); a name read from
/// a configuration is known when `PluginRegistry` lists a plugin by it.
public struct PluginName: RawRepresentable, Hashable, Comparable, Sendable,
  CustomStringConvertible
{
  public let rawValue: String
  public init(rawValue: String) { self.rawValue = rawValue }
  public init(_ rawValue: String) { self.rawValue = rawValue }

  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
  public var description: String { rawValue }

  /// The registered plugin of this name; nil for a name Berth does not know.
  public var descriptor: PluginDescriptor? { PluginRegistry.descriptor(self) }

  /// Extension points the plugin implements (empty for an unknown name).
  public var extensionPoints: Set<ExtensionPoint> { descriptor?.extensionPoints ?? [] }
}

/// The scheduling framework's extension points, by their configuration field names.
public enum ExtensionPoint: String, CaseIterable, Sendable {
  case preEnqueue, queueSort, preFilter, filter, postFilter, preScore, score, reserve, permit,
    preBind, bind, postBind, multiPoint
}

/// The cluster events a plugin registers for (upstream's `EventsToRegister`): those that may
/// make a pod it rejected schedulable. Every filter registers for new nodes.
public struct ClusterEvents: Sendable, Equatable {
  public var nodeAdd: Bool
  /// Node updates that change any of these (UpdateNodeAllocatable, UpdateNodeLabel,
  /// UpdateNodeTaint).
  public var nodeUpdate: Cluster.NodeChanges
  /// A node deleted (Node Delete).
  public var nodeDelete: Bool
  /// A pod bound to a node (AssignedPodAdd).
  public var assignedPodAdd: Bool
  /// A bound pod deleted (AssignedPodDelete).
  public var assignedPodDelete: Bool
  /// A bound pod's requests lowered by an in-place resize (UpdatePodScaleDown).
  public var assignedPodScaleDown: Bool

  public init(
    nodeAdd: Bool = true, nodeUpdate: Cluster.NodeChanges = [], nodeDelete: Bool = false,
    assignedPodAdd: Bool = false, assignedPodDelete: Bool = false,
    assignedPodScaleDown: Bool = false
  ) {
    self.nodeAdd = nodeAdd
    self.nodeUpdate = nodeUpdate
    self.nodeDelete = nodeDelete
    self.assignedPodAdd = assignedPodAdd
    self.assignedPodDelete = assignedPodDelete
    self.assignedPodScaleDown = assignedPodScaleDown
  }

  /// Whether `event` is one of these.
  @inline(__always) public func contains(_ event: ClusterEvent) -> Bool {
    switch event {
    case .nodeAdd: return nodeAdd
    case .nodeDelete: return nodeDelete
    case .nodeUpdate(let changes): return !changes.isDisjoint(with: nodeUpdate)
    case .assignedPodAdd: return assignedPodAdd
    case .assignedPodDelete: return assignedPodDelete
    case .assignedPodScaleDown: return assignedPodScaleDown
    }
  }
}

/// Everything the framework needs to know about a plugin, declared in the plugin's own file:
/// its name and extension points, the events it registers for, whether its rejections are
/// unresolvable by preemption, the arguments it takes and how to build it from a profile.
/// `PluginRegistry.all` lists one per plugin.
public struct PluginDescriptor: Sendable {
  public let name: PluginName
  /// As upstream's plugin implements them (v1.26 set).
  public let extensionPoints: Set<ExtensionPoint>
  public let events: ClusterEvents
  /// Whether a filter rejection is UnschedulableAndUnresolvable — evicting pods from the node
  /// cannot help, so preemption skips the node. Node-property plugins say yes; resource, port
  /// and pod-relationship plugins no. A plugin whose answer depends on the reason overrides
  /// `FilterPlugin.isUnresolvable`.
  public let rejectionIsUnresolvable: Bool
  /// The `pluginConfig[].args` type, for plugins that take arguments.
  public let arguments: (any PluginArguments.Type)?
  /// Builds the plugin's one instance for a scheduler (nil: the framework implements it —
  /// queue sort, gates, preemption, binding).
  let make: (@Sendable (PluginContext) -> any SchedulingPlugin)?

  public init(
    _ name: PluginName, _ extensionPoints: Set<ExtensionPoint>,
    events: ClusterEvents = ClusterEvents(), rejectionIsUnresolvable: Bool = false,
    arguments: (any PluginArguments.Type)? = nil,
    make: (@Sendable (PluginContext) -> any SchedulingPlugin)? = nil
  ) {
    self.name = name
    self.extensionPoints = extensionPoints
    self.events = events
    self.rejectionIsUnresolvable = rejectionIsUnresolvable
    self.arguments = arguments
    self.make = make
  }
}

/// What a plugin is built from: its scheduler's profile (for its arguments) and seed (for a
/// plugin that draws, split by the plugin's name).
public struct PluginContext: Sendable {
  public var profile: Profile
  public var seed: UInt64
  public init(profile: Profile, seed: UInt64) {
    self.profile = profile
    self.seed = seed
  }

  /// A generator for the plugin named `name`, independent of every other component's.
  public func random(for name: PluginName) -> SplitMix64 {
    SplitMix64(seed: seed).split(label: "plugin.\(name.rawValue)")
  }
}

/// A plugin instance; it is a `FilterPlugin`, a `ScorePlugin` or both.
public protocol SchedulingPlugin: AnyObject {
  var name: PluginName { get }
}

/// A plugin's `pluginConfig[].args`: declared, read and validated in the plugin's file.
public protocol PluginArguments: Sendable {
  /// The plugin these arguments configure.
  static var plugin: PluginName { get }
  /// Upstream's defaults.
  init()
  /// Reads `args` (field names as upstream's `…Args` types; unknown fields are refused).
  static func read<Reader: ArgumentsReader>(_ args: Reader) throws(Reader.Failure) -> Self
  /// Upstream's validation; `path` is the field path of `args`.
  func validate(path: String) throws(ConfigurationError)
  func isEqual(to other: any PluginArguments) -> Bool
}

extension PluginArguments {
  public func validate(path: String) throws(ConfigurationError) {}
}

extension PluginArguments where Self: Equatable {
  public func isEqual(to other: any PluginArguments) -> Bool { (other as? Self) == self }
}

/// What a plugin's arguments are read from: one node of a configuration document (BerthTraces'
/// YAML values), with errors that name the file, line and field.
public protocol ArgumentsReader {
  associatedtype Failure: Error
  /// The value of `key` when this is a mapping that sets it (null counts as unset).
  func child(_ key: String) -> Self?
  /// Refuses keys outside `allowed`.
  func requireKeys(in allowed: Set<String>) throws(Failure)
  func sequence() throws(Failure) -> [Self]
  func string() throws(Failure) -> String
  func stringList() throws(Failure) -> [String]
  func int32() throws(Failure) -> Int32
  func int64() throws(Failure) -> Int64
  func bool() throws(Failure) -> Bool
  /// A `NodeAffinity` as written in a pod spec.
  func nodeAffinity() throws(Failure) -> NodeAffinity
  /// An error about this node.
  func error(_ message: String) -> Failure
}

/// One `pluginConfig` entry: some plugin's arguments.
public struct PluginConfig: Sendable, Equatable {
  public let arguments: any PluginArguments
  public init(_ arguments: any PluginArguments) { self.arguments = arguments }
  public var pluginName: PluginName { type(of: arguments).plugin }
  public static func == (a: Self, b: Self) -> Bool { a.arguments.isEqual(to: b.arguments) }
}

/// A profile's plugin arguments, one value per plugin that takes them; a plugin not configured
/// reads its defaults.
public struct ArgumentsByPlugin: Sendable, Equatable {
  private var values: [PluginName: any PluginArguments] = [:]
  public init() {}

  public subscript<A: PluginArguments>(_ type: A.Type) -> A {
    get { values[A.plugin] as? A ?? A() }
    set { values[A.plugin] = newValue }
  }

  mutating func set(_ arguments: any PluginArguments) {
    values[type(of: arguments).plugin] = arguments
  }

  public static func == (a: Self, b: Self) -> Bool {
    guard a.values.count == b.values.count else { return false }
    for (name, value) in a.values {
      guard let other = b.values[name], value.isEqual(to: other) else { return false }
    }
    return true
  }
}
