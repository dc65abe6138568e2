#!/usr/bin/env bash
# Generate the gateway's Python gRPC code from protos/ into gateway/generated/ (not committed).
# Idempotent: the output folder is rebuilt from scratch each time.
#
# The generated package lives at gateway.generated.asen.v1 (never importable as `asen.v1`, which
# would clash with the project's own `asen` package), so the absolute import that protoc writes
# into *_pb2_grpc.py is rewritten to a package-relative one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
OUT=gateway/generated

rm -rf "$OUT"
mkdir -p "$OUT/asen/v1"
"$PY" -m grpc_tools.protoc -Iprotos \
  --python_out="$OUT" --grpc_python_out="$OUT" --pyi_out="$OUT" \
  protos/asen/v1/similarity.proto
sed -i 's/^from asen\.v1 import /from . import /' "$OUT/asen/v1/similarity_pb2_grpc.py"
for pkg in "$OUT" "$OUT/asen" "$OUT/asen/v1"; do
  echo '"""Generated from protos/ by scripts/build_protos.sh; do not edit."""' > "$pkg/__init__.py"
done
"$PY" -c "import gateway.generated.asen.v1.similarity_pb2_grpc"
touch "$OUT/.built"
echo "generated $OUT/asen/v1 from protos/asen/v1/similarity.proto"
