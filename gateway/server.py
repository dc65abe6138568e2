"""Assembles and runs the gateway: gRPC server, service, health, reflection, auth, TLS, cache,
Triton pool, endpoint discovery and the metrics port; stops gracefully (drains in-flight calls).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway import metrics
from gateway.api.admission import InFlightLimiter
from gateway.api.auth import ApiKeyInterceptor, load_keys
from gateway.api.call_guard import CallGuard
from gateway.api.connections import open_connections, server_options
from gateway.api.servicer import FashionSimilarityServicer, StreamSettings
from gateway.api.stream_admission import StreamAdmission
from gateway.cache.backend import CacheBackend
from gateway.cache.factory import make_cache
from gateway.catalogue.api import catalogue_service
from gateway.catalogue.service import CatalogueService
from gateway.config import GatewayConfig
from gateway.core.embedder import Embedder
from gateway.core.hot_entries import HotEntries
from gateway.core.service import SimilarityService
from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc
from gateway.health import GatewayHealth
from gateway.metrics_server import MetricsServer
from gateway.triton.pool import TritonPool

log = logging.getLogger(__name__)


class Gateway:
    """One gateway instance. `await start()`, then `await stop()` (or `serve_until(event)`)."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.health = GatewayHealth()
        self.pool = TritonPool(
            config.triton_model,
            on_readiness=self.health.on_readiness,
            pinned_version=config.model_version,
        )
        self.cache: CacheBackend = make_cache(config)
        self._server: grpc.aio.Server | None = None
        self._discovery: Any = None
        self._metrics_server: MetricsServer | None = None
        self.catalogue: CatalogueService | None = None
        self.port = 0
        self.metrics_port = 0

    async def start(self) -> None:
        config = self.config
        log.info("gateway configuration", extra={"config": config.masked()})
        interceptors = []
        if config.api_keys_file:
            keys = load_keys(Path(config.api_keys_file))
            interceptors.append(ApiKeyInterceptor(keys, config.error_log_per_second))
            log.info("API keys required", extra={"keys": sorted(keys.values())})
        server = grpc.aio.server(interceptors=interceptors, options=server_options(config))
        embedder = Embedder(
            self.pool,
            self.cache,
            config.max_image_pixels,
            cache_dtype=config.cache_dtype,
            compute_timeout=config.triton_timeout_seconds,
            hot=HotEntries(config.hot_entries, _hot_seconds(config)),
        )
        self.core = SimilarityService(self.pool, embedder, config.max_candidates)
        guard = CallGuard(
            InFlightLimiter(config.max_in_flight),
            StreamAdmission(config.max_streams, config.max_streams_per_caller),
            config.request_timeout_seconds,
            config.error_log_per_second,
        )
        streams = StreamSettings(config.stream_window, config.stream_idle_timeout_seconds)
        self.catalogue = catalogue_service(self.core, config)
        servicer = FashionSimilarityServicer(self.core, guard, streams, self.catalogue)
        pb_grpc.add_FashionSimilarityServicer_to_server(servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health.servicer, server)
        await self.health.set_serving(False)
        reflection.enable_server_reflection(
            (
                pb.DESCRIPTOR.services_by_name["FashionSimilarity"].full_name,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            server,
        )
        address = f"{config.grpc_host}:{config.grpc_port}"
        if config.tls_cert:
            self.port = server.add_secure_port(address, _server_credentials(config))
        else:
            self.port = server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        self._server = server
        await self.pool.start()
        await self._start_discovery()
        if config.metrics_port >= 0:
            self._metrics_server = MetricsServer(config.metrics_host, config.metrics_port)
            self.metrics_port = await self._metrics_server.start()
            metrics.OPEN_CONNECTIONS.set_function(lambda: open_connections(self.port))
        await server.start()
        log.info(
            "gateway listening",
            extra={
                "port": self.port,
                "metrics_port": self.metrics_port,
                "tls": bool(config.tls_cert),
            },
        )

    async def _start_discovery(self) -> None:
        config = self.config
        if config.discovery == "kubernetes":
            from gateway.discovery.kubernetes import EndpointSliceWatcher

            self._discovery = EndpointSliceWatcher(
                namespace=config.k8s_namespace,
                service=config.k8s_service,
                port=config.triton_grpc_port,
                on_change=self.pool.set_endpoints,
            )
        else:
            from gateway.discovery.static import StaticEndpoints

            self._discovery = StaticEndpoints(config.triton_url_list, self.pool.set_endpoints)
        await self._discovery.start()

    async def stop(self, grace: float | None = None) -> None:
        """NOT_SERVING first, and keep accepting calls for `shutdown_delay_seconds` so that
        health-checking clients and balancers move away (calls sent meanwhile still succeed);
        then refuse new calls, drain those in flight for up to `grace`, and close."""
        grace = self.config.shutdown_grace_seconds if grace is None else grace
        log.info("gateway stopping", extra={"grace_seconds": grace})
        await self.health.shutdown()
        if self._server is not None and self.config.shutdown_delay_seconds > 0:
            await asyncio.sleep(self.config.shutdown_delay_seconds)
        if self._server is not None:
            await self._server.stop(grace)
        if self._discovery is not None:
            await self._discovery.stop()
        await self.pool.stop()
        await self.cache.close()
        if self.catalogue is not None:
            await self.catalogue.close()
        if self._metrics_server is not None:
            await self._metrics_server.stop()
        log.info("gateway stopped")

    async def serve_until(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def _hot_seconds(config: GatewayConfig) -> float:
    """Hot entries live no longer than the shared cache keeps a value (0 there = no TTL)."""
    if config.cache_ttl_seconds > 0:
        return min(config.hot_entry_seconds, config.cache_ttl_seconds)
    return config.hot_entry_seconds


def _server_credentials(config: GatewayConfig) -> grpc.ServerCredentials:
    key = Path(config.tls_key).read_bytes()
    cert = Path(config.tls_cert).read_bytes()
    client_ca = Path(config.tls_client_ca).read_bytes() if config.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
