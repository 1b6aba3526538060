"""Model: a loaded xLSTM (immutable weights, memory-mapped), the factory of sessions."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple, Union

from . import capi
from ._native import Owner, check, integer, lib
from ._tokens import as_token_array
from .enums import BlockKind, CpuPath, Family, LoadMode, LogitsMode, Precision, Status, WeightPolicy
from .errors import InvalidArgumentError, make_error

if TYPE_CHECKING:
    from .sampler import Sampler
    from .session import Session
    from .tokenizer import Tokenizer

__all__ = ["Model", "ModelInfo", "MemoryInfo"]

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


@dataclass(frozen=True)
class MemoryInfo:
    """What ``xlstm_model_get_memory_info`` reports: what one more session costs, and the scratch a
    feeding thread holds (shared by every session it feeds)."""

    session_bytes: int  # state + logits + bookkeeping of one session
    step_scratch_bytes: int
    prefill_scratch_bytes: int  # a 256-token prefill window
    batch_scratch_bytes_per_session: int
    batch_window: int  # sessions per pass over the weights in feed_batch
    n_threads: int  # threads of the model's pool
    reserved0: int
    reserved1: int


class Model(Owner):
    """A model directory loaded by ``xlstm_model_load``.

    ``Model(path, n_threads=None, weight_policy=None, cpu_path=None, load_mode=None, precision=None)``: ``n_threads``
    sizes the model's thread pool, which every session and batch of this model shares (default: the
    library's, 1); ``weight_policy`` a :class:`WeightPolicy` (default NATIVE: bf16 weights stay bf16);
    ``cpu_path`` a :class:`CpuPath` to force the kernels of one instruction set (default AUTO: the
    fastest this CPU runs; a path it cannot run raises :class:`ModelLoadError` with UNSUPPORTED);
    ``load_mode`` a :class:`LoadMode` (default MMAP; COPY makes the model immune to later changes of
    its files, MLOCK locks the mapping in RAM); ``precision`` a :class:`Precision` (default EXACT;
    FAST gives the q8/q4 projections int8 activations, and the bf16 ones bf16 activations on a CPU
    with AVX-512 BF16, README "Precision"; ``self.precision`` is
    what the model runs: EXACT where this path has no int8 kernels).
    Raises :class:`ModelLoadError` (``status`` IO, INVALID_MODEL or UNSUPPORTED) with the library's
    message naming the file and tensor at fault.

    A model is immutable and thread-safe: any number of threads may create and use sessions of it.
    ``close()`` (or leaving a ``with`` block) releases it; sessions already created keep working.
    """

    _kind = "model"

    def __init__(self, path: PathLike, *, n_threads: Optional[int] = None,
                 weight_policy: Optional[WeightPolicy] = None, cpu_path: Optional[CpuPath] = None,
                 load_mode: Optional[LoadMode] = None, precision: Optional[Precision] = None):
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
        if precision is not None:
            params.precision = int(Precision(precision))
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
        check(library.xlstm_model_get_precision(pointer, ctypes.byref(used)))
        #: The :class:`Precision` this model runs.
        self.precision = Precision(used.value)

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

    @property
    def memory_info(self) -> MemoryInfo:
        """The model's :class:`MemoryInfo` (``xlstm_model_get_memory_info``)."""
        raw = capi.STRUCTS["xlstm_memory_info"]()
        with self._lock:
            check(lib().xlstm_model_get_memory_info(self._pointer(), ctypes.byref(raw)))
        return MemoryInfo(**{name: getattr(raw, name) for name, _ in raw._fields_})

    def feed_batch(self, sessions: "Sequence[Session]", tokens: Any, *, logits: bool = True) -> None:
        """Feeds ``tokens[i]`` to ``sessions[i]``: one decode step for N sessions of this model in one
        pass over the weights (``xlstm_batch_feed``). The sessions may be at any positions.

        ``tokens``: N ids (list, ``array('i')``, numpy array, ...). Everything is checked first: a
        session of another model, a session given twice or an id out of range raises (the message
        names the index) and no session changes. A session's results do not depend on N or on the
        other sessions; they equal :meth:`Session.feed` up to float rounding (~1e-6 relative). With
        ``logits=False`` no logits are computed. The GIL is released while the library works.
        """
        from .session import Session

        sessions = list(sessions)
        for index, session in enumerate(sessions):
            if not isinstance(session, Session):
                raise TypeError(f"sessions[{index}] is a {type(session).__name__}, not a libxlstm.Session")
        pointer, count = as_token_array(tokens)
        if count != len(sessions):
            raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                             f"feed_batch: {len(sessions)} sessions but {count} tokens")
        if count == 0:
            return
        # Each session's lock, taken in one global order (no deadlock with another batch); a
        # session given twice is left to the library to report (its lock is taken once).
        unique = sorted({id(s): s for s in sessions}.values(), key=id)
        for session in unique:
            session._lock.acquire()
        try:
            handles = (ctypes.POINTER(capi.HANDLES["xlstm_session"]) * count)(*[s._pointer() for s in sessions])
            mode = LogitsMode.LAST if logits else LogitsMode.NONE
            status = lib().xlstm_batch_feed(handles, pointer, count, mode)
        finally:
            for session in reversed(unique):
                session._lock.release()
        check(status)

    def feed_batch_tokens(self, sessions: "Sequence[Session]", spans: "Sequence[Any]", *, logits: bool = True) -> None:
        """Feeds ``spans[i]`` (a sequence of ids, possibly empty) to ``sessions[i]``: a prompt for each
        of N sessions of this model in one pass over the weights per window
        (``xlstm_batch_feed_tokens``). The spans may have any lengths and the sessions be at any
        positions; a session given no tokens is left as it is.

        Everything is checked first: a session of another model, a session given twice or an id
        out of range raises (the message names the session and the position) and no session
        changes. Each session's results equal :meth:`Session.feed` of its span up to float rounding
        (~1e-6 relative). With ``logits=False`` no logits are computed. The GIL is released while
        the library works.
        """
        from .session import Session

        sessions = list(sessions)
        spans = list(spans)
        for index, session in enumerate(sessions):
            if not isinstance(session, Session):
                raise TypeError(f"sessions[{index}] is a {type(session).__name__}, not a libxlstm.Session")
        if len(spans) != len(sessions):
            raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                             f"feed_batch_tokens: {len(sessions)} sessions but {len(spans)} spans")
        count = len(sessions)
        if count == 0:
            return
        arrays = [as_token_array(span) for span in spans]   # kept alive until the call returns
        pointers = (ctypes.POINTER(ctypes.c_int32) * count)(
            *[ctypes.cast(pointer, ctypes.POINTER(ctypes.c_int32)) if n else None for pointer, n in arrays])
        lengths = (ctypes.c_size_t * count)(*[n for _, n in arrays])
        unique = sorted({id(s): s for s in sessions}.values(), key=id)
        for session in unique:
            session._lock.acquire()
        try:
            handles = (ctypes.POINTER(capi.HANDLES["xlstm_session"]) * count)(*[s._pointer() for s in sessions])
            mode = LogitsMode.LAST if logits else LogitsMode.NONE
            status = lib().xlstm_batch_feed_tokens(handles, pointers, lengths, count, mode)
        finally:
            for session in reversed(unique):
                session._lock.release()
        check(status)

    def generate_batch(self, sessions: "Sequence[Session]", samplers: "Sequence[Sampler]",
                       max_tokens: int, *, stop: Optional[int] = None,
                       prompts: "Optional[Sequence[Any]]" = None) -> List[List[int]]:
        """Generates up to ``max_tokens`` tokens for each session at once: every round, each session
        still running samples its next token from its logits with its own sampler (sessions must
        have logits: feed a prompt first, or pass ``prompts``), then one :meth:`feed_batch` advances
        them all. ``prompts[i]`` (ids, possibly empty) is first fed to session i — all of them in
        one :meth:`feed_batch_tokens` — and recorded in sampler i's penalty history. A session
        stops after sampling ``stop`` (kept in its list). Returns each session's sampled tokens."""
        sessions, samplers = list(sessions), list(samplers)
        if len(sessions) != len(samplers):
            raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                             f"generate_batch: {len(sessions)} sessions but {len(samplers)} samplers")
        limit = integer(max_tokens, "max_tokens", 63)
        if prompts is not None:
            prompts = list(prompts)
            self.feed_batch_tokens(sessions, prompts)
            for sampler, prompt in zip(samplers, prompts):
                if len(prompt):
                    sampler.accept(prompt)
        produced: List[List[int]] = [[] for _ in sessions]
        running = list(range(len(sessions)))
        for _ in range(limit):
            if not running:
                break
            tokens = [samplers[i].sample(sessions[i]) for i in running]
            for i, token in zip(running, tokens):
                produced[i].append(token)
            self.feed_batch([sessions[i] for i in running], tokens)
            running = [i for i, token in zip(running, tokens) if token != stop]
        return produced

    def __repr__(self) -> str:
        if self._handle is None:
            return f"<libxlstm.Model {self.path!r} (closed)>"
        info = self._info
        return (f"<libxlstm.Model {self.path!r} {info.family.name.lower()} {info.n_blocks} blocks, "
                f"vocab {info.vocab_size}, {info.n_parameters} parameters>")

