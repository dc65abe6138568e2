"""The faults the soak injects while the load runs, and the schedules that space them out.

Each fault is a blocking action on the system that returns when its corrective step is done
(Redis back, Triton ready again, ...), and leaves a `FaultWindow`: when it began (the disruptive
moment) and when the system was whole again. A fault only begins once the previous one is over
and its scheduled time has come, after a settling time of steady load (so the latency "before"
each fault is measured in a steady state, and windows never overlap).

Which failed calls a fault may cause (the targets of the soak):
- Redis killed / slowed, a Cluster master killed, a planned Triton scale-down or scale-up, a
  gateway drained: none;
- a Triton SIGKILLed: only the calls in flight on it at that moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from loadtests.soak.system import SoakSystem

KUBELET_DELAY_S = 2.0  # readiness probe period: how long a dead pod stays "ready" in its slice
PRESTOP_S = 2.0  # a terminating pod keeps serving this long after leaving the endpoints


@dataclass
class FaultWindow:
    name: str
    description: str
    begin: float  # unix time of the disruptive action
    end: float  # unix time the corrective step finished
    allowed: str  # which failed calls are allowed: "none" | "in-flight at begin"
    restarted_gateway: str = ""  # a gateway process this fault replaced (its memory restarts)


@dataclass(frozen=True)
class Fault:
    name: str
    at: float  # seconds after the load starts
    action: Callable[[SoakSystem], FaultWindow]


def redis_restart(down_s: float) -> Callable[[SoakSystem], FaultWindow]:
    def act(system: SoakSystem) -> FaultWindow:
        begin = time.time()
        system.redis.kill()
        time.sleep(down_s)
        system.redis.start()  # a fresh, empty Redis on the same port
        return FaultWindow(
            "redis-restart",
            f"single Redis SIGKILLed, restarted empty after {down_s:.0f} s",
            begin,
            time.time(),
            "none",
        )

    return act


def redis_slow(slow_s: float, delay_ms: float) -> Callable[[SoakSystem], FaultWindow]:
    def act(system: SoakSystem) -> FaultWindow:
        begin = time.time()
        system.slow_redis(True)
        time.sleep(slow_s)
        system.slow_redis(False)
        return FaultWindow(
            "redis-slow",
            f"+{delay_ms:.0f} ms per chunk on the network to the single Redis for {slow_s:.0f} s",
            begin,
            time.time(),
            "none",
        )

    return act


def cluster_master_kill(down_s: float) -> Callable[[SoakSystem], FaultWindow]:
    def act(system: SoakSystem) -> FaultWindow:
        victim = system.cluster.masters()[0]
        begin = time.time()
        system.cluster.kill(victim)
        time.sleep(down_s)  # a replica is promoted meanwhile
        system.cluster.restart(victim)  # rejoins as a replica
        system.cluster.wait_healthy()
        return FaultWindow(
            "cluster-master-kill",
            f"a Redis Cluster master SIGKILLed; its replica takes over; back as a replica "
            f"after {down_s:.0f} s",
            begin,
            time.time(),
            "none",
        )

    return act


def triton_kill(system: SoakSystem) -> FaultWindow:
    triton = system.tritons[0]
    restarts = triton.restarts
    begin = time.time()
    triton.kill()  # its supervisor cleans up and starts it again
    time.sleep(KUBELET_DELAY_S)
    system.discovery.publish(triton.name, triton.grpc_port, ready=False)
    triton.wait_restarted(restarts + 1)
    system.discovery.publish(triton.name, triton.grpc_port, ready=True)
    return FaultWindow(
        "triton-kill",
        "one Triton SIGKILLed; not ready in its slice 2 s later; restarted by its supervisor, "
        "ready again",
        begin,
        time.time(),
        "in-flight at begin",
    )


def triton_scale_down(system: SoakSystem) -> FaultWindow:
    triton = system.tritons[1]
    begin = time.time()
    system.discovery.publish(triton.name, triton.grpc_port, ready=False)  # terminating
    time.sleep(PRESTOP_S)
    triton.stop()  # SIGTERM: Triton finishes what it has
    return FaultWindow(
        "triton-scale-down",
        "one Triton endpoint marked terminating, SIGTERMed 2 s later",
        begin,
        time.time(),
        "none",
    )


def triton_scale_up(system: SoakSystem) -> FaultWindow:
    triton = system.tritons[1]
    begin = time.time()
    triton.start()
    system.discovery.publish(triton.name, triton.grpc_port, ready=True)
    return FaultWindow(
        "triton-scale-up",
        "the Triton endpoint started again and published ready",
        begin,
        time.time(),
        "none",
    )


def gateway_drain(system: SoakSystem) -> FaultWindow:
    gateway = system.gateways[1]
    begin = time.time()
    gateway.stop()  # SIGTERM: NOT_SERVING, drain, exit
    gateway.start()
    return FaultWindow(
        "gateway-drain",
        "one gateway SIGTERMed (drains its calls), then started again",
        begin,
        time.time(),
        "none",
        restarted_gateway=gateway.name,
    )


@dataclass(frozen=True)
class Schedule:
    faults: list[Fault]
    warm_up_s: float  # load before the first fault (and the memory baseline)
    total_s: float  # seconds of load in all, at least
    settle_s: float  # steady load between the end of a fault and the begin of the next


def schedule(name: str) -> Schedule:
    """The `short` (about 3 minutes) or `full` (30 minutes) soak."""
    if name == "short":
        gap, warm, total, settle, down = 20.0, 20.0, 190.0, 12.0, 6.0
    elif name == "full":
        gap, warm, total, settle, down = 120.0, 300.0, 1800.0, 60.0, 15.0
    else:
        raise ValueError(f"unknown schedule {name!r} (short or full)")
    steps = [
        ("redis-restart", redis_restart(down)),
        ("redis-slow", redis_slow(down, 400)),
        ("cluster-master-kill", cluster_master_kill(down)),
        ("triton-kill", triton_kill),
        ("triton-scale-down", triton_scale_down),
        ("triton-scale-up", triton_scale_up),
        ("gateway-drain", gateway_drain),
    ]
    faults = [Fault(n, warm + i * gap, action) for i, (n, action) in enumerate(steps)]
    return Schedule(faults, warm, total, settle)
