"""Model: a loaded xLSTM (immutable weights, memory-mapped), the factory of sessions."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

from . import capi
from ._native import Owner, check, integer, lib
from .enums import BlockKind, CpuPath, Family, LoadMode, WeightPolicy

if TYPE_CHECKING:
    from .session import Session
    from .tokenizer import Tokenizer

__all__ = ["Model", "ModelInfo"]

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


@dataclass(frozen=True)
class ModelInfo:
    """What ``xlstm_model_get_info`` reports, plus every block's kind."""

    family: Family
    vocab_size: int  # valid token ids are [0, vocab_size)
    embedding_dim: int
    n_blocks: int
    n_parameters: int  # a tied embedding counts once
    state_size: int  # bytes of a saved state blob (Session.save_state)
    state_bytes_in_memory: int  # bytes of recurrent state per session
    fingerprint: int  # architecture and tensor layout (not the weights); stored in state blobs
    block_kinds: Tuple[BlockKind, ...]


class Model(Owner):
    """A model directory loaded by ``xlstm_model_load``.

    ``Model(path, n_threads=None, weight_policy=None, cpu_path=None, load_mode=None)``: ``n_threads``
    is the number of threads each session of this model uses for its matrix kernels (default: the
    library's, 1); ``weight_policy`` a :class:`WeightPolicy` (default NATIVE: bf16 weights stay bf16);
    ``cpu_path`` a :class:`CpuPath` to force the kernels of one instruction set (default AUTO: the
    fastest this CPU runs; a path it cannot run raises :class:`ModelLoadError` with UNSUPPORTED);
    ``load_mode`` a :class:`LoadMode` (default MMAP; COPY makes the model immune to later changes of
    its files, MLOCK locks the mapping in RAM).
    Raises :class:`ModelLoadError` (``status`` IO, INVALID_MODEL or UNSUPPORTED) with the library's
    message naming the file and tensor at fault.

    A model is immutable and thread-safe: any number of threads may create and use sessions of it.
    ``close()`` (or leaving a ``with`` block) releases it; sessions already created keep working.
    """

    _kind = "model"

    def __init__(self, path: PathLike, *, n_threads: Optional[int] = None,
                 weight_policy: Optional[WeightPolicy] = None, cpu_path: Optional[CpuPath] = None,
                 load_mode: Optional[LoadMode] = None):
        super().__init__()
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise TypeError(f"path must be a str, bytes or os.PathLike, not {type(path).__name__}")
        self.path = os.fsdecode(path)
        library = lib()
        params = capi.STRUCTS["xlstm_model_params"]()
        check(library.xlstm_model_default_params(ctypes.byref(params)))
        if n_threads is not None:
            params.n_threads = integer(n_threads, "n_threads", 32)
        if weight_policy is not None:
            params.weight_policy = int(WeightPolicy(weight_policy))
        if cpu_path is not None:
            params.cpu_path = int(CpuPath(cpu_path))
        if load_mode is not None:
            params.load_mode = int(LoadMode(load_mode))
        pointer = ctypes.POINTER(capi.HANDLES["xlstm_model"])()
        check(library.xlstm_model_load(os.fsencode(path), ctypes.byref(params), ctypes.byref(pointer)),
              loading_model=True)
        self._adopt(pointer, library.xlstm_model_free)
        self.n_threads = params.n_threads
        self.weight_policy = WeightPolicy(params.weight_policy)
        self.load_mode = LoadMode(params.load_mode)
        self._info = self._read_info(pointer)
        used = ctypes.c_int32()
        check(library.xlstm_model_get_cpu_path(pointer, ctypes.byref(used)))
        #: The :class:`CpuPath` this model's kernels run (never AUTO).
        self.cpu_path = CpuPath(used.value)

    @staticmethod
    def _read_info(pointer: Any) -> ModelInfo:
        library = lib()
        raw = capi.STRUCTS["xlstm_model_info"]()
        check(library.xlstm_model_get_info(pointer, ctypes.byref(raw)))
        kinds = []
        kind = ctypes.c_int32()
        for index in range(raw.n_blocks):
            check(library.xlstm_model_get_block_kind(pointer, index, ctypes.byref(kind)))
            kinds.append(BlockKind(kind.value))
        # Every field of the C struct, by name: a field added to the C API fails here (and in the
        # tests) until ModelInfo has it.
        fields = {name: getattr(raw, name) for name, _ in raw._fields_}
        fields["family"] = Family(fields["family"])
        return ModelInfo(block_kinds=tuple(kinds), **fields)

    @property
    def info(self) -> ModelInfo:
        """The model's :class:`ModelInfo` (read once at load)."""
        if self._handle is None:
            self._pointer()  # raises ClosedError
        return self._info

    @property
    def vocab_size(self) -> int:
        return self.info.vocab_size

    @property
    def tokenizer(self) -> "Optional[Tokenizer]":
        """The :class:`Tokenizer` of the model directory's ``tokenizer.json`` (loaded on first use,
        then kept), or None when the directory has none (byte-level models need none)."""
        from .tokenizer import Tokenizer

        if getattr(self, "_tokenizer", None) is None:
            if not os.path.exists(os.path.join(self.path, "tokenizer.json")):
                return None
            pointer = ctypes.POINTER(capi.HANDLES["xlstm_tokenizer"])()
            with self._lock:
                check(lib().xlstm_tokenizer_from_model(self._pointer(), ctypes.byref(pointer)), loading_model=True)
            self._tokenizer = Tokenizer(self.path, _pointer=pointer)
        return self._tokenizer

    def session(self) -> "Session":
        """A new :class:`Session` of this model in the initial state."""
        from .session import Session

        return Session(self)

    def __repr__(self) -> str:
        if self._handle is None:
            return f"<libxlstm.Model {self.path!r} (closed)>"
        info = self._info
        return (f"<libxlstm.Model {self.path!r} {info.family.name.lower()} {info.n_blocks} blocks, "
                f"vocab {info.vocab_size}, {info.n_parameters} parameters>")

