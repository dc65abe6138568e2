"""EndpointSliceWatcher against a stand-in Kubernetes API server.

No Kubernetes API server can run on the machines these tests run on, so `StandInApiServer`
(tests/discovery/apiserver_standin.py) replaces it: a local HTTP server that speaks the real
EndpointSlice list and watch wire format. The watcher under test uses the real `kubernetes`
client (ApiClient, DiscoveryV1Api, watch.Watch) pointed at it; nothing in the client is mocked.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.discovery.kube_client import DiscoveryConfigError
from gateway.discovery.kubernetes import EndpointSliceWatcher

from .apiserver_standin import make_slice
from .conftest import NAMESPACE, SERVICE
from .recorder import Recorder, wait_until


def _slice(name: str, *endpoints: dict, **kwargs: object) -> dict:
    return make_slice(name, SERVICE, list(endpoints), namespace=NAMESPACE, **kwargs)


async def _started(make_watcher, **kwargs: object) -> tuple[EndpointSliceWatcher, Recorder]:
    recorder = Recorder()
    watcher = make_watcher(recorder, **kwargs)
    await watcher.start()
    return watcher, recorder


async def test_initial_list_reports_only_ready_endpoints_of_the_service(apiserver, make_watcher):
    apiserver.apply(
        _slice(
            "triton-a",
            {"ip": "10.0.0.1", "ready": True},
            {"ip": "10.0.0.2"},  # ready unset means ready
            {"ip": "10.0.0.3", "ready": False, "serving": False},
            {"ip": "10.0.0.4", "ready": False, "serving": True, "terminating": True},
        )
    )
    apiserver.apply(make_slice("other", "redis", [{"ip": "10.9.9.9"}], namespace=NAMESPACE))
    apiserver.apply(make_slice("elsewhere", SERVICE, [{"ip": "10.8.8.8"}], namespace="other"))

    _, recorder = await _started(make_watcher)

    await recorder.wait_for(["10.0.0.1:8001", "10.0.0.2:8001"])
    assert recorder.calls == [["10.0.0.1:8001", "10.0.0.2:8001"]]


async def test_empty_service_is_reported_once(apiserver, make_watcher):
    _, recorder = await _started(make_watcher)
    await wait_until(lambda: recorder.calls == [[]], describe=lambda: str(recorder.calls))


async def test_scale_up_by_added_and_modified_slices(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}))
    _, recorder = await _started(make_watcher)
    await recorder.wait_for(["10.0.0.1:8001"])

    apiserver.apply(_slice("triton-b", {"ip": "10.0.1.1"}))  # ADDED
    await recorder.wait_for(["10.0.0.1:8001", "10.0.1.1:8001"])

    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}))  # MODIFIED
    await recorder.wait_for(["10.0.0.1:8001", "10.0.0.2:8001", "10.0.1.1:8001"])


async def test_endpoint_becoming_not_ready_or_terminating_is_removed(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}))
    _, recorder = await _started(make_watcher)
    await recorder.wait_for(["10.0.0.1:8001", "10.0.0.2:8001", "10.0.0.3:8001"])

    apiserver.apply(
        _slice(
            "triton-a",
            {"ip": "10.0.0.1"},
            {"ip": "10.0.0.2", "ready": False},
            {"ip": "10.0.0.3", "ready": True, "serving": True, "terminating": True},
        )
    )
    await recorder.wait_for(["10.0.0.1:8001"])


async def test_slices_are_merged_and_deleted_slice_removes_its_endpoints(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}))
    apiserver.apply(_slice("triton-b", {"ip": "10.0.0.2"}, {"ip": "10.0.1.1"}))
    _, recorder = await _started(make_watcher)
    await recorder.wait_for(["10.0.0.1:8001", "10.0.0.2:8001", "10.0.1.1:8001"])

    apiserver.delete(NAMESPACE, "triton-b")
    await recorder.wait_for(["10.0.0.1:8001", "10.0.0.2:8001"])

    apiserver.delete(NAMESPACE, "triton-a")
    await recorder.wait_for([])


async def test_no_call_when_the_ready_set_is_unchanged(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}))
    _, recorder = await _started(make_watcher)
    await recorder.wait_for(["10.0.0.1:8001"])

    # Only a not-ready endpoint changes: the ready set is the same, so nothing is reported.
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}, {"ip": "10.0.0.5", "ready": False}))
    # A later real change is a barrier: once it is seen, the earlier event was processed too.
    apiserver.apply(_slice("triton-b", {"ip": "10.0.1.1"}))
    await recorder.wait_for(["10.0.0.1:8001", "10.0.1.1:8001"])
    assert recorder.calls == [["10.0.0.1:8001"], ["10.0.0.1:8001", "10.0.1.1:8001"]]


async def test_port_named_grpc_wins_over_the_configured_port(apiserver, make_watcher):
    apiserver.apply(_slice("named", {"ip": "10.0.0.1"}, port=9001, port_name="grpc"))
    apiserver.apply(_slice("other-name", {"ip": "10.0.0.2"}, port=8000, port_name="http"))
    apiserver.apply(_slice("no-ports", {"ip": "10.0.0.3"}, port=None))
    _, recorder = await _started(make_watcher)
    await recorder.wait_for(["10.0.0.1:9001", "10.0.0.2:8001", "10.0.0.3:8001"])


async def test_watch_expiry_410_relists_and_keeps_watching(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}))
    _, recorder = await _started(make_watcher)
    await recorder.wait_for(["10.0.0.1:8001"])
    await wait_until(lambda: apiserver.count("watch") == 1)

    apiserver.expire_watches()  # the open watch gets an ERROR event with a 410 Status
    await wait_until(lambda: apiserver.count("list") == 2 and apiserver.count("watch") == 2)

    apiserver.apply(_slice("triton-b", {"ip": "10.0.1.1"}))
    await recorder.wait_for(["10.0.0.1:8001", "10.0.1.1:8001"])


async def test_changes_while_expired_are_caught_up_by_the_relist(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}))
    _, recorder = await _started(make_watcher)
    await recorder.wait_for(["10.0.0.1:8001"])
    await wait_until(lambda: apiserver.count("watch") == 1)

    apiserver.set_failing(True)
    apiserver.end_watches()
    await wait_until(lambda: apiserver.count("list", 500) >= 1)
    apiserver.delete(NAMESPACE, "triton-a")
    apiserver.apply(_slice("triton-b", {"ip": "10.0.1.1"}))
    apiserver.expire_watches()  # history is compacted: only a relist can see the new state
    apiserver.set_failing(False)

    await recorder.wait_for(["10.0.1.1:8001"])


async def test_server_errors_are_retried_and_last_endpoints_kept(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}))
    _, recorder = await _started(make_watcher)
    await recorder.wait_for(["10.0.0.1:8001"])

    apiserver.set_failing(True)
    apiserver.end_watches()  # the watcher rewatches, gets 500, backs off and relists...
    await wait_until(lambda: apiserver.count("list", 500) >= 3)
    assert recorder.calls == [["10.0.0.1:8001"]], "endpoints must be kept while the API fails"

    apiserver.apply(_slice("triton-b", {"ip": "10.0.1.1"}))
    apiserver.set_failing(False)
    await recorder.wait_for(["10.0.0.1:8001", "10.0.1.1:8001"])

    apiserver.apply(_slice("triton-c", {"ip": "10.0.2.1"}))  # and the watch works again
    await recorder.wait_for(["10.0.0.1:8001", "10.0.1.1:8001", "10.0.2.1:8001"])


async def test_start_while_the_api_fails_does_not_raise_and_recovers(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}))
    apiserver.set_failing(True)
    _, recorder = await _started(make_watcher)
    await wait_until(lambda: apiserver.count("list", 500) >= 2)
    assert recorder.calls == []

    apiserver.set_failing(False)
    await recorder.wait_for(["10.0.0.1:8001"])


async def test_on_change_errors_are_logged_and_do_not_stop_the_watcher(
    apiserver, make_watcher, caplog
):
    seen: list[list[str]] = []

    def flaky(endpoints: list[str]) -> None:
        seen.append(endpoints)
        if len(seen) == 1:
            raise RuntimeError("gateway bug")

    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}))
    watcher = make_watcher(flaky)
    await watcher.start()
    await wait_until(lambda: len(seen) == 1)

    apiserver.apply(_slice("triton-b", {"ip": "10.0.1.1"}))
    await wait_until(lambda: seen[-1] == ["10.0.0.1:8001", "10.0.1.1:8001"])
    assert "on_change raised" in caplog.text


async def test_stop_ends_the_worker_thread_during_a_blocked_watch(apiserver, make_watcher):
    apiserver.apply(_slice("triton-a", {"ip": "10.0.0.1"}))
    watcher, recorder = await _started(make_watcher, watch_timeout_s=3600)
    await recorder.wait_for(["10.0.0.1:8001"])
    await wait_until(lambda: apiserver.count("watch") == 1)  # the worker now blocks reading

    # The bound only guards against a hang; promptness comes from shutting the watch socket.
    await asyncio.wait_for(watcher.stop(), timeout=10)
    await wait_until(lambda: not _worker_threads(), describe=lambda: str(_worker_threads()))

    apiserver.apply(_slice("triton-b", {"ip": "10.0.1.1"}))
    await asyncio.sleep(0.1)
    assert recorder.calls == [["10.0.0.1:8001"]]
    await watcher.stop()  # a second stop is harmless


async def test_start_twice_is_refused(make_watcher):
    watcher, _ = await _started(make_watcher)
    with pytest.raises(RuntimeError, match="once"):
        await watcher.start()


async def test_without_credentials_start_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    monkeypatch.setenv("HOME", str(tmp_path))
    watcher = EndpointSliceWatcher(NAMESPACE, SERVICE, 8001, Recorder())
    with pytest.raises(DiscoveryConfigError, match="kubeconfig"):
        await watcher.start()
    await watcher.stop()


@pytest.mark.parametrize(
    ("namespace", "service", "port"), [("", SERVICE, 8001), (NAMESPACE, "", 8001), ("a", "b", 0)]
)
def test_constructor_rejects_bad_arguments(namespace: str, service: str, port: int) -> None:
    with pytest.raises(ValueError):
        EndpointSliceWatcher(namespace, service, port, Recorder())


def _worker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(f"endpointslices-{SERVICE}")]
