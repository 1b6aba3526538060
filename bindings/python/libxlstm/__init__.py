"""libxlstm: Python bindings of libxlstm.so, a CPU inference runtime for xLSTM language models.

(Named after the shared library: ``xlstm`` on PyPI is the official PyTorch implementation.)

Pure Python over ctypes: two layers, as in rwkv.cpp's bindings.

* :mod:`libxlstm.capi` mirrors the C API function for function (argtypes and restypes derived from
  the ABI manifest that the header generator writes, so it cannot drift from xlstm.h);
* this module is the idiomatic layer::

      import libxlstm
      with libxlstm.Model("Tests/Fixtures/paper_mixed/model") as model, model.session() as session:
          sampler = libxlstm.Sampler(seed=1)
          for token in session.generate([1, 2, 3], max_tokens=16, sampler=sampler):
              print(token, end=" ", flush=True)
          blob = session.save_state()      # bytes: pickle it, store it, load it elsewhere

Failures raise :class:`XlstmError` subclasses (see :mod:`libxlstm.errors`).
"""

from . import capi
from .enums import BlockKind, CpuPath, Family, LoadMode, LogitsMode, Precision, QuantType, Status, WeightPolicy
from .errors import (
    BufferTooSmallError,
    CancelledError,
    ClosedError,
    FileError,
    InvalidArgumentError,
    LibraryError,
    ManifestError,
    ModelLoadError,
    NoLogitsError,
    OutOfMemoryError,
    StateCorruptError,
    StateError,
    StateMismatchError,
    StateVersionError,
    TokenOutOfRangeError,
    XlstmError,
)
from .model import MemoryInfo, Model, ModelInfo
from .quantize import quantize
from .sampler import Sampler, sample_batch
from .session import Session
from .tokenizer import Detokenizer, Tokenizer, TokenizerInfo

#: The package version: the version of the C API it was built for (from the manifest).
__version__ = capi.VERSION
#: The C API version this package speaks; the loaded library must report the same.
API_VERSION = capi.API_VERSION


def library_path() -> str:
    """The path of the libxlstm that is (or gets) loaded."""
    return capi.library().path


def library_version() -> str:
    """The loaded library's ``xlstm_version_string()``."""
    return capi.library().version


__all__ = [
    "API_VERSION",
    "BlockKind",
    "CpuPath",
    "BufferTooSmallError",
    "CancelledError",
    "ClosedError",
    "Family",
    "FileError",
    "InvalidArgumentError",
    "LibraryError",
    "LogitsMode",
    "ManifestError",
    "Model",
    "MemoryInfo",
    "ModelInfo",
    "ModelLoadError",
    "NoLogitsError",
    "OutOfMemoryError",
    "QuantType",
    "Sampler",
    "sample_batch",
    "Session",
    "StateCorruptError",
    "StateError",
    "StateMismatchError",
    "StateVersionError",
    "Status",
    "Tokenizer",
    "TokenizerInfo",
    "Detokenizer",
    "TokenOutOfRangeError",
    "WeightPolicy",
    "LoadMode",
    "Precision",
    "XlstmError",
    "capi",
    "quantize",
    "library_path",
    "library_version",
]
