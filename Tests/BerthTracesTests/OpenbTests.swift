import BerthCore
import BerthTestSupport
import BerthTraces
import Foundation
import Testing

let openbDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
    "shared/datasets/openb"
  ).path

struct OpenbTests {
  @Test(
    "the GPU node list reads as the trace's README describes it",
    .enabled(
      if: Skips.unless(
        FileManager.default.fileExists(atPath: openbDirectory),
        "needs ../shared/datasets/openb (the Alibaba GPU trace)")))
  func nodes() throws {
    let nodes = try OpenbCSV.readNodes(path: openbDirectory + "/openb_node_list_gpu_node.csv")
    #expect(nodes.count == 1213)
    #expect(nodes.reduce(0) { $0 + ($1.gpus?.count ?? 0) } == 6212)
    #expect(nodes.reduce(Int64(0)) { $0 + $1.allocatable.cpuMillis } == 107_018_000)
    #expect(nodes[0].gpus == NodeGPUs(count: 2, model: "P100"))
    #expect(nodes[0].allocatable.pods == 1001)
    let all = try OpenbCSV.readNodes(path: openbDirectory + "/openb_node_list_all_node.csv")
    #expect(all.count == 1523)
    #expect(all.filter { $0.gpus == nil }.count == 310)
  }

  @Test(
    "every pod list reads; default holds 8,152 pods asking for 6,086.8 GPUs",
    .enabled(
      if: Skips.unless(
        FileManager.default.fileExists(atPath: openbDirectory),
        "needs ../shared/datasets/openb (the Alibaba GPU trace)")))
  func pods() throws {
    let pods = try OpenbCSV.readPods(path: openbDirectory + "/openb_pod_list_default.csv")
    #expect(pods.count == 8152)
    #expect(pods.reduce(0) { $0 + ($1.gpu?.totalMilli ?? 0) } == 6_086_800)
    #expect(pods[1].gpu == GPURequest(count: 1, milliPerGPU: 460))
    let spec = try OpenbCSV.readPods(path: openbDirectory + "/openb_pod_list_gpuspec33.csv")
    #expect(spec.filter { $0.gpu?.models == ["T4"] }.count == 1291)
    let multi = try OpenbCSV.readPods(path: openbDirectory + "/openb_pod_list_multigpu50.csv")
    #expect(multi.count == 9061)
    for file in try FileManager.default.contentsOfDirectory(atPath: openbDirectory)
    where file.hasPrefix("openb_pod_list_") {
      #expect(try !OpenbCSV.readPods(path: openbDirectory + "/" + file).isEmpty, "\(file)")
    }
  }

  static func write(_ text: String) throws -> String {
    let path = InputFixtures.scratch("openb").appendingPathExtension("csv").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static let podHeader =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n"

  @Test(
    "bad pod rows give the file, line and field",
    arguments: [
      (
        podHeader + "p,100,10,1,1200,,LS,Running,0,1,0\n",
        "3: gpu_milli: expected at most 1000 milli-GPU per GPU, found 1200"
      ),
      (
        podHeader + "p,100,10,1,-5,,LS,Running,0,1,0\n",
        "2: gpu_milli: expected an integer ≥ 0, found -5"
      ),
      (
        podHeader + "p,100,10,2,500,,LS,Running,0,1,0\n",
        "2: gpu_milli: a pod asking for 2 GPUs must take whole GPUs (1000), found 500"
      ),
      (
        podHeader + "p,100,10,1,500,T4||V100,LS,Running,0,1,0\n",
        "2: gpu_spec: expected models separated by '|', found \"T4||V100\""
      ),
      (
        podHeader + "p,100,10,1,500,T 4,LS,Running,0,1,0\n",
        "2: gpu_spec: expected models separated by '|', found \"T 4\""
      ),
      (podHeader + "p,100,10,1\n", "2: expected 11 fields, found 4"),
      (
        podHeader + "p,x,10,1,500,,LS,Running,0,1,0\n",
        "2: cpu_milli: expected an integer, found \"x\""
      ),
      (
        "name,cpu\np,1\n",
        "1: header must be name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time"
      ),
    ])
  func badPods(text: String, suffix: String) throws {
    let path = try Self.write(
      text.replacingOccurrences(
        of: "p,100,10,1,1200", with: "q,1,1,0,0,,LS,Running,0,1,0\np,100,10,1,1200"))
    #expect { try OpenbCSV.readPods(path: path) } throws: {
      ($0 as? InputError)?.description == path + ":" + suffix
    }
  }

  @Test(
    "bad node rows give the file, line and field",
    arguments: [
      (
        "sn,cpu_milli,memory_mib,gpu,model\nn,1000,10,9,T4\n",
        "2: gpu: expected 0 to 8 GPUs, found 9"
      ),
      (
        "sn,cpu_milli,memory_mib,gpu,model\nn,1000,10,2,\n",
        "2: model: a node with GPUs needs a model"
      ),
      (
        "sn,cpu_milli,memory_mib,gpu,model\nn,1000,10,2,T4!\n",
        "2: model: expected a model name of letters, digits, '-', '_' or '.', found \"T4!\""
      ),
      (
        "sn,cpu_milli,memory_mib,gpu,model\nn,-1,10,2,T4\n",
        "2: cpu_milli: expected an integer ≥ 0, found -1"
      ),
    ])
  func badNodes(text: String, suffix: String) throws {
    let path = try Self.write(text)
    #expect { try OpenbCSV.readNodes(path: path) } throws: {
      ($0 as? InputError)?.description == path + ":" + suffix
    }
  }
}

struct OpenbLikeTests {
  @Test("the openb-like generator is seeded and round-trips through the openb reader")
  func roundTrip() throws {
    let a = OpenbLike.generate(nodes: 20, pods: 200, seed: 4)
    let b = OpenbLike.generate(nodes: 20, pods: 200, seed: 4)
    #expect(a.nodes == b.nodes && a.pods == b.pods)
    let dir = InputFixtures.scratch("openb-like").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try OpenbCSV.write(
      nodes: a.nodes, pods: a.pods, nodesPath: dir + "/n.csv", podsPath: dir + "/p.csv")
    let nodes = try OpenbCSV.readNodes(path: dir + "/n.csv")
    let pods = try OpenbCSV.readPods(path: dir + "/p.csv")
    #expect(nodes == a.nodes)
    #expect(pods.map(\.gpu) == a.pods.map(\.gpu))
    #expect(pods.filter { $0.gpu == nil }.count > 10)
    #expect(pods.filter { $0.gpu?.isSharing == true }.count > 40)
  }
}
