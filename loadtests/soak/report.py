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
        "runs).",
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
        + f". Cached calls use a catalogue of {CATALOGUE_SIZE} images embedded before the load; "
        "`new` calls send an image never seen before (computed by Triton). Catalogue search is "
        "not in the mix yet (not on main when this ran).",
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
        "| gateway | memory after warm-up (MiB) | at the end (MiB) | growth | client "
        "connections (median / max) | to Triton + Redis (median / max) |",
        "|---|---|---|---|---|---|",
    ]
    for gateway, rows in sorted(result.samples.items()):
        t, rss, conns = rows[:, 0], rows[:, 1] / 2**20, rows[:, 2]
        upstream = rows[:, 6] if rows.shape[1] > 6 else np.zeros(len(rows))
        warm = rss[(t >= meta["warm_up_s"]) & (t < meta["warm_up_s"] + 60) & (rss > 0)]
        end = rss[(t >= result.duration_s - 60) & (rss > 0)]
        growth = result.memory_growth.get(gateway)
        shown = "restarted by a fault" if growth is None else f"{100 * growth:+.1f}%"
        out.append(
            f"| {gateway} | {np.mean(warm):.1f} | {np.mean(end):.1f} | {shown} | "
            f"{np.median(conns):.0f} / {np.max(conns):.0f} | "
            f"{np.median(upstream):.0f} / {np.max(upstream):.0f} |"
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
            f"({capacity['succeeded']} succeeded, {capacity['failed']} failed, mean "
            f"{capacity['mean_ms']:.1f} ms). The soak offers {offered:g} calls/s of a mix that is "
            "mostly far more expensive (uncached embeddings run the model), spread over two "
            "gateways.",
            "",
        ]
    return "\n".join(out) + "\n"
