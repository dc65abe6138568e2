"""Import checkpoints written by the official ASEN++ code (Maryeon/asenpp)."""

from asen.official.architecture import infer_config
from asen.official.convert import ImportSummary, import_official
from asen.official.state_file import OfficialCheckpoint, read_official_checkpoint

__all__ = [
    "ImportSummary",
    "OfficialCheckpoint",
    "import_official",
    "infer_config",
    "read_official_checkpoint",
]
