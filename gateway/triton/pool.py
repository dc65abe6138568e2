"""Client-side pool of Triton endpoints: readiness tracking, load balancing, failover, the served
model version during rollouts.

Endpoints come from a discovery source through `set_endpoints` (the static list, or the
Kubernetes EndpointSlice watcher) and may change at any time. A probe loop checks every
endpoint's model readiness each `probe_interval` seconds and (re)reads the ensemble config when
an endpoint becomes ready, so a restarted Triton, or a new pod, takes traffic without restarting
the gateway. Each call goes to the ready endpoint with the fewest calls in flight (ties broken
round-robin); an endpoint that answers UNAVAILABLE is marked not ready at once and the call is
retried on another one (inference is idempotent). An endpoint that leaves the set (a pod scaled
down: terminating, still serving what it has) gets no new calls, and its connection is closed
only once its calls in flight are done (at most `RETIRE_GRACE_S`); a call whose connection is
closed under it all the same is retried on another endpoint. During a rollout the served model
version is the one most ready endpoints have (or a pinned one, `version_choice.py`), and only
endpoints of that version get its calls; cache keys carry the version, so versions never mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable

import numpy as np
import tritonclient.grpc.aio as triton_aio
from tritonclient.grpc import InferInput, InferRequestedOutput
from tritonclient.utils import InferenceServerException

from asen_contract import tensors
from asen_contract.errors import Unavailable
from asen_contract.model_info import ModelInfo
from gateway import metrics
from gateway.core.inference import InferOutput
from gateway.triton.errors import domain_error, is_unavailable
from gateway.triton.version_choice import choose_version

log = logging.getLogger(__name__)

_CHANNEL_ARGS = [
    ("grpc.max_send_message_length", 2**31 - 1),
    ("grpc.max_receive_message_length", 2**31 - 1),
    # Reconnect quickly once a restarted Triton is back (gRPC's default backoff grows to 120 s).
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
]
# A removed endpoint's calls in flight may finish this long before its connection is closed
# (Triton's own exit timeout on SIGTERM is 30 s).
RETIRE_GRACE_S = 30.0


class _Endpoint:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = triton_aio.InferenceServerClient(url, channel_args=_CHANNEL_ARGS)
        self.ready = False
        self.info: ModelInfo | None = None
        self.in_flight = 0


class TritonPool:
    def __init__(
        self,
        model_name: str = tensors.ENSEMBLE,
        probe_interval: float = 1.0,
        probe_timeout: float = 2.0,
        on_readiness: Callable[[bool], None] | None = None,
        pinned_version: str = "",
    ) -> None:
        self.model_name = model_name
        self._pinned_version = pinned_version
        self._served: ModelInfo | None = None
        self._probe_interval = probe_interval
        self._probe_timeout = probe_timeout
        self._on_readiness = on_readiness
        self._endpoints: dict[str, _Endpoint] = {}
        self._round_robin = itertools.count()
        self._probe_task: asyncio.Task | None = None
        self._wakeup = asyncio.Event()
        self._was_ready = False
        self._retiring: dict[asyncio.Task, _Endpoint] = {}

    # -- endpoint set -------------------------------------------------------------------------
    def set_endpoints(self, urls: list[str]) -> None:
        """Replace the endpoint set (discovery callback); new endpoints are probed at once."""
        wanted = set(urls)
        for url in list(self._endpoints):
            if url not in wanted:
                endpoint = self._endpoints.pop(url)
                task = asyncio.get_running_loop().create_task(self._retire(endpoint))
                self._retiring[task] = endpoint
                task.add_done_callback(self._retiring.pop)
        for url in sorted(wanted - set(self._endpoints)):
            self._endpoints[url] = _Endpoint(url)
        log.info("triton endpoints changed", extra={"endpoints": sorted(wanted)})
        self._publish()
        self._wakeup.set()

    @staticmethod
    async def _retire(endpoint: _Endpoint) -> None:
        """Close a removed endpoint's connection once its calls in flight are done: closing it
        earlier would cancel them although the (terminating) server still answers them."""
        deadline = time.monotonic() + RETIRE_GRACE_S
        while endpoint.in_flight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await endpoint.client.close()

    @property
    def endpoints(self) -> dict[str, bool]:
        """url -> ready."""
        return {url: e.ready for url, e in sorted(self._endpoints.items())}

    @property
    def ready(self) -> bool:
        return self.model_info is not None

    @property
    def model_info(self) -> ModelInfo | None:
        """The served model: the version most ready endpoints serve (or the pinned one), chosen
        whenever readiness changes (`choose_version`); None while no endpoint serves it."""
        return self._served

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._probe_task = asyncio.create_task(self._probe_loop(), name="triton-probe")

    async def stop(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
        for task, endpoint in list(self._retiring.items()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await endpoint.client.close()
        for endpoint in self._endpoints.values():
            await endpoint.client.close()
        self._endpoints.clear()

    async def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.ready

    async def probe_now(self) -> None:
        await asyncio.gather(*(self._probe(e) for e in list(self._endpoints.values())))
        self._publish()

    async def _probe_loop(self) -> None:
        while True:
            try:
                await self.probe_now()
            except Exception:  # never let the loop die
                log.exception("triton probe failed")
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._probe_interval)

    async def _probe(self, endpoint: _Endpoint) -> None:
        try:
            ready = await endpoint.client.is_model_ready(
                self.model_name, client_timeout=self._probe_timeout
            )
            if ready and (endpoint.info is None or not endpoint.ready):
                config = await endpoint.client.get_model_config(
                    self.model_name, as_json=True, client_timeout=self._probe_timeout
                )
                endpoint.info = ModelInfo.from_triton_config(config)
        except (InferenceServerException, ValueError) as error:
            if endpoint.ready:
                log.warning(
                    "triton endpoint not ready", extra={"url": endpoint.url, "error": str(error)}
                )
            ready = False
        if ready and not endpoint.ready:
            log.info(
                "triton endpoint ready",
                extra={"url": endpoint.url, "model_version": endpoint.info.model_version},
            )
        endpoint.ready = bool(ready)
        if not endpoint.ready:
            endpoint.info = None

    def _mark_down(self, endpoint: _Endpoint, error: Exception) -> None:
        if endpoint.ready:
            log.warning("triton endpoint failed", extra={"url": endpoint.url, "error": str(error)})
        endpoint.ready = False
        endpoint.info = None
        self._publish()
        self._wakeup.set()

    def _publish(self) -> None:
        ready = sum(e.ready for e in self._endpoints.values())
        metrics.TRITON_ENDPOINTS.labels(state="ready").set(ready)
        metrics.TRITON_ENDPOINTS.labels(state="not_ready").set(len(self._endpoints) - ready)
        self._choose_served()
        now_ready = self.ready
        if now_ready != self._was_ready:
            self._was_ready = now_ready
            if self._on_readiness is not None:
                self._on_readiness(now_ready)

    def _choose_served(self) -> None:
        infos = [
            e.info for _, e in sorted(self._endpoints.items()) if e.ready and e.info is not None
        ]
        current = self._served.model_version if self._served is not None else None
        version = choose_version([i.model_version for i in infos], current, self._pinned_version)
        served = next((i for i in infos if i.model_version == version), None)
        if version != current:
            if current is not None:
                metrics.SERVED_MODEL.remove(current)
            if version is not None:
                metrics.SERVED_MODEL.labels(model_version=version).set(1)
            log.warning(
                "served model version changed",
                extra={"from": current, "to": version, "pinned": self._pinned_version or None},
            )
        self._served = served

    # -- inference ----------------------------------------------------------------------------
    def _pick(self, version: str, tried: set[str]) -> _Endpoint | None:
        candidates = [
            e
            for url, e in sorted(self._endpoints.items())
            if e.ready
            and e.info is not None
            and e.info.model_version == version
            and url not in tried
        ]
        if not candidates:
            return None
        least = min(e.in_flight for e in candidates)
        best = [e for e in candidates if e.in_flight == least]
        return best[next(self._round_robin) % len(best)]

    async def infer(
        self,
        images: list[bytes],
        attribute_ids: list[list[int]],
        version: str,
        want_attention: bool,
        timeout: float | None,
    ) -> InferOutput:
        """Run B rows (same K attributes each) on a ready endpoint serving `version`."""
        inputs = _inputs(images, attribute_ids)
        outputs = [InferRequestedOutput(tensors.EMBEDDING), InferRequestedOutput(tensors.ROI)]
        if want_attention:
            outputs.append(InferRequestedOutput(tensors.ATTENTION))
        tried: set[str] = set()
        while True:
            endpoint = self._pick(version, tried)
            if endpoint is None:
                raise Unavailable(
                    "no ready Triton endpoint serves model version "
                    f"{version!r} (Triton down, restarting or being updated)"
                )
            tried.add(endpoint.url)
            endpoint.in_flight += 1
            started = time.perf_counter()
            try:
                result = await endpoint.client.infer(
                    self.model_name, inputs, outputs=outputs, client_timeout=timeout
                )
            except InferenceServerException as error:
                if is_unavailable(error):
                    self._mark_down(endpoint, error)
                    continue
                raise domain_error(error) from None
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this call itself is cancelled (its caller went away)
                # the connection was closed under the call (its endpoint was removed and the
                # grace ran out, or the pool is stopping): another endpoint may answer
                log.warning("triton call cut by a closed connection", extra={"url": endpoint.url})
                continue
            finally:
                endpoint.in_flight -= 1
                metrics.TRITON_DURATION.labels(model=self.model_name).observe(
                    time.perf_counter() - started
                )
            attention = result.as_numpy(tensors.ATTENTION) if want_attention else None
            return InferOutput(
                embeddings=result.as_numpy(tensors.EMBEDDING),
                rois=result.as_numpy(tensors.ROI),
                attention=attention,
                model_version=version,
            )


def _inputs(images: list[bytes], attribute_ids: list[list[int]]) -> list[InferInput]:
    batch = len(images)
    image_tensor = np.empty((batch, 1), dtype=object)
    for row, data in enumerate(images):
        image_tensor[row, 0] = data
    attribute_tensor = np.asarray(attribute_ids, dtype=np.int32).reshape(batch, -1)
    image_input = InferInput(tensors.IMAGE, [batch, 1], "BYTES")
    image_input.set_data_from_numpy(image_tensor)
    attribute_input = InferInput(tensors.ATTRIBUTE, list(attribute_tensor.shape), "INT32")
    attribute_input.set_data_from_numpy(attribute_tensor)
    return [image_input, attribute_input]
