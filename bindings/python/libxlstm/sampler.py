"""Sampler: seeded, deterministic token selection with temperature, top-k/top-p/min-p and penalties."""

from __future__ import annotations

import ctypes
import numbers
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from . import capi
from ._native import Owner, check, integer, lib
from .enums import Status
from .errors import InvalidArgumentError, make_error
from ._tokens import as_float_array, as_token_array, single_token

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Sampler", "sample_batch"]

_PARAMS = capi.STRUCTS["xlstm_sampler_params"]
# The C struct's fields and their kinds, from the manifest (reserved fields stay 0).
_FIELDS = {
    field["name"]: field["ffi"]
    for struct in capi.MANIFEST["structs"] if struct["name"] == "xlstm_sampler_params"
    for field in struct["fields"] if field["name"] != "reserved"
}
_INTEGER_BITS = {"sint32": (32, True), "uint32": (32, False), "sint64": (64, True), "uint64": (64, False)}


class Sampler(Owner):
    """``Sampler(seed=, temperature=, top_k=, top_p=, min_p=, repetition_penalty=,
    presence_penalty=, penalty_window=)``: every option left out (or None) takes the library's
    default (``xlstm_sampler_default_params``: seed 0, temperature 0.8, top_k 40, top_p 0.95,
    min_p 0.05, no penalties, penalty_window 64). ``temperature=0`` is greedy. The same seed and
    logits give the same tokens. Out-of-range options raise InvalidArgumentError.

    Not thread-safe in C; concurrent calls on one sampler are serialised here.
    """

    _kind = "sampler"

    def __init__(self, *, seed: Optional[int] = None, temperature: Optional[float] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None, min_p: Optional[float] = None,
                 repetition_penalty: Optional[float] = None, presence_penalty: Optional[float] = None,
                 penalty_window: Optional[int] = None):
        super().__init__()
        options = dict(seed=seed, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                       repetition_penalty=repetition_penalty, presence_penalty=presence_penalty,
                       penalty_window=penalty_window)
        library = lib()
        params = _PARAMS()
        check(library.xlstm_sampler_default_params(ctypes.byref(params)))
        for name, value in options.items():
            if value is not None:
                setattr(params, name, _convert(name, value))
        pointer = ctypes.POINTER(capi.HANDLES["xlstm_sampler"])()
        check(library.xlstm_sampler_create(ctypes.byref(params), ctypes.byref(pointer)))
        self._adopt(pointer, library.xlstm_sampler_free)
        #: The options in effect (the C struct's fields by name).
        self.params: Dict[str, Any] = {name: getattr(params, name) for name in _FIELDS}

    def sample(self, session: "Session") -> int:
        """Draws the next token from ``session``'s current logits and records it in the penalty
        history (the session is not changed: feed the token yourself, or use Session.generate).
        Raises NoLogitsError if the session has none."""
        from .session import Session

        if not isinstance(session, Session):
            raise TypeError(f"sample() needs a libxlstm.Session, not {type(session).__name__}")
        token = ctypes.c_int32()
        with self._lock, session._lock:
            status = lib().xlstm_sampler_sample(self._pointer(), session._pointer(), ctypes.byref(token))
        check(status)
        return token.value

    def sample_logits(self, logits: Any) -> int:
        """Draws a token from caller-supplied logits (a float sequence, array('f'), 1-D numpy
        array; float32 is read in place) and records it in the history."""
        pointer, count = as_float_array(logits)
        token = ctypes.c_int32()
        with self._lock:
            status = lib().xlstm_sampler_sample_logits(self._pointer(), pointer, count, ctypes.byref(token))
        check(status)
        return token.value

    def accept(self, tokens: Any) -> None:
        """Records a token id, or each of a sequence of them, in the penalty history without
        sampling (e.g. a prompt's tokens)."""
        token = single_token(tokens)
        if token is not None:
            with self._lock:
                status = lib().xlstm_sampler_accept(self._pointer(), token)
            check(status)
            return
        pointer, count = as_token_array(tokens)
        self._accept_array(pointer, count)

    def _accept_array(self, pointer: Any, count: int) -> None:
        accept = lib().xlstm_sampler_accept
        status = 0
        with self._lock:
            handle = self._pointer()
            for index in range(count):
                status = accept(handle, pointer[index])
                if status != 0:
                    break
        check(status)

    def reset(self) -> None:
        """Clears the penalty history and restarts the random sequence from the seed."""
        with self._lock:
            status = lib().xlstm_sampler_reset(self._pointer())
        check(status)

    # ---- state ----------------------------------------------------------------------------------

    @property
    def state_size(self) -> int:
        """Bytes of this sampler's state blob (fixed: it depends only on the penalty window)."""
        with self._lock:
            return int(lib().xlstm_sampler_state_size(self._pointer()))

    def save_state(self) -> bytes:
        """The sampler's whole state as ``bytes``: its options, the random generator's position and
        the penalty history. Saved with ``Session.save_state()``, a restored pair continues with the
        same sampled tokens as the original. The sampler is not changed."""
        with self._lock:
            handle = self._pointer()
            size = int(lib().xlstm_sampler_state_size(handle))
            buffer = (ctypes.c_char * size)()
            written = ctypes.c_size_t()
            status = lib().xlstm_sampler_save_state(handle, buffer, size, ctypes.byref(written))
        check(status)
        return buffer.raw[:written.value]

    def load_state(self, blob: Any) -> None:
        """Restores a blob from :meth:`save_state` (any bytes-like object): the options, generator
        position and history all become the blob's (:attr:`params` follows). Raises
        StateVersionError (another format version) or StateCorruptError (truncated, damaged, or not
        a sampler's blob, e.g. a session's); on any error the sampler is unchanged."""
        source, size = _readable_bytes(blob)
        with self._lock:
            status = lib().xlstm_sampler_load_state(self._pointer(), source, size)
        check(status)
        self._refresh_params()

    def save_state_file(self, path: Any) -> None:
        """Saves the state blob to the file ``path``, replaced atomically. Raises FileError."""
        encoded = _path(path)
        with self._lock:
            status = lib().xlstm_sampler_save_state_file(self._pointer(), encoded)
        check(status)

    def load_state_file(self, path: Any) -> None:
        """Restores the state from a file holding a blob. Errors as :meth:`load_state`, plus FileError."""
        encoded = _path(path)
        with self._lock:
            status = lib().xlstm_sampler_load_state_file(self._pointer(), encoded)
        check(status)
        self._refresh_params()

    @classmethod
    def from_state(cls, blob: Any) -> "Sampler":
        """A new sampler holding the state of a blob from :meth:`save_state`."""
        sampler = cls()
        try:
            sampler.load_state(blob)
        except BaseException:
            sampler.close()
            raise
        return sampler

    def _refresh_params(self) -> None:
        """Reads the options back from the C sampler (they change when a state is loaded)."""
        params = _PARAMS()
        with self._lock:
            status = lib().xlstm_sampler_get_params(self._pointer(), ctypes.byref(params))
        check(status)
        self.params = {name: getattr(params, name) for name in _FIELDS}

    def __reduce__(self):
        """Pickles as its state blob: the unpickled sampler continues with the same tokens."""
        return (Sampler.from_state, (self.save_state(),))

    def __repr__(self) -> str:
        options = ", ".join(f"{name}={value:.6g}" if isinstance(value, float) else f"{name}={value}"
                            for name, value in self.params.items())
        return f"<libxlstm.Sampler {options}{' (closed)' if self.closed else ''}>"


def sample_batch(samplers: Sequence[Sampler], sessions: Sequence["Session"]) -> List[int]:
    """One token for each ``(samplers[i], sessions[i])`` pair in a single C call
    (``xlstm_sampler_sample_batch``): the same tokens as ``[s.sample(x) for s, x in zip(...)]``.
    The same session may appear several times, a sampler only once. Everything is checked first: a
    wrong type, a closed object, a repeated sampler or a session without logits raises (the error
    names the index) and then no sampler has advanced."""
    from .session import Session

    samplers = list(samplers)
    sessions = list(sessions)
    if len(samplers) != len(sessions):
        raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                         f"sample_batch: {len(samplers)} samplers but {len(sessions)} sessions")
    for index, (sampler, session) in enumerate(zip(samplers, sessions)):
        if not isinstance(sampler, Sampler):
            raise TypeError(f"samplers[{index}] must be a libxlstm.Sampler, not {type(sampler).__name__}")
        if not isinstance(session, Session):
            raise TypeError(f"sessions[{index}] must be a libxlstm.Session, not {type(session).__name__}")
    n = len(samplers)
    if n == 0:
        return []
    seen: Dict[int, int] = {}
    for index, sampler in enumerate(samplers):
        if id(sampler) in seen:
            raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                             f"sample_batch: samplers[{index}] is the same sampler as samplers[{seen[id(sampler)]}]")
        seen[id(sampler)] = index
    # Every object's lock, each once, in one global order: samplers, then sessions (as
    # Sampler.sample takes them), each group by id (as Session.copy_state_from) — no deadlock with
    # another batch or a single call.
    unique_sessions = {id(session): session for session in sessions}
    ordered = sorted(samplers, key=id) + [unique_sessions[key] for key in sorted(unique_sessions)]
    sampler_array = (ctypes.POINTER(capi.HANDLES["xlstm_sampler"]) * n)()
    session_array = (ctypes.POINTER(capi.HANDLES["xlstm_session"]) * n)()
    tokens = (ctypes.c_int32 * n)()
    locked: List[Any] = []
    try:
        for owner in ordered:
            owner._lock.acquire()
            locked.append(owner)
        for index in range(n):
            sampler_array[index] = samplers[index]._pointer()
            session_array[index] = sessions[index]._pointer()
        status = lib().xlstm_sampler_sample_batch(sampler_array, session_array, n, tokens)
    finally:
        for owner in reversed(locked):
            owner._lock.release()
    check(status)
    return list(tokens)


def _readable_bytes(blob: Any) -> Any:
    """``(pointer, size)`` over a bytes-like object, for a ``const void *``."""
    if isinstance(blob, bytes):
        return blob, len(blob)
    if isinstance(blob, str):
        raise TypeError("a sampler state blob is bytes, not str")
    try:
        view = memoryview(blob)
    except TypeError:
        raise TypeError(f"a sampler state blob must be a bytes-like object, not {type(blob).__name__}") from None
    if not view.c_contiguous:
        raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT, "a sampler state blob must be contiguous")
    data = view.cast("B").tobytes()
    return data, len(data)


def _path(path: Any) -> bytes:
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str, bytes or os.PathLike, not {type(path).__name__}")
    return os.fsencode(path)


def _convert(name: str, value: Any) -> Any:
    kind = _FIELDS[name]
    if kind in _INTEGER_BITS:
        bits, signed = _INTEGER_BITS[kind]
        return integer(value, name, bits, signed)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    return float(value)
