"""Figures of one soak from its raw data (runner.py): per fault, failed calls by status code and
whether they were allowed, time to recover, latency p50/p99 before / during / after; over the
run, throughput, latency and error rate per second, gateway memory and connections; and the
verdict on the targets.

Definitions (also in the report):
- a call *belongs to* a fault when it fails between the fault's begin and SETTLE_S after its
  end; failed calls that belong to no fault are counted on their own (target: none);
- allowed failures: only for a SIGKILLed Triton, calls in flight at the kill (started before it,
  ended after it);
- recovered: the first moment after the fault began from which a RECOVERY_S window has no
  failed call and a median latency within 1.5x (+5 ms) of the median before the fault;
- memory growth, per gateway process: mean resident memory over its last 60 s vs the last 60 s
  of the warm-up (the load's warm-up, before the first fault, for a process that ran from the
  start; the same time after its own start for one a fault restarted), judged where a process
  ran at least 60 s past its warm-up; the slope of a least-squares line from the warm-up's last
  60 s to the end is shown beside it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SETTLE_S = 20.0
RECOVERY_S = 5.0
WINDOW_S = 15.0
MEMORY_WINDOW_S = 60.0
MEMORY_GROWTH_LIMIT = 0.05  # of the post-warm-up memory, for the full soak


@dataclass
class Calls:
    start: np.ndarray  # seconds since the load started
    latency_ms: np.ndarray
    name: np.ndarray
    code: np.ndarray

    @property
    def end(self) -> np.ndarray:
        return self.start + self.latency_ms / 1000

    @property
    def failed(self) -> np.ndarray:
        return self.code != "OK"


@dataclass
class FaultFigures:
    name: str
    description: str
    begin: float  # seconds since the load started
    end: float
    allowed_rule: str
    failed_by_code: dict[str, int] = field(default_factory=dict)
    allowed: int = 0
    not_allowed: int = 0
    recovery_s: float | None = None
    latency: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> p50/p99/calls
    cache_errors: dict[str, int] = field(default_factory=dict)  # gateway -> Redis errors counted


@dataclass
class MemorySegment:
    """One gateway process's resident memory over the run (seconds since the load started)."""

    gateway: str
    process: int  # 1 = started before the load, 2 = its first restart, ...
    start: float
    stop: float
    baseline_mib: float  # mean over the warm-up's last 60 s (NaN when it did not run that long)
    end_mib: float  # mean over its last 60 s
    peak_mib: float
    growth: float | None  # end / baseline - 1; None when too short to judge
    slope_mib_per_h: float  # least-squares slope from the baseline window to the end

    @property
    def label(self) -> str:
        return self.gateway if self.process == 1 else f"{self.gateway} (restart {self.process - 1})"


@dataclass
class SoakResult:
    data: Path
    meta: dict
    calls: Calls
    # gateway -> rows of (t, rss, client connections, hits, misses, errors, upstream connections)
    samples: dict[str, np.ndarray]
    faults: list[FaultFigures]
    outside_failures: dict[str, int]
    memory: list[MemorySegment]
    duration_s: float
    machine: np.ndarray  # rows of (t, load average, CPU busy share)

    @property
    def memory_growth(self) -> dict[str, float]:
        """Judged gateway processes -> growth after warm-up (fraction)."""
        return {m.label: m.growth for m in self.memory if m.growth is not None}

    @property
    def total_failed(self) -> int:
        return int(self.calls.failed.sum())

    @property
    def targets(self) -> dict[str, bool]:
        checks = {
            f"{f.name}: no failed call beyond the allowed": f.not_allowed == 0 for f in self.faults
        }
        checks["no failed call outside the fault windows"] = not self.outside_failures
        checks["every fault recovered"] = all(f.recovery_s is not None for f in self.faults)
        if self.meta["schedule"] == "full":
            checks["memory growth judged for every gateway"] = {
                m.gateway for m in self.memory if m.growth is not None
            } == set(self.samples)
            for label, growth in self.memory_growth.items():
                checks[f"{label}: memory growth after warm-up < {MEMORY_GROWTH_LIMIT:.0%}"] = (
                    growth < MEMORY_GROWTH_LIMIT
                )
        return checks

    @property
    def targets_met(self) -> bool:
        return all(self.targets.values())

    def failed_calls(self, limit: int = 40) -> str:
        """The failed calls (start and end in seconds since the load started), for diagnosis."""
        c = self.calls
        rows = [
            f"  {c.start[i]:8.2f} -> {c.end[i]:8.2f}  {c.name[i]:18s} {c.code[i]}"
            for i in np.flatnonzero(c.failed)[:limit]
        ]
        windows = [f"  {f.name}: {f.begin:.2f} -> {f.end:.2f}" for f in self.faults]
        return "\n".join(["failed calls:", *rows, "fault windows:", *windows])

    def summary(self) -> str:
        lines = [
            f"soak ({self.meta['schedule']}): {len(self.calls.start)} calls in "
            f"{self.duration_s:.0f} s, {self.total_failed} failed",
        ]
        for f in self.faults:
            codes = ", ".join(f"{c} {n}" for c, n in sorted(f.failed_by_code.items())) or "none"
            recovery = "never" if f.recovery_s is None else f"{f.recovery_s:.1f} s"
            lines.append(
                f"  {f.name:20s} failed: {codes} (allowed {f.allowed}, not allowed "
                f"{f.not_allowed}); recovered in {recovery}; p99 before/during/after "
                + "/".join(f"{f.latency[p]['p99']:.0f}" for p in ("before", "during", "after"))
                + " ms"
            )
        lines.append(f"  failed outside fault windows: {self.outside_failures or 'none'}")
        for m in self.memory:
            growth = "not judged" if m.growth is None else f"{100 * m.growth:+.1f}%"
            lines.append(
                f"  {m.label}: memory {m.baseline_mib:.0f} -> {m.end_mib:.0f} MiB after warm-up "
                f"({growth}, {m.slope_mib_per_h:+.1f} MiB/h)"
            )
        lines += [f"  [{'x' if ok else ' '}] {name}" for name, ok in self.targets.items()]
        return "\n".join(lines)


def load_calls(path: Path, origin: float) -> Calls:
    rows = list(csv.reader(path.open())) if path.is_file() else []
    return Calls(
        start=np.array([float(r[0]) - origin for r in rows]),
        latency_ms=np.array([float(r[1]) for r in rows]),
        name=np.array([r[2] for r in rows], dtype=object),
        code=np.array([r[3] for r in rows], dtype=object),
    )


def load_samples(path: Path, origin: float) -> dict[str, np.ndarray]:
    by_gateway: dict[str, list[list[float]]] = {}
    for row in csv.reader(path.open()) if path.is_file() else []:
        values = [float(row[0]) - origin, *(float(v) for v in row[2:])]
        by_gateway.setdefault(row[1], []).append(values)
    return {name: np.array(rows) for name, rows in by_gateway.items()}


def percentiles(latency_ms: np.ndarray) -> dict[str, float]:
    if len(latency_ms) == 0:
        return {"p50": float("nan"), "p99": float("nan"), "calls": 0}
    return {
        "p50": float(np.percentile(latency_ms, 50)),
        "p99": float(np.percentile(latency_ms, 99)),
        "calls": int(len(latency_ms)),
    }


def _between(calls: Calls, lo: float, hi: float) -> np.ndarray:
    return (calls.start >= lo) & (calls.start < hi)


def recovery_time(calls: Calls, begin: float, baseline_p50: float, until: float) -> float | None:
    limit = 1.5 * baseline_p50 + 5.0
    t = begin
    while t + RECOVERY_S <= until:
        window = _between(calls, t, t + RECOVERY_S)
        failing = (calls.end >= t) & (calls.end < t + RECOVERY_S) & calls.failed
        ok = window.any() and not failing.any()
        if ok and np.median(calls.latency_ms[window]) <= limit:
            return t - begin
        t += 0.5
    return None


def analyse(data: Path) -> SoakResult:
    meta = json.loads((data / "faults.json").read_text())
    origin = meta["load_started"]
    duration = meta["load_stopped"] - origin
    calls = load_calls(data / "calls.csv", origin)
    samples = load_samples(data / "samples.csv", origin)
    windows = meta["faults"]
    claimed = np.zeros(len(calls.start), dtype=bool)
    figures: list[FaultFigures] = []
    for i, w in enumerate(windows):
        begin, end = w["begin"] - origin, w["end"] - origin
        next_begin = windows[i + 1]["begin"] - origin if i + 1 < len(windows) else duration
        f = FaultFigures(w["name"], w["description"], begin, end, w["allowed"])
        horizon = min(end + SETTLE_S, next_begin)
        mine = calls.failed & (calls.end >= begin) & (calls.end < horizon) & ~claimed
        claimed |= mine
        in_flight = (calls.start <= begin) & (calls.end >= begin)
        allowed = mine & in_flight if w["allowed"] == "in-flight at begin" else mine & False
        for code in calls.code[mine]:
            f.failed_by_code[code] = f.failed_by_code.get(code, 0) + 1
        f.allowed, f.not_allowed = int(allowed.sum()), int((mine & ~allowed).sum())
        before = calls.latency_ms[_between(calls, begin - WINDOW_S, begin)]
        f.latency["before"] = percentiles(before)
        f.latency["during"] = percentiles(
            calls.latency_ms[_between(calls, begin, max(end, begin + 5))]
        )
        f.recovery_s = recovery_time(calls, begin, f.latency["before"]["p50"], next_begin)
        recovered = begin + (f.recovery_s if f.recovery_s is not None else end - begin)
        f.latency["after"] = percentiles(
            calls.latency_ms[_between(calls, max(recovered, end), max(recovered, end) + WINDOW_S)]
        )
        f.cache_errors = {
            gateway: _counter_increase(rows, 5, begin, horizon)
            for gateway, rows in sorted(samples.items())
        }
        figures.append(f)
    outside: dict[str, int] = {}
    for code in calls.code[calls.failed & ~claimed]:
        outside[code] = outside.get(code, 0) + 1
    memory = memory_segments(samples, meta["warm_up_s"])
    machine = load_machine(data / "machine.csv", origin)
    return SoakResult(data, meta, calls, samples, figures, outside, memory, duration, machine)


def load_machine(path: Path, origin: float) -> np.ndarray:
    rows = [[float(v) for v in row] for row in csv.reader(path.open())] if path.is_file() else []
    machine = np.array(rows).reshape(-1, 3)
    machine[:, 0] -= origin
    return machine


def _counter_increase(rows: np.ndarray, column: int, begin: float, end: float) -> int:
    """How much a sampled counter grew between two moments (restarts counted from zero)."""
    inside = rows[(rows[:, 0] >= begin - 1.5) & (rows[:, 0] <= end)]
    values = inside[:, column][~np.isnan(inside[:, column])]
    if len(values) < 2:
        return 0
    steps = np.diff(values)
    return int(np.where(steps >= 0, steps, values[1:]).sum())


def memory_segments(samples: dict[str, np.ndarray], warm_up_s: float) -> list[MemorySegment]:
    """Per gateway process (told apart by the sampled pid): memory after warm-up vs at its end."""
    segments: list[MemorySegment] = []
    for gateway, rows in sorted(samples.items()):
        rows = rows[rows[:, 1] > 0]
        if len(rows) == 0:
            continue
        pids = rows[:, 7] if rows.shape[1] > 7 else np.zeros(len(rows))
        order = list(dict.fromkeys(pids.tolist()))  # in order of appearance
        for n, pid in enumerate(order, start=1):
            mine = rows[pids == pid]
            t, mib = mine[:, 0], mine[:, 1] / 2**20
            start, stop = (0.0 if n == 1 else float(t[0])), float(t[-1])
            settled = start + warm_up_s
            early = mib[(t >= settled - MEMORY_WINDOW_S) & (t < settled)]
            late = mib[t >= stop - MEMORY_WINDOW_S]
            judged = stop - settled >= MEMORY_WINDOW_S and len(early) and len(late)
            span = t >= settled - MEMORY_WINDOW_S
            slope = (
                float(np.polyfit(t[span], mib[span], 1)[0] * 3600)
                if span.sum() >= 10
                else float("nan")
            )
            segments.append(
                MemorySegment(
                    gateway=gateway,
                    process=n,
                    start=start,
                    stop=stop,
                    baseline_mib=float(early.mean()) if len(early) else float("nan"),
                    end_mib=float(late.mean()),
                    peak_mib=float(mib.max()),
                    growth=float(late.mean() / early.mean() - 1) if judged else None,
                    slope_mib_per_h=slope,
                )
            )
    return segments
