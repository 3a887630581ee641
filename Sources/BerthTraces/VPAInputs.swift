import BerthAutoscaling
import BerthCore

/// The inputs of `berth vpa recommend`: usage and OOM samples as CSV, and a
/// VerticalPodAutoscaler.
public enum VPAInputs {
  public struct UsageRow: Sendable, Equatable {
    public var time: UnixMillis
    public var namespace: String
    public var pod: String
    public var container: String
    public var cpuCores: Double?
    public var memoryBytes: Double?
  }
  public struct OOMRow: Sendable, Equatable {
    public var time: UnixMillis
    public var namespace: String
    public var pod: String
    public var container: String
    public var memoryBytes: Double
  }

  public static let usageHeader = "time,namespace,pod,container,cpu_cores,memory_bytes"
  public static let oomHeader = "time,namespace,pod,container,memory_bytes"
  /// More is refused before it is read.
  public static let maxRows = 20_000_000

  static func rows(_ text: String, file: String, header: String, fields: Int) throws(InputError)
    -> [(line: Int, cells: [Substring])]
  {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last == "" { lines.removeLast() }
    guard let first = lines.first else { throw InputError(file: file, "empty file") }
    let h = first.hasSuffix("\r") ? first.dropLast() : first
    guard h == header else {
      throw InputError(
        file: file, line: 1, "expected the header \(header), found \(Escaped(String(h)))")
    }
    guard lines.count - 1 <= maxRows else {
      throw InputError(file: file, "more than \(maxRows) rows")
    }
    var out: [(line: Int, cells: [Substring])] = []
    out.reserveCapacity(lines.count - 1)
    for (i, raw) in lines.enumerated().dropFirst() {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      let cells = line.split(separator: ",", omittingEmptySubsequences: false)
      guard cells.count == fields else {
        throw InputError(file: file, line: i + 1, "expected \(fields) fields, found \(cells.count)")
      }
      out.append((i + 1, cells))
    }
    return out
  }

  static func time(_ s: Substring, file: String, line: Int) throws(InputError) -> UnixMillis {
    guard let ms = RFC3339.parseMillis(String(s)) else {
      throw InputError(
        file: file, line: line, field: "time",
        "expected an RFC 3339 time such as 2024-05-01T12:00:00Z, found \(Escaped(String(s)))")
    }
    return UnixMillis(ms)
  }

  static func number(_ s: Substring, _ field: String, file: String, line: Int, optional: Bool)
    throws(InputError) -> Double?
  {
    if s.isEmpty && optional { return nil }
    guard let x = Double(s), x.isFinite, x >= 0 else {
      throw InputError(
        file: file, line: line, field: field,
        "expected a non-negative number, found \(Escaped(String(s)))")
    }
    // Cores or bytes: a petabyte, or a million million cores, is past any machine.
    guard x <= 1e15 else {
      throw InputError(
        file: file, line: line, field: field, "at most 10^15, found \(Escaped(String(s)))")
    }
    return x
  }

  static func name(_ s: Substring, _ field: String, file: String, line: Int) throws(InputError)
    -> String
  {
    guard !s.isEmpty else {
      throw InputError(file: file, line: line, field: field, "must not be empty")
    }
    return String(s)
  }

  /// `time,namespace,pod,container,cpu_cores,memory_bytes`; an empty cpu or memory cell is a
  /// sample of the other resource only.
  public static func usage(_ text: String, file: String) throws(InputError) -> [UsageRow] {
    var out: [UsageRow] = []
    for (line, c) in try rows(text, file: file, header: usageHeader, fields: 6) {
      out.append(
        UsageRow(
          time: try time(c[0], file: file, line: line),
          namespace: try name(c[1], "namespace", file: file, line: line),
          pod: try name(c[2], "pod", file: file, line: line),
          container: try name(c[3], "container", file: file, line: line),
          cpuCores: try number(c[4], "cpu_cores", file: file, line: line, optional: true),
          memoryBytes: try number(c[5], "memory_bytes", file: file, line: line, optional: true)))
    }
    return out
  }

  /// `time,namespace,pod,container,memory_bytes` (the container's memory request when killed).
  public static func oom(_ text: String, file: String) throws(InputError) -> [OOMRow] {
    var out: [OOMRow] = []
    for (line, c) in try rows(text, file: file, header: oomHeader, fields: 5) {
      out.append(
        OOMRow(
          time: try time(c[0], file: file, line: line),
          namespace: try name(c[1], "namespace", file: file, line: line),
          pod: try name(c[2], "pod", file: file, line: line),
          container: try name(c[3], "container", file: file, line: line),
          memoryBytes: try number(c[4], "memory_bytes", file: file, line: line, optional: false)!))
    }
    return out
  }

  /// A VerticalPodAutoscaler (autoscaling.k8s.io/v1).
  public static func vpa(text: String, file: String) throws(InputError) -> VPASpec {
    let docs = try HPAInputs.documents(text: text, file: file)
    guard docs.count == 1 else {
      throw InputError(
        file: file, "expected one VerticalPodAutoscaler, found \(docs.count) documents")
    }
    return try vpa(docs[0])
  }

  package static func vpa(_ v: YAMLValue) throws(InputError) -> VPASpec {
    try v.requireKeys(in: ["apiVersion", "kind", "metadata", "spec", "status"])
    guard try v.child("kind")?.string() == "VerticalPodAutoscaler" else {
      throw (v.child("kind") ?? v).error("expected kind VerticalPodAutoscaler")
    }
    let api = try v.child("apiVersion")?.string() ?? ""
    guard api == "autoscaling.k8s.io/v1" else {
      throw (v.child("apiVersion") ?? v).error(
        "expected apiVersion autoscaling.k8s.io/v1, found \(Escaped(api))")
    }
    let meta = v.child("metadata")
    guard let name = try meta?.child("name")?.string(), !name.isEmpty else {
      throw (meta ?? v).error("the VerticalPodAutoscaler needs metadata.name")
    }
    guard let spec = v.child("spec") else { throw v.error("missing spec") }
    try spec.requireKeys(in: ["targetRef", "updatePolicy", "resourcePolicy", "recommenders"])
    guard let ref = spec.child("targetRef"), let target = try ref.child("name")?.string() else {
      throw spec.error("a VerticalPodAutoscaler needs targetRef.name")
    }
    try ref.requireKeys(in: ["apiVersion", "kind", "name"])
    var out = VPASpec(
      namespace: try meta?.child("namespace")?.string() ?? "default", name: name,
      targetRef: ObjectRef(
        apiVersion: try ref.child("apiVersion")?.string() ?? "apps/v1",
        kind: try ref.child("kind")?.string() ?? "Deployment", name: target))
    if let u = spec.child("updatePolicy") {
      try u.requireKeys(in: [
        "updateMode", "minReplicas", "evictionRequirements", "evictAfterOOMSeconds",
      ])
      if let m = u.child("updateMode") {
        let text = try m.string()
        guard let mode = VPASpec.UpdateMode(rawValue: text) else {
          throw m.error(
            "expected Off, Initial, Recreate, Auto or InPlaceOrRecreate, found \(Escaped(text))")
        }
        out.updateMode = mode
      }
      if let r = u.child("minReplicas") {
        out.minReplicas = try r.int32()
        guard out.minReplicas! > 0 else { throw r.error("must be greater than 0") }
      }
    }
    for p in try spec.child("resourcePolicy")?.child("containerPolicies")?.sequence() ?? [] {
      try p.requireKeys(in: [
        "containerName", "mode", "minAllowed", "maxAllowed", "controlledResources",
        "controlledValues",
        "oomBumpUpRatio", "oomMinBumpUp", "memoryAggregationIntervalSeconds",
        "memoryAggregationIntervalCount",
      ])
      var policy = VPAContainerPolicy(containerName: try p.child("containerName")?.string() ?? "*")
      if let m = p.child("mode") {
        switch try m.string() {
        case "Auto": policy.off = false
        case "Off": policy.off = true
        default: throw m.error("expected Auto or Off")
        }
      }
      func resources(_ key: String) throws(InputError) -> (cpuMilli: Int64?, memoryBytes: Int64?) {
        guard let r = p.child(key) else { return (nil, nil) }
        var cpu: Int64?
        var memory: Int64?
        for (k, q) in try r.mapping() {
          guard k == "cpu" || k == "memory" else {
            throw q.error("VPA policies cap cpu and memory, not \(Escaped(k))")
          }
          let quantity = try q.quantity()
          do throws(QuantityError) {
            if k == "cpu" { cpu = try quantity.milliValue() } else { memory = try quantity.value() }
          } catch {
            throw q.error(error.description)
          }
        }
        return (cpu, memory)
      }
      policy.minAllowed = try resources("minAllowed")
      policy.maxAllowed = try resources("maxAllowed")
      if let c = p.child("controlledResources") {
        let list = try c.stringList()
        guard list.allSatisfy({ $0 == "cpu" || $0 == "memory" }) else {
          throw c.error("expected a list of cpu and memory")
        }
        policy.controlledResources = Set(list)
      }
      if let c = p.child("controlledValues") {
        switch try c.string() {
        case "RequestsAndLimits": policy.requestsOnly = false
        case "RequestsOnly": policy.requestsOnly = true
        default: throw c.error("expected RequestsAndLimits or RequestsOnly")
        }
      }
      out.containerPolicies.append(policy)
    }
    return out
  }
}
