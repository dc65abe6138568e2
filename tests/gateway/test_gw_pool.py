"""Triton pool bookkeeping without a Triton: endpoint sets changing at run time, readiness,
least-in-flight balancing with round-robin ties, and the endpoint gauge."""

from __future__ import annotations

import pytest

from asen_contract.errors import Unavailable
from asen_contract.model_info import ModelInfo
from gateway import metrics
from gateway.triton.pool import TritonPool
from gateway.triton.version_choice import choose_version

from .gw_support import sample

INFO = ModelInfo("v1", (), 0.6, 2, 4, 0, 8)


def _ready(pool: TritonPool, url: str, info: ModelInfo = INFO) -> None:
    endpoint = pool._endpoints[url]
    endpoint.ready, endpoint.info = True, info


async def test_endpoint_set_changes_and_readiness_callback() -> None:
    seen: list[bool] = []
    pool = TritonPool(on_readiness=seen.append)
    pool.set_endpoints(["10.0.0.2:8001", "10.0.0.1:8001"])
    assert pool.endpoints == {"10.0.0.1:8001": False, "10.0.0.2:8001": False}
    assert not pool.ready and pool.model_info is None
    _ready(pool, "10.0.0.2:8001")
    pool._publish()
    assert pool.ready and pool.model_info == INFO and seen == [True]
    gauge = metrics.TRITON_ENDPOINTS.labels(state="ready")._value.get()
    assert gauge == 1
    pool.set_endpoints(["10.0.0.1:8001", "10.0.0.3:8001"])  # the ready pod went away
    assert set(pool.endpoints) == {"10.0.0.1:8001", "10.0.0.3:8001"}
    assert not pool.ready and seen == [True, False]
    await pool.stop()


async def test_least_in_flight_then_round_robin() -> None:
    pool = TritonPool()
    urls = ["a:1", "b:1", "c:1"]
    pool.set_endpoints(urls)
    for url in urls:
        _ready(pool, url)
    picks = [pool._pick("v1", set()).url for _ in range(6)]
    assert sorted(picks) == sorted(urls * 2)  # ties: every endpoint in turn
    pool._endpoints["a:1"].in_flight = 3
    pool._endpoints["b:1"].in_flight = 1
    assert pool._pick("v1", set()).url == "c:1"
    assert pool._pick("v1", {"c:1"}).url == "b:1"  # already tried: the next least busy
    other = ModelInfo("v2", (), 0.6, 2, 4, 0, 8)
    _ready(pool, "c:1", other)
    assert pool._pick("v2", set()).url == "c:1"  # only endpoints serving that version
    await pool.stop()


async def test_no_ready_endpoint_is_unavailable_at_once() -> None:
    pool = TritonPool()
    pool.set_endpoints(["127.0.0.1:1"])
    with pytest.raises(Unavailable):
        await pool.infer([b"x"], [[0]], "v1", False, timeout=5)
    await pool.stop()


@pytest.mark.parametrize(
    "ready, current, pinned, expected",
    [
        ([], None, "", None),
        (["v1", "v1", "v2"], None, "", "v1"),
        (["v2", "v1", "v1"], "v1", "", "v1"),  # the first new pod does not take the traffic
        (["v2", "v2", "v1"], "v1", "", "v2"),  # the new version has the majority: switch
        (["v1", "v2"], "v1", "", "v1"),  # a tie keeps the current version
        (["v1", "v2"], "v2", "", "v2"),
        (["v1", "v1", "v2"], "v1", "v2", "v2"),  # pinned wins over the majority
        (["v1", "v1"], "v1", "v2", None),  # pinned but not ready anywhere
    ],
)
def test_the_served_version_is_the_majority_or_the_pinned_one(ready, current, pinned, expected):
    assert choose_version(ready, current, pinned) == expected


async def test_a_rollout_moves_traffic_only_when_the_new_version_has_the_majority() -> None:
    pool = TritonPool()
    pool.set_endpoints(["a:1", "b:1", "c:1"])
    old, new = ModelInfo("v1", (), 0.6, 2, 4, 0, 8), ModelInfo("v2", (), 0.6, 2, 4, 0, 8)
    _ready(pool, "b:1", old)
    _ready(pool, "c:1", old)
    _ready(pool, "a:1", new)  # the new pod sorts first
    pool._publish()
    assert pool.model_info == old
    assert {pool._pick("v1", set()).url for _ in range(4)} == {"b:1", "c:1"}
    assert sample("asen_gateway_served_model_info", model_version="v1") == 1
    _ready(pool, "b:1", new)
    pool._publish()
    assert pool.model_info == new
    assert sample("asen_gateway_served_model_info", model_version="v2") == 1
    assert sample("asen_gateway_served_model_info", model_version="v1") == 0  # series removed
    await pool.stop()


async def test_a_pinned_version_is_served_by_its_endpoints_only() -> None:
    pool = TritonPool(pinned_version="v2")
    pool.set_endpoints(["a:1", "b:1"])
    _ready(pool, "a:1", ModelInfo("v1", (), 0.6, 2, 4, 0, 8))
    pool._publish()
    assert pool.model_info is None and not pool.ready
    _ready(pool, "b:1", ModelInfo("v2", (), 0.6, 2, 4, 0, 8))
    pool._publish()
    assert pool.model_info.model_version == "v2"
    await pool.stop()
