"""Per-sensor count, mean, min and max, as JSON."""

import csv
import json
import sys

source, dest = sys.argv[1], sys.argv[2]
stats = {}
with open(source, newline="") as fin:
    for row in csv.DictReader(fin):
        value = float(row["value"])
        s = stats.setdefault(row["sensor"], {"count": 0, "sum": 0.0, "min": value, "max": value})
        s["count"] += 1
        s["sum"] += value
        s["min"] = min(s["min"], value)
        s["max"] = max(s["max"], value)
result = {
    name: {"count": s["count"], "mean": round(s["sum"] / s["count"], 3), "min": s["min"],
           "max": s["max"]}
    for name, s in sorted(stats.items())
}
with open(dest, "w") as fout:
    json.dump(result, fout, indent=2, sort_keys=True)
print(f"aggregated {len(result)} sensors")
