"""Helpers of the Triton integration tests: small checkpoints, test images, ensemble calls."""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpcclient
from PIL import Image, ImageDraw

from asen.checkpoint import load_checkpoint
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings
from asen.model.config import ModelConfig
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract import tensors

from ..factories import tiny_checkpoint, tiny_config

SMALL_PIXEL_LIMIT = 400_000  # 640x480 passes, 1000x500 is refused

# Sizes and aspect ratios the equivalence tests cover (width, height).
IMAGE_SIZES = [(96, 96), (200, 120), (120, 260), (640, 480), (33, 50), (1000, 333)]


def small_config(has_local: bool = True, **overrides) -> ModelConfig:
    """Tiny backbones, global/local sizes other than 224/112, a threshold that gives real boxes."""
    values: dict = dict(global_size=96, local_size=48, threshold=0.5)
    values.update(overrides)
    return tiny_config(4, local=has_local, **values)


def make_checkpoint(path: Path, config: ModelConfig, seed: int = 0) -> Path:
    """A random-init model whose attention is sharpened so RoI boxes differ by attribute."""
    return tiny_checkpoint(path, config, seed=seed, sharp_attention=True)


def export(checkpoint: Path, out: Path, **settings) -> Path:
    export_repository(load_checkpoint(checkpoint), out, ExportSettings(**settings))
    return out


def running_server(repository: Path, log_dir: Path) -> Iterator[TritonServer]:
    """A real tritonserver as `asen serve` runs it: loopback only, HTTP off."""
    grpc, metrics = free_ports(2)
    server = TritonServer(repository, None, grpc, metrics, log_path=log_dir / "tritonserver.log")
    server.start(timeout=240)
    try:
        yield server
    finally:
        server.stop()


def garment_image(width: int, height: int, seed: int = 0) -> Image.Image:
    """A plain background with two coloured shapes: attention has something to look at."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(150, 230, 3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle([width * 0.1, height * 0.5, width * 0.5, height * 0.9], fill=(20, 40, 160))
    draw.ellipse([width * 0.6, height * 0.1, width * 0.9, height * 0.4], fill=(180, 20, 20))
    return image


def encode(image: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format)
    return buffer.getvalue()


def ensemble_inputs(images: list[bytes], attributes: list[list[int]]) -> list:
    image = grpcclient.InferInput(tensors.IMAGE, [len(images), 1], "BYTES")
    image.set_data_from_numpy(np.array([[data] for data in images], dtype=object))
    ids = np.asarray(attributes, dtype=np.int32)
    attribute = grpcclient.InferInput(tensors.ATTRIBUTE, list(ids.shape), "INT32")
    attribute.set_data_from_numpy(ids)
    return [image, attribute]


def infer(client: grpcclient.InferenceServerClient, images, attributes) -> dict[str, np.ndarray]:
    """Call the `asen` ensemble: IMAGE [B,1], ATTRIBUTE [B,K] -> outputs with a [B,K,...] shape."""
    result = client.infer(tensors.ENSEMBLE, ensemble_inputs(images, attributes))
    names = (tensors.EMBEDDING, tensors.ROI, tensors.ATTENTION)
    return {name: result.as_numpy(name) for name in names}


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


def process_group(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            members.append(int(stat.parent.name))
    return sorted(members)


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of the TCP sockets process `pid` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, family in (("tcp", 4), ("tcp6", 6)):
        lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                address, port = local.split(":")
                found.add((_address(address, family), int(port, 16)))
    return found


def _address(hex_address: str, family: int) -> str:
    raw = bytes.fromhex(hex_address)
    if family == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)
