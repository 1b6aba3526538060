"""Sampler: seeded, deterministic token selection with temperature, top-k/top-p/min-p and penalties."""

from __future__ import annotations

import ctypes
import numbers
from typing import TYPE_CHECKING, Any, Dict, Optional

from . import capi
from ._native import Owner, check, integer, lib
from ._tokens import as_float_array, as_token_array, single_token

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Sampler"]

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

    def __repr__(self) -> str:
        options = ", ".join(f"{name}={value:.6g}" if isinstance(value, float) else f"{name}={value}"
                            for name, value in self.params.items())
        return f"<libxlstm.Sampler {options}{' (closed)' if self.closed else ''}>"


def _convert(name: str, value: Any) -> Any:
    kind = _FIELDS[name]
    if kind in _INTEGER_BITS:
        bits, signed = _INTEGER_BITS[kind]
        return integer(value, name, bits, signed)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    return float(value)
