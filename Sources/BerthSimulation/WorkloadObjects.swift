import BerthCore
import BerthTraces
import BerthWorkloads

/// A container probe's timing (`readinessProbe`, `livenessProbe`, `startupProbe`), with the
/// API's defaults.
public struct Probe: Sendable, Equatable {
  public var initialDelaySeconds: Int64 = 0
  public var periodSeconds: Int64 = 10
  public var successThreshold: Int64 = 1
  public var failureThreshold: Int64 = 3
  public init() {}
}

/// `spec.restartPolicy` of a pod.
public enum RestartPolicy: String, Sendable {
  case always = "Always"
  case onFailure = "OnFailure"
  case never = "Never"
}

/// A workload's pod template, read once: the pod it stamps out, plus what the kubelet needs
/// that scheduling does not (restart policy, probes).
public struct PodTemplate: Sendable {
  /// `spec.template` as written.
  public var document: ObjectDocument
  /// The pod (unnamed; labels are the template's).
  public var pod: PodSpec
  public var restartPolicy: RestartPolicy
  /// Of the first container that has one.
  public var readinessProbe: Probe?
  public var livenessProbe: Probe?
  public var startupProbe: Probe?
  /// The main container's `lifecycle.preStop` hook: nil for none; for a `sleep` hook its
  /// seconds; for an exec or HTTP hook -1 (it runs for the behaviour's `preStop`).
  public var preStopSeconds: Int64?
  /// The template without the `pod-template-hash` label, as canonical JSON: two templates are
  /// the same revision when these are equal (upstream's `EqualIgnoreHash`).
  public var identity: String

  package static func read(_ v: YAMLValue, owner: String, namespace: String) throws(InputError)
    -> PodTemplate
  {
    var pod = try KubernetesYAML.pod(v, templateName: owner)
    pod.namespace = namespace
    pod.name = ""
    let spec = v.child("spec")
    let policy: RestartPolicy
    if let r = spec?.child("restartPolicy") {
      guard let p = RestartPolicy(rawValue: try r.string()) else {
        throw r.error("expected Always, OnFailure or Never")
      }
      policy = p
    } else {
      policy = .always
    }
    var template = PodTemplate(
      document: ObjectDocument(v), pod: pod, restartPolicy: policy, identity: "")
    for c in try spec?.child("containers")?.sequence() ?? [] {
      if template.readinessProbe == nil, let p = c.child("readinessProbe") {
        template.readinessProbe = try probe(p)
      }
      if template.livenessProbe == nil, let p = c.child("livenessProbe") {
        template.livenessProbe = try probe(p)
      }
      if template.startupProbe == nil, let p = c.child("startupProbe") {
        template.startupProbe = try probe(p)
      }
      if template.preStopSeconds == nil, let h = c.child("lifecycle")?.child("preStop") {
        if let s = h.child("sleep")?.child("seconds") {
          let x = try s.int64()
          guard x >= 0 else { throw s.error("must be greater than or equal to 0") }
          template.preStopSeconds = x
        } else {
          template.preStopSeconds = -1
        }
      }
    }
    var identity = template.document
    if case .map = identity["metadata"]?["labels"] ?? .null,
      var labels = identity.at(["metadata", "labels"]), case .map(var entries) = labels
    {
      entries.removeAll { $0.key == "pod-template-hash" }
      labels = .map(entries)
      identity.set(["metadata", "labels"], labels)
    }
    template.identity = identity.canonicalJSON
    return template
  }

  static func probe(_ v: YAMLValue) throws(InputError) -> Probe {
    var p = Probe()
    func field(_ name: String, min: Int64) throws(InputError) -> Int64? {
      guard let n = v.child(name) else { return nil }
      let x = try n.int64()
      guard x >= min else { throw n.error("must be greater than or equal to \(min)") }
      return x
    }
    p.initialDelaySeconds = try field("initialDelaySeconds", min: 0) ?? 0
    p.periodSeconds = try field("periodSeconds", min: 1) ?? 10
    p.successThreshold = try field("successThreshold", min: 1) ?? 1
    p.failureThreshold = try field("failureThreshold", min: 1) ?? 3
    return p
  }

  /// `pod-template-hash`: FNV-32a of the template (canonical JSON) and the collision count,
  /// written in the API's safe alphabet, as upstream's `ComputeHash` + `SafeEncodeString`.
  public func hash(collisionCount: Int32 = 0) -> String {
    var h: UInt32 = 2_166_136_261
    for b in identity.utf8 {
      h ^= UInt32(b)
      h = h &* 16_777_619
    }
    if collisionCount != 0 {
      var c = UInt32(bitPattern: collisionCount)
      for _ in 0..<4 {
        h ^= c & 0xff
        h = h &* 16_777_619
        c >>= 8
      }
    }
    return SafeName.encode(String(h))
  }
}

/// Names as the API makes them: `SafeEncodeString` (digits mapped into consonants and digits
/// that spell no words) and `generateName`'s five random characters from the same alphabet.
public enum SafeName {
  static let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")

  public static func encode(_ s: String) -> String {
    String(s.utf8.map { alphabet[Int($0) % alphabet.count] })
  }

  public static func suffix(_ rng: inout SplitMix64) -> String {
    var out = ""
    for _ in 0..<5 { out.append(alphabet[rng.nextInt(below: alphabet.count)]) }
    return out
  }
}

/// Where an object is: kind, namespace, name.
public struct ObjectReference: Hashable, Sendable, CustomStringConvertible {
  public var kind: String
  public var namespace: String
  public var name: String
  public init(kind: String, namespace: String = "default", name: String) {
    self.kind = kind
    self.namespace = namespace
    self.name = name
  }
  public var description: String { "\(kind) \(namespace)/\(name)" }
}

/// An apps/v1 Deployment.
public struct DeploymentObject: Sendable {
  public var namespace: String
  public var name: String
  public var replicas: Int
  public var selector: LabelSelector
  public var template: PodTemplate
  public var strategy: DeploymentStrategy
  public var minReadySeconds: Int64
  public var revisionHistoryLimit: Int
  public var progressDeadlineSeconds: Int64
  public var paused: Bool
  public var document: ObjectDocument
}

/// An apps/v1 ReplicaSet the user wrote (Deployments make their own).
public struct ReplicaSetObject: Sendable {
  public var namespace: String
  public var name: String
  public var replicas: Int
  public var selector: LabelSelector
  public var template: PodTemplate
  public var minReadySeconds: Int64
  public var document: ObjectDocument
}

/// An apps/v1 DaemonSet.
public struct DaemonSetObject: Sendable {
  public enum UpdateStrategy: Sendable, Equatable {
    /// Pods are replaced node by node: at most `maxUnavailable` nodes without an available
    /// pod, or (with `maxSurge`) a new pod started beside the old one on that many nodes.
    case rollingUpdate(maxSurge: IntOrPercent, maxUnavailable: IntOrPercent)
    /// New pods only where the user deleted the old ones.
    case onDelete
  }
  public var namespace: String
  public var name: String
  public var selector: LabelSelector
  public var template: PodTemplate
  public var updateStrategy: UpdateStrategy
  public var minReadySeconds: Int64
  public var document: ObjectDocument
}

/// An apps/v1 StatefulSet.
public struct StatefulSetObject: Sendable {
  public enum UpdateStrategy: Sendable, Equatable {
    /// Pods from the highest ordinal down to `partition` are replaced one at a time, each once
    /// the one before is Running and Ready.
    case rollingUpdate(partition: Int)
    case onDelete
  }
  public var namespace: String
  public var name: String
  public var replicas: Int
  public var selector: LabelSelector
  public var template: PodTemplate
  /// OrderedReady (false: one pod at a time, in ordinal order) or Parallel (true).
  public var parallel: Bool
  public var updateStrategy: UpdateStrategy
  /// `spec.ordinals.start`.
  public var ordinalsStart: Int
  public var minReadySeconds: Int64
  public var document: ObjectDocument
}

/// A batch/v1 Job.
public struct JobObject: Sendable {
  public var namespace: String
  public var name: String
  public var parallelism: Int
  /// nil: the pods form a work queue (done when one succeeds and none is left running).
  public var completions: Int?
  public var indexed: Bool
  public var backoffLimit: Int
  /// Indexed Jobs: failures allowed per index before it fails (nil: one budget for the Job).
  public var backoffLimitPerIndex: Int?
  /// With `backoffLimitPerIndex`: more failed indexes fail the Job (nil: no limit).
  public var maxFailedIndexes: Int?
  public var activeDeadlineSeconds: Int64?
  public var ttlSecondsAfterFinished: Int64?
  public var suspend: Bool
  public var template: PodTemplate
  /// `spec.podFailurePolicy`; nil: every failure counts.
  public var podFailurePolicy: PodFailurePolicy?
  public var labels: [String: String]
  public var document: ObjectDocument
}

/// A batch/v1 CronJob.
public struct CronJobObject: Sendable {
  public enum ConcurrencyPolicy: String, Sendable {
    case allow = "Allow"
    case forbid = "Forbid"
    case replace = "Replace"
  }
  public var namespace: String
  public var name: String
  public var schedule: CronSchedule
  public var zone: CronZone
  public var concurrencyPolicy: ConcurrencyPolicy
  public var startingDeadlineSeconds: Int64?
  public var suspend: Bool
  public var successfulJobsHistoryLimit: Int
  public var failedJobsHistoryLimit: Int
  /// `spec.jobTemplate` as written (each Job is read from it when made).
  public var jobTemplate: ObjectDocument
  public var document: ObjectDocument
}

/// One workload object of a scenario.
public enum WorkloadObject: Sendable {
  case deployment(DeploymentObject)
  case replicaSet(ReplicaSetObject)
  case job(JobObject)
  case cronJob(CronJobObject)
  case daemonSet(DaemonSetObject)
  case statefulSet(StatefulSetObject)

  public var reference: ObjectReference {
    switch self {
    case .deployment(let d):
      ObjectReference(kind: "Deployment", namespace: d.namespace, name: d.name)
    case .replicaSet(let r):
      ObjectReference(kind: "ReplicaSet", namespace: r.namespace, name: r.name)
    case .job(let j): ObjectReference(kind: "Job", namespace: j.namespace, name: j.name)
    case .cronJob(let c): ObjectReference(kind: "CronJob", namespace: c.namespace, name: c.name)
    case .daemonSet(let d):
      ObjectReference(kind: "DaemonSet", namespace: d.namespace, name: d.name)
    case .statefulSet(let s):
      ObjectReference(kind: "StatefulSet", namespace: s.namespace, name: s.name)
    }
  }

  /// The pod template (nil for a CronJob: its Jobs carry theirs).
  public var podTemplate: PodTemplate? {
    switch self {
    case .deployment(let d): d.template
    case .replicaSet(let r): r.template
    case .job(let j): j.template
    case .cronJob: nil
    case .daemonSet(let d): d.template
    case .statefulSet(let s): s.template
    }
  }

  public var document: ObjectDocument {
    switch self {
    case .deployment(let d): d.document
    case .replicaSet(let r): r.document
    case .job(let j): j.document
    case .cronJob(let c): c.document
    case .daemonSet(let d): d.document
    case .statefulSet(let s): s.document
    }
  }

  /// The most replicas, parallelism or history one object may ask for.
  public static let maxCount: Int32 = 1_000_000

  /// The kinds read as workloads.
  public static let kinds: Set<String> = [
    "Deployment", "ReplicaSet", "Job", "CronJob", "DaemonSet", "StatefulSet",
  ]

  /// Reads a workload object (strictly: unknown fields are errors).
  package static func read(_ v: YAMLValue) throws(InputError) -> WorkloadObject {
    guard let kind = try v.child("kind")?.string() else { throw v.error("missing kind") }
    try StrictFields.check(v, kind: kind)
    let name = try KubernetesYAML.name(v)
    let namespace = try v.child("metadata")?.child("namespace")?.string() ?? "default"
    let apiVersion = try v.child("apiVersion")?.string() ?? ""
    let expected = ["Job", "CronJob"].contains(kind) ? "batch/v1" : "apps/v1"
    guard apiVersion == expected else {
      throw (v.child("apiVersion") ?? v).error("\(kind) \(name) needs apiVersion \(expected)")
    }
    guard let spec = v.child("spec") else { throw v.error("\(kind) \(name) has no spec") }
    func count(_ field: String, default d: Int) throws(InputError) -> Int {
      guard let n = spec.child(field) else { return d }
      let x = try n.int32()
      guard x >= 0 else { throw n.error("must be greater than or equal to 0") }
      // Refused before a single pod is made: more than a simulation holds in memory.
      guard x <= maxCount else { throw n.error("\(x) is more than Berth simulates (\(maxCount))") }
      return Int(x)
    }
    func seconds(_ field: String, min: Int64 = 0) throws(InputError) -> Int64? {
      guard let n = spec.child(field) else { return nil }
      let x = try n.int64()
      guard x >= min else { throw n.error("must be greater than or equal to \(min)") }
      return x
    }
    func template(_ node: YAMLValue?, selector: LabelSelector?) throws(InputError) -> PodTemplate {
      guard let t = node else { throw spec.error("\(kind) \(name) needs spec.template") }
      let tmpl = try PodTemplate.read(t, owner: name, namespace: namespace)
      if let selector, !selector.matches(tmpl.pod.labels) {
        throw (t.child("metadata")?.child("labels") ?? t).error(
          "`selector` does not match template `labels`")
      }
      return tmpl
    }
    func selector() throws(InputError) -> LabelSelector {
      guard let s = spec.child("selector") else {
        throw spec.error("\(kind) \(name) needs spec.selector")
      }
      let sel = try KubernetesYAML.labelSelector(s)
      if sel.matchLabels.isEmpty && sel.matchExpressions.isEmpty {
        throw s.error("empty selector is invalid for \(kind)")
      }
      return sel
    }
    /// `rollingUpdate.maxSurge` and `maxUnavailable` of a strategy (defaults as given).
    func rollingAmounts(_ s: YAMLValue, surge: IntOrPercent, unavailable: IntOrPercent)
      throws(InputError) -> (IntOrPercent, IntOrPercent)
    {
      let r = s.child("rollingUpdate")
      func amount(_ f: String, _ d: IntOrPercent) throws(InputError) -> IntOrPercent {
        guard let n = r?.child(f) else { return d }
        let text = try n.string()
        guard let a = DeploymentRules.intOrPercent(text) else {
          throw n.error(
            "expected an integer or a percentage such as 25%, found \"\(Escaped(text))\"")
        }
        switch a {
        case .int(let x) where x < 0, .percent(let x) where x < 0:
          throw n.error("must be greater than or equal to 0")
        case .percent(let x) where x > 100 && f == "maxUnavailable":
          throw n.error("must not be greater than 100%")
        default: return a
        }
      }
      let maxSurge = try amount("maxSurge", surge)
      let maxUnavailable = try amount("maxUnavailable", unavailable)
      if maxSurge.scaled(total: 100) == 0 && maxUnavailable.scaled(total: 100) == 0 {
        throw (r ?? s).error("maxSurge and maxUnavailable may not both be 0")
      }
      return (maxSurge, maxUnavailable)
    }
    /// `spec.<field>.type`: RollingUpdate (the default) or `other`, whose `rollingUpdate` may
    /// not be given; nil when the field is absent.
    func strategy(_ field: String, other: String) throws(InputError) -> (
      node: YAMLValue, rolling: Bool
    )? {
      guard let s = spec.child(field) else { return nil }
      let type = try s.child("type")?.string() ?? "RollingUpdate"
      guard type == other || type == "RollingUpdate" else {
        throw (s.child("type") ?? s).error("expected \(other) or RollingUpdate")
      }
      if type == other, let r = s.child("rollingUpdate") {
        throw r.error("may not be specified when strategy type is '\(other)'")
      }
      return (s, type == "RollingUpdate")
    }
    let document = ObjectDocument(v)
    switch kind {
    case "Deployment":
      let sel = try selector()
      var updates = DeploymentStrategy.default
      if let (s, rolling) = try strategy("strategy", other: "Recreate") {
        if rolling {
          let (surge, unavailable) = try rollingAmounts(
            s, surge: .percent(25), unavailable: .percent(25))
          updates = .rollingUpdate(maxSurge: surge, maxUnavailable: unavailable)
        } else {
          updates = .recreate
        }
      }
      return .deployment(
        DeploymentObject(
          namespace: namespace, name: name, replicas: try count("replicas", default: 1),
          selector: sel, template: try template(spec.child("template"), selector: sel),
          strategy: updates, minReadySeconds: try seconds("minReadySeconds") ?? 0,
          revisionHistoryLimit: try count("revisionHistoryLimit", default: 10),
          progressDeadlineSeconds: try seconds("progressDeadlineSeconds", min: 1) ?? 600,
          paused: try spec.child("paused")?.bool() ?? false, document: document))
    case "DaemonSet":
      let sel = try selector()
      let tmpl = try template(spec.child("template"), selector: sel)
      guard tmpl.restartPolicy == .always else {
        throw (spec.child("template")?.child("spec")?.child("restartPolicy") ?? spec).error(
          "a DaemonSet's pods need restartPolicy Always")
      }
      var updates = DaemonSetObject.UpdateStrategy.rollingUpdate(
        maxSurge: .int(0), maxUnavailable: .int(1))
      if let (s, rolling) = try strategy("updateStrategy", other: "OnDelete") {
        if rolling {
          let (surge, unavailable) = try rollingAmounts(s, surge: .int(0), unavailable: .int(1))
          if surge.scaled(total: 100) != 0 && unavailable.scaled(total: 100) != 0 {
            // Upstream's validation: a surging DaemonSet replaces without unavailability.
            throw (s.child("rollingUpdate") ?? s).error(
              "maxUnavailable must be 0 when maxSurge is set")
          }
          updates = .rollingUpdate(maxSurge: surge, maxUnavailable: unavailable)
        } else {
          updates = .onDelete
        }
      }
      return .daemonSet(
        DaemonSetObject(
          namespace: namespace, name: name, selector: sel, template: tmpl,
          updateStrategy: updates, minReadySeconds: try seconds("minReadySeconds") ?? 0,
          document: document))
    case "StatefulSet":
      let sel = try selector()
      let tmpl = try template(spec.child("template"), selector: sel)
      guard tmpl.restartPolicy == .always else {
        throw (spec.child("template")?.child("spec")?.child("restartPolicy") ?? spec).error(
          "a StatefulSet's pods need restartPolicy Always")
      }
      let policy = try spec.child("podManagementPolicy")?.string() ?? "OrderedReady"
      guard ["OrderedReady", "Parallel"].contains(policy) else {
        throw spec.child("podManagementPolicy")!.error("expected OrderedReady or Parallel")
      }
      var updates = StatefulSetObject.UpdateStrategy.rollingUpdate(partition: 0)
      if let (s, rolling) = try strategy("updateStrategy", other: "OnDelete") {
        if rolling {
          let r = s.child("rollingUpdate")
          if let m = r?.child("maxUnavailable") {
            // Behind upstream's MaxUnavailableStatefulSet gate, off by default: one at a time.
            throw m.error(
              "maxUnavailable is not simulated (one pod at a time, as upstream's default)")
          }
          var partition = 0
          if let p = r?.child("partition") {
            let x = try p.int32()
            guard x >= 0 else { throw p.error("must be greater than or equal to 0") }
            partition = Int(x)
          }
          updates = .rollingUpdate(partition: partition)
        } else {
          updates = .onDelete
        }
      }
      var start = 0
      if let o = spec.child("ordinals")?.child("start") {
        let x = try o.int32()
        guard x >= 0 else { throw o.error("must be greater than or equal to 0") }
        start = Int(x)
      }
      return .statefulSet(
        StatefulSetObject(
          namespace: namespace, name: name, replicas: try count("replicas", default: 1),
          selector: sel, template: tmpl, parallel: policy == "Parallel",
          updateStrategy: updates, ordinalsStart: start,
          minReadySeconds: try seconds("minReadySeconds") ?? 0, document: document))
    case "ReplicaSet":
      let sel = try selector()
      return .replicaSet(
        ReplicaSetObject(
          namespace: namespace, name: name, replicas: try count("replicas", default: 1),
          selector: sel, template: try template(spec.child("template"), selector: sel),
          minReadySeconds: try seconds("minReadySeconds") ?? 0, document: document))
    case "Job":
      let tmpl = try template(spec.child("template"), selector: nil)
      guard tmpl.restartPolicy != .always else {
        throw (spec.child("template")?.child("spec")?.child("restartPolicy") ?? spec).error(
          "a Job's pods need restartPolicy OnFailure or Never")
      }
      let completions = try spec.child("completions").map { n throws(InputError) in
        let x = try n.int32()
        guard x >= 0 else { throw n.error("must be greater than or equal to 0") }
        return Int(x)
      }
      let modeText = try spec.child("completionMode")?.string() ?? "NonIndexed"
      guard ["NonIndexed", "Indexed"].contains(modeText) else {
        throw spec.child("completionMode")!.error("expected NonIndexed or Indexed")
      }
      if modeText == "Indexed" && completions == nil {
        throw spec.error("an Indexed Job needs spec.completions")
      }
      let perIndex = try spec.child("backoffLimitPerIndex").map { n throws(InputError) in
        guard modeText == "Indexed" else {
          throw n.error("requires indexed completion mode")
        }
        let x = try n.int32()
        guard x >= 0 else { throw n.error("must be greater than or equal to 0") }
        return Int(x)
      }
      let maxFailedIndexes = try spec.child("maxFailedIndexes").map { n throws(InputError) in
        guard perIndex != nil else {
          throw n.error("requires the backoffLimitPerIndex to be set")
        }
        let x = try n.int32()
        guard x >= 0 else { throw n.error("must be greater than or equal to 0") }
        guard x <= 100_000 else { throw n.error("must be less than or equal to 100000") }
        guard Int(x) <= completions ?? 0 else {
          throw n.error("must be less than or equal to completions")
        }
        return Int(x)
      }
      let failurePolicy = try spec.child("podFailurePolicy").map {
        p throws(InputError) -> PodFailurePolicy in
        guard tmpl.restartPolicy == .never else {
          throw p.error("restartPolicy must be Never when podFailurePolicy is specified")
        }
        return try Self.podFailurePolicy(p, perIndex: perIndex != nil)
      }
      return .job(
        JobObject(
          namespace: namespace, name: name, parallelism: try count("parallelism", default: 1),
          completions: completions, indexed: modeText == "Indexed",
          // With a per-index limit, the Job-wide one defaults to no limit.
          backoffLimit: try count("backoffLimit", default: perIndex == nil ? 6 : Int(Int32.max)),
          backoffLimitPerIndex: perIndex, maxFailedIndexes: maxFailedIndexes,
          activeDeadlineSeconds: try seconds("activeDeadlineSeconds", min: 1),
          ttlSecondsAfterFinished: try seconds("ttlSecondsAfterFinished"),
          suspend: try spec.child("suspend")?.bool() ?? false, template: tmpl,
          podFailurePolicy: failurePolicy,
          labels: try v.child("metadata")?.child("labels")?.stringMap() ?? [:],
          document: document))
    case "CronJob":
      guard let s = spec.child("schedule") else {
        throw spec.error("CronJob \(name) needs spec.schedule")
      }
      let text = try s.string()
      if text.hasPrefix("TZ=") || text.hasPrefix("CRON_TZ=") {
        throw s.error("TZ is not allowed in the schedule; use spec.timeZone")
      }
      let schedule: CronSchedule
      do throws(CronSchedule.ParseError) { schedule = try CronSchedule.parse(text) } catch {
        throw s.error(error.description)
      }
      var zone = CronZone.utc
      if let z = spec.child("timeZone") {
        guard let parsed = CronZone(identifier: try z.string()) else {
          throw z.error("unknown time zone \"\(Escaped(try z.string()))\"")
        }
        zone = parsed
      }
      let policyText = try spec.child("concurrencyPolicy")?.string() ?? "Allow"
      guard let policy = CronJobObject.ConcurrencyPolicy(rawValue: policyText) else {
        throw spec.child("concurrencyPolicy")!.error("expected Allow, Forbid or Replace")
      }
      guard let jt = spec.child("jobTemplate") else {
        throw spec.error("CronJob \(name) needs spec.jobTemplate")
      }
      let cron = CronJobObject(
        namespace: namespace, name: name, schedule: schedule, zone: zone,
        concurrencyPolicy: policy,
        startingDeadlineSeconds: try seconds("startingDeadlineSeconds"),
        suspend: try spec.child("suspend")?.bool() ?? false,
        successfulJobsHistoryLimit: try count("successfulJobsHistoryLimit", default: 3),
        failedJobsHistoryLimit: try count("failedJobsHistoryLimit", default: 1),
        jobTemplate: ObjectDocument(jt), document: document)
      // The template must make a valid Job: read one now, so errors point at the file.
      _ = try read(
        YAMLValue.document(
          cron.jobDocument(name: name + "-0").json, file: v.file + " (\(name) spec.jobTemplate)",
          empty: "job"))
      return .cronJob(cron)
    default:
      throw (v.child("kind") ?? v).error("unsupported workload kind \"\(Escaped(kind))\"")
    }
  }

  /// `spec.podFailurePolicy`, validated as the API server does: at most 20 rules, each with
  /// exactly one of `onExitCodes` (In or NotIn, 1–255 distinct values in increasing order, no 0
  /// with In) and `onPodConditions` (at most 20 patterns, status True, False or Unknown).
  static func podFailurePolicy(_ p: YAMLValue, perIndex: Bool) throws(InputError)
    -> PodFailurePolicy
  {
    try p.requireKeys(in: ["rules"])
    guard let rulesNode = p.child("rules") else { throw p.error("needs rules") }
    let nodes = try rulesNode.sequence()
    guard nodes.count <= 20 else { throw rulesNode.error("at most 20 rules, found \(nodes.count)") }
    var rules: [PodFailurePolicy.Rule] = []
    for r in nodes {
      try r.requireKeys(in: ["action", "onExitCodes", "onPodConditions"])
      let actionText = try r.child("action")?.string() ?? ""
      guard let action = PodFailurePolicy.Action(rawValue: actionText) else {
        throw (r.child("action") ?? r).error("expected FailJob, FailIndex, Ignore or Count")
      }
      if action == .failIndex && !perIndex {
        throw r.child("action")!.error("FailIndex requires the backoffLimitPerIndex to be set")
      }
      switch (r.child("onExitCodes"), r.child("onPodConditions")) {
      case (nil, nil):
        throw r.error("specifying one of onExitCodes and onPodConditions is required")
      case (.some, .some):
        throw r.error("specifying both onExitCodes and onPodConditions is not supported")
      case (let e?, nil):
        try e.requireKeys(in: ["containerName", "operator", "values"])
        let op = try e.child("operator")?.string() ?? ""
        guard op == "In" || op == "NotIn" else {
          throw (e.child("operator") ?? e).error("expected In or NotIn")
        }
        guard let valuesNode = e.child("values") else { throw e.error("needs values") }
        let values = try valuesNode.sequence().map { v throws(InputError) in try v.int32() }
        guard (1...255).contains(values.count) else {
          throw valuesNode.error("needs 1 to 255 values, found \(values.count)")
        }
        guard zip(values, values.dropFirst()).allSatisfy({ $0 < $1 }) else {
          throw valuesNode.error("values must be distinct and in increasing order")
        }
        if op == "In" && values.contains(0) {
          throw valuesNode.error("must not be 0 for the In operator")
        }
        rules.append(
          .init(
            action: action,
            onExitCodes: .init(
              containerName: try e.child("containerName")?.string(), notIn: op == "NotIn",
              values: values)))
      case (nil, let c?):
        let patterns = try c.sequence()
        guard patterns.count <= 20 else { throw c.error("at most 20 patterns") }
        var out: [PodFailurePolicy.ConditionPattern] = []
        for pattern in patterns {
          try pattern.requireKeys(in: ["type", "status"])
          guard let type = try pattern.child("type")?.string(), !type.isEmpty else {
            throw pattern.error("needs type")
          }
          let status = try pattern.child("status")?.string() ?? "True"
          guard ["True", "False", "Unknown"].contains(status) else {
            throw pattern.child("status")!.error("expected True, False or Unknown")
          }
          out.append(.init(type: type, status: status))
        }
        rules.append(.init(action: action, onPodConditions: out))
      }
    }
    return PodFailurePolicy(rules: rules)
  }

  /// Reads an object held as a document again (after a patch), errors naming `origin`.
  package static func read(_ document: ObjectDocument, origin: String) throws(InputError)
    -> WorkloadObject
  {
    try read(YAMLValue.document(document.json, file: origin, empty: "object"))
  }
}

extension CronJobObject {
  /// The Job this CronJob makes under `name`, as a document.
  public func jobDocument(name: String) -> ObjectDocument {
    var meta = jobTemplate["metadata"] ?? .map([])
    meta.set("name", .scalar(name))
    meta.set("namespace", .scalar(namespace))
    var job = ObjectDocument.map([
      ("apiVersion", .scalar("batch/v1")), ("kind", .scalar("Job")), ("metadata", meta),
    ])
    job.set("spec", jobTemplate["spec"] ?? .map([]))
    return job
  }
}

/// What the scenario's verbs need of a workload kind's controller: its live objects by name,
/// each one's document as last applied, deletion, and (DaemonSets, StatefulSets) the revision
/// history `rollout undo` reads. `Simulation.controller(of:)` maps a kind to its controller.
protocol WorkloadKind: AnyObject {
  func find(namespace: String, name: String) -> Int?
  func document(_ i: Int) -> ObjectDocument?
  func delete(_ i: Int)
  /// The revision history and the template in force (nil: the kind keeps none).
  func revisions(_ i: Int) -> (history: RevisionHistory, template: Int32)?
}

extension WorkloadKind {
  func revisions(_ i: Int) -> (history: RevisionHistory, template: Int32)? { nil }
}

extension DeploymentController: WorkloadKind {
  func document(_ i: Int) -> ObjectDocument? { deployments[i].object.document }
}

extension ReplicaSetController: WorkloadKind {
  func document(_ i: Int) -> ObjectDocument? { sets[i].document }
}

extension JobController: WorkloadKind {
  func document(_ i: Int) -> ObjectDocument? { jobs[i].object.document }
}

extension CronJobController: WorkloadKind {
  func document(_ i: Int) -> ObjectDocument? { cronJobs[i].object.document }
}

extension DaemonSetController: WorkloadKind {
  func document(_ i: Int) -> ObjectDocument? { sets[i].object.document }
  func revisions(_ i: Int) -> (history: RevisionHistory, template: Int32)? {
    (sets[i].history, sets[i].template)
  }
}

extension StatefulSetController: WorkloadKind {
  func document(_ i: Int) -> ObjectDocument? { sets[i].object.document }
  func revisions(_ i: Int) -> (history: RevisionHistory, template: Int32)? {
    (sets[i].history, sets[i].template)
  }
}
