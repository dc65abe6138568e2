"""The contract package stays dependency-light: numpy and Pillow, nothing of the project.

The gateway image and the Triton Python models import it without torch, gRPC, ONNX, protobuf
or the training code; a fresh interpreter shows what importing every module pulls in.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import asen_contract

FORBIDDEN = ("torch", "grpc", "onnx", "onnxruntime", "tritonclient", "google", "asen", "gateway")


def test_importing_the_contract_pulls_in_numpy_and_pillow_only() -> None:
    modules = [f"asen_contract.{m.name}" for m in pkgutil.iter_modules(asen_contract.__path__)]
    assert {"asen_contract.images", "asen_contract.roi", "asen_contract.tensors"} <= set(modules)
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    assert {"numpy", "PIL", "asen_contract"} <= loaded
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)
