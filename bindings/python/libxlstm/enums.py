"""The C enums with Python names: ``Status.TOKEN_OUT_OF_RANGE`` is ``XLSTM_ERROR_TOKEN_OUT_OF_RANGE``.

Built from the manifest (through :mod:`libxlstm.capi`): an enumerator added to the C API appears here
without an edit. Each member equals its C value, so it can be passed wherever C wants the enum.
"""

from __future__ import annotations

import enum

from . import capi

__all__ = ["Status", "Family", "BlockKind", "WeightPolicy", "LogitsMode", "CpuPath", "LoadMode", "QuantType"]


def _pythonic(c_name: str, python_name: str, prefixes: tuple) -> type:
    members = []
    for member in capi.ENUMS[c_name]:
        name = member.name
        for prefix in prefixes:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        members.append((name, member.value))
    result = enum.IntEnum(python_name, members, module=__name__)
    result.__doc__ = capi.ENUMS[c_name].__doc__
    return result


Status = _pythonic("xlstm_status", "Status", ("XLSTM_ERROR_", "XLSTM_"))
Family = _pythonic("xlstm_family", "Family", ("XLSTM_FAMILY_",))
BlockKind = _pythonic("xlstm_block_kind", "BlockKind", ("XLSTM_BLOCK_",))
WeightPolicy = _pythonic("xlstm_weight_policy", "WeightPolicy", ("XLSTM_WEIGHTS_",))
LogitsMode = _pythonic("xlstm_logits_mode", "LogitsMode", ("XLSTM_LOGITS_",))
CpuPath = _pythonic("xlstm_cpu_path", "CpuPath", ("XLSTM_CPU_",))
LoadMode = _pythonic("xlstm_load_mode", "LoadMode", ("XLSTM_LOAD_",))
Precision = _pythonic("xlstm_precision", "Precision", ("XLSTM_PRECISION_",))
QuantType = _pythonic("xlstm_quant_type", "QuantType", ("XLSTM_QUANT_",))
