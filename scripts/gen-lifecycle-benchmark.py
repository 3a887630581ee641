#!/usr/bin/env python3
"""Writes the simulator's whole-lifecycle benchmark scenario (docs/performance.md):

    python3 scripts/gen-lifecycle-benchmark.py 50000 1000 1000 100 > /tmp/lifecycle.yaml
    berth simulate /tmp/lifecycle.yaml

NODES nodes (32 cores, 128 GiB, 110 pods, spread over three zones) and JOBS Jobs of COMPLETIONS
completions each, PARALLELISM at a time, arriving evenly over the first hour. Every pod goes
through its whole life: created, scheduled, image pulled (1–5 s), started, ready (2 s later),
completed (after 1–10 minutes), and deleted with its Job when the Job finishes
(ttlSecondsAfterFinished: 0). JOBS × COMPLETIONS pods in all.
Deterministic: the same arguments give the same file.
"""
import sys

nodes, jobs, completions, parallelism = (int(a) for a in sys.argv[1:5])
out = sys.stdout
out.write(f"""apiVersion: berth.dev/v1alpha1
kind: Scenario
metadata: {{name: lifecycle-{nodes}-nodes-{jobs * completions}-pods}}
spec:
  duration: 4h
  seed: 1
  behaviors:
  - {{selector: {{}}, imagePull: {{uniform: [1s, 5s]}}, readyAfter: 2s, exitAfter: {{uniform: [60s, 600s]}}, exitCode: 0}}
  actions:
""")
for j in range(jobs):
    t = (j * 3600) // jobs
    out.write(f"""  - at: {t}s
    apply:
      apiVersion: batch/v1
      kind: Job
      metadata: {{name: batch-{j}}}
      spec:
        completions: {completions}
        parallelism: {parallelism}
        ttlSecondsAfterFinished: 0
        template:
          spec:
            restartPolicy: Never
            containers:
            - name: work
              image: "batch:v{j % 10}"
              resources: {{requests: {{cpu: 500m, memory: 1Gi}}}}
""")
for n in range(nodes):
    out.write(f"""---
apiVersion: v1
kind: Node
metadata:
  name: node-{n}
  labels: {{kubernetes.io/hostname: node-{n}, topology.kubernetes.io/zone: zone-{n % 3}}}
status:
  allocatable: {{cpu: "32", memory: 128Gi, pods: "110"}}
""")
