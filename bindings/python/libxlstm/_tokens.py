"""Token ids and float vectors from Python objects to C arrays, in linear time, without a copy
where the object already holds int32 / float32 data.

Accepted token containers (:func:`as_token_array`):
  * list, tuple, range or any iterable of ints (including numpy integer scalars);
  * ``array.array`` of an integer type code ('i' is used in place);
  * a 1-D numpy array of an integer dtype (C-contiguous native int32 is used in place; other integer
    dtypes are converted, values outside int32 raise TokenOutOfRangeError);
  * ``bytes`` / ``bytearray``: each byte is one token id (byte-level models);
  * an integer-format ``memoryview``.
Rejected with ``TypeError``: ``str`` (encode it first), floats, float/bool/complex/object arrays,
``array('f')``; with ``InvalidArgumentError`` (a ValueError): arrays of more than one dimension.
"""

from __future__ import annotations

import ctypes
import operator
from array import array
from typing import Any, Optional, Tuple

from ._native import numpy
from .enums import Status
from .errors import InvalidArgumentError, TokenOutOfRangeError, make_error

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_INTEGER_CODES = frozenset("bBhHiIlLqQ")
_INT32_CODE = "i" if array("i").itemsize == 4 else "l"  # 'i' everywhere that matters
_NULL_TOKENS = ctypes.POINTER(ctypes.c_int32)()


def _out_of_range(value: Any) -> TokenOutOfRangeError:
    return make_error(TokenOutOfRangeError, Status.TOKEN_OUT_OF_RANGE, f"token {value} does not fit in int32")


def single_token(tokens: Any) -> Optional[int]:
    """``tokens`` as one id if it is a single integer (int, numpy integer scalar, 0-d array), else None."""
    if isinstance(tokens, (bytes, bytearray, memoryview, str, array)):
        return None
    if isinstance(tokens, bool):
        raise TypeError("a token id must be an int, not bool")
    try:
        value = operator.index(tokens)
    except TypeError:
        return None
    if not INT32_MIN <= value <= INT32_MAX:
        raise _out_of_range(value)
    return value


def check_token(token: Any) -> int:
    """One token id as an int32-range int; TypeError for anything else."""
    value = single_token(token)
    if value is None:
        raise TypeError(f"a token id must be an int, not {type(token).__name__}")
    return value


def as_token_array(tokens: Any) -> Tuple[Any, int]:
    """``(pointer, count)``: ``pointer`` may be passed as a ``const int32_t *`` (and keeps the data
    alive as long as it lives)."""
    if isinstance(tokens, str):
        raise TypeError("tokens must be token ids, not str: tokenize the text first "
                        "(for a byte-level model: text.encode())")
    if numpy is not None and isinstance(tokens, numpy.ndarray):
        return _from_numpy(tokens)
    if isinstance(tokens, array):
        if tokens.typecode not in _INTEGER_CODES:
            raise TypeError(f"tokens must be integers, not array('{tokens.typecode}')")
        if tokens.typecode == _INT32_CODE:
            return _in_place(tokens, len(tokens))
        return _converted(tokens)
    if isinstance(tokens, (bytes, bytearray)):
        return _in_place(array(_INT32_CODE, iter(tokens)), len(tokens))
    if isinstance(tokens, memoryview):
        if tokens.ndim != 1:
            raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                             f"tokens must be one-dimensional, not {tokens.ndim}-dimensional")
        if tokens.format.lstrip("@=<") not in _INTEGER_CODES:
            raise TypeError(f"tokens must be integers, not a memoryview of format {tokens.format!r}")
        return _converted(tokens.tolist())
    if not hasattr(tokens, "__len__"):
        try:
            tokens = list(tokens)  # a generator: materialise once (errors below can then name it)
        except TypeError:
            raise TypeError(f"tokens must be an int or a sequence of ints, not {type(tokens).__name__}") from None
    try:
        return _converted(tokens)
    except TypeError:
        raise TypeError(
            f"tokens must be an int or a sequence of ints, not {type(tokens).__name__}"
            + _first_bad_element(tokens)
        ) from None


def _first_bad_element(tokens: Any) -> str:
    try:
        for item in tokens:
            try:
                operator.index(item)
            except TypeError:
                return f" containing {type(item).__name__}"
    except TypeError:
        pass
    return ""


def _in_place(data: array, count: int) -> Tuple[Any, int]:
    if count == 0:
        return _NULL_TOKENS, 0
    return (ctypes.c_int32 * count).from_buffer(data), count


def _converted(tokens: Any) -> Tuple[Any, int]:
    try:
        data = array(_INT32_CODE, tokens)
    except OverflowError:
        bad = next((t for t in tokens if not INT32_MIN <= operator.index(t) <= INT32_MAX), "?")
        raise _out_of_range(bad) from None
    return _in_place(data, len(data))


def _from_numpy(tokens: Any) -> Tuple[Any, int]:
    if tokens.dtype.kind not in "iu":
        raise TypeError(f"tokens must have an integer dtype, not {tokens.dtype}")
    if tokens.ndim != 1:
        raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                         f"tokens must be one-dimensional, not of shape {tokens.shape}")
    if tokens.dtype != numpy.int32 or not tokens.flags.c_contiguous or not tokens.dtype.isnative:
        if tokens.size and tokens.dtype.itemsize >= 4 and tokens.dtype != numpy.int32:
            low, high = int(tokens.min()), int(tokens.max())
            if low < INT32_MIN or high > INT32_MAX:
                raise _out_of_range(low if low < INT32_MIN else high)
        tokens = numpy.ascontiguousarray(tokens, dtype=numpy.int32)
    count = int(tokens.shape[0])
    if count == 0:
        return _NULL_TOKENS, 0
    return tokens.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), count


def as_float_array(values: Any, what: str = "logits") -> Tuple[Any, int]:
    """``(pointer, count)`` for a ``const float *``: float32 data in place, other reals converted."""
    if numpy is not None and isinstance(values, numpy.ndarray):
        if values.dtype.kind != "f":
            raise TypeError(f"{what} must have a floating-point dtype, not {values.dtype}")
        if values.ndim != 1:
            raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                             f"{what} must be one-dimensional, not of shape {values.shape}")
        values = numpy.ascontiguousarray(values, dtype=numpy.float32)
        return values.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), int(values.shape[0])
    if isinstance(values, memoryview):
        if values.format.lstrip("@=<") != "f" or values.ndim != 1 or not values.c_contiguous:
            values = values.tolist()
        else:
            data = values if not values.readonly else array("f", values.tolist())
            return _float_pointer(data, len(values))
    if isinstance(values, array) and values.typecode == "f":
        return _float_pointer(values, len(values))
    if isinstance(values, (str, bytes, bytearray)):
        raise TypeError(f"{what} must be a sequence of floats, not {type(values).__name__}")
    try:
        data = array("f", values)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of floats, not {type(values).__name__}") from None
    return _float_pointer(data, len(data))


def _float_pointer(data: Any, count: int) -> Tuple[Any, int]:
    if count == 0:
        return (ctypes.c_float * 1)(), 0  # not NULL: the library then reports the empty vector itself
    if isinstance(data, memoryview):
        data = data.cast("B")
    return (ctypes.c_float * count).from_buffer(data), count
