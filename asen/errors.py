"""Errors the CLI reports as a clear message and a non-zero exit, never as a traceback."""


class AsenError(Exception):
    """A user-facing error: bad input, missing file, malformed data."""


class DataFormatError(AsenError):
    """A data file is malformed; the message names the file and line(s)."""


class CheckpointError(AsenError):
    """A checkpoint is unreadable or does not match the architecture."""


class ImageError(AsenError):
    """An image is corrupt, unsupported, empty or over the pixel limit."""
