"""Session: one sequence's recurrent state, its last logits, and streaming generation."""

from __future__ import annotations

import ctypes
import os
import weakref
from array import array
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterable, Iterator, Optional, Tuple

from . import capi
from ._native import Owner, check, integer, lib, numpy
from ._tokens import as_token_array, check_token, single_token
from .enums import LogitsMode, Status
from .errors import InvalidArgumentError, NoLogitsError, XlstmError, make_error
from .model import Model

if TYPE_CHECKING:
    from .sampler import Sampler

__all__ = ["Session"]

_SessionPointer = ctypes.POINTER(capi.HANDLES["xlstm_session"])
_FloatPointer = ctypes.POINTER(ctypes.c_float)

# ctypes array types that can carry a reference to their owner (one per vocabulary size).
_buffer_types: Dict[int, type] = {}


def _buffer_type(count: int) -> type:
    buffer_type = _buffer_types.get(count)
    if buffer_type is None:
        buffer_type = type("LogitsBuffer", (ctypes.c_float * count,), {})
        _buffer_types[count] = buffer_type
    return buffer_type


class Session(Owner):
    """One sequence of a :class:`Model`: ``Session(model)`` or ``model.session()``.

    Feed tokens with :meth:`feed`; read the next token's scores with :attr:`logits` (a zero-copy,
    read-only view) or :meth:`logits_copy`; snapshot with :meth:`save_state` / :meth:`clone`;
    generate with :meth:`generate`. Not thread-safe in C: calls from several threads on one session
    are serialised here. Different sessions run in parallel (the GIL is released during feeds).
    """

    _kind = "session"

    def __init__(self, model: Model):
        super().__init__()
        if not isinstance(model, Model):
            raise TypeError(f"Session() needs a libxlstm.Model, not {type(model).__name__}")
        library = lib()
        pointer = _SessionPointer()
        with model._lock:
            status = library.xlstm_session_create(model._pointer(), ctypes.byref(pointer))
        check(status)
        self._adopt(pointer, library.xlstm_session_free)
        self._attach(model)

    @classmethod
    def _from_pointer(cls, model: Model, pointer: Any) -> "Session":
        session = cls.__new__(cls)
        Owner.__init__(session)
        session._adopt(pointer, lib().xlstm_session_free)
        session._attach(model)
        return session

    def _attach(self, model: Model) -> None:
        #: The Model this session belongs to (the C session keeps the model alive even if it is closed).
        self.model = model
        self.vocab_size: int = model._info.vocab_size
        self._logits_address: Optional[int] = None

    # ---- feeding ------------------------------------------------------------------------------

    def feed(self, tokens: Any, *, logits: bool = True) -> None:
        """Feeds one token id or a sequence of them, in order.

        ``tokens``: an int, or a list / tuple / range / ``array('i')`` / 1-D integer numpy array /
        ``bytes`` (one id per byte). With ``logits=False`` no logits are computed (cheaper for a
        prompt prefix; :attr:`logits` then raises NoLogitsError). Every id is checked before any is
        consumed: an id outside [0, vocab_size) raises :class:`TokenOutOfRangeError` and leaves the
        session unchanged. The GIL is released while the library works.
        """
        token = single_token(tokens)
        library = lib()
        if token is not None and logits:
            with self._lock:
                status = library.xlstm_session_feed_token(self._pointer(), token)
        else:
            pointer, count = as_token_array(tokens if token is None else (token,))
            mode = LogitsMode.LAST if logits else LogitsMode.NONE
            with self._lock:
                status = library.xlstm_session_feed_tokens(self._pointer(), pointer, count, mode)
        check(status)

    @property
    def n_tokens(self) -> int:
        """Tokens consumed since the initial state (or as restored from a state blob)."""
        with self._lock:
            return int(lib().xlstm_session_n_tokens(self._pointer()))

    # ---- logits -------------------------------------------------------------------------------

    @property
    def has_logits(self) -> bool:
        """Whether the last feed computed logits."""
        with self._lock:
            return bool(lib().xlstm_session_logits(self._pointer()))

    @property
    def logits(self) -> Any:
        """The logits after the last token fed: ``vocab_size`` float32 scores, without a copy.

        A read-only numpy array when numpy is installed, else a read-only ``memoryview`` of format
        'f'. Either is a *view* of the session's logits buffer: it always shows the latest logits
        (a later :meth:`feed` changes what it shows) and its contents mean nothing after a feed with
        ``logits=False``, :meth:`reset` or :meth:`load_state` of a blob without logits. Keep a
        snapshot with :meth:`logits_copy` (or ``numpy.array(session.logits)``). The view keeps the
        buffer's memory alive: it stays safe to read even after :meth:`close` (the C session is then
        freed when the last view is garbage collected). Raises :class:`NoLogitsError` when the last
        feed computed none.
        """
        with self._lock:
            address = ctypes.cast(lib().xlstm_session_logits(self._pointer()), ctypes.c_void_p).value
            if not address:
                raise make_error(NoLogitsError, Status.NO_LOGITS,
                                 "the session has no logits: nothing was fed yet, or the last feed "
                                 "computed none (logits=False)")
            buffer = self._exported_buffer(address)
        view = memoryview(buffer).cast("B").cast("f").toreadonly()
        if numpy is not None:
            return numpy.frombuffer(view, dtype=numpy.float32)
        return view

    def _exported_buffer(self, address: int) -> Any:
        """A ctypes array over the library's logits buffer that keeps this session's C object alive."""
        if self._logits_address is None:
            self._logits_address = address
        elif address != self._logits_address:
            # The C API only promises the pointer until the next feed; the library allocates it
            # once per session, and the views handed out rely on that. Fail loudly if it changes.
            raise XlstmError("libxlstm moved this session's logits buffer; the zero-copy views of "
                             "liblibxlstm.Session.logits rely on it staying put (use logits_copy())")
        handle = self._handle
        buffer = handle.export() if handle.export is not None else None
        if buffer is None:
            buffer = _buffer_type(self.vocab_size).from_address(address)
            buffer.owner = handle  # the view keeps the C session alive
            handle.export = weakref.ref(buffer)
        return buffer

    def logits_copy(self) -> Any:
        """A copy of the logits after the last token fed (``xlstm_session_copy_logits``): a new
        float32 numpy array, or an ``array('f')`` without numpy. Raises NoLogitsError if none."""
        count = self.vocab_size
        if numpy is not None:
            result = numpy.empty(count, dtype=numpy.float32)
            destination = result.ctypes.data_as(_FloatPointer)
        else:
            result = array("f", bytes(4 * count))
            destination = (ctypes.c_float * count).from_buffer(result)
        with self._lock:
            status = lib().xlstm_session_copy_logits(self._pointer(), destination, count)
        check(status)
        return result

    # ---- state --------------------------------------------------------------------------------

    @property
    def state_size(self) -> int:
        """Bytes of a state blob (the same for every session of the model)."""
        with self._lock:
            return int(lib().xlstm_session_state_size(self._pointer()))

    def save_state(self) -> bytes:
        """The session as a state blob: plain ``bytes`` (picklable, storable anywhere) holding the
        recurrent state, the token count and the last logits; :meth:`load_state` restores it bit for
        bit, in this process or another one, on any machine with this library."""
        buffer = bytearray(self.state_size)
        written = self.save_state_into(buffer)
        return bytes(memoryview(buffer)[:written])

    def save_state_into(self, buffer: Any) -> int:
        """Writes the state blob into a writable bytes-like ``buffer`` (bytearray, mmap, numpy
        array, ...) without an intermediate copy; returns the bytes written. Raises
        BufferTooSmallError if it holds fewer than :attr:`state_size` bytes."""
        try:
            view = memoryview(buffer)
        except TypeError:
            raise TypeError(f"buffer must be a writable bytes-like object, not {type(buffer).__name__}") from None
        if view.readonly:
            raise TypeError("buffer must be writable")
        if not view.c_contiguous:
            raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT, "buffer must be contiguous")
        view = view.cast("B")
        target = (ctypes.c_char * view.nbytes).from_buffer(view)
        written = ctypes.c_size_t()
        with self._lock:
            status = lib().xlstm_session_save_state(self._pointer(), target, view.nbytes, ctypes.byref(written))
        del target
        check(status)
        return written.value

    def load_state(self, blob: Any) -> None:
        """Restores a blob from :meth:`save_state` (any bytes-like object). Raises
        StateMismatchError (saved from another model), StateVersionError (another format version) or
        StateCorruptError (truncated, damaged); on any error the session is unchanged."""
        source, size = _readable_bytes(blob)
        with self._lock:
            status = lib().xlstm_session_load_state(self._pointer(), source, size)
        check(status)

    def save_state_file(self, path: Any) -> None:
        """Saves the state blob to the file ``path``, replaced atomically. Raises FileError."""
        encoded = _path(path)
        with self._lock:
            status = lib().xlstm_session_save_state_file(self._pointer(), encoded)
        check(status)

    def load_state_file(self, path: Any) -> None:
        """Restores the state from a file holding a blob. Errors as :meth:`load_state`, plus FileError."""
        encoded = _path(path)
        with self._lock:
            status = lib().xlstm_session_load_state_file(self._pointer(), encoded)
        check(status)

    def clone(self) -> "Session":
        """A new session with a copy of this one's state, token count and logits."""
        clone = _SessionPointer()
        with self._lock:
            status = lib().xlstm_session_clone(self._pointer(), ctypes.byref(clone))
        check(status)
        return Session._from_pointer(self.model, clone)

    def copy_state_from(self, source: "Session") -> None:
        """Makes this session's state, token count and logits equal to ``source``'s (a session of the
        same loaded model), without allocating: snapshot and roll back."""
        if not isinstance(source, Session):
            raise TypeError(f"source must be a libxlstm.Session, not {type(source).__name__}")
        if source is self:
            with self._lock:
                self._pointer()
            return
        first, second = sorted((self, source), key=id)
        with first._lock, second._lock:
            status = lib().xlstm_session_copy_state(self._pointer(), source._pointer())
        check(status)

    def reset(self) -> None:
        """Returns to the initial state: no tokens consumed, no logits."""
        with self._lock:
            status = lib().xlstm_session_reset(self._pointer())
        check(status)

    # ---- generation ---------------------------------------------------------------------------

    def generate(self, prompt_tokens: Any = (), max_tokens: int = 16, sampler: Optional["Sampler"] = None,
                 *, stop_tokens: Iterable[int] = ()) -> Iterator[int]:
        """Streams up to ``max_tokens`` sampled token ids, each as soon as it is produced.

        Feeds ``prompt_tokens`` first (they also enter the sampler's penalty history); with an empty
        prompt, sampling starts from the session's current logits (continuing a conversation).
        ``sampler`` defaults to ``Sampler()`` (the library's defaults, seed 0). Generation stops
        after a token of ``stop_tokens`` (which is yielded).

        When a token is yielded the session has already consumed it: :attr:`logits` are the next
        token's, and stopping at any point leaves the session holding exactly the prompt and the
        tokens received. Arguments are checked at the call; the prompt is fed on the first ``next()``.
        """
        from .sampler import Sampler

        if sampler is not None and not isinstance(sampler, Sampler):
            raise TypeError(f"sampler must be a libxlstm.Sampler, not {type(sampler).__name__}")
        limit = integer(max_tokens, "max_tokens", 63)
        if limit < 0:
            raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT, f"max_tokens {limit} is negative")
        pointer, count = as_token_array(prompt_tokens)
        prompt = (ctypes.c_int32 * count)()  # a copy: the caller may reuse its buffer meanwhile
        if count:
            ctypes.memmove(prompt, pointer, 4 * count)
        stops = frozenset(check_token(token) for token in stop_tokens)
        with self._lock:
            self._pointer()  # a closed session fails here, not at the first next()
        return self._generate(prompt, limit, sampler, stops)

    def _generate(self, prompt: Any, limit: int, sampler: Optional["Sampler"],
                  stops: FrozenSet[int]) -> Iterator[int]:
        from .sampler import Sampler

        own_sampler = sampler is None
        if sampler is None:
            sampler = Sampler()
        try:
            count = len(prompt)
            if count:
                library = lib()
                with self._lock:
                    status = library.xlstm_session_feed_tokens(self._pointer(), prompt, count, LogitsMode.LAST)
                check(status)
                sampler._accept_array(prompt, count)
            for _ in range(limit):
                token = sampler.sample(self)
                self.feed(token)
                yield token
                if token in stops:
                    return
        finally:
            if own_sampler:
                sampler.close()

    def __repr__(self) -> str:
        if self._handle is None:
            return "<libxlstm.Session (closed)>"
        return f"<libxlstm.Session {self.n_tokens} tokens, vocab {self.vocab_size}>"


def _readable_bytes(blob: Any) -> Tuple[Any, int]:
    """``(pointer, size)`` for a ``const void *`` over a bytes-like object, without a copy where
    possible (bytes and writable buffers)."""
    if isinstance(blob, bytes):
        return blob, len(blob)  # ctypes passes the bytes object's own storage
    if isinstance(blob, str):
        raise TypeError("a state blob is bytes, not str")
    try:
        view = memoryview(blob)
    except TypeError:
        raise TypeError(f"a state blob must be a bytes-like object, not {type(blob).__name__}") from None
    if not view.c_contiguous:
        raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT, "a state blob must be contiguous")
    view = view.cast("B")
    if view.readonly:
        data = view.tobytes()
        return data, len(data)
    return (ctypes.c_char * view.nbytes).from_buffer(view), view.nbytes


def _path(path: Any) -> bytes:
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str, bytes or os.PathLike, not {type(path).__name__}")
    return os.fsencode(path)
