#!/usr/bin/env python3
"""Write a random-weight checkpoint with the shape of xLSTM-7B, in the transformers layout the runtime reads.

The output is what ``xLSTMForCausalLM.save_pretrained`` writes for NX-AI/xLSTM-7b: ``config.json`` (the
xLSTM-7B hyperparameters = transformers' ``xLSTMConfig`` defaults: embedding_dim 4096, 8 heads, 32 blocks,
vocab 50304, qk_dim_factor 0.5, v_dim_factor 1.0, ffn_proj_factor 2.667 rounded up to a multiple of 64
(-> 10944), gate_soft_cap 15, output_logit_soft_cap 30, weight_mode "single", no biases, untied lm_head),
``generation_config.json``, and the weights (6.87 G parameters; 13.7 GB in bf16) sharded like the published
checkpoint -- ``model-0000k-of-0000n.safetensors`` (at most ``--max-shard-size`` each, 5 GB by default, split
greedily in state-dict order like ``huggingface_hub``) plus ``model.safetensors.index.json``.

It needs only numpy and streams: every tensor is written directly into its shard, in slices of a small
precomputed pool of normal variates, so memory stays at a few tens of MB whatever the size, and the speed is
that of the disk. Values (the same for every run with the same ``--seed``):

* matrices: N(0, std²) with std = ``--std`` (0.02); the residual-branch outputs (``out_proj``,
  ``ffn.proj_down``) use std / sqrt(2 * blocks), GPT-2 style, so the residual stream stays O(1) over 32 blocks.
  Each tensor is a window of a periodic sequence (period 1048573, a prime, so no two rows of a matrix are
  equal) starting at a random offset;
* norm weights 1 + N(0, 0.02²); input-gate biases per head spread over [-4, 0], forget-gate biases over
  [3, 6] (the official forget-gate init range), plus N(0, 0.1²).

Usage::

    python tools/make_random_7b.py OUT_DIR [--dtype bf16] [--blocks 32] [--max-shard-size 5GB] [--seed 0]
        [--verify] [--force]

``--blocks 2`` gives a 0.8 G-parameter (1.6 GB bf16) variant for quick tests. ``--verify`` runs
``xlstm-cli info`` and a short ``xlstm-cli eval`` (step mode) on the result and checks the logits are finite.
If transformers is importable, the tensor names and shapes are first checked against an
``xLSTMForCausalLM`` built on the meta device from the same config (no memory used).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parent

POOL_PERIOD = 1_048_573  # prime: windows of it never repeat a row of a matrix

# transformers 5.24 xLSTMConfig defaults (= NX-AI/xLSTM-7b), in the key order save_pretrained writes.
XLSTM_7B_CONFIG = {
    "add_out_norm": True,
    "architectures": ["xLSTMForCausalLM"],
    "autocast_kernel_dtype": "bfloat16",
    "bos_token_id": 0,
    "chunk_size": 64,
    "chunkwise_kernel": "chunkwise--native_autograd",
    "dtype": "bfloat16",
    "embedding_dim": 4096,
    "eos_token_id": 2,
    "eps": 1e-06,
    "ffn_proj_factor": 2.667,
    "ffn_round_up_to_multiple_of": 64,
    "gate_soft_cap": 15.0,
    "hidden_size": 4096,
    "inference_state_dtype": "float32",
    "max_inference_chunksize": 16384,
    "mode": "inference",
    "model_type": "xlstm",
    "norm_eps": 1e-06,
    "norm_reduction_force_float32": True,
    "num_blocks": 32,
    "num_heads": 8,
    "num_hidden_layers": 32,
    "output_logit_soft_cap": 30.0,
    "pad_token_id": 1,
    "qk_dim_factor": 0.5,
    "return_last_states": True,
    "sequence_kernel": "native_sequence__native",
    "step_kernel": "native",
    "tie_word_embeddings": False,
    "transformers_version": "5.24.0",
    "use_bias": False,
    "use_cache": True,
    "v_dim_factor": 1.0,
    "vocab_size": 50304,
    "weight_mode": "single",
}

GENERATION_CONFIG = {
    "_from_model_config": True,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "output_attentions": False,
    "output_hidden_states": False,
    "pad_token_id": 1,
    "transformers_version": "5.24.0",
    "use_cache": True,
}

DTYPES = {  # name -> (safetensors dtype, bytes per element)
    "bf16": ("BF16", 2),
    "f16": ("F16", 2),
    "f32": ("F32", 4),
}
DTYPE_ALIASES = {"bfloat16": "bf16", "float16": "f16", "float32": "f32"}


def round_up(x: float, multiple: int) -> int:
    """xlstm_large's round_up_to_next_multiple_of (also for float x)."""
    return int(((x + multiple - 1) // multiple) * multiple)


def parse_size(text: str) -> int:
    """'5GB' -> 5 * 10**9 (huggingface_hub's parse_size_to_int: decimal units)."""
    m = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "B": 1}
    t = text.strip().upper()
    for unit in ("KB", "MB", "GB", "TB", "B"):
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * m[unit])
    return int(t)


# ==========================================================================================================
# the tensor list (xLSTMForCausalLM.state_dict() order)
# ==========================================================================================================

def tensor_specs(cfg: dict) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, shape, kind) for every tensor; kind picks the value distribution."""
    d, nh, vocab = cfg["hidden_size"], cfg["num_heads"], cfg["vocab_size"]
    qk = int(d * cfg["qk_dim_factor"])  # the layers use int(hidden * factor), as xlstm_large does
    v = int(d * cfg["v_dim_factor"])
    ffn = round_up(d * cfg["ffn_proj_factor"], cfg["ffn_round_up_to_multiple_of"])
    specs = [("backbone.embeddings.weight", (vocab, d), "matrix")]
    for b in range(cfg["num_blocks"]):
        p = f"backbone.blocks.{b}."
        specs += [
            (p + "norm_mlstm.weight", (d,), "norm"),
            (p + "mlstm_layer.q.weight", (qk, d), "matrix"),
            (p + "mlstm_layer.k.weight", (qk, d), "matrix"),
            (p + "mlstm_layer.v.weight", (v, d), "matrix"),
            (p + "mlstm_layer.ogate_preact.weight", (v, d), "matrix"),
            (p + "mlstm_layer.igate_preact.weight", (nh, d), "matrix"),
            (p + "mlstm_layer.igate_preact.bias", (nh,), "igate_bias"),
            (p + "mlstm_layer.fgate_preact.weight", (nh, d), "matrix"),
            (p + "mlstm_layer.fgate_preact.bias", (nh,), "fgate_bias"),
            (p + "mlstm_layer.multihead_norm.weight", (v,), "norm"),
            (p + "mlstm_layer.out_proj.weight", (d, v), "residual_out"),
            (p + "norm_ffn.weight", (d,), "norm"),
            (p + "ffn.proj_up_gate.weight", (ffn, d), "matrix"),
            (p + "ffn.proj_up.weight", (ffn, d), "matrix"),
            (p + "ffn.proj_down.weight", (d, ffn), "residual_out"),
        ]
    specs += [("backbone.out_norm.weight", (d,), "norm"), ("lm_head.weight", (vocab, d), "matrix")]
    return specs


def check_layout_with_transformers(cfg: dict, specs) -> str:
    """Compare names and shapes with transformers' own model on the meta device; returns a status line."""
    try:
        import warnings

        import torch
        from transformers import xLSTMConfig, xLSTMForCausalLM

        warnings.filterwarnings("ignore")
    except Exception as e:  # noqa: BLE001
        return f"layout check skipped (transformers not importable: {type(e).__name__})"
    keys = {k: v for k, v in cfg.items() if k not in ("architectures", "transformers_version", "dtype")}
    with torch.device("meta"):
        model = xLSTMForCausalLM(xLSTMConfig(**keys))
    want = [(k, tuple(t.shape)) for k, t in model.state_dict().items()]
    have = [(name, shape) for name, shape, _ in specs]
    if want != have:
        diff = sorted(set(want) ^ set(have))[:6]
        raise SystemExit(f"error: tensor layout differs from transformers' xLSTMForCausalLM: {diff}")
    return f"layout = transformers xLSTMForCausalLM ({len(want)} tensors, names, order and shapes)"


# ==========================================================================================================
# values
# ==========================================================================================================

def to_storage(x: np.ndarray, dtype: str) -> np.ndarray:
    """float32 -> storage dtype bits (bf16 by round-to-nearest-even)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if dtype == "f32":
        return x
    if dtype == "f16":
        return x.astype(np.float16)
    u = x.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


class Pools:
    """Per-std doubled windows of one normal sequence: pool[o:o+n] for any o < period is contiguous."""

    def __init__(self, seed: int, dtype: str):
        rng = np.random.default_rng(seed)
        self.base = rng.standard_normal(POOL_PERIOD, dtype=np.float32)
        self.dtype = dtype
        self.cache: dict[float, np.ndarray] = {}

    def get(self, std: float) -> np.ndarray:
        if std not in self.cache:
            one = to_storage(self.base * np.float32(std), self.dtype)
            self.cache[std] = np.concatenate([one, one])
        return self.cache[std]


def write_tensor(fh, shape, kind: str, cfg: dict, std: float, pools: Pools, rng: np.random.Generator,
                 dtype: str) -> None:
    n = math.prod(shape)
    if kind in ("matrix", "residual_out"):
        s = std if kind == "matrix" else std / math.sqrt(2 * cfg["num_blocks"])
        pool = pools.get(s)
        offset = int(rng.integers(0, POOL_PERIOD))
        left = n
        while left:
            take = min(left, POOL_PERIOD)
            fh.write(memoryview(pool[offset:offset + take]))
            offset = (offset + take) % POOL_PERIOD
            left -= take
        return
    if kind == "norm":
        values = 1.0 + 0.02 * rng.standard_normal(n)
    elif kind == "igate_bias":
        values = np.linspace(-4.0, 0.0, n) + 0.1 * rng.standard_normal(n)
    elif kind == "fgate_bias":
        values = np.linspace(3.0, 6.0, n) + 0.1 * rng.standard_normal(n)
    else:
        raise AssertionError(kind)
    fh.write(memoryview(to_storage(values, dtype)))


# ==========================================================================================================
# writing
# ==========================================================================================================

def safetensors_header(entries: list[tuple[str, tuple[int, ...], int]], st_dtype: str) -> bytes:
    """The 8-byte length + JSON header (padded with spaces to a multiple of 8, as safetensors does)."""
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape, nbytes in entries:
        header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def plan_shards(specs, elem_bytes: int, max_shard: int) -> list[list[int]]:
    """Greedy split in state-dict order (huggingface_hub.split_state_dict_into_shards_factory)."""
    shards, current, size = [], [], 0
    for i, (_, shape, _) in enumerate(specs):
        nbytes = math.prod(shape) * elem_bytes
        if nbytes > max_shard:
            shards.append([i])
            continue
        if size + nbytes > max_shard and current:
            shards.append(current)
            current, size = [], 0
        current.append(i)
        size += nbytes
    if current:
        shards.append(current)
    return shards


def write_checkpoint(out: Path, blocks: int, dtype: str, max_shard: int, seed: int, std: float,
                     check_layout: bool, log) -> dict:
    cfg = dict(XLSTM_7B_CONFIG)
    cfg["num_blocks"] = cfg["num_hidden_layers"] = blocks
    cfg["dtype"] = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[dtype]
    specs = tensor_specs(cfg)
    if check_layout:
        log(check_layout_with_transformers(cfg, specs))
    st_dtype, elem = DTYPES[dtype]
    total_params = sum(math.prod(s) for _, s, _ in specs)
    total_bytes = total_params * elem

    out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out).free
    if free < total_bytes + 2 * 10**9:
        raise SystemExit(f"error: {out}: {total_bytes / 1e9:.1f} GB needed (+2 GB margin), "
                         f"{free / 1e9:.1f} GB free")

    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    (out / "generation_config.json").write_text(json.dumps(GENERATION_CONFIG, indent=2) + "\n")

    shards = plan_shards(specs, elem, max_shard)
    n = len(shards)
    names = ["model.safetensors"] if n == 1 else [f"model-{k + 1:05d}-of-{n:05d}.safetensors" for k in range(n)]
    pools = Pools(seed, dtype)
    rng = np.random.default_rng(seed + 1)
    weight_map = {}
    t0 = time.time()
    written = 0
    for fname, idxs in zip(names, shards):
        entries = [(specs[i][0], specs[i][1], math.prod(specs[i][1]) * elem) for i in idxs]
        path = out / fname
        with open(path, "wb", buffering=1 << 22) as fh:
            fh.write(safetensors_header(entries, st_dtype))
            for i in idxs:
                name, shape, kind = specs[i]
                write_tensor(fh, shape, kind, cfg, std, pools, rng, dtype)
                weight_map[name] = fname
                written += math.prod(shape) * elem
        log(f"  {fname}: {len(idxs)} tensors, {path.stat().st_size / 1e9:.2f} GB "
            f"({written / max(time.time() - t0, 1e-9) / 1e6:.0f} MB/s so far)")
    if n > 1:
        index = {"metadata": {"total_parameters": total_params, "total_size": total_bytes},
                 "weight_map": dict(sorted(weight_map.items()))}
        (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return dict(parameters=total_params, bytes=total_bytes, shards=n, seconds=time.time() - t0)


def verify(out: Path, cli: Path, n_tokens: int, vocab: int, log) -> None:
    """`xlstm-cli info` + a short step-mode `xlstm-cli eval`; the logits must be finite."""
    if not cli.exists():
        raise SystemExit(f"error: {cli} not found (make build)")
    t0 = time.time()
    info = subprocess.run([str(cli), "info", str(out)], capture_output=True, text=True)
    if info.returncode != 0:
        raise SystemExit(f"error: xlstm-cli info failed:\n{info.stderr}")
    log(info.stdout.rstrip())
    log(f"  (info: {time.time() - t0:.1f} s)")
    with tempfile.TemporaryDirectory(prefix="make_random_7b-") as tmp:
        tokens = Path(tmp) / "tokens.i32"
        logits = Path(tmp) / "logits.f32"
        np.random.default_rng(0).integers(0, vocab, n_tokens).astype("<i4").tofile(tokens)
        t0 = time.time()
        ev = subprocess.run([str(cli), "eval", str(out), "--tokens", str(tokens), "--logits-out", str(logits),
                             "--mode", "step"], capture_output=True, text=True)
        if ev.returncode != 0:
            raise SystemExit(f"error: xlstm-cli eval failed:\n{ev.stderr}")
        values = np.fromfile(logits, dtype="<f4").reshape(n_tokens, vocab)
    if not np.isfinite(values).all():
        raise SystemExit("error: non-finite logits")
    log(f"  eval --mode step, {n_tokens} tokens: {time.time() - t0:.1f} s (incl. load); logits finite, "
        f"|logit| max {np.abs(values).max():.2f}, std {values.std():.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Write a random-weight xLSTM-7B-shaped checkpoint "
                                             "(transformers layout; see tools/README.md).")
    ap.add_argument("out", help="output directory (created; must be empty unless --force)")
    ap.add_argument("--dtype", default="bf16", help="bf16 (default), f16 or f32")
    ap.add_argument("--blocks", type=int, default=32, help="number of blocks (default 32 as xLSTM-7B)")
    ap.add_argument("--max-shard-size", default="5GB", help="shard size limit (default 5GB; decimal units)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--std", type=float, default=0.02, help="std of the matrix entries (default 0.02)")
    ap.add_argument("--no-layout-check", action="store_true", help="skip the check against transformers")
    ap.add_argument("--verify", action="store_true", help="run xlstm-cli info + a short eval on the result")
    ap.add_argument("--verify-tokens", type=int, default=4)
    ap.add_argument("--cli", default=str(REPO_ROOT / ".build" / "release" / "xlstm-cli"))
    ap.add_argument("--force", action="store_true", help="write into a non-empty directory (replacing files)")
    args = ap.parse_args(argv)
    dtype = DTYPE_ALIASES.get(args.dtype, args.dtype)
    if dtype not in DTYPES:
        ap.error(f"--dtype must be one of {', '.join(DTYPES)}")
    if args.blocks < 1:
        ap.error("--blocks must be >= 1")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        ap.error(f"{out} is not empty (use --force)")
    if out.exists() and args.force:
        for p in out.glob("model*.safetensors*"):
            p.unlink()

    def log(msg: str) -> None:
        print(msg, flush=True)

    res = write_checkpoint(out, args.blocks, dtype, parse_size(args.max_shard_size), args.seed, args.std,
                           not args.no_layout_check, log)
    log(f"{out}: {res['parameters'] / 1e9:.3f} G parameters, {res['bytes'] / 1e9:.2f} GB {dtype} in "
        f"{res['shards']} file(s), {res['seconds']:.1f} s ({res['bytes'] / max(res['seconds'], 1e-9) / 1e6:.0f} MB/s)")
    if args.verify:
        verify(out, Path(args.cli), args.verify_tokens, XLSTM_7B_CONFIG["vocab_size"], log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
