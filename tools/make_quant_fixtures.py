#!/usr/bin/env python3
"""Reference fixtures for quantized models: Tests/Fixtures/q8_* and q4_*.

    /work/ref/venv/bin/python tools/make_quant_fixtures.py [--cli .build/release/xlstm-cli] [--only NAME ...]

For each entry of QUANT_FIXTURES: an existing fixture model (tools/make_fixtures.py: both families, sLSTM
included, f32 and bf16 sources, single-file and sharded) is quantized with OUR ``xlstm quantize`` into
``Tests/Fixtures/<name>/model``; the stored tensors are dequantized with numpy (tools/quant_numpy.py implements
the documented layout independently of the Swift code), loaded into the OFFICIAL model -- ``xlstm.xLSTMLMModel``
(vanilla sLSTM backend) or ``transformers.xLSTMForCausalLM`` (native mLSTM kernels), CPU, float32, exactly as
make_fixtures.py runs them -- and its logits on the source fixture's tokens are recorded in the same format:
``tokens.i32``, ``logits.f32`` (step mode), ``logits_parallel.f32``, ``meta.json``. These check the engine's
quantized kernels (an engine that dequantizes exactly must match them within the float32 tolerance), apart
from the quantization error, which ``meta.json`` records: ``max_rel_dlogit_vs_unquantized`` =
max |logits - logits of the unquantized fixture| / max |logits of the unquantized fixture| (both official).

They live beside the other fixtures in Tests/Fixtures, so every fixture suite (Swift, CLI, C, Python)
covers them on every kernel path.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
from export_paper_model import _read_config_file, load_external_state_dict, paper_config_from_dict  # noqa: E402
from make_fixtures import (large_parallel_logits, large_step_logits, paper_parallel_logits,  # noqa: E402
                           paper_step_logits, setup_torch)
from quant_numpy import dequantize_dir  # noqa: E402


@dataclass
class QuantFixture:
    name: str
    source: str        # fixture in Tests/Fixtures
    type: str          # q8 | q4
    keep: str          # --keep argument
    note: str


QUANT_FIXTURES = [
    QuantFixture("q8_paper_mixed", "paper_mixed", "q8", "none", "paper m,s,m,s (sLSTM), f32 source, everything quantized"),
    QuantFixture("q4_paper_mixed", "paper_mixed", "q4", "none", "paper m,s,m,s (sLSTM), f32 source, everything quantized"),
    QuantFixture("q8_paper_bf16", "paper_bf16", "q8", "none", "paper, bf16 source, everything quantized"),
    QuantFixture("q4_paper_mlstm_only_tied", "paper_mlstm_only", "q4", "none",
                 "paper mLSTM only, tied embedding/lm_head (one quantized tensor for both)"),
    QuantFixture("q8_large_basic", "large_basic", "q8", "none", "xLSTM-7B family (HF layout), f32 source, everything quantized"),
    QuantFixture("q4_large_basic_keep", "large_basic", "q4", "embedding,lm_head,gates",
                 "xLSTM-7B family, f32 source; embedding, lm_head and the i/f gate projections kept in f32 "
                 "(the fused q|k|v|o|i|f projection mixes q4 and f32 rows)"),
    QuantFixture("q4_large_bf16_sharded", "large_bf16_sharded", "q4", "none",
                 "xLSTM-7B family, bf16 source in 5 shards + index (output sharded alike), everything quantized"),
]


def load_official(config: dict, tensors: dict[str, np.ndarray], family: str, workdir: Path):
    if family == "paper":
        from xlstm import xLSTMLMModel

        model = xLSTMLMModel(paper_config_from_dict(config, slstm_backend="vanilla"))
        sd = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in tensors.items()}
        load_external_state_dict(model, sd, internal_backend=None, strict=True)
        return model.eval()
    from safetensors.numpy import save_file
    from transformers import xLSTMForCausalLM

    d = workdir / "dequantized"
    d.mkdir()
    cfg = {k: v for k, v in config.items() if k != "quantization_config"}
    (d / "config.json").write_text(json.dumps(cfg, indent=2))
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, str(d / "model.safetensors"))
    model = xLSTMForCausalLM.from_pretrained(str(d), dtype=torch.float32).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.data = p.data.clone()   # aligned storage, as make_fixtures.py does
    sd = model.state_dict()
    for k, v in tensors.items():     # every stored tensor reached the official model unchanged
        assert k in sd and np.array_equal(sd[k].numpy(), v), k
    return model


def make(fx: QuantFixture, cli: str) -> dict:
    src = REPO / "Tests" / "Fixtures" / fx.source
    out = REPO / "Tests" / "Fixtures" / fx.name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    subprocess.run([cli, "quantize", str(src / "model"), str(out / "model"), "--type", fx.type, "--keep", fx.keep],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    src_meta = json.loads((src / "meta.json").read_text())
    family = src_meta["family"]
    config, tensors, quantized = dequantize_dir(out / "model")
    if family == "paper":
        config = _read_config_file(src / "model" / "config.json")
    tokens = np.fromfile(src / "tokens.i32", dtype="<i4")
    idx = torch.from_numpy(tokens.astype(np.int64)).view(1, -1)
    with tempfile.TemporaryDirectory() as tmp:
        model = load_official(config, tensors, family, Path(tmp))
        if family == "paper":
            step, par = paper_step_logits(model, idx), paper_parallel_logits(model, idx)
        else:
            step, par = large_step_logits(model, idx), large_parallel_logits(model, idx)
    step, par = step.numpy().astype("<f4"), par.numpy().astype("<f4")
    assert np.isfinite(step).all() and np.isfinite(par).all()
    shutil.copyfile(src / "tokens.i32", out / "tokens.i32")
    step.tofile(out / "logits.f32")
    par.tofile(out / "logits_parallel.f32")
    ref = np.fromfile(src / "logits.f32", dtype="<f4").reshape(step.shape)
    max_abs = float(np.abs(step).max())
    qc = json.loads((out / "model" / "config.json").read_text())["quantization_config"]
    meta = {
        "family": family,
        "n_tokens": int(step.shape[0]),
        "vocab_size": int(step.shape[1]),
        "description": f"{fx.source} quantized by `xlstm quantize --type {fx.type} --keep {fx.keep}`: {fx.note}. "
                       "Logits of the official model on the numpy-dequantized stored tensors.",
        "max_abs_logit": float(f"{max_abs:.9g}"),
        "step_vs_parallel_max_rel": float(f"{float(np.abs(step - par).max()) / max_abs:.6g}"),
        "dtype": qc["format"],
        "n_parameters": int(src_meta["n_parameters"]),
        "source_fixture": fx.source,
        "source_dtype": src_meta["dtype"],
        "quantization_config": qc,
        "quantized_tensors": sorted(quantized),
        "max_rel_dlogit_vs_unquantized": float(f"{float(np.abs(step - ref).max()) / float(np.abs(ref).max()):.4g}"),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=str(REPO / ".build/release/xlstm-cli"))
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args(argv)
    setup_torch()
    print(f"| fixture | source | type | kept | quantized tensors | max rel Δlogit vs unquantized |")
    print("| --- | --- | --- | --- | ---: | ---: |")
    for fx in QUANT_FIXTURES:
        if args.only and fx.name not in args.only:
            continue
        meta = make(fx, args.cli)
        print(f"| {fx.name} | {fx.source} ({meta['source_dtype']}) | {meta['dtype']} | {fx.keep} | "
              f"{len(meta['quantized_tensors'])} | {meta['max_rel_dlogit_vs_unquantized']:.3g} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
