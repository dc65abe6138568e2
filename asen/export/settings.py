"""Export settings, and the model version string derived from them and the checkpoint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from asen.export.onnx_graphs import OPSET
from asen_contract.errors import ConfigError
from asen_contract.images import DEFAULT_MAX_ASPECT_RATIO, DEFAULT_MAX_PIXELS

TARGETS = ("cpu", "gpu")
RUNTIMES = ("onnxruntime", "openvino")  # cpu target; the gpu target runs Triton's onnxruntime
PRECISIONS = ("float32", "int8")  # int8: cpu target, global_head stays float32
# exact: decode + resize with Pillow in CPU Python models (the reference); device: decode with
# nvImageCodec and resize with torch ops on the instance's device (a GPU on the gpu target; the
# cpu target runs the same code on the CPU, which is how it is tested without a GPU)
GPU_PREPROCESS = ("exact", "device")
# exact: the reference (bit-exact to the official transforms); fast: JPEGs decoded at a reduced
# DCT scale (asen_contract.fast_preprocess), opt-in, its accuracy cost measured in docs/runtimes.md
CPU_PREPROCESS = ("exact", "fast")
# ensemble: five models (preprocess, three graphs, roi_crop), the layout both targets share;
# single: one Python model `asen` doing every step in one process (cpu target, docs/triton.md)
CPU_LAYOUTS = ("ensemble", "single")
REPOSITORY_FORMAT = 2  # bump when the repository layout or a Python model changes meaning


_UNHASHED_DEFAULTS = {
    "runtime": "onnxruntime",
    "precision": "float32",
    "calibration": "",
    "gpu_preprocess": "exact",
    "cpu_preprocess": "exact",
}
# how many processes run a graph, and in which layout, changes no embedding
_UNHASHED = ("cpu_instances", "cpu_layout")


@dataclass(frozen=True)
class ExportSettings:
    target: str = "cpu"
    max_batch: int = 16
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO
    queue_delay_us: int = 2000
    # intra-op threads of each cpu-target branch instance (global_head: always 1). One thread per
    # branch lets the branches of different requests run side by side without oversubscribing
    # the cores: measured on 2 cores, +25% served images/s over 2 threads (docs/runtimes.md).
    cpu_threads: int = 1
    # instances (processes) of global_backbone and local_branch on the cpu target (global_head:
    # always 1). With 1 thread each, one instance uses at most one core: a node with N cores
    # needs N instances (or more threads) for the backbone to use them all.
    cpu_instances: int = 1
    runtime: str = "onnxruntime"
    precision: str = "float32"
    calibration: str = ""  # int8: digest of the calibration images (set by the export)
    gpu_preprocess: str = "exact"  # where preprocess and roi_crop decode and resize
    cpu_preprocess: str = "exact"  # how they decode and resize on the CPU
    cpu_layout: str = "ensemble"  # the cpu target's models: the ensemble or a single model

    @property
    def preprocess_mode(self) -> str:
        """The `preprocess` parameter of the preprocess and roi_crop models."""
        return "fast" if self.cpu_preprocess == "fast" else self.gpu_preprocess

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ConfigError(f"unknown target {self.target!r}; choose from {', '.join(TARGETS)}")
        if self.max_batch < 1:
            raise ConfigError(f"the max batch size must be at least 1, got {self.max_batch}")
        if self.max_image_pixels < 1:
            raise ConfigError(f"the pixel limit must be positive, got {self.max_image_pixels}")
        if not self.max_aspect_ratio >= 1:
            raise ConfigError(
                f"the aspect ratio limit must be at least 1, got {self.max_aspect_ratio}"
            )
        if self.runtime not in RUNTIMES:
            raise ConfigError(
                f"unknown runtime {self.runtime!r}; choose from {', '.join(RUNTIMES)}"
            )
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}"
            )
        if self.gpu_preprocess not in GPU_PREPROCESS:
            raise ConfigError(
                f"unknown pre-processing {self.gpu_preprocess!r}; "
                f"choose from {', '.join(GPU_PREPROCESS)}"
            )
        if self.cpu_preprocess not in CPU_PREPROCESS:
            raise ConfigError(
                f"unknown CPU pre-processing {self.cpu_preprocess!r}; "
                f"choose from {', '.join(CPU_PREPROCESS)}"
            )
        if self.cpu_preprocess == "fast" and self.gpu_preprocess == "device":
            raise ConfigError(
                "--cpu-preprocess fast and --gpu-preprocess device both choose how images are "
                "decoded and resized: choose one"
            )
        if self.cpu_layout not in CPU_LAYOUTS:
            raise ConfigError(
                f"unknown CPU layout {self.cpu_layout!r}; choose from {', '.join(CPU_LAYOUTS)}"
            )
        if self.target == "gpu" and self.cpu_layout != "ensemble":
            raise ConfigError("the single-model layout is for the cpu target")
        if self.target == "gpu" and (self.runtime, self.precision) != ("onnxruntime", "float32"):
            raise ConfigError(
                "the gpu target runs Triton's onnxruntime backend with TensorRT: the runtime and "
                "precision choices are for the cpu target"
            )
        if self.queue_delay_us < 0 or self.cpu_threads < 0:
            raise ConfigError("queue delay and thread count cannot be negative")
        if self.cpu_instances < 1:
            raise ConfigError(f"the instance count must be at least 1, got {self.cpu_instances}")

    def fingerprint(self) -> str:
        """Everything that can change an embedding or a served limit, hashed."""
        payload = {**asdict(self), "opset": OPSET, "format": REPOSITORY_FORMAT}
        for key, default in _UNHASHED_DEFAULTS.items():  # earlier exports keep their version
            if payload[key] == default:
                del payload[key]
        for key in _UNHASHED:
            del payload[key]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]


def model_version(checkpoint_sha256: str, settings: ExportSettings) -> str:
    """`ckpt-<12 hex of the checkpoint>-<target>-<8 hex of the settings>`: a cache-key part."""
    return f"ckpt-{checkpoint_sha256[:12]}-{settings.target}-{settings.fingerprint()}"
