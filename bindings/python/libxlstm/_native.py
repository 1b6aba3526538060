"""What the idiomatic classes share: the status check, handle ownership and the optional numpy."""

from __future__ import annotations

import operator
import threading
from typing import Any, Callable, Optional

from . import capi
from .enums import Status
from .errors import _CLASS_BY_STATUS_NAME, ClosedError, InvalidArgumentError, ModelLoadError, XlstmError, make_error

try:  # numpy is optional: without it logits are memoryviews and copies are array('f')
    import numpy
except ImportError:
    numpy = None

# Each status has its exception class (a status the manifest gains later falls back to XlstmError).
_CLASS_BY_STATUS = {
    member.value: _CLASS_BY_STATUS_NAME.get(member.name, XlstmError)
    for member in capi.ENUMS["xlstm_status"]
    if member.value != Status.OK
}
_MODEL_LOAD_STATUSES = frozenset((Status.IO, Status.INVALID_MODEL, Status.UNSUPPORTED))


def lib() -> capi.Library:
    return capi.library()


def error_for(status: int, *, loading_model: bool = False) -> XlstmError:
    """The exception for a failed call's ``status``, with this thread's last error message."""
    library = lib()
    raw = library.xlstm_last_error_message()
    message = raw.decode("utf-8", "replace") if raw else ""
    if not message:
        message = (library.xlstm_status_string(status) or b"unknown status").decode("utf-8", "replace")
    try:
        status = Status(status)
    except ValueError:
        pass
    cls = _CLASS_BY_STATUS.get(status, XlstmError)
    if loading_model and status in _MODEL_LOAD_STATUSES:
        cls = ModelLoadError
    return make_error(cls, status, message)


def check(status: int, *, loading_model: bool = False) -> None:
    """Raises the exception for ``status`` unless it is XLSTM_OK."""
    if status != 0:
        raise error_for(status, loading_model=loading_model)


def integer(value: Any, name: str, bits: int, signed: bool = True) -> int:
    """``value`` as an int that fits a C integer of ``bits`` bits: TypeError for a non-integer (or a
    bool), InvalidArgumentError for one out of range (ctypes would silently truncate it)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if not low <= value <= high:
        raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                         f"{name} {value} is outside [{low}, {high}]")
    return value


class Handle:
    """Owns one C handle and frees it exactly once: at :meth:`release`, or when garbage collected.

    A zero-copy view of memory the handle owns (a session's logits) registers itself in ``export``
    (a weak reference) and holds a strong reference to the handle; :meth:`release` then leaves the
    freeing to the garbage collection of the last such view, so a view never dangles.
    """

    __slots__ = ("pointer", "_free", "export", "__weakref__")

    def __init__(self, pointer: Any, free: Callable[[Any], None]):
        self.pointer = pointer
        self._free = free
        self.export: Optional[Callable[[], Any]] = None

    def release(self) -> None:
        if self.export is not None and self.export() is not None:
            return  # the last view's garbage collection frees it (__del__)
        self.free_now()

    def free_now(self) -> None:
        pointer = getattr(self, "pointer", None)
        self.pointer = None
        if pointer:
            self._free(pointer)

    def __del__(self) -> None:
        self.free_now()


class Owner:
    """Base of Model, Session and Sampler: a handle, a lock serialising calls on it (a session or a
    sampler is not thread-safe in C; here concurrent calls wait for each other instead of racing),
    ``close()`` and the context-manager protocol. A closed object raises :class:`ClosedError`."""

    _kind = "object"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handle: Optional[Handle] = None

    def _adopt(self, pointer: Any, free: Callable[[Any], None]) -> None:
        self._handle = Handle(pointer, free)

    def _pointer(self) -> Any:
        """The C handle; call with ``self._lock`` held. Raises ClosedError after close()."""
        handle = self._handle
        if handle is None:
            raise ClosedError(f"this {self._kind} is closed")
        return handle.pointer

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        """Frees the C object now (waits for a call in progress on another thread). Idempotent."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            handle.release()

    def __enter__(self):
        if self._handle is None:
            raise ClosedError(f"this {self._kind} is closed")
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __reduce__(self):
        raise TypeError(
            f"a {self._kind} holds native memory and cannot be pickled"
            + ("; pickle session.save_state() (bytes) instead" if self._kind == "session" else "")
        )
