"""Embed every distinct (image, attribute) pair of an evaluation split once.

An image may be a query for one attribute and a candidate for another (or appear in several
lines); each distinct pair is embedded once, in batches, while the next batch's files are decoded
on worker threads.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from asen_contract.images import read_image_file

EmbedFn = Callable[[list[Image.Image], list[int]], np.ndarray]
"""(images, attribute ids) -> embeddings [len(images), D]; row i for (images[i], attributes[i])."""


def unique_pairs(image_ids: np.ndarray, attributes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct (image id, attribute) pairs [P, 2] in the order `embed_unique_pairs` embeds them,
    index of each input pair's row in them [N])."""
    image_ids = np.asarray(image_ids, dtype=np.int64)
    attributes = np.asarray(attributes, dtype=np.int64)
    pairs, inverse = np.unique(
        np.stack((image_ids, attributes), axis=1), axis=0, return_inverse=True
    )
    return pairs, inverse.reshape(-1)


def embed_unique_pairs(
    embed_fn: EmbedFn,
    image_paths: Sequence[Path],
    image_ids: np.ndarray,
    attributes: np.ndarray,
    batch_size: int,
    progress: bool = True,
    workers: int = 4,
) -> np.ndarray:
    """Embeddings [N, D] for the N pairs (image_ids[i], attributes[i]), each distinct pair once.

    `embed_fn` is called on the distinct pairs of `unique_pairs`, in that order, in batches.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    pairs, inverse = unique_pairs(image_ids, attributes)
    batches = [pairs[start : start + batch_size] for start in range(0, len(pairs), batch_size)]
    unique_embeddings: np.ndarray | None = None
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(
            total=len(pairs), desc="embedding", unit="img", file=sys.stderr, disable=not progress
        ) as bar,
    ):

        def load(batch: np.ndarray):
            return pool.map(read_image_file, [image_paths[i] for i in batch[:, 0]])

        pending = load(batches[0]) if batches else None
        offset = 0
        for index, batch in enumerate(batches):
            images = list(pending)
            if index + 1 < len(batches):
                pending = load(batches[index + 1])
            output = np.asarray(embed_fn(images, batch[:, 1].tolist()))
            if output.ndim != 2 or len(output) != len(batch):
                raise ValueError(
                    f"embedding function returned shape {output.shape} for {len(batch)} images"
                )
            if unique_embeddings is None:
                unique_embeddings = np.empty((len(pairs), output.shape[1]), dtype=output.dtype)
            unique_embeddings[offset : offset + len(batch)] = output
            offset += len(batch)
            bar.update(len(batch))
    if unique_embeddings is None:
        return np.zeros((len(image_ids), 0), dtype=np.float32)
    return unique_embeddings[inverse]
