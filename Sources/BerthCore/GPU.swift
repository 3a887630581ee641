/// GPUs a node carries for GPU-sharing scheduling: up to eight devices of one model, each
/// divisible into 1000 milli-GPU.
public struct NodeGPUs: Hashable, Sendable {
  /// At most `NodeGPUs.maxPerNode`.
  public var count: Int
  /// The card model (e.g. `T4`, `V100M16`); empty when unknown.
  public var model: String

  public static let maxPerNode = 8
  public static let milliPerGPU: Int16 = 1000

  public init(count: Int, model: String) {
    precondition((0...NodeGPUs.maxPerNode).contains(count), "a node carries 0 to 8 GPUs")
    self.count = count
    self.model = model
  }
}

/// What a pod asks of GPUs: `count` devices with `milliPerGPU` each, on a node whose model is in
/// `models` (any model when empty).
///
/// Sharing pods have count 1 and milli below 1000; whole-GPU pods milli 1000 and count 1…8.
public struct GPURequest: Hashable, Sendable {
  public var count: Int
  public var milliPerGPU: Int
  public var models: [String]

  public init(count: Int, milliPerGPU: Int, models: [String] = []) {
    self.count = count
    self.milliPerGPU = milliPerGPU
    self.models = models
  }

  public var isSharing: Bool { count == 1 && milliPerGPU < 1000 }
  /// Total demand in milli-GPU.
  public var totalMilli: Int { count * milliPerGPU }
}

/// Interned GPU models; id 0 means "no model" (CPU-only node, or a pod accepting any model).
public struct GPUModelRegistry: Sendable {
  public private(set) var names: [String] = [""]
  private var index: [String: UInt16] = ["": 0]
  public init() {}
  public func id(of name: String) -> UInt16? { index[name] }
  mutating func intern(_ name: String) -> UInt16 {
    if let id = index[name] { return id }
    precondition(names.count < Int(UInt16.max), "too many GPU models")
    let id = UInt16(names.count)
    names.append(name)
    index[name] = id
    return id
  }
}
