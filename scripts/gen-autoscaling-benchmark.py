#!/usr/bin/env python3
"""Writes the autoscaling benchmark scenario (docs/performance.md):

    python3 scripts/gen-autoscaling-benchmark.py 5000 500 7 50 > /tmp/autoscale-week.yaml
    berth simulate /tmp/autoscale-week.yaml

NODES nodes (16 cores, 64 GiB); DEPLOYMENTS Deployments, each behind a Service with its own
load — a diurnal wave (mean 40–200 requests per second, its peak hour staggered, Poisson noise
per 15 s) — and a CPU HorizontalPodAutoscaler (60 % of its request, 2…50 replicas, half of them
with a `behavior`); each request per second costs 5m of CPU above a 20m base and holds 1 MiB
above a 128 MiB base. VPAS of them (spread evenly; default 0) also have a VerticalPodAutoscaler
in Recreate mode on memory (the HPA has CPU). Over DAYS days. Deterministic: the same arguments
give the same file.
"""
import sys

nodes, deployments, days = (int(a) for a in sys.argv[1:4])
vpas = int(sys.argv[4]) if len(sys.argv) > 4 else 0
with_vpa = {d * deployments // vpas for d in range(vpas)} if vpas else set()
out = sys.stdout
out.write(f"""apiVersion: berth.dev/v1alpha1
kind: Scenario
metadata: {{name: autoscale-{nodes}-nodes-{deployments}-hpas-{vpas}-vpas}}
spec:
  duration: {days * 24}h
  seed: 1
  behaviors:
  - {{selector: {{}}, imagePull: {{uniform: [2s, 20s]}}, readyAfter: {{uniform: [5s, 15s]}}, stopAfter: {{uniform: [1s, 10s]}}}}
  loads:
""")
for d in range(deployments):
    mean = 40 + (d * 37) % 161
    peak = (d * 7) % 24
    out.write(f"  - {{name: load-{d}, shape: {{poisson: {{interval: 15s, shape: {{diurnal: {{mean: {mean}, amplitude: {mean * 0.8:.0f}, peakAt: {peak}h}}}}}}}}}}\n")
out.write("  usage:\n")
for d in range(deployments):
    out.write(f"  - {{selector: {{matchLabels: {{app: app-{d}}}}}, load: load-{d}, service: app-{d}, cpu: {{base: 20m, perRequest: 5m}}, memory: {{base: 128Mi, perRequest: 1Mi}}}}\n")
for d in range(deployments):
    cpu = [250, 500, 1000][d % 3]
    behavior = "\n  behavior: {scaleDown: {stabilizationWindowSeconds: 600, policies: [{type: Percent, value: 50, periodSeconds: 60}]}}" if d % 2 else ""
    out.write(f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{d}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app-{d}}}}}
  template:
    metadata: {{labels: {{app: app-{d}}}}}
    spec:
      containers: [{{name: app, image: "app-{d}:v1", resources: {{requests: {{cpu: {cpu}m, memory: 256Mi}}}}}}]
---
{{apiVersion: v1, kind: Service, metadata: {{name: app-{d}}}, spec: {{selector: {{app: app-{d}}}}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: app-{d}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: app-{d}}}
  minReplicas: 2
  maxReplicas: 50{behavior}
  metrics:
  - type: Resource
    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 60}}}}
""")
    if d in with_vpa:
        out.write(f"""---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {{name: app-{d}}}
spec:
  targetRef: {{apiVersion: apps/v1, kind: Deployment, name: app-{d}}}
  updatePolicy: {{updateMode: Recreate}}
  resourcePolicy:
    containerPolicies:
    - {{containerName: "*", controlledResources: [memory]}}
""")
out.write("---\napiVersion: v1\nkind: List\nitems:\n")
for n in range(nodes):
    out.write(f"- {{apiVersion: v1, kind: Node, metadata: {{name: node-{n}, labels: {{topology.kubernetes.io/zone: zone-{n % 3}}}}}, status: {{allocatable: {{cpu: \"16\", memory: 64Gi, pods: \"110\"}}}}}}\n")
