import BerthScheduling
import Foundation

/// A self-contained HTML page of SVG charts for a policy comparison: per workload, GPU
/// allocation and fragmentation against arrived demand (a line per policy, the seeds' range as
/// a band), and a bar chart of allocation at 130 % arrived per workload and policy.
public enum HTMLReport {
  static let colors = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22",
  ]

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }

  /// One line chart: x = arrived % (0…130), y = the curve (0…yMax).
  static func lineChart(
    title: String, yLabel: String, yMax: Double,
    series: [(name: String, color: String, mean: [Double?], low: [Double?], high: [Double?])]
  ) -> String {
    let w = 520.0
    let h = 300.0
    let left = 50.0
    let right = 130.0
    let top = 30.0
    let bottom = 40.0
    let pw = w - left - right
    let ph = h - top - bottom
    func x(_ v: Int) -> Double { left + Double(v) / 130 * pw }
    func y(_ v: Double) -> Double { top + ph - min(max(v / yMax, 0), 1) * ph }
    var svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"11\">"
    svg +=
      "<text x=\"\(left)\" y=\"18\" font-size=\"13\" font-weight=\"bold\">\(escape(title))</text>"
    svg +=
      "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#999\"/>"
    for t in stride(from: 0, through: 130, by: 10) {
      svg +=
        "<line x1=\"\(x(t))\" y1=\"\(top + ph)\" x2=\"\(x(t))\" y2=\"\(top + ph + 4)\" stroke=\"#999\"/>"
      if t % 20 == 0 {
        svg += "<text x=\"\(x(t))\" y=\"\(top + ph + 16)\" text-anchor=\"middle\">\(t)</text>"
      }
    }
    for i in 0...5 {
      let v = yMax * Double(i) / 5
      svg +=
        "<line x1=\"\(left)\" y1=\"\(y(v))\" x2=\"\(left + pw)\" y2=\"\(y(v))\" stroke=\"#eee\"/>"
      svg +=
        "<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.0f", v))</text>"
    }
    svg +=
      "<text x=\"\(left + pw / 2)\" y=\"\(h - 6)\" text-anchor=\"middle\">arrived GPU demand, % of capacity</text>"
    svg +=
      "<text transform=\"translate(12,\(top + ph / 2)) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>"
    for (k, s) in series.enumerated() {
      let pts = Curves.bins.compactMap { b -> (Int, Double, Double, Double)? in
        guard let m = s.mean[b], let lo = s.low[b], let hi = s.high[b] else { return nil }
        return (b, m, lo, hi)
      }
      guard !pts.isEmpty else { continue }
      let upper = pts.map { "\(x($0.0)),\(y($0.3))" }
      let lower = pts.reversed().map { "\(x($0.0)),\(y($0.2))" }
      svg +=
        "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(s.color)\" fill-opacity=\"0.15\" stroke=\"none\"/>"
      svg +=
        "<polyline points=\"\(pts.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " "))\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\"/>"
      let ly = top + 12 + Double(k) * 16
      svg +=
        "<line x1=\"\(left + pw + 10)\" y1=\"\(ly - 4)\" x2=\"\(left + pw + 28)\" y2=\"\(ly - 4)\" stroke=\"\(s.color)\" stroke-width=\"3\"/>"
      svg += "<text x=\"\(left + pw + 32)\" y=\"\(ly)\">\(escape(s.name))</text>"
    }
    return svg + "</svg>"
  }

  static func bars(_ rows: [ExperimentCSV.SummaryRow], policies: [GPUPolicy]) -> String {
    var workloads: [String] = []
    for r in rows where !workloads.contains(r.workload) { workloads.append(r.workload) }
    let groupWidth = Double(policies.count) * 10 + 14
    let left = 50.0
    let top = 30.0
    let ph = 220.0
    let w = max(left + Double(workloads.count) * groupWidth + 140, 560)
    let h = top + ph + 90
    let lo = max(0, ((rows.map(\.alloc130.mean).min() ?? 0) - 5) / 5).rounded(.down) * 5
    func y(_ v: Double) -> Double { top + ph - (v - lo) / (100 - lo) * ph }
    var svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"11\">"
    svg +=
      "<text x=\"\(left)\" y=\"18\" font-size=\"13\" font-weight=\"bold\">GPU allocation % at 130 % arrived (mean over seeds)</text>"
    for i in 0...4 {
      let v = lo + (100 - lo) * Double(i) / 4
      svg +=
        "<line x1=\"\(left)\" y1=\"\(y(v))\" x2=\"\(left + Double(workloads.count) * groupWidth)\" y2=\"\(y(v))\" stroke=\"#eee\"/>"
      svg +=
        "<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.0f", v))</text>"
    }
    for (g, wl) in workloads.enumerated() {
      let gx = left + Double(g) * groupWidth + 7
      for (k, p) in policies.enumerated() {
        guard let r = rows.first(where: { $0.workload == wl && $0.policy == p }) else { continue }
        let bx = gx + Double(k) * 10
        svg +=
          "<rect x=\"\(bx)\" y=\"\(y(r.alloc130.mean))\" width=\"9\" height=\"\(max(0, top + ph - y(r.alloc130.mean)))\" fill=\"\(colors[k % colors.count])\"><title>\(escape(wl)) \(p.rawValue): \(String(format: "%.2f", r.alloc130.mean))</title></rect>"
      }
      svg +=
        "<text transform=\"translate(\(gx + groupWidth / 2 - 7),\(top + ph + 8)) rotate(45)\">\(escape(wl))</text>"
    }
    for (k, p) in policies.enumerated() {
      let ly = top + 12 + Double(k) * 16
      let lx = left + Double(workloads.count) * groupWidth + 16
      svg +=
        "<rect x=\"\(lx)\" y=\"\(ly - 9)\" width=\"12\" height=\"10\" fill=\"\(colors[k % colors.count])\"/><text x=\"\(lx + 16)\" y=\"\(ly)\">\(p.rawValue)</text>"
    }
    return svg + "</svg>"
  }

  public static func page(
    _ runs: [(ExperimentRun, Curves)], summary: [ExperimentCSV.SummaryRow], title: String
  ) -> String {
    var policies: [GPUPolicy] = []
    var workloads: [String] = []
    for (r, _) in runs {
      if !policies.contains(r.policy) { policies.append(r.policy) }
      if !workloads.contains(r.workload) { workloads.append(r.workload) }
    }
    func series(_ workload: String, _ curve: KeyPath<Curves, [Double?]>) -> [(
      String, String, [Double?], [Double?], [Double?]
    )] {
      policies.enumerated().map { k, p in
        let cs = runs.filter { $0.0.workload == workload && $0.0.policy == p }.map {
          $0.1[keyPath: curve]
        }
        var mean = [Double?](repeating: nil, count: Curves.bins.count)
        var low = mean
        var high = mean
        for b in Curves.bins {
          let vs = cs.compactMap { $0[b] }
          guard !vs.isEmpty else { continue }
          mean[b] = vs.reduce(0, +) / Double(vs.count)
          low[b] = vs.min()
          high[b] = vs.max()
        }
        return (p.rawValue, colors[k % colors.count], mean, low, high)
      }
    }
    var html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>\(escape(title))</title>"
    html +=
      "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}.charts{display:flex;flex-wrap:wrap;gap:12px}</style>"
    html += "</head><body><h1>\(escape(title))</h1>"
    html +=
      "<p>GPU allocation and fragmentation as arrived GPU demand grows, per workload; lines are means over seeds, bands their range.</p>"
    html += bars(summary, policies: policies)
    for wl in workloads {
      html += "<h2>\(escape(wl))</h2><div class=\"charts\">"
      html += lineChart(
        title: "GPU allocation — \(wl)", yLabel: "allocated GPU, % of capacity", yMax: 100,
        series: series(wl, \.allocation).map { ($0.0, $0.1, $0.2, $0.3, $0.4) })
      html += lineChart(
        title: "Fragmentation — \(wl)", yLabel: "fragmented GPU, % of capacity",
        yMax: max(
          10,
          ((runs.flatMap { $0.1.fragmentation.compactMap { $0 } }.max() ?? 10) / 5).rounded(.up) * 5
        ),
        series: series(wl, \.fragmentation).map { ($0.0, $0.1, $0.2, $0.3, $0.4) })
      html += "</div>"
    }
    html +=
      "<h2>Summary</h2><table><tr><th>workload</th><th>policy</th><th>seeds</th><th>alloc % at 100 % arrived</th><th>at 130 %</th><th>first failure at arrived %</th></tr>"
    for r in summary {
      html +=
        "<tr><td>\(escape(r.workload))</td><td>\(r.policy.rawValue)</td><td>\(r.seeds)</td>"
        + "<td>\(String(format: "%.2f ± %.2f", r.alloc100.mean, r.alloc100.std))</td><td>\(String(format: "%.2f ± %.2f", r.alloc130.mean, r.alloc130.std))</td>"
        + "<td>\(r.firstFailure.map { String(format: "%.1f ± %.1f", $0.mean, $0.std) } ?? "none")</td></tr>"
    }
    return html + "</table></body></html>\n"
  }
}
