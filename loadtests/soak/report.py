"""The soak report (Markdown + PNG plots) from an analysed run."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from loadtests.soak import analysis, plots
from loadtests.soak.analysis import SoakResult
from loadtests.soak.workload import CATALOGUE_SIZE, MIX


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:.0f}"


def _median(values: np.ndarray) -> str:
    return "-" if len(values) == 0 else f"{np.median(values):.0f}"


def write_report(result: SoakResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.stem
    timeline_png, resources_png = f"{stem}_timeline.png", f"{stem}_resources.png"
    plots.timeline(result, path.parent / timeline_png)
    plots.resources(result, path.parent / resources_png, result.machine)
    path.write_text(render(result, timeline_png, resources_png))


def render(result: SoakResult, timeline_png: str, resources_png: str) -> str:
    meta, calls = result.meta, result.calls
    load = meta["load"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(meta["load_started"]))
    machine = result.machine
    busy = 100 * machine[:, 2].mean() if len(machine) else float("nan")
    load_avg = (machine[:, 1].mean(), machine[:, 1].max()) if len(machine) else (0, 0)
    out = [
        "# Soak: the served path under load while things fail",
        "",
        f"Run of {when}, schedule `{meta['schedule']}`: {result.duration_s / 60:.1f} minutes of "
        f"load, {len(calls.start)} calls, **{result.total_failed} failed**. Regenerate with "
        "`make soak` (30 minutes; `make soak-short` for the 3-minute version the test suite "
        "runs). How to read it: [docs/scaling.md](../../docs/scaling.md#reading-the-report).",
        "",
        f"**The machine was shared**: {meta['cpus']} cores used by other engineers' builds and "
        f"tests during the run (CPU busy {busy:.0f}% on average, load average "
        f"{load_avg[0]:.1f} mean / {load_avg[1]:.1f} max, see the resources plot). Latencies "
        "are therefore high and noisy in absolute terms; compare them within the run (before / "
        "during / after each fault).",
        "",
        "## What ran",
        "",
        "- **Triton**: two real `tritonserver` processes (a small untrained ASEN++ on the cpu "
        "target), found by both gateways through Kubernetes discovery (`ASEN_DISCOVERY="
        "kubernetes`) served by the EndpointSlice stand-in of `tests/discovery` (no API server "
        "can run here); each Triton is one slice, so scale-down marks its endpoint terminating.",
        "- **Gateways**: two `python -m gateway` processes. `gw-single` caches in one "
        "`redis-server` reached through a latency-adding TCP proxy; `gw-cluster` in a Redis "
        "Cluster of 3 masters + 3 replicas (`redis+cluster://`). Production would share one "
        "Redis; splitting runs both deployments under the same load.",
        f"- **Load**: locust, {load['users']} users x {load['rate_per_user']:g} calls/s "
        f"(constant throughput, {load['users'] * load['rate_per_user']:g} calls/s offered), "
        f"each user one gRPC channel balancing round-robin over both gateways with client-side "
        f"health checking; deadline {load['deadline_s']:g} s per call. Mix (weights): "
        + ", ".join(f"{name} {w}" for name, w in MIX.items())
        + f". Cached calls use a catalogue of {CATALOGUE_SIZE} images embedded and indexed "
        "(`UpsertItems`, every attribute, a category each) before the load; `new` calls send an "
        "image never seen before (computed by Triton). `SearchItems` asks the top 10 for one "
        "attribute, by a catalogue image or by an indexed item's id, half of them with a "
        "category filter; a search that finds nothing counts as failed (`EMPTY_RESULT`).",
        "- **Catalogue**: each gateway has its own Milvus Lite file (a Lite file belongs to one "
        "process; production shares a Milvus server), indexed with the same items.",
        "- All traffic on the loopback.",
        "",
        "## Targets",
        "",
    ]
    out += [f"- [{'x' if ok else ' '}] {name}" for name, ok in result.targets.items()]
    if meta["schedule"] != "full":
        out.append("- memory growth is judged on the 30-minute soak only")
    out += [
        "",
        "## Per fault",
        "",
        "Failed calls are those failing from the fault's begin until "
        f"{analysis.SETTLE_S:.0f} s after its end; *allowed* only for a SIGKILLed Triton, the "
        "calls in flight on it at that moment. *Recovered*: from the fault's begin until a "
        f"{analysis.RECOVERY_S:.0f} s window has no failure and a median latency within 1.5x "
        f"(+5 ms) of the one before. Latency windows: {analysis.WINDOW_S:.0f} s before, the "
        f"fault itself, {analysis.WINDOW_S:.0f} s after recovery. Redis errors: the gateways' "
        "`asen_gateway_cache_errors_total` increase (each error was a miss or a skipped write, "
        "never a failed call): they show the fail-open and timeout paths ran.",
        "",
        "| fault | what was done | lasted | failed calls (code: n) | allowed / not | "
        "recovered in | p50 ms before / during / after | p99 ms before / during / after | "
        "Redis errors counted (gw-single / gw-cluster) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in result.faults:
        codes = ", ".join(f"{c}: {n}" for c, n in sorted(f.failed_by_code.items())) or "none"
        recovery = "not recovered" if f.recovery_s is None else f"{f.recovery_s:.1f} s"
        lat = f.latency
        out.append(
            f"| {f.name} | {f.description} | {f.end - f.begin:.1f} s | {codes} | "
            f"{f.allowed} / {f.not_allowed} | {recovery} | "
            + " / ".join(_ms(lat[p]["p50"]) for p in ("before", "during", "after"))
            + " | "
            + " / ".join(_ms(lat[p]["p99"]) for p in ("before", "during", "after"))
            + " | "
            + " / ".join(str(f.cache_errors.get(g, 0)) for g in ("gw-single", "gw-cluster"))
            + " |"
        )
    outside = ", ".join(f"{c}: {n}" for c, n in sorted(result.outside_failures.items()))
    out += [
        "",
        f"Failed calls outside every fault window: {outside or 'none'}.",
        "",
        "## Per call type (whole run)",
        "",
        "| call | calls | failed | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for name in MIX:
        mine = calls.name == name
        figures = analysis.percentiles(calls.latency_ms[mine])
        failed = int((mine & calls.failed).sum())
        out.append(
            f"| {name} | {int(mine.sum())} | {failed} | {_ms(figures['p50'])} | "
            f"{_ms(figures['p99'])} |"
        )
    out += [
        "",
        f"![timeline]({timeline_png})",
        "",
        "## Gateway memory and connections",
        "",
        "Resident memory (RSS) of each gateway process; Milvus Lite runs inside it (threads, "
        f"no child process), so this is the whole pod. *After warm-up*: the mean over the last "
        f"{analysis.MEMORY_WINDOW_S:.0f} s of the {meta['warm_up_s']:.0f} s warm-up, before the "
        "first fault (for a process a fault restarted, the same time from its own start); *at "
        f"the end*: the mean over its last {analysis.MEMORY_WINDOW_S:.0f} s; the slope is a "
        "least-squares line from the first window to the end. Open connections: established "
        "TCP connections from clients, and out of the gateway (to both Tritons, Redis, and the "
        "in-process Milvus Lite server, whose loopback connections count twice).",
        "",
        "| gateway process | ran (s since load start) | MiB after warm-up | MiB at the end | "
        "peak MiB | growth | slope (MiB/h) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in result.memory:
        growth = "too short to judge" if m.growth is None else f"{100 * m.growth:+.1f}%"
        out.append(
            f"| {m.label} | {m.start:.0f} - {m.stop:.0f} | {m.baseline_mib:.1f} | "
            f"{m.end_mib:.1f} | {m.peak_mib:.1f} | {growth} | {m.slope_mib_per_h:+.1f} |"
        )
    out += [
        "",
        "| gateway process | client connections (median / max) | out: Triton + Redis + Milvus "
        "Lite, after warm-up / at the end / max |",
        "|---|---|---|",
    ]
    for m in result.memory:
        rows = result.samples[m.gateway]
        rows = rows[rows[:, 1] > 0]
        if rows.shape[1] > 7:
            pids = list(dict.fromkeys(rows[:, 7].tolist()))
            rows = rows[rows[:, 7] == pids[m.process - 1]]
        t, conns = rows[:, 0], rows[:, 2]
        upstream = rows[:, 6] if rows.shape[1] > 6 else np.zeros(len(rows))
        settled = m.start + meta["warm_up_s"]
        early = upstream[(t >= settled - analysis.MEMORY_WINDOW_S) & (t < settled)]
        late = upstream[t >= m.stop - analysis.MEMORY_WINDOW_S]
        out.append(
            f"| {m.label} | {np.median(conns):.0f} / {np.max(conns):.0f} | "
            f"{_median(early)} / {_median(late)} / {np.max(upstream):.0f} |"
        )
    out += ["", f"![resources]({resources_png})", ""]
    capacity = meta.get("capacity")
    if capacity:
        offered = load["users"] * load["rate_per_user"]
        out += [
            "## Raw capacity (h2load)",
            "",
            f"Before the load, `h2load` (C, HTTP/2) sent cached Compare calls to `gw-single` "
            f"for {capacity['seconds']} s with {capacity['clients']} connections x "
            f"{capacity['streams']} streams: **{capacity['requests_per_s']:.0f} calls/s** "
            f"({capacity['succeeded']} succeeded, {capacity['failed']} failed, p50 "
            f"{capacity['p50_ms']:.1f} ms, p99 {capacity['p99_ms']:.1f} ms). The soak offers "
            f"{offered:g} calls/s of a mix that is mostly far more expensive (uncached embeddings "
            "run the model), spread over two gateways.",
            "",
        ]
    return "\n".join(out) + "\n"
