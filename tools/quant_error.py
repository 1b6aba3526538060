#!/usr/bin/env python3
"""Quantization error of ``xlstm quantize`` on the bundled model, measured with the OFFICIAL implementation.

    /work/ref/venv/bin/python tools/quant_error.py [--cli .build/release/xlstm-cli] [--model DIR] [--text FILE]

For q8 and q4 and for each choice of what is quantized -- all weight matrices (``--keep embedding,lm_head``),
+ the embedding (``--keep lm_head``), + the lm_head (``--keep embedding``), everything (``--keep none``) --
the model is quantized with OUR ``xlstm quantize``, the stored tensors are dequantized with numpy
(tools/quant_numpy.py, an independent implementation of the documented layout), loaded into the official
``xlstm.xLSTMLMModel`` (float32, vanilla sLSTM backend, eval mode) and scored on the validation text.
The q4 / q8 alternatives (q4_1-style scale + min, q4_0 block 16, q8_0 block 64) are numpy prototypes
(``fake_quant``) applied to the same tensors, not formats the tool writes.

Scoring protocol (the training script's validation protocol, README of the bundled model): the text is cut into
windows of 256 bytes (the model's context length), each from the empty state, official parallel forward;
bits/byte = mean over all predictions (255 per window) of -log2 softmax(logits)[next byte]. Δ is against the same
protocol on the unquantized stored (bf16) weights. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
from export_paper_model import _read_config_file, load_external_state_dict, paper_config_from_dict  # noqa: E402
from quant_numpy import BITS_PER_WEIGHT, dequantize_dir, fake_quant, read_model_dir  # noqa: E402

KEEPS = [("all matrices", "embedding,lm_head"), ("+ embedding", "lm_head"), ("+ lm_head", "embedding"),
         ("+ embedding + lm_head", "none")]


def build(config: dict, sd: dict[str, np.ndarray]):
    from xlstm import xLSTMLMModel

    model = xLSTMLMModel(paper_config_from_dict(config, slstm_backend="vanilla"))
    tensors = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in sd.items()}
    load_external_state_dict(model, tensors, internal_backend=None, strict=True)
    return model.eval()


@torch.no_grad()
def windowed_bpb(model, data: bytes, window: int = 256, batch: int = 64) -> float:
    n = len(data) // window
    ids = torch.tensor(list(data[:n * window]), dtype=torch.long).view(n, window)
    total, count = 0.0, 0
    for b in range(0, n, batch):
        x = ids[b:b + batch]
        logits = model(x).float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        nll = -logp.gather(-1, x[:, 1:, None])[..., 0]
        total += float(nll.double().sum())
        count += nll.numel()
    return total / count / math.log(2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=str(REPO / ".build/release/xlstm-cli"))
    ap.add_argument("--model", default=str(REPO / "examples/models/fortunes-xlstm/model"))
    ap.add_argument("--text", default=str(REPO / "examples/models/fortunes-xlstm/valid.txt"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    data = Path(args.text).read_bytes()
    config = _read_config_file(Path(args.model) / "config.json")
    _, source = read_model_dir(args.model)
    source = {k: np.asarray(v, dtype=np.float32) for k, v in source.items()}
    t0 = time.time()
    base = windowed_bpb(build(config, source), data)
    print(f"unquantized (stored bf16 -> f32): {base:.5f} bits/byte, {len(data) // 256} windows of 256 bytes "
          f"({time.time() - t0:.0f} s)", flush=True)
    rows = []
    sets = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("q8", "q4"):
            for label, keep in KEEPS:
                out = Path(tmp) / f"{fmt}-{keep.replace(',', '-')}"
                subprocess.run([args.cli, "quantize", args.model, str(out), "--type", fmt, "--keep", keep],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                _, deq, quantized = dequantize_dir(out)
                sets[keep] = quantized
                bpb = windowed_bpb(build(config, deq), data)
                size = sum(p.stat().st_size for p in out.glob("*.safetensors"))
                rows.append((f"{fmt} (ours, {fmt}_0 block 32)", label, bpb, size))
                print(f"{fmt:3s} {label:24s} {bpb:.5f}  Δ {bpb - base:+.5f}  ({size} bytes)", flush=True)
    for kind in ("q8_0_b64", "q4_1_b32", "q4_0_b16"):
        for label, keep in (KEEPS[0], KEEPS[3]):
            sd = dict(source)
            for name in sets[keep]:
                sd[name] = fake_quant(source[name], kind)
            bpb = windowed_bpb(build(config, sd), data)
            rows.append((f"{kind} (numpy prototype, {BITS_PER_WEIGHT[kind]} bits/weight)", label, bpb, None))
            print(f"{kind} {label:24s} {bpb:.5f}  Δ {bpb - base:+.5f}", flush=True)
    print()
    print(f"| format | quantized | bits/byte | Δ vs unquantized ({base:.4f}) | safetensors bytes |")
    print("| --- | --- | ---: | ---: | ---: |")
    for fmt, label, bpb, size in rows:
        print(f"| {fmt} | {label} | {bpb:.4f} | {bpb - base:+.4f} | {size if size is not None else '—'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
