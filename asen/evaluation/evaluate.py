"""Evaluate a model (or any embedding function) on a split's query/candidate files.

`evaluate_embeddings` takes any `(images, attribute ids) -> embeddings` function, so a baseline
or a model in training is scored exactly like a saved checkpoint; `evaluate_model` wraps a
checkpoint in the in-process `Embedder` (fused ASEN++ embedding) and, when the root has
`regions_{split}.txt` (the synthetic set does), adds the attention-localisation metric
(`asen.evaluation.localisation`).

Per attribute the report holds: map, queries, chance_map (expected MAP of random rankings),
same_similarity / different_similarity (`asen.evaluation.agreement`) and, with regions,
pointing, centre_pointing, roi_in_region, region_in_roi, localised_pairs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from asen.checkpoint import LoadedCheckpoint
from asen.data.dataset import FashionDataset, open_dataset
from asen.data.layout import EVAL_SPLITS
from asen.data.metadata import DatasetSpec
from asen.data.spec_file import SPEC_FILENAME, read_spec_file
from asen.evaluation.agreement import value_agreement
from asen.evaluation.attribute_map import attribute_maps, weighted_map
from asen.evaluation.average_precision import chance_map
from asen.evaluation.localisation import localisation_scores
from asen.evaluation.pair_embeddings import EmbedFn, embed_unique_pairs, unique_pairs
from asen.evaluation.report import EvaluationReport
from asen.evaluation.triplet_accuracy import (
    DEFAULT_SEED,
    DEFAULT_TRIPLETS,
    sample_eval_triplets,
    triplet_accuracy,
)
from asen.inference import Embedder
from asen_contract.errors import ConfigError, DataFormatError


def evaluate_embeddings(
    embed_fn: EmbedFn,
    dataset: FashionDataset | Path,
    split: str = "test",
    batch_size: int = 32,
    progress: bool = True,
    model_version: str = "",
    num_triplets: int = DEFAULT_TRIPLETS,
    seed: int = DEFAULT_SEED,
) -> EvaluationReport:
    """Per-attribute MAP, weighted overall MAP and triplet accuracy of `embed_fn` on a split.

    A path opens the root with its own attributes.json. Embeddings are compared by dot product,
    so `embed_fn` should return normalised (or fused) vectors, as the official evaluation does.
    """
    if split not in EVAL_SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of: {', '.join(EVAL_SPLITS)}")
    started = time.perf_counter()
    if not isinstance(dataset, FashionDataset):
        dataset = open_dataset(Path(dataset))
    queries = dataset.queries(split)
    candidates = dataset.candidates(split)
    image_ids = np.concatenate((queries.image_ids, candidates.image_ids))
    attributes = np.concatenate((queries.attributes, candidates.attributes))
    embeddings = embed_unique_pairs(
        embed_fn, dataset.images(split), image_ids, attributes, batch_size, progress
    )
    query_embeddings, candidate_embeddings = embeddings[: len(queries)], embeddings[len(queries) :]
    scores = attribute_maps(
        query_embeddings,
        queries.attributes,
        queries.values,
        candidate_embeddings,
        candidates.attributes,
        candidates.values,
        dataset.spec.attributes,
    )
    triplets = sample_eval_triplets(
        queries.attributes,
        queries.values,
        candidates.attributes,
        candidates.values,
        num_triplets,
        seed,
    )
    agreement = value_agreement(
        embeddings,
        image_ids,
        attributes,
        np.concatenate((queries.values, candidates.values)),
        dataset.spec.attributes,
    )
    per_attribute = {}
    for score in scores:
        attribute = dataset.spec.attributes.index(score.name)
        chance = chance_map(
            queries.values[queries.attributes == attribute],
            candidates.values[candidates.attributes == attribute],
        )
        per_attribute[score.name] = {
            "map": score.map,
            "queries": score.queries,
            "chance_map": chance,
            **agreement.get(score.name, {}),
        }
    return EvaluationReport(
        per_attribute=per_attribute,
        overall_map=weighted_map(scores),
        triplet_accuracy=triplet_accuracy(query_embeddings, candidate_embeddings, triplets),
        model_version=model_version,
        split=split,
        seconds=time.perf_counter() - started,
        num_triplets=len(triplets.anchors),
    )


def evaluate_model(
    checkpoint: LoadedCheckpoint,
    dataset_root: Path,
    split: str = "test",
    batch_size: int = 32,
    device: str = "cpu",
    progress: bool = True,
    num_triplets: int = DEFAULT_TRIPLETS,
    seed: int = DEFAULT_SEED,
) -> EvaluationReport:
    """Evaluate a checkpoint's fused embeddings; the label files are checked against the
    checkpoint's attribute table (the one the model was built for)."""
    dataset = FashionDataset(Path(dataset_root), checkpoint_spec(checkpoint, Path(dataset_root)))
    embedder = Embedder(checkpoint, device)
    recorded: list[tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]] = []

    def embed(images, attributes) -> np.ndarray:
        embeddings = embedder.embed_pairs(images, attributes)
        recorded.append((embeddings.attention, embeddings.roi, [image.size for image in images]))
        return embeddings.fused

    report = evaluate_embeddings(
        embed,
        dataset,
        split,
        batch_size,
        progress,
        checkpoint.model_version,
        num_triplets,
        seed,
    )
    regions = dataset.regions(split)
    if regions is not None and recorded:
        queries, candidates = dataset.queries(split), dataset.candidates(split)
        pairs, _ = unique_pairs(
            np.concatenate((queries.image_ids, candidates.image_ids)),
            np.concatenate((queries.attributes, candidates.attributes)),
        )
        localisation = localisation_scores(
            pairs,
            np.concatenate([attention for attention, _, _ in recorded]),
            np.concatenate([roi for _, roi, _ in recorded]),
            [size for _, _, sizes in recorded for size in sizes],
            regions,
            checkpoint.config.global_size,
            dataset.spec.attributes,
        )
        for name, scores in localisation.items():
            report.per_attribute.setdefault(name, {}).update(scores)
    return report


def checkpoint_spec(checkpoint: LoadedCheckpoint, root: Path) -> DatasetSpec:
    """The checkpoint's attribute table; a root that describes itself must agree with it."""
    spec = DatasetSpec(
        name=checkpoint.dataset or "checkpoint",
        attributes=tuple(a.name for a in checkpoint.attributes),
        num_values=tuple(a.num_values for a in checkpoint.attributes),
        aliases=tuple(tuple(a.aliases or ()) for a in checkpoint.attributes),
    )
    own_file = root / SPEC_FILENAME
    if own_file.is_file():
        own = read_spec_file(own_file)
        same_names = [_find(spec, name) for name in own.attributes] == list(
            range(spec.num_attributes)
        )
        if not same_names or own.num_values != spec.num_values:
            raise DataFormatError(
                f"the data set's {own_file} ({_describe(own)}) does not match the model's "
                f"attributes ({_describe(spec)})"
            )
    return spec


def _find(spec: DatasetSpec, name: str) -> int | None:
    """The attribute a name (or an alias, in any spelling) refers to, or None."""
    try:
        return spec.attribute_id(name)
    except DataFormatError:
        return None


def _describe(spec: DatasetSpec) -> str:
    return ", ".join(f"{n}:{c}" for n, c in zip(spec.attributes, spec.num_values, strict=True))
