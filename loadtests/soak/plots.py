"""The soak's PNG plots: the timeline (throughput, error rate, latency percentiles, cache hit
ratio) and resources (gateway memory, connections, machine CPU), fault windows shaded."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from loadtests.soak.analysis import SoakResult  # noqa: E402

BUCKET_S = 5.0
STARTUP_S = 15.0  # a gateway's first seconds (imports, first connections) left off the zoom


def _buckets(result: SoakResult) -> np.ndarray:
    return np.arange(0, result.duration_s + BUCKET_S, BUCKET_S)


def _shade(axes, result: SoakResult, label: bool = False) -> None:
    colours = plt.cm.tab10.colors
    for i, f in enumerate(result.faults):
        axes.axvspan(f.begin, max(f.end, f.begin + 1), color=colours[i % 10], alpha=0.18, lw=0)
        if label:
            axes.text(
                f.begin, 1.02, f.name, rotation=30, fontsize=7, transform=axes.get_xaxis_transform()
            )


def timeline(result: SoakResult, path: Path) -> None:
    calls = result.calls
    edges = _buckets(result)
    centres = edges[:-1] + BUCKET_S / 2
    index = np.digitize(calls.start, edges) - 1
    total = np.bincount(index, minlength=len(centres))[: len(centres)]
    failed = np.bincount(index, weights=calls.failed, minlength=len(centres))[: len(centres)]
    p50 = np.full(len(centres), np.nan)
    p99 = np.full(len(centres), np.nan)
    for b in range(len(centres)):
        values = calls.latency_ms[index == b]
        if len(values):
            p50[b], p99[b] = np.percentile(values, 50), np.percentile(values, 99)
    figure, axes = plt.subplots(4, 1, figsize=(12, 11), sharex=True)
    axes[0].plot(centres, total / BUCKET_S, label="calls/s")
    axes[0].set_ylabel("throughput (calls/s)")
    axes[1].bar(centres, 100 * failed / np.maximum(total, 1), width=BUCKET_S, color="tab:red")
    axes[1].set_ylabel("failed calls (%)")
    axes[1].set_ylim(0, max(1.0, float(np.nanmax(100 * failed / np.maximum(total, 1)))) * 1.2)
    axes[2].plot(centres, p50, label="p50")
    axes[2].plot(centres, p99, label="p99")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("latency (ms)")
    axes[2].legend(loc="upper right")
    for gateway, rows in sorted(result.samples.items()):
        t, hits, misses = rows[:, 0], rows[:, 3], rows[:, 4]
        ratio = np.full(len(centres), np.nan)
        for b in range(len(centres)):
            inside = (t >= edges[b]) & (t < edges[b + 1] + 1)
            if inside.sum() >= 2:
                h, m = np.diff(hits[inside]).sum(), np.diff(misses[inside]).sum()
                ratio[b] = 100 * h / (h + m) if h + m > 0 else np.nan
        axes[3].plot(centres, ratio, label=gateway)
    axes[3].set_ylabel("cache hit ratio (%)")
    axes[3].set_ylim(0, 105)
    axes[3].legend(loc="lower right")
    axes[3].set_xlabel("seconds since the load started")
    for i, ax in enumerate(axes):
        _shade(ax, result, label=i == 0)
        ax.grid(alpha=0.3)
    figure.suptitle(
        f"Soak ({result.meta['schedule']}): {len(calls.start)} calls, "
        f"{result.total_failed} failed; shaded: fault windows",
        y=0.995,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def resources(result: SoakResult, path: Path, machine: np.ndarray | None) -> None:
    figure, axes = plt.subplots(3, 1, figsize=(12, 8), sharex=True)
    colours = dict(zip(sorted(result.samples), plt.cm.Dark2.colors, strict=False))
    settled: list[float] = []  # memory once each process is past its first seconds
    for gateway, rows in sorted(result.samples.items()):
        running = rows[:, 1] > 0
        pids = rows[:, 7] if rows.shape[1] > 7 else np.zeros(len(rows))
        for n, pid in enumerate(dict.fromkeys(pids[running].tolist())):
            mine = running & (pids == pid)  # one line per process: a restart is a new line
            started = rows[mine, 0][0] if mine.any() else 0.0
            settled += list(rows[mine & (rows[:, 0] > started + STARTUP_S), 1] / 2**20)
            axes[0].plot(
                rows[mine, 0],
                rows[mine, 1] / 2**20,
                color=colours[gateway],
                label=gateway if n == 0 else None,
            )
        line = axes[1].plot(
            rows[running, 0],
            rows[running, 2],
            label=f"{gateway}: clients",
            color=colours[gateway],
        )
        if rows.shape[1] > 6:
            axes[1].plot(
                rows[running, 0],
                rows[running, 6],
                "--",
                color=line[0].get_color(),
                label=f"{gateway}: out (Triton, Redis, Milvus Lite)",
            )
    axes[0].axvline(result.meta["warm_up_s"], color="grey", ls=":", lw=1)
    axes[0].text(
        result.meta["warm_up_s"], 0.03, " end of warm-up", fontsize=7,
        transform=axes[0].get_xaxis_transform(),
    )  # fmt: skip
    if settled:  # zoom on the steady state: a restarted process's start-up ramp is cut off
        low, high = min(settled), max(settled)
        margin = max(5.0, 0.15 * (high - low))
        axes[0].set_ylim(low - margin, high + margin)
    axes[0].set_ylabel("gateway memory (MiB RSS)")
    axes[0].legend(loc="lower right")
    axes[1].set_ylabel("open TCP connections")
    axes[1].legend(loc="lower center", ncol=2, fontsize=7, framealpha=0.7)
    if machine is not None and len(machine):
        axes[2].plot(machine[:, 0], 100 * machine[:, 2], label="CPU busy (% of all cores)")
        axes[2].plot(machine[:, 0], machine[:, 1], label="load average (1 min)")
        axes[2].legend(loc="upper right")
    axes[2].set_ylabel("machine")
    axes[2].set_xlabel("seconds since the load started")
    for i, ax in enumerate(axes):
        _shade(ax, result, label=i == 0)
        ax.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
