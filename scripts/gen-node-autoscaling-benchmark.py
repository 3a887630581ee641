#!/usr/bin/env python3
"""Writes the node-autoscaling benchmark scenario (docs/performance.md):

    python3 scripts/gen-node-autoscaling-benchmark.py 500 7 > /tmp/ca-week.yaml
    berth simulate /tmp/ca-week.yaml

DEPLOYMENTS Deployments, each behind a Service with its own load — a diurnal wave (mean 1,600–
2,400 requests per second, amplitude 70 %, peaking between 12:00 and 16:00, Poisson noise per
15 s) — and a CPU HorizontalPodAutoscaler (60 % of a 1500m request, 2…24 replicas); each request
per second costs 5m of CPU above a 20m base. The Cluster Autoscaler runs five node groups (three
zones of 4-CPU nodes, 8-CPU and 2-CPU nodes; 40–90 s provisioning) with least-waste: at the daily
peak about 10,000 pods want about 5,000 nodes, at night about 1,500 pods fewer than 1,000. Over
DAYS days. Deterministic: the same arguments give the same file.
"""
import sys

deployments, days = (int(a) for a in sys.argv[1:3])
out = sys.stdout
out.write(f"""apiVersion: berth.dev/v1alpha1
kind: Scenario
metadata: {{name: node-autoscale-{deployments}-hpas}}
spec:
  duration: {days * 24}h
  seed: 1
  behaviors:
  - {{selector: {{}}, imagePull: {{uniform: [2s, 20s]}}, readyAfter: {{uniform: [5s, 15s]}}, stopAfter: {{uniform: [1s, 10s]}}}}
  clusterAutoscaler:
    expander: least-waste
    nodeGroups:
""")
groups = [
    ("zone-a", 4, 16, 0.19, "zone-0", 2000, 1),
    ("zone-b", 4, 16, 0.19, "zone-1", 2000, 1),
    ("zone-c", 4, 16, 0.19, "zone-2", 2000, 1),
    ("large", 8, 32, 0.38, "zone-0", 1000, 0),
    ("small", 2, 8, 0.096, "zone-1", 2000, 0),
]
for name, cpu, mem, price, zone, mx, mn in groups:
    out.write(f"""    - name: {name}
      minSize: {mn}
      maxSize: {mx}
      provisioningDelay: {{uniform: [40s, 90s]}}
      pricePerHour: {price}
      template: {{apiVersion: v1, kind: Node, metadata: {{labels: {{topology.kubernetes.io/zone: {zone}, node.kubernetes.io/instance-type: {name}}}}}, status: {{allocatable: {{cpu: "{cpu}", memory: {mem}Gi, pods: "110"}}}}}}
""")
out.write("  loads:\n")
for d in range(deployments):
    mean = 1600 + (d * 37) % 801
    peak = 12 + (d * 7) % 5
    out.write(f"  - {{name: load-{d}, shape: {{poisson: {{interval: 15s, shape: {{diurnal: {{mean: {mean}, amplitude: {mean * 0.7:.0f}, peakAt: {peak}h}}}}}}}}}}\n")
out.write("  usage:\n")
for d in range(deployments):
    out.write(f"  - {{selector: {{matchLabels: {{app: app-{d}}}}}, load: load-{d}, service: app-{d}, cpu: {{base: 20m, perRequest: 5m}}, memory: {{base: 128Mi, perRequest: 100Ki}}}}\n")
for d in range(deployments):
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
      containers: [{{name: app, image: "app-{d}:v1", resources: {{requests: {{cpu: 1500m, memory: 2Gi}}}}}}]
---
{{apiVersion: v1, kind: Service, metadata: {{name: app-{d}}}, spec: {{selector: {{app: app-{d}}}}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: app-{d}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: app-{d}}}
  minReplicas: 2
  maxReplicas: 24
  metrics:
  - type: Resource
    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 60}}}}
""")
