"""Retrieval MAP measured on what the service serves: index a split's candidates through the
gateway, search every query (top_k = all candidates of its attribute) and score the served
rankings with the official rule (relevant = same value; AP over the full ranking; overall MAP
weighted by each attribute's number of queries). Compared with `asen evaluate` it proves that
catalogue search ranks exactly as the offline evaluation does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asen.client import AsenClient, CatalogueItem
from asen.data.dataset import FashionDataset
from asen_contract.errors import AsenError


@dataclass
class ServedMap:
    model_version: str
    per_attribute: dict[str, dict]  # name -> {"map", "queries", "candidates"}
    overall_map: float
    rankings: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # (image, attr)


def index_candidates(client: AsenClient, dataset: FashionDataset, split: str = "test") -> int:
    """Each image of the split that is a candidate, indexed under the attributes it is a
    candidate for (item id = its image id); returns the number of items."""
    names = dataset.spec.attributes
    paths = dataset.images(split)
    candidates = dataset.candidates(split)
    per_image: dict[int, list[str]] = {}
    for image_id, attribute in zip(candidates.image_ids, candidates.attributes, strict=True):
        per_image.setdefault(int(image_id), []).append(names[attribute])
    items = [
        CatalogueItem(str(image_id), paths[image_id], attributes=tuple(attributes))
        for image_id, attributes in sorted(per_image.items())
    ]
    failed = [r for r in client.upsert_items(items) if not r.ok]
    if failed:
        raise AsenError(f"{len(failed)} candidates were not indexed: {failed[0]}")
    return len(items)


def served_map(client: AsenClient, dataset: FashionDataset, split: str = "test") -> ServedMap:
    """Search every query of the split through the catalogue and score the served rankings."""
    names = dataset.spec.attributes
    paths = dataset.images(split)
    queries, candidates = dataset.queries(split), dataset.candidates(split)
    value_of = {
        (int(i), int(a)): int(v)
        for i, a, v in zip(
            candidates.image_ids, candidates.attributes, candidates.values, strict=True
        )
    }
    result = ServedMap("", {}, 0.0)
    total = weighted = 0.0
    for attribute, name in enumerate(names):
        rows = np.flatnonzero(queries.attributes == attribute)
        if len(rows) == 0:
            continue
        count = int(np.sum(candidates.attributes == attribute))
        precisions = []
        for row in rows:
            image_id, value = int(queries.image_ids[row]), int(queries.values[row])
            found = client.search_items(paths[image_id].read_bytes(), [name], top_k=count)
            result.model_version = found.model_version
            ranking = [hit.item_id for hit in found.results[name].results]
            result.rankings[(image_id, attribute)] = ranking
            relevant = [value_of[(int(item), attribute)] == value for item in ranking]
            precisions.append(average_precision(relevant, count))
        attribute_map = float(np.mean(precisions))
        result.per_attribute[name] = {
            "map": attribute_map,
            "queries": len(rows),
            "candidates": count,
        }
        total += len(rows)
        weighted += attribute_map * len(rows)
    result.overall_map = weighted / total if total else 0.0
    return result


def average_precision(relevant: list[bool], expected_length: int) -> float:
    """Official AP of one ranking (0 when nothing is relevant); the ranking must be complete."""
    if len(relevant) != expected_length:
        raise AsenError(f"a served ranking has {len(relevant)} of {expected_length} candidates")
    hits = np.cumsum(relevant)
    positions = np.arange(1, len(relevant) + 1)
    found = hits[-1] if len(hits) else 0
    if found == 0:
        return 0.0
    return float(np.sum(np.where(relevant, hits / positions, 0.0)) / found)


def recall_at(rankings: dict, reference: dict, k: int = 10) -> float:
    """Mean overlap of the top-k of two sets of rankings of the same queries."""
    overlaps = [
        len(set(rankings[key][:k]) & set(reference[key][:k])) / min(k, len(reference[key]))
        for key in reference
        if reference[key]
    ]
    return float(np.mean(overlaps)) if overlaps else 0.0
