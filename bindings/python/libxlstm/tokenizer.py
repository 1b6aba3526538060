"""Tokenizer: text <-> token ids with a Hugging Face ``tokenizer.json`` (``xlstm_tokenizer``), and the
streaming detokenizer (``xlstm_detokenizer``) that never splits a UTF-8 sequence."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, List, Optional, Union

from . import capi
from ._native import Owner, check, integer, lib
from .enums import Status

__all__ = ["Tokenizer", "TokenizerInfo", "Detokenizer"]

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


@dataclass(frozen=True)
class TokenizerInfo:
    """What ``xlstm_tokenizer_get_info`` reports; ids are -1 when the tokenizer files name none."""

    vocab_size: int  # ids are [0, vocab_size)
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


def _ids_array(ids: Iterable[int]) -> Any:
    values = [integer(i, "token id", 32) for i in ids]
    return (ctypes.c_int32 * max(len(values), 1))(*values), len(values)


class Tokenizer(Owner):
    """``Tokenizer(path)``: a directory holding ``tokenizer.json`` (a model directory, or one with only
    the tokenizer files) or the ``tokenizer.json`` file itself. Raises :class:`ModelLoadError` for a
    missing, malformed or unsupported file (the message names the component).

    Immutable and thread-safe in C; here calls on one object are serialised by its lock.
    """

    _kind = "tokenizer"

    def __init__(self, path: PathLike, *, _pointer: Any = None):
        super().__init__()
        library = lib()
        if _pointer is None:
            if not isinstance(path, (str, bytes, os.PathLike)):
                raise TypeError(f"path must be a str, bytes or os.PathLike, not {type(path).__name__}")
            pointer = ctypes.POINTER(capi.HANDLES["xlstm_tokenizer"])()
            check(library.xlstm_tokenizer_load(os.fsencode(path), ctypes.byref(pointer)), loading_model=True)
        else:
            pointer = _pointer
        self.path = os.fsdecode(path)
        self._adopt(pointer, library.xlstm_tokenizer_free)
        raw = capi.STRUCTS["xlstm_tokenizer_info"]()
        check(library.xlstm_tokenizer_get_info(pointer, ctypes.byref(raw)))
        self._info = TokenizerInfo(**{name: getattr(raw, name) for name, _ in raw._fields_})

    @property
    def info(self) -> TokenizerInfo:
        if self._handle is None:
            self._pointer()
        return self._info

    vocab_size = property(lambda self: self.info.vocab_size)
    bos_id = property(lambda self: self.info.bos_id)
    eos_id = property(lambda self: self.info.eos_id)
    pad_id = property(lambda self: self.info.pad_id)

    def encode(self, text: Union[str, bytes], *, add_special_tokens: bool = True,
               split_special_tokens: bool = False) -> List[int]:
        """The ids of ``text`` (str, or UTF-8 bytes), as ``tokenizers``' ``encode(text).ids``.
        Bytes that are not valid UTF-8 raise :class:`InvalidArgumentError`."""
        if isinstance(text, str):
            data = text.encode("utf-8", "surrogatepass")
        elif isinstance(text, (bytes, bytearray, memoryview)):
            data = bytes(text)
        else:
            raise TypeError(f"text must be str or bytes, not {type(text).__name__}")
        flags = (capi.MACROS["XLSTM_TOKENIZE_ADD_SPECIAL"] if add_special_tokens else 0) | (
            capi.MACROS["XLSTM_TOKENIZE_SPLIT_SPECIAL"] if split_special_tokens else 0)
        library = lib()
        count = ctypes.c_size_t()
        capacity = len(data) + 8  # ids never outnumber bytes + the template's specials, almost always
        while True:
            buffer = (ctypes.c_int32 * capacity)()
            with self._lock:
                status = library.xlstm_tokenize(self._pointer(), data, len(data), flags, buffer, capacity,
                                                ctypes.byref(count))
            if status == Status.BUFFER_TOO_SMALL and count.value > capacity:
                capacity = count.value
                continue
            check(status)
            return list(buffer[:count.value])

    def decode(self, ids: Iterable[int], *, skip_special_tokens: bool = False) -> str:
        """The text of ``ids`` (invalid UTF-8 the ids leave becomes U+FFFD, as ``tokenizers`` does)."""
        array, n = _ids_array(ids)
        flags = capi.MACROS["XLSTM_DETOKENIZE_SKIP_SPECIAL"] if skip_special_tokens else 0
        library = lib()
        length = ctypes.c_size_t()
        with self._lock:
            status = library.xlstm_detokenize(self._pointer(), array, n, flags, None, 0, ctypes.byref(length))
            if status not in (Status.OK, Status.BUFFER_TOO_SMALL):
                check(status)
            buffer = ctypes.create_string_buffer(length.value + 1)
            check(library.xlstm_detokenize(self._pointer(), array, n, flags, buffer, length.value + 1,
                                           ctypes.byref(length)))
        return buffer.raw[:length.value].decode("utf-8")

    def token_to_piece(self, token: int) -> bytes:
        """The raw bytes of one token (for byte-level tokenizers possibly part of a UTF-8 char)."""
        token = integer(token, "token", 32)
        library = lib()
        length = ctypes.c_size_t()
        with self._lock:
            status = library.xlstm_tokenizer_token_to_piece(self._pointer(), token, None, 0, ctypes.byref(length))
            if status not in (Status.OK, Status.BUFFER_TOO_SMALL):
                check(status)
            buffer = ctypes.create_string_buffer(length.value + 1)
            check(library.xlstm_tokenizer_token_to_piece(self._pointer(), token, buffer, length.value + 1,
                                                         ctypes.byref(length)))
        return buffer.raw[:length.value]

    def stream(self, *, skip_special_tokens: bool = False) -> "Detokenizer":
        """A new streaming :class:`Detokenizer`."""
        return Detokenizer(self, skip_special_tokens=skip_special_tokens)

    def decode_stream(self, ids: Iterable[int], *, skip_special_tokens: bool = False) -> Iterator[str]:
        """Yields the text of ``ids`` piece by piece as it becomes complete (then what is held back)."""
        with self.stream(skip_special_tokens=skip_special_tokens) as stream:
            for token in ids:
                text = stream.push(token)
                if text:
                    yield text
            tail = stream.flush()
            if tail:
                yield tail

    def __repr__(self) -> str:
        if self._handle is None:
            return f"<libxlstm.Tokenizer {self.path!r} (closed)>"
        return f"<libxlstm.Tokenizer {self.path!r} vocab {self._info.vocab_size}>"


class Detokenizer(Owner):
    """Streaming detokenization: ``push(token)`` returns the text now complete (a str, possibly
    empty: the bytes of a character split across tokens are held back); ``flush()`` ends the stream
    (an incomplete character becomes U+FFFD). Not thread-safe in C; calls are serialised here."""

    _kind = "detokenizer"

    def __init__(self, tokenizer: Tokenizer, *, skip_special_tokens: bool = False):
        super().__init__()
        library = lib()
        pointer = ctypes.POINTER(capi.HANDLES["xlstm_detokenizer"])()
        flags = capi.MACROS["XLSTM_DETOKENIZE_SKIP_SPECIAL"] if skip_special_tokens else 0
        with tokenizer._lock:
            check(library.xlstm_detokenizer_create(tokenizer._pointer(), flags, ctypes.byref(pointer)))
        self._adopt(pointer, library.xlstm_detokenizer_free)
        self._buffer = ctypes.create_string_buffer(256)

    def _call(self, function: Any, *args: Any) -> str:
        length = ctypes.c_size_t()
        while True:
            with self._lock:
                status = function(self._pointer(), *args, self._buffer, len(self._buffer), ctypes.byref(length))
            if status == Status.BUFFER_TOO_SMALL:
                self._buffer = ctypes.create_string_buffer(length.value + 16)
                continue
            check(status)
            return self._buffer.raw[:length.value].decode("utf-8")

    def push(self, token: int) -> str:
        return self._call(lib().xlstm_detokenizer_push, integer(token, "token", 32))

    def flush(self) -> str:
        return self._call(lib().xlstm_detokenizer_flush)
