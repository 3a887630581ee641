import BerthCore
import Foundation

extension SimulationOutputs {
  static let colors = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
  ]

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func number(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
    return String(format: "%.1f", v)
  }

  /// A step chart over the run's virtual time: each series holds its value until the next.
  static func stepChart(
    title: String, yLabel: String, end: Int64,
    series: [(name: String, points: [(time: Int64, value: Int64)], scale: Double)]
  ) -> String {
    let w = 760.0
    let h = 260.0
    let left = 60.0
    let right = 170.0
    let top = 28.0
    let bottom = 36.0
    let pw = w - left - right
    let ph = h - top - bottom
    let span = Double(max(end, 1))
    let yMaxRaw = series.flatMap { s in s.points.map { Double($0.value) * s.scale } }.max() ?? 1
    let yMax = max(yMaxRaw * 1.05, 1)
    func x(_ t: Int64) -> Double { left + Double(t) / span * pw }
    func y(_ v: Double) -> Double { top + ph - min(max(v / yMax, 0), 1) * ph }
    var svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"11\">"
    svg +=
      "<text x=\"\(left)\" y=\"17\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>"
    svg +=
      "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#999\"/>"
    for i in 0...4 {
      let v = yMax * Double(i) / 4
      svg +=
        "<line x1=\"\(left)\" y1=\"\(y(v))\" x2=\"\(left + pw)\" y2=\"\(y(v))\" stroke=\"#eee\"/>"
      svg +=
        "<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(number((v * 10).rounded() / 10))</text>"
    }
    for i in 0...6 {
      let t = Int64(Double(end) * Double(i) / 6)
      svg +=
        "<text x=\"\(x(t))\" y=\"\(top + ph + 14)\" text-anchor=\"middle\">\(duration(t))</text>"
    }
    svg += "<text x=\"\(left + pw / 2)\" y=\"\(h - 4)\" text-anchor=\"middle\">virtual time</text>"
    svg +=
      "<text transform=\"translate(14,\(top + ph / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>"
    for (k, s) in series.enumerated() {
      let color = colors[k % colors.count]
      // At most one step per pixel column: the last value of each column stands.
      var pts: [(Double, Double)] = []
      var lastColumn = -1
      for p in s.points {
        let px = x(p.time)
        let py = y(Double(p.value) * s.scale)
        let column = Int(px)
        if column == lastColumn, !pts.isEmpty {
          pts[pts.count - 1].1 = py
        } else {
          if let prev = pts.last { pts.append((px, prev.1)) }
          pts.append((px, py))
        }
        lastColumn = column
      }
      if let last = pts.last { pts.append((x(end), last.1)) }
      guard !pts.isEmpty else { continue }
      svg +=
        "<polyline points=\"\(pts.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"/>"
      let ly = top + 10 + Double(k) * 15
      svg +=
        "<line x1=\"\(left + pw + 8)\" y1=\"\(ly - 4)\" x2=\"\(left + pw + 24)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"3\"/>"
      svg += "<text x=\"\(left + pw + 28)\" y=\"\(ly)\">\(escape(s.name))</text>"
    }
    return svg + "</svg>"
  }

  /// `90s`, `15m`, `2h30m`, `3d4h`.
  static func duration(_ ns: Int64) -> String {
    let s = ns / 1_000_000_000
    if s < 120 { return "\(s)s" }
    if s < 7200 { return "\(s / 60)m" }
    if s < 172_800 { return s % 3600 == 0 ? "\(s / 3600)h" : "\(s / 3600)h\((s % 3600) / 60)m" }
    return "\(s / 86400)d\((s % 86400) / 3600)h"
  }

  /// The events as ticks on the time axis, one row per reason (Warning reasons in red).
  static func eventStrip(_ sim: Simulation, end: Int64) -> String {
    let timeline = sim.recorder.eventTimeline
    let w = 760.0
    let left = 170.0
    let pw = w - left - 20
    let row = 14.0
    let h = 30 + row * Double(timeline.count)
    var svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"11\">"
    svg += "<text x=\"4\" y=\"15\" font-size=\"13\" font-weight=\"bold\">Events</text>"
    for (k, entry) in timeline.enumerated() {
      let (reason, warning, count, seconds) = entry
      let y = 26 + row * Double(k)
      svg +=
        "<text x=\"\(left - 6)\" y=\"\(y + 9)\" text-anchor=\"end\">\(escape(reason)) (\(count))</text>"
      var columns = Set<Int>()
      for t in seconds {
        columns.insert(min(Int(pw), Int(Double(t) * 1e9 / Double(max(end, 1)) * pw)))
      }
      let color = warning ? "#d62728" : "#1f77b4"
      for c in columns.sorted() {
        svg +=
          "<rect x=\"\(left + Double(c))\" y=\"\(y)\" width=\"1\" height=\"11\" fill=\"\(color)\"/>"
      }
    }
    return svg + "</svg>"
  }

  /// A page a person can read: workloads over time, pods, nodes, requested capacity, events.
  public static func reportHTML(_ sim: Simulation) -> String {
    let rec = sim.recorder
    let end = sim.now.nanoseconds
    func points(_ kind: String, _ ns: String, _ name: String, _ field: String) -> [(
      time: Int64, value: Int64
    )] {
      rec.seriesID(kind: kind, namespace: ns, name: name, field: field).map { rec.points[$0] } ?? []
    }
    var body = ""
    let deployments = rec.objects(kind: "Deployment")
    if !deployments.isEmpty {
      body += stepChart(
        title: "Available replicas by Deployment", yLabel: "pods", end: end,
        series: deployments.prefix(Recorder.chartedObjects).map {
          ($0.name, points("Deployment", $0.namespace, $0.name, "availableReplicas"), 1)
        })
      body += stepChart(
        title: "Pods by Deployment (replicas, all revisions)", yLabel: "pods", end: end,
        series: deployments.prefix(Recorder.chartedObjects).map {
          ($0.name, points("Deployment", $0.namespace, $0.name, "replicas"), 1)
        })
    }
    let hpas = rec.objects(kind: "HorizontalPodAutoscaler")
    if !hpas.isEmpty {
      body += stepChart(
        title: "HorizontalPodAutoscalers: current and desired replicas", yLabel: "pods", end: end,
        series: hpas.prefix(Recorder.chartedObjects / 2).flatMap {
          [
            (
              $0.name, points("HorizontalPodAutoscaler", $0.namespace, $0.name, "currentReplicas"),
              1
            ),
            (
              $0.name + " desired",
              points("HorizontalPodAutoscaler", $0.namespace, $0.name, "desiredReplicas"), 1
            ),
          ]
        })
    }
    let usage = rec.objects(kind: "Usage")
    if !usage.isEmpty {
      body += stepChart(
        title: "Load: offered, served and dropped requests per second", yLabel: "requests/s",
        end: end,
        series: usage.prefix(3).flatMap {
          [
            ($0.name + " offered", points("Usage", $0.namespace, $0.name, "offeredLoad"), 1e-3),
            ($0.name + " served", points("Usage", $0.namespace, $0.name, "servedLoad"), 1e-3),
            ($0.name + " dropped", points("Usage", $0.namespace, $0.name, "droppedLoad"), 1e-3),
          ]
        })
      body += stepChart(
        title: "Estimated p99 latency (M/M/c)", yLabel: "seconds", end: end,
        series: usage.prefix(Recorder.chartedObjects).map {
          ($0.name, points("Usage", $0.namespace, $0.name, "latencyP99Seconds"), 1e-3)
        })
    }
    let vpas = rec.objects(kind: "VerticalPodAutoscaler")
    if !vpas.isEmpty {
      let mib = 1.0 / 1_048_576
      body += stepChart(
        title: "VerticalPodAutoscalers: memory target and bounds", yLabel: "MiB", end: end,
        series: vpas.prefix(3).flatMap {
          [
            (
              $0.name + " target",
              points("VerticalPodAutoscaler", $0.namespace, $0.name, "targetMemoryBytes"), mib
            ),
            (
              $0.name + " lower",
              points("VerticalPodAutoscaler", $0.namespace, $0.name, "lowerBoundMemoryBytes"), mib
            ),
            (
              $0.name + " upper",
              points("VerticalPodAutoscaler", $0.namespace, $0.name, "upperBoundMemoryBytes"), mib
            ),
          ]
        })
      body += stepChart(
        title: "VerticalPodAutoscalers: CPU target", yLabel: "millicores", end: end,
        series: vpas.prefix(Recorder.chartedObjects).map {
          ($0.name, points("VerticalPodAutoscaler", $0.namespace, $0.name, "targetCpuMillis"), 1)
        })
    }
    let groups = rec.objects(kind: "NodeGroup")
    if !groups.isEmpty {
      body += stepChart(
        title: "Cluster Autoscaler: nodes and target size by node group", yLabel: "nodes",
        end: end,
        series: groups.prefix(Recorder.chartedObjects / 2).flatMap {
          [
            ($0.name, points("NodeGroup", $0.namespace, $0.name, "nodes"), 1),
            ($0.name + " target", points("NodeGroup", $0.namespace, $0.name, "targetSize"), 1),
          ]
        })
    }
    let nodePools = rec.objects(kind: "NodePool")
    if !nodePools.isEmpty {
      body += stepChart(
        title: "Karpenter: nodes and launching node claims by NodePool", yLabel: "nodes", end: end,
        series: nodePools.prefix(Recorder.chartedObjects / 2).flatMap {
          [
            ($0.name, points("NodePool", $0.namespace, $0.name, "nodes"), 1),
            ($0.name + " launching", points("NodePool", $0.namespace, $0.name, "launching"), 1),
          ]
        })
    }
    let statefulSets = rec.objects(kind: "StatefulSet")
    if !statefulSets.isEmpty {
      body += stepChart(
        title: "Ready and updated pods by StatefulSet", yLabel: "pods", end: end,
        series: statefulSets.prefix(Recorder.chartedObjects).flatMap {
          [
            ($0.name, points("StatefulSet", $0.namespace, $0.name, "readyReplicas"), 1),
            (
              $0.name + " updated", points("StatefulSet", $0.namespace, $0.name, "updatedReplicas"),
              1
            ),
          ]
        })
    }
    let daemonSets = rec.objects(kind: "DaemonSet")
    if !daemonSets.isEmpty {
      body += stepChart(
        title: "Available daemon pods by DaemonSet (of the nodes that should run one)",
        yLabel: "pods", end: end,
        series: daemonSets.prefix(Recorder.chartedObjects).flatMap {
          [
            ($0.name, points("DaemonSet", $0.namespace, $0.name, "numberAvailable"), 1),
            (
              $0.name + " desired",
              points("DaemonSet", $0.namespace, $0.name, "desiredNumberScheduled"),
              1
            ),
          ]
        })
    }
    let jobs = rec.objects(kind: "Job")
    if !jobs.isEmpty {
      body += stepChart(
        title: "Active pods by Job", yLabel: "pods", end: end,
        series: jobs.suffix(Recorder.chartedObjects).map {
          ($0.name, points("Job", $0.namespace, $0.name, "active"), 1)
        }
      )
    }
    body += stepChart(
      title: "Pending and running pods", yLabel: "pods", end: end,
      series: [
        ("pending", points("Cluster", "-", "-", "pendingPods"), 1),
        ("running", points("Cluster", "-", "-", "runningPods"), 1),
        ("all pods", points("Cluster", "-", "-", "pods"), 1),
      ])
    body += stepChart(
      title: "Nodes", yLabel: "nodes", end: end,
      series: [
        ("nodes", points("Cluster", "-", "-", "nodes"), 1),
        ("ready", points("Cluster", "-", "-", "readyNodes"), 1),
      ])
    body += stepChart(
      title: "Requested capacity", yLabel: "cores / GiB", end: end,
      series: [
        ("CPU (cores)", points("Cluster", "-", "-", "requestedCpuMillis"), 1e-3),
        ("memory (GiB)", points("Cluster", "-", "-", "requestedMemoryBytes"), 1.0 / 1_073_741_824),
      ])
    body += eventStrip(sim, end: end)
    return """
      <!doctype html>
      <html><head><meta charset="utf-8"><title>Berth simulation: \(escape(sim.scenario.name))</title>
      <style>body{font-family:sans-serif;margin:20px;max-width:800px}svg{display:block;margin:12px 0}</style>
      </head><body>
      <h1>\(escape(sim.scenario.name))</h1>
      <p>Seed \(sim.seed); \(duration(end)) of virtual time; \(sim.podsCreated) pods created; \(rec.eventCount) events.</p>
      \(body)
      </body></html>

      """
  }
}
