import BerthCore
import BerthTestSupport
import BerthTraces
import Foundation
import Testing

/// The YAML layer: libyaml events into a compact tree, with Kubernetes' strictness and bounds.
struct YAMLTreeTests {
  static func error(_ yaml: String) -> InputError? {
    do {
      _ = try KubernetesYAML.parse(yaml, file: "x.yaml")
      return nil
    } catch {
      return error
    }
  }

  /// Nine levels of ten aliases each: 821-ish bytes that would expand to 10⁹ pods.
  static let billionLaughs: String = {
    var lines = ["a0: &a0 {kind: Pod, metadata: {name: p}, spec: {containers: [{name: c}]}}"]
    for level in 1...9 {
      lines.append(
        "a\(level): &a\(level) ["
          + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
    }
    return "x:\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\nkind: List\nitems: [*a9]\n"
  }()

  @Test("a billion laughs is refused at once with a one-line error, not expanded")
  func billionLaughs() throws {
    let clock = ContinuousClock()
    let started = clock.now
    #expect(Self.billionLaughs.utf8.count < 1_000)
    let e = try #require(Self.error(Self.billionLaughs))
    #expect(clock.now - started < .seconds(5))
    #expect(e.message.hasPrefix("YAML aliases expand to more than"))
    #expect(e.message.contains("refusing excessive aliasing"))
    #expect(e.line != nil)
  }

  @Test("a few aliases shared as templates are fine")
  func modestAliases() throws {
    let yaml = """
      kind: List
      items:
      - &node {kind: Node, metadata: {name: a}, status: {allocatable: {cpu: "4", memory: 8Gi}}}
      - {<<: *node, metadata: {name: b}}
      - {<<: *node, metadata: {name: c}, status: {allocatable: {cpu: "8", memory: 8Gi}}}
      """
    let m = try KubernetesYAML.parse(yaml, file: "x.yaml")
    #expect(m.nodes.map(\.name) == ["a", "b", "c"])
    #expect(m.nodes.map(\.allocatable.cpuMillis) == [4000, 4000, 8000])
  }

  @Test("a key written twice is one line naming both lines, not a dump of the document")
  func duplicateKey() throws {
    let yaml = "kind: Pod\nmetadata:\n  name: p\n  name: q\nspec: {containers: [{name: c}]}\n"
    let e = try #require(Self.error(yaml))
    #expect(e.description == "x.yaml:4: metadata: duplicate key \"name\" (first at line 3)")
  }

  @Test("nesting past the limit is an error, in flow and block style")
  func deepNesting() throws {
    let flow =
      "kind: Pod\nx: " + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
      + "\n"
    let e = try #require(Self.error(flow))
    #expect(e.message.contains("nested more than \(YAMLTree.maxDepth) levels deep"))
    #expect(!e.message.contains("yaml_"))
    var block = "kind: Pod\n"
    for d in 0..<300 { block += String(repeating: " ", count: d) + "k:\n" }
    let b = try #require(Self.error(block))
    #expect(b.message.contains("nested more than"))
  }

  @Test("aliases must name an anchor defined before them and not enclose themselves")
  func badAliases() throws {
    #expect(
      Self.error("kind: List\nitems: [*nope]\n")?.message
        == "alias *nope names no anchor defined before it")
    #expect(
      Self.error("kind: List\nitems: &self [*self]\n")?.message
        == "alias *self refers to a node that contains it")
  }

  @Test("a list as the key of the root mapping is not taken for a List's items (a fuzz finding)")
  func sequenceKeyAtRoot() throws {
    #expect(
      Self.error("[(,]Sax: [(,]Sa")?.message.hasPrefix("invalid YAML: did not find expected key")
        == true)
    #expect(Self.error("? [a, b]\n: [c]\n")?.message == "a mapping key must be a string")
  }

  @Test("every committed fuzz corpus input gives objects or a one-line error")
  func fuzzCorpus() throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/kubernetes-yaml").path
    let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    #expect(files.count >= 4)
    for f in files {
      let data = try #require(FileManager.default.contents(atPath: dir + "/" + f))
      do {
        _ = try KubernetesYAML.parse(String(decoding: data, as: UTF8.self), file: f).makeCluster(
          file: f)
      } catch {
        #expect(!error.description.contains("\n"), "\(f)")
      }
    }
  }

  @Test("a non-scalar key and a scalar merge source are errors")
  func keysAndMerges() throws {
    #expect(Self.error("kind: Pod\n? [a]\n: b\n")?.message == "a mapping key must be a string")
    #expect(
      Self.error("kind: Pod\nmetadata: {<<: x, name: p}\n")?.message
        == "a merge key (<<) needs a mapping or a list of mappings")
  }

  @Test("a List's items stream one by one; errors inside them still name items[k]")
  func streamedListErrors() throws {
    var yaml = "apiVersion: v1\nitems:\n"
    for i in 0..<5 {
      yaml +=
        "- {kind: Node, metadata: {name: n\(i)}, status: {allocatable: {cpu: \"4\", memory: 1Gi}}}\n"
    }
    yaml +=
      "- {kind: Node, metadata: {name: bad}, status: {allocatable: {cpu: lots}}}\nkind: List\n"
    let e = try #require(Self.error(yaml))
    #expect(
      e.description
        == "x.yaml:8: items[5].status.allocatable.cpu: quantity \"lots\" is not a number with an optional suffix"
    )
    let ok = yaml.replacingOccurrences(of: "cpu: lots", with: "cpu: \"2\", memory: 1Gi")
    #expect(
      try KubernetesYAML.parse(ok, file: "x.yaml").nodes.map(\.name) == [
        "n0", "n1", "n2", "n3", "n4", "bad",
      ])
    // items under another kind are refused even though they were read first.
    let wrong = ok.replacingOccurrences(of: "kind: List", with: "kind: Pod")
    #expect(Self.error(wrong)?.message == "items belong to a List, not to kind Pod")
  }

  @Test("non-UTF-8 input names the byte offset and line")
  func nonUTF8() throws {
    let dir = InputFixtures.scratch("berth-utf8")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let file = dir.appendingPathComponent("bad.yaml").path
    var bytes = Array("kind: Node\nmetadata: {name: n".utf8)
    bytes += [0xFF, 0xFE]
    bytes += Array("}\n".utf8)
    FileManager.default.createFile(atPath: file, contents: Data(bytes))
    #expect { try KubernetesYAML.read(path: file) } throws: {
      ($0 as? InputError)?.description
        == "\(file):2: not UTF-8 text: invalid byte 0xFF at byte offset 29"
    }
  }

  @Test("control characters and long values in messages are escaped and cut")
  func escapedMessages() throws {
    let long = String(repeating: "x", count: 500)
    let e = try #require(
      Self.error(
        "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}], priority: \"\(long)\\u0007\"}\n"
      ))
    #expect(e.description.count < 200)
    #expect(!e.description.contains("\u{07}"))
    let bell = try #require(Self.error("kind: \"Thing\\u0007\\nNext\"\nmetadata: {name: p}\n"))
    #expect(bell.description.contains("Thing\\u{7}\\nNext"))
    #expect(!bell.description.contains("\n"))
  }
}

/// Large files are read in two parts on two threads; the result must be the one-part result.
struct YAMLSliceTests {
  /// A multi-document stream of `n` nodes and as many pods, past the two-part threshold.
  static func documents(_ n: Int) -> String {
    var s = ""
    s.reserveCapacity(n * 400)
    for i in 0..<n {
      s +=
        "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: \"n\(i)\"\n  labels: {zone: z\(i % 4)}\nstatus:\n  allocatable: {cpu: \"\(1 + i % 8)\", memory: 8Gi, pods: \"110\"}\n"
      s +=
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p\(i), namespace: ns\(i % 3)}\nspec:\n  containers:\n  - name: c\n    resources: {requests: {cpu: \(100 + i % 900)m, memory: \(i % 64 + 1)Mi}}\n"
    }
    return s
  }

  /// The same objects as one `kind: List` with block items at column 0, as kubectl writes it.
  static func list(_ n: Int) -> String {
    var s = "apiVersion: v1\nitems:\n"
    for doc in documents(n).components(separatedBy: "---\n") where !doc.isEmpty {
      let lines = doc.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
      s += "- " + lines.first! + "\n" + lines.dropFirst().map { "  " + $0 + "\n" }.joined()
    }
    return s + "kind: List\nmetadata: {resourceVersion: \"\"}\n"
  }

  static func plan(_ text: String) -> YAMLSlices.Plan? {
    var copy = text
    return copy.withUTF8 { YAMLSlices.plan(UnsafeRawBufferPointer($0)) }
  }

  @Test(
    "a large multi-document stream and a large List are cut, and read to the same objects as in one part"
  )
  func sameObjects() throws {
    let docs = Self.documents(15_000)
    let list = Self.list(15_000)
    #expect(docs.utf8.count > YAMLSlices.minimumBytes)
    guard case .documents? = Self.plan(docs) else {
      Issue.record("no document cut")
      return
    }
    guard case .listItems? = Self.plan(list) else {
      Issue.record("no item cut")
      return
    }
    let a = try KubernetesYAML.parse(docs, file: "d.yaml")
    let b = try KubernetesYAML.parse(list, file: "l.yaml")
    #expect(a.nodes.count == 15_000 && a.pods.count == 15_000)
    #expect(a.nodes.map(\.name) == (0..<15_000).map { "n\($0)" })
    #expect(a.pods.map(\.name) == (0..<15_000).map { "p\($0)" })
    #expect(a.nodes == b.nodes)
    #expect(a.pods.map(\.name) == b.pods.map(\.name))
    #expect(a.pods.map(\.containers) == b.pods.map(\.containers))
    // Small inputs are read in one part.
    #expect(Self.plan(Self.documents(10)) == nil)
  }

  @Test(
    "errors in either part name the line and path they would in one part", arguments: [10, 14_900])
  func errorsInParts(at bad: Int) throws {
    let list = Self.list(15_000).replacingOccurrences(
      of:
        "name: \"n\(bad)\"\n    labels: {zone: z\(bad % 4)}\n  status:\n    allocatable: {cpu: \"\(1 + bad % 8)\"",
      with:
        "name: \"n\(bad)\"\n    labels: {zone: z\(bad % 4)}\n  status:\n    allocatable: {cpu: \"lots\""
    )
    let item = 2 * bad
    let line = 3 + item * 7 + 6
    #expect { try KubernetesYAML.parse(list, file: "l.yaml") } throws: {
      ($0 as? InputError)?.description
        == "l.yaml:\(line): items[\(item)].status.allocatable.cpu: quantity \"lots\" is not a number with an optional suffix"
    }
    let docs = Self.documents(15_000).replacingOccurrences(
      of:
        "name: \"n\(bad)\"\n  labels: {zone: z\(bad % 4)}\nstatus:\n  allocatable: {cpu: \"\(1 + bad % 8)\"",
      with:
        "name: \"n\(bad)\"\n  labels: {zone: z\(bad % 4)}\nstatus:\n  allocatable: {cpu: \"lots\"")
    #expect { try KubernetesYAML.parse(docs, file: "d.yaml") } throws: {
      ($0 as? InputError)?.description
        == "d.yaml:\(item * 8 + 8): status.allocatable.cpu: quantity \"lots\" is not a number with an optional suffix"
    }
  }

  @Test(
    "the List's trailer is checked after the cut: a wrong kind is still an error on its own line")
  func trailerAfterCut() throws {
    let list = Self.list(15_000).replacingOccurrences(
      of: "kind: List\nmetadata", with: "kind: Pod\nmetadata")
    let lines = list.split(separator: "\n", omittingEmptySubsequences: false).count
    #expect { try KubernetesYAML.parse(list, file: "l.yaml") } throws: {
      let e = $0 as? InputError
      return e?.description == "l.yaml:3: items: items belong to a List, not to kind Pod"
        && lines > 100
    }
  }
}
