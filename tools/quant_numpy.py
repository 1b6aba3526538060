#!/usr/bin/env python3
"""The q8_0 / q4_0 formats of ``xlstm quantize`` implemented independently in numpy (README "Quantized models";
Sources/XLSTM/Quant/BlockQuant.swift fixes the layout), for the reference tools:

* :func:`read_safetensors` parses a safetensors file from its raw bytes (8-byte little-endian header length, JSON
  header, data) -- no safetensors library, so I8 / U8 tensors and any dtype are read as numpy arrays;
* :func:`read_model_dir` reads a model directory (single file or ``model.safetensors.index.json`` shards);
* :func:`dequantize_dir` turns a quantized directory back into float32 tensors: for every ``N`` with an
  ``N_scale`` F16 [rows, cols/32]: q8 ``N`` I8 [rows, cols] -> d * q; q4 ``N`` U8 [rows, cols/2] -> byte i of a block
  holds value i (low nibble) and value i + 16 (high nibble), value = d * (nibble - 8);
* prototype quantizers (:func:`fake_quant`) of the formats measured against each other in
  ``tools/quant_error.py``: q8_0 with block 32 or 64, q4_0 with block 32 or 16, q4_1 (scale + min) block 32.
  They quantize and dequantize in one go ("fake quantization"): only the error is of interest.

This module needs numpy only.
"""

from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I8": np.int8, "U8": np.uint8, "F64": np.float64,
           "I32": np.int32, "I64": np.int64, "I16": np.int16}


def _bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


def read_safetensors(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header dict, {name: array}) of one file; BF16 is widened to float32 exactly."""
    with open(path, "rb") as fh:
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)   # pages read on demand (7B shards)
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        buf = memoryview(data)[base + begin:base + end]
        shape = tuple(entry["shape"])
        if entry["dtype"] == "BF16":
            arr = _bf16_to_f32(np.frombuffer(buf, dtype="<u2")).reshape(shape)
        else:
            arr = np.frombuffer(buf, dtype=np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")).reshape(shape)
        out[name] = arr
    return header, out


def model_files(model_dir) -> list[Path]:
    d = Path(model_dir)
    index = d / "model.safetensors.index.json"
    if index.exists():
        names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [d / n for n in names]
    return [d / "model.safetensors"]


def read_model_dir(model_dir) -> tuple[dict, dict[str, np.ndarray]]:
    """({name: header entry}, {name: array}) over every safetensors file of the directory."""
    entries, tensors = {}, {}
    for f in model_files(model_dir):
        h, t = read_safetensors(f)
        entries.update({k: v for k, v in h.items() if k != "__metadata__"})
        tensors.update(t)
    return entries, tensors


def dequantize(fmt: str, data: np.ndarray, scales: np.ndarray, block: int = 32) -> np.ndarray:
    """float32 [rows, cols] from a stored q8_0 / q4_0 tensor and its F16 scales [rows, cols/block]."""
    d = scales.astype(np.float32)
    rows, nb = d.shape
    if fmt == "q8_0":
        q = data.astype(np.float32).reshape(rows, nb, block)
    elif fmt == "q4_0":
        b = data.reshape(rows, nb, block // 2)
        q = np.concatenate([(b & 0x0F).astype(np.float32), (b >> 4).astype(np.float32)], axis=2) - 8.0
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return (q * d[:, :, None]).reshape(rows, nb * block).astype(np.float32)


def dequantize_dir(model_dir) -> tuple[dict, dict[str, np.ndarray], set[str]]:
    """(config, {name: float32 array} without the scale tensors, names that were quantized)."""
    config = json.loads((Path(model_dir) / "config.json").read_text())
    qc = config.get("quantization_config")
    if not qc or qc.get("quant_method") != "xlstm":
        raise ValueError(f"{model_dir}: no xlstm quantization_config in config.json")
    fmt, block = qc["format"], int(qc["group_size"])
    assert qc["scale_dtype"] == "float16" and block == 32, qc
    entries, tensors = read_model_dir(model_dir)
    out, quantized = {}, set()
    for name, arr in tensors.items():
        if name.endswith("_scale") and name[:-len("_scale")] in tensors:
            continue
        scale = tensors.get(name + "_scale")
        if scale is not None:
            expect = {"q8_0": "I8", "q4_0": "U8"}[fmt]
            assert entries[name]["dtype"] == expect and entries[name + "_scale"]["dtype"] == "F16", (name, entries[name])
            rows = arr.shape[0]
            cols = arr.shape[1] * (1 if fmt == "q8_0" else 2)
            assert scale.shape == (rows, cols // block), (name, scale.shape)
            out[name] = dequantize(fmt, arr, scale, block)
            quantized.add(name)
        else:
            out[name] = np.asarray(arr, dtype=np.float32) if arr.dtype != np.float32 else arr
    return config, out, quantized


# ---- prototypes of the formats compared in tools/quant_error.py -------------------------------------------------

def _f16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).astype(np.float32)


def fake_quant(w: np.ndarray, kind: str) -> np.ndarray:
    """quantize + dequantize w [rows, cols] (float32) in format `kind`:
    q8_0_b32, q8_0_b64 (d = amax/127), q4_0_b32, q4_0_b16 (d = m/-8, m the signed extreme, as ggml),
    q4_1_b32 (d = (max-min)/15, m = min, both float16; value = d*q + m)."""
    fmt, block = kind.rsplit("_b", 1)
    block = int(block)
    rows, cols = w.shape
    assert cols % block == 0
    x = w.astype(np.float32).reshape(rows, cols // block, block)
    if fmt == "q8_0":
        d = _f16(np.abs(x).max(axis=2) / 127)
        inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0)
        q = np.clip(np.rint(x * inv[:, :, None]), -127, 127)
        y = q * d[:, :, None]
    elif fmt == "q4_0":
        idx = np.abs(x).argmax(axis=2)
        m = np.take_along_axis(x, idx[:, :, None], axis=2)[:, :, 0]
        d = _f16(m / -8)
        inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0)
        q = np.clip(np.rint(x * inv[:, :, None]) + 8, 0, 15)
        y = (q - 8) * d[:, :, None]
    elif fmt == "q4_1":
        lo, hi = x.min(axis=2), x.max(axis=2)
        d = _f16((hi - lo) / 15)
        m = _f16(lo)
        inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0)
        q = np.clip(np.rint((x - m[:, :, None]) * inv[:, :, None]), 0, 15)
        y = q * d[:, :, None] + m[:, :, None]
    else:
        raise ValueError(kind)
    return y.reshape(rows, cols).astype(np.float32)


BITS_PER_WEIGHT = {"q8_0_b32": 8.5, "q8_0_b64": 8.25, "q4_0_b32": 4.5, "q4_0_b16": 5.0, "q4_1_b32": 5.0}
