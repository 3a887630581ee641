import ArgumentParser
import BerthAutoscaling
import BerthCore
import BerthTraces
import Foundation

/// `berth hpa`: the horizontal pod autoscaler's decisions, offline.
struct HPA: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hpa",
    abstract: "The horizontal pod autoscaler's decisions, from Kubernetes objects.",
    discussion: """
      Examples:
        berth hpa explain --hpa datasets/hpa/web/hpa.yaml \\
          --pods datasets/hpa/web/pods.yaml --metrics datasets/hpa/web/metrics.json
      """,
    subcommands: [HPAExplain.self])
}

/// `berth hpa explain`: what kube-controller-manager's HPA would do now, and why.
struct HPAExplain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "What the HPA controller would do with these pods and metrics, and why.",
    discussion: """
      Runs one reconcile of kube-controller-manager's horizontal-pod-autoscaler controller on the files a cluster gives you: the HorizontalPodAutoscaler (autoscaling/v2; status.currentReplicas is the current scale unless --replicas says), the pods (kubectl get pods -o yaml), and the metrics APIs' answers (metrics.k8s.io PodMetrics, custom.metrics.k8s.io MetricValueList, external.metrics.k8s.io ExternalMetricValueList; YAML or the JSON kubectl get --raw prints). Prints the desired replica count and, per metric, the proposal with its utilization or average, the pods counted, unready, missing and ignored, then the tolerance, stabilization window and rate limit that shaped it, and the HPA's conditions and events as upstream would set them.

      The pods are those of the HPA's namespace in PODS (narrow them with --selector); "now" defaults to the newest metric timestamp. Without --history the controller has just started (no recommendation history, as after a restart).

      Examples:
        kubectl get hpa web -o yaml > hpa.yaml
        kubectl get pods -l app=web -o yaml > pods.yaml
        kubectl get --raw \\
          /apis/metrics.k8s.io/v1beta1/namespaces/default/pods > metrics.json
        berth hpa explain --hpa hpa.yaml --pods pods.yaml \\
          --metrics metrics.json
        berth hpa explain --hpa hpa.yaml --pods pods.yaml \\
          --metrics metrics.json --output json \\
          --horizontal-pod-autoscaler-tolerance 0.05
      """)

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

  @Option(help: "The HorizontalPodAutoscaler (autoscaling/v2) YAML.") var hpa: String
  @Option(help: "The pods: Pod, PodList or List YAML (kubectl get pods -o yaml).") var pods: String
  @Option(
    help: ArgumentHelp(
      "Metrics API answers (repeatable): PodMetrics(List), MetricValueList, ExternalMetricValueList.",
      valueName: "metrics"))
  var metrics: [String] = []
  @Option(help: "The instant of the reconcile (RFC 3339); default: the newest metric timestamp.")
  var now: String?
  @Option(help: "The controller's history (HorizontalPodAutoscalerHistory YAML).") var history:
    String?
  @Option(help: "The target's current replicas (spec.replicas); default status.currentReplicas.")
  var replicas: Int32?
  @Option(help: "Only pods (and PodMetrics) with these labels: key=value,key=value.")
  var selector: String?
  @Option(help: "text or json.") var output: OutputFormat = .text
  @Option(
    name: .customLong("horizontal-pod-autoscaler-tolerance"),
    help: ArgumentHelp("The tolerance on each metric's usage ratio.", valueName: "ratio"))
  var tolerance: Double = 0.1
  @Option(
    name: .customLong("horizontal-pod-autoscaler-downscale-stabilization"),
    help: ArgumentHelp(
      "The legacy path's window and the default scale-down window.", valueName: "duration"))
  var downscaleStabilization: String = "5m0s"
  @Option(
    name: .customLong("horizontal-pod-autoscaler-cpu-initialization-period"),
    help: ArgumentHelp("How long after start CPU samples need a Ready pod.", valueName: "duration"))
  var cpuInitializationPeriod: String = "5m0s"
  @Option(
    name: .customLong("horizontal-pod-autoscaler-initial-readiness-delay"),
    help: ArgumentHelp("Transitions this soon after start mean never ready.", valueName: "duration")
  )
  var initialReadinessDelay: String = "30s"
  @Option(
    name: .customLong("feature-gates"),
    help: ArgumentHelp(
      "HPAConfigurableTolerance (default true), HPAScaleToZero (default false).",
      valueName: "Gate=bool,…"))
  var featureGates: String?

  func run() throws { print(try report(), terminator: "") }

  /// The report `run` prints.
  func report() throws -> String {
    var flags = HPAControllerFlags()
    flags.tolerance = tolerance
    guard tolerance >= 0 else {
      throw ValidationError("--horizontal-pod-autoscaler-tolerance must be ≥ 0")
    }
    func millis(_ text: String, _ name: String) throws -> Int64 {
      do { return try GoDuration.parse(text) / 1_000_000 } catch {
        throw ValidationError("--\(name): \(error.description)")
      }
    }
    flags.downscaleStabilizationMillis = try millis(
      downscaleStabilization, "horizontal-pod-autoscaler-downscale-stabilization")
    flags.cpuInitializationPeriodMillis = try millis(
      cpuInitializationPeriod, "horizontal-pod-autoscaler-cpu-initialization-period")
    flags.initialReadinessDelayMillis = try millis(
      initialReadinessDelay, "horizontal-pod-autoscaler-initial-readiness-delay")
    if let featureGates {
      for entry in featureGates.split(separator: ",") {
        let kv = entry.split(separator: "=", maxSplits: 1).map {
          $0.trimmingCharacters(in: .whitespaces)
        }
        guard kv.count == 2, let on = Bool(kv[1].lowercased()) else {
          throw ValidationError("--feature-gates: expected Gate=true|false, found \(entry)")
        }
        switch kv[0] {
        case "HPAConfigurableTolerance": flags.configurableTolerance = on
        case "HPAScaleToZero": flags.scaleToZero = on
        default:
          throw ValidationError(
            "--feature-gates: unknown gate \(kv[0]) (known: HPAConfigurableTolerance, HPAScaleToZero)"
          )
        }
      }
    }
    let selectorLabels = try selector.map(Self.parseSelector)
    let explanation: HPAExplanation
    do {
      let object = try HPAInputs.hpa(path: hpa, scaleToZero: flags.scaleToZero)
      let podObjects = try HPAInputs.pods(path: pods).filter {
        $0.namespace == object.spec.namespace && Self.matches($0.labels, selectorLabels)
      }
      var documents = try HPAInputs.metrics(paths: metrics)
      let selectedNames = Set(podObjects.map(\.pod.name))
      documents.podMetrics = documents.podMetrics.filter { m in
        m.namespace == object.spec.namespace
          && (selectorLabels == nil || selectedNames.contains(m.metrics.podName))
      }
      var instant: UnixMillis
      if let now {
        guard let ms = RFC3339.parseMillis(now) else {
          throw ValidationError("--now: expected an RFC 3339 time such as 2024-05-01T12:00:00Z")
        }
        instant = UnixMillis(ms)
      } else if let newest = documents.newestTimestamp {
        instant = newest
      } else {
        throw ValidationError("--now is needed: the metrics hold no timestamp")
      }
      guard let current = replicas ?? object.currentReplicas else {
        throw ValidationError("\(hpa): status.currentReplicas is not set; give --replicas")
      }
      var h = try history.map { try HPAInputs.history(path: $0) } ?? HPAHistory()
      let source = FileMetricsSource(
        documents: documents, namespace: object.spec.namespace,
        podNames: selectorLabels == nil ? nil : Set(podObjects.map(\.pod.name)))
      let controller = HorizontalController(flags: flags)
      let before = h
      let result = controller.reconcile(
        object.spec, specReplicas: current, statusReplicas: current,
        pods: podObjects.map(\.pod), metrics: source, history: &h,
        conditions: object.conditions, previousDesiredReplicas: object.desiredReplicas,
        now: instant)
      explanation = HPAExplanation(
        spec: object.spec, result: result, now: instant, pods: podObjects.map(\.pod),
        historyBefore: before, flags: flags)
    } catch let error as InputError {
      throw CommandFailure(error.description)
    }
    return output == .json ? explanation.json() : explanation.text()
  }

  static func parseSelector(_ text: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for part in text.split(separator: ",") {
      let kv = part.split(separator: "=", maxSplits: 1)
      guard kv.count == 2, !kv[0].isEmpty else {
        throw ValidationError("--selector: expected key=value[,key=value], found \(part)")
      }
      out[String(kv[0])] = String(kv[1])
    }
    return out
  }

  static func matches(_ labels: [String: String], _ selector: [String: String]?) -> Bool {
    guard let selector else { return true }
    return selector.allSatisfy { labels[$0.key] == $0.value }
  }
}

/// The metrics APIs, answered from files.
struct FileMetricsSource: HPAMetricsSource {
  var documents: HPAInputs.Metrics
  var namespace: String
  /// When a selector narrowed the pods: only these pods' custom metrics.
  var podNames: Set<String>?

  func podResourceMetrics() throws(HPAMetricError) -> [PodResourceMetrics] {
    documents.podMetrics.map(\.metrics)
  }

  func podsMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    samples: [(podName: String, sample: PodMetricSample)], timestamp: UnixMillis
  ) {
    let values = documents.custom.filter {
      $0.describedObject.kind == "Pod" && $0.metric == metric.name
        && ($0.namespace.isEmpty || $0.namespace == namespace)
        && (podNames?.contains($0.describedObject.name) ?? true)
    }
    guard let first = values.first else {
      throw HPAMetricError("no metrics returned from custom metrics API")
    }
    return (
      values.map {
        (
          $0.describedObject.name,
          PodMetricSample(valueMilli: $0.valueMilli, timestamp: $0.timestamp)
        )
      },
      first.timestamp
    )
  }

  func objectMetric(_ object: ObjectRef, _ metric: HPAMetricIdentifier) throws(HPAMetricError)
    -> (valueMilli: Int64, timestamp: UnixMillis)
  {
    guard
      let v = documents.custom.first(where: {
        $0.describedObject.kind == object.kind && $0.describedObject.name == object.name
          && $0.metric == metric.name
      })
    else { throw HPAMetricError("no metrics returned from custom metrics API") }
    return (v.valueMilli, v.timestamp)
  }

  func externalMetric(_ metric: HPAMetricIdentifier) throws(HPAMetricError) -> (
    seriesMilli: [Int64], timestamp: UnixMillis
  ) {
    let values = documents.external.filter { v in
      v.metric == metric.name
        && (metric.selector ?? [:]).allSatisfy { v.labels[$0.key] == $0.value }
    }
    guard let first = values.first else {
      throw HPAMetricError("no metrics returned from external metrics API")
    }
    return (values.map(\.valueMilli), first.timestamp)
  }
}
