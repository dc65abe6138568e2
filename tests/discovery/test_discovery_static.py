"""StaticEndpoints and the shared "host:port" format."""

from __future__ import annotations

import pytest

from gateway.discovery.endpoints import format_endpoint, parse_endpoint
from gateway.discovery.static import StaticEndpoints

from .recorder import Recorder


async def test_start_reports_validated_sorted_unique_endpoints_once() -> None:
    recorder = Recorder()
    source = StaticEndpoints(["triton-1:8001", " 10.0.0.2:8001", "triton-1:8001"], recorder)
    assert recorder.calls == []
    await source.start()
    assert recorder.calls == [["10.0.0.2:8001", "triton-1:8001"]]
    await source.stop()
    await source.stop()
    assert len(recorder.calls) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "triton",  # no port
        "triton:",  # empty port
        ":8001",  # no host
        "triton:http",  # port not a number
        "triton:0",
        "triton:65536",
        "grpc://triton:8001",  # a URL, not host:port
        "fd00::1:8001",  # IPv6 without brackets
        "[not-ipv6]:8001",
        "bad host:8001",
        "",
    ],
)
def test_malformed_endpoints_raise_a_clear_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match="host:port") as error:
        StaticEndpoints(["triton-0:8001", bad], Recorder())
    assert repr(bad) in str(error.value)


def test_an_empty_list_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        StaticEndpoints([], Recorder())


def test_a_single_string_is_refused_rather_than_split_into_characters() -> None:
    with pytest.raises(TypeError, match="list"):
        StaticEndpoints("triton:8001", Recorder())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("triton-0.triton.serving.svc:8001", ("triton-0.triton.serving.svc", 8001)),
        ("10.1.2.3:1", ("10.1.2.3", 1)),
        ("[fd00::1]:65535", ("fd00::1", 65535)),
    ],
)
def test_parse_and_format_round_trip(text: str, parsed: tuple[str, int]) -> None:
    assert parse_endpoint(text) == parsed
    assert format_endpoint(*parsed) == text
