"""``libxlstm.quantize``: write a q8_0 / q4_0 copy of a model directory (``xlstm_model_quantize``).

    libxlstm.quantize("model", "model-q4", type="q4", keep=["lm_head"],
                      progress=lambda done, total: print(f"{done}/{total} bytes"))

The formats and the on-disk layout are in the repository README ("Quantized models").
"""

from __future__ import annotations

import ctypes
import os
from typing import Callable, Iterable, Optional, Union

from . import capi
from ._native import check, integer, lib
from .enums import QuantType, Status
from .errors import InvalidArgumentError, make_error

__all__ = ["quantize", "QUANT_TYPES", "KEEP_CLASSES"]

#: ``type=`` values and the C enumerators they stand for.
QUANT_TYPES = {"q8": "XLSTM_QUANT_Q8_0", "q8_0": "XLSTM_QUANT_Q8_0", "q4": "XLSTM_QUANT_Q4_0", "q4_0": "XLSTM_QUANT_Q4_0"}
#: ``keep=`` classes and their XLSTM_QUANT_KEEP_* bits.
KEEP_CLASSES = {"embedding": "XLSTM_QUANT_KEEP_EMBEDDING", "lm_head": "XLSTM_QUANT_KEEP_LM_HEAD",
                "gates": "XLSTM_QUANT_KEEP_GATES"}


def quantize(input_dir: Union[str, os.PathLike], output_dir: Union[str, os.PathLike], type: str = "q8",
             keep: Optional[Iterable[str]] = None, progress: Optional[Callable[[int, int], object]] = None,
             overwrite: bool = False, max_shard_bytes: int = 0) -> None:
    """Quantize the model directory ``input_dir`` into the new directory ``output_dir``.

    ``type``: "q8" or "q4" (or a :class:`libxlstm.QuantType`). ``keep``: matrix classes left in their source dtype ("embedding",
    "lm_head", "gates"); None or [] quantizes every weight matrix (the default, README "Quantized
    models"). ``progress(done, total)`` (input bytes) is called from this thread while the call runs;
    returning ``False`` cancels (:class:`libxlstm.CancelledError`), and an exception it raises cancels
    and is re-raised here. ``overwrite`` replaces an existing ``output_dir`` once the new one is
    complete. ``max_shard_bytes`` > 0 splits the output into shards of at most that size (default:
    shard like the input). On any error nothing is written: no ``output_dir`` is left behind.
    """
    if isinstance(type, QuantType):
        type = type.name.lower()
    if not isinstance(type, str) or type.lower() not in QUANT_TYPES:
        raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                         f"quantize: unknown type {type!r} (q8 or q4)")
    keep_bits = 0
    if keep is not None:
        if isinstance(keep, str):
            keep = [part for part in keep.split(",") if part]
        for name in keep:
            if name not in KEEP_CLASSES:
                raise make_error(InvalidArgumentError, Status.INVALID_ARGUMENT,
                                 f"quantize: unknown keep class {name!r} ({', '.join(KEEP_CLASSES)})")
            keep_bits |= capi.MACROS[KEEP_CLASSES[name]]
    params = capi.STRUCTS["xlstm_quantize_params"]()
    library = lib()
    check(library.xlstm_quantize_default_params(ctypes.byref(params)))
    params.type = capi.ENUMS["xlstm_quant_type"][QUANT_TYPES[type.lower()]]
    params.keep = keep_bits
    params.overwrite = 1 if overwrite else 0
    params.max_shard_bytes = integer(max_shard_bytes, "max_shard_bytes", 64, signed=False)

    raised: list = []
    if progress is not None:
        def trampoline(done: int, total: int, _user_data) -> int:
            if raised:
                return 1
            try:
                return 1 if progress(done, total) is False else 0
            except BaseException as error:  # noqa: BLE001 -- re-raised after the C call returns
                raised.append(error)
                return 1
        callback = capi.CALLBACKS["xlstm_progress_callback"](trampoline)
    else:
        callback = capi.CALLBACKS["xlstm_progress_callback"]()  # NULL
    status = library.xlstm_model_quantize(os.fsencode(input_dir), os.fsencode(output_dir), ctypes.byref(params),
                                          callback, None)
    if raised:
        raise raised[0]
    check(status)
