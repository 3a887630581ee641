import BerthCore

/// A node of a parsed YAML document, with what an error about it needs: the file, the line
/// and the field path (computed only when an error is made).
package struct YAMLValue {
  package let tree: YAMLTree
  package let index: Int32

  package init(tree: YAMLTree, index: Int32) {
    self.tree = tree
    self.index = index
  }

  package var file: String { tree.file }
  package var line: Int? { tree.line(index) }
  /// The field path, e.g. `spec.containers[0].resources.requests.cpu`.
  package var path: String { tree.path(index) }
  package var kind: YAMLTree.Kind { tree.kind(index) }

  /// The single YAML document in `text`, or a one-line error (`empty` names what was expected).
  package static func document(_ text: String, file: String, empty: String) throws(InputError)
    -> YAMLValue
  {
    var trees: [YAMLTree] = []
    try InputFile.withBytes(text) { bytes throws(InputError) in
      try YAMLParser.parse(bytes, file: file) { tree throws(InputError) in trees.append(tree) }
    }
    let nonEmpty = trees.filter { $0.root.map { !$0.isNull } ?? false }
    guard nonEmpty.count <= 1 else {
      throw InputError(
        file: file, line: nonEmpty[1].root?.line,
        "expected one YAML document, found \(nonEmpty.count)")
    }
    guard let root = nonEmpty.first?.root else { throw InputError(file: file, "empty \(empty)") }
    return root
  }

  package func error(_ message: String) -> InputError {
    InputError(file: file, line: line, field: path, message)
  }

  package var isNull: Bool { tree.isNull(index) }

  /// The value of `key` when this is a mapping that sets it to something other than null.
  package func child(_ key: String) -> YAMLValue? {
    guard let v = tree.value(index, key: key), !tree.isNull(v) else { return nil }
    return YAMLValue(tree: tree, index: v)
  }

  package func mapping() throws(InputError) -> [(key: String, value: YAMLValue)] {
    guard kind == .mapping else { throw error("expected a mapping") }
    let n = tree.childCount(index)
    var out: [(String, YAMLValue)] = []
    out.reserveCapacity(n / 2)
    var k = 0
    while k + 1 < n {
      out.append(
        (tree.scalar(tree.child(index, k)), YAMLValue(tree: tree, index: tree.child(index, k + 1))))
      k += 2
    }
    return out
  }

  /// Rejects keys outside `allowed` (strict decoding, as kube-scheduler decodes its config).
  package func requireKeys(in allowed: Set<String>) throws(InputError) {
    for (k, v) in try mapping() where !allowed.contains(k) {
      throw InputError(
        file: file, line: v.line, field: v.path,
        "unknown field (expected one of \(allowed.sorted().joined(separator: ", ")))")
    }
  }

  package func sequence() throws(InputError) -> [YAMLValue] {
    guard kind == .sequence else { throw error("expected a list") }
    return (0..<tree.childCount(index)).map { YAMLValue(tree: tree, index: tree.child(index, $0)) }
  }

  package func string() throws(InputError) -> String {
    guard kind == .scalar else { throw error("expected a string") }
    return tree.scalar(index)
  }

  package func int64() throws(InputError) -> Int64 {
    guard kind == .scalar else { throw error("expected an integer") }
    let s = tree.scalar(index)
    guard let v = Int64(s) else { throw error("expected an integer, found \"\(Escaped(s))\"") }
    return v
  }

  package func int32() throws(InputError) -> Int32 {
    let v = try int64()
    guard let w = Int32(exactly: v) else { throw error("\(v) does not fit a 32-bit integer") }
    return w
  }

  package func bool() throws(InputError) -> Bool {
    guard kind == .scalar else { throw error("expected true or false") }
    switch tree.scalar(index) {
    case "true", "True", "TRUE": return true
    case "false", "False", "FALSE": return false
    default: throw error("expected true or false, found \"\(Escaped(tree.scalar(index)))\"")
    }
  }

  package func stringMap() throws(InputError) -> [String: String] {
    var out: [String: String] = [:]
    for (k, v) in try mapping() { out[k] = try v.string() }
    return out
  }

  package func stringList() throws(InputError) -> [String] {
    try sequence().map { v throws(InputError) in try v.string() }
  }

  package func quantity(nonNegative: Bool = true) throws(InputError) -> Quantity {
    guard kind == .scalar else { throw error("expected a quantity") }
    let text = tree.scalar(index)
    do throws(QuantityError) {
      let q = try Quantity(parsing: text)
      if nonNegative && q.isNegative { throw QuantityError.negative(text) }
      return q
    } catch {
      throw self.error(error.description)
    }
  }

  /// A resource list whose every amount converts to scheduler units within
  /// `ResourceAmounts.limit`; an error names the entry and echoes what the file says.
  package func resourceList() throws(InputError) -> ResourceList {
    var list = ResourceList()
    for (k, v) in try mapping() {
      guard ResourceName.isValid(k) else {
        throw v.error(
          "\"\(Escaped(k))\" is not a valid resource name (a name such as cpu, memory or example.com/widget)"
        )
      }
      let q = try v.quantity()
      do throws(QuantityError) {
        _ = try ResourceList.amount(of: k, q)
      } catch {
        let text = (try? v.string()) ?? q.description
        switch error {
        case .aboveLimit(_, let resource):
          throw v.error(QuantityError.aboveLimit(text, resource: resource).description)
        default: throw v.error(QuantityError.outOfRange(text).description)
        }
      }
      list[k] = q
    }
    return list
  }
}

extension YAMLValue {
  /// The node at a field path such as `profiles[0].pluginConfig[1].args.shape[2]`, or the
  /// deepest node on the way that exists (so an error about a missing field still gets a line).
  package func descendant(at path: String) -> YAMLValue {
    var node = self
    var rest = Substring(path)
    while !rest.isEmpty {
      if rest.hasPrefix(".") { rest = rest.dropFirst() }
      if rest.hasPrefix("[") {
        guard let close = rest.firstIndex(of: "]"),
          let i = Int(rest[rest.index(after: rest.startIndex)..<close]),
          node.kind == .sequence, i >= 0, i < tree.childCount(node.index)
        else { return node }
        node = YAMLValue(tree: tree, index: tree.child(node.index, i))
        rest = rest[rest.index(after: close)...]
        continue
      }
      let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
      guard let next = node.child(String(rest[..<end])) else { return node }
      node = next
      rest = rest[end...]
    }
    return node
  }

  /// A copy in which every scalar `$name` is replaced by `params[name]` (names used are added
  /// to `used`); containers are copied, everything else shared.
  /// - Throws: a `$name` with no param, naming where it was written.
  package func substituting(_ params: [String: YAMLValue], used: inout Set<String>)
    throws(InputError) -> YAMLValue
  {
    switch kind {
    case .scalar:
      let text = tree.scalar(index)
      guard text.hasPrefix("$") else { return self }
      let name = String(text.dropFirst())
      guard let value = params[name] else { throw error("unknown param \"$\(Escaped(name))\"") }
      used.insert(name)
      return value
    case .mapping, .sequence:
      var items: [Int32] = []
      let n = tree.childCount(index)
      items.reserveCapacity(n)
      for k in 0..<n {
        let c = YAMLValue(tree: tree, index: tree.child(index, k))
        // Keys stay as written; values and items are substituted.
        items.append(
          kind == .mapping && k % 2 == 0 ? c.index : try c.substituting(params, used: &used).index)
      }
      return copy(with: items)
    }
  }

  /// This mapping with `key` added as the node `value` makes, when it is absent or null.
  package func withDefault(_ key: String, _ value: (YAMLTree) -> Int32) -> YAMLValue {
    guard kind == .mapping, child(key) == nil else { return self }
    return setting(key, to: value(tree))
  }

  /// A copy of this mapping with `key` set to `node` (replacing what it held).
  package func setting(_ key: String, to node: Int32) -> YAMLValue {
    precondition(kind == .mapping, "setting a key needs a mapping")
    let n = tree.childCount(index)
    var items: [Int32] = []
    var k = 0
    while k + 1 < n {
      if tree.scalar(tree.child(index, k)) != key {
        items += [tree.child(index, k), tree.child(index, k + 1)]
      }
      k += 2
    }
    let copied = copy(with: [])
    let keyNode = tree.addScalar(key, line: line ?? 0, parent: copied.index, slot: -1)
    tree.entries[Int(node)].parent = copied.index
    tree.entries[Int(node)].slot = keyNode
    items += [keyNode, node]
    tree.entries[Int(copied.index)].first = Int32(tree.children.count)
    tree.entries[Int(copied.index)].count = Int32(items.count)
    tree.children.append(contentsOf: items)
    return copied
  }

  /// A new container of this one's kind, line and place, holding `items`.
  private func copy(with items: [Int32]) -> YAMLValue {
    let e = tree.entries[Int(index)]
    return YAMLValue(
      tree: tree,
      index: tree.addContainer(
        kind, items: items, line: Int(e.line), parent: e.parent, slot: e.slot))
  }
}
