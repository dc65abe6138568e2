"""What the catalogue's index and vector type cost in retrieval quality, on a trained model.

The test split's query and candidate embeddings of a checkpoint (the fused vectors `asen
evaluate` scores; the served ones equal them, see tests/catalogue/test_cat_map.py) are indexed in
the catalogue engine, once per index setting, one partition per attribute. For each setting:
  - MAP of the rankings it serves with top_k = all candidates of the attribute (the official
    protocol; candidates an approximate index leaves out count as never found), and its
    difference to exact NumPy ranking;
  - recall@10 of top-10 searches against exact search (how production queries are answered).
Float16 storage is measured by rounding the vectors to float16 (what a FLOAT16_VECTOR field
keeps) and ranking exactly; Milvus Lite itself has float32 vectors only.

    python loadtests/catalogue_map.py --checkpoint runs/demo/train/model.pt --data runs/demo/data
        [--split test] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asen.checkpoint import load_checkpoint  # noqa: E402
from asen.data.dataset import FashionDataset  # noqa: E402
from asen.evaluation.attribute_map import attribute_maps, weighted_map  # noqa: E402
from asen.evaluation.evaluate import checkpoint_spec  # noqa: E402
from asen.evaluation.pair_embeddings import embed_unique_pairs  # noqa: E402
from asen.inference import Embedder  # noqa: E402
from gateway.catalogue.index_spec import LITE_INDEXES, resolve_index  # noqa: E402
from gateway.catalogue.items import AttributeVector, ItemMetadata, ItemRecord  # noqa: E402
from gateway.catalogue.settings import CatalogueSettings  # noqa: E402
from gateway.catalogue.store import CatalogueStore  # noqa: E402

SETTINGS = [
    ("FLAT", {}, {}),
    ("HNSW", {"M": 16, "efConstruction": 200}, {"ef": 16}),
    ("HNSW", {"M": 16, "efConstruction": 200}, {"ef": 64}),
    ("HNSW_SQ", {"M": 16, "efConstruction": 200, "sq_type": "SQ8"}, {"ef": 64}),
    ("IVF_FLAT", {"nlist": 16}, {"nprobe": 4}),
    ("IVF_SQ8", {"nlist": 16}, {"nprobe": 4}),
]
# ... and every approximate index Milvus Lite offers with the gateway's default parameters.
SETTINGS += [
    (spec.index_type, spec.build_params, spec.search_params)
    for spec in (resolve_index(name) for name in LITE_INDEXES)
    if not spec.exact
]


def embeddings(checkpoint: Path, data: Path, split: str):
    loaded = load_checkpoint(checkpoint)
    dataset = FashionDataset(data, checkpoint_spec(loaded, data))
    embedder = Embedder(loaded)
    queries, candidates = dataset.queries(split), dataset.candidates(split)
    vectors = embed_unique_pairs(
        lambda images, attributes: embedder.embed_pairs(images, attributes).fused,
        dataset.images(split),
        np.concatenate((queries.image_ids, candidates.image_ids)),
        np.concatenate((queries.attributes, candidates.attributes)),
        32,
        progress=False,
    )
    return dataset, queries, candidates, vectors[: len(queries)], vectors[len(queries) :]


def exact_map(dataset, queries, candidates, q, c) -> float:
    scores = attribute_maps(
        q, queries.attributes, queries.values, c, candidates.attributes, candidates.values,
        dataset.spec.attributes,
    )  # fmt: skip
    return weighted_map(scores)


async def engine_map(setting, workdir: Path, dataset, queries, candidates, q, c) -> dict:
    index_type, build, search = setting
    settings = CatalogueSettings(
        uri=str(workdir / f"{index_type}-{json.dumps(search)}.db"), index_type=index_type,
        index_params=json.dumps(build), search_params=json.dumps(search), timeout_seconds=600,
        max_top_k=16384,
    )  # fmt: skip
    store = CatalogueStore(settings)
    names = dataset.spec.attributes
    deadline = time.monotonic() + 3600
    entry = await store.ensure_version("map", q.shape[1], q.shape[1], range(len(names)), deadline)
    records = [
        ItemRecord(f"c{i}", "0" * 64, ItemMetadata(),
                   (AttributeVector(int(candidates.attributes[i]), c[i], (0, 0, 1, 1)),))
        for i in range(len(c))
    ]  # fmt: skip
    for start in range(0, len(records), 2000):
        await store.upsert(entry, records[start : start + 2000], deadline)
    total = weighted = 0.0
    overlaps = []
    for attribute in range(len(names)):
        rows = np.flatnonzero(queries.attributes == attribute)
        cand = np.flatnonzero(candidates.attributes == attribute)
        if len(rows) == 0:
            continue
        aps = []
        for row in rows:
            full = await store.search(entry, q[row], attribute, len(cand), "", "", deadline)
            order = np.array([int(h.item_id[1:]) for h in full])
            relevant = candidates.values[order] == queries.values[row]
            hits = np.cumsum(relevant)
            ap = np.sum(np.where(relevant, hits / np.arange(1, len(order) + 1), 0.0))
            # an approximate index may return fewer than all candidates: the relevant ones it
            # missed count as never found (the denominator is all relevant candidates)
            total_relevant = int(np.sum(candidates.values[cand] == queries.values[row]))
            aps.append(ap / total_relevant if total_relevant else 0.0)
            top = await store.search(entry, q[row], attribute, 10, "", "", deadline)
            exact = cand[np.argsort(-(c[cand] @ q[row]), kind="stable")[:10]]
            overlaps.append(len({int(h.item_id[1:]) for h in top} & set(exact.tolist())) / 10)
        weighted += float(np.mean(aps)) * len(rows)
        total += len(rows)
    await store.close()
    return {
        "index": index_type, "build": build, "search": search,
        "map": weighted / total, "recall_at_10": float(np.mean(overlaps)),
    }  # fmt: skip


async def run(args) -> dict:
    dataset, queries, candidates, q, c = embeddings(args.checkpoint, args.data, args.split)
    exact = exact_map(dataset, queries, candidates, q, c)
    half = exact_map(
        dataset, queries, candidates, q.astype(np.float16).astype(np.float32),
        c.astype(np.float16).astype(np.float32),
    )  # fmt: skip
    report = {"exact_map": exact, "float16_map": half, "dim": int(q.shape[1]), "settings": []}
    print(f"{len(q)} queries, {len(c)} candidates, dim {q.shape[1]}")
    print(f"exact MAP (NumPy, float32) {100 * exact:.4f} %; float16 vectors {100 * half:.4f} % "
          f"(difference {100 * (half - exact):+.4f} points)")  # fmt: skip
    workdir = Path(tempfile.mkdtemp(prefix="catalogue-map-"))
    try:
        for setting in SETTINGS:
            row = await engine_map(setting, workdir, dataset, queries, candidates, q, c)
            report["settings"].append(row)
            setting = f"{row['index']:9s} {json.dumps(row['build']):45s}"
            print(
                f"{setting} {json.dumps(row['search']):16s} MAP {100 * row['map']:.4f} % "
                f"({100 * (row['map'] - exact):+.4f} points)  recall@10 {row['recall_at_10']:.3f}",
                flush=True,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
