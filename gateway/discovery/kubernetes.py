"""Triton endpoints from the Kubernetes EndpointSlices of the Triton Service.

Why not the Service's cluster IP: gRPC keeps long-lived HTTP/2 connections, so a virtual IP would
pin each gateway replica to one Triton pod. The gateway balances over pod addresses itself, and
this watcher keeps that list current as pods become ready, scale, or terminate.

The official client is synchronous, so list/watch runs in one worker thread; every change is
handed to the event loop with `call_soon_threadsafe`, and `on_change` always runs on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from gateway.discovery.backoff import Backoff
from gateway.discovery.endpoints import OnChange
from gateway.discovery.kube_client import load_api_client
from gateway.discovery.slices import ready_endpoints

log = logging.getLogger(__name__)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_GONE = 410


class EndpointSliceWatcher:
    """Lists, then watches, the EndpointSlices of one Service and reports its ready endpoints.

    `on_change(sorted ["ip:port", ...])` is called after the first successful list (even when
    empty, so the caller knows discovery has answered) and then only when the set changes.
    API errors never stop the watcher: it keeps the last known endpoints, retries with capped
    exponential back-off, and relists when the watch expires (410 Gone).
    """

    def __init__(
        self,
        namespace: str,
        service: str,
        port: int,
        on_change: OnChange,
        api_client: client.ApiClient | None = None,
        *,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        watch_timeout_s: int = 300,
        request_timeout_s: float = 30.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        if not namespace or not service:
            raise ValueError("namespace and service must be non-empty")
        if not 1 <= port <= 65535:
            raise ValueError(f"port must be 1-65535, not {port}")
        self.namespace = namespace
        self.service = service
        self.port = port
        self._on_change = on_change
        self._api_client = api_client
        self._owns_client = api_client is None
        self._backoff = Backoff(initial_s=backoff_initial_s, max_s=backoff_max_s)
        self._watch_timeout_s = watch_timeout_s
        self._request_timeout_s = request_timeout_s
        self._stop_timeout_s = stop_timeout_s

        self._stopping = threading.Event()
        self._stopped = False
        self._lock = threading.Lock()  # guards _active_watch/_active_response across threads
        self._active_watch: watch.Watch | None = None
        self._active_response: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._worker: asyncio.Future[None] | None = None

        # Owned by the worker thread only.
        self._slices: dict[str, set[str]] = {}
        self._reported: list[str] | None = None
        self._events_applied = 0

    @property
    def label_selector(self) -> str:
        return f"{SERVICE_NAME_LABEL}={self.service}"

    async def start(self) -> None:
        """Start the worker thread; returns at once (endpoints arrive through on_change).

        Raises DiscoveryConfigError when no api_client was given and no credentials exist.
        """
        if self._worker is not None:
            raise RuntimeError("EndpointSliceWatcher can only be started once")
        if self._api_client is None:
            self._api_client = load_api_client()
        self._api = client.DiscoveryV1Api(self._api_client)
        self._loop = asyncio.get_running_loop()
        # A private single thread, so a long-lived watch never occupies the loop's default pool.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"endpointslices-{self.service}")
        self._worker = self._loop.run_in_executor(self._executor, self._run)
        log.info("watching EndpointSlices %s in namespace %s", self.label_selector, self.namespace)

    async def stop(self) -> None:
        """Stop watching and wait (bounded) for the worker thread to end; safe to call twice."""
        if self._worker is None or self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        self._interrupt_watch()
        try:
            await asyncio.wait_for(asyncio.shield(self._worker), timeout=self._stop_timeout_s)
        except TimeoutError:
            log.warning("EndpointSlice worker still busy %.0fs after stop", self._stop_timeout_s)
        except Exception:
            log.exception("EndpointSlice worker ended with an error")
        assert self._executor is not None
        self._executor.shutdown(wait=False)
        if self._owns_client and self._api_client is not None:
            self._api_client.close()

    # -- worker thread -------------------------------------------------------------------------

    def _run(self) -> None:
        """List, then watch from the list's resourceVersion; repeat on expiry or error."""
        resource_version: str | None = None
        expired_in_a_row = False
        while not self._stopping.is_set():
            events_before = self._events_applied
            try:
                if resource_version is None:
                    resource_version = self._relist()
                    self._backoff.reset()
                resource_version = self._watch(resource_version)
                expired_in_a_row = False
            except ApiException as error:
                if self._stopping.is_set():
                    break
                resource_version = None
                if self._events_applied > events_before:
                    expired_in_a_row = False
                if error.status == _GONE and not expired_in_a_row:
                    # The watch fell behind the server's history: a fresh list catches up. Only
                    # a second 410 with no event in between waits, so a loop cannot spin.
                    log.info("EndpointSlice watch expired (410 Gone); relisting")
                    expired_in_a_row = True
                    continue
                self._retry_later(f"API error {error.status} {error.reason}")
            except Exception as error:  # connection refused, reset, timeouts, bad payloads
                if self._stopping.is_set():
                    break
                resource_version = None
                self._retry_later(f"{type(error).__name__}: {error}")
        log.info("EndpointSlice watcher for %s stopped", self.service)

    def _retry_later(self, why: str) -> None:
        delay = self._backoff.next_delay()
        log.warning(
            "EndpointSlice discovery for %s/%s failed (%s); keeping %d known endpoints, "
            "retrying in %.1fs",
            self.namespace,
            self.service,
            why,
            len(self._reported or []),
            delay,
        )
        self._stopping.wait(delay)

    def _relist(self) -> str | None:
        """Replace all known slices with a fresh list; return its resourceVersion."""
        result = self._api.list_namespaced_endpoint_slice(
            self.namespace,
            label_selector=self.label_selector,
            _request_timeout=self._request_timeout_s,
        )
        self._slices = {
            item.metadata.name: ready_endpoints(item, self.port) for item in result.items or []
        }
        self._publish()
        return result.metadata.resource_version if result.metadata else None

    def _watch(self, resource_version: str | None) -> str | None:
        """Apply watch events until the server ends the stream; return where to resume."""
        stream = watch.Watch(return_type="V1EndpointSlice")
        with self._lock:
            if self._stopping.is_set():
                return resource_version
            self._active_watch = stream
        try:
            for event in stream.stream(
                self._open_watch,
                self.namespace,
                label_selector=self.label_selector,
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=self._watch_timeout_s,
                # Read timeout: the server ends the watch at timeout_seconds; allow some slack.
                _request_timeout=(self._request_timeout_s, self._watch_timeout_s + 30),
            ):
                self._apply(event)
                if self._stopping.is_set():
                    break
        finally:
            with self._lock:
                self._active_watch = None
                self._active_response = None
        return stream.resource_version or resource_version

    def _open_watch(self, *args: Any, **kwargs: Any) -> Any:
        """Open the watch request and remember its response so stop() can cut it off."""
        response = self._api.list_namespaced_endpoint_slice(*args, **kwargs)
        with self._lock:
            self._active_response = response
            stopping = self._stopping.is_set()
        if stopping:
            _shutdown(response)
        return response

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        self._events_applied += 1
        if kind == "BOOKMARK":
            return  # Watch records its resourceVersion; nothing else changes.
        obj = event.get("object")
        name = getattr(getattr(obj, "metadata", None), "name", None)
        if name is None:
            log.debug("ignoring EndpointSlice event %s without a name", kind)
            return
        if kind in ("ADDED", "MODIFIED"):
            self._slices[name] = ready_endpoints(obj, self.port)
        elif kind == "DELETED":
            self._slices.pop(name, None)
        else:
            log.debug("ignoring EndpointSlice event of type %s", kind)
            return
        self._publish()

    def _publish(self) -> None:
        """Post the merged endpoint list to the loop if it differs from the last one posted."""
        merged = sorted(set().union(*self._slices.values()))
        if merged == self._reported:
            return
        self._reported = merged
        log.info("Triton endpoints for %s: %s", self.service, merged)
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._deliver, merged)
        except RuntimeError:  # the loop is closed: nobody left to tell
            self._stopping.set()

    def _interrupt_watch(self) -> None:
        """Unblock a worker waiting on the watch socket (called from the loop thread)."""
        with self._lock:
            stream, response = self._active_watch, self._active_response
        if stream is not None:
            stream.stop()
        if response is not None:
            _shutdown(response)

    # -- event loop ----------------------------------------------------------------------------

    def _deliver(self, endpoints: list[str]) -> None:
        if self._stopping.is_set():
            return
        try:
            self._on_change(list(endpoints))
        except Exception:
            log.exception("on_change raised for endpoints %s", endpoints)


def _shutdown(response: Any) -> None:
    """Shut the response's socket so a read blocked in another thread returns at once."""
    try:
        response.shutdown()
    except Exception:  # already closed, or a response type without shutdown()
        log.debug("could not shut down watch response", exc_info=True)
