"""The gRPC server itself, without a Triton behind it: API keys, TLS and mutual TLS handshakes,
health (NOT_SERVING with no Triton), reflection, message size and in-flight limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.api.auth import hash_key
from gateway.config import GatewayConfig
from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc
from gateway.server import Gateway

from .gw_support import INFO, ScriptedBackend, grpc_code, image_bytes, running_gateway


def _bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def test_api_keys(tmp_path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{hash_key('good-key')} tests\n")
    async with (
        running_gateway(api_keys_file=str(keys)) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        stub = pb_grpc.FashionSimilarityStub(channel)
        request = pb.ListAttributesRequest()
        assert await grpc_code(stub.ListAttributes(request)) == grpc.StatusCode.UNAUTHENTICATED
        wrong = stub.ListAttributes(request, metadata=_bearer("bad-key"))
        assert await grpc_code(wrong) == grpc.StatusCode.PERMISSION_DENIED
        # a valid key passes authentication; no Triton is running behind this gateway
        valid = stub.ListAttributes(request, metadata=_bearer("good-key"))
        assert await grpc_code(valid) == grpc.StatusCode.UNAVAILABLE
        health = health_pb2_grpc.HealthStub(channel)  # exempt: no key
        response = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert response.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def _health_over_tls(port: int, certs, client: str | None) -> grpc.StatusCode:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=certs["ca"].read_bytes(),
        private_key=certs[f"{client}.key"].read_bytes() if client else None,
        certificate_chain=certs[client].read_bytes() if client else None,
    )
    async with grpc.aio.secure_channel(f"localhost:{port}", credentials) as channel:
        request = health_pb2.HealthCheckRequest(service="asen.v1.FashionSimilarity")
        return await grpc_code(health_pb2_grpc.HealthStub(channel).Check(request, timeout=5))


async def test_tls_and_mutual_tls_handshakes(certs) -> None:
    tls = {"tls_cert": str(certs["server"]), "tls_key": str(certs["server.key"])}
    async with running_gateway(**tls) as gateway:
        assert await _health_over_tls(gateway.port, certs, None) == grpc.StatusCode.OK
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as plain:
            call = health_pb2_grpc.HealthStub(plain).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
            assert await grpc_code(call) == grpc.StatusCode.UNAVAILABLE
    async with running_gateway(**tls, tls_client_ca=str(certs["ca"])) as gateway:
        assert await _health_over_tls(gateway.port, certs, "client") == grpc.StatusCode.OK
        assert await _health_over_tls(gateway.port, certs, None) == grpc.StatusCode.UNAVAILABLE
        rogue = await _health_over_tls(gateway.port, certs, "rogue_client")
        assert rogue == grpc.StatusCode.UNAVAILABLE


async def test_reflection_lists_the_service() -> None:
    async with (
        running_gateway() as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def one() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for response in stub.ServerReflectionInfo(one()):
            names = {s.name for s in response.list_services_response.service}
            assert "asen.v1.FashionSimilarity" in names
            assert "grpc.health.v1.Health" in names


def _held_model(monkeypatch, gateway: Gateway) -> tuple[asyncio.Event, asyncio.Event]:
    """Serve INFO through a Triton call that waits until the test releases it (to hold a call
    in flight); returns (entered, release)."""
    entered, release = asyncio.Event(), asyncio.Event()
    backend = ScriptedBackend()

    async def held_infer(*args):
        entered.set()
        await release.wait()
        return await backend.infer(*args)

    monkeypatch.setattr(type(gateway.pool), "model_info", property(lambda self: INFO))
    monkeypatch.setattr(gateway.pool, "infer", held_infer)
    return entered, release


async def test_oversized_message_and_in_flight_limit(monkeypatch) -> None:
    options = [("grpc.max_send_message_length", 1 << 24)]
    async with (
        running_gateway(max_message_bytes=64 * 1024, max_in_flight=1) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}", options=options) as channel,
    ):
        stub = pb_grpc.FashionSimilarityStub(channel)
        big = pb.EmbedRequest(image=pb.ImageRef(data=b"\xff" * 100_000))
        assert await grpc_code(stub.Embed(big)) == grpc.StatusCode.RESOURCE_EXHAUSTED
        entered, release = _held_model(monkeypatch, gateway)
        request = pb.EmbedRequest(image=pb.ImageRef(data=image_bytes(3)))
        held = asyncio.ensure_future(stub.Embed(request, timeout=30))
        await entered.wait()  # the only in-flight slot is taken
        small = stub.ListAttributes(pb.ListAttributesRequest())
        assert await grpc_code(small) == grpc.StatusCode.RESOURCE_EXHAUSTED
        release.set()
        assert (await held).embeddings[0].attribute == "collar"
        assert await grpc_code(stub.ListAttributes(pb.ListAttributesRequest())) == (
            grpc.StatusCode.OK
        )


async def test_stop_drains_calls_in_flight(monkeypatch) -> None:
    """A call in flight when the gateway is told to stop still completes; new ones are refused.
    (The pool's Triton call is replaced by one the test releases, to hold the call in flight.)"""
    config = GatewayConfig(
        grpc_port=0, metrics_port=-1, triton_urls="127.0.0.1:1", shutdown_delay_seconds=0.1
    )
    gateway = Gateway(config)
    await gateway.start()
    entered, release = _held_model(monkeypatch, gateway)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        stub = pb_grpc.FashionSimilarityStub(channel)
        request = pb.EmbedRequest(image=pb.ImageRef(data=image_bytes(3)))
        in_flight = asyncio.ensure_future(stub.Embed(request, timeout=30))
        await entered.wait()
        stopping = asyncio.ensure_future(gateway.stop(grace=20))
        await asyncio.sleep(0.3)
        late = await grpc_code(stub.ListAttributes(pb.ListAttributesRequest(), timeout=5))
        assert late == grpc.StatusCode.UNAVAILABLE  # no new calls while draining
        release.set()
        response = await in_flight
        assert response.embeddings[0].attribute == "collar"
        await stopping
        assert stopping.exception() is None
