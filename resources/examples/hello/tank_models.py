"""Models of the hello example: a cooling tank's temperature sensor, in plain Python."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def summarize(readings: Any) -> dict[str, float]:
    """Basic statistics of the temperature readings (a pandas DataFrame)."""
    temps = readings["temperature_c"]
    return {
        "count": int(temps.count()),
        "mean_c": round(float(temps.mean()), 3),
        "min_c": round(float(temps.min()), 3),
        "max_c": round(float(temps.max()), 3),
    }


def fit_cooling(readings: Any, ambient_c: float = 20.0) -> dict[str, float]:
    """Newton cooling T(t) = ambient + dT0 * exp(-k t), fitted by least squares on log excess."""
    times = readings["time_s"].astype(float).tolist()
    excess = [max(t - ambient_c, 1e-6) for t in readings["temperature_c"].astype(float)]
    logs = [math.log(e) for e in excess]
    n = len(times)
    mean_t, mean_l = sum(times) / n, sum(logs) / n
    sxx = sum((t - mean_t) ** 2 for t in times)
    slope = sum((t - mean_t) * (v - mean_l) for t, v in zip(times, logs)) / sxx
    intercept = mean_l - slope * mean_t
    return {"k_per_s": round(-slope, 6), "delta_t0_c": round(math.exp(intercept), 3),
            "ambient_c": ambient_c}


def find_anomalies(readings: Any, model: dict[str, float], threshold_c: float = 3.0) -> list:
    """Readings further than ``threshold_c`` from the fitted cooling curve."""
    out = []
    for t, temp in zip(readings["time_s"], readings["temperature_c"]):
        predicted = model["ambient_c"] + model["delta_t0_c"] * math.exp(-model["k_per_s"] * t)
        if abs(temp - predicted) > threshold_c:
            out.append({"time_s": float(t), "measured_c": float(temp),
                        "predicted_c": round(predicted, 3)})
    return out


def report(stats: dict, model: dict, anomalies: list, ctx: Any) -> Path:
    """A Markdown report, written into the node's output folder."""
    lines = [
        "# Tank temperature twin",
        "",
        f"- readings: {stats['count']} (mean {stats['mean_c']} °C, "
        f"range {stats['min_c']}–{stats['max_c']} °C)",
        f"- cooling rate k = {model['k_per_s']} 1/s, initial excess {model['delta_t0_c']} °C",
        f"- anomalies: {len(anomalies)}",
    ]
    lines += [f"  - t={a['time_s']:g} s: {a['measured_c']} °C (expected {a['predicted_c']})"
              for a in anomalies]
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.output_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ctx.log(f"{len(anomalies)} anomalies found")
    return path
