"""grpc.health.v1 status that follows Triton readiness: NOT_SERVING while no endpoint is ready.

Load balancers and Kubernetes probes then route around a gateway whose Triton is down, and the
gateway comes back to SERVING by itself once the Triton pool sees a ready endpoint again.
"""

from __future__ import annotations

import asyncio

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

SERVICE_NAME = "asen.v1.FashionSimilarity"


class GatewayHealth:
    def __init__(self) -> None:
        self.servicer = HealthServicer()
        self._tasks: set[asyncio.Task] = set()

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", SERVICE_NAME):
            await self.servicer.set(service, status)

    def on_readiness(self, ready: bool) -> None:
        """Synchronous callback for the Triton pool."""
        task = asyncio.get_running_loop().create_task(self.set_serving(ready))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def shutdown(self) -> None:
        await self.servicer.enter_graceful_shutdown()
