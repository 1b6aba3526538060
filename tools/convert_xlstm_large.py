#!/usr/bin/env python3
"""Convert an official `xlstm_large` checkpoint directory into the Hugging Face transformers layout.

    tools/convert_xlstm_large.py SRC_DIR DST_DIR [--dtype keep|float32|bfloat16|float16]
                                 [--max-shard-size 5GB] [--keep-kernels]
    tools/convert_xlstm_large.py --self-test [--keep-temp]

Input (what `xlstm.xlstm_large.from_pretrained.load_from_pretrained` reads, xlstm 2.0.6):
  SRC_DIR/config.yaml            every key is a field of `xlstm.xlstm_large.model.xLSTMLargeConfig`
                                 (the loader does `xLSTMLargeConfig(**yaml.safe_load(...))`, so an unknown
                                 key is an error there too)
  SRC_DIR/model.safetensors      or, only if that file is absent, model_0.safetensors, model_1.safetensors,
                                 ... (contiguous from 0; the loader stops at the first missing number and
                                 merges the files with dict.update, so a later file wins on a duplicate key)
  keys: exactly `xLSTMLarge(weight_mode="single").state_dict()` (the loader forces weight_mode="single",
  ignoring config.yaml, and calls a strict load_state_dict; there is no key renaming):
      embedding.weight                                  [vocab, E]
      backbone.blocks.{i}.norm_mlstm.weight             [E]
      backbone.blocks.{i}.mlstm_layer.{q,k}.weight      [qk, E]   qk = int(E * qk_dim_factor)
      backbone.blocks.{i}.mlstm_layer.{v,ogate_preact}.weight [v, E]   v = int(E * v_dim_factor)
      backbone.blocks.{i}.mlstm_layer.{igate,fgate}_preact.{weight,bias} [NH, E], [NH]
      backbone.blocks.{i}.mlstm_layer.multihead_norm.weight [v]
      backbone.blocks.{i}.mlstm_layer.out_proj.weight   [E, v]
      backbone.blocks.{i}.norm_ffn.weight               [E]
      backbone.blocks.{i}.ffn.{proj_up_gate,proj_up}.weight [F, E]  F = round_up(E * ffn_proj_factor,
      backbone.blocks.{i}.ffn.proj_down.weight          [E, F]          ffn_round_up_to_multiple_of)
      backbone.out_norm.weight                          [E]       (absent when add_out_norm is false)
      lm_head.weight                                    [vocab, E]
  plus a `.bias` next to every norm/projection weight above when use_bias is true.
  Fused-weight checkpoints (`xlstm.xlstm_large.utils.convert_single_weights_to_fused_weights`:
  mlstm_layer.qkv_opreact = cat(q,k,v,ogate_preact), mlstm_layer.ifgate_preact = cat(igate,fgate),
  ffn.proj_up_gate_z = cat(proj_up_gate,proj_up), all along dim 0) are accepted too and split back.

Output (what `transformers.xLSTMForCausalLM.save_pretrained` writes, transformers 5.x):
  DST_DIR/config.json            model_type "xlstm", architectures ["xLSTMForCausalLM"], dtype, HF names
  DST_DIR/generation_config.json GenerationConfig.from_model_config(config)
  DST_DIR/model.safetensors      or model-0000k-of-0000n.safetensors + model.safetensors.index.json
  keys: backbone.embeddings.weight, backbone.blocks.{i}.<same as above>, backbone.out_norm.weight,
  lm_head.weight; always weight_mode "single"; one dtype for every tensor; header metadata {"format": "pt"}.
Tokenizer files found in SRC_DIR (tokenizer.json, tokenizer_config.json, ...) are copied unchanged.

Conversion is streamed: the safetensors files are written by hand tensor by tensor (header first, computed
from the source headers), so at most one source tensor and its converted copy are in memory at a time.
The output is first written to a sibling temporary directory that is renamed to DST_DIR at the end.

The xlstm runtime does not need this converter: it reads SRC_DIR itself (README "Model formats"). Use it to get
a transformers directory, e.g. for `xLSTMForCausalLM.from_pretrained`.

Refused (cannot be represented by transformers' xLSTMForCausalLM; each message says that the runtime loads the
original directly):
  * add_out_norm: false -- transformers' xLSTMModel always creates and applies out_norm (an RMSNorm, which
    rescales each token by 1/rms(x); no choice of its weight makes it the identity).
  * use_bias: true with a non-zero backbone.out_norm.bias -- transformers' out_norm has no bias (and
    lm_head has none to fold it into). An all-zero bias is dropped, which is exact.
  * int(E*qk_dim_factor) or int(E*v_dim_factor) not a multiple of 64 -- transformers' xLSTMCache sizes the
    recurrent state with round_up(E*factor, 64) while the layer uses int(E*factor).
  * gate_soft_cap / output_logit_soft_cap null, non-float dtypes, missing/unexpected/mis-shaped tensors,
    unknown config.yaml keys, and (with --dtype keep) tensors of mixed dtypes.
Warned about: norm_reduction_force_float32: false (transformers' out_norm always reduces in float32; the
blocks honour the flag; identical when computing in float32).

Config mapping: every xLSTMLargeConfig field is copied under the same name, plus hidden_size = embedding_dim
and num_hidden_layers = num_blocks; except mode -> "inference" and return_last_states -> true (what the
official loader's default backend_mode="inference" and transformers' generation need), weight_mode ->
"single", and the three kernel names -> transformers' portable native defaults (chunkwise--native_autograd,
native_sequence__native, native) unless --keep-kernels is given. The kernel names only select an
implementation of the same recurrence; transformers' strict config rejects any name outside its Literal
(which, without the xlstm package installed, is the native kernels only). Token ids and
max_inference_chunksize take transformers' defaults (bos 0, eos 2, pad 1 -- those of the GPT-NeoX tokenizer
the official 7B uses).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import struct
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

REQUIRED = object()

# xlstm.xlstm_large.model.xLSTMLargeConfig (xlstm 2.0.6): field -> default. Checked by --self-test.
XLSTM_LARGE_FIELDS = OrderedDict(
    [
        ("embedding_dim", REQUIRED),
        ("num_heads", REQUIRED),
        ("num_blocks", REQUIRED),
        ("vocab_size", REQUIRED),
        ("use_bias", False),
        ("norm_eps", 1e-6),
        ("norm_reduction_force_float32", True),
        ("add_out_norm", True),
        ("qk_dim_factor", 0.5),
        ("v_dim_factor", 1.0),
        ("chunkwise_kernel", "chunkwise--triton_limit_chunk"),
        ("sequence_kernel", "native_sequence__triton"),
        ("step_kernel", "triton"),
        ("mode", "train"),
        ("chunk_size", 64),
        ("return_last_states", False),
        ("autocast_kernel_dtype", "bfloat16"),
        ("eps", 1e-6),
        ("inference_state_dtype", "float32"),
        ("ffn_proj_factor", 2.6667),
        ("ffn_round_up_to_multiple_of", 64),
        ("gate_soft_cap", 15.0),
        ("output_logit_soft_cap", 30.0),
        ("weight_mode", "single"),
    ]
)
INT_FIELDS = {"embedding_dim", "num_heads", "num_blocks", "vocab_size", "chunk_size", "ffn_round_up_to_multiple_of"}
FLOAT_FIELDS = {"norm_eps", "qk_dim_factor", "v_dim_factor", "eps", "ffn_proj_factor", "gate_soft_cap",
                "output_logit_soft_cap"}
BOOL_FIELDS = {"use_bias", "norm_reduction_force_float32", "add_out_norm", "return_last_states"}
STATE_DTYPES = ("float32", "bfloat16", "float16")
HF_NATIVE_KERNELS = {
    "chunkwise_kernel": "chunkwise--native_autograd",
    "sequence_kernel": "native_sequence__native",
    "step_kernel": "native",
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                   "merges.txt", "tokenizer.model", "added_tokens.json")

ST_DTYPES = {"F64": "float64", "F32": "float32", "BF16": "bfloat16", "F16": "float16"}
ST_NAME = {v: k for k, v in ST_DTYPES.items()}
ITEMSIZE = {"float64": 8, "float32": 4, "bfloat16": 2, "float16": 2}


# Appended to every refusal that exists only because of transformers' layout.
RUNTIME_LOADS_ORIGINAL = (
    ". This is a limit of the transformers layout only: the xlstm runtime (xlstm_model_load, xlstm-cli, the "
    "Python binding) loads the original checkpoint directory (config.yaml + model*.safetensors) directly, "
    "with every dimension, bias and cap setting the official code supports -- no conversion is needed")


class ConversionError(Exception):
    """The source cannot be converted faithfully; the message says why."""


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


def round_up(x: float, multiple: int) -> int:
    # xlstm.xlstm_large.utils.round_up_to_next_multiple_of (also used by transformers)
    return int(((x + multiple - 1) // multiple) * multiple)


# --------------------------------------------------------------------------------------------- config


def read_large_config(src: Path) -> dict:
    import yaml

    path = src / "config.yaml"
    if not path.is_file():
        raise ConversionError(f"{path} not found (an xlstm_large checkpoint has config.yaml + model*.safetensors)")
    with path.open(encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    if not isinstance(raw, dict):
        raise ConversionError(f"{path}: expected a mapping of xLSTMLargeConfig fields")
    unknown = sorted(set(raw) - set(XLSTM_LARGE_FIELDS))
    if unknown:
        raise ConversionError(f"{path}: unknown xLSTMLargeConfig field(s) {unknown} "
                              "(the official loader would fail on them too)")
    cfg = {}
    for name, default in XLSTM_LARGE_FIELDS.items():
        if name in raw:
            value = raw[name]
        elif default is REQUIRED:
            raise ConversionError(f"{path}: required field {name!r} is missing")
        else:
            value = default
        if name in BOOL_FIELDS:
            if not isinstance(value, bool):
                raise ConversionError(f"{path}: {name} must be true or false, got {value!r}")
        elif name in INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
                raise ConversionError(f"{path}: {name} must be an integer, got {value!r}")
            value = int(value)
        elif name in FLOAT_FIELDS:
            if value is None and name in ("gate_soft_cap", "output_logit_soft_cap"):
                raise ConversionError(
                    f"{path}: {name} is null (no soft cap); transformers' xLSTMConfig requires a float and always "
                    "applies cap*tanh(x/cap), so an uncapped model cannot be represented exactly" + RUNTIME_LOADS_ORIGINAL)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConversionError(f"{path}: {name} must be a finite number, got {value!r}")
            value = float(value)
        cfg[name] = value
    for name in ("embedding_dim", "num_heads", "num_blocks", "vocab_size", "chunk_size",
                 "ffn_round_up_to_multiple_of"):
        if cfg[name] < 1:
            raise ConversionError(f"{path}: {name} must be >= 1, got {cfg[name]}")
    for name in ("autocast_kernel_dtype", "inference_state_dtype"):
        if cfg[name] not in STATE_DTYPES:
            raise ConversionError(f"{path}: {name} must be one of {STATE_DTYPES}, got {cfg[name]!r}")
    if cfg["weight_mode"] not in ("single", "fused"):
        raise ConversionError(f"{path}: weight_mode must be 'single' or 'fused', got {cfg['weight_mode']!r}")
    return cfg


def model_dims(cfg: dict) -> dict:
    E, NH = cfg["embedding_dim"], cfg["num_heads"]
    qk = int(E * cfg["qk_dim_factor"])  # xlstm_large mLSTMLayer
    v = int(E * cfg["v_dim_factor"])
    ffn = round_up(E * cfg["ffn_proj_factor"], cfg["ffn_round_up_to_multiple_of"])
    if qk < 1 or v < 1 or qk % NH or v % NH:
        raise ConversionError(f"num_heads={NH} must divide the q/k dimension {qk} and the v dimension {v} "
                              "(the official model cannot run this configuration either)")
    if ffn < 1:
        raise ConversionError("ffn_proj_factor gives an empty feed-forward layer")
    for name, dim, factor in (("qk", qk, cfg["qk_dim_factor"]), ("v", v, cfg["v_dim_factor"])):
        cache_dim = round_up(E * factor, 64)  # transformers xLSTMConfig.qk_dim / v_dim -> xLSTMCache shapes
        if cache_dim != dim:
            raise ConversionError(
                f"the {name} dimension int(embedding_dim*{name}_dim_factor) = {dim} is not a multiple of 64: "
                f"transformers' xLSTMCache would allocate the recurrent state with round_up(.., 64) = {cache_dim} "
                f"while the layer computes with {dim}, so the converted model could not run with a cache"
                + RUNTIME_LOADS_ORIGINAL)
    return {"E": E, "NH": NH, "V": cfg["vocab_size"], "NB": cfg["num_blocks"], "qk": qk, "v": v, "ffn": ffn}


def hf_config_fields(cfg: dict, keep_kernels: bool) -> dict:
    fields = {name: cfg[name] for name in XLSTM_LARGE_FIELDS}
    fields["hidden_size"] = cfg["embedding_dim"]
    fields["num_hidden_layers"] = cfg["num_blocks"]
    fields["mode"] = "inference"
    fields["return_last_states"] = True
    fields["weight_mode"] = "single"
    fields["tie_word_embeddings"] = False
    if not keep_kernels:
        fields.update(HF_NATIVE_KERNELS)
    return fields


# --------------------------------------------------------------------------------------------- weights


class Source:
    """The safetensors files of an xlstm_large checkpoint (key -> file, like the official loader).

    Headers are parsed here and tensors are read with seek+readinto (no mmap), so reading a 14 GB checkpoint
    keeps only the tensor being converted in memory (an mmap would leave every page read resident)."""

    def __init__(self, src: Path):
        if sys.byteorder != "little":
            raise ConversionError("safetensors data is little-endian; this converter needs a little-endian host")
        single = src / "model.safetensors"
        if single.is_file():
            files = [single]
            stray = sorted(p.name for p in src.glob("model_*.safetensors"))
            if stray:
                warn(f"{single.name} exists, so {stray} are ignored (as the official loader does)")
        else:
            files, n = [], 0
            while (src / f"model_{n}.safetensors").is_file():
                files.append(src / f"model_{n}.safetensors")
                n += 1
            stray = sorted(p.name for p in src.glob("model_*.safetensors") if p not in files)
            if stray:
                warn(f"{stray} are not part of the contiguous model_0.. sequence and are ignored "
                     "(as the official loader does)")
        if not files:
            raise ConversionError(f"{src}: no model.safetensors or model_0.safetensors")
        self.files = files
        # key -> (file, absolute data offset, dtype name, shape); a later file wins, as with dict.update.
        self.entries: dict[str, tuple[Path, int, str, list[int]]] = {}
        for path in files:
            for key, entry in self._read_header(path).items():
                if key in self.entries:
                    warn(f"{key} is in both {self.entries[key][0].name} and {path.name}; "
                         "the later file wins (as in the official loader)")
                self.entries[key] = entry

    @staticmethod
    def _read_header(path: Path) -> dict:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise ConversionError(f"{path}: truncated safetensors file")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise ConversionError(f"{path}: safetensors header length {n} exceeds the file")
            try:
                header = json.loads(f.read(n))
            except ValueError as e:
                raise ConversionError(f"{path}: bad safetensors header: {e}") from e
        out = {}
        for key, meta in header.items():
            if key == "__metadata__":
                continue
            st, shape, (begin, end) = meta["dtype"], list(meta["shape"]), meta["data_offsets"]
            if st not in ST_DTYPES:
                raise ConversionError(f"{path}: {key}: dtype {st} is not a floating-point type this converter "
                                      "handles")
            dtype = ST_DTYPES[st]
            if end - begin != math.prod(shape) * ITEMSIZE[dtype] or 8 + n + end > size:
                raise ConversionError(f"{path}: {key}: data offsets {[begin, end]} do not fit shape {shape}")
            out[key] = (path, 8 + n + begin, dtype, shape)
        return out

    def keys(self):
        return self.entries.keys()

    def info(self, key: str) -> tuple[str, list[int]]:
        _, _, dtype, shape = self.entries[key]
        return dtype, shape

    def load(self, key: str, rows: tuple[int, int] | None):
        """The tensor, or rows[0]:rows[1] of its first dimension (read from disk into fresh memory)."""
        import torch

        path, offset, dtype, shape = self.entries[key]
        row_bytes = math.prod(shape[1:]) * ITEMSIZE[dtype]
        if rows is not None:
            offset += rows[0] * row_bytes
            shape = [rows[1] - rows[0]] + shape[1:]
        nbytes = math.prod(shape) * ITEMSIZE[dtype]
        buf = torch.empty(nbytes, dtype=torch.uint8)
        if nbytes:
            with path.open("rb") as f:
                f.seek(offset)
                if f.readinto(buf.numpy()) != nbytes:
                    raise ConversionError(f"{path}: {key}: short read")
        return buf.view(getattr(torch, dtype)).reshape(shape)


def plan_tensors(src: Source, cfg: dict, dims: dict) -> "OrderedDict[str, tuple[str, tuple[int, int] | None, list[int]]]":
    """HF key (in xLSTMForCausalLM.state_dict() order) -> (source key, row range or None, shape)."""
    E, NH, V, qk, v, F = dims["E"], dims["NH"], dims["V"], dims["qk"], dims["v"], dims["ffn"]
    bias = cfg["use_bias"]
    keys = set(src.keys())
    plan: OrderedDict = OrderedDict()
    used: set[str] = set()

    def direct(hf_key: str, src_key: str, shape: list[int]):
        plan[hf_key] = (src_key, None, shape)
        used.add(src_key)

    def group(prefix: str, names_shapes: list[tuple[str, list[int]]], fused_name: str, biased: set[str]):
        """Single-weight keys prefix.{name}.{weight,bias}, or their fused form prefix.{fused_name}.{weight,bias}
        (the members concatenated along dim 0, in the order given)."""
        for param in ("weight", "bias"):
            members = [(n, s if param == "weight" else s[:1]) for n, s in names_shapes
                       if param == "weight" or n in biased]
            if not members:
                continue
            singles = [f"{prefix}.{n}.{param}" for n, _ in members]
            fused = f"{prefix}.{fused_name}.{param}"
            if fused in keys and not any(k in keys for k in singles):
                off = 0
                for (_, shape), k in zip(members, singles):
                    plan[k] = (fused, (off, off + shape[0]), shape)
                    off += shape[0]
                used.add(fused)
            else:
                for (_, shape), k in zip(members, singles):
                    direct(k, k, shape)

    gates = {"igate_preact", "fgate_preact"}  # always have a bias
    for i in range(dims["NB"]):
        b = f"backbone.blocks.{i}"
        biased = {"q", "k", "v", "ogate_preact", "proj_up_gate", "proj_up"} if bias else set()
        direct(f"{b}.norm_mlstm.weight", f"{b}.norm_mlstm.weight", [E])
        if bias:
            direct(f"{b}.norm_mlstm.bias", f"{b}.norm_mlstm.bias", [E])
        # Keep transformers' state_dict order: q k v ogate (w, b interleaved per module) then i, f gates.
        start = len(plan)
        group(f"{b}.mlstm_layer", [("q", [qk, E]), ("k", [qk, E]), ("v", [v, E]), ("ogate_preact", [v, E])],
              "qkv_opreact", biased)
        group(f"{b}.mlstm_layer", [("igate_preact", [NH, E]), ("fgate_preact", [NH, E])], "ifgate_preact", gates)
        _reorder_module_params(plan, start)
        direct(f"{b}.mlstm_layer.multihead_norm.weight", f"{b}.mlstm_layer.multihead_norm.weight", [v])
        if bias:
            direct(f"{b}.mlstm_layer.multihead_norm.bias", f"{b}.mlstm_layer.multihead_norm.bias", [v])
        direct(f"{b}.mlstm_layer.out_proj.weight", f"{b}.mlstm_layer.out_proj.weight", [E, v])
        if bias:
            direct(f"{b}.mlstm_layer.out_proj.bias", f"{b}.mlstm_layer.out_proj.bias", [E])
        direct(f"{b}.norm_ffn.weight", f"{b}.norm_ffn.weight", [E])
        if bias:
            direct(f"{b}.norm_ffn.bias", f"{b}.norm_ffn.bias", [E])
        start = len(plan)
        group(f"{b}.ffn", [("proj_up_gate", [F, E]), ("proj_up", [F, E])], "proj_up_gate_z", biased)
        _reorder_module_params(plan, start)
        direct(f"{b}.ffn.proj_down.weight", f"{b}.ffn.proj_down.weight", [E, F])
        if bias:
            direct(f"{b}.ffn.proj_down.bias", f"{b}.ffn.proj_down.bias", [E])

    direct("backbone.out_norm.weight", "backbone.out_norm.weight", [E])
    if bias:
        used.add("backbone.out_norm.bias")  # checked (must be zero) and dropped in check_out_norm_bias
    direct("lm_head.weight", "lm_head.weight", [V, E])
    # The embedding is the one renamed key; it comes first in transformers' state_dict.
    plan["backbone.embeddings.weight"] = ("embedding.weight", None, [V, E])
    plan.move_to_end("backbone.embeddings.weight", last=False)
    used.add("embedding.weight")

    missing = sorted(k for k in used if k not in keys)
    unexpected = sorted(keys - used)
    if missing or unexpected:
        msg = []
        if missing:
            msg.append(f"missing tensors {missing[:8]}{' ...' if len(missing) > 8 else ''}")
        if unexpected:
            msg.append(f"unexpected tensors {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}")
        raise ConversionError("the weights do not match config.yaml: " + "; ".join(msg))
    expected: dict[str, list[int]] = {}
    for src_key, rows, shape in plan.values():
        if rows is None:
            expected[src_key] = shape
        else:  # fused: rows stack up along dim 0
            expected[src_key] = [max(rows[1], expected.get(src_key, [0])[0])] + shape[1:]
    for src_key, shape in expected.items():
        if src.info(src_key)[1] != shape:
            raise ConversionError(f"{src_key}: shape {src.info(src_key)[1]}, config.yaml implies {shape}")
    return plan


def _reorder_module_params(plan: OrderedDict, start: int) -> None:
    """Within plan entries added since `start`, order as nn.Module does: per module, weight then bias."""
    items = list(plan.items())[start:]
    modules: OrderedDict = OrderedDict()
    for k, val in items:
        modules.setdefault(k.rsplit(".", 1)[0], []).append((k, val))
    for k, _ in items:
        del plan[k]
    for entries in modules.values():
        for k, val in sorted(entries, key=lambda kv: kv[0].endswith(".bias")):
            plan[k] = val


def check_out_norm_bias(src: Source, cfg: dict) -> None:
    if not cfg["use_bias"]:
        return
    bias = src.load("backbone.out_norm.bias", None)
    if list(bias.shape) != [cfg["embedding_dim"]]:
        raise ConversionError(f"backbone.out_norm.bias: shape {list(bias.shape)}, expected [{cfg['embedding_dim']}]")
    if bool((bias != 0).any()):
        raise ConversionError(
            "use_bias is true and backbone.out_norm.bias is non-zero (max |b| = "
            f"{float(bias.abs().max()):.3g}): transformers' xLSTMModel.out_norm has no bias and lm_head has none "
            "to fold it into, so this model cannot be represented in transformers' layout" + RUNTIME_LOADS_ORIGINAL)
    warn("use_bias: backbone.out_norm.bias is all zeros and is dropped (transformers' out_norm has no bias)")


# --------------------------------------------------------------------------------------------- writing


def write_safetensors(path: Path, entries: list[tuple[str, list[int]]], out_dtype: str, fetch) -> None:
    """Stream a safetensors file laid out as safetensors.torch.save_file would (one dtype: sorted by name)."""
    import torch

    entries = sorted(entries, key=lambda e: e[0])
    header: dict = {"__metadata__": {"format": "pt"}}
    off = 0
    for name, shape in entries:
        n = math.prod(shape) * ITEMSIZE[out_dtype]
        header[name] = {"dtype": ST_NAME[out_dtype], "shape": shape, "data_offsets": [off, off + n]}
        off += n
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    tdtype = getattr(torch, out_dtype)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape in entries:
            t = fetch(name)
            if list(t.shape) != shape:
                raise ConversionError(f"{name}: got shape {list(t.shape)}, expected {shape}")
            src_dtype = str(t.dtype).split(".")[1]
            out = t.to(tdtype).contiguous()
            if ITEMSIZE[out_dtype] < ITEMSIZE[src_dtype] or (out_dtype, src_dtype) == ("float16", "bfloat16"):
                overflow = torch.isinf(out) & torch.isfinite(t) if bool(torch.isinf(out).any()) else None
                if overflow is not None and bool(overflow.any()):
                    raise ConversionError(f"{name}: {int(overflow.sum())} value(s) overflow {out_dtype}; "
                                          "choose a wider --dtype")
            f.write(out.reshape(-1).view(torch.uint8).numpy().data)
            del t, out
        if f.tell() != 8 + len(blob) + off:
            raise ConversionError(f"{path}: internal error, wrote {f.tell()} bytes, expected {8 + len(blob) + off}")


def convert(src: Path, dst: Path, dtype: str = "keep", max_shard_size: str | int = "5GB",
            keep_kernels: bool = False, quiet: bool = False) -> None:
    from huggingface_hub import split_state_dict_into_shards_factory
    from transformers import GenerationConfig, xLSTMConfig

    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    src, dst = Path(src), Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise ConversionError(f"{dst} exists and is not an empty directory")

    cfg = read_large_config(src)
    if not cfg["add_out_norm"]:
        raise ConversionError(
            "config.yaml has add_out_norm: false, but transformers' xLSTMModel always creates and applies "
            "out_norm (an RMSNorm, which rescales every token by 1/rms(x) -- no weight makes it the identity); "
            "the converted model would compute something different, so it is refused" + RUNTIME_LOADS_ORIGINAL)
    dims = model_dims(cfg)
    if not cfg["norm_reduction_force_float32"]:
        warn("norm_reduction_force_float32 is false: transformers' out_norm always reduces in float32 "
             "(the blocks honour the flag); results are identical in float32, may differ in the last bits in "
             "bfloat16/float16")
    if cfg["weight_mode"] != "single":
        log(f"note: config.yaml says weight_mode {cfg['weight_mode']!r}; the official loader ignores it and the "
            "weight keys decide. Output is weight_mode 'single'.")

    source = Source(src)
    plan = plan_tensors(source, cfg, dims)
    check_out_norm_bias(source, cfg)
    src_dtypes = {source.info(k)[0] for k, _, _ in plan.values()}
    if dtype == "keep":
        if len(src_dtypes) != 1:
            raise ConversionError(f"the source mixes dtypes {sorted(src_dtypes)}; transformers' save_pretrained "
                                  "writes one dtype -- choose one with --dtype")
        out_dtype = src_dtypes.pop()
    else:
        out_dtype = dtype

    fields = hf_config_fields(cfg, keep_kernels)
    try:
        hf_config = xLSTMConfig(**fields)
    except Exception as e:  # strict dataclass validation (e.g. a kernel name transformers does not know)
        raise ConversionError(f"transformers' xLSTMConfig rejects the mapped config: {e}") from e
    # What PreTrainedModel.save_pretrained sets before writing the config.
    hf_config.dtype = out_dtype
    hf_config.architectures = ["xLSTMForCausalLM"]

    sizes = OrderedDict((k, math.prod(shape) * ITEMSIZE[out_dtype]) for k, (_, _, shape) in plan.items())
    split = split_state_dict_into_shards_factory(sizes, get_storage_size=lambda n: n,
                                                 filename_pattern="model{suffix}.safetensors",
                                                 max_shard_size=max_shard_size)

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.partial-", dir=dst.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700
    try:
        hf_config.save_pretrained(tmp)
        GenerationConfig.from_model_config(hf_config).save_pretrained(tmp)

        def fetch(hf_key):
            src_key, rows, _ = plan[hf_key]
            return source.load(src_key, rows)

        for n, (fname, keys) in enumerate(split.filename_to_tensors.items(), 1):
            log(f"writing {fname} ({len(keys)} tensors, {sum(sizes[k] for k in keys) / 1e9:.2f} GB) "
                f"[{n}/{len(split.filename_to_tensors)}]")
            write_safetensors(tmp / fname, [(k, plan[k][2]) for k in keys], out_dtype, fetch)
        if split.is_sharded:
            index = {"metadata": {"total_parameters": sum(math.prod(s) for _, _, s in plan.values()),
                                  **split.metadata},
                     "weight_map": split.tensor_to_filename}
            with (tmp / "model.safetensors.index.json").open("w", encoding="utf-8") as f:
                f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
        for name in TOKENIZER_FILES:
            if (src / name).is_file():
                shutil.copy2(src / name, tmp / name)
                log(f"copied {name}")
        if dst.exists():
            dst.rmdir()  # empty, checked above
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"wrote {dst} ({out_dtype}, {len(plan)} tensors, {len(split.filename_to_tensors)} file(s))")


# --------------------------------------------------------------------------------------------- self-test


def self_test(keep_temp: bool = False) -> None:
    """Random official xLSTMLarge -> official layout -> convert -> transformers; compare logits and files."""
    import copy
    import dataclasses
    import subprocess

    import torch
    import yaml
    from safetensors.torch import load_file, save_file
    from transformers import AutoConfig, xLSTMForCausalLM
    from xlstm.xlstm_large.from_pretrained import load_from_pretrained
    from xlstm.xlstm_large.model import xLSTMLarge, xLSTMLargeConfig
    from xlstm.xlstm_large.utils import convert_single_weights_to_fused_weights

    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="convert_xlstm_large_selftest-"))
    print(f"self-test directory: {work}")
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(f"  [{'ok' if ok else 'FAIL'}] {what}")
        if not ok:
            failures.append(what)

    def rel(a, b) -> float:
        return float((a.double() - b.double()).abs().max() / b.double().abs().max())

    # 0. Hard-coded field table == the installed xLSTMLargeConfig.
    real = OrderedDict((f.name, REQUIRED if f.default is dataclasses.MISSING else f.default)
                       for f in dataclasses.fields(xLSTMLargeConfig))
    check(real == XLSTM_LARGE_FIELDS, "XLSTM_LARGE_FIELDS matches xlstm.xlstm_large.model.xLSTMLargeConfig")

    def make(name: str, perturb_out_norm_bias: bool = False, **overrides) -> tuple[Path, xLSTMLarge]:
        cfg = xLSTMLargeConfig(
            embedding_dim=128, num_heads=2, num_blocks=2, vocab_size=64, mode="inference",
            chunkwise_kernel="chunkwise--native_autograd", sequence_kernel="native_sequence__native",
            step_kernel="native", autocast_kernel_dtype="float32", return_last_states=True, chunk_size=16,
            **overrides)
        model = xLSTMLarge(cfg).float().eval()
        with torch.no_grad():
            for pname, p in model.named_parameters():
                p.add_(0.2 * torch.randn_like(p))
                if pname == "backbone.out_norm.bias" and not perturb_out_norm_bias:
                    p.zero_()
        d = work / name
        d.mkdir()
        with (d / "config.yaml").open("w", encoding="utf-8") as f:
            yaml.safe_dump(dataclasses.asdict(cfg), f)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(d / "model.safetensors"))
        return d, model

    def compare_logits(official: xLSTMLarge, hf_dir: Path, label: str, tol: float = 1e-6) -> None:
        hf = xLSTMForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
        x = torch.randint(0, official.config.vocab_size, (2, 53))
        with torch.no_grad():
            ref, _ = official(x)
            got = hf(x).logits
            r = rel(got, ref)
            check(r < tol, f"{label}: whole-sequence logits (B=2, S=53, chunk 16) rel err {r:.2e}")
            state, cache, ref_steps, got_steps = None, None, [], []
            for t in range(x.shape[1]):
                lo, state = official(x[:, t:t + 1], state)
                out = hf(x[:, t:t + 1], cache=cache, use_cache=True)
                cache = out.cache
                ref_steps.append(lo)
                got_steps.append(out.logits)
            ref_steps, got_steps = torch.cat(ref_steps, 1), torch.cat(got_steps, 1)
            r = rel(got_steps, ref_steps)
            check(r < tol, f"{label}: token-by-token logits with state/cache rel err {r:.2e}")
            r = rel(got_steps, ref)
            check(r < 1e-4, f"{label}: token-by-token vs whole-sequence (kernel paths) rel err {r:.2e}")
            # prefill 30 tokens, then continue with the cache
            out = hf(x[:, :30], use_cache=True)
            cont = [hf(x[:, t:t + 1], cache=out.cache, use_cache=True).logits for t in range(30, 53)]
            r = rel(torch.cat([out.logits] + cont, 1), ref)
            check(r < 1e-4, f"{label}: HF prefill(30)+steps vs official whole sequence rel err {r:.2e}")
        return hf, {"x": x, "whole": ref, "steps": ref_steps}

    def same_files(a: Path, b: Path, label: str) -> None:
        fa, fb = sorted(p.name for p in a.iterdir()), sorted(p.name for p in b.iterdir())
        check(fa == fb, f"{label}: file names equal save_pretrained's {fb}")
        for name in sorted(set(fa) & set(fb)):
            check((a / name).read_bytes() == (b / name).read_bytes(), f"{label}: {name} byte-identical")

    # 1. float32, single file, keep dtype.
    print("case 1: official float32 single-file checkpoint -> keep dtype")
    src, official = make("official_f32")
    loaded = load_from_pretrained(src, chunkwise_kernel_name="chunkwise--native_autograd",
                                  sequence_kernel_name="native_sequence__native", step_kernel_name="native",
                                  return_last_states=True)
    check(all(torch.equal(loaded.state_dict()[k], v) for k, v in official.state_dict().items()),
          "official load_from_pretrained reads the written source layout back exactly")
    dst = work / "hf_f32"
    convert(src, dst, quiet=True)
    hf, ref_logits = compare_logits(official, dst, "f32")
    # transformers' own xLSTM implementation (used when the xlstm package is not installed).
    with torch.no_grad():
        ref_logits["whole_f64"] = copy.deepcopy(official).double()(ref_logits["x"])[0]
    torch.save(ref_logits, work / "ref_logits.pt")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--_hf-native-check", str(dst),
                           str(work / "ref_logits.pt")], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        print(line)
    check(proc.returncode == 0, "f32: transformers without the xlstm package matches too"
          + ("" if proc.returncode == 0 else f" (stderr: {proc.stderr.strip()[-800:]})"))
    ref_dir = work / "hf_f32_save_pretrained"
    hf.save_pretrained(ref_dir)
    same_files(dst, ref_dir, "f32")

    # 2. sharded (model_0/1) fused source -> bfloat16 sharded output.
    print("case 2: official sharded, fused-weight source -> --dtype bfloat16, 100KB shards")
    src2 = work / "official_sharded_fused"
    src2.mkdir()
    shutil.copy(src / "config.yaml", src2 / "config.yaml")
    sd = convert_single_weights_to_fused_weights({k: v.clone() for k, v in official.state_dict().items()})
    check(any("qkv_opreact" in k for k in sd), "source really has fused keys (qkv_opreact, ifgate_preact, "
                                               "proj_up_gate_z)")
    keys = list(sd)
    save_file({k: sd[k].contiguous() for k in keys[: len(keys) // 2]}, str(src2 / "model_0.safetensors"))
    save_file({k: sd[k].contiguous() for k in keys[len(keys) // 2:]}, str(src2 / "model_1.safetensors"))
    dst2 = work / "hf_bf16_sharded"
    convert(src2, dst2, dtype="bfloat16", max_shard_size="100KB", quiet=True)
    hf_bf16 = xLSTMForCausalLM.from_pretrained(dst2, dtype=torch.bfloat16)
    expect = {("backbone.embeddings.weight" if k == "embedding.weight" else k): v.to(torch.bfloat16)
              for k, v in official.state_dict().items()}
    got = hf_bf16.state_dict()
    check(sorted(got) == sorted(expect) and all(torch.equal(got[k], expect[k]) for k in expect),
          "bf16 sharded output == official weights cast to bf16 (fused split back exactly)")
    # save_pretrained shards in state_dict (module) order for a model built in memory, but in dot-natural
    # sorted key order for a model that came from from_pretrained (revert_weight_conversion sorts); the
    # converter follows the former, i.e. what "build xLSTMForCausalLM, load weights, save_pretrained" writes.
    fresh = xLSTMForCausalLM(AutoConfig.from_pretrained(dst2))
    fresh.load_state_dict(hf_bf16.state_dict())
    ref_dir2 = work / "hf_bf16_save_pretrained"
    fresh.to(torch.bfloat16).save_pretrained(ref_dir2, max_shard_size="100KB")
    same_files(dst2, ref_dir2, "bf16 sharded (vs in-memory model's save_pretrained)")
    rounded = copy.deepcopy(official)
    with torch.no_grad():
        for prm in rounded.parameters():
            prm.copy_(prm.to(torch.bfloat16).float())
    compare_logits(rounded, dst2, "bf16 output read as float32 vs official with bf16-rounded weights")

    # 3. use_bias with a zero out_norm bias: representable (bias dropped), blocks keep their biases.
    print("case 3: use_bias=True, out_norm.bias all zero")
    src3, official3 = make("official_bias", use_bias=True)
    dst3 = work / "hf_bias"
    convert(src3, dst3, quiet=True)
    compare_logits(official3, dst3, "use_bias")

    # 4. refusals.
    print("case 4: refusals")

    def refused(label: str, src_dir: Path, expect_text: str, **kw) -> None:
        out = work / f"refused_{label}"
        try:
            convert(src_dir, out, quiet=True, **kw)
        except ConversionError as e:
            check(expect_text in str(e) and not out.exists(), f"refuses {label}: {e}")
            return
        check(False, f"refuses {label} (it converted instead)")

    src4, _ = make("official_no_out_norm", add_out_norm=False)
    refused("add_out_norm_false", src4, "add_out_norm: false")
    src5, _ = make("official_bias_nonzero", perturb_out_norm_bias=True, use_bias=True)
    refused("nonzero_out_norm_bias", src5, "out_norm.bias is non-zero")
    src6, _ = make("official_qk32", qk_dim_factor=0.25)
    refused("qk_dim_not_multiple_of_64", src6, "not a multiple of 64")
    src7 = work / "official_extra_key"
    shutil.copytree(src, src7)
    sd7 = load_file(str(src7 / "model.safetensors"))
    sd7["backbone.blocks.0.extra.weight"] = torch.zeros(3)
    del sd7["backbone.blocks.1.ffn.proj_up.weight"]
    save_file(sd7, str(src7 / "model.safetensors"))
    refused("missing_and_unexpected_keys", src7, "missing tensors")
    src8 = work / "official_mixed_dtype"
    shutil.copytree(src, src8)
    sd8 = load_file(str(src8 / "model.safetensors"))
    sd8["lm_head.weight"] = sd8["lm_head.weight"].to(torch.bfloat16)
    save_file(sd8, str(src8 / "model.safetensors"))
    refused("mixed_dtypes_with_keep", src8, "mixes dtypes")
    src9 = work / "official_unknown_field"
    shutil.copytree(src, src9)
    with (src9 / "config.yaml").open("a", encoding="utf-8") as f:
        f.write("bogus_field: 1\n")
    refused("unknown_config_field", src9, "unknown xLSTMLargeConfig field")
    src10 = work / "official_bf16_big_values"
    shutil.copytree(src, src10)
    sd10 = load_file(str(src10 / "model.safetensors"))
    sd10["lm_head.weight"][0, 0] = 1e6
    save_file(sd10, str(src10 / "model.safetensors"))
    refused("float16_overflow", src10, "overflow float16", dtype="float16")

    if keep_temp:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"SELF-TEST FAILED ({len(failures)} check(s))")
        sys.exit(1)
    print("SELF-TEST PASSED")


def _hf_native_check(hf_dir: str, ref_path: str) -> int:
    """Run in a fresh process: hide the xlstm package from transformers, compare with saved official logits.

    transformers' own chunkwise kernel orders its float32 operations differently from mlstm_kernels', so the
    float32 whole-sequence logits agree to float32 rounding (a few 1e-6), not bit for bit; in float64 both
    agree to the float32 rounding of the logits (transformers casts logits to float32), which shows the
    difference is rounding only."""
    import transformers.utils
    import transformers.utils.import_utils

    transformers.utils.is_xlstm_available = lambda: False
    transformers.utils.import_utils.is_xlstm_available = lambda: False
    import torch
    from transformers.models.xlstm import modeling_xlstm

    assert not modeling_xlstm.external_xlstm, "transformers still uses the xlstm package"
    ref = torch.load(ref_path)
    hf = modeling_xlstm.xLSTMForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
    x, ok = ref["x"], True

    def rel(a, b):
        return float((a.double() - b.double()).abs().max() / b.double().abs().max())

    with torch.no_grad():
        r1 = rel(hf(x).logits, ref["whole"])
        cache, steps = None, []
        for t in range(x.shape[1]):
            out = hf(x[:, t:t + 1], cache=cache, use_cache=True)
            cache = out.cache
            steps.append(out.logits)
        r2 = rel(torch.cat(steps, 1), ref["steps"])
        r3 = rel(hf.double()(x).logits, ref["whole_f64"])
    for what, r, tol in (("float32 whole-sequence", r1, 1e-5), ("float32 token-by-token", r2, 1e-6),
                         ("float64 whole-sequence (vs official in float64)", r3, 1e-6)):
        print(f"  [{'ok' if r < tol else 'FAIL'}] transformers' own xLSTM (external_xlstm=False): "
              f"{what} logits rel err {r:.2e}")
        ok &= r < tol
    return 0 if ok else 1


# --------------------------------------------------------------------------------------------- CLI


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring for the layouts and the refusal rules.")
    p.add_argument("src", nargs="?", type=Path, help="xlstm_large checkpoint directory (config.yaml + safetensors)")
    p.add_argument("dst", nargs="?", type=Path, help="output directory (must not exist or be empty)")
    p.add_argument("--dtype", choices=("keep", "float32", "bfloat16", "float16"), default="keep",
                   help="output dtype (default: keep the source dtype)")
    p.add_argument("--max-shard-size", default="5GB",
                   help="shard the weights above this size, e.g. 5GB, 500MB (default 5GB; "
                        "transformers' save_pretrained default is 50GB)")
    p.add_argument("--keep-kernels", action="store_true",
                   help="copy chunkwise/sequence/step kernel names from config.yaml instead of the native ones")
    p.add_argument("--self-test", action="store_true", help="run the built-in verification and exit")
    p.add_argument("--keep-temp", action="store_true", help="with --self-test: keep the temporary directory")
    p.add_argument("--_hf-native-check", nargs=2, metavar=("HF_DIR", "REF"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._hf_native_check:
        return _hf_native_check(*args._hf_native_check)
    if args.self_test:
        self_test(keep_temp=args.keep_temp)
        return 0
    if args.src is None or args.dst is None:
        p.error("SRC_DIR and DST_DIR are required (or --self-test)")
    max_shard = args.max_shard_size
    if max_shard.isdigit():
        max_shard = int(max_shard)
    try:
        convert(args.src, args.dst, dtype=args.dtype, max_shard_size=max_shard, keep_kernels=args.keep_kernels)
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
