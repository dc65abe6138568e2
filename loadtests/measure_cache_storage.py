"""What a cached embedding costs in Redis, and what float16 storage (ASEN_CACHE_DTYPE) changes.

1. Memory: writes N values exactly as the gateway stores them (key format, value codec, TTL)
   into a real redis-server and reads INFO used_memory before and after, for embedding sizes
   of the tiny test model and of full-size ASEN++ (2 x 1024 fused), float32 and float16; prints
   bytes per entry and GiB per million images per attribute (one copy; multiply by 1 + replicas).
2. Precision (with --checkpoint and --data): embeds the test split with a trained checkpoint
   (the fused vectors the service serves), rounds them through the float16 cache codec, and
   compares: similarity error over every query/candidate pair of the same attribute, top-10
   agreement, and MAP (official protocol) with float32 vs float16 vectors.

    python loadtests/measure_cache_storage.py [--entries 20000]
        [--checkpoint runs/demo/train/model.pt --data runs/demo/data] [--json]

(`make demo` leaves that checkpoint and data set.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.cache.entry import CachedEmbedding, cache_key, value_size  # noqa: E402
from loadtests.soak.redis_local import RedisLocal  # noqa: E402

FULL_SIZE_DIM = 2048  # ASEN++ fused embedding: global 1024 + local 1024
MODEL_VERSION = "sha-0123456789ab-cpu-onnxruntime-b16"  # as long as a real version string


def memory_per_entry(port: int, dim: int, dtype: str, entries: int, ttl: int) -> float:
    """Bytes of Redis memory per cached embedding (key, value, TTL, Redis's own overhead)."""
    client = redis.Redis(port=port)
    client.flushall()
    before = client.info("memory")["used_memory"]
    rng = np.random.default_rng(dim)
    pipe = client.pipeline(transaction=False)
    for i in range(entries):
        sha = hashlib.sha256(f"{dim}-{i}".encode()).hexdigest()
        vector = rng.standard_normal(dim).astype(np.float32) / np.sqrt(dim)
        value = CachedEmbedding(vector, (1.0, 2.0, 3.0, 4.0)).encode(dtype)
        pipe.set(cache_key(MODEL_VERSION, "collar_design", sha), value, ex=ttl)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    after = client.info("memory")["used_memory"]
    client.close()
    return (after - before) / entries


def measure_memory(entries: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder, RedisLocal(Path(folder)) as server:
        for dim in (256, FULL_SIZE_DIM):
            for dtype in ("float32", "float16"):
                per_entry = memory_per_entry(server.port, dim, dtype, entries, ttl=7 * 86400)
                rows.append(
                    {
                        "dim": dim,
                        "dtype": dtype,
                        "value_bytes": value_size(dim, dtype),
                        "redis_bytes_per_entry": round(per_entry, 1),
                        "gib_per_million": round(per_entry * 1e6 / 2**30, 3),
                    }
                )
    return rows


def measure_precision(checkpoint_path: Path, data: Path) -> dict:
    from asen.checkpoint import load_checkpoint
    from asen.data.dataset import FashionDataset
    from asen.evaluation.attribute_map import attribute_maps, weighted_map
    from asen.evaluation.evaluate import checkpoint_spec
    from asen.evaluation.pair_embeddings import embed_unique_pairs
    from asen.inference import Embedder

    checkpoint = load_checkpoint(checkpoint_path)
    dataset = FashionDataset(data, checkpoint_spec(checkpoint, data))
    embedder = Embedder(checkpoint, "cpu")
    queries, candidates = dataset.queries("test"), dataset.candidates("test")
    full = embed_unique_pairs(
        lambda images, attributes: embedder.embed_pairs(images, attributes).fused,
        dataset.images("test"),
        np.concatenate((queries.image_ids, candidates.image_ids)),
        np.concatenate((queries.attributes, candidates.attributes)),
        batch_size=32,
    )
    half = np.stack(
        [CachedEmbedding.decode(CachedEmbedding(v, (0, 0, 1, 1)).encode("float16")).embedding
         for v in full]
    )  # fmt: skip
    n = len(queries)
    errors, agreement = [], []
    for attribute in np.unique(queries.attributes):
        q, c = queries.attributes == attribute, candidates.attributes == attribute
        s32 = full[:n][q] @ full[n:][c].T
        s16 = half[:n][q] @ half[n:][c].T
        errors.append(np.abs(s32 - s16).ravel())
        k = min(10, s32.shape[1])
        top32 = np.argsort(-s32, axis=1)[:, :k]
        top16 = np.argsort(-s16, axis=1)[:, :k]
        agreement += [len(set(a) & set(b)) / k for a, b in zip(top32, top16, strict=True)]
    error = np.concatenate(errors)
    spread = float(np.std(full[:n] @ full[n:].T))

    def overall_map(vectors: np.ndarray) -> float:
        scores = attribute_maps(
            vectors[:n], queries.attributes, queries.values, vectors[n:],
            candidates.attributes, candidates.values, dataset.spec.attributes,
        )  # fmt: skip
        return weighted_map(scores)

    return {
        "checkpoint": str(checkpoint_path),
        "dim": int(full.shape[1]),
        "pairs": int(error.size),
        "similarity_abs_error_max": float(error.max()),
        "similarity_abs_error_p99": float(np.percentile(error, 99)),
        "similarity_abs_error_mean": float(error.mean()),
        "similarity_std": spread,
        "top10_agreement": float(np.mean(agreement)),
        "map_float32": overall_map(full),
        "map_float16": overall_map(half),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000, help="values per measurement")
    parser.add_argument("--checkpoint", type=Path, help="trained ASEN++ checkpoint")
    parser.add_argument("--data", type=Path, help="its data set (test split)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    memory = measure_memory(args.entries)
    print(f"Redis memory per cached embedding ({args.entries} entries each, TTL set):")
    print(f"{'dim':>6s} {'dtype':>8s} {'value B':>8s} {'Redis B/entry':>14s} {'GiB / 1M':>9s}")
    for row in memory:
        print(
            f"{row['dim']:6d} {row['dtype']:>8s} {row['value_bytes']:8d} "
            f"{row['redis_bytes_per_entry']:14.1f} {row['gib_per_million']:9.3f}"
        )
    precision = None
    if args.checkpoint and args.data:
        precision = measure_precision(args.checkpoint, args.data)
        p = precision
        print(
            f"\nfloat16 vs float32 on {p['pairs']} query/candidate pairs ({p['dim']}-d fused "
            f"embeddings of {p['checkpoint']}):\n"
            f"  similarity error: max {p['similarity_abs_error_max']:.2e}, p99 "
            f"{p['similarity_abs_error_p99']:.2e}, mean {p['similarity_abs_error_mean']:.2e} "
            f"(similarities spread with std {p['similarity_std']:.3f})\n"
            f"  top-10 agreement {100 * p['top10_agreement']:.2f}%; MAP "
            f"{100 * p['map_float32']:.3f} (float32) vs {100 * p['map_float16']:.3f} (float16)"
        )
    if args.json:
        print(json.dumps({"memory": memory, "precision": precision}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
