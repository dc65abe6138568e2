"""`asen serve --redis redis+cluster://...`: the one-machine stack caches in a real Redis
Cluster (3 + 3, started by the fixture), in float16 when ASEN_CACHE_DTYPE says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import redis

from asen.client.client import AsenClient
from asen.triton.ports import free_port
from gateway.cache.entry import CachedEmbedding, value_size
from loadtests.soak.workload import image


def _serving(address: str) -> bool:
    try:
        with AsenClient(address, timeout=2) as client:
            client.list_attributes()
        return True
    except Exception:
        return False


def test_asen_serve_caches_in_a_redis_cluster_as_float16(redis_cluster, tmp_path) -> None:
    from loadtests.bench_gateway import export_small_model

    (tmp_path / "model").mkdir()
    repository = export_small_model(tmp_path / "model")
    port = free_port()
    address = f"127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "asen", "serve", "--repository", str(repository),
             "--grpc-port", str(port), "--metrics-port", str(free_port()),
             "--redis", redis_cluster.url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ASEN_CACHE_DTYPE": "float16"},
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not _serving(address):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        picture = image(4242)
        with AsenClient(address, timeout=60) as client:
            first = client.embed(picture, ["collar_design", "sleeve_length"])
            second = client.embed(picture, ["collar_design", "sleeve_length"])
        assert not any(e.cached for e in first.embeddings.values())
        assert all(e.cached for e in second.embeddings.values())
        for name, entry in first.embeddings.items():  # the cached copy is float16-rounded
            np.testing.assert_allclose(second.embeddings[name].vector, entry.vector, atol=2e-3)
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=90)
    assert code == 0, log.read_text()
    cluster = redis.RedisCluster(host="127.0.0.1", port=redis_cluster.nodes[0].port)
    try:
        pattern = f"asen:*:{first.image_sha256}"
        keys = list(cluster.scan_iter(match=pattern, target_nodes=cluster.get_primaries()))
        assert len(keys) == 2
        value = cluster.get(keys[0])
    finally:
        cluster.close()
    dim = len(next(iter(first.embeddings.values())).vector)
    assert len(value) == value_size(dim, "float16")
    assert CachedEmbedding.decode(value).embedding.shape == (dim,)
