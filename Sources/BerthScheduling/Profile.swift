import BerthCore

/// A resolved scheduling profile: the filters in the order they run and the score plugins with
/// their weights, plus the arguments of the plugins that take them.
public struct Profile: Sendable, Equatable {
  public struct WeightedPlugin: Sendable, Equatable {
    public var name: PluginName
    public var weight: Int64
    public init(name: PluginName, weight: Int64) {
      self.name = name
      self.weight = weight
    }
  }

  public var schedulerName: String
  /// The profile's own value, else the configuration's global one; nil means adaptive.
  public var percentageOfNodesToScore: Int32?
  public var filters: [PluginName]
  /// PostFilter plugins (DefaultPreemption in the default profile).
  public var postFilters: [PluginName] = []
  public var scores: [WeightedPlugin]
  /// The arguments of the plugins that take them: `arguments[NodeResourcesFitArguments.self]`.
  public var arguments = ArgumentsByPlugin()

  /// kube-scheduler's default profile (`getDefaultPlugins`, v1.26 set), adaptive percentage.
  public static let `default`: Profile = {
    // The defaults resolve without error by construction; a failure here is a programming error.
    do { return try Profile.resolve(ProfileConfiguration(), globalPercentage: nil) } catch {
      preconditionFailure("default profile does not resolve: \(error)")
    }
  }()

  /// The default `multiPoint` list, in upstream order, with score weights.
  public static let defaultMultiPoint: [PluginReference] = [
    .init(name: PluginName.schedulingGates.rawValue),
    .init(name: PluginName.prioritySort.rawValue),
    .init(name: PluginName.nodeUnschedulable.rawValue),
    .init(name: PluginName.nodeName.rawValue),
    .init(name: PluginName.taintToleration.rawValue, weight: 3),
    .init(name: PluginName.nodeAffinity.rawValue, weight: 2),
    .init(name: PluginName.nodePorts.rawValue),
    .init(name: PluginName.nodeResourcesFit.rawValue, weight: 1),
    .init(name: PluginName.volumeRestrictions.rawValue),
    .init(name: PluginName.ebsLimits.rawValue),
    .init(name: PluginName.gcePDLimits.rawValue),
    .init(name: PluginName.nodeVolumeLimits.rawValue),
    .init(name: PluginName.azureDiskLimits.rawValue),
    .init(name: PluginName.volumeBinding.rawValue),
    .init(name: PluginName.volumeZone.rawValue),
    .init(name: PluginName.podTopologySpread.rawValue, weight: 2),
    .init(name: PluginName.interPodAffinity.rawValue, weight: 2),
    .init(name: PluginName.defaultPreemption.rawValue),
    .init(name: PluginName.nodeResourcesBalancedAllocation.rawValue, weight: 1),
    .init(name: PluginName.imageLocality.rawValue, weight: 1),
    .init(name: PluginName.defaultBinder.rawValue),
  ]

  /// Resolves every profile of a configuration. No profile at all means one default profile, as
  /// upstream's defaulting (`SetDefaults_KubeSchedulerConfiguration`) adds for `profiles: []`.
  /// - Postcondition: at least one profile.
  public static func resolve(_ config: SchedulerConfiguration) throws(ConfigurationError)
    -> [Profile]
  {
    var config = config
    if config.profiles.isEmpty { config.profiles = [ProfileConfiguration()] }
    if let p = config.percentageOfNodesToScore, !(0...100).contains(p) {
      throw ConfigurationError(field: "percentageOfNodesToScore", "\(p) is not in [0, 100]")
    }
    var names = Set<String>()
    var profiles: [Profile] = []
    for (i, pc) in config.profiles.enumerated() {
      guard names.insert(pc.schedulerName).inserted else {
        throw ConfigurationError(
          field: "profiles[\(i)].schedulerName", "duplicate scheduler name \"\(pc.schedulerName)\"")
      }
      do {
        profiles.append(try resolve(pc, globalPercentage: config.percentageOfNodesToScore))
      } catch {
        throw ConfigurationError(field: "profiles[\(i)].\(error.field)", error.message)
      }
    }
    assert(!profiles.isEmpty, "a configuration resolves to at least one profile")
    return profiles
  }

  /// Applies the upstream merge (`mergePluginSet`) and multiPoint expansion
  /// (`expandMultiPointPlugins`) to one profile.
  static func resolve(_ pc: ProfileConfiguration, globalPercentage: Int32?)
    throws(ConfigurationError) -> Profile
  {
    if let p = pc.percentageOfNodesToScore, !(0...100).contains(p) {
      throw ConfigurationError(field: "percentageOfNodesToScore", "\(p) is not in [0, 100]")
    }
    // Every named plugin must exist and implement the extension point it is listed under.
    for point in ExtensionPoint.allCases {
      guard let set = pc.plugins[point] else { continue }
      for (i, ref) in set.enabled.enumerated() {
        guard let plugin = PluginRegistry.known(ref.name) else {
          throw ConfigurationError(
            field: "plugins.\(point.rawValue).enabled[\(i)].name", "unknown plugin \"\(ref.name)\"")
        }
        if point != .multiPoint && !plugin.extensionPoints.contains(point) {
          throw ConfigurationError(
            field: "plugins.\(point.rawValue).enabled[\(i)]",
            "plugin \"\(ref.name)\" does not extend \(point.rawValue)")
        }
        if let w = ref.weight, w < 0 {
          throw ConfigurationError(
            field: "plugins.\(point.rawValue).enabled[\(i)].weight", "\(w) is negative")
        }
      }
      for (i, ref) in set.disabled.enumerated()
      where ref.name != "*" && PluginRegistry.known(ref.name) == nil {
        throw ConfigurationError(
          field: "plugins.\(point.rawValue).disabled[\(i)].name", "unknown plugin \"\(ref.name)\"")
      }
    }
    let multiPoint = merge(default: defaultMultiPoint, custom: pc.plugins[.multiPoint])
    func expand(_ point: ExtensionPoint) throws(ConfigurationError) -> [PluginReference] {
      let specific = merge(default: [], custom: pc.plugins[point])
      let disabled = Set(specific.disabled.map(\.name))
      var specificNames: [String] = []
      for ref in specific.enabled {
        if specificNames.contains(ref.name) {
          throw ConfigurationError(
            field: "plugins.\(point.rawValue)", "plugin \"\(ref.name)\" is enabled twice")
        }
        specificNames.append(ref.name)
      }
      if disabled.contains("*") { return specific.enabled }
      var overrides: [PluginReference] = []
      var fromMultiPoint: [PluginReference] = []
      for ref in multiPoint.enabled {
        guard let plugin = PluginRegistry.known(ref.name), plugin.extensionPoints.contains(point)
        else { continue }
        if disabled.contains(ref.name) { continue }
        if let explicit = specific.enabled.first(where: { $0.name == ref.name }) {
          overrides.append(explicit)
          continue
        }
        if fromMultiPoint.contains(where: { $0.name == ref.name }) {
          throw ConfigurationError(
            field: "plugins.multiPoint", "plugin \"\(ref.name)\" is enabled twice")
        }
        fromMultiPoint.append(ref)
      }
      var ordered = overrides
      for ref in fromMultiPoint + specific.enabled
      where !ordered.contains(where: { $0.name == ref.name }) {
        ordered.append(ref)
      }
      return ordered
    }
    let filters = try expand(.filter).compactMap { PluginRegistry.known($0.name) }
    let scoreRefs = try expand(.score)
    // Weights: an explicit score entry wins over the multiPoint entry; 0 or unset means 1.
    let scoreEnabled = merge(default: [], custom: pc.plugins[.score]).enabled
    var scores: [WeightedPlugin] = []
    var total: Int64 = 0
    for ref in scoreRefs {
      guard let plugin = PluginRegistry.known(ref.name) else { continue }
      let w =
        scoreEnabled.first { $0.name == ref.name }?.weight
        ?? multiPoint.enabled.first { $0.name == ref.name }?.weight ?? 0
      let weight = Int64(w == 0 ? 1 : w)
      total += weight * 100
      if total > Int64.max / 2 {
        throw ConfigurationError(
          field: "plugins.score", "total score of score plugins could overflow")
      }
      scores.append(WeightedPlugin(name: plugin, weight: weight))
    }
    var profile = Profile(
      schedulerName: pc.schedulerName,
      percentageOfNodesToScore: pc.percentageOfNodesToScore ?? globalPercentage,
      filters: filters, scores: scores)
    profile.postFilters = try expand(.postFilter).compactMap { PluginRegistry.known($0.name) }
    var configured = Set<PluginName>()
    for (i, args) in pc.pluginConfig.enumerated() {
      let path = "pluginConfig[\(i)].args"
      guard configured.insert(args.pluginName).inserted else {
        throw ConfigurationError(
          field: "pluginConfig[\(i)].name",
          "duplicate configuration for \(args.pluginName.rawValue)")
      }
      try args.arguments.validate(path: path)
      profile.arguments.set(args.arguments)
    }
    return profile
  }

  /// `mergePluginSet`: defaults minus the disabled ones (all with `*`), an explicitly enabled
  /// default replaced in place, then the remaining custom plugins appended.
  static func merge(default defaults: [PluginReference], custom: PluginSet?) -> PluginSet {
    guard let custom else { return PluginSet(enabled: defaults) }
    let disabled = Set(custom.disabled.map(\.name))
    var enabled: [PluginReference] = []
    var replaced = Set<Int>()
    if !disabled.contains("*") {
      for d in defaults where !disabled.contains(d.name) {
        if let i = custom.enabled.firstIndex(where: { $0.name == d.name }) {
          enabled.append(custom.enabled[i])
          replaced.insert(i)
        } else {
          enabled.append(d)
        }
      }
    }
    for (i, c) in custom.enabled.enumerated() where !replaced.contains(i) { enabled.append(c) }
    return PluginSet(enabled: enabled, disabled: custom.disabled)
  }
}
