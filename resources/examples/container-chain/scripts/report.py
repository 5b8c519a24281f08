"""A plain-text report folder from the per-sensor statistics."""

import json
import os
import sys

source, dest_dir, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(source) as fin:
    stats = json.load(fin)
os.makedirs(dest_dir, exist_ok=True)
alerts = [name for name, s in stats.items() if s["max"] > limit]
with open(os.path.join(dest_dir, "summary.txt"), "w") as fout:
    for name, s in stats.items():
        fout.write(f"{name}: n={s['count']} mean={s['mean']} range=[{s['min']}, {s['max']}]\n")
with open(os.path.join(dest_dir, "alerts.txt"), "w") as fout:
    fout.write("\n".join(alerts) + ("\n" if alerts else ""))
print(f"{len(alerts)} sensor(s) above {limit}")
