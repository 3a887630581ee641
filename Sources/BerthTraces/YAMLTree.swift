import BerthCore
import CYaml

/// One YAML document as a compact tree, built from libyaml's event stream.
///
/// Nodes live in flat arrays (an entry per node, scalar texts, child lists), so a document of
/// millions of scalars costs a few allocations rather than one object per node, and a node is
/// named by its index. Every node records where it was first written — its line, its parent and
/// its place there — so an error can name the field path without any path string being built
/// while reading.
///
/// What the builder refuses, each as a one-line `InputError` with the line:
/// - aliases that expand to far more nodes than the document holds ("billion laughs": nine
///   nested lists of ten aliases each would expand 821 bytes into 10⁹ nodes), as Kubernetes'
///   YAML decoding refuses excessive aliasing;
/// - nesting deeper than `maxDepth`;
/// - a mapping key written twice (strict decoding), a key that is not a scalar, an alias to an
///   undefined anchor or to a node that encloses it.
///
/// Merge keys (`<<: *base`) are applied as YAML 1.1 defines them: the merged mapping's pairs
/// are added where the mapping does not set the key itself.
package final class YAMLTree {
  package enum Kind: UInt8 { case scalar, mapping, sequence }

  struct Entry {
    var kind: Kind
    /// A plain (unquoted) scalar: only these can be null (`~`, `null`, empty).
    var plain: Bool
    /// 1-based line where the node starts.
    var line: Int32
    /// Scalars: index into `strings`. Containers: first index into `children`.
    var first: Int32
    /// Containers: number of children (2 per mapping pair: key, value).
    var count: Int32
    /// The container the node was written in (-1 for the root).
    var parent: Int32
    /// In a mapping parent: the key's node for a value, -1 for a key. In a sequence parent:
    /// the position.
    var slot: Int32
  }

  /// The file the document came from, for errors.
  package let file: String
  // Unchecked: the tree is built and read on one thread; a checked access per node read cost a
  // tenth of loading time.
  @exclusivity(unchecked) var entries: [Entry] = []
  @exclusivity(unchecked) var strings: [String] = []
  @exclusivity(unchecked) var children: [Int32] = []
  /// Items of a top-level `items:` list handed to a streaming consumer and dropped.
  package internal(set) var streamedItems = 0
  /// What the root stands for in field paths: `items` when the document is a slice of a
  /// List's items parsed on its own.
  var rootPath = ""

  init(file: String) { self.file = file }

  package var root: YAMLValue? { entries.isEmpty ? nil : YAMLValue(tree: self, index: 0) }

  // MARK: Reading

  @inline(__always) func kind(_ i: Int32) -> Kind { entries[Int(i)].kind }
  @inline(__always) func line(_ i: Int32) -> Int { Int(entries[Int(i)].line) }
  @inline(__always) func scalar(_ i: Int32) -> String { strings[Int(entries[Int(i)].first)] }
  @inline(__always) func childCount(_ i: Int32) -> Int { Int(entries[Int(i)].count) }
  @inline(__always) func child(_ i: Int32, _ k: Int) -> Int32 {
    children[Int(entries[Int(i)].first) + k]
  }

  func isNull(_ i: Int32) -> Bool {
    let e = entries[Int(i)]
    guard e.kind == .scalar, e.plain else { return false }
    switch strings[Int(e.first)] {
    case "", "~", "null", "Null", "NULL": return true
    default: return false
    }
  }

  /// The value of `key` in mapping `i`, if set.
  func value(_ i: Int32, key: String) -> Int32? {
    let e = entries[Int(i)]
    guard e.kind == .mapping else { return nil }
    var k = Int(e.first)
    let end = k + Int(e.count)
    while k < end {
      let keyNode = children[k]
      if strings[Int(entries[Int(keyNode)].first)] == key { return children[k + 1] }
      k += 2
    }
    return nil
  }

  /// The field path of node `i` (`spec.containers[0].resources`), from the parents recorded
  /// where it was written.
  func path(_ i: Int32) -> String {
    var parts: [String] = []
    var node = i
    var steps = 0
    while steps <= YAMLTree.maxDepth {
      let e = entries[Int(node)]
      guard e.parent >= 0 else { break }
      let p = entries[Int(e.parent)]
      if p.kind == .mapping {
        let key = e.slot >= 0 ? e.slot : node
        parts.append(
          entries[Int(key)].kind == .scalar ? "." + strings[Int(entries[Int(key)].first)] : ".?")
      } else {
        parts.append("[\(e.slot)]")
      }
      node = e.parent
      steps += 1
    }
    var out = rootPath + parts.reversed().joined()
    if out.hasPrefix(".") { out.removeFirst() }
    return out
  }

  // MARK: Building new nodes (suite templates)

  package func addScalar(
    _ text: String, line: Int, plain: Bool = false, parent: Int32 = -1, slot: Int32 = 0
  ) -> Int32 {
    strings.append(text)
    entries.append(
      Entry(
        kind: .scalar, plain: plain, line: Int32(clamping: line), first: Int32(strings.count - 1),
        count: 0, parent: parent, slot: slot))
    return Int32(entries.count - 1)
  }

  /// A new container holding `items` (key, value, key, value… for a mapping).
  package func addContainer(
    _ kind: Kind, items: [Int32], line: Int, parent: Int32 = -1, slot: Int32 = 0
  ) -> Int32 {
    let first = Int32(children.count)
    children.append(contentsOf: items)
    entries.append(
      Entry(
        kind: kind, plain: false, line: Int32(clamping: line), first: first,
        count: Int32(items.count), parent: parent, slot: slot))
    return Int32(entries.count - 1)
  }

  // MARK: Limits

  /// Deepest nesting accepted; Kubernetes objects nest about fifteen levels.
  package static let maxDepth = 128
  /// Aliases may expand a document to at most this many times its own node count (plus
  /// `aliasExpansionFloor`): enough for templates shared by anchors, not for a billion laughs.
  package static let aliasExpansionRatio = 100
  package static let aliasExpansionFloor = 100_000
}

/// Parses YAML text with libyaml into `YAMLTree` documents.
package enum YAMLParser {
  /// Calls `document` with each document's tree (an empty document gives a tree with no root).
  ///
  /// With `item`, the items of a top-level `items:` sequence (a `kind: List` dump) are handed
  /// over one by one as they complete and dropped from the tree, so a 40 MB list never exists
  /// as one tree; they are kept in the tree instead once the document has defined an anchor
  /// (a later alias could point into them). `streamedItems` on the tree counts those handed over.
  ///
  /// Lines are counted from `firstLine` (the text may be the second part of a file, see
  /// `YAMLSlices`). `firstItem`, when given, says the text is a run of a List's items cut out
  /// of a larger file: the root is a sequence whose items are streamed, numbered from it.
  package static func parse(
    _ bytes: UnsafeRawBufferPointer, file: String, streamingItems: Bool = false, firstLine: Int = 1,
    firstItem: Int? = nil,
    item: (YAMLValue) throws(InputError) -> Void = { _ throws(InputError) in },
    document: (YAMLTree) throws(InputError) -> Void
  ) throws(InputError) {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else {
      throw InputError(file: file, "out of memory starting the YAML parser")
    }
    defer { yaml_parser_delete(&parser) }
    if let base = bytes.baseAddress {
      yaml_parser_set_input_string(&parser, base.assumingMemoryBound(to: UInt8.self), bytes.count)
    } else {
      var empty: UInt8 = 0
      yaml_parser_set_input_string(&parser, &empty, 0)
    }
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
    var builder = Builder(file: file, streaming: streamingItems || firstItem != nil)
    builder.firstItem = firstItem
    builder.lineOffset = firstLine - 1
    var event = yaml_event_t()
    while true {
      guard yaml_parser_parse(&parser, &event) == 1 else {
        throw parseError(parser, file: file, lineOffset: builder.lineOffset)
      }
      defer { yaml_event_delete(&event) }
      switch event.type {
      case YAML_STREAM_END_EVENT:
        return
      case YAML_DOCUMENT_START_EVENT:
        builder.startDocument()
      case YAML_DOCUMENT_END_EVENT:
        try document(builder.finishDocument())
      default:
        try builder.handle(&event)
        if let node = builder.completedItem {
          try item(YAMLValue(tree: builder.tree, index: node))
          builder.drop(item: node)
        }
      }
    }
  }

  /// libyaml's problem as one line, in Berth's words where libyaml would name its own functions.
  static func parseError(_ parser: yaml_parser_t, file: String, lineOffset: Int) -> InputError {
    let mark = parser.problem_mark
    var problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
    if problem.contains("nesting level") || problem.contains("yaml_set_max_nest_level") {
      problem = "nested more than \(YAMLTree.maxDepth) levels deep"
    }
    var message = "invalid YAML: \(problem)"
    if let context = parser.context.map({ String(cString: $0) }), !context.isEmpty {
      message += " (\(context))"
    }
    message += " at column \(mark.column + 1)"
    return InputError(
      file: file, line: Int(mark.line) + 1 + lineOffset, Escaped(message, limit: 200).description)
  }

  /// Turns events into a tree, one document at a time.
  struct Builder {
    struct Frame {
      var node: Int32
      /// Where this container's children start on `pending`.
      var start: Int
      var kind: YAMLTree.Kind
      /// Children written so far (for a mapping: keys and values).
      var written: Int32
    }

    let file: String
    let streaming: Bool
    /// A top-level list item just completed, for the consumer to read before it is dropped.
    var completedItem: Int32?
    /// Set when the text is a run of a List's items (see `YAMLParser.parse`).
    var firstItem: Int?
    var lineOffset = 0
    var tree: YAMLTree
    var frames: [Frame] = []
    /// Children of the open containers, innermost last.
    var pending: [Int32] = []
    /// Per node, how many nodes it stands for once aliases are expanded (saturating).
    var expanded: [Int] = []
    var anchors: [String: Int32] = [:]
    var sawAnchor = false

    init(file: String, streaming: Bool) {
      self.file = file
      self.streaming = streaming
      tree = YAMLTree(file: file)
    }

    mutating func startDocument() {
      tree = YAMLTree(file: file)
      if firstItem != nil { tree.rootPath = "items" }
      frames.removeAll(keepingCapacity: true)
      pending.removeAll(keepingCapacity: true)
      expanded.removeAll(keepingCapacity: true)
      anchors.removeAll()
      sawAnchor = false
    }

    mutating func finishDocument() -> YAMLTree {
      expanded = []
      return tree
    }

    func error(_ line: Int, _ message: String, node: Int32? = nil) -> InputError {
      InputError(file: file, line: line, field: node.map { tree.path($0) }, message)
    }

    /// Parent and slot for a node about to be written into the innermost open container.
    func placement() -> (parent: Int32, slot: Int32) {
      guard let f = frames.last else { return (-1, 0) }
      guard f.kind == .mapping else { return (f.node, f.written) }
      // A value follows its key, the innermost container's last pending child.
      return (f.node, f.written % 2 == 1 ? pending[pending.count - 1] : -1)
    }

    mutating func handle(_ event: inout yaml_event_t) throws(InputError) {
      // SAFETY: libyaml's scalar holds `length` bytes until yaml_event_delete, after this call.
      let line = Int(event.start_mark.line) + 1 + lineOffset
      switch event.type {
      case YAML_SCALAR_EVENT:
        let s = event.data.scalar
        let text =
          s.value.map {
            String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self)
          } ?? ""
        let (parent, slot) = placement()
        let node = tree.addScalar(
          text, line: line, plain: s.style == YAML_PLAIN_SCALAR_STYLE, parent: parent, slot: slot)
        expanded.append(1)
        try define(anchor: s.anchor, node: node, line: line)
        try attach(node, line: line)
      case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
        guard frames.count < YAMLTree.maxDepth else {
          throw error(line, "nested more than \(YAMLTree.maxDepth) levels deep")
        }
        let kind: YAMLTree.Kind = event.type == YAML_MAPPING_START_EVENT ? .mapping : .sequence
        let (parent, slot) = placement()
        let node = tree.addContainer(kind, items: [], line: line, parent: parent, slot: slot)
        expanded.append(1)
        try define(
          anchor: kind == .mapping
            ? event.data.mapping_start.anchor : event.data.sequence_start.anchor, node: node,
          line: line)
        // A slice's root list numbers its items where the slice starts in the whole list.
        let written = frames.isEmpty && kind == .sequence ? Int32(firstItem ?? 0) : 0
        frames.append(Frame(node: node, start: pending.count, kind: kind, written: written))
      case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
        let frame = frames.removeLast()
        let first = tree.children.count
        if frame.kind == .mapping && pending.count - frame.start > 0 {
          try appendCheckedPairs(pending[frame.start...], mapping: frame.node)
        } else {
          tree.children.append(contentsOf: pending[frame.start...])
        }
        pending.removeSubrange(frame.start...)
        var size = 1
        for c in tree.children[first...] { size = size.addingSaturating(expanded[Int(c)]) }
        tree.entries[Int(frame.node)].first = Int32(first)
        tree.entries[Int(frame.node)].count = Int32(tree.children.count - first)
        expanded[Int(frame.node)] = size
        try attach(frame.node, line: line)
      case YAML_ALIAS_EVENT:
        let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
        guard let target = anchors[name] else {
          throw error(line, "alias *\(Escaped(name)) names no anchor defined before it")
        }
        guard !frames.contains(where: { $0.node == target }) else {
          throw error(line, "alias *\(Escaped(name)) refers to a node that contains it")
        }
        try attach(target, line: line)
      default:
        break
      }
    }

    mutating func define(anchor: UnsafeMutablePointer<UInt8>?, node: Int32, line: Int)
      throws(InputError)
    {
      guard let anchor else { return }
      anchors[String(cString: anchor)] = node
      sawAnchor = true
    }

    /// Adds a finished node to the innermost container (or makes it the root), checking the
    /// expansion bound; hands a top-level list item to the streaming consumer.
    mutating func attach(_ node: Int32, line: Int) throws(InputError) {
      let limit = YAMLTree.aliasExpansionFloor.addingSaturating(
        tree.entries.count.multipliedSaturating(by: YAMLTree.aliasExpansionRatio))
      guard expanded[Int(node)] <= limit else {
        throw error(
          line,
          "YAML aliases expand to more than \(limit) nodes (the document holds \(tree.entries.count)); refusing excessive aliasing"
        )
      }
      guard !frames.isEmpty else { return }
      if streaming, !sawAnchor, isTopLevelItemList() {
        completedItem = node
        return
      }
      pending.append(node)
      frames[frames.count - 1].written += 1
    }

    /// The innermost container is the sequence under the root mapping's `items` key.
    func isTopLevelItemList() -> Bool {
      if firstItem != nil { return frames.count == 1 && frames[0].kind == .sequence }
      // The list must be the value of a root key (an odd child), not a key itself.
      guard frames.count == 2, frames[0].kind == .mapping, frames[1].kind == .sequence,
        frames[0].written % 2 == 1
      else { return false }
      // The root's last pending child is the key whose value this list is.
      let keyNode = pending[frames[1].start - 1]
      return tree.kind(keyNode) == .scalar && tree.scalar(keyNode) == "items"
    }

    /// Forgets a streamed item: every node from its first on was written for it alone.
    mutating func drop(item node: Int32) {
      completedItem = nil
      frames[frames.count - 1].written += 1
      tree.streamedItems += 1
      // Strings and child lists written for the item start at its first scalar or container.
      var firstString = tree.strings.count
      var firstChild = tree.children.count
      for i in Int(node)..<tree.entries.count {
        let x = tree.entries[i]
        if x.kind == .scalar {
          firstString = min(firstString, Int(x.first))
        } else {
          firstChild = min(firstChild, Int(x.first))
        }
      }
      tree.entries.removeSubrange(Int(node)...)
      expanded.removeSubrange(Int(node)...)
      tree.strings.removeSubrange(firstString...)
      tree.children.removeSubrange(firstChild...)
    }

    /// Appends a mapping's children to the tree: scalar keys, no key twice, merge keys applied.
    func appendCheckedPairs(_ items: ArraySlice<Int32>, mapping: Int32) throws(InputError) {
      let first = tree.children.count
      var merges: [Int32] = []
      var k = items.startIndex
      while k + 1 < items.endIndex {
        let key = items[k]
        let value = items[k + 1]
        k += 2
        guard tree.kind(key) == .scalar else {
          throw error(tree.line(key), "a mapping key must be a string", node: mapping)
        }
        if tree.entries[Int(key)].plain && tree.scalar(key) == "<<" {
          merges.append(value)
          continue
        }
        if let earlier = self.key(tree.scalar(key), amongPairsFrom: first) {
          throw error(
            tree.line(key),
            "duplicate key \"\(Escaped(tree.scalar(key)))\" (first at line \(tree.line(earlier)))",
            node: mapping)
        }
        tree.children.append(key)
        tree.children.append(value)
      }
      for source in merges {
        let sources: [Int32]
        switch tree.kind(source) {
        case .mapping: sources = [source]
        case .sequence: sources = (0..<tree.childCount(source)).map { tree.child(source, $0) }
        case .scalar:
          throw error(
            tree.line(source), "a merge key (<<) needs a mapping or a list of mappings",
            node: mapping)
        }
        for m in sources {
          guard tree.kind(m) == .mapping else {
            throw error(
              tree.line(m), "a merge key (<<) needs a mapping or a list of mappings", node: mapping)
          }
          var p = 0
          while p + 1 < tree.childCount(m) {
            let key = tree.child(m, p)
            let value = tree.child(m, p + 1)
            p += 2
            if self.key(tree.scalar(key), amongPairsFrom: first) == nil {
              tree.children.append(key)
              tree.children.append(value)
            }
          }
        }
      }
    }

    /// The key node named `name` among the pairs appended from `first` on. A linear scan:
    /// Kubernetes mappings hold a handful of keys, and hashing each cost more than comparing.
    func key(_ name: String, amongPairsFrom first: Int) -> Int32? {
      var k = first
      let end = tree.children.count
      while k < end {
        let key = tree.children[k]
        if tree.scalar(key) == name { return key }
        k += 2
      }
      return nil
    }
  }
}

extension Int {
  fileprivate func addingSaturating(_ other: Int) -> Int {
    let (r, o) = addingReportingOverflow(other)
    return o ? .max : r
  }
  fileprivate func multipliedSaturating(by other: Int) -> Int {
    let (r, o) = multipliedReportingOverflow(by: other)
    return o ? .max : r
  }
}
