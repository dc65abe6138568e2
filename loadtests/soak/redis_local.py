"""Real local Redis deployments for tests and the soak: one server, a Cluster, a Sentinel group.

Every process is a real `redis-server` on 127.0.0.1 and a free port, without persistence, in a
folder of its own. Whoever starts a deployment stops it (`stop()`, or use it as a context
manager); `kill()` SIGKILLs one node to simulate a crash.

    with RedisClusterLocal(workdir) as cluster:      # 3 masters + 3 replicas
        url = cluster.url                            # redis+cluster://127.0.0.1:p1,...
        cluster.kill(cluster.masters()[0])           # a replica takes over its slots
        cluster.wait_healthy()
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

_USED: set[int] = set()


def free_port() -> int:
    """A currently free loopback port, not handed out before by this process."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _USED:
            _USED.add(port)
            return port


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian package redis-server)")
    return binary


def client(port: int, timeout: float = 2.0, password: str | None = None) -> redis.Redis:
    """A plain synchronous client of one node, for watching it (not the client under test)."""
    return redis.Redis(
        port=port, password=password, socket_timeout=timeout, socket_connect_timeout=timeout
    )


def info(port: int, section: str, password: str | None = None) -> dict:
    """INFO `section` of a node; {} when it does not answer."""
    try:
        with client(port, password=password) as node:
            return node.info(section)
    except (redis.RedisError, OSError):
        return {}


def cluster_info(port: int) -> dict[str, str]:
    try:
        with client(port) as node:
            text = node.execute_command("CLUSTER", "INFO")
    except (redis.RedisError, OSError):
        return {}
    text = text.decode() if isinstance(text, bytes) else str(text)
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def wait_until(condition, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class RedisNode:
    """One redis-server process; `start()` blocks until it answers PING."""

    def __init__(
        self, workdir: Path, *args: str, port: int | None = None, password: str | None = None
    ) -> None:
        self.port = port or free_port()
        self.workdir = Path(workdir)
        self.args = args
        self.password = password  # the node's requirepass, for watching it
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [redis_binary(), *self.args, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(lambda: self._answers() or not self.running, 20, f"redis on {self.port}")
        if not self.running:
            raise RuntimeError(f"redis-server exited; see {self.workdir / 'redis.log'}")

    def _answers(self) -> bool:
        try:
            with client(self.port, timeout=0.5, password=self.password) as node:
                return bool(node.ping())
        except (redis.RedisError, OSError):
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash, no chance to hand anything over."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=20)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


class RedisLocal:
    """One server (`redis://`)."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.node = RedisNode(workdir, port=port)

    @property
    def port(self) -> int:
        return self.node.port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.node.port}/0"

    def start(self) -> RedisLocal:
        self.node.start()
        return self

    def stop(self) -> None:
        self.node.stop()

    def kill(self) -> None:
        self.node.kill()

    def __enter__(self) -> RedisLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisClusterLocal:
    """A Redis Cluster of `masters` masters with `replicas` replicas each (default 3 + 3).

    A short cluster-node-timeout (ms) makes failover take about two seconds."""

    def __init__(
        self, workdir: Path, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 1000
    ) -> None:
        self.workdir = Path(workdir)
        self.replicas = replicas
        self.nodes = [
            RedisNode(
                self.workdir / f"node{i}",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                str(node_timeout_ms),
                "--cluster-port",
                str(free_port()),
            )  # fmt: skip
            for i in range(masters * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(node.address for node in self.nodes)

    def start(self) -> RedisClusterLocal:
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(
                [shutil.which("redis-cli") or "redis-cli", "--cluster", "create",
                 *(node.address for node in self.nodes),
                 "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=60,
            )  # fmt: skip
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def role(self, node: RedisNode) -> str:
        return info(node.port, "replication").get("role", "")

    def masters(self) -> list[RedisNode]:
        return [node for node in self.nodes if node.running and self.role(node) == "master"]

    def healthy(self) -> bool:
        """Every running node sees all slots served, and every running replica is in sync."""
        running = [node for node in self.nodes if node.running]
        for node in running:
            cluster = cluster_info(node.port)
            if cluster.get("cluster_state") != "ok" or cluster.get("cluster_slots_ok") != "16384":
                return False
            replication = info(node.port, "replication")
            if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                return False
        return True

    def wait_healthy(self, timeout: float = 60) -> None:
        wait_until(self.healthy, timeout, "the Redis Cluster to be healthy", interval=0.1)

    def kill(self, node: RedisNode) -> None:
        node.kill()

    def restart(self, node: RedisNode) -> None:
        """Start a killed node again: it rejoins (from its nodes.conf) as a replica."""
        node.start()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> RedisClusterLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisSentinelLocal:
    """A master, `replicas` replicas and `sentinels` sentinels (quorum: a majority)."""

    def __init__(
        self,
        workdir: Path,
        master_name: str = "cache",
        replicas: int = 1,
        sentinels: int = 3,
        down_after_ms: int = 1000,
        password: str | None = None,
        sentinel_password: str | None = None,
    ) -> None:
        """`password`: the data nodes' requirepass; `sentinel_password`: the sentinels' own."""
        self.workdir = Path(workdir)
        self.master_name = master_name
        self.password = password
        self.sentinel_password = sentinel_password
        auth = ("--requirepass", password, "--masterauth", password) if password else ()
        self.data = [RedisNode(self.workdir / "data0", *auth, password=password)]
        master_port = self.data[0].port
        self.data += [
            RedisNode(
                self.workdir / f"data{i}",
                "--replicaof",
                "127.0.0.1",
                str(master_port),
                *auth,
                password=password,
            )  # fmt: skip
            for i in range(1, replicas + 1)
        ]
        self.sentinels: list[RedisNode] = []
        quorum = sentinels // 2 + 1
        for i in range(sentinels):
            folder = self.workdir / f"sentinel{i}"
            folder.mkdir(parents=True, exist_ok=True)
            config = folder / "sentinel.conf"
            lines = [
                f"sentinel monitor {master_name} 127.0.0.1 {master_port} {quorum}",
                f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
                f"sentinel failover-timeout {master_name} {max(3000, 4 * down_after_ms)}",
                f"sentinel parallel-syncs {master_name} 1",
            ]
            if password:
                lines.append(f"sentinel auth-pass {master_name} {password}")
            if sentinel_password:
                lines.append(f"requirepass {sentinel_password}")
            config.write_text("\n".join(lines) + "\n")
            node = RedisNode(folder, str(config), "--sentinel", password=sentinel_password)
            self.sentinels.append(node)

    @property
    def url(self) -> str:
        hosts = ",".join(node.address for node in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.master_name}/0"

    def master_port(self) -> int:
        """The master's port as the sentinels see it (0 when they do not agree)."""
        answers = set()
        for sentinel in self.sentinels:
            try:
                with client(sentinel.port, password=self.sentinel_password) as node:
                    address = node.sentinel_get_master_addr_by_name(self.master_name)
            except (redis.RedisError, OSError):
                address = None
            answers.add(int(address[1]) if address else 0)
        return answers.pop() if len(answers) == 1 else 0

    def master(self) -> RedisNode:
        port = self.master_port()
        return next(node for node in self.data if node.port == port)

    def healthy(self) -> bool:
        """The sentinels agree on a running master, which has every other running node in sync,
        and each sentinel knows all others."""
        port = self.master_port()
        master = next((n for n in self.data if n.port == port and n.running), None)
        replication = info(port, "replication", self.password)
        if master is None or replication.get("role") != "master":
            return False
        running = sum(1 for node in self.data if node.running)
        if int(replication.get("connected_slaves", 0)) < running - 1:
            return False
        for sentinel in self.sentinels:
            try:
                with client(sentinel.port, password=self.sentinel_password) as node:
                    state = node.sentinel_master(self.master_name)
            except (redis.RedisError, OSError):
                return False
            if state.get("num-other-sentinels") != len(self.sentinels) - 1:
                return False
        return True

    def wait_healthy(self, timeout: float = 60) -> None:
        wait_until(self.healthy, timeout, "the Sentinel group to be healthy", interval=0.1)

    def start(self) -> RedisSentinelLocal:
        try:
            for node in [*self.data, *self.sentinels]:
                node.start()
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in [*self.sentinels, *self.data]:
            node.stop()

    def __enter__(self) -> RedisSentinelLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
