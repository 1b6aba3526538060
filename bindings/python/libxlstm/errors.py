"""Exceptions: one class per family of ``xlstm_status``, each carrying the status and the library's
message (``xlstm_last_error_message()``, which names the function, file, tensor or argument).

    XlstmError                      base of everything this package raises for the library
    ├── LibraryError  (OSError)     libxlstm.so not found, wrong API version, missing functions
    ├── ManifestError               the ABI manifest is missing or unreadable
    ├── ClosedError  (ValueError)   a closed Model / Session / Sampler was used
    ├── InvalidArgumentError (ValueError)      XLSTM_ERROR_INVALID_ARGUMENT
    ├── ModelLoadError              XLSTM_ERROR_IO, _INVALID_MODEL, _UNSUPPORTED from loading a model
    ├── FileError  (OSError)        XLSTM_ERROR_IO from a state file
    ├── TokenOutOfRangeError (ValueError)      XLSTM_ERROR_TOKEN_OUT_OF_RANGE
    ├── BufferTooSmallError (ValueError)       XLSTM_ERROR_BUFFER_TOO_SMALL
    ├── StateError  (ValueError)    a state blob that cannot be loaded:
    │   ├── StateMismatchError      XLSTM_ERROR_STATE_MISMATCH (saved from another model)
    │   ├── StateVersionError       XLSTM_ERROR_STATE_VERSION (another format version)
    │   └── StateCorruptError       XLSTM_ERROR_STATE_CORRUPT (truncated or damaged)
    ├── NoLogitsError (RuntimeError)           XLSTM_ERROR_NO_LOGITS
    ├── CancelledError                         XLSTM_ERROR_CANCELLED (a progress callback cancelled)
    └── OutOfMemoryError (MemoryError)         XLSTM_ERROR_OUT_OF_MEMORY (the system refused memory)

Arguments of the wrong Python type (a float token, a float64 array of tokens, a str state blob)
raise the built-in ``TypeError`` before anything reaches the library.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "XlstmError",
    "LibraryError",
    "ManifestError",
    "ClosedError",
    "InvalidArgumentError",
    "ModelLoadError",
    "FileError",
    "TokenOutOfRangeError",
    "BufferTooSmallError",
    "StateError",
    "StateMismatchError",
    "StateVersionError",
    "StateCorruptError",
    "CancelledError",
    "NoLogitsError",
    "OutOfMemoryError",
]


class XlstmError(Exception):
    """Base class. ``status`` is the :class:`libxlstm.Status` behind the error (None for errors that
    do not come from a C status); ``message`` is the library's message (also ``str(error)``)."""

    status: Optional[int] = None

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class LibraryError(XlstmError, OSError):
    """libxlstm could not be loaded, or is not the version the manifest describes."""


class ManifestError(XlstmError):
    """The ABI manifest (xlstm.abi.json) is missing, unreadable or does not fit this platform."""


class ClosedError(XlstmError, ValueError):
    """A method was called on a closed Model, Session or Sampler."""


class InvalidArgumentError(XlstmError, ValueError):
    """XLSTM_ERROR_INVALID_ARGUMENT: an argument the library rejects (a bad option value, ...)."""


class ModelLoadError(XlstmError):
    """A model could not be loaded: ``status`` is Status.IO (unreadable file), Status.INVALID_MODEL
    (malformed directory, tensor or JSON) or Status.UNSUPPORTED (a feature the library lacks)."""


class FileError(XlstmError, OSError):
    """XLSTM_ERROR_IO outside model loading: a state file could not be read or written."""


class TokenOutOfRangeError(XlstmError, ValueError):
    """XLSTM_ERROR_TOKEN_OUT_OF_RANGE: a token id outside [0, vocab_size)."""


class BufferTooSmallError(XlstmError, ValueError):
    """XLSTM_ERROR_BUFFER_TOO_SMALL: a caller-supplied buffer is too small."""


class StateError(XlstmError, ValueError):
    """A state blob could not be loaded; the session was left unchanged."""


class StateMismatchError(StateError):
    """XLSTM_ERROR_STATE_MISMATCH: the blob was saved from a different model."""


class StateVersionError(StateError):
    """XLSTM_ERROR_STATE_VERSION: the blob has a format version this library does not read."""


class StateCorruptError(StateError):
    """XLSTM_ERROR_STATE_CORRUPT: the blob is truncated or damaged."""


class NoLogitsError(XlstmError, RuntimeError):
    """XLSTM_ERROR_NO_LOGITS: the last feed computed no logits, or nothing was fed yet."""


class CancelledError(XlstmError):
    """XLSTM_ERROR_CANCELLED: the progress callback of a long operation (quantize) cancelled it."""


class OutOfMemoryError(XlstmError, MemoryError):
    """XLSTM_ERROR_OUT_OF_MEMORY: the system refused memory the call needs (weight panels, a
    session's state, a feed's scratch); the model and its sessions are as they were."""


# Status value -> class. The values are the manifest's (checked against it in libxlstm._native).
_CLASS_BY_STATUS_NAME = {
    "XLSTM_ERROR_INVALID_ARGUMENT": InvalidArgumentError,
    "XLSTM_ERROR_IO": FileError,
    "XLSTM_ERROR_INVALID_MODEL": ModelLoadError,
    "XLSTM_ERROR_UNSUPPORTED": ModelLoadError,
    "XLSTM_ERROR_TOKEN_OUT_OF_RANGE": TokenOutOfRangeError,
    "XLSTM_ERROR_BUFFER_TOO_SMALL": BufferTooSmallError,
    "XLSTM_ERROR_STATE_MISMATCH": StateMismatchError,
    "XLSTM_ERROR_STATE_VERSION": StateVersionError,
    "XLSTM_ERROR_STATE_CORRUPT": StateCorruptError,
    "XLSTM_ERROR_NO_LOGITS": NoLogitsError,
    "XLSTM_ERROR_CANCELLED": CancelledError,
    "XLSTM_ERROR_OUT_OF_MEMORY": OutOfMemoryError,
}


def make_error(cls: type, status: Optional[int], message: str) -> XlstmError:
    """An instance of ``cls`` with ``status`` set (built so that OSError subclasses do not read the
    arguments as errno and strerror)."""
    error = cls(message)
    error.status = status
    return error
