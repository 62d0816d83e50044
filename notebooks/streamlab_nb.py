"""Shared helpers for the streamlab notebooks.

Every notebook reads exactly one results folder written by `streamlab experiment NAME`
(or `streamlab bench`), laid out as in `docs/measurement.md`:
README.md, config.toml, machine.json, raw.csv, summary.json and *.hgrm.

Nothing here writes anywhere but the results folder (figures, `fig-*.png`).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

RESULTS_ENV = "STREAMLAB_RESULTS"

# Fixed colours and markers for the engines we know; others get the next free colour.
_KNOWN = {
    "baseline": ("#444444", "s"),
    "microbatch": ("#d62728", "o"),  # the Spark model
    "record": ("#1f77b4", "^"),  # the Flink model
    "oracle": ("#2ca02c", "D"),
}
_SPARE = ["#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e"]
_assigned: dict[str, tuple[str, str]] = {}


def engine_style(engine: str) -> dict:
    """Colour and marker of an engine, the same in every figure."""
    if engine in _KNOWN:
        color, marker = _KNOWN[engine]
    else:
        if engine not in _assigned:
            i = len(_assigned)
            _assigned[engine] = (_SPARE[i % len(_SPARE)], "PXv<>*"[i % 6])
        color, marker = _assigned[engine]
    return {"color": color, "marker": marker}


def engine_order(engines) -> list[str]:
    """Engines sorted for legends: engines by name, the baseline last."""
    engines = sorted(set(engines))
    return [e for e in engines if e != "baseline"] + (["baseline"] if "baseline" in engines else [])


# ---------------------------------------------------------------- finding the folder


def repo_root() -> Path:
    """The repository root: the nearest parent of the notebook holding Cargo.toml and notebooks/.

    Jupyter (lab and nbconvert) runs a notebook's kernel in the notebook's folder; Jupyter
    Lab also names the notebook in JPY_SESSION_NAME. Both are tried.
    """
    starts = []
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        starts.append(Path(session).resolve().parent)
    starts.append(Path.cwd().resolve())
    for start in starts:
        for d in [start, *start.parents]:
            if (d / "Cargo.toml").is_file() and (d / "notebooks").is_dir():
                return d
    raise RuntimeError(
        f"cannot find the streamlab repository root above {starts[-1]}; run the notebook from "
        f"notebooks/ or set {RESULTS_ENV}=/path/to/results-folder"
    )


def _started(folder: Path) -> str:
    try:
        return json.loads((folder / "machine.json").read_text()).get("started_utc", "")
    except (OSError, ValueError):
        return ""


def find_results(experiment: str) -> Path:
    """The results folder to plot.

    `$STREAMLAB_RESULTS` when set; otherwise the newest `results/*-<experiment>` folder of the
    repository (by machine.json `started_utc`, then modification time), skipping `quick-*`.
    """
    env = os.environ.get(RESULTS_ENV)
    if env:
        folder = Path(env).expanduser().resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"{RESULTS_ENV}={env}: no such folder")
        if not (folder / "raw.csv").is_file() or not (folder / "summary.json").is_file():
            raise FileNotFoundError(
                f"{RESULTS_ENV}={env} is not a results folder (raw.csv and summary.json missing)"
            )
        return folder
    results = repo_root() / "results"
    candidates = [
        d
        for d in (results.glob(f"*-{experiment}") if results.is_dir() else [])
        if d.is_dir() and not d.name.startswith("quick-") and (d / "raw.csv").is_file()
    ]
    if not candidates:
        cmd = "streamlab bench" if experiment == "bench" else f"streamlab experiment {experiment}"
        raise FileNotFoundError(
            f"no results folder for '{experiment}': looked for {results}/*-{experiment} "
            f"(skipping quick-*). Run `{cmd}` from the repository root first, or set "
            f"{RESULTS_ENV}=/path/to/folder."
        )
    return max(candidates, key=lambda d: (_started(d), d.stat().st_mtime, d.name))


def describe(folder: Path) -> None:
    """Prints where the data came from (first README paragraph, machine, revision)."""
    print(f"results folder: {folder}")
    try:
        m = json.loads((folder / "machine.json").read_text())
        dirty = " (dirty)" if m.get("git_dirty") else ""
        print(
            f"machine: {m.get('host')} · {m.get('cpu')} · {m.get('cores')} cores · "
            f"{m.get('os')} · {m.get('rustc')}"
        )
        print(f"revision: {m.get('git_revision')}{dirty} · started {m.get('started_utc')}")
    except (OSError, ValueError):
        print("machine.json: missing or unreadable")
    readme = (folder / "README.md").read_text() if (folder / "README.md").is_file() else ""
    if "Quick run" in readme:
        print("NOTE: a --quick run (small inputs, for CI): not for conclusions.")


# ---------------------------------------------------------------- loading


def _value(v: str):
    try:
        return float(v)
    except ValueError:
        return v


def parse_setting(setting: str) -> dict:
    """`disorder=0.2;time=processing` -> {'disorder': 0.2, 'time': 'processing'}."""
    out = {}
    for part in str(setting).split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = _value(v.strip())
    return out


def load_raw(folder: Path) -> pd.DataFrame:
    """raw.csv: engine, one column per parameter, rep, metric, value (tidy). Folders
    written before the parameters had columns packed them into `setting`
    (`disorder=0.01;delay_ms=0`): that column is split here the same way."""
    raw = pd.read_csv(folder / "raw.csv", dtype={"engine": str, "metric": str, "setting": str})
    if raw.empty:
        raise ValueError(f"{folder / 'raw.csv'} has no rows")
    if "setting" in raw.columns and raw["setting"].astype(str).str.contains("=").any():
        settings = pd.DataFrame([parse_setting(s) for s in raw["setting"]], index=raw.index)
        for col in settings.columns:
            if col in raw.columns:
                continue
            raw[col] = settings[col]
        # What is left of `setting` is its bare words (`plain`, `kills`), as in new folders.
        raw["setting"] = raw["setting"].where(~raw["setting"].astype(str).str.contains("="))
        if raw["setting"].isna().all():
            raw = raw.drop(columns="setting")
    return raw


def wide(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per (engine, setting, rep), one column per metric."""
    keys = [c for c in raw.columns if c not in ("metric", "value")]
    return raw.pivot_table(index=keys, columns="metric", values="value", aggfunc="first").reset_index()


def load_summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


def spread(df: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    """Median, min and max of `metric` over repetitions, per `by`."""
    g = df.groupby(by, dropna=False)[metric]
    return g.agg(median="median", min="min", max="max").reset_index()


def duration_s(text: str) -> float:
    """`10ms`, `1s`, `2m`, `500us` -> seconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(us|µs|ms|s|m|min|h)?\s*", str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    scale = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
    return float(m.group(1)) * scale[m.group(2)]


# ---------------------------------------------------------------- latency histograms


def read_hgrm(path: Path) -> pd.DataFrame:
    """An HdrHistogram percentile distribution: columns value_us and percentile (0..1).

    Only Value and Percentile are used (the TotalCount column differs between writers:
    cumulative in HdrHistogram's own output, per step in some others).
    """
    rows = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) < 2 or line.lstrip().startswith("#") or parts[0] == "Value":
            continue
        try:
            rows.append((float(parts[0]), float(parts[1])))
        except ValueError:
            continue
    return pd.DataFrame(rows, columns=["value_us", "percentile"])


def hgrm_files(folder: Path) -> pd.DataFrame:
    """The .hgrm files of a folder: file, engine, and whatever `-rate<R>` / `-rep<N>` says."""
    rows = []
    for p in sorted(folder.glob("*.hgrm")):
        m = re.fullmatch(r"(?P<engine>.+?)-(?P<kind>rate|rep)(?P<n>[0-9.]+)\.hgrm", p.name)
        if m:
            rows.append({"file": p, "engine": m["engine"], m["kind"]: float(m["n"])})
        else:
            rows.append({"file": p, "engine": p.stem})
    return pd.DataFrame(rows)


def plot_cdf(ax, hist: pd.DataFrame, **kw):
    """Latency CDF (x: latency, log; y: fraction of rows at or below). Call `tidy_log`
    once every line is drawn."""
    if hist.empty:
        return
    ax.step(hist["value_us"] / 1e3, hist["percentile"], where="post", **kw)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log)")
    ax.set_ylabel("fraction of rows ≤ latency")
    ax.set_ylim(0, 1.02)
    ax.grid(True, which="both", alpha=0.3)


# ---------------------------------------------------------------- axes


def _plain(v, _pos=None):
    if v >= 1e9:
        return f"{v / 1e9:g}G"
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def tidy_log(ax, axis: str = "both", short: bool = False) -> None:
    """A log axis that spans whole decades, labelled 0.1, 1, 10 (or 1k, 1M with `short`),
    without the crowded minor labels matplotlib draws when data spans less than a decade."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for name in ("x", "y") if axis == "both" else (axis,):
        a = getattr(ax, f"{name}axis")
        if a.get_scale() != "log":
            continue
        lo, hi = (ax.get_xlim if name == "x" else ax.get_ylim)()
        if lo > 0 and hi > 0:
            lo, hi = 10 ** np.floor(np.log10(lo) + 1e-9), 10 ** np.ceil(np.log10(hi) - 1e-9)
            if hi <= lo:
                hi = lo * 10
            (ax.set_xlim if name == "x" else ax.set_ylim)(lo, hi)
        a.set_major_formatter(FuncFormatter(_plain if short else (lambda v, _p: f"{v:g}")))
        a.set_minor_formatter(NullFormatter())


# ---------------------------------------------------------------- output


def savefig(fig, folder: Path, name: str) -> Path:
    """Saves `fig` as `<folder>/fig-<name>.png` (and leaves it to be shown)."""
    path = Path(folder) / f"fig-{name}.png"
    fig.savefig(path, dpi=130, bbox_inches="tight")
    print(f"saved {path}")
    return path


def eps_label(v: float) -> str:
    """Events/s, short: 1.2M, 560k."""
    if v >= 1e9:
        return f"{v / 1e9:.2f}G"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.0f}k"
    return f"{v:.0f}"
