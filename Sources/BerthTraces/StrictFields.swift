import BerthCore

/// Strict decoding of Kubernetes objects, as `kubectl --validate=strict` checks them: a field the
/// Kubernetes API does not have (`resourcez:` in a container) is an error naming the file, line
/// and field path. Fields the API has but Berth does not model are accepted (and ignored).
///
/// The field names come from `KubernetesFieldTable` (generated from the API's models).
package enum StrictFields {
  /// A field's value: another object type, a list of one, a map to one, or anything else.
  enum Shape {
    case object(Int)
    case list(Int)
    case map(Int)
    case free
  }

  /// Per type id, its fields; type ids by name.
  struct Table {
    var fields: [[String: Shape]] = []
    var ids: [String: Int] = [:]
  }

  static let table: Table = {
    var t = Table()
    let lines = (KubernetesFieldTable.text + "\n" + metricsAPIFields).split(separator: "\n")
    for line in lines { t.ids[String(line.split(separator: " ", maxSplits: 1)[0])] = t.ids.count }
    for line in lines {
      var fields: [String: Shape] = [:]
      for word in line.split(separator: " ").dropFirst() {
        let parts = word.split(separator: ":", maxSplits: 1)
        let name = String(parts[0])
        guard parts.count == 2 else {
          fields[name] = .free
          continue
        }
        let type = parts[1]
        if type.hasPrefix("[") {
          fields[name] = t.ids[String(type.dropFirst().dropLast())].map(Shape.list) ?? .free
        } else if type.hasPrefix("{") {
          fields[name] = t.ids[String(type.dropFirst().dropLast())].map(Shape.map) ?? .free
        } else {
          fields[name] = t.ids[String(type)].map(Shape.object) ?? .free
        }
      }
      t.fields.append(fields)
    }
    return t
  }()

  /// The metrics APIs' types (`metrics.k8s.io/v1beta1`, `custom.metrics.k8s.io/v1beta2`,
  /// `external.metrics.k8s.io/v1beta1`, from k8s.io/metrics), which the generated table lacks:
  /// what `kubectl get --raw` returns for them.
  static let metricsAPIFields = """
    MetricsPodMetrics apiVersion kind metadata:V1ObjectMeta timestamp window containers:[MetricsContainerMetrics]
    MetricsContainerMetrics name usage
    MetricsPodMetricsList apiVersion kind metadata:V1ListMeta items:[MetricsPodMetrics]
    CustomMetricValueList apiVersion kind metadata:V1ListMeta items:[CustomMetricValue]
    CustomMetricValue apiVersion kind describedObject:V1ObjectReference metric:CustomMetricIdentifier timestamp windowSeconds value
    CustomMetricIdentifier name selector:V1LabelSelector
    ExternalMetricValueList apiVersion kind metadata:V1ListMeta items:[ExternalMetricValue]
    ExternalMetricValue apiVersion kind metricName metricLabels timestamp window value
    """

  /// The API type of each kind Berth reads.
  static func type(ofKind kind: String) -> Int? {
    switch kind {
    case "Node": return table.ids["V1Node"]
    case "Pod": return table.ids["V1Pod"]
    case "Namespace": return table.ids["V1Namespace"]
    case "PriorityClass": return table.ids["V1PriorityClass"]
    case "PodDisruptionBudget": return table.ids["V1PodDisruptionBudget"]
    case "Service": return table.ids["V1Service"]
    case "ReplicationController": return table.ids["V1ReplicationController"]
    case "ReplicaSet": return table.ids["V1ReplicaSet"]
    case "StatefulSet": return table.ids["V1StatefulSet"]
    case "Deployment": return table.ids["V1Deployment"]
    case "DaemonSet": return table.ids["V1DaemonSet"]
    case "Job": return table.ids["V1Job"]
    case "CronJob": return table.ids["V1CronJob"]
    case "HorizontalPodAutoscaler": return table.ids["V2HorizontalPodAutoscaler"]
    case "PodMetrics": return table.ids["MetricsPodMetrics"]
    case "PodMetricsList": return table.ids["MetricsPodMetricsList"]
    case "MetricValueList": return table.ids["CustomMetricValueList"]
    case "ExternalMetricValueList": return table.ids["ExternalMetricValueList"]
    default: return nil
    }
  }

  /// Checks every field of object `v` of `kind` against the API.
  /// - Throws: the first unknown field, at its line, with its path.
  package static func check(_ v: YAMLValue, kind: String) throws(InputError) {
    guard let type = type(ofKind: kind) else { return }
    try check(v, type: type, depth: 0)
  }

  /// Checks `v` against a named API type of the table (`V1PodList`).
  package static func check(_ v: YAMLValue, typeName: String) throws(InputError) {
    guard let type = table.ids[typeName] else { return }
    try check(v, type: type, depth: 0)
  }

  /// The fields of a List object itself (its items are checked as objects of their own kinds).
  static let listFields: Set<String> = ["apiVersion", "kind", "items", "metadata"]

  private static func check(_ v: YAMLValue, type: Int, depth: Int) throws(InputError) {
    guard v.kind == .mapping, depth < YAMLTree.maxDepth else { return }
    let fields = table.fields[type]
    let tree = v.tree
    let n = tree.childCount(v.index)
    var k = 0
    while k + 1 < n {
      let keyNode = tree.child(v.index, k)
      let valueNode = YAMLValue(tree: tree, index: tree.child(v.index, k + 1))
      k += 2
      let key = tree.scalar(keyNode)
      guard let shape = fields[key] else {
        throw InputError(
          file: v.file, line: tree.line(keyNode), field: valueNode.path,
          "unknown field \"\(Escaped(key))\" (not in the Kubernetes API; check its spelling and indentation)"
        )
      }
      switch shape {
      case .free: continue
      case .object(let t): try check(valueNode, type: t, depth: depth + 1)
      case .list(let t):
        guard valueNode.kind == .sequence else { continue }
        for i in 0..<tree.childCount(valueNode.index) {
          try check(
            YAMLValue(tree: tree, index: tree.child(valueNode.index, i)), type: t, depth: depth + 1)
        }
      case .map(let t):
        guard valueNode.kind == .mapping else { continue }
        var j = 0
        while j + 1 < tree.childCount(valueNode.index) {
          try check(
            YAMLValue(tree: tree, index: tree.child(valueNode.index, j + 1)), type: t,
            depth: depth + 1)
          j += 2
        }
      }
    }
  }
}
