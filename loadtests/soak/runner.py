"""Runs one soak: starts the system, warms the cache, starts the load, injects the faults on
their schedule while sampling the gateways, then stops everything and leaves the raw data:

    calls.csv     one line per call: start (unix s), latency (ms), call, gRPC code
    samples.csv   per second and gateway: memory, connections, cache counters
    machine.csv   per second: load average, share of CPU time busy
    faults.json   the fault windows, the schedule, the load settings
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc

from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc
from loadtests.h2load_grpc import H2Result
from loadtests.soak.capacity import measure
from loadtests.soak.faults import FaultWindow, schedule
from loadtests.soak.gateway_proc import ROOT
from loadtests.soak.sampler import Sampler
from loadtests.soak.system import SoakSystem
from loadtests.soak.workload import catalogue, catalogue_items

TAIL_S = 20.0  # load after the last fault, to see the system after recovery


@dataclass(frozen=True)
class LoadSettings:
    users: int = 12
    rate_per_user: float = 2.0  # calls per second per user
    deadline_s: float = 10.0


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_soak(
    schedule_name: str,
    repository: Path,
    workdir: Path,
    load: LoadSettings = LoadSettings(),
    capacity_seconds: int = 0,
) -> Path:
    """Run the soak; returns the folder of its raw data (workdir/data). With
    `capacity_seconds`, first measure one gateway's raw capacity with h2load."""
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    plan = schedule(schedule_name)
    system = SoakSystem(repository, workdir, gateway_env={})
    windows: list[FaultWindow] = []
    locust: subprocess.Popen | None = None
    sampler = Sampler(system.gateways, data / "samples.csv", data / "machine.csv")
    log("starting Redis (single + cluster), 2 Tritons, 2 gateways ...")
    system.start()
    try:
        attributes = warm_cache(system.gateway_addresses)
        log(f"cache warm ({len(catalogue())} images x {len(attributes)} attributes)")
        index_catalogue(system.gateway_addresses)
        log("catalogue indexed in each gateway's Milvus Lite file")
        capacity = None
        if capacity_seconds:
            capacity = measure_capacity(system.gateway_addresses[0], attributes, capacity_seconds)
            log(f"raw capacity (h2load, cached Compare): {capacity}")
        log("load starts")
        sampler.start()
        started = time.time()
        locust = start_load(system.gateway_addresses, attributes, data, load)
        for fault in plan.faults:
            settled = windows[-1].end + plan.settle_s if windows else 0.0
            _sleep_until(max(started + fault.at, settled))
            log(f"fault: {fault.name}")
            windows.append(fault.action(system))
            log(f"fault over: {fault.name} ({windows[-1].end - windows[-1].begin:.1f} s)")
        _sleep_until(max(started + plan.total_s, time.time() + TAIL_S))
        stopped = time.time()
    finally:
        if locust is not None:
            stop_load(locust)
        sampler.stop()
        log("stopping the system ...")
        system.stop()
    (data / "faults.json").write_text(
        json.dumps(
            {
                "schedule": schedule_name,
                "load_started": started,
                "load_stopped": stopped,
                "warm_up_s": plan.warm_up_s,
                "load": asdict(load),
                "faults": [asdict(w) for w in windows],
                "cpus": os.cpu_count(),
                "capacity": asdict(capacity) if capacity else None,
                "ports": system.ports(),
            },
            indent=1,
        )
    )
    return data


def warm_cache(addresses: list[str]) -> list[str]:
    """Embed every catalogue image for every attribute through each gateway (each has its own
    Redis); returns the attribute names."""
    attributes: list[str] = []
    for address in addresses:
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.FashionSimilarityStub(channel)
            model = stub.ListAttributes(pb.ListAttributesRequest(), timeout=30)
            attributes = [a.name for a in model.attributes]
            for picture in catalogue():
                request = pb.EmbedRequest(image=pb.ImageRef(data=picture), attributes=attributes)
                stub.Embed(request, timeout=120)
    return attributes


def index_catalogue(addresses: list[str]) -> None:
    """UpsertItems the catalogue images (every attribute) through each gateway (each has its own
    Milvus Lite file); every item must be stored."""
    for address in addresses:
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.FashionSimilarityStub(channel)
            results = list(stub.UpsertItems(iter(catalogue_items()), timeout=300))
            failed = [r for r in results if r.HasField("error")]
            if failed or len(results) != len(catalogue()):
                raise RuntimeError(f"indexing the catalogue through {address} failed: {failed[:3]}")


def measure_capacity(address: str, attributes: list[str], seconds: int) -> H2Result | None:
    pictures = catalogue()
    request = pb.CompareRequest(
        a=pb.ImageRef(data=pictures[0]), b=pb.ImageRef(data=pictures[1]), attributes=attributes
    )
    return measure(address, request, seconds=seconds)


def start_load(
    addresses: list[str], attributes: list[str], data: Path, load: LoadSettings
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SOAK_GATEWAYS": ",".join(addresses),
        "SOAK_ATTRIBUTES": ",".join(attributes),
        "SOAK_RECORD": str(data / "calls.csv"),
        "SOAK_RATE": str(load.rate_per_user),
        "SOAK_DEADLINE_S": str(load.deadline_s),
    }
    with open(data / "locust.log", "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests/soak/locustfile.py"),
             "--headless", "--users", str(load.users), "--spawn-rate", str(load.users),
             "--stop-timeout", "30", "--only-summary", "--loglevel", "WARNING",
             "--csv", str(data / "locust")],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop_load(locust: subprocess.Popen) -> None:
    """SIGTERM: locust lets calls in flight finish (--stop-timeout) and writes its summary."""
    locust.send_signal(signal.SIGTERM)
    try:
        locust.wait(timeout=60)
    except subprocess.TimeoutExpired:
        locust.kill()
        locust.wait()


def _sleep_until(moment: float) -> None:
    while (left := moment - time.time()) > 0:
        time.sleep(min(left, 1.0))
