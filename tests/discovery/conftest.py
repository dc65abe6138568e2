"""Fixtures: the API server stand-in and a real kubernetes ApiClient pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from kubernetes import client

from gateway.discovery.kubernetes import EndpointSliceWatcher

from .apiserver_standin import StandInApiServer
from .recorder import Recorder

NAMESPACE = "serving"
SERVICE = "triton"


@pytest.fixture
def apiserver() -> Iterator[StandInApiServer]:
    server = StandInApiServer().start()
    yield server
    server.close()


@pytest.fixture
def api_client(apiserver: StandInApiServer) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    configuration.host = apiserver.url
    api = client.ApiClient(configuration)
    yield api
    api.close()


@pytest.fixture
async def make_watcher(
    api_client: client.ApiClient,
) -> AsyncIterator[Callable[..., EndpointSliceWatcher]]:
    """Builds watchers with short back-off; every watcher is stopped at teardown."""
    made: list[EndpointSliceWatcher] = []

    def build(recorder: Recorder, **kwargs: object) -> EndpointSliceWatcher:
        options: dict = {"backoff_initial_s": 0.05, "backoff_max_s": 0.2, "watch_timeout_s": 60}
        options.update(kwargs)
        watcher = EndpointSliceWatcher(NAMESPACE, SERVICE, 8001, recorder, api_client, **options)
        made.append(watcher)
        return watcher

    yield build
    for watcher in made:
        await watcher.stop()
