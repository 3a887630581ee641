import BerthCore
import Foundation
import Synchronization

/// Reads Kubernetes `Node` and `Pod` objects from YAML: single or multi-document files,
/// `kind: List`, or a directory of `.yaml`/`.yml` files (sorted by name). Services and
/// ReplicationControllers, ReplicaSets and StatefulSets are read only for the selectors they
/// give the pods they select (PodTopologySpread's system defaults). Fields Berth does not model
/// are ignored; malformed ones are errors naming the file, line and field.
public enum KubernetesYAML {
  /// - Parameter progress: counts the nodes and pods read so far (for a progress line).
  public static func read(path: String, progress: LoadProgress? = nil) throws(InputError)
    -> Manifest
  {
    let files = try InputFile.yamlFiles(at: path)
    // Services and workloads may sit in other files than the pods they select.
    var objects = Objects()
    objects.progress = progress
    for f in files { try objects.add(contentsOf: f) }
    return try objects.resolved()
  }

  public static func parse(_ text: String, file: String) throws(InputError) -> Manifest {
    var objects = Objects()
    try objects.add(text, file: file)
    return try objects.resolved()
  }

  /// The objects of one or more files, before pods learn which Services and workloads select
  /// them.
  package struct Objects {
    package init() {}

    var nodes: [NodeSpec] = []
    var pods: [PodSpec] = []
    /// Per pod, its controlling owner reference, if any.
    var owners: [OwnerReference?] = []
    var services: [Service] = []
    var workloads: [Workload] = []
    var namespaces: [NamespaceSpec] = []
    var priorityClasses: [PriorityClassSpec] = []
    var disruptionBudgets: [PodDisruptionBudgetSpec] = []
    /// By pod index, where its `spec.priorityClassName` and `spec.priority` were written, for
    /// pods that set either (kept as places, not nodes: a streamed list item's nodes are reused
    /// once it is read; and only for those pods, as most set neither).
    var priorityPlaces: [Int: (className: InputError?, priority: InputError?)] = [:]
    /// Shared by the parts read on two threads.
    var progress: LoadProgress?
    /// One stored copy of each distinct container list and label set among the pods read:
    /// replicas repeat them, and a shared copy costs one reference instead of a few hundred
    /// bytes of heap per pod (what keeps a large dump's pods within a few times the file size).
    var containerLists: Set<[Container]> = []
    var labelSets: Set<[String: String]> = []

    mutating func add(contentsOf file: String) throws(InputError) {
      // The file's bytes are released before the parts are merged: the two never coexist with
      // the merged arrays.
      var parts = try { () throws(InputError) -> [Objects] in
        let data = try InputFile.data(file)
        try InputFile.validateUTF8(data, file: file)
        return try InputFile.withBytes(data) { bytes throws(InputError) in
          try add(bytes: bytes, file: file)
        } ?? []
      }()
      try merge(&parts)
    }

    mutating func add(_ text: String, file: String) throws(InputError) {
      var parts =
        try InputFile.withBytes(text) { bytes throws(InputError) in
          try add(bytes: bytes, file: file)
        } ?? []
      try merge(&parts)
    }

    /// Appends parts read from one file, in order, consuming them: the first part's arrays are
    /// taken over when nothing was read before, so only the second part's are copied.
    mutating func merge(_ parts: inout [Objects]) throws(InputError) {
      for k in parts.indices {
        var part = parts[k]
        parts[k] = Objects()  // `part` now holds the only reference to its arrays
        if isEmpty {
          part.progress = progress
          part.containerLists = []
          part.labelSets = []
          self = part
        } else {
          try append(part)
        }
      }
      parts = []
    }

    /// Nothing read yet.
    var isEmpty: Bool {
      nodes.isEmpty && pods.isEmpty && services.isEmpty && workloads.isEmpty && namespaces.isEmpty
        && priorityClasses.isEmpty && disruptionBudgets.isEmpty
    }

    /// Every document of a YAML stream. The items of a `kind: List` are read one by one as the
    /// parser completes them, so a large dump never exists as one tree; a large file is read
    /// in two parts on two threads where `YAMLSlices` finds a safe cut, with the same result
    /// (objects in file order, the first error in file order) as reading it in one.
    /// - Returns: nil when the text was read into these objects; else the two parts, for the
    ///   caller to `merge` once it has released the text.
    mutating func add(bytes: UnsafeRawBufferPointer, file: String) throws(InputError) -> [Objects]?
    {
      // SAFETY: both parts read slices of `bytes` inside concurrentPerform, which returns first.
      guard let plan = YAMLSlices.plan(bytes) else {
        try add(part: bytes, file: file)
        return nil
      }
      let results = PartResults()
      let whole = UnsafeSendable(bytes)
      let progress = self.progress
      DispatchQueue.concurrentPerform(iterations: 2) { part in
        let bytes = whole.value
        var objects = Objects()
        objects.progress = progress
        let outcome = Result { () throws(InputError) in
          switch (plan, part) {
          case (.documents(let offset, _), 0):
            try objects.add(part: UnsafeRawBufferPointer(rebasing: bytes[..<offset]), file: file)
          case (.documents(let offset, let line), _):
            try objects.add(
              part: UnsafeRawBufferPointer(rebasing: bytes[offset...]), file: file, firstLine: line)
          case (.listItems(let start, let end, let line, _, let endLine), 0):
            // The List less the cut-out items; lines after the cut are renumbered on error.
            let rest =
              [UInt8](UnsafeRawBufferPointer(rebasing: bytes[..<start]))
              + [UInt8](UnsafeRawBufferPointer(rebasing: bytes[end...]))
            do throws(InputError) {
              try InputFile.withBytes(rest) { b throws(InputError) in
                try objects.add(part: b, file: file)
              }
            } catch {
              var e = error
              if let l = e.line, l >= line { e.line = l - line + endLine }
              throw e
            }
          case (.listItems(let start, let end, let line, let item, _), _):
            try objects.add(
              part: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), file: file,
              firstLine: line, firstItem: item)
          }
          return objects
        }
        results.set(part, outcome)
      }
      return try results.get()
    }

    /// Reads one part: documents, or (with `firstItem`) a run of List items.
    mutating func add(
      part bytes: UnsafeRawBufferPointer, file: String, firstLine: Int = 1, firstItem: Int? = nil
    ) throws(InputError) {
      try YAMLParser.parse(
        bytes, file: file, streamingItems: true, firstLine: firstLine, firstItem: firstItem,
        item: { item throws(InputError) in try self.add(item) },
        document: { tree throws(InputError) in
          guard firstItem == nil, let root = tree.root, !root.isNull else { return }
          try self.add(root, streamedItems: tree.streamedItems)
        })
    }

    /// Adds what another part read after what this one holds, with the checks `add` makes
    /// across objects (duplicate Namespaces and PriorityClasses).
    mutating func append(_ other: Objects) throws(InputError) {
      for c in other.priorityClasses
      where (priorityClasses + PriorityClassSpec.builtIn).contains(where: { $0.name == c.name }) {
        throw InputError(file: "", "duplicate PriorityClass \(c.name)")
      }
      for n in other.namespaces where namespaces.contains(where: { $0.name == n.name }) {
        throw InputError(file: "", "duplicate Namespace \(n.name)")
      }
      let offset = pods.count
      nodes += other.nodes
      pods += other.pods
      owners += other.owners
      services += other.services
      workloads += other.workloads
      namespaces += other.namespaces
      priorityClasses += other.priorityClasses
      disruptionBudgets += other.disruptionBudgets
      for (k, place) in other.priorityPlaces { priorityPlaces[offset + k] = place }
    }

    /// One object; `streamedItems` counts items of its `items:` list already read.
    package mutating func add(_ v: YAMLValue, streamedItems: Int = 0) throws(InputError) {
      if streamedItems > 0, let kind = try v.child("kind")?.string(),
        !["List", "NodeList", "PodList"].contains(kind)
      {
        throw (v.child("items") ?? v).error("items belong to a List, not to kind \(Escaped(kind))")
      }
      guard let kind = v.child("kind") else { throw v.error("missing kind") }
      let kindName = try kind.string()
      if ["List", "NodeList", "PodList"].contains(kindName) {
        for (key, value) in try v.mapping() where !StrictFields.listFields.contains(key) {
          throw value.error(
            "unknown field \"\(Escaped(key))\" (a List has apiVersion, kind, items and metadata)")
        }
      } else {
        try StrictFields.check(v, kind: kindName)
      }
      switch kindName {
      case "Node":
        nodes.append(try node(v))
        progress?.read(node: true)
      case "Pod":
        var spec = try pod(v)
        spec.containers = containerLists.insert(spec.containers).memberAfterInsert
        spec.initContainers = containerLists.insert(spec.initContainers).memberAfterInsert
        spec.labels = labelSets.insert(spec.labels).memberAfterInsert
        pods.append(spec)
        progress?.read(node: false)
        owners.append(try controllerReference(v))
        let className = v.child("spec")?.child("priorityClassName")?.error("")
        let priority = v.child("spec")?.child("priority")?.error("")
        if className != nil || priority != nil {
          priorityPlaces[pods.count - 1] = (className, priority)
        }
      case "PriorityClass":
        let c = try priorityClass(v)
        guard !(priorityClasses + PriorityClassSpec.builtIn).contains(where: { $0.name == c.name })
        else {
          throw v.error("duplicate PriorityClass \(c.name)")
        }
        priorityClasses.append(c)
      case "PodDisruptionBudget": disruptionBudgets.append(try disruptionBudget(v))
      case "Namespace":
        let n = try namespace(v)
        guard !namespaces.contains(where: { $0.name == n.name }) else {
          throw v.error("duplicate Namespace \(n.name)")
        }
        namespaces.append(n)
      case "Service": services.append(try service(v))
      case "ReplicationController", "ReplicaSet", "StatefulSet":
        workloads.append(try workload(v, kind: try kind.string()))
      case "List", "NodeList", "PodList":
        for item in try v.child("items")?.sequence() ?? [] { try add(item) }
      case let other:
        throw kind.error(
          "unsupported kind \"\(other)\" (expected Node, Pod, Namespace, PriorityClass, PodDisruptionBudget, Service, ReplicationController, ReplicaSet, StatefulSet or List)"
        )
      }
    }

    /// Nodes and pods, each pod carrying the merged selector of the Services that select it and
    /// of the ReplicationController, ReplicaSet or StatefulSet that controls it (upstream's
    /// `DefaultSelector`), which PodTopologySpread's system default constraints use.
    /// The manifest, consuming these objects: the pods are updated in place and handed over,
    /// never copied.
    package mutating func resolved() throws(InputError) -> Manifest {
      var pods = self.pods
      self.pods = []  // `pods` now holds the only reference: updated in place
      try admit(&pods)
      if !services.isEmpty || !workloads.isEmpty {
        // Lookups only, so the dictionaries' order never shows.
        let servicesByNamespace = Dictionary(grouping: services, by: \.namespace)
        var workloadsByKey: [String: Workload] = [:]
        for w in workloads {
          workloadsByKey[Self.key(w.apiVersion, w.kind, w.namespace, w.name)] = w
        }
        for i in pods.indices {
          let owner = owners[i].flatMap { o in
            workloadsByKey[Self.key(o.apiVersion, o.kind, pods[i].namespace, o.name)]
          }
          pods[i].defaultSpreadSelector = Self.defaultSelector(
            pods[i], services: servicesByNamespace[pods[i].namespace] ?? [], owner: owner)
        }
      }
      var manifest = Manifest(
        nodes: nodes, pods: pods, namespaces: namespaces, priorityClasses: priorityClasses,
        disruptionBudgets: disruptionBudgets)
      manifest.services = services.map {
        ServiceSpec(namespace: $0.namespace, name: $0.name, selector: $0.selector)
      }
      self = Objects()
      return manifest
    }

    /// Pods after the Priority admission plugin: a named class must exist and gives the
    /// priority and preemption policy (a differing explicit `spec.priority` is an error); a pod
    /// without a class keeps an explicit priority, else takes the global default class (the
    /// smallest value if several claim it), else 0.
    func admit(_ pods: inout [PodSpec]) throws(InputError) {
      let classes = priorityClasses + PriorityClassSpec.builtIn
      let byName = Dictionary(classes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
      let globalDefault = priorityClasses.filter(\.globalDefault).min { $0.value < $1.value }
      for i in pods.indices {
        let (classNode, priorityNode) = priorityPlaces[i] ?? (nil, nil)
        if !pods[i].priorityClassName.isEmpty {
          guard let c = byName[pods[i].priorityClassName] else {
            let message = "no PriorityClass with name \(pods[i].priorityClassName) was found"
            throw classNode.map {
              InputError(file: $0.file, line: $0.line, field: $0.field, message)
            }
              ?? InputError(file: "", field: "spec.priorityClassName", message)
          }
          if let priorityNode, pods[i].priority != c.value {
            throw InputError(
              file: priorityNode.file, line: priorityNode.line, field: priorityNode.field,
              "must not differ from the value \(c.value) of PriorityClass \(c.name)")
          }
          pods[i].priority = c.value
          pods[i].preemptLowerPriority = c.preemptLowerPriority
        } else if priorityNode == nil, let c = globalDefault {
          pods[i].priority = c.value
          pods[i].priorityClassName = c.name
          pods[i].preemptLowerPriority = c.preemptLowerPriority
        }
      }
    }

    static func key(_ apiVersion: String, _ kind: String, _ namespace: String, _ name: String)
      -> String
    {
      [apiVersion, kind, namespace, name].joined(separator: "\u{0}")
    }

    static func defaultSelector(_ pod: PodSpec, services: [Service], owner: Workload?)
      -> LabelSelector?
    {
      PodSpec.defaultSpreadSelector(
        labels: pod.labels, serviceSelectors: services.map(\.selector), owner: owner?.selector)
    }
  }

  struct OwnerReference {
    var apiVersion: String
    var kind: String
    var name: String
  }

  struct Service {
    var namespace: String
    var name = ""
    /// nil when the Service has no selector (it then selects no pods).
    var selector: [String: String]?
  }

  /// A ReplicationController, ReplicaSet or StatefulSet: only its identity and selector matter.
  struct Workload {
    var apiVersion: String
    var kind: String
    var namespace: String
    var name: String
    var selector: LabelSelector
  }

  /// `metadata.ownerReferences[]` entry with `controller: true`, if any.
  /// The controller, annotations and local volumes node autoscalers read (`DrainFacts`).
  static func drainFacts(_ v: YAMLValue) throws(InputError) -> DrainFacts {
    var local: [String] = []
    for volume in try v.child("spec")?.child("volumes")?.sequence() ?? [] {
      let name = try volume.child("name")?.string() ?? ""
      if volume.child("hostPath") != nil {
        local.append(name)
      } else if let e = volume.child("emptyDir"), try e.child("medium")?.string() != "Memory" {
        local.append(name)
      }
    }
    return DrainFacts(
      annotations: try v.child("metadata")?.child("annotations")?.stringMap() ?? [:],
      localVolumes: local, controllerKind: try controllerReference(v)?.kind ?? "")
  }

  static func controllerReference(_ v: YAMLValue) throws(InputError) -> OwnerReference? {
    for r in try v.child("metadata")?.child("ownerReferences")?.sequence() ?? [] {
      guard try r.child("controller")?.bool() == true else { continue }
      guard let kind = try r.child("kind")?.string(), let name = try r.child("name")?.string(),
        let apiVersion = try r.child("apiVersion")?.string()
      else { throw r.error("owner reference needs apiVersion, kind and name") }
      return OwnerReference(apiVersion: apiVersion, kind: kind, name: name)
    }
    return nil
  }

  static func priorityClass(_ v: YAMLValue) throws(InputError) -> PriorityClassSpec {
    let name = try name(v)
    guard let valueNode = v.child("value") else {
      throw v.error("PriorityClass \(name) needs a value")
    }
    let value = try valueNode.int32()
    guard value <= 1_000_000_000 else {
      throw valueNode.error("must be no greater than 1000000000 for user-defined classes")
    }
    var preempt = true
    if let p = v.child("preemptionPolicy") {
      switch try p.string() {
      case "PreemptLowerPriority": preempt = true
      case "Never": preempt = false
      default: throw p.error("expected PreemptLowerPriority or Never")
      }
    }
    return PriorityClassSpec(
      name: name, value: value, globalDefault: try v.child("globalDefault")?.bool() ?? false,
      preemptLowerPriority: preempt)
  }

  static func disruptionBudget(_ v: YAMLValue) throws(InputError) -> PodDisruptionBudgetSpec {
    let name = try name(v)
    guard let spec = v.child("spec") else {
      throw v.error("PodDisruptionBudget \(name) has no spec")
    }
    try spec.requireKeys(in: [
      "selector", "minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy",
    ])
    func amount(_ field: String) throws(InputError) -> IntOrPercent? {
      guard let n = spec.child(field) else { return nil }
      let text = try n.string()
      if text.hasSuffix("%"), let p = Int(text.dropLast()), p >= 0, p <= 100 { return .percent(p) }
      if let i = Int(text), i >= 0 { return .int(i) }
      throw n.error("expected a non-negative integer or a percentage 0%…100%")
    }
    let minAvailable = try amount("minAvailable")
    let maxUnavailable = try amount("maxUnavailable")
    if minAvailable != nil && maxUnavailable != nil {
      throw spec.error("minAvailable and maxUnavailable cannot both be set")
    }
    return PodDisruptionBudgetSpec(
      name: name, namespace: try v.child("metadata")?.child("namespace")?.string() ?? "default",
      selector: try spec.child("selector").map { s throws(InputError) in try labelSelector(s) },
      minAvailable: minAvailable, maxUnavailable: maxUnavailable)
  }

  static func namespace(_ v: YAMLValue) throws(InputError) -> NamespaceSpec {
    NamespaceSpec(
      name: try name(v), labels: try v.child("metadata")?.child("labels")?.stringMap() ?? [:])
  }

  /// A Service's namespace and selector (nil: it has none and selects nothing).
  package static func serviceSelector(_ v: YAMLValue) throws(InputError) -> (
    namespace: String, selector: [String: String]?
  ) {
    let s = try service(v)
    return (s.namespace, s.selector)
  }

  static func service(_ v: YAMLValue) throws(InputError) -> Service {
    Service(
      namespace: try v.child("metadata")?.child("namespace")?.string() ?? "default",
      name: try name(v), selector: try v.child("spec")?.child("selector")?.stringMap())
  }

  static func workload(_ v: YAMLValue, kind: String) throws(InputError) -> Workload {
    let name = try name(v)
    let apiVersion = try v.child("apiVersion")?.string() ?? ""
    let expected = kind == "ReplicationController" ? "v1" : "apps/v1"
    guard apiVersion == expected else {
      throw (v.child("apiVersion") ?? v).error("\(kind) \(name) needs apiVersion \(expected)")
    }
    guard let spec = v.child("spec") else { throw v.error("\(kind) \(name) has no spec") }
    let selector: LabelSelector
    if kind == "ReplicationController" {
      // The API server defaults a missing selector to the template's labels.
      var map = try spec.child("selector")?.stringMap()
      if map == nil {
        map = try spec.child("template")?.child("metadata")?.child("labels")?.stringMap()
      }
      selector = LabelSelector(matchLabels: map ?? [:])
    } else {
      guard let s = spec.child("selector") else {
        throw spec.error("\(kind) \(name) needs spec.selector")
      }
      selector = try labelSelector(s)
    }
    return Workload(
      apiVersion: apiVersion, kind: kind,
      namespace: try v.child("metadata")?.child("namespace")?.string() ?? "default",
      name: name, selector: selector)
  }

  package static func name(_ v: YAMLValue) throws(InputError) -> String {
    guard let meta = v.child("metadata"), let n = meta.child("name") else {
      throw v.error("missing metadata.name")
    }
    let s = try n.string()
    guard !s.isEmpty else { throw n.error("must not be empty") }
    return s
  }

  /// - Parameter defaultName: the name of a node whose `metadata.name` is absent (a node
  ///   group's template); nil: the name is required.
  package static func node(_ v: YAMLValue, defaultName: String? = nil) throws(InputError)
    -> NodeSpec
  {
    let name: String
    if let defaultName, v.child("metadata")?.child("name") == nil {
      name = defaultName
    } else {
      name = try self.name(v)
    }
    let labels = try v.child("metadata")?.child("labels")?.stringMap() ?? [:]
    let spec = v.child("spec")
    let taints = try spec?.child("taints").map { t throws(InputError) in try self.taints(t) } ?? []
    let status = v.child("status")
    guard let resources = status?.child("allocatable") ?? status?.child("capacity") else {
      throw v.error("node \(name) has neither status.allocatable nor status.capacity")
    }
    let amounts: ResourceAmounts
    let list = try resources.resourceList()
    do throws(QuantityError) { amounts = try list.amounts() } catch {
      throw resources.error(error.description)
    }
    var images: [NodeSpec.Image] = []
    for img in try status?.child("images")?.sequence() ?? [] {
      let names = try img.child("names")?.stringList() ?? []
      let size = try img.child("sizeBytes")?.int64() ?? 0
      guard size >= 0 else { throw img.error("sizeBytes must be ≥ 0") }
      images.append(.init(names: names, sizeBytes: size))
    }
    var all = labels
    if all["kubernetes.io/hostname"] == nil { all["kubernetes.io/hostname"] = name }
    return NodeSpec(
      name: name, labels: all, taints: taints, allocatable: amounts,
      unschedulable: try spec?.child("unschedulable")?.bool() ?? false, images: images)
  }

  /// A list of taints (`spec.taints`).
  package static func taints(_ v: YAMLValue) throws(InputError) -> [Taint] {
    var taints: [Taint] = []
    for t in try v.sequence() {
      guard let key = try t.child("key")?.string(), !key.isEmpty else {
        throw t.error("taint needs a key")
      }
      guard let effectNode = t.child("effect") else { throw t.error("taint needs an effect") }
      guard let effect = TaintEffect(rawValue: try effectNode.string()) else {
        throw effectNode.error("expected NoSchedule, PreferNoSchedule or NoExecute")
      }
      taints.append(Taint(key: key, value: try t.child("value")?.string() ?? "", effect: effect))
    }
    return taints
  }

  static func container(_ v: YAMLValue, isInit: Bool) throws(InputError) -> Container {
    let requestsNode = v.child("resources")?.child("requests")
    let limitsNode = v.child("resources")?.child("limits")
    var requests = try requestsNode?.resourceList() ?? ResourceList()
    let limits = try limitsNode?.resourceList() ?? ResourceList()
    try validateNonOvercommittable(
      requests: requests, limits: limits, requestsNode: requestsNode, limitsNode: limitsNode,
      container: v)
    // API defaulting: a resource with a limit and no request requests its limit.
    for (name, q) in limits.entries where !requests.contains(name) { requests[name] = q }
    var ports: [ContainerPort] = []
    for p in try v.child("ports")?.sequence() ?? [] {
      let hostPort = try p.child("hostPort")?.int32() ?? 0
      guard (0...65535).contains(hostPort) else { throw p.error("hostPort must be in 0…65535") }
      let protoText = try p.child("protocol")?.string() ?? "TCP"
      guard let proto = PortProtocol(rawValue: protoText) else {
        throw p.child("protocol")!.error("expected TCP, UDP or SCTP")
      }
      ports.append(
        ContainerPort(
          containerPort: try p.child("containerPort")?.int32() ?? 0, hostPort: hostPort,
          hostIP: try p.child("hostIP")?.string() ?? "", protocol: proto))
    }
    let restart = try v.child("restartPolicy")?.string()
    if let restart, !isInit || restart != "Always" {
      throw v.child("restartPolicy")!.error(
        "only init containers may set restartPolicy, and only to Always")
    }
    var c = Container(
      name: try v.child("name")?.string() ?? "", image: try v.child("image")?.string() ?? "",
      requests: requests, limits: limits, ports: ports, restartPolicyAlways: restart == "Always")
    for r in try v.child("resizePolicy")?.sequence() ?? [] {
      guard let name = try r.child("resourceName")?.string(), name == "cpu" || name == "memory"
      else {
        throw (r.child("resourceName") ?? r).error("expected resourceName cpu or memory")
      }
      switch try r.child("restartPolicy")?.string() {
      case "RestartContainer": c.restartOnResize.insert(name)
      case "NotRequired": break
      default:
        throw (r.child("restartPolicy") ?? r).error(
          "expected restartPolicy NotRequired or RestartContainer")
      }
    }
    return c
  }

  /// The API server's rules for resources that cannot be overcommitted — extended resources
  /// (`nvidia.com/gpu`) and hugepages: whole numbers, a limit whenever a request is set, and a
  /// request equal to the limit (`ValidateResourceRequirements`).
  static func validateNonOvercommittable(
    requests: ResourceList, limits: ResourceList, requestsNode: YAMLValue?, limitsNode: YAMLValue?,
    container: YAMLValue
  ) throws(InputError) {
    func isNonOvercommittable(_ name: String) -> Bool {
      ResourceName.isExtended(name) || name.hasPrefix("hugepages-")
    }
    for (list, node) in [(requests, requestsNode), (limits, limitsNode)] {
      for (name, q) in list.entries where ResourceName.isExtended(name) && q.exponent < 0 {
        throw (node?.child(name) ?? container).error(
          "\(Escaped(name)) must be an integer, found \(q)")
      }
    }
    for (name, q) in requests.entries where isNonOvercommittable(name) {
      guard let limit = limits[name] else {
        throw (requestsNode?.child(name) ?? container).error(
          "\(Escaped(name)) needs a limit: it cannot be overcommitted")
      }
      guard limit == q else {
        throw (requestsNode?.child(name) ?? container).error(
          "\(Escaped(name)) request \(q) must equal its limit \(limit)")
      }
    }
  }

  static func requirement(_ v: YAMLValue) throws(InputError) -> NodeSelectorRequirement {
    guard let key = try v.child("key")?.string() else { throw v.error("requirement needs a key") }
    guard let opNode = v.child("operator") else { throw v.error("requirement needs an operator") }
    guard let op = NodeSelectorRequirement.Operator(rawValue: try opNode.string()) else {
      throw opNode.error("expected In, NotIn, Exists, DoesNotExist, Gt or Lt")
    }
    let r = NodeSelectorRequirement(
      key: key, operator: op, values: try v.child("values")?.stringList() ?? [])
    guard r.isWellFormed else {
      throw v.error(
        "\(op.rawValue) needs "
          + (op == .in || op == .notIn
            ? "at least one value"
            : op == .gt || op == .lt ? "exactly one integer value" : "no values"))
    }
    return r
  }

  static func term(_ v: YAMLValue) throws(InputError) -> NodeSelectorTerm {
    NodeSelectorTerm(
      matchExpressions: try (v.child("matchExpressions")?.sequence() ?? []).map {
        e throws(InputError) in try requirement(e)
      },
      matchFields: try (v.child("matchFields")?.sequence() ?? []).map { e throws(InputError) in
        let r = try requirement(e)
        guard r.key == "metadata.name" else {
          throw e.error("matchFields supports only metadata.name")
        }
        return r
      })
  }

  static func nodeAffinity(_ v: YAMLValue) throws(InputError) -> NodeAffinity {
    var affinity = NodeAffinity()
    if let req = v.child("requiredDuringSchedulingIgnoredDuringExecution") {
      let terms = try (req.child("nodeSelectorTerms")?.sequence() ?? []).map {
        t throws(InputError) in try term(t)
      }
      guard !terms.isEmpty else { throw req.error("nodeSelectorTerms must not be empty") }
      affinity.required = NodeSelector(terms: terms)
    }
    for p in try v.child("preferredDuringSchedulingIgnoredDuringExecution")?.sequence() ?? [] {
      guard let wNode = p.child("weight") else { throw p.error("preferred term needs a weight") }
      let w = try wNode.int32()
      guard (1...100).contains(w) else { throw wNode.error("weight must be in 1…100") }
      guard let pref = p.child("preference") else {
        throw p.error("preferred term needs a preference")
      }
      affinity.preferred.append(PreferredSchedulingTerm(weight: w, preference: try term(pref)))
    }
    return affinity
  }

  /// - Parameter templateName: the name to give a pod template (`spec.template` of a
  ///   workload), which has none of its own.
  package static func pod(_ v: YAMLValue, templateName: String? = nil) throws(InputError)
    -> PodSpec
  {
    let name: String
    if let templateName { name = templateName } else { name = try self.name(v) }
    let meta = v.child("metadata")
    guard let spec = v.child("spec") else { throw v.error("pod \(name) has no spec") }
    let containers = try (spec.child("containers")?.sequence() ?? []).map { c throws(InputError) in
      try container(c, isInit: false)
    }
    guard !containers.isEmpty else { throw spec.error("pod \(name) needs at least one container") }
    var tolerations: [Toleration] = []
    for t in try spec.child("tolerations")?.sequence() ?? [] {
      let opText = try t.child("operator")?.string() ?? "Equal"
      guard let op = Toleration.Operator(rawValue: opText) else {
        throw t.child("operator")!.error("expected Equal or Exists")
      }
      let value = try t.child("value")?.string() ?? ""
      if op == .exists && !value.isEmpty {
        throw t.error("value must be empty when operator is Exists")
      }
      let key = try t.child("key")?.string() ?? ""
      if key.isEmpty && op != .exists { throw t.error("operator must be Exists when key is empty") }
      var effect: TaintEffect?
      if let e = t.child("effect"), !(try e.string()).isEmpty {
        guard let parsed = TaintEffect(rawValue: try e.string()) else {
          throw e.error("expected NoSchedule, PreferNoSchedule or NoExecute")
        }
        effect = parsed
      }
      var toleration = Toleration(key: key, operator: op, value: value, effect: effect)
      toleration.tolerationSeconds = try t.child("tolerationSeconds")?.int64()
      tolerations.append(toleration)
    }
    var unenforced: [String] = []
    var spread: [TopologySpreadConstraint] = []
    for c in try spec.child("topologySpreadConstraints")?.sequence() ?? [] {
      spread.append(try spreadConstraint(c))
    }
    // Fields of the API that bear on scheduling but that Berth does not model (the run lists them).
    if try (spec.child("volumes")?.sequence() ?? []).contains(where: {
      $0.child("persistentVolumeClaim") != nil || $0.child("ephemeral") != nil
    }) {
      unenforced.append("spec.volumes (claims)")
    }
    if let claims = spec.child("resourceClaims"), !(try claims.sequence()).isEmpty {
      unenforced.append("spec.resourceClaims")
    }
    if try spec.child("hostNetwork")?.bool() == true { unenforced.append("spec.hostNetwork") }
    if spec.child("runtimeClassName") != nil { unenforced.append("spec.runtimeClassName") }
    var pod = PodSpec(
      name: name, namespace: try meta?.child("namespace")?.string() ?? "default",
      labels: try meta?.child("labels")?.stringMap() ?? [:], containers: containers,
      initContainers: try (spec.child("initContainers")?.sequence() ?? []).map {
        c throws(InputError) in try container(c, isInit: true)
      },
      overhead: try spec.child("overhead")?.resourceList() ?? ResourceList(),
      nodeSelector: try spec.child("nodeSelector")?.stringMap() ?? [:],
      affinity: try spec.child("affinity")?.child("nodeAffinity").map { a throws(InputError) in
        try nodeAffinity(a)
      },
      tolerations: tolerations, priority: try spec.child("priority")?.int32() ?? 0,
      priorityClassName: try spec.child("priorityClassName")?.string() ?? "",
      nodeName: try spec.child("nodeName")?.string() ?? "",
      schedulerName: try spec.child("schedulerName")?.string() ?? "default-scheduler")
    pod.unenforced = unenforced
    pod.topologySpreadConstraints = spread
    pod.drain = try drainFacts(v)
    // Each quantity was checked on its own; their sums (and the scoring defaults added to
    // containers without requests) must fit the scheduler's units too.
    for nonMissing in [false, true] {
      do throws(QuantityError) {
        _ = try PodRequests.effective(pod, nonMissing: nonMissing)
      } catch {
        guard case .aboveLimit(_, let resource) = error else {
          throw spec.error("pod \(name): the containers' requests sum out of range")
        }
        throw spec.error(
          "pod \(name): the containers' \(resource) requests sum to more than Berth's limit of 2^53 (\(ResourceAmounts.limit))"
        )
      }
    }
    if let t = meta?.child("creationTimestamp") {
      let text = try t.string()
      let f = ISO8601DateFormatter()
      f.formatOptions = [.withInternetDateTime]
      let fractional = ISO8601DateFormatter()
      fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
      guard let date = f.date(from: text) ?? fractional.date(from: text) else {
        throw t.error("expected an RFC 3339 time such as 2024-05-01T12:00:00Z")
      }
      pod.creationTimestamp = date.timeIntervalSince1970
    }
    if let p = v.child("status")?.child("phase") {
      guard let phase = PodPhase(rawValue: try p.string()) else {
        throw p.error("expected \(PodPhase.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      pod.phase = phase
    }
    pod.schedulingGates = try (spec.child("schedulingGates")?.sequence() ?? []).map {
      g throws(InputError) in
      guard let n = try g.child("name")?.string(), !n.isEmpty else {
        throw g.error("a scheduling gate needs a name")
      }
      return n
    }
    if let g = spec.child("terminationGracePeriodSeconds") {
      pod.terminationGracePeriodSeconds = try g.int64()
      guard pod.terminationGracePeriodSeconds >= 0 else {
        throw g.error("must be greater than or equal to 0")
      }
    }
    if let p = spec.child("preemptionPolicy") {
      switch try p.string() {
      case "PreemptLowerPriority": pod.preemptLowerPriority = true
      case "Never": pod.preemptLowerPriority = false
      default: throw p.error("expected PreemptLowerPriority or Never")
      }
    }
    if let a = spec.child("affinity")?.child("podAffinity") {
      pod.podAffinity = try podAffinityRules(a)
    }
    if let a = spec.child("affinity")?.child("podAntiAffinity") {
      pod.podAntiAffinity = try podAffinityRules(a)
    }
    return pod
  }

  /// A `LabelSelector` (`matchLabels`, `matchExpressions`) written as YAML on its own.
  public static func parseLabelSelector(_ text: String, file: String) throws(InputError)
    -> LabelSelector
  {
    try labelSelector(YAMLValue.document(text, file: file, empty: "label selector"))
  }

  package static func labelSelector(_ v: YAMLValue) throws(InputError) -> LabelSelector {
    try v.requireKeys(in: ["matchLabels", "matchExpressions"])
    var requirements: [LabelSelector.Requirement] = []
    for e in try v.child("matchExpressions")?.sequence() ?? [] {
      guard let key = try e.child("key")?.string() else { throw e.error("expression needs a key") }
      guard let opNode = e.child("operator") else { throw e.error("expression needs an operator") }
      guard let op = LabelSelector.Requirement.Operator(rawValue: try opNode.string()) else {
        throw opNode.error("expected In, NotIn, Exists or DoesNotExist")
      }
      let values = try e.child("values")?.stringList() ?? []
      if (op == .in || op == .notIn) && values.isEmpty {
        throw e.error("\(op.rawValue) needs at least one value")
      }
      if (op == .exists || op == .doesNotExist) && !values.isEmpty {
        throw e.error("\(op.rawValue) takes no values")
      }
      requirements.append(.init(key: key, operator: op, values: values))
    }
    return LabelSelector(
      matchLabels: try v.child("matchLabels")?.stringMap() ?? [:], matchExpressions: requirements)
  }

  /// `podAffinity` or `podAntiAffinity`, validated as the API server validates it.
  static func podAffinityRules(_ v: YAMLValue) throws(InputError) -> PodAffinityRules {
    try v.requireKeys(in: [
      "requiredDuringSchedulingIgnoredDuringExecution",
      "preferredDuringSchedulingIgnoredDuringExecution",
    ])
    var rules = PodAffinityRules()
    for t in try v.child("requiredDuringSchedulingIgnoredDuringExecution")?.sequence() ?? [] {
      rules.required.append(try podAffinityTerm(t))
    }
    for p in try v.child("preferredDuringSchedulingIgnoredDuringExecution")?.sequence() ?? [] {
      try p.requireKeys(in: ["weight", "podAffinityTerm"])
      guard let wNode = p.child("weight") else { throw p.error("preferred term needs a weight") }
      let w = try wNode.int32()
      guard (1...100).contains(w) else { throw wNode.error("weight must be in 1…100") }
      guard let term = p.child("podAffinityTerm") else {
        throw p.error("preferred term needs a podAffinityTerm")
      }
      rules.preferred.append(WeightedPodAffinityTerm(weight: w, term: try podAffinityTerm(term)))
    }
    return rules
  }

  static func podAffinityTerm(_ v: YAMLValue) throws(InputError) -> PodAffinityTerm {
    try v.requireKeys(in: [
      "labelSelector", "namespaces", "namespaceSelector", "topologyKey", "matchLabelKeys",
      "mismatchLabelKeys",
    ])
    guard let key = try v.child("topologyKey")?.string(), !key.isEmpty else {
      throw v.error("a pod affinity term needs a topologyKey")
    }
    let selector = try v.child("labelSelector").map { s throws(InputError) in try labelSelector(s) }
    let match = try v.child("matchLabelKeys")?.stringList() ?? []
    let mismatch = try v.child("mismatchLabelKeys")?.stringList() ?? []
    if selector == nil && !(match.isEmpty && mismatch.isEmpty) {
      throw v.error("matchLabelKeys and mismatchLabelKeys need a labelSelector")
    }
    if let both = match.first(where: mismatch.contains) {
      throw (v.child("mismatchLabelKeys") ?? v).error(
        "key \"\(both)\" is in both matchLabelKeys and mismatchLabelKeys")
    }
    return PodAffinityTerm(
      labelSelector: selector, namespaces: try v.child("namespaces")?.stringList() ?? [],
      namespaceSelector: try v.child("namespaceSelector").map { s throws(InputError) in
        try labelSelector(s)
      },
      topologyKey: key, matchLabelKeys: match, mismatchLabelKeys: mismatch)
  }

  static func spreadConstraint(_ v: YAMLValue) throws(InputError) -> TopologySpreadConstraint {
    try v.requireKeys(in: [
      "maxSkew", "topologyKey", "whenUnsatisfiable", "labelSelector", "minDomains",
      "nodeAffinityPolicy", "nodeTaintsPolicy", "matchLabelKeys",
    ])
    guard let skewNode = v.child("maxSkew") else {
      throw v.error("a topology spread constraint needs maxSkew")
    }
    let skew = try skewNode.int32()
    guard skew > 0 else { throw skewNode.error("maxSkew must be greater than 0") }
    guard let key = try v.child("topologyKey")?.string(), !key.isEmpty else {
      throw v.error("a topology spread constraint needs a topologyKey")
    }
    guard let whenNode = v.child("whenUnsatisfiable") else {
      throw v.error("a topology spread constraint needs whenUnsatisfiable")
    }
    let when = try whenNode.string()
    guard when == "DoNotSchedule" || when == "ScheduleAnyway" else {
      throw whenNode.error("expected DoNotSchedule or ScheduleAnyway")
    }
    var minDomains: Int32 = 1
    if let m = v.child("minDomains") {
      minDomains = try m.int32()
      guard minDomains > 0 else { throw m.error("minDomains must be greater than 0") }
      guard when == "DoNotSchedule" else {
        throw m.error("minDomains is only allowed with whenUnsatisfiable: DoNotSchedule")
      }
    }
    func policy(_ field: String, default d: TopologySpreadConstraint.Policy) throws(InputError)
      -> TopologySpreadConstraint.Policy
    {
      guard let n = v.child(field) else { return d }
      guard let p = TopologySpreadConstraint.Policy(rawValue: try n.string()) else {
        throw n.error("expected Honor or Ignore")
      }
      return p
    }
    return TopologySpreadConstraint(
      maxSkew: skew, topologyKey: key, doNotSchedule: when == "DoNotSchedule",
      labelSelector: try v.child("labelSelector").map { s throws(InputError) in try labelSelector(s)
      }, minDomains: minDomains,
      nodeAffinityPolicy: try policy("nodeAffinityPolicy", default: .honor),
      nodeTaintsPolicy: try policy("nodeTaintsPolicy", default: .ignore),
      matchLabelKeys: try v.child("matchLabelKeys")?.stringList() ?? [])
  }
}

/// The objects of a cluster as read: nodes, pods in arrival order, and Namespace objects.
/// A Service as far as Berth reads it: which pods it selects.
public struct ServiceSpec: Sendable, Equatable {
  public var namespace: String
  public var name: String
  /// nil: no selector (it selects no pods; its endpoints are managed by hand).
  public var selector: [String: String]?
  public init(namespace: String, name: String, selector: [String: String]?) {
    self.namespace = namespace
    self.name = name
    self.selector = selector
  }
}

public struct Manifest: Sendable {
  public var nodes: [NodeSpec]
  /// The Services, in the order read.
  public var services: [ServiceSpec] = []
  /// Pods after priority admission (see `KubernetesYAML`).
  public var pods: [PodSpec]
  public var namespaces: [NamespaceSpec]
  public var priorityClasses: [PriorityClassSpec]
  public var disruptionBudgets: [PodDisruptionBudgetSpec]

  public init(
    nodes: [NodeSpec], pods: [PodSpec], namespaces: [NamespaceSpec] = [],
    priorityClasses: [PriorityClassSpec] = [],
    disruptionBudgets: [PodDisruptionBudgetSpec] = []
  ) {
    self.nodes = nodes
    self.pods = pods
    self.namespaces = namespaces
    self.priorityClasses = priorityClasses
    self.disruptionBudgets = disruptionBudgets
  }

  /// Priority values named by a class (user-defined and built-in), for reports.
  public var priorityClassNames: [Int32: String] {
    var out: [Int32: String] = [:]
    for c in (priorityClasses + PriorityClassSpec.builtIn).reversed() { out[c.value] = c.name }
    return out
  }

  /// Each pod's arrival in virtual time: its `creationTimestamp` relative to the earliest one
  /// (pods without one arrive with the earliest; all at 0 when none has one).
  /// - Throws: when the timestamps span more than virtual time holds (about 292 years of
  ///   nanoseconds), naming the pod and `file`.
  public func arrivals(file: String) throws(InputError) -> [VirtualTime] {
    let first = pods.compactMap(\.creationTimestamp).min() ?? 0
    var out: [VirtualTime] = []
    out.reserveCapacity(pods.count)
    for p in pods {
      let offset = (p.creationTimestamp ?? first) - first
      let nanos = (offset * 1e9).rounded()
      guard nanos < 9.2e18 else {
        throw InputError(
          file: file, field: "pod \(p.name): metadata.creationTimestamp",
          String(
            format:
              "%.0f years after the earliest pod's; a run covers at most 292 years of virtual time",
            offset / 31_556_952))
      }
      out.append(VirtualTime(nanoseconds: Int64(nanos)))
    }
    return out
  }

  /// What `live()` left out of a cluster dump, for the run's summary.
  public struct Omitted: Sendable, Equatable {
    /// Pods whose `status.phase` is Succeeded or Failed: they hold nothing any more.
    public var finished = 0
    /// Pods bound (`spec.nodeName`) to a node the input does not have, by node name.
    public var boundToMissingNode: [(pod: String, node: String)] = []

    public init() {}

    public static func == (a: Self, b: Self) -> Bool {
      a.finished == b.finished && a.boundToMissingNode.map(\.pod) == b.boundToMissingNode.map(\.pod)
        && a.boundToMissingNode.map(\.node) == b.boundToMissingNode.map(\.node)
    }
  }

  /// The objects as a cluster holds them, read the way a `kubectl get nodes,pods -A -o yaml`
  /// dump means them: finished pods (Succeeded, Failed) are left out, and so are pods bound
  /// to a node the input lacks (reported, not fatal).
  public func live() -> (manifest: Manifest, omitted: Omitted) {
    let nodeNames = Set(nodes.map(\.name))
    var omitted = Omitted()
    // Most inputs omit nothing: then no second array of pods is made.
    let omits = pods.contains { p in
      p.phase.isFinished || (!p.nodeName.isEmpty && !nodeNames.contains(p.nodeName))
    }
    guard omits else { return (self, omitted) }
    var out = self
    out.pods = pods.filter { p in
      if p.phase.isFinished {
        omitted.finished += 1
        return false
      }
      if !p.nodeName.isEmpty && !nodeNames.contains(p.nodeName) {
        omitted.boundToMissingNode.append((p.name, p.nodeName))
        return false
      }
      return true
    }
    return (out, omitted)
  }

  /// A cluster holding the nodes, the namespaces' labels and every pod: a pod whose
  /// `spec.nodeName` names a node is already bound there (it occupies the node and counts for
  /// affinity and spreading from the start, as a running pod in a dump does), every other pod
  /// is pending. Call `live()` first to leave out finished pods and pods of missing nodes.
  /// - Throws: duplicate names, a pod bound to a node that does not exist, or requests that do
  ///   not fit the scheduler's units, naming `file`.
  /// - Throws: a pod whose requests do not fit the scheduler's integer units, naming `file`.
  public func makeCluster(file: String) throws(InputError) -> Cluster {
    var names = Set<String>(minimumCapacity: nodes.count)
    for n in nodes where !names.insert(n.name).inserted {
      throw InputError(file: file, field: "node \(Escaped(n.name))", "duplicate node name")
    }
    names = Set(minimumCapacity: pods.count)
    for p in pods where !names.insert(p.name).inserted {
      throw InputError(file: file, field: "pod \(Escaped(p.name))", "duplicate pod name")
    }
    let cluster = Cluster(nodes: nodes)
    for n in namespaces { cluster.declareNamespace(n.name, labels: n.labels) }
    for b in disruptionBudgets { cluster.addDisruptionBudget(b) }
    cluster.reservePods(pods.count)
    for p in pods {
      let id: PodID
      do { id = try cluster.addPod(p) } catch {
        throw InputError(file: file, field: "pod \(Escaped(p.name))", error.description)
      }
      guard !p.nodeName.isEmpty else { continue }
      guard let node = cluster.nodes.id(named: p.nodeName) else {
        throw InputError(
          file: file, field: "pod \(Escaped(p.name)): spec.nodeName",
          "no node named \(Escaped(p.nodeName))")
      }
      cluster.bind(id, to: node)
    }
    return cluster
  }
}

/// Picks the reader for a cluster path: a directory with nodes.csv is Berth cluster CSV,
/// anything else Kubernetes YAML.
public enum ClusterLoader {
  /// Bytes of input behind a cluster path: the file, or the files a directory holds.
  public static func inputBytes(_ path: String) -> Int {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return 0 }
    let files =
      isDir.boolValue
      ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { path + "/" + $0 }
      : [path]
    return files.reduce(0) { total, f in
      total + ((try? FileManager.default.attributesOfItem(atPath: f)[.size] as? Int) ?? 0)
    }
  }

  public static func load(_ path: String, progress: LoadProgress? = nil) throws(InputError)
    -> Manifest
  {
    let loaded: Manifest
    if FileManager.default.fileExists(atPath: path + "/nodes.csv") {
      let csv = try ClusterCSV.read(directory: path)
      loaded = Manifest(nodes: csv.nodes, pods: csv.pods)
    } else {
      loaded = try KubernetesYAML.read(path: path, progress: progress)
    }
    guard !loaded.nodes.isEmpty else {
      throw InputError(
        file: path,
        "holds no nodes (an empty cluster: expected at least one Node object or nodes.csv row)")
    }
    return loaded
  }
}

/// `pod,node` placement files (node `unschedulable` when none fits), as the oracle writes them.
public enum PlacementsCSV {
  public static func read(path: String) throws(InputError) -> [String: String] {
    try parse(InputFile.text(path), file: path)
  }

  /// Placements CSV text, `file` naming it in errors.
  public static func parse(_ text: String, file path: String) throws(InputError) -> [String: String]
  {
    var out: [String: String] = [:]
    for (line, f) in try ClusterCSV.rows(text: text, file: path, header: ["pod", "node"]) {
      guard !f[0].isEmpty, !f[1].isEmpty else {
        throw InputError(file: path, line: line, "pod and node must not be empty")
      }
      guard out.updateValue(f[1], forKey: f[0]) == nil else {
        throw InputError(file: path, line: line, field: "pod", "duplicate pod \"\(f[0])\"")
      }
    }
    return out
  }

  public static func write(_ rows: [(pod: String, node: String)], to path: String)
    throws(InputError)
  {
    var text = "pod,node\n"
    for r in rows { text += ClusterCSV.csvField(r.pod) + "," + ClusterCSV.csvField(r.node) + "\n" }
    try AtomicFile.write(text, to: path)
  }
}

/// How many nodes and pods a load has read so far: the readers count (from any thread), a
/// progress line polls.
public final class LoadProgress: Sendable {
  private let nodeCount = Atomic<Int>(0)
  private let podCount = Atomic<Int>(0)

  public init() {}

  func read(node: Bool) {
    if node { nodeCount.add(1, ordering: .relaxed) } else { podCount.add(1, ordering: .relaxed) }
  }

  public var nodes: Int { nodeCount.load(ordering: .relaxed) }
  public var pods: Int { podCount.load(ordering: .relaxed) }
}
