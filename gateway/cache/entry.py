"""One cached attribute embedding: its key format and its binary value layout.

Key: `asen:{model_version}:{attribute}:{sha256hex(image bytes)}` (the model version is part of the
key, so a new model never reads an old model's vectors). Value: an 8-byte header (magic `AE`,
layout version 1, storage dtype code, uint32 embedding length), the embedding (float32 or
float16, little-endian), then the RoI box x0,y0,x1,y1 as float32 (pixel coordinates keep full
precision whatever the embedding's dtype). Both dtypes are always readable, so changing the
storage setting never invalidates a cache.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

_HEADER = struct.Struct("<2sBBI")
_MAGIC = b"AE"
_VERSION = 1
_BOX = np.dtype("<f4")
STORAGE_DTYPES = {"float32": (0, np.dtype("<f4")), "float16": (1, np.dtype("<f2"))}
_BY_CODE = {code: dtype for code, dtype in STORAGE_DTYPES.values()}


def cache_key(model_version: str, attribute: str, image_sha256: str) -> str:
    return f"asen:{model_version}:{attribute}:{image_sha256}"


def value_size(dim: int, dtype: str = "float32") -> int:
    """Bytes of one encoded value with a `dim`-long embedding."""
    return _HEADER.size + dim * STORAGE_DTYPES[dtype][1].itemsize + 4 * _BOX.itemsize


@dataclass(frozen=True)
class CachedEmbedding:
    """A fused embedding (float32, length D) and its RoI box in original-image pixels."""

    embedding: np.ndarray
    roi: tuple[float, float, float, float]

    def encode(self, dtype: str = "float32") -> bytes:
        """The value to store; `dtype` float16 halves the embedding's bytes (the box stays
        float32). A vector beyond float16's range is stored as float32 rather than as inf."""
        code, stored = STORAGE_DTYPES[dtype]
        with np.errstate(over="ignore"):
            vector = np.ascontiguousarray(self.embedding, dtype=stored)
        if code and not np.isfinite(vector).all():
            return self.encode("float32")
        box = np.asarray(self.roi, dtype=_BOX)
        return _HEADER.pack(_MAGIC, _VERSION, code, vector.size) + vector.tobytes() + box.tobytes()

    @classmethod
    def decode(cls, value: bytes) -> CachedEmbedding:
        """Parse a value; raises ValueError on anything malformed (treated as a miss)."""
        if len(value) < _HEADER.size:
            raise ValueError("cache value too short")
        magic, version, code, dim = _HEADER.unpack_from(value)
        stored = _BY_CODE.get(code)
        if magic != _MAGIC or version != _VERSION or stored is None:
            raise ValueError("cache value has an unknown header")
        if len(value) != _HEADER.size + dim * stored.itemsize + 4 * _BOX.itemsize:
            raise ValueError("cache value has the wrong length")
        vector = np.frombuffer(value, dtype=stored, count=dim, offset=_HEADER.size)
        box = np.frombuffer(value, dtype=_BOX, offset=_HEADER.size + dim * stored.itemsize)
        x0, y0, x1, y1 = (float(v) for v in box)
        return cls(embedding=vector.astype(np.float32), roi=(x0, y0, x1, y1))
