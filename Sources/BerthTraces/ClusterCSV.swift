import BerthCore
import CSV
import Foundation

/// Berth cluster CSV: a directory with `nodes.csv` and `pods.csv` (format in docs/formats.md).
///
/// nodes.csv: `name,cpu_milli,mem_bytes,max_pods,zone,node_type,taint` — labels
/// `kubernetes.io/hostname`, `topology.kubernetes.io/zone`, `node-type`; `taint` is empty or
/// `key=value:Effect`. pods.csv: `name,cpu_milli,mem_bytes,zone_selector,tolerates` — a
/// non-empty `zone_selector` becomes `nodeSelector: {topology.kubernetes.io/zone: …}`;
/// `tolerates` = 1 gives the pod an `Equal` toleration for every distinct taint in nodes.csv.
public enum ClusterCSV {
  public static let nodeHeader = [
    "name", "cpu_milli", "mem_bytes", "max_pods", "zone", "node_type", "taint",
  ]
  public static let podHeader = ["name", "cpu_milli", "mem_bytes", "zone_selector", "tolerates"]

  public static func read(directory: String) throws(InputError) -> (
    nodes: [NodeSpec], pods: [PodSpec]
  ) {
    let nodes = try readNodes(path: directory + "/nodes.csv")
    let pods = try readPods(path: directory + "/pods.csv", nodes: nodes)
    return (nodes, pods)
  }

  /// Rows of a CSV file with the expected header, each with its 1-based line number.
  static func rows(path: String, header expected: [String]) throws(InputError) -> [(
    line: Int, fields: [String]
  )] {
    try rows(text: InputFile.text(path), file: path, header: expected)
  }

  /// Rows of CSV text (from `file`) with the expected header.
  static func rows(text: String, file path: String, header expected: [String]) throws(InputError)
    -> [(line: Int, fields: [String])]
  {
    let reader: CSVReader
    do {
      reader = try CSVReader(string: text, hasHeaderRow: true)
    } catch {
      throw InputError(file: path, line: 1, "malformed CSV header (\(error))")
    }
    guard let header = reader.headerRow,
      header.map({ $0.trimmingCharacters(in: .whitespaces) }) == expected
    else {
      throw InputError(file: path, line: 1, "header must be \(expected.joined(separator: ","))")
    }
    var result: [(Int, [String])] = []
    var line = 1
    while let row = reader.next() {
      line += 1
      if row.count == 1 && row[0].isEmpty { continue }  // blank line
      guard row.count == expected.count else {
        throw InputError(
          file: path, line: line, "expected \(expected.count) fields, found \(row.count)")
      }
      result.append((line, row))
    }
    if let error = reader.error {
      throw InputError(file: path, line: line + 1, "malformed CSV (\(error))")
    }
    return result
  }

  /// An integer cell in `min…max` (by default a resource amount: `0…ResourceAmounts.limit`).
  static func integer(
    _ s: String, file: String, line: Int, field: String, min: Int64 = 0,
    max: Int64 = ResourceAmounts.limit
  ) throws(InputError) -> Int64 {
    guard let v = Int64(trimmed(s)) else {
      throw InputError(
        file: file, line: line, field: field, "expected an integer, found \"\(Escaped(s))\"")
    }
    guard v >= min else {
      throw InputError(
        file: file, line: line, field: field, "expected an integer ≥ \(min), found \(v)")
    }
    guard v <= max else {
      throw InputError(
        file: file, line: line, field: field, "expected an integer ≤ \(max), found \(v)")
    }
    return v
  }

  /// `s` without leading and trailing whitespace. A field that neither starts nor ends with
  /// an ASCII space, tab or a non-ASCII byte (nearly all) is returned as it is: Foundation's
  /// trimming bridges every string it is given, which took a sixth of loading a million pods.
  static func trimmed<S: StringProtocol>(_ s: S) -> String
  where S.UTF8View: BidirectionalCollection {
    let u = s.utf8
    guard let first = u.first, let last = u.last else { return "" }
    func plain(_ b: UInt8) -> Bool { b > 0x20 && b < 0x80 }
    if plain(first) && plain(last) { return String(s) }
    return s.trimmingCharacters(in: .whitespaces)
  }

  /// A row's non-empty name, not seen before in the file.
  static func uniqueName(
    _ name: String, kind: String, seen: inout Set<String>, file: String, line: Int
  ) throws(InputError) -> String {
    guard !name.isEmpty else {
      throw InputError(file: file, line: line, field: "name", "must not be empty")
    }
    guard seen.insert(name).inserted else {
      throw InputError(file: file, line: line, field: "name", "duplicate \(kind) \"\(name)\"")
    }
    return name
  }

  public static func parseTaint(_ s: String) -> Taint? {
    let parts = s.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let effect = TaintEffect(rawValue: String(parts[1])) else { return nil }
    let kv = parts[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    guard let key = kv.first, !key.isEmpty else { return nil }
    return Taint(key: String(key), value: kv.count > 1 ? String(kv[1]) : "", effect: effect)
  }

  public static func readNodes(path: String) throws(InputError) -> [NodeSpec] {
    try parseNodes(InputFile.text(path), file: path)
  }

  /// nodes.csv text, `file` naming it in errors.
  public static func parseNodes(_ text: String, file path: String) throws(InputError) -> [NodeSpec]
  {
    let table = try rows(text: text, file: path, header: nodeHeader)
    var nodes: [NodeSpec] = []
    nodes.reserveCapacity(table.count)
    var seen = Set<String>(minimumCapacity: table.count)
    for (line, f) in table {
      let name = try uniqueName(f[0], kind: "node", seen: &seen, file: path, line: line)
      let cpu = try integer(f[1], file: path, line: line, field: "cpu_milli")
      let mem = try integer(f[2], file: path, line: line, field: "mem_bytes")
      let pods = try integer(f[3], file: path, line: line, field: "max_pods")
      var labels = ["kubernetes.io/hostname": name]
      if !f[4].isEmpty { labels["topology.kubernetes.io/zone"] = f[4] }
      if !f[5].isEmpty { labels["node-type"] = f[5] }
      var taints: [Taint] = []
      for t in f[6].split(separator: ";") where !t.isEmpty {
        guard let taint = parseTaint(String(t)) else {
          throw InputError(
            file: path, line: line, field: "taint",
            "expected key=value:Effect (NoSchedule, PreferNoSchedule or NoExecute), found \"\(t)\"")
        }
        taints.append(taint)
      }
      nodes.append(
        NodeSpec(
          name: name, labels: labels, taints: taints,
          allocatable: ResourceAmounts(cpuMillis: cpu, memoryBytes: mem, pods: pods)))
    }
    return nodes
  }

  public static func readPods(path: String, nodes: [NodeSpec]) throws(InputError) -> [PodSpec] {
    try parsePods(InputFile.text(path), file: path, nodes: nodes)
  }

  /// pods.csv text, `file` naming it in errors; `nodes` give the taints `tolerates` refers to.
  public static func parsePods(_ text: String, file path: String, nodes: [NodeSpec])
    throws(InputError) -> [PodSpec]
  {
    var distinctTaints: [Taint] = []
    for n in nodes {
      for t in n.taints where !distinctTaints.contains(t) { distinctTaints.append(t) }
    }
    let tolerations = distinctTaints.map {
      Toleration(key: $0.key, operator: .equal, value: $0.value, effect: $0.effect)
    }
    let table = try rows(text: text, file: path, header: podHeader)
    var pods: [PodSpec] = []
    pods.reserveCapacity(table.count)
    var seen = Set<String>(minimumCapacity: table.count)
    for (line, f) in table {
      let name = try uniqueName(f[0], kind: "pod", seen: &seen, file: path, line: line)
      let cpu = try integer(f[1], file: path, line: line, field: "cpu_milli")
      let mem = try integer(f[2], file: path, line: line, field: "mem_bytes")
      let tolerates: Bool
      switch trimmed(f[4]) {
      case "0", "": tolerates = false
      case "1": tolerates = true
      default:
        throw InputError(
          file: path, line: line, field: "tolerates", "expected 0 or 1, found \"\(f[4])\"")
      }
      let requests = ResourceList([
        (ResourceName.cpu, Quantity(milli: cpu)), (ResourceName.memory, Quantity(integer: mem)),
      ])
      pods.append(
        PodSpec(
          name: name, containers: [Container(name: "main", requests: requests)],
          nodeSelector: f[3].isEmpty ? [:] : ["topology.kubernetes.io/zone": f[3]],
          tolerations: tolerates ? tolerations : []))
    }
    return pods
  }

  /// Writes nodes.csv and pods.csv. Only what the format holds is written: zone, node-type,
  /// taints, CPU, memory, max pods; zone selectors; tolerations as the 0/1 flag.
  public static func write(nodes: [NodeSpec], pods: [PodSpec], directory: String) throws(InputError)
  {
    let (n, p) = render(nodes: nodes, pods: pods)
    try AtomicFile.write(n, to: directory + "/nodes.csv")
    try AtomicFile.write(p, to: directory + "/pods.csv")
  }

  /// nodes.csv and pods.csv for `nodes` and `pods`, as `write` writes them.
  public static func render(nodes: [NodeSpec], pods: [PodSpec]) -> (nodes: String, pods: String) {
    var n = nodeHeader.joined(separator: ",") + "\n"
    for node in nodes {
      n +=
        [
          node.name, String(node.allocatable.cpuMillis), String(node.allocatable.memoryBytes),
          String(node.allocatable.pods), node.labels["topology.kubernetes.io/zone"] ?? "",
          node.labels["node-type"] ?? "", node.taints.map(\.description).joined(separator: ";"),
        ]
        .map(csvField).joined(separator: ",") + "\n"
    }
    var p = podHeader.joined(separator: ",") + "\n"
    for pod in pods {
      let req = (try? PodRequests.effective(pod)) ?? ResourceAmounts()
      p +=
        [
          pod.name, String(req.cpuMillis), String(req.memoryBytes),
          pod.nodeSelector["topology.kubernetes.io/zone"] ?? "",
          pod.tolerations.isEmpty ? "0" : "1",
        ]
        .map(csvField).joined(separator: ",") + "\n"
    }
    return (n, p)
  }

  package static func csvField(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
