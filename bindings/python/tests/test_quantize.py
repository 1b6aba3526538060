"""libxlstm.quantize (xlstm_model_quantize): the files it writes (safetensors parsed from the raw bytes with
json: dtypes, shapes, contiguous data), values within the format's rounding bound of the source, progress,
cancelling (False or an exception: nothing left behind), and argument errors."""

from __future__ import annotations

import json
import os
import struct
from array import array

import pytest

import libxlstm
from conftest import FIXTURES


def read_safetensors(path, ours=True):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    assert not ours or (8 + n) % 64 == 0  # the quantizer pads its header so the data starts 64-aligned
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    end = 0
    for begin, stop in spans:  # contiguous, up to the end of the file
        assert begin == end
        end = stop
    assert 8 + n + end == len(data)
    return header, data[8 + n:]


def tensor_bytes(header, data, name):
    begin, end = header[name]["data_offsets"]
    return data[begin:end]


def half(bits: int) -> float:
    return struct.unpack("<e", struct.pack("<H", bits))[0]


@pytest.mark.parametrize("qtype", ["q8", "q4"])
def test_quantized_files_follow_the_documented_layout(tmp_path, qtype):
    source = FIXTURES / "paper_mixed" / "model"
    out = tmp_path / "out"
    libxlstm.quantize(source, out, type=qtype)
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors"]
    config = json.loads((out / "config.json").read_text())
    assert config["quantization_config"] == {"quant_method": "xlstm", "format": qtype + "_0", "bits": 8 if qtype == "q8" else 4,
                                             "group_size": 32, "scale_dtype": "float16"}
    src_header, src_data = read_safetensors(source / "model.safetensors", ours=False)
    header, data = read_safetensors(out / "model.safetensors")
    name = "xlstm_block_stack.blocks.0.xlstm.proj_up.weight"   # F32 [256, 64] in the source
    assert src_header[name]["dtype"] == "F32" and src_header[name]["shape"] == [256, 64]
    assert header[name]["dtype"] == ("I8" if qtype == "q8" else "U8")
    assert header[name]["shape"] == ([256, 64] if qtype == "q8" else [256, 32])
    assert header[name + "_scale"] == {**header[name + "_scale"], "dtype": "F16", "shape": [256, 2]}
    x = array("f", tensor_bytes(src_header, src_data, name))
    q = tensor_bytes(header, data, name)
    scales = array("H", tensor_bytes(header, data, name + "_scale"))
    for r in range(256):
        for c in range(64):
            d = half(scales[r * 2 + c // 32])
            i = c % 32
            if qtype == "q8":
                value = struct.unpack("b", q[r * 64 + c:r * 64 + c + 1])[0]
                bound = abs(d) / 2
            else:
                byte = q[r * 32 + (c // 32) * 16 + i % 16]
                value = (byte & 0x0F if i < 16 else byte >> 4) - 8
                bound = abs(d)
            assert abs(d * value - x[r * 64 + c]) <= bound * 1.0001 + 1e-30
    # A tensor that is not a matrix is copied byte for byte.
    norm = "xlstm_block_stack.blocks.0.xlstm_norm.weight"
    assert header[norm]["dtype"] == src_header[norm]["dtype"]
    assert tensor_bytes(header, data, norm) == tensor_bytes(src_header, src_data, norm)


def test_progress_and_keep(tmp_path):
    calls = []
    libxlstm.quantize(str(FIXTURES / "large_basic" / "model"), str(tmp_path / "out"), type="q4",
                      keep=["embedding", "lm_head"], progress=lambda done, total: calls.append((done, total)))
    assert len(calls) >= 3 and calls[0][0] == 0 and calls[-1][0] == calls[-1][1] > 0
    assert all(a[0] <= b[0] and a[1] == b[1] for a, b in zip(calls, calls[1:]))
    header, _ = read_safetensors(tmp_path / "out" / "model.safetensors")
    assert header["lm_head.weight"]["dtype"] == "F32" and "lm_head.weight_scale" not in header
    assert header["backbone.embeddings.weight"]["dtype"] == "F32"
    assert header["backbone.blocks.0.mlstm_layer.q.weight"]["dtype"] == "U8"


def test_cancel_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(libxlstm.CancelledError) as raised:
        libxlstm.quantize(FIXTURES / "paper_mixed" / "model", out, progress=lambda done, total: done < total // 2)
    assert raised.value.status is libxlstm.Status.CANCELLED
    assert os.listdir(tmp_path) == []

    class Stop(Exception):
        pass

    def explode(done, total):
        if done:
            raise Stop("from the callback")

    with pytest.raises(Stop):
        libxlstm.quantize(FIXTURES / "paper_mixed" / "model", out, progress=explode)
    assert os.listdir(tmp_path) == []


def test_errors(tmp_path):
    model = FIXTURES / "paper_mixed" / "model"
    with pytest.raises(libxlstm.InvalidArgumentError):
        libxlstm.quantize(model, tmp_path / "x", type="q5")
    with pytest.raises(libxlstm.InvalidArgumentError):
        libxlstm.quantize(model, tmp_path / "x", keep=["norms"])
    with pytest.raises(libxlstm.FileError):
        libxlstm.quantize(tmp_path / "missing", tmp_path / "x")
    libxlstm.quantize(model, tmp_path / "q")
    with pytest.raises(libxlstm.InvalidArgumentError, match="already quantized"):
        libxlstm.quantize(tmp_path / "q", tmp_path / "x")
    with pytest.raises(libxlstm.InvalidArgumentError, match="already exists"):
        libxlstm.quantize(model, tmp_path / "q", type="q4")
    libxlstm.quantize(model, tmp_path / "q", type="q4", overwrite=True)
    assert json.loads((tmp_path / "q" / "config.json").read_text())["quantization_config"]["format"] == "q4_0"
    assert sorted(os.listdir(tmp_path)) == ["q"]
