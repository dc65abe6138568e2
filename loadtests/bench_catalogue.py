"""Catalogue benchmark: the engine the gateway uses, against exact NumPy/BLAS search, one run.

Parts (all by default; choose with --parts):
  search  search latency p50/p99 (one query at a time) and throughput (--concurrency queries in
          flight) at each --sizes count of synthetic fused vectors of --dim dimensions, for Milvus
          Lite through the gateway's CatalogueStore and for a NumPy brute force (matrix-vector
          product + partial sort) in the same process, side by side with their ratio. Sizes
          over --lite-max-size run NumPy only, and Milvus Lite's figures there are extrapolated
          linearly from the largest size it ran (printed as such, never as a measurement);
  ann     recall@10 against exact search of every approximate index Milvus Lite offers
          (IVF_FLAT, IVF_SQ8, HNSW, HNSW_SQ: the gateway's default parameters of each and a few
          other search widths), with their latency;
  layout  one attribute of several: a partition per attribute vs a field filter;
  memory  bytes per million items per attribute: float32 vs float16 vectors (computed), and what
          the Lite process actually grew by (resident memory and files on disk).
  upsert  UpsertItems through `asen serve` (--repository, --images): items/s when every
          embedding is computed by Triton, when all are in the embedding cache (image bytes
          sent), and when only the image's SHA-256 is sent (cached).

    python loadtests/bench_catalogue.py [--sizes 10000,100000,1000000] [--dim 2048]
        [--queries 200] [--parts search,ann,layout,memory] [--lite-max-size 100000]
        [--bulk] [--json OUT.json]
    python loadtests/bench_catalogue.py --parts upsert --repository DIR --images DIR [--count 300]

Synthetic vectors look like fused ASEN++ embeddings: [sqrt(.6) g ; sqrt(.4) l] with unit g, l;
queries are stored vectors with noise, so the nearest neighbours are meaningful. The search
part loads the engine through the gateway's own write path (`CatalogueStore.upsert`: a lookup
of the items' earlier rows, the write, a flush); `--bulk` loads the attribute rows with the
engine client's plain insert instead (what a bulk import would do; the search is the same).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.catalogue import schema  # noqa: E402
from gateway.catalogue.index_spec import IndexSpec  # noqa: E402
from gateway.catalogue.items import AttributeVector, ItemMetadata, ItemRecord  # noqa: E402
from gateway.catalogue.settings import CatalogueSettings  # noqa: E402
from gateway.catalogue.store import CatalogueStore  # noqa: E402

TOP_K = 10
BETA = 0.6
WRITE_BATCH = 5000  # bulk loading: large flushed segments


@dataclass
class Latency:
    engine: str
    size: int
    setting: str
    p50_ms: float
    p99_ms: float
    throughput_qps: float
    recall_at_10: float = 1.0


def fused_vectors(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    half = dim // 2
    out = np.empty((count, dim), dtype=np.float32)
    for start in range(0, count, 50_000):
        block = rng.standard_normal((min(50_000, count - start), dim), dtype=np.float32)
        for lo, hi, weight in ((0, half, BETA), (half, dim, 1 - BETA)):
            part = block[:, lo:hi]
            part /= np.linalg.norm(part, axis=1, keepdims=True)
            part *= np.sqrt(weight)
        out[start : start + len(block)] = block
    return out


def noisy_queries(rng: np.random.Generator, vectors: np.ndarray, count: int) -> np.ndarray:
    picks = vectors[rng.integers(0, len(vectors), count)]
    queries = picks + 0.6 * fused_vectors(rng, count, vectors.shape[1])
    half = vectors.shape[1] // 2
    for lo, hi, weight in ((0, half, BETA), (half, vectors.shape[1], 1 - BETA)):
        part = queries[:, lo:hi]
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        part *= np.sqrt(weight)
    return queries.astype(np.float32)


def exact_top(matrix: np.ndarray, query: np.ndarray, k: int = TOP_K) -> np.ndarray:
    scores = matrix @ query
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.asarray(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def numpy_figures(matrix: np.ndarray, queries: np.ndarray, concurrency: int) -> Latency:
    times = []
    for q in queries:
        started = time.perf_counter()
        exact_top(matrix, q)
        times.append(time.perf_counter() - started)
    p50, p99 = percentiles(times)
    # Throughput: `concurrency` queries answered together (what a serving loop would batch).
    started = time.perf_counter()
    for lo in range(0, len(queries), concurrency):
        scores = queries[lo : lo + concurrency] @ matrix.T
        np.argpartition(-scores, TOP_K, axis=1)
    qps = len(queries) / (time.perf_counter() - started)
    return Latency("numpy", len(matrix), "exact (BLAS)", p50, p99, qps)


async def fill(store: CatalogueStore, entry, vectors: np.ndarray) -> float:
    """Insert items: vectors [items, dim] (attribute 0) or [items, attributes, dim]; returns
    items per second."""
    if vectors.ndim == 2:
        vectors = vectors[:, None, :]
    deadline = time.monotonic() + 3600
    started = time.perf_counter()
    for lo in range(0, len(vectors), WRITE_BATCH):
        records = [
            ItemRecord(
                f"i{lo + i}",
                "0" * 64,
                ItemMetadata(),
                tuple(AttributeVector(a, v, (0.0, 0.0, 1.0, 1.0)) for a, v in enumerate(per_item)),
            )
            for i, per_item in enumerate(vectors[lo : lo + WRITE_BATCH])
        ]
        await store.upsert(entry, records, deadline)
    return len(vectors) / (time.perf_counter() - started)


async def bulk_fill(store: CatalogueStore, entry, vectors: np.ndarray) -> float:
    """Insert the attribute-0 rows with the engine client's plain insert (no lookup of earlier
    rows, no item record rows), a flush per batch; returns items per second."""
    from gateway.catalogue.naming import attribute_partition

    client = store._connected()
    partition = attribute_partition(0) if entry.layout == "partition" else None
    started = time.perf_counter()
    for lo in range(0, len(vectors), WRITE_BATCH):
        rows = [
            {
                "pk": f"i{lo + i}\x1f0", "item_id": f"i{lo + i}", "attribute": 0,
                "image_sha256": "0" * 64, "category": "", "brand": "", "labels": {},
                "attributes": [0], "roi": [0.0, 0.0, 1.0, 1.0], "updated_ms": 0, "embedding": v,
            }
            for i, v in enumerate(vectors[lo : lo + WRITE_BATCH])
        ]  # fmt: skip
        client.insert(entry.collection, rows, partition_name=partition, timeout=3600)
        client.flush(entry.collection, timeout=3600)
        print(f"  loaded {lo + len(rows):,} / {len(vectors):,}", flush=True)
    return len(vectors) / (time.perf_counter() - started)


async def engine_figures(
    store: CatalogueStore,
    entry,
    queries: np.ndarray,
    truth: list[np.ndarray],
    concurrency: int,
    setting: str,
    attribute: int = 0,
    size: int = 0,
) -> Latency:
    deadline = time.monotonic() + 3600
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        hits = await store.search(entry, q, attribute, TOP_K, "", "", deadline)
        times.append(time.perf_counter() - started)
        found.append([int(h.item_id[1:]) for h in hits])
    recall = float(
        np.mean([len(set(f) & set(t.tolist())) / TOP_K for f, t in zip(found, truth, strict=True)])
    )
    p50, p99 = percentiles(times)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(q: np.ndarray) -> None:
        async with semaphore:
            await store.search(entry, q, attribute, TOP_K, "", "", deadline)

    started = time.perf_counter()
    await asyncio.gather(*(one(q) for q in queries))
    qps = len(queries) / (time.perf_counter() - started)
    return Latency("milvus-lite", size, setting, p50, p99, qps, recall)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


async def run(args: argparse.Namespace) -> dict:
    rng = np.random.default_rng(0)
    parts = set(args.parts.split(","))
    report: dict = {"dim": args.dim, "queries": args.queries, "latency": [], "layout": []}
    workdir = Path(tempfile.mkdtemp(prefix="bench-catalogue-"))
    sizes = [] if parts == {"upsert"} else [int(s) for s in args.sizes.split(",")]
    measured_lite: Latency | None = None
    for size in sizes:
        vectors = fused_vectors(rng, size, args.dim)
        queries = noisy_queries(rng, vectors, args.queries)
        store = None
        if size > args.lite_max_size:
            if "search" in parts:
                exact = numpy_figures(vectors, queries, args.concurrency)
                report["latency"].append(asdict(exact))
                print(_row(exact), flush=True)
                if measured_lite is not None:
                    guess = _extrapolated(measured_lite, size)
                    report["latency"].append(asdict(guess))
                    print(_row(guess), flush=True)
                    print(
                        f"[{size}] Milvus Lite (extrapolated) / NumPy (measured): p50 "
                        f"x{guess.p50_ms / exact.p50_ms:.1f}, throughput "
                        f"x{guess.throughput_qps / exact.throughput_qps:.3f}",
                        flush=True,
                    )
            del vectors
            continue
        truth = [exact_top(vectors, q) for q in queries]
        if "search" in parts or "memory" in parts or "ann" in parts:
            before = rss_mb()
            uri = workdir / f"flat-{size}.db"
            store = CatalogueStore(CatalogueSettings(uri=str(uri), timeout_seconds=600))
            entry = await store.ensure_version(
                "bench", args.dim, args.dim // 2, [0], time.monotonic() + 600
            )
            rate = await (bulk_fill if args.bulk else fill)(store, entry, vectors)
            grown = rss_mb() - before
            print(
                f"[{size}] Milvus Lite insert: {rate:,.0f} items/s, RSS +{grown:,.0f} MB, "
                f"disk {folder_mb(uri):,.0f} MB",
                flush=True,
            )
            report.setdefault("insert", []).append(
                {
                    "size": size,
                    "items_per_s": rate,
                    "rss_growth_mb": grown,
                    "disk_mb": folder_mb(uri),
                }
            )
            if "search" in parts:
                lite = await engine_figures(
                    store, entry, queries, truth, args.concurrency, "FLAT", size=size
                )
                measured_lite = lite
                exact = numpy_figures(vectors, queries, args.concurrency)
                for row in (lite, exact):
                    report["latency"].append(asdict(row))
                    print(_row(row), flush=True)
                print(
                    f"[{size}] Milvus Lite / NumPy: p50 x{lite.p50_ms / exact.p50_ms:.1f}, "
                    f"throughput x{lite.throughput_qps / exact.throughput_qps:.2f}",
                    flush=True,
                )
        if "ann" in parts and size <= args.ann_max_size:
            for index_type, build, searches in _ann_settings(size):
                build_s = _rebuild_index(store, entry, index_type, build)
                for search in searches:
                    settings = CatalogueSettings(
                        uri=str(uri), index_type=index_type, index_params=json.dumps(build),
                        search_params=json.dumps(search), timeout_seconds=600,
                    )  # fmt: skip
                    ann = CatalogueStore(settings)
                    label = f"{index_type} {json.dumps(build)} {json.dumps(search)}"
                    row = await engine_figures(
                        ann, entry, queries, truth, args.concurrency, label, size=size
                    )
                    report["latency"].append({**asdict(row), "index_build_s": build_s})
                    print(_row(row) + f"  (index build {build_s:.0f} s)", flush=True)
        if store is not None:
            await store.close()
        if "layout" in parts and size <= args.layout_max_size:
            report["layout"].extend(await _layouts(workdir, vectors, queries, args))
    shutil.rmtree(workdir, ignore_errors=True)
    if "upsert" in parts:
        report["upsert"] = _upsert(args, workdir)
    if "memory" in parts:
        report["memory"] = _memory(args.dim)
        for key, value in report["memory"].items():
            print(f"memory: {key}: {value}")
    return report


def _rebuild_index(store: CatalogueStore, entry, index_type: str, build: dict) -> float:
    """Replace the collection's vector index in place (no refill); returns the build seconds."""
    client = store._connected()
    started = time.perf_counter()
    client.release_collection(entry.collection)
    client.drop_index(entry.collection, "embedding")
    params = schema.item_index(IndexSpec(index_type, build), lite=store.settings.lite)
    client.create_index(entry.collection, params)
    client.load_collection(entry.collection)
    return time.perf_counter() - started


def _ann_settings(size: int) -> list[tuple[str, dict, list[dict]]]:
    """Every approximate index Milvus Lite offers: the gateway's defaults (index_spec) first,
    then nlist = 4 sqrt(N) for IVF and other search widths."""
    from gateway.catalogue.index_spec import LITE_INDEXES, resolve_index

    settings = []
    for name in LITE_INDEXES:
        spec = resolve_index(name)
        if spec.exact:
            continue
        searches = [spec.search_params]
        if "ef" in spec.search_params:
            searches += [{"ef": 32}, {"ef": 512}]
        if "nprobe" in spec.search_params:
            searches += [{"nprobe": 128}]
        settings.append((name, spec.build_params, searches))
    nlist = int(max(16, min(4096, 4 * np.sqrt(size))))
    settings += [
        ("IVF_FLAT", {"nlist": nlist}, [{"nprobe": 8}, {"nprobe": 32}]),
        ("IVF_SQ8", {"nlist": nlist}, [{"nprobe": 32}]),
    ]
    return settings


def _extrapolated(measured: Latency, size: int) -> Latency:
    """Milvus Lite at a size it did not run: latency linear in the rows scanned (its search
    walks every row of the partition), from its largest measured size. Not a measurement."""
    factor = size / measured.size
    return Latency(
        "milvus-lite", size, f"FLAT EXTRAPOLATED x{factor:g} from {measured.size:,} (not run)",
        measured.p50_ms * factor, measured.p99_ms * factor, measured.throughput_qps / factor,
    )  # fmt: skip


async def _layouts(workdir: Path, vectors: np.ndarray, queries: np.ndarray, args) -> list[dict]:
    """`attributes` attributes per item: a search of one, by partition vs by field filter."""
    attributes = args.layout_attributes
    per = len(vectors) // attributes
    rows = []
    for layout in ("partition", "filter"):
        uri = workdir / f"layout-{layout}-{len(vectors)}.db"
        store = CatalogueStore(CatalogueSettings(uri=str(uri), layout=layout, timeout_seconds=600))
        entry = await store.ensure_version(
            "bench", args.dim, args.dim // 2, list(range(attributes)), time.monotonic() + 600
        )
        await fill(
            store, entry, vectors[: per * attributes].reshape(attributes, per, -1).swapaxes(0, 1)
        )
        truth = [exact_top(vectors[:per], q) for q in queries]
        row = await engine_figures(
            store, entry, queries, truth, args.concurrency, f"layout={layout}", size=len(vectors)
        )
        rows.append({**asdict(row), "attributes": attributes})
        print(_row(row) + f"  ({attributes} attributes x {per} items)", flush=True)
        await store.close()
    return rows


def _upsert(args: argparse.Namespace, workdir: Path) -> dict:
    """Items/s of UpsertItems: computed (Triton), cached (bytes sent), by digest (SHA-256 sent)."""
    from asen.catalogue.sources import file_sha256, image_files
    from asen.client import AsenClient, CatalogueItem, Sha256Ref
    from asen.demo.stack import ServedStack

    files = [image.path for image in image_files([args.images])][: args.count]
    os.environ["ASEN_CATALOGUE_URI"] = str(workdir / "upsert.db")
    figures = {}
    with (
        ServedStack(args.repository, workdir / "serve.log") as stack,
        AsenClient(stack.address, timeout=600) as client,
    ):
        for label, images in (
            ("computed", files),
            ("cached", files),
            ("by_digest", [Sha256Ref(file_sha256(f)) for f in files]),
        ):
            items = [CatalogueItem(f"{label}-{i}", image) for i, image in enumerate(images)]
            started = time.perf_counter()
            results = list(client.upsert_items(items))
            seconds = time.perf_counter() - started
            assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
            cached = sum(r.cached for r in results)
            figures[label] = {"items": len(items), "items_per_s": len(items) / seconds,
                              "all_cached": cached == len(items)}  # fmt: skip
            print(f"upsert {label:9s}: {len(items) / seconds:7.1f} items/s "
                  f"({cached}/{len(items)} from the embedding cache)", flush=True)  # fmt: skip
    return figures


def _memory(dim: int) -> dict:
    million = 1_000_000
    return {
        "float32_gb_per_million_per_attribute": round(million * dim * 4 / 1e9, 2),
        "float16_gb_per_million_per_attribute": round(million * dim * 2 / 1e9, 2),
        "sq8_index_gb_per_million_per_attribute": round(million * dim / 1e9, 2),
        "hnsw_graph_gb_per_million_M16": round(million * 16 * 2 * 4 / 1e9, 2),
    }


def _row(row: Latency) -> str:
    return (
        f"[{row.size}] {row.engine:11s} {row.setting:58s} p50 {row.p50_ms:8.2f} ms  "
        f"p99 {row.p99_ms:8.2f} ms  {row.throughput_qps:8.1f} q/s  "
        f"recall@10 {row.recall_at_10:.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--dim", type=int, default=2048, help="2048 = full-size ASEN++ fused")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--parts", default="search,ann,layout,memory")
    parser.add_argument("--ann-max-size", type=int, default=100_000)
    parser.add_argument(
        "--lite-max-size", type=int, default=100_000,
        help="larger sizes run NumPy only; Milvus Lite there is extrapolated (and says so)",
    )  # fmt: skip
    parser.add_argument(
        "--bulk", action="store_true", help="load with the engine's plain insert (faster)"
    )
    parser.add_argument("--layout-max-size", type=int, default=100_000)
    parser.add_argument("--layout-attributes", type=int, default=8)
    parser.add_argument("--repository", type=Path, help="upsert: a Triton model repository")
    parser.add_argument("--images", type=Path, help="upsert: a folder of images")
    parser.add_argument("--count", type=int, default=300, help="upsert: images per pass")
    parser.add_argument("--write-batch", type=int, default=WRITE_BATCH, help="items per write")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    globals()["WRITE_BATCH"] = args.write_batch
    print(
        f"catalogue benchmark: dim {args.dim}, {args.queries} queries, top {TOP_K}, "
        f"{os.cpu_count()} CPUs (shared machine: compare the side-by-side ratios)",
        flush=True,
    )
    report = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
