"""One cached attribute embedding: its key format and its binary value layout.

Key: `asen:{model_version}:{attribute}:{sha256hex(image bytes)}` (the model version is part of the
key, so a new model never reads an old model's vectors). Value: an 8-byte header (magic `AE` +
version 1 + pad, uint32 embedding length) then float32 embedding, then float32 RoI x0,y0,x1,y1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

_HEADER = struct.Struct("<2sBxI")
_MAGIC = b"AE"
_VERSION = 1


def cache_key(model_version: str, attribute: str, image_sha256: str) -> str:
    return f"asen:{model_version}:{attribute}:{image_sha256}"


@dataclass(frozen=True)
class CachedEmbedding:
    """A fused embedding (float32, length D) and its RoI box in original-image pixels."""

    embedding: np.ndarray
    roi: tuple[float, float, float, float]

    def encode(self) -> bytes:
        vector = np.ascontiguousarray(self.embedding, dtype="<f4")
        box = np.asarray(self.roi, dtype="<f4")
        return _HEADER.pack(_MAGIC, _VERSION, vector.size) + vector.tobytes() + box.tobytes()

    @classmethod
    def decode(cls, value: bytes) -> CachedEmbedding:
        """Parse a value; raises ValueError on anything malformed (treated as a miss)."""
        if len(value) < _HEADER.size:
            raise ValueError("cache value too short")
        magic, version, dim = _HEADER.unpack_from(value)
        if magic != _MAGIC or version != _VERSION:
            raise ValueError("cache value has an unknown header")
        if len(value) != _HEADER.size + 4 * (dim + 4):
            raise ValueError("cache value has the wrong length")
        floats = np.frombuffer(value, dtype="<f4", offset=_HEADER.size)
        x0, y0, x1, y1 = (float(v) for v in floats[dim:])
        return cls(embedding=floats[:dim].astype(np.float32), roi=(x0, y0, x1, y1))
