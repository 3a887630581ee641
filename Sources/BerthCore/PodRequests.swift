/// The effective requests of a pod, as kube-scheduler's `PodRequests` computes them.
///
/// Per resource: the sum over regular containers and sidecars (init containers with
/// `restartPolicy: Always`), raised to the largest non-sidecar init container's request plus the
/// sidecars started before it, plus `spec.overhead`. Sums are exact quantity sums; rounding to
/// millicores or bytes happens once, at the end.
///
/// With `nonMissing`, a container that does not name CPU or memory is treated as requesting the
/// scoring defaults (100m, 200Mi): an explicit zero stays zero, as upstream's `applyNonMissing`.
public enum PodRequests {
  /// 100 millicores, kube-scheduler's `DefaultMilliCPURequest`.
  public static let defaultMilliCPU: Int64 = 100
  /// 200 MiB, kube-scheduler's `DefaultMemoryRequest`.
  public static let defaultMemoryBytes: Int64 = 200 * 1024 * 1024

  public static func effective(_ pod: PodSpec, nonMissing: Bool = false) throws(QuantityError)
    -> ResourceAmounts
  {
    func requests(of c: Container) -> ResourceList {
      guard nonMissing else { return c.requests }
      var r = c.requests
      if !r.contains(ResourceName.cpu) { r[ResourceName.cpu] = Quantity(milli: defaultMilliCPU) }
      if !r.contains(ResourceName.memory) {
        r[ResourceName.memory] = Quantity(integer: defaultMemoryBytes)
      }
      return r
    }
    var total = ResourceList()
    for c in pod.containers { try total.add(requests(of: c)) }
    var sidecars = ResourceList()
    var initMax = ResourceList()
    for c in pod.initContainers {
      let r = requests(of: c)
      if c.restartPolicyAlways {
        try total.add(r)
        try sidecars.add(r)
        initMax.raise(to: sidecars)
      } else {
        var running = r
        try running.add(sidecars)
        initMax.raise(to: running)
      }
    }
    total.raise(to: initMax)
    try total.add(pod.overhead)
    return try total.amounts()
  }
}
