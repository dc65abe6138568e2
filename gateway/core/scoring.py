"""Similarity of fused ASEN++ embeddings and of their global and local parts.

A fused embedding is [sqrt(beta) * l2norm(global) ; sqrt(1 - beta) * l2norm(local)], so the dot
product of two is beta * cos_global + (1 - beta) * cos_local: the paper's fused similarity. The
parts' cosines are reported too, computed from the parts themselves (independent of beta).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    fused: np.ndarray  # [M]
    global_part: np.ndarray  # [M]
    local_part: np.ndarray  # [M], zeros for a global-only model


def score(query: np.ndarray, candidates: np.ndarray, global_dim: int) -> Scores:
    """Scores of M candidate embeddings [M, D] against one query embedding [D]."""
    query = np.asarray(query, dtype=np.float32)
    candidates = np.asarray(candidates, dtype=np.float32).reshape(-1, query.shape[0])
    fused = candidates @ query
    global_part = _cosine(candidates[:, :global_dim], query[:global_dim])
    if query.shape[0] > global_dim:
        local_part = _cosine(candidates[:, global_dim:], query[global_dim:])
    else:
        local_part = np.zeros_like(fused)
    return Scores(fused=fused, global_part=global_part, local_part=local_part)


def _cosine(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(vector)
    dots = matrix @ vector
    return np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0).astype(np.float32)


def score_pair(a: np.ndarray, b: np.ndarray, global_dim: int) -> tuple[float, float, float]:
    """(fused, global, local) of two float32 embeddings [D]: the same figures as `score` for
    one candidate, with 1-D dot products instead of matrix operations (a Compare's cost)."""
    dot = np.dot
    fused = float(dot(a, b))
    global_part = _cosine_1d(a[:global_dim], b[:global_dim])
    local_part = _cosine_1d(a[global_dim:], b[global_dim:]) if a.shape[0] > global_dim else 0.0
    return fused, global_part, local_part


def _cosine_1d(x: np.ndarray, y: np.ndarray) -> float:
    norms = math.sqrt(float(np.dot(x, x)) * float(np.dot(y, y)))
    return float(np.dot(x, y)) / norms if norms > 0 else 0.0
