#!/usr/bin/env python3
"""Writes the bundled load-trace excerpts in datasets/traces/ (time,value CSV, time in seconds
from the excerpt's start) from the public datasets they come from. Tooling only: Berth reads the
excerpts, never the originals.

    python3 scripts/make-trace-excerpts.py PATH/TO/datasets

PATH/TO/datasets holds alibaba-genai-qps/qps.csv and
azure-llm-inference-2023/AzureLLMInferenceTrace_{code,conv}.csv.
"""
import csv, sys, os
from collections import defaultdict
from datetime import datetime, timezone

src = sys.argv[1]
out = os.path.join(os.path.dirname(__file__), "..", "datasets", "traces")

# Alibaba GenAI: service-level request rate = the per-container values summed per timestamp
# (Generative Requests only; the API rows are a different layer).
by_time = defaultdict(float)
with open(os.path.join(src, "alibaba-genai-qps", "qps.csv")) as f:
    for row in csv.DictReader(f):
        if row["request_type"] == "Generative Requests":
            by_time[float(row["timestamp_anon"])] += float(row["value"])
times = sorted(by_time)
t0 = times[0]
with open(os.path.join(out, "alibaba-genai-qps.csv"), "w") as f:
    f.write("time,value\n")
    for t in times:
        f.write(f"{int(t - t0)},{by_time[t]:.4f}\n")

# Azure LLM inference: arrivals binned into 10 s windows, as requests per second.
for name in ("code", "conv"):
    bins = defaultdict(int)
    with open(os.path.join(src, "azure-llm-inference-2023", f"AzureLLMInferenceTrace_{name}.csv")) as f:
        rows = list(csv.DictReader(f))
    def ts(s):
        return datetime.strptime(s[:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
    start = min(ts(r["TIMESTAMP"]) for r in rows)
    for r in rows:
        bins[int((ts(r["TIMESTAMP"]) - start) // 10)] += 1
    last = max(bins)
    with open(os.path.join(out, f"azure-llm-{name}.csv"), "w") as f:
        f.write("time,value\n")
        for b in range(last + 1):
            f.write(f"{b * 10},{bins.get(b, 0) / 10:.1f}\n")
print("wrote", sorted(os.listdir(out)))
