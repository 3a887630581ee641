#!/usr/bin/env python3
"""Writes the simulator's week-long benchmark scenario (docs/performance.md):

    python3 scripts/gen-simulation-benchmark.py 5000 500 200 7 > /tmp/week.yaml
    berth simulate /tmp/week.yaml

A fifth argument adds that many DaemonSets (one pod per node each, every taint tolerated).

NODES nodes (16 cores, 64 GiB), DEPLOYMENTS Deployments of REPLICAS pods each, every one rolled
out to a new image once a simulated day (at a staggered time), 1 % of the Deployments'
pods crash-looping (one Deployment in a hundred whose container exits 60 s after each start),
and a node failing every simulated hour (recovering 20 minutes later), over DAYS days.
Deterministic: the same arguments give the same file.
"""
import sys

nodes, deployments, replicas, days = (int(a) for a in sys.argv[1:5])
# Optional: DaemonSets (tolerating every taint, one pod per node each).
daemonsets = int(sys.argv[5]) if len(sys.argv) > 5 else 0
out = sys.stdout
hours = days * 24
out.write(f"""apiVersion: berth.dev/v1alpha1
kind: Scenario
metadata: {{name: week-{nodes}-nodes-{deployments}-deployments}}
spec:
  duration: {hours}h
  seed: 1
  behaviors:
  - {{selector: {{matchLabels: {{health: crashing}}}}, imagePull: 5s, readyAfter: 10s, exitAfter: 60s, exitCode: 1}}
  - {{selector: {{}}, imagePull: {{uniform: [2s, 20s]}}, readyAfter: {{uniform: [5s, 15s]}}, stopAfter: {{uniform: [1s, 10s]}}}}
  actions:
""")
actions = []
for d in range(deployments):
    # Staggered over the day, each Deployment at its own minute.
    offset = (d * 86400) // deployments
    for day in range(days):
        t = day * 86400 + offset + 60
        if t < hours * 3600:
            actions.append((t, f"  - {{at: {t}s, setImage: {{kind: Deployment, name: app-{d}, container: app, image: \"app-{d}:v{day + 2}\"}}}}\n"))
for h in range(hours):
    n = (h * 7919) % nodes
    t = h * 3600 + 1800
    actions.append((t, f"  - {{at: {t}s, failNode: {{name: node-{n}}}}}\n"))
    if t + 1200 < hours * 3600:
        actions.append((t + 1200, f"  - {{at: {t + 1200}s, recoverNode: {{name: node-{n}}}}}\n"))
for _, line in sorted(actions, key=lambda a: a[0]):
    out.write(line)
for d in range(deployments):
    health = "crashing" if d % 100 == 99 else "ok"
    cpu = [100, 250, 500][d % 3]
    mem = [128, 256, 512][d % 3]
    out.write(f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{d}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: app-{d}}}}}
  template:
    metadata: {{labels: {{app: app-{d}, health: {health}}}}}
    spec:
      containers: [{{name: app, image: "app-{d}:v1", resources: {{requests: {{cpu: {cpu}m, memory: {mem}Mi}}}}}}]
""")
for k in range(daemonsets):
    out.write(f"""---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent-{k}, namespace: kube-system}}
spec:
  selector: {{matchLabels: {{app: agent-{k}}}}}
  template:
    metadata: {{labels: {{app: agent-{k}}}}}
    spec:
      tolerations: [{{operator: Exists}}]
      containers: [{{name: agent, image: "agent-{k}:v1", resources: {{requests: {{cpu: 50m, memory: 64Mi}}}}}}]
""")
out.write("---\napiVersion: v1\nkind: List\nitems:\n")
for n in range(nodes):
    out.write(f"- {{apiVersion: v1, kind: Node, metadata: {{name: node-{n}, labels: {{topology.kubernetes.io/zone: zone-{n % 3}}}}}, status: {{allocatable: {{cpu: \"16\", memory: 64Gi, pods: \"110\"}}}}}}\n")
