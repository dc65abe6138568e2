#!/usr/bin/env bash
# The gpu target's parity and speed in one command, on a machine with an NVIDIA GPU and Triton
# (an official container or installation: --tritonserver, default /opt/tritonserver/bin/tritonserver).
#
#   scripts/gpu_check.sh [--checkpoint MODEL] [--tritonserver PATH] [--concurrency 1 4 16 64]
#   scripts/gpu_check.sh --dry-run      # no GPU: the same steps, serving the cpu target
#   scripts/gpu_check.sh --gpu-preprocess device   # decode (nvImageCodec) and resize on the GPU
#
# Exports the gpu target, serves it, checks fused cosine >= 0.9999 and identical RoI boxes against
# the in-process CPU float32 embedder, prints throughput; see loadtests/gpu_check.py.
# Stopped (cleanly: SIGINT, the server is shut down) after GPU_CHECK_SECONDS, 480 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
exec timeout --signal=INT --kill-after=30 "${GPU_CHECK_SECONDS:-480}" \
    "$PYTHON" loadtests/gpu_check.py "$@"
