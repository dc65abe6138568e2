"""Samples each gateway every second while the soak runs: resident memory, established TCP
connections, and its cache counters (so the report can show hit rate through cache faults);
and the machine: load average and the share of CPU time busy (the cores are shared)."""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from pathlib import Path

from loadtests.soak.gateway_proc import GatewayProcess

_COUNTERS = (
    "asen_gateway_cache_hits_total",
    "asen_gateway_cache_misses_total",
    "asen_gateway_cache_errors_total",
)


class Sampler:
    """Writes CSV lines `time,gateway,rss_bytes,client_conns,hits,misses,cache_errors,
    upstream_conns,pid` (client connections in; out: to Triton, Redis and the in-process
    Milvus Lite server, whose loopback connections count twice: both ends are the gateway's);
    the pid tells a restarted gateway's processes apart."""

    def __init__(
        self, gateways: list[GatewayProcess], path: Path, machine: Path, interval: float = 1.0
    ) -> None:
        self.gateways = gateways
        self.path = path
        self.machine = machine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        busy, total = _cpu_times()
        with open(self.path, "a", buffering=1) as out, open(self.machine, "a", buffering=1) as m:
            while not self._stop.wait(self.interval):
                now = time.time()
                busy_now, total_now = _cpu_times()
                share = (busy_now - busy) / max(1, total_now - total)
                busy, total = busy_now, total_now
                m.write(f"{now:.3f},{os.getloadavg()[0]:.2f},{share:.3f}\n")
                for gateway in self.gateways:
                    pid = gateway.pid
                    if pid is None:
                        continue
                    hits, misses, errors = _counters(gateway.metrics_url)
                    inbound, outbound = gateway.open_connections()
                    out.write(
                        f"{now:.3f},{gateway.name},{gateway.memory_bytes()},"
                        f"{inbound},{hits},{misses},{errors},{outbound},{pid}\n"
                    )


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _counters(url: str) -> tuple[float, float, float]:
    """The cache counters of one gateway, summed over their labels (NaN when its metrics port
    does not answer; 0 for a counter it does not show yet, e.g. errors before the first)."""
    try:
        text = urllib.request.urlopen(url, timeout=1).read().decode()
    except OSError:
        return (float("nan"),) * len(_COUNTERS)  # type: ignore[return-value]
    values = dict.fromkeys(_COUNTERS, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in values:
            values[name] += float(line.rsplit(" ", 1)[1])
    return tuple(values.values())  # type: ignore[return-value]
