"""grpc.health.v1 status of the gateway: liveness and readiness are separate service names.

- `liveness`: SERVING while the process runs and is not shutting down. It never depends on
  Triton, so a gateway waiting for Triton (a fresh install loading models for many minutes, an
  outage) is not restarted by the kubelet into CrashLoopBackOff.
- `""` and `asen.v1.FashionSimilarity` (readiness): SERVING iff the gateway can serve, i.e. the
  Triton pool has a ready endpoint. Load balancers and readiness probes route around a gateway
  whose Triton is down; it comes back to SERVING by itself when Triton does.

On shutdown every name turns NOT_SERVING (and stays so) before in-flight calls are drained.
"""

from __future__ import annotations

import asyncio

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

SERVICE_NAME = "asen.v1.FashionSimilarity"
LIVENESS = "liveness"
READINESS_NAMES = ("", SERVICE_NAME)
# What a probe asks for, by the question it answers.
CHECKS = {"liveness": LIVENESS, "readiness": SERVICE_NAME}

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class GatewayHealth:
    def __init__(self) -> None:
        self.servicer = HealthServicer()
        self._tasks: set[asyncio.Task] = set()

    async def set_serving(self, serving: bool) -> None:
        """Readiness follows `serving`; liveness is SERVING whenever this is called (the process
        is up), unless a shutdown has begun (the servicer then ignores every change)."""
        await self.servicer.set(LIVENESS, _SERVING)
        for service in READINESS_NAMES:
            await self.servicer.set(service, _SERVING if serving else _NOT_SERVING)

    def on_readiness(self, ready: bool) -> None:
        """Synchronous callback for the Triton pool."""
        task = asyncio.get_running_loop().create_task(self.set_serving(ready))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def shutdown(self) -> None:
        await self.servicer.enter_graceful_shutdown()
