import BerthCore
import Foundation

/// The Alibaba GPU cluster trace (openb) CSV files, as the FGD simulator reads them.
///
/// Nodes: `sn,cpu_milli,memory_mib,gpu,model`; each node advertises its CPU and memory, 1001
/// pods, `gpu` devices (0, 1, 2, 4 or 8 in the trace; up to 8 accepted) of `model`.
/// Pods: `name,cpu_milli,memory_mib,num_gpu,gpu_milli` followed, in all but the multigpu
/// variants, by `gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time`; `gpu_spec`
/// lists accepted models separated by `|`. The time columns are read past, as the simulator
/// ignores them (arrival-only stream). See docs/formats.md.
public enum OpenbCSV {
  public static let nodeHeader = ["sn", "cpu_milli", "memory_mib", "gpu", "model"]
  public static let podHeaderShort = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"]
  public static let podHeaderLong =
    podHeaderShort + [
      "gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time",
    ]
  /// The label the simulator puts on GPU nodes.
  public static let modelLabel = "alibabacloud.com/gpu-card-model"
  /// `pods` the simulator advertises on every node.
  public static let maxPods: Int64 = 1001

  static func isModelName(_ s: Substring) -> Bool {
    !s.isEmpty
      && s.allSatisfy {
        $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".")
      }
  }

  /// The columns nodes and pods share: a unique name, CPU in millicores, memory in MiB (returned
  /// as such, checked to fit in bytes) and a GPU count of at most 8.
  static func leadingColumns(
    _ f: [String], kind: String, gpuField: String, seen: inout Set<String>, file path: String,
    line: Int
  ) throws(InputError) -> (name: String, cpu: Int64, memoryMiB: Int64, gpus: Int64) {
    let name = try ClusterCSV.uniqueName(f[0], kind: kind, seen: &seen, file: path, line: line)
    let cpu = try ClusterCSV.integer(f[1], file: path, line: line, field: "cpu_milli")
    let mem = try ClusterCSV.integer(
      f[2], file: path, line: line, field: "memory_mib", max: ResourceAmounts.limit >> 20)
    let gpus = try ClusterCSV.integer(f[3], file: path, line: line, field: gpuField)
    guard gpus <= Int64(NodeGPUs.maxPerNode) else {
      throw InputError(
        file: path, line: line, field: gpuField, "expected 0 to 8 GPUs, found \(gpus)")
    }
    return (name, cpu, mem, gpus)
  }

  public static func readNodes(path: String) throws(InputError) -> [NodeSpec] {
    try parseNodes(InputFile.text(path), file: path)
  }

  /// An openb node list's text, `file` naming it in errors.
  public static func parseNodes(_ text: String, file path: String) throws(InputError) -> [NodeSpec]
  {
    var nodes: [NodeSpec] = []
    var seen = Set<String>()
    for (line, f) in try ClusterCSV.rows(text: text, file: path, header: nodeHeader) {
      let (name, cpu, mem, gpus) = try leadingColumns(
        f, kind: "node", gpuField: "gpu", seen: &seen, file: path, line: line)
      let model = ClusterCSV.trimmed(f[4])
      if !model.isEmpty && !isModelName(Substring(model)) {
        throw InputError(
          file: path, line: line, field: "model",
          "expected a model name of letters, digits, '-', '_' or '.', found \"\(model)\"")
      }
      if gpus > 0 && model.isEmpty {
        throw InputError(file: path, line: line, field: "model", "a node with GPUs needs a model")
      }
      var labels = ["kubernetes.io/hostname": name]
      if gpus > 0 { labels[modelLabel] = model }
      nodes.append(
        NodeSpec(
          name: name, labels: labels,
          allocatable: ResourceAmounts(cpuMillis: cpu, memoryBytes: mem << 20, pods: maxPods),
          gpus: gpus > 0 ? NodeGPUs(count: Int(gpus), model: model) : nil))
    }
    return nodes
  }

  public static func readPods(path: String) throws(InputError) -> [PodSpec] {
    try parsePods(InputFile.text(path), file: path)
  }

  /// An openb pod list's text (either header), `file` naming it in errors.
  public static func parsePods(_ text: String, file path: String) throws(InputError) -> [PodSpec] {
    let firstLine = String(text.prefix { $0 != "\n" }).trimmingCharacters(
      in: .whitespacesAndNewlines)
    let header =
      firstLine.split(separator: ",").count == podHeaderShort.count ? podHeaderShort : podHeaderLong
    var pods: [PodSpec] = []
    var seen = Set<String>()
    for (line, f) in try ClusterCSV.rows(text: text, file: path, header: header) {
      let (name, cpu, mem, count) = try leadingColumns(
        f, kind: "pod", gpuField: "num_gpu", seen: &seen, file: path, line: line)
      let milli = try ClusterCSV.integer(f[4], file: path, line: line, field: "gpu_milli")
      guard milli <= 1000 else {
        throw InputError(
          file: path, line: line, field: "gpu_milli",
          "expected at most 1000 milli-GPU per GPU, found \(milli)")
      }
      if count > 1 && milli < 1000 {
        throw InputError(
          file: path, line: line, field: "gpu_milli",
          "a pod asking for \(count) GPUs must take whole GPUs (1000), found \(milli)")
      }
      if (count == 0) != (milli == 0) {
        throw InputError(
          file: path, line: line, field: "gpu_milli",
          "num_gpu \(count) and gpu_milli \(milli) disagree (both zero for CPU-only pods)")
      }
      var models: [String] = []
      if header.count > 5, !f[5].isEmpty {
        for m in f[5].split(separator: "|", omittingEmptySubsequences: false) {
          guard isModelName(m) else {
            throw InputError(
              file: path, line: line, field: "gpu_spec",
              "expected models separated by '|', found \"\(f[5])\"")
          }
          models.append(String(m))
        }
      }
      let requests = ResourceList([
        (ResourceName.cpu, Quantity(milli: cpu)),
        (ResourceName.memory, Quantity(integer: mem << 20)),
      ])
      pods.append(
        PodSpec(
          name: name, containers: [Container(name: "main", requests: requests, limits: requests)],
          gpu: count > 0
            ? GPURequest(count: Int(count), milliPerGPU: Int(milli), models: models) : nil))
    }
    return pods
  }
}
