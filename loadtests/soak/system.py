"""The system under soak, all local processes on the loopback: two Triton "pods" found through
Kubernetes discovery (the EndpointSlice stand-in), two gateways, and Redis in both deployments:
gateway `gw-single` caches in one redis-server reached through a latency-adding proxy, gateway
`gw-cluster` in a Redis Cluster of 3 masters + 3 replicas. (Production would point both
gateways at one Redis; splitting them runs both deployments under the same load in one run.)
Each gateway has its own catalogue, a Milvus Lite file in the work folder (a Lite file belongs
to one process; production shares a Milvus server), indexed with the same items.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

from asen.triton.ports import free_port
from loadtests.soak.discovery import Discovery
from loadtests.soak.gateway_proc import ROOT, GatewayProcess
from loadtests.soak.redis_local import RedisClusterLocal, RedisLocal, wait_until
from loadtests.soak.triton_proc import TritonProcess

PROXY_DELAY_MS = 400  # above the gateway's 0.25 s Redis timeout: the timeout path runs


class SoakSystem:
    def __init__(self, repository: Path, workdir: Path, gateway_env: dict[str, str]) -> None:
        self.workdir = workdir
        self.redis = RedisLocal(workdir / "redis")
        self.cluster = RedisClusterLocal(workdir / "cluster")
        self.proxy_port = free_port()
        self.proxy: subprocess.Popen | None = None
        self.discovery = Discovery(workdir)
        self.tritons = [TritonProcess(f"triton-{i}", repository, workdir) for i in (1, 2)]
        common = {
            **self.discovery.gateway_env(self.tritons[0].grpc_port),
            "ASEN_LOG_LEVEL": "WARNING",
            "ASEN_SHUTDOWN_GRACE_SECONDS": "10",
            **gateway_env,
        }
        self.gateways = [
            GatewayProcess(
                "gw-single",
                {
                    **common,
                    "ASEN_REDIS_URL": f"redis://127.0.0.1:{self.proxy_port}/0",
                    "ASEN_CATALOGUE_URI": str((workdir / "gw-single-catalogue.db").resolve()),
                },
                workdir,
            ),
            GatewayProcess(
                "gw-cluster",
                {
                    **common,
                    "ASEN_REDIS_URL": self.cluster.url,
                    "ASEN_CATALOGUE_URI": str((workdir / "gw-cluster-catalogue.db").resolve()),
                },
                workdir,
            ),
        ]

    @property
    def gateway_addresses(self) -> list[str]:
        return [g.address for g in self.gateways]

    def start(self) -> None:
        try:
            self.redis.start()
            self.cluster.start()
            self.start_proxy()
            for triton in self.tritons:
                triton.start()
                self.discovery.publish(triton.name, triton.grpc_port, ready=True)
            for gateway in self.gateways:
                gateway.start()
        except BaseException:
            self.stop()
            raise

    def start_proxy(self) -> None:
        log = open(self.workdir / "proxy.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proxy = subprocess.Popen(
            [sys.executable, "-m", "loadtests.soak.latency_proxy", "--listen",
             str(self.proxy_port), "--target", f"127.0.0.1:{self.redis.port}",
             "--delay-ms", str(PROXY_DELAY_MS)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_until(self._proxy_listening, 30, "the latency proxy")

    def _proxy_listening(self) -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.proxy_port)) == 0

    def slow_redis(self, slow: bool) -> None:
        assert self.proxy is not None
        self.proxy.send_signal(signal.SIGUSR1 if slow else signal.SIGUSR2)

    def stop(self) -> None:
        for gateway in self.gateways:
            with contextlib.suppress(Exception):
                gateway.stop()
        for triton in self.tritons:
            with contextlib.suppress(Exception):
                triton.stop()
        if self.proxy is not None:
            self.proxy.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proxy.wait(timeout=10)
            self.proxy = None
        self.cluster.stop()
        self.redis.stop()
        self.discovery.close()

    def ports(self) -> list[int]:
        """Every loopback port a process of the system listens on (all closed after stop())."""
        ports = [self.redis.port, self.proxy_port, *(node.port for node in self.cluster.nodes)]
        for triton in self.tritons:
            ports += [triton.http_port, triton.grpc_port, triton.metrics_port]
        for gateway in self.gateways:
            ports += [gateway.port, gateway.metrics_port]
        return ports

    def pids(self) -> dict[str, int]:
        """Processes to watch: the gateways (their memory and connections are sampled)."""
        return {g.name: g.pid for g in self.gateways if g.pid is not None}


def wait_serving(gateway: GatewayProcess, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while gateway.health() != "SERVING":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{gateway.name} not SERVING after {timeout:.0f} s")
        time.sleep(0.1)
