import BerthCore
import Testing

@testable import BerthScheduling

func gpuPod(cpu: Int64, count: Int, milli: Int16) -> GPUPod {
  GPUPod(
    cpuMillis: cpu, memoryBytes: 0, gpuCount: count, milli: milli, accepts: [true, true])
}

let oneTypicalClass = [
  TypicalPod(cpuMillis: 1000, milli: 500, gpuCount: 1, models: "", probability: 1)
]
