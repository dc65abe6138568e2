"""One hierarchy of user-facing errors for the library, the CLI, the Triton models and the gateway.

A class says what kind of problem it is, never how it is reported: the CLI prints the message and
exits non-zero; the gateway maps the kind to a gRPC status in one place. Callers' mistakes
(`InvalidInput` and its subclasses, `NotFound`) are kept apart from the service's own conditions
(`Unavailable`, `Overloaded`, `DeadlineExceeded`) so that alerts page only for the latter.
"""


class AsenError(Exception):
    """A user-facing error: its message is shown as it is, never as a traceback."""


# -- what a caller sent ----------------------------------------------------------------------------
class InvalidInput(AsenError):
    """Malformed or out-of-range input in a request or on the command line."""


class ImageError(InvalidInput):
    """An image is corrupt, unsupported, empty, or over a size limit."""


class LimitExceeded(InvalidInput):
    """A request is over a documented per-request limit (candidates, pixels, top_k, ...)."""


class NotFound(AsenError):
    """Something the request names (an image digest, an item id) is not known."""


# -- files the library reads -----------------------------------------------------------------------
class DataFormatError(AsenError):
    """A data file is malformed; the message names the file and line(s)."""


class CheckpointError(AsenError):
    """A checkpoint is unreadable or does not match the architecture."""


class ConfigError(AsenError):
    """A setting (flag, environment variable, config value) is missing, malformed or conflicting."""


# -- the service's own conditions ---------------------------------------------------------------
class Unavailable(AsenError):
    """A dependency (Triton, the catalogue engine) cannot answer now; the call may be retried."""


class Overloaded(AsenError):
    """The service is at a capacity or per-caller quota limit; retry later with back-off."""


class DeadlineExceeded(AsenError):
    """The call's deadline passed before its work was done."""


class Cancelled(AsenError):
    """The work was cancelled (the caller went away, or the server is stopping)."""
