"""The soak's load: locust users calling the gateways over gRPC with the mix of workload.py.

Run by the soak runner (`python -m loadtests.soak`), which sets:
  SOAK_GATEWAYS    comma-separated gateway host:port list
  SOAK_ATTRIBUTES  comma-separated attribute names
  SOAK_RECORD      file that gets one CSV line per call: start (unix s), latency (ms), call, code
  SOAK_RATE        calls per second per user (constant throughput)
  SOAK_DEADLINE_S  the deadline of every call

Each user is one client with its own channel that balances over all gateways round-robin with
gRPC's client-side health checking (the in-cluster setup docs/gateway.md recommends), so a
draining gateway (NOT_SERVING) stops receiving calls before it closes.
"""

from __future__ import annotations

import json
import os
import time

import grpc
import grpc.experimental.gevent as grpc_gevent
from locust import User, constant_throughput, task

from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc
from loadtests.soak.workload import MIX, Requests

grpc_gevent.init_gevent()

_SERVICE_CONFIG = json.dumps(
    {"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}}
)
_RECORD = open(os.environ.get("SOAK_RECORD", os.devnull), "a", buffering=1)  # noqa: SIM115


def _channel() -> grpc.Channel:
    targets = os.environ["SOAK_GATEWAYS"]
    return grpc.insecure_channel(
        f"ipv4:{targets}",
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            # its own connections, as a separate client process would have (gRPC otherwise
            # shares one connection per address among all channels of a process)
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.max_receive_message_length", 16 << 20),
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ],
    )


class GatewayUser(User):
    wait_time = constant_throughput(float(os.environ.get("SOAK_RATE", "2")))

    def on_start(self) -> None:
        self.channel = _channel()
        self.stub = pb_grpc.FashionSimilarityStub(self.channel)
        self.requests = Requests(os.environ["SOAK_ATTRIBUTES"].split(","))
        self.deadline = float(os.environ.get("SOAK_DEADLINE_S", "10"))

    def on_stop(self) -> None:
        self.channel.close()

    def _call(self, name: str, call) -> None:
        started = time.time()
        begun = time.perf_counter()
        error: Exception | None = None
        code = "OK"
        try:
            code = call() or "OK"
        except grpc.RpcError as failure:
            code = failure.code().name
            error = failure
        latency_ms = (time.perf_counter() - begun) * 1000
        if code != "OK" and error is None:
            error = RuntimeError(code)
        _RECORD.write(f"{started:.4f},{latency_ms:.2f},{name},{code}\n")
        self.environment.events.request.fire(
            request_type="grpc",
            name=name,
            response_time=latency_ms,
            response_length=0,
            exception=error,
            context={},
        )

    @task(MIX["Compare/cached"])
    def compare_cached(self) -> None:
        request = self.requests.compare(new=False)
        self._call("Compare/cached", lambda: self._unary(self.stub.Compare, request))

    @task(MIX["Compare/new"])
    def compare_new(self) -> None:
        request = self.requests.compare(new=True)
        self._call("Compare/new", lambda: self._unary(self.stub.Compare, request))

    @task(MIX["Embed/cached"])
    def embed_cached(self) -> None:
        request = self.requests.embed(new=False)
        self._call("Embed/cached", lambda: self._unary(self.stub.Embed, request))

    @task(MIX["Embed/new"])
    def embed_new(self) -> None:
        request = self.requests.embed(new=True)
        self._call("Embed/new", lambda: self._unary(self.stub.Embed, request))

    @task(MIX["Rank/cached"])
    def rank(self) -> None:
        request = self.requests.rank()
        self._call("Rank/cached", lambda: self._unary(self.stub.Rank, request))

    @task(MIX["SearchItems/catalogue"])
    def search_items(self) -> None:
        request = self.requests.search()

        def call() -> str | None:
            reply = self.stub.SearchItems(request, timeout=self.deadline)
            if len(reply.results) != 1 or not reply.results[0].results:
                return "EMPTY_RESULT"  # the catalogue is indexed: a search always finds items
            return None

        self._call("SearchItems/catalogue", call)

    @task(MIX["EmbedStream/mixed"])
    def embed_stream(self) -> None:
        items = self.requests.stream()

        def call() -> str | None:
            replies = list(self.stub.EmbedStream(iter(items), timeout=self.deadline))
            failed = [r.error.code for r in replies if r.HasField("error")]
            if failed:
                return f"item:{failed[0]}"
            if len(replies) != len(items):
                return "item:MISSING"
            return None

        self._call("EmbedStream/mixed", call)

    def _unary(self, method, request) -> None:
        method(request, timeout=self.deadline)
