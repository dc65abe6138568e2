"""A stand-in for the Kubernetes API server's EndpointSlice list and watch endpoints.

No Kubernetes API server can run on the machines these tests run on, so this small HTTP server
takes its place. It implements only what the watcher uses, with the real wire format:

- `GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector=k=v` returns an
  EndpointSliceList whose metadata.resourceVersion is the current version;
- the same with `watch=true&resourceVersion=N` streams newline-delimited watch events
  (ADDED / MODIFIED / DELETED) newer than N, in chunked encoding, until `timeoutSeconds`;
- a watch from a compacted version gets an ERROR event with a 410 Status, as a real server sends.

Tests drive it with `apply()`, `delete()`, `expire_watches()` (compaction: open watches get 410),
`end_watches()` (the server closes streams, as at timeoutSeconds) and `set_failing()` (500s).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_PATH = re.compile(r"^/apis/discovery\.k8s\.io/v1/namespaces/([^/]+)/endpointslices$")
SERVICE_LABEL = "kubernetes.io/service-name"


def make_slice(
    name: str,
    service: str,
    endpoints: list[dict[str, Any]],
    *,
    namespace: str = "serving",
    port: int | None = 8001,
    port_name: str = "grpc",
) -> dict[str, Any]:
    """An EndpointSlice manifest; each endpoint is {"ip": ..., and optional condition flags}."""
    items = []
    for endpoint in endpoints:
        conditions = {
            key: endpoint[key] for key in ("ready", "serving", "terminating") if key in endpoint
        }
        items.append({"addresses": [endpoint["ip"]], "conditions": conditions})
    body: dict[str, Any] = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": namespace, "labels": {SERVICE_LABEL: service}},
        "addressType": "IPv4",
        "endpoints": items,
    }
    if port is not None:
        body["ports"] = [{"name": port_name, "port": port, "protocol": "TCP"}]
    return body


@dataclass
class _State:
    resource_version: int = 100
    oldest_watchable: int = 0
    slices: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    kick_generation: int = 0
    kick_kind: str = ""
    failing: bool = False
    closed: bool = False


class StandInApiServer:
    """The stand-in server, on 127.0.0.1 and a free port, served from a background thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._state = _State()
        self.requests: list[tuple[str, int]] = []  # ("list" | "watch", HTTP status)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.standin = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandInApiServer:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._state.closed = True
            self._cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- test controls -------------------------------------------------------------------------

    def apply(self, manifest: dict[str, Any]) -> None:
        """Create or replace a slice (ADDED or MODIFIED event)."""
        with self._cond:
            key = (manifest["metadata"]["namespace"], manifest["metadata"]["name"])
            kind = "MODIFIED" if key in self._state.slices else "ADDED"
            self._record(kind, key, copy.deepcopy(manifest))

    def delete(self, namespace: str, name: str) -> None:
        """Remove a slice (DELETED event)."""
        with self._cond:
            self._record("DELETED", (namespace, name), self._state.slices[(namespace, name)])

    def expire_watches(self) -> None:
        """Compact history: open watches get ERROR 410, older resourceVersions are refused."""
        with self._cond:
            self._state.oldest_watchable = self._state.resource_version
            self._kick("gone")

    def end_watches(self) -> None:
        """Close open watch streams cleanly, as the server does when timeoutSeconds runs out."""
        with self._cond:
            self._kick("end")

    def set_failing(self, failing: bool) -> None:
        """While failing, every request gets HTTP 500."""
        with self._cond:
            self._state.failing = failing

    def count(self, kind: str, status: int | None = None) -> int:
        with self._cond:
            return sum(1 for k, s in self.requests if k == kind and status in (None, s))

    # -- internals (called with the condition held) --------------------------------------------

    def _record(self, kind: str, key: tuple[str, str], manifest: dict[str, Any]) -> None:
        self._state.resource_version += 1
        manifest = copy.deepcopy(manifest)
        manifest["metadata"]["resourceVersion"] = str(self._state.resource_version)
        if kind == "DELETED":
            del self._state.slices[key]
        else:
            self._state.slices[key] = manifest
        self._state.events.append((self._state.resource_version, kind, manifest))
        self._cond.notify_all()

    def _kick(self, kind: str) -> None:
        self._state.kick_generation += 1
        self._state.kick_kind = kind
        self._cond.notify_all()

    # -- request handling (called from handler threads) ----------------------------------------

    def handle_list(self, namespace: str, labels: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._cond:
            if self._state.failing:
                self.requests.append(("list", 500))
                return 500, _status(500, "InternalError", "stand-in is failing on purpose")
            self.requests.append(("list", 200))
            items = [
                copy.deepcopy(s)
                for (ns, _), s in sorted(self._state.slices.items())
                if ns == namespace and _matches(s, labels)
            ]
            return 200, {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSliceList",
                "metadata": {"resourceVersion": str(self._state.resource_version)},
                "items": items,
            }

    def open_watch(self, since: int) -> tuple[int, int]:
        """Record a watch request; return (HTTP status, kick generation at open)."""
        with self._cond:
            status = 500 if self._state.failing else 200
            self.requests.append(("watch", status))
            return status, self._state.kick_generation

    def next_events(
        self, namespace: str, labels: dict[str, str], since: int, generation: int, deadline: float
    ) -> tuple[list[dict[str, Any]], bool]:
        """Block until events newer than `since` exist or the stream must end.

        Returns (events to send, whether the stream ends after them).
        """
        with self._cond:
            while True:
                if since < self._state.oldest_watchable:
                    gone = _status(410, "Expired", f"too old resource version: {since}")
                    return [{"type": "ERROR", "object": gone}], True
                if self._state.closed or time.monotonic() >= deadline:
                    return [], True
                if self._state.kick_generation != generation:
                    if self._state.kick_kind == "gone":
                        gone = _status(410, "Expired", "watch expired (stand-in compaction)")
                        return [{"type": "ERROR", "object": gone}], True
                    return [], True
                fresh = [
                    {"type": kind, "object": copy.deepcopy(obj)}
                    for rv, kind, obj in self._state.events
                    if rv > since
                    and obj["metadata"]["namespace"] == namespace
                    and _matches(obj, labels)
                ]
                if fresh:
                    return fresh, False
                self._cond.wait(timeout=min(0.5, max(0.0, deadline - time.monotonic())))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on behaviour, not on access logs."""

    def do_GET(self) -> None:
        standin: StandInApiServer = self.server.standin  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        match = _PATH.match(parts.path)
        if not match:
            self._send_json(404, _status(404, "NotFound", f"no route {parts.path}"))
            return
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            labels = _parse_selector(query.get("labelSelector", ""))
        except ValueError as error:
            self._send_json(400, _status(400, "BadRequest", str(error)))
            return
        namespace = match.group(1)
        if query.get("watch") in ("true", "1"):
            self._watch(standin, namespace, labels, query)
        else:
            self._send_json(*standin.handle_list(namespace, labels))

    def _watch(
        self,
        standin: StandInApiServer,
        namespace: str,
        labels: dict[str, str],
        query: dict[str, str],
    ) -> None:
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + int(query.get("timeoutSeconds") or 1800)
        status, generation = standin.open_watch(since)
        if status != 200:
            self._send_json(status, _status(status, "InternalError", "stand-in failing"))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            while True:
                events, done = standin.next_events(namespace, labels, since, generation, deadline)
                for event in events:
                    self._send_chunk(json.dumps(event).encode() + b"\n")
                    rv = event["object"].get("metadata", {}).get("resourceVersion")
                    if rv:
                        since = int(rv)
                if done:
                    self._send_chunk(b"")
                    return
        except (BrokenPipeError, ConnectionResetError, OSError):
            return  # the client went away (for example the watcher was stopped)

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _parse_selector(selector: str) -> dict[str, str]:
    """Equality selectors only ("a=b,c==d"), which is all the watcher sends."""
    labels: dict[str, str] = {}
    for term in filter(None, selector.split(",")):
        key, sep, value = term.replace("==", "=").partition("=")
        if not sep or not key:
            raise ValueError(f"unsupported label selector term {term!r}")
        labels[key.strip()] = value.strip()
    return labels


def _matches(manifest: dict[str, Any], labels: dict[str, str]) -> bool:
    have = manifest["metadata"].get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
