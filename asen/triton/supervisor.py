"""Keep a tritonserver running: restart it with back-off when it dies, clean up what it left.

`asen serve` runs Triton under this supervisor. When the server process exits on its own (a
crash, an OOM kill, a SIGKILL), the supervisor kills the Python-backend stubs it left behind
(its process group), removes its /dev/shm regions, waits (1 s, doubling up to 30 s; back to 1 s
once a server has stayed up for a minute) and starts it again on the same ports. The gateway
needs no signal: its pool probes Triton and serves again as soon as the models are ready.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from asen.triton.launcher import TritonServer

INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0  # a server up this long resets the back-off


class TritonSupervisor:
    def __init__(
        self,
        server: TritonServer,
        report: Callable[[str], None] = lambda message: None,
        start_timeout: float = 300.0,
        poll_interval: float = 0.5,
    ) -> None:
        self.server = server
        self.restarts = 0
        self._report = report
        self._start_timeout = start_timeout
        self._poll_interval = poll_interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the server (errors such as a bad repository raise here), then watch it."""
        self.server.start(timeout=self._start_timeout, cancel=self._stopping)
        self._thread = threading.Thread(target=self._watch, name="triton-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (a restart in progress is cancelled), then stop the server."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.server.stop()

    def _watch(self) -> None:
        backoff = INITIAL_BACKOFF_S
        up_since = time.monotonic()
        while not self._stopping.wait(self._poll_interval):
            if self.server.running:
                if time.monotonic() - up_since >= STABLE_AFTER_S:
                    backoff = INITIAL_BACKOFF_S
                continue
            status = self.server.process.returncode if self.server.process else None
            self.server.stop()  # kills the stubs it left, removes its shared memory
            self._report(f"tritonserver exited unexpectedly (status {status})")
            backoff = self._restart(backoff)
            up_since = time.monotonic()

    def _restart(self, backoff: float) -> float:
        """Start again after `backoff` until a start succeeds (or the supervisor stops).

        Returns the back-off for the next crash."""
        while True:
            self._report(f"restarting tritonserver in {backoff:g} s")
            if self._stopping.wait(backoff):
                return backoff
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            try:
                self.server.start(timeout=self._start_timeout, cancel=self._stopping)
            except Exception as error:  # keep supervising whatever went wrong
                if self._stopping.is_set():
                    return backoff
                self._report(f"tritonserver restart failed: {error}")
                continue
            self.restarts += 1
            self._report(f"tritonserver restarted (restart {self.restarts}); models ready")
            return backoff
