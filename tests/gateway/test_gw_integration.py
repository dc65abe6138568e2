"""End to end: client -> `python -m gateway` -> real tritonserver (small exported ASEN++), with a
real redis-server as the embedding cache. Tests that stop Redis or Triton come last."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import redis
from PIL import Image

from asen.client import AsenClient, ClientError, Sha256Ref
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from gateway.cache.entry import CachedEmbedding

from .gw_support import GatewayProcess, RedisProcess, image_bytes, png_bomb, scrape, wait_for

MAX_CANDIDATES = 8
MAX_MESSAGE_BYTES = 1024 * 1024


@dataclass
class Stack:
    triton: TritonServer
    gateway: GatewayProcess
    redis: RedisProcess
    client: AsenClient | None
    checkpoint: Path

    def triton_metric(self, name: str) -> float:
        """Triton's counter for the ensemble, once it has settled (Triton may count a request
        a moment after its response has been sent)."""
        value = scrape(self.triton.metrics_url, name, {"model": "asen"})
        for _ in range(50):
            time.sleep(0.2)
            again = scrape(self.triton.metrics_url, name, {"model": "asen"})
            if again == value:
                return value
            value = again
        return value


@pytest.fixture(scope="module")
def stack(exported_model, redis_server, tmp_path_factory) -> Stack:
    logs = tmp_path_factory.mktemp("logs")
    http, grpc_port, metrics = free_ports(3)
    triton = TritonServer(
        exported_model.repository, http, grpc_port, metrics, log_path=logs / "triton.log"
    )
    triton.start(timeout=300)
    gateway = GatewayProcess(
        {
            "ASEN_TRITON_URLS": triton.grpc_url,
            "ASEN_REDIS_URL": redis_server.url,
            "ASEN_MAX_CANDIDATES": str(MAX_CANDIDATES),
            "ASEN_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
            # generous: a loaded test machine must not turn a slow Redis reply into a miss
            "ASEN_REDIS_TIMEOUT_SECONDS": "2",
        },
        logs / "gateway.log",
    )
    stack = Stack(triton, gateway, redis_server, None, exported_model.checkpoint)
    try:
        gateway.start()
        stack.client = AsenClient(
            gateway.address, timeout=60, max_message_bytes=8 * MAX_MESSAGE_BYTES
        )
        yield stack
        stack.client.close()
    finally:
        stack.gateway.stop()
        stack.triton.stop()  # a test may have replaced it by a restarted one


@pytest.fixture(scope="module")
def reference(exported_model):
    """In-process embedding of the same checkpoint (what `asen embed` computes)."""
    from asen.checkpoint import load_checkpoint
    from asen.inference import Embedder

    checkpoint = load_checkpoint(exported_model.checkpoint)
    embedder = Embedder(checkpoint)
    names = list(exported_model.attributes)

    def embed(data: bytes, attribute: str) -> tuple[np.ndarray, np.ndarray]:
        image = Image.open(io.BytesIO(data)).convert("RGB")
        result = embedder.embed_image(image, [names.index(attribute)])
        return result.fused[0], result.roi[0]

    return embed


_seeds = iter(range(1000, 100000))


def fresh_image(fmt: str = "JPEG") -> bytes:
    """An image no earlier test has sent (so it is not cached yet)."""
    seed = next(_seeds)
    return image_bytes(seed, size=(64 + seed % 50, 96 - seed % 30), fmt=fmt)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def error_of(call) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_list_attributes(stack, exported_model) -> None:
    result = stack.client.list_attributes()
    assert [a.name for a in result.attributes] == list(exported_model.attributes)
    assert result.attributes[0].value_names == ["round", "v_neck", "peter_pan"]
    assert result.model_version.startswith("ckpt-")
    assert 0 < result.global_dim < result.embedding_dim


def test_embed_and_compare_match_the_in_process_reference(stack, reference) -> None:
    a, b = fresh_image("JPEG"), fresh_image("PNG")
    embedded = stack.client.embed(a, ["collar_design", "lapel_design"])
    for name, result in embedded.embeddings.items():
        expected, roi = reference(a, name)
        np.testing.assert_allclose(result.vector, expected, atol=2e-3)
        np.testing.assert_allclose(result.roi, roi, atol=1.0)
    compared = stack.client.compare(a, b)
    assert set(compared.scores) == {"collar_design", "sleeve_length", "lapel_design"}
    for name, score in compared.scores.items():
        expected = float(reference(a, name)[0] @ reference(b, name)[0])
        assert score.similarity == pytest.approx(expected, abs=2e-3)
    assert compared.a_sha256 == sha(a) and compared.b_sha256 == sha(b)


def _asen_embed(checkpoint: Path, image: Path, attributes: list[str]) -> dict[str, np.ndarray]:
    """Fused embeddings as `asen embed --json` prints them."""
    flags = [arg for name in attributes for arg in ("--attribute", name)]
    result = subprocess.run(
        [sys.executable, "-m", "asen", "embed", "--checkpoint", str(checkpoint),
         "--image", str(image), *flags, "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    document = json.loads(result.stdout)
    rows = document.get("results", [document])
    return {row["attribute"]: np.asarray(row["embedding"], dtype=np.float64) for row in rows}


def test_compare_equals_the_dot_product_of_asen_embed(stack, exported_model, tmp_path) -> None:
    a, b = tmp_path / "a.jpg", tmp_path / "b.png"
    a.write_bytes(fresh_image("JPEG"))
    b.write_bytes(fresh_image("PNG"))
    names = list(exported_model.attributes)
    expected_a = _asen_embed(exported_model.checkpoint, a, names)
    expected_b = _asen_embed(exported_model.checkpoint, b, names)
    compared = stack.client.compare(a, b)
    for name in names:
        expected = float(expected_a[name] @ expected_b[name])
        assert compared.scores[name].similarity == pytest.approx(expected, abs=2e-3)


def test_rank_orders_candidates_like_the_reference(stack, reference) -> None:
    query = fresh_image()
    candidates = [fresh_image() for _ in range(6)]
    result = stack.client.rank(query, "sleeve_length", candidates)
    q = reference(query, "sleeve_length")[0]
    expected = [float(q @ reference(c, "sleeve_length")[0]) for c in candidates]
    got = [r.similarity for r in result.results]
    assert got == sorted(got, reverse=True)
    np.testing.assert_allclose(got, sorted(expected, reverse=True), atol=2e-3)
    assert {r.index for r in result.results} == set(range(6))
    top = stack.client.rank(query, "sleeve_length", candidates, top_k=2)
    assert [r.index for r in top.results] == [r.index for r in result.results[:2]]


def test_repeated_call_is_answered_from_the_cache(stack) -> None:
    a, b = fresh_image(), fresh_image()
    before_first = stack.triton_metric("nv_inference_request_success")
    first = stack.client.compare(a, b, ["collar_design"])
    after_first = stack.triton_metric("nv_inference_request_success")
    assert after_first > before_first  # the counter does move when Triton computes

    def hits() -> float:  # from Redis, or from the gateway's hot entries in front of it
        return sum(
            stack.gateway.metric("asen_gateway_cache_hits_total", {"backend": backend})
            for backend in ("redis", "hot")
        )

    before = hits()
    again = stack.client.compare(a, b, ["collar_design"])
    by_reference = stack.client.compare(Sha256Ref(sha(a)), Sha256Ref(sha(b)), ["collar_design"])
    assert stack.triton_metric("nv_inference_request_success") == after_first
    assert hits() >= before + 4
    assert again.scores == first.scores == by_reference.scores
    keys = redis.Redis.from_url(stack.redis.url).keys(f"asen:*:collar_design:{sha(a)}")
    assert len(keys) == 1


def test_several_attributes_of_one_image_are_one_triton_row(stack) -> None:
    image = fresh_image()
    rows = stack.triton_metric("nv_inference_count")
    requests = stack.triton_metric("nv_inference_request_success")
    result = stack.client.embed(image)  # all three attributes
    assert len(result.embeddings) == 3
    assert stack.triton_metric("nv_inference_request_success") == requests + 1
    assert stack.triton_metric("nv_inference_count") == rows + 1


def test_concurrent_misses_of_one_image_cost_one_triton_call(stack) -> None:
    image = fresh_image()
    requests = stack.triton_metric("nv_inference_request_success")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: stack.client.embed(image, ["lapel_design"]), range(8)))
    assert stack.triton_metric("nv_inference_request_success") == requests + 1
    vectors = {r.embeddings["lapel_design"].vector.tobytes() for r in results}
    assert len(vectors) == 1


def test_attention_maps_on_request(stack) -> None:
    result = stack.client.embed(fresh_image(), ["collar_design"], include_attention=True)
    attention = result.embeddings["collar_design"].attention
    assert attention is not None and attention.ndim == 2 and attention.size > 1


def test_embed_stream_reports_bad_items_and_goes_on(stack) -> None:
    images = [fresh_image() for _ in range(5)]
    images.insert(3, b"definitely not an image")
    items = list(stack.client.embed_stream(images, ["sleeve_length"]))
    assert len(items) == 6
    assert items[3].code == "INVALID_ARGUMENT" and items[3].index == 3
    for position in (0, 1, 2, 4, 5):
        assert items[position].image_sha256 == sha(images[position])


def _truncated_png() -> bytes:
    data = image_bytes(7, size=(300, 300), fmt="PNG")
    return data[: len(data) * 2 // 3]


BAD_INPUTS = {
    "empty image": (lambda c: c.embed(b""), "INVALID_ARGUMENT", "empty"),
    "corrupt image": (lambda c: c.embed(b"GIF89a garbage"), "INVALID_ARGUMENT", "decodable"),
    "truncated image": (lambda c: c.embed(_truncated_png()), "INVALID_ARGUMENT", ""),
    "decompression bomb": (lambda c: c.embed(png_bomb()), "INVALID_ARGUMENT", "pixels"),
    "oversized message": (
        lambda c: c.embed(b"\xff" * (MAX_MESSAGE_BYTES + 1)),
        "RESOURCE_EXHAUSTED",
        "",
    ),
    "unknown attribute": (
        lambda c: c.embed(fresh_image(), ["pocket"]),
        "INVALID_ARGUMENT",
        "unknown attribute",
    ),
    "too many candidates": (
        lambda c: c.rank(fresh_image(), "collar_design", [b"x"] * (MAX_CANDIDATES + 1)),
        "INVALID_ARGUMENT",  # the caller's limit, not the server's capacity
        f"limit is {MAX_CANDIDATES}",
    ),
    "unknown sha256": (
        lambda c: c.compare(Sha256Ref("ab" * 32), fresh_image(), ["collar_design"]),
        "NOT_FOUND",
        "send the image bytes",
    ),
    "malformed sha256": (lambda c: c.embed(Sha256Ref("xyz")), "INVALID_ARGUMENT", "64 hex"),
    "rank without attribute": (
        lambda c: c.rank(fresh_image(), "", [fresh_image()]),
        "INVALID_ARGUMENT",
        "attribute",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_a_clear_status_and_the_server_keeps_serving(stack, case) -> None:
    call, code, fragment = BAD_INPUTS[case]
    error = error_of(lambda: call(stack.client))
    assert error.code == code, error
    assert fragment in error.details
    assert stack.client.embed(fresh_image(), ["collar_design"]).embeddings


def test_short_deadline_is_deadline_exceeded_and_harmless(stack) -> None:
    hurried = AsenClient(stack.gateway.address, timeout=0.001)
    try:
        error = error_of(lambda: hurried.compare(fresh_image(), fresh_image()))
        assert error.code == "DEADLINE_EXCEEDED"
    finally:
        hurried.close()
    assert stack.client.compare(fresh_image(), fresh_image(), ["collar_design"]).scores


def test_kubernetes_discovery_sends_traffic_to_pods_as_they_come_and_go(stack, tmp_path) -> None:
    """ASEN_DISCOVERY=kubernetes against the EndpointSlice stand-in of tests/discovery (no API
    server can run here); the "pod" is the real Triton of this module."""
    from ..discovery.apiserver_standin import StandInApiServer, make_slice

    api = StandInApiServer().start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "standin", "cluster": {"server": api.url}}],
                "users": [{"name": "test", "user": {}}],
                "contexts": [{"name": "test", "context": {"cluster": "standin", "user": "test"}}],
                "current-context": "test",
            }
        )
    )
    port = stack.triton.grpc_port
    gateway = GatewayProcess(
        {
            "ASEN_DISCOVERY": "kubernetes",
            "ASEN_K8S_NAMESPACE": "serving",
            "ASEN_K8S_SERVICE": "triton",
            "ASEN_TRITON_GRPC_PORT": str(port),
            "KUBECONFIG": str(kubeconfig),
        },
        tmp_path / "gateway.log",
    )
    try:
        gateway.start(until="NOT_SERVING")  # no Triton pod yet
        pod = make_slice("triton-a", "triton", [{"ip": "127.0.0.1", "ready": True}], port=port)
        api.apply(pod)
        assert wait_for(lambda: gateway.health() == "SERVING", timeout=60)
        with AsenClient(gateway.address, timeout=60) as client:
            assert client.compare(fresh_image(), fresh_image(), ["collar_design"]).scores
            api.delete("serving", "triton-a")
            assert wait_for(lambda: gateway.health() == "NOT_SERVING", timeout=60)
            assert error_of(lambda: client.list_attributes()).code == "UNAVAILABLE"
    finally:
        gateway.stop()
        api.close()


def test_redis_outage_never_fails_a_call_and_caching_resumes(stack) -> None:
    errors = stack.gateway.metric("asen_gateway_cache_errors_total", {"backend": "redis"})
    stack.redis.stop()
    try:
        for _ in range(4):
            a, b = fresh_image(), fresh_image()
            stack.client.compare(a, b, ["collar_design"])
            stack.client.compare(a, b, ["collar_design"])
    finally:
        stack.redis.start()  # a fresh, empty Redis on the same port
    assert stack.gateway.metric("asen_gateway_cache_errors_total", {"backend": "redis"}) > errors
    image = fresh_image()

    def cached_again() -> bool:
        stack.client.embed(image, ["sleeve_length"])
        return stack.client.embed(image, ["sleeve_length"]).embeddings["sleeve_length"].cached

    assert wait_for(cached_again, timeout=30, interval=0.5)
    assert redis.Redis.from_url(stack.redis.url).keys(f"asen:*:sleeve_length:{sha(image)}")


def test_triton_down_fails_fast_and_recovers_without_restarting_the_gateway(stack) -> None:
    stack.triton.stop()
    error = error_of(lambda: stack.client.compare(fresh_image(), fresh_image()))
    assert error.code == "UNAVAILABLE"
    assert wait_for(lambda: stack.gateway.health() == "NOT_SERVING", timeout=30)
    assert error_of(lambda: stack.client.list_attributes()).code == "UNAVAILABLE"
    restarted = TritonServer(
        stack.triton.repository,
        stack.triton.http_port,
        stack.triton.grpc_port,
        stack.triton.metrics_port,
        log_path=stack.triton.log_path.with_name("triton-restarted.log"),
    )
    restarted.start(timeout=300)
    stack.triton = restarted  # the fixture stops this one
    assert wait_for(lambda: stack.gateway.health() == "SERVING", timeout=60)
    assert stack.client.compare(fresh_image(), fresh_image(), ["collar_design"]).scores


def test_gateway_stops_cleanly_on_sigterm(stack) -> None:
    assert stack.gateway.stop() == 0
    assert stack.gateway.health() == "DOWN"
    # leave a running gateway for the fixture's teardown to stop
    stack.gateway.start()


def test_gateway_cli_rejects_bad_configuration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--max-in-flight", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "max_in_flight" in result.stderr


def test_a_bad_cached_value_is_recomputed(stack) -> None:
    """A NaN vector stored under a valid key is a counted miss, never served."""
    image = fresh_image()
    version = stack.client.list_attributes().model_version
    key = f"asen:{version}:collar_design:{sha(image)}"
    dim = stack.client.list_attributes().embedding_dim
    poisoned = CachedEmbedding(np.full(dim, np.nan, np.float32), (0, 0, 1, 1)).encode()
    redis.Redis.from_url(stack.redis.url).set(key, poisoned)
    invalid = stack.gateway.metric("asen_gateway_cache_invalid_entries_total", {"backend": "redis"})
    result = stack.client.embed(image, ["collar_design"]).embeddings["collar_design"]
    assert not result.cached and np.isfinite(result.vector).all()
    after = stack.gateway.metric("asen_gateway_cache_invalid_entries_total", {"backend": "redis"})
    assert after == invalid + 1
    assert stack.client.embed(image, ["collar_design"]).embeddings["collar_design"].cached


def test_a_stream_longer_than_the_request_timeout_completes(stack, tmp_path) -> None:
    """Each stream item has its own deadline (ASEN_REQUEST_TIMEOUT_SECONDS from when it is
    read); the stream as a whole has none unless the client sets one."""
    gateway = GatewayProcess(
        {"ASEN_TRITON_URLS": stack.triton.grpc_url, "ASEN_REQUEST_TIMEOUT_SECONDS": "2"},
        tmp_path / "gateway.log",
    )
    images = [fresh_image() for _ in range(6)]

    def slowly(delay: float):
        for image in images:
            time.sleep(delay)
            yield image

    try:
        gateway.start()
        with AsenClient(gateway.address, timeout=60) as client:
            items = list(client.embed_stream(slowly(0.7), ["sleeve_length"]))  # about 4 s
            assert [getattr(i, "code", "OK") for i in items] == ["OK"] * 6
            with pytest.raises(ClientError) as caught:
                list(client.embed_stream(slowly(0.7), ["sleeve_length"], timeout=1.0))
            assert caught.value.code == "DEADLINE_EXCEEDED"
    finally:
        gateway.stop()
