"""Re-export of the contract's error types (kept while imports move to `asen_contract.errors`)."""

from asen_contract.errors import (  # noqa: F401
    AsenError,
    CheckpointError,
    ConfigError,
    DataFormatError,
    ImageError,
)
