import BerthAutoscaling
import BerthCore
import BerthTraces

/// `berth hpa explain`'s report: the reconcile's outcome with the figures behind each step.
struct HPAExplanation {
  var spec: HPASpec
  var result: HPAReconcile
  var now: UnixMillis
  var pods: [HPAPod]
  var historyBefore: HPAHistory
  var flags: HPAControllerFlags

  /// One step that moved the count, for `limitedBy`.
  struct Limit {
    var stage: String
    var reason: String
    var message: String
    var from: Int32
    var to: Int32
    var details: [(String, JSON)]
  }

  var limits: [Limit] {
    var out: [Limit] = []
    let r = result
    switch r.shortcut {
    case "AboveMaxReplicas":
      out.append(
        Limit(
          stage: "bounds", reason: "AboveMaxReplicas",
          message: "Current number of replicas above Spec.MaxReplicas", from: r.currentReplicas,
          to: r.desiredReplicas, details: [("maxReplicas", .int(Int64(spec.maxReplicas)))]))
    case "BelowMinReplicas":
      out.append(
        Limit(
          stage: "bounds", reason: "BelowMinReplicas",
          message: "Current number of replicas below Spec.MinReplicas", from: r.currentReplicas,
          to: r.desiredReplicas, details: [("minReplicas", .int(Int64(spec.minReplicas ?? 1)))]))
    case "ScalingDisabled":
      out.append(
        Limit(
          stage: "disabled", reason: "ScalingDisabled",
          message: "scaling is disabled since the replica count of the target is zero",
          from: 0, to: 0, details: []))
    case "FailedComputeMetricsReplicas":
      out.append(
        Limit(
          stage: "metrics", reason: "FailedComputeMetricsReplicas",
          message: r.events.last?.message ?? "", from: r.currentReplicas, to: r.currentReplicas,
          details: []))
    default: break
    }
    for m in r.metrics {
      guard let p = m.proposal, p.withinTolerance else { continue }
      out.append(
        Limit(
          stage: "tolerance", reason: "WithinTolerance",
          message:
            "\(m.description): ratio within tolerance \(r.tolerances.description), keeping the current count",
          from: r.currentReplicas, to: p.replicas,
          details: [
            ("metric", .string(m.spec.metricName)),
            ("ratio", .double(p.rebalancedRatio ?? p.ratio)),
          ]))
    }
    guard let proposal = r.proposal, let stabilized = r.stabilized else { return out }
    if stabilized != proposal {
      let able = r.conditions.first {
        $0.type == "AbleToScale"
          && ($0.reason == "ScaleUpStabilized" || $0.reason == "ScaleDownStabilized")
      }
      out.append(
        Limit(
          stage: "stabilization", reason: able?.reason ?? "ScaleDownStabilized",
          message: able?.message ?? "", from: proposal, to: stabilized,
          details: [
            (
              "windowSeconds",
              .int(Int64(stabilized > proposal ? r.downWindowSeconds : r.upWindowSeconds))
            ),
            (
              "recommendations",
              .array(
                historyBefore.recommendations.map { rec in
                  .object([
                    ("replicas", .int(Int64(rec.replicas))),
                    ("time", .string(RFC3339.format(millis: rec.time.value))),
                  ])
                })
            ),
          ]))
    }
    if let limited = r.conditions.first(where: { $0.type == "ScalingLimited" }),
      limited.status == .isTrue,
      r.desiredReplicas != stabilized || !r.rescaled
    {
      var details: [(String, JSON)] = [
        ("minReplicas", .int(Int64(spec.minReplicas ?? 1))),
        ("maxReplicas", .int(Int64(spec.maxReplicas))),
      ]
      let to = r.rescaled ? r.desiredReplicas : r.currentReplicas
      if limited.reason == "ScaleUpLimit" || limited.reason == "ScaleDownLimit" {
        details += policyDetails(up: limited.reason == "ScaleUpLimit")
      }
      out.append(
        Limit(
          stage: limited.reason.hasSuffix("Limit") ? "rate" : "bounds",
          reason: limited.reason, message: limited.message, from: stabilized, to: to,
          details: details))
    }
    return out
  }

  /// The binding direction's policies with each one's limit now.
  func policyDetails(up: Bool) -> [(String, JSON)] {
    guard let behavior = spec.behavior else {
      return [
        ("scaleUpLimit", .int(Int64(HPANormalization.legacyScaleUpLimit(result.currentReplicas))))
      ]
    }
    let rules =
      up
      ? HPAScalingRules.defaultedScaleUp(behavior.scaleUp)
      : HPAScalingRules.defaultedScaleDown(behavior.scaleDown)
    let current = result.currentReplicas
    var policies: [JSON] = []
    for p in rules.policies ?? [] {
      let one = HPAScalingRules(selectPolicy: .max, policies: [p])
      let limit =
        up
        ? HPANormalization.scaleUpLimit(
          current: current, history: historyBefore, rules: one, now: now)
        : HPANormalization.scaleDownLimit(
          current: current, history: historyBefore, rules: one, now: now)
      let start =
        current
        - HPANormalization.changeInPeriod(
          historyBefore.scaleUpEvents, periodSeconds: p.periodSeconds, now: now)
        + HPANormalization.changeInPeriod(
          historyBefore.scaleDownEvents, periodSeconds: p.periodSeconds, now: now)
      policies.append(
        .object([
          ("type", .string(p.kind.rawValue)), ("value", .int(Int64(p.value))),
          ("periodSeconds", .int(Int64(p.periodSeconds))),
          ("periodStartReplicas", .int(Int64(start))),
          ("limit", .int(Int64(limit))),
        ]))
    }
    return [
      ("selectPolicy", .string((rules.selectPolicy ?? .max).rawValue)),
      ("policies", .array(policies)),
    ]
  }

  static func quantity(_ milli: Int64?) -> String? { milli.map(MilliQuantity.format) }

  func target(_ t: HPAMetricTarget) -> String {
    switch t {
    case .utilization(let p): "\(p)%"
    case .value(let m), .averageValue(let m): MilliQuantity.format(m)
    }
  }

  func podNames(_ p: HPAProposal, _ bucket: HPAPodBucket) -> [String] {
    zip(pods, p.buckets).filter { $0.1 == bucket }.map(\.0.name)
  }

  func metricJSON(_ m: HPAMetricOutcome) -> JSON {
    var o: [(String, JSON)] = [
      ("type", .string(m.spec.typeName)), ("name", .string(m.spec.metricName)),
      ("description", .string(m.description)),
      (
        "target",
        .object([
          ("type", .string(m.spec.target.typeName)), ("value", .string(target(m.spec.target))),
        ])
      ),
    ]
    if case .containerResource(_, let c, _) = m.spec { o.append(("container", .string(c))) }
    guard let p = m.proposal else {
      o += [
        ("proposedReplicas", .null), ("currentUtilization", .null), ("currentAverageValue", .null),
        ("currentValue", .null),
        (
          "error",
          .object([
            ("reason", .string(m.failure?.reason ?? "")),
            ("message", .string(m.failure?.message ?? "")),
          ])
        ),
      ]
      return .object(o)
    }
    o += [
      ("proposedReplicas", .int(Int64(p.replicas))),
      ("currentUtilization", p.utilizationPercent.map { .int(Int64($0)) } ?? .null),
      ("currentAverageValue", Self.quantity(p.averageValueMilli).map(JSON.string) ?? .null),
      ("currentValue", Self.quantity(p.valueMilli).map(JSON.string) ?? .null),
      ("ratio", .double(p.ratio)),
      ("rebalancedRatio", p.rebalancedRatio.map(JSON.double) ?? .null),
      ("withinTolerance", .bool(p.withinTolerance)),
    ]
    if !p.buckets.isEmpty {
      o.append(
        (
          "pods",
          .object(
            [HPAPodBucket.ready, .unready, .missing, .ignored].map { b in
              (b.rawValue, .array(podNames(p, b).map(JSON.string)))
            })
        ))
    } else if case .object = m.spec {
      o.append(("readyPods", .int(Int64(p.readyPods))))
    } else if case .external(_, .value) = m.spec {
      o.append(("readyPods", .int(Int64(p.readyPods))))
    }
    return .object(o)
  }

  func json() -> String {
    let r = result
    let doc: JSON = .object([
      ("hpa", .string("\(spec.namespace)/\(spec.name)")),
      ("scaleTargetRef", .string("\(spec.scaleTargetRef.kind)/\(spec.scaleTargetRef.name)")),
      ("now", .string(RFC3339.format(millis: now.value))),
      ("currentReplicas", .int(Int64(r.currentReplicas))),
      ("desiredReplicas", .int(Int64(r.desiredReplicas))),
      ("rescale", .bool(r.rescaled)),
      (
        "tolerance",
        .object([
          ("scaleDown", .double(r.tolerances.scaleDown)),
          ("scaleUp", .double(r.tolerances.scaleUp)),
        ])
      ),
      ("path", .string(spec.behavior == nil ? "legacy" : "behavior")),
      ("metrics", .array(r.metrics.map(metricJSON))),
      ("proposedReplicas", r.proposal.map { .int(Int64($0)) } ?? .null),
      ("stabilizedReplicas", r.stabilized.map { .int(Int64($0)) } ?? .null),
      (
        "limitedBy",
        .array(
          limits.map { l in
            .object(
              [
                ("stage", .string(l.stage)), ("reason", .string(l.reason)),
                ("message", .string(l.message)),
                ("from", .int(Int64(l.from))), ("to", .int(Int64(l.to))),
              ] + l.details)
          })
      ),
      (
        "conditions",
        .array(
          r.conditions.map { c in
            .object([
              ("type", .string(c.type)), ("status", .string(c.status.rawValue)),
              ("reason", .string(c.reason)), ("message", .string(c.message)),
            ])
          })
      ),
      (
        "events",
        .array(
          r.events.map { e in
            .object([
              ("type", .string(e.type)), ("reason", .string(e.reason)),
              ("message", .string(e.message)),
            ])
          })
      ),
    ])
    return doc.rendered() + "\n"
  }

  func text() -> String {
    let r = result
    var o =
      "HorizontalPodAutoscaler \(spec.namespace)/\(spec.name) → \(spec.scaleTargetRef.kind)/\(spec.scaleTargetRef.name) at \(RFC3339.format(millis: now.value))\n"
    let verdict =
      r.rescaled ? (r.desiredReplicas > r.currentReplicas ? "scale up" : "scale down") : "no change"
    o += "replicas: \(r.currentReplicas) → \(r.desiredReplicas) (\(verdict))\n"
    o +=
      "path: \(spec.behavior == nil ? "legacy (no spec.behavior)" : "behavior"); tolerance \(r.tolerances.description)\n\n"
    o += "metrics:\n"
    for (i, m) in r.metrics.enumerated() {
      o +=
        "  \(i + 1). \(m.spec.typeName) \(m.spec.metricName), target \(m.spec.target.typeName) \(target(m.spec.target))\n"
      guard let p = m.proposal else {
        o += "     failed: \(m.failure?.reason ?? ""): \(m.failure?.message ?? "")\n"
        continue
      }
      var current: [String] = []
      if let u = p.utilizationPercent { current.append("utilization \(u)% of request") }
      if let a = p.averageValueMilli { current.append("average \(MilliQuantity.format(a))") }
      if let v = p.valueMilli { current.append("value \(MilliQuantity.format(v))") }
      o += "     current: \(current.joined(separator: ", ")); ratio \(Self.fixed(p.ratio))"
      if let rr = p.rebalancedRatio {
        o += ", \(Self.fixed(rr)) with missing/unready pods filled in"
      }
      o += "\n"
      if !p.buckets.isEmpty {
        o += "     pods: \(podNames(p, .ready).count) ready"
        for b in [HPAPodBucket.unready, .missing, .ignored] {
          o += ", \(podNames(p, b).count) \(b.rawValue)"
        }
        o += "\n"
        for (pod, b) in zip(pods, p.buckets) where b != .ready {
          o += "       \(pod.name): \(b.rawValue), \(why(pod, b, m, p))\n"
        }
      }
      o +=
        "     proposes \(p.replicas)\(p.withinTolerance ? " (within tolerance: the current count)" : "")\n"
    }
    if let proposal = r.proposal { o += "\nproposal (largest over metrics): \(proposal)\n" }
    let ls = limits
    if !ls.isEmpty {
      o += "limited by:\n"
      for l in ls {
        o += "  \(l.stage): \(l.reason) \(l.from) → \(l.to)"
        if !l.message.isEmpty { o += ": \(l.message)" }
        o += "\n"
        for (k, v) in l.details where k == "windowSeconds" || k == "policies" || k == "scaleUpLimit"
        {
          o += "    \(k): \(v.rendered())\n"
        }
      }
    }
    o += "\nconditions:\n"
    for c in r.conditions { o += "  \(c.type)=\(c.status.rawValue) \(c.reason): \(c.message)\n" }
    if !r.events.isEmpty {
      o += "events:\n"
      for e in r.events { o += "  \(e.type) \(e.reason): \(e.message)\n" }
    }
    return o
  }

  /// Why a pod left the count, in the words of upstream's `groupPods` rules.
  func why(_ pod: HPAPod, _ bucket: HPAPodBucket, _ m: HPAMetricOutcome, _ p: HPAProposal)
    -> String
  {
    let fill = p.ratio > 1 ? "counted as using 0 on this scale-up" : "left out on a scale-down"
    switch bucket {
    case .ready: return "counted"
    case .ignored: return pod.isDeleting ? "being deleted: ignored" : "Failed: ignored"
    case .missing:
      let counted: String
      if p.ratio < 1 {
        if case .pods = m.spec {
          counted = "counted as at target on this scale-down"
        } else {
          counted = "counted as using its request on this scale-down"
        }
      } else {
        counted = p.ratio > 1 ? "counted as using 0 on this scale-up" : "no effect at ratio 1"
      }
      return "no metric: \(counted)"
    case .unready:
      if pod.phase == .pending { return "Pending: \(fill)" }
      guard let ready = pod.ready, let start = pod.startTime else {
        return "no Ready condition or start time: \(fill)"
      }
      if start.adding(milliseconds: flags.cpuInitializationPeriodMillis) > now {
        if ready.status == .isFalse {
          return "not Ready within the CPU initialization period: \(fill)"
        }
        return
          "its CPU sample window began before it turned Ready (at \(RFC3339.format(millis: ready.lastTransition.value))), within the CPU initialization period: \(fill)"
      }
      return
        "never Ready since it started (last transition within the initial readiness delay): \(fill)"
    }
  }

  static func fixed(_ x: Double) -> String {
    let r = (x * 1000).rounded() / 1000
    var s = String(r)
    if s.hasSuffix(".0") { s.removeLast(2) }
    return s
  }
}

/// Kubernetes' canonical text of `resource.NewMilliQuantity(v, DecimalSI)`: `1500m`, `2`, `12k`.
enum MilliQuantity {
  static func format(_ milli: Int64) -> String {
    if milli == 0 { return "0" }
    if milli % 1000 != 0 { return "\(milli)m" }
    var v = milli / 1000
    var i = 0
    let suffixes = ["", "k", "M", "G", "T", "P", "E"]
    while v % 1000 == 0 && i < suffixes.count - 1 {
      v /= 1000
      i += 1
    }
    return "\(v)\(suffixes[i])"
  }
}

/// A small JSON value with ordered keys, rendered compactly and deterministically.
indirect enum JSON {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSON])
  case object([(String, JSON)])

  func rendered() -> String {
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .double(let d):
      guard d.isFinite else { return "null" }
      if d == d.rounded() && abs(d) < 1e15 { return String(Int64(d)) }
      return String(d)
    case .string(let s): return JSON.quote(s)
    case .array(let a): return "[" + a.map { $0.rendered() }.joined(separator: ", ") + "]"
    case .object(let o):
      return "{" + o.map { JSON.quote($0.0) + ": " + $0.1.rendered() }.joined(separator: ", ") + "}"
    }
  }

  static func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 {
          let hex = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }
}
