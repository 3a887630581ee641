import BerthCore
import BerthTraces
import Foundation

/// A scenario changed by a patch file: the same cluster, load and seed with other autoscaler
/// settings (`berth autoscale compare`).
///
/// Each document of the patch names an object of the scenario by `kind`, `metadata.name` and
/// `metadata.namespace` (default `default`; the Scenario document by kind alone) and is merged
/// into it as `kubectl patch` merges (maps key by key, `null` deletes, containers by name);
/// `$patch: delete` at the top removes the object; a document naming no object of the
/// scenario is added to it (a new HPA, say). The patch `none` removes every
/// HorizontalPodAutoscaler.
public enum ScenarioVariants {
  /// The scenario's documents (List items flattened), in file order.
  static func documents(_ path: String) throws(InputError) -> (docs: [ObjectDocument], file: String)
  {
    let files = try InputFile.yamlFiles(at: path)
    var out: [ObjectDocument] = []
    for f in files {
      let text = try InputFile.text(f)
      var roots: [YAMLValue] = []
      try InputFile.withBytes(text) { bytes throws(InputError) in
        try YAMLParser.parse(bytes, file: f) { tree throws(InputError) in
          if let root = tree.root, !root.isNull { roots.append(root) }
        }
      }
      for r in roots {
        if try r.child("kind")?.string() == "List" {
          for item in try r.child("items")?.sequence() ?? [] { out.append(ObjectDocument(item)) }
        } else {
          out.append(ObjectDocument(r))
        }
      }
    }
    return (out, files.first ?? path)
  }

  static func identity(_ d: ObjectDocument) -> String {
    let kind = d["kind"]?.string ?? ""
    if kind == "Scenario" { return "Scenario" }
    let meta = d["metadata"]
    return kind + "/" + (meta?["namespace"]?.string ?? "default") + "/"
      + (meta?["name"]?.string ?? "")
  }

  /// `scenario` with `patch` applied (`none`: without HorizontalPodAutoscalers).
  public static func apply(scenario path: String, patch: String) throws(InputError) -> Scenario {
    var (docs, file) = try documents(path)
    if patch == "none" {
      docs.removeAll { $0["kind"]?.string == "HorizontalPodAutoscaler" }
    } else {
      let (patches, _) = try documents(patch)
      for p in patches {
        guard p["kind"]?.string != nil else {
          throw InputError(file: patch, "a patch document needs kind (and metadata.name)")
        }
        let id = identity(p)
        if let i = docs.firstIndex(where: { identity($0) == id }) {
          if p["$patch"]?.string == "delete" {
            docs.remove(at: i)
          } else {
            docs[i] = docs[i].merging(p)
          }
        } else if p["$patch"]?.string == "delete" {
          throw InputError(file: patch, "\(id): no such object in the scenario to delete")
        } else {
          docs.append(p)
        }
      }
    }
    let text = docs.map(\.json).joined(separator: "\n---\n")
    return try Scenario.parse(text, file: file)
  }
}
