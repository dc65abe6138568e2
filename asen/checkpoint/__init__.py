"""Files the project writes and reads: the model checkpoint, the shared torch-file envelope
(atomic write, format version, SHA-256) and the strict, key-mapped weight loader."""

from asen.checkpoint.model_file import (
    AttributeSpec,
    LoadedCheckpoint,
    attribute_specs,
    load_checkpoint,
    save_checkpoint,
)
from asen.checkpoint.strict_load import (
    KeyMap,
    load_strict,
    map_keys,
    under_prefix,
    without_prefixes,
)
from asen.checkpoint.torch_file import (
    StoredFile,
    read_torch_bytes,
    read_torch_file,
    save_torch_file,
)

__all__ = [
    "AttributeSpec",
    "KeyMap",
    "LoadedCheckpoint",
    "attribute_specs",
    "StoredFile",
    "load_checkpoint",
    "load_strict",
    "map_keys",
    "read_torch_bytes",
    "read_torch_file",
    "save_checkpoint",
    "save_torch_file",
    "under_prefix",
    "without_prefixes",
]
