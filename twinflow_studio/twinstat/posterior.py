"""The posterior artifact: samples plus summary, stored as one ``.npz`` without pickles."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twinflow_studio.twinstat.errors import TwinStatError

POSTERIOR_FORMAT = "twinflow-twinstat-posterior/1"
_EXTRA = "extra__"


@dataclass
class Posterior:
    names: list[str]
    samples: np.ndarray  # (n, ndim), burn-in discarded, thinned, walkers flattened
    log_prob: np.ndarray  # (n,)
    chain: np.ndarray  # (n_steps, n_walkers, ndim), the whole chain for trace plots
    diagnostics: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    # Arrays a producer keeps with its posterior (a filter's checkpoint); readers ignore them.
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        params = {}
        for i, name in enumerate(self.names):
            col = self.samples[:, i]
            q05, q50, q95 = np.quantile(col, [0.05, 0.5, 0.95])
            params[name] = {
                "mean": float(np.mean(col)),
                "sd": float(np.std(col, ddof=1)),
                "q05": float(q05),
                "q50": float(q50),
                "q95": float(q95),
            }
        return {
            "parameters": params,
            "n_samples": int(self.samples.shape[0]),
            "diagnostics": self.diagnostics,
            **{k: v for k, v in self.meta.items() if k in ("prior", "noise", "model", "seed")},
        }

    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": POSTERIOR_FORMAT,
            "names": self.names,
            "diagnostics": self.diagnostics,
            "meta": self.meta,
        }
        with path.open("wb") as handle:
            # Uncompressed: chains of random floats barely compress and zlib costs seconds.
            arrays: dict[str, Any] = {
                "samples": self.samples,
                "log_prob": self.log_prob,
                "chain": self.chain,
                "meta": np.array(json.dumps(meta, default=_json_default)),
                **{_EXTRA + k: v for k, v in self.extras.items()},
            }
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: Path, field_name: str = "posterior") -> Posterior:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k: data[k] for k in ("samples", "log_prob", "chain")}
                extras = {
                    k.removeprefix(_EXTRA): data[k] for k in data.files if k.startswith(_EXTRA)
                }
        except (OSError, ValueError, KeyError) as exc:
            raise TwinStatError(
                f"{path.name} is not a posterior artifact: {exc}", field=field_name
            ) from exc
        if meta.get("format") != POSTERIOR_FORMAT:
            raise TwinStatError(f"{path.name} is not a posterior artifact", field=field_name)
        return cls(
            names=list(meta["names"]),
            diagnostics=meta.get("diagnostics", {}),
            meta=meta.get("meta", {}),
            extras=extras,
            **arrays,
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-able: {type(value).__name__}")
