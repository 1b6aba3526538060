#!/usr/bin/env python3
"""Bits per byte of a text file under an exported byte-level paper-family model, computed with the
official implementation (``xlstm.xLSTMLMModel``) in step mode.

    python tools/reference_bpb.py MODEL_DIR TEXT_FILE [--threads N] [--max-bytes N] [--progress]

This is the reference for this project's ``xlstm perplexity`` and computes exactly what it computes:

* the file's bytes ``b_0 … b_{n-1}`` are the token ids (the model's vocabulary is the 256 byte values);
  they are one stream, fed from the initial (empty) state, one byte at a time through the official
  recurrent step (``model.step(idx[:, t:t+1], state)``, ``state=None`` at ``t = 0``);
* after byte ``t`` the logits predict byte ``t + 1``:
  ``bits_per_byte = (1 / (n - 1)) · Σ_{t=0}^{n-2} −log2 softmax(logits_t)[b_{t+1}]``
  (the first byte is not predicted: there are ``n - 1`` predictions).

The model is loaded with ``load_paper_model`` from ``tools/export_paper_model.py``: the weights are the
*stored* ones (e.g. bf16) upcast to float32, sLSTM backend ``vanilla``, eval mode, float32 throughout.
Each step's log-softmax is computed in float32 (as the engine does) and accumulated in float64.

Output (stdout), e.g.::

    bits_per_byte 2.1234
    tokens 49191
    predictions 49190
    total_bits 104450.5
    seconds 123.4

``bits_per_byte`` is printed with 5 significant digits; ``tokens`` is the number of bytes (token ids) in
the file, ``predictions`` = tokens − 1.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

# Must be set before torch starts its OpenMP pool: idle worker threads sleep instead of spinning, which
# makes a 2-core machine shared with other jobs much faster (results do not depend on it).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_paper_model import load_paper_model  # noqa: E402


def stream_bits(model, data: bytes, progress: bool = False) -> tuple[float, int]:
    """Σ −log2 p(b_{t+1} | b_0…b_t) over the stream (float64) and the number of predictions (n − 1)."""
    n = len(data)
    if n < 2:
        raise ValueError(f"need at least 2 bytes, got {n}")
    vocab = model.config.vocab_size
    if vocab < 256:
        raise ValueError(f"byte-level scoring needs vocab_size >= 256, the model has {vocab}")
    ids = torch.tensor(list(data), dtype=torch.long).view(1, n)
    total_nats = 0.0
    state = None
    t0 = time.time()
    with torch.inference_mode():
        for t in range(n - 1):
            logits, state = model.step(ids[:, t:t + 1], state)
            logp = torch.log_softmax(logits[0, -1].float(), dim=-1)
            total_nats -= float(logp[data[t + 1]])
            if progress and (t + 1) % 5000 == 0:
                done = t + 1
                rate = done / (time.time() - t0)
                print(f"  {done}/{n - 1} predictions, {total_nats / math.log(2) / done:.4f} bits/byte so far, "
                      f"{rate:.0f} bytes/s", file=sys.stderr, flush=True)
    return total_nats / math.log(2), n - 1


def reference_bpb(model_dir, text_file, threads: int | None = None, max_bytes: int | None = None,
                  progress: bool = False) -> dict:
    """Load ``model_dir`` with the official code and score ``text_file``; returns a dict of the results."""
    if threads:
        torch.set_num_threads(threads)
    data = Path(text_file).read_bytes()
    if max_bytes is not None:
        data = data[:max_bytes]
    model = load_paper_model(model_dir)  # stored weights upcast to float32, vanilla sLSTM, eval()
    t0 = time.time()
    bits, predictions = stream_bits(model, data, progress=progress)
    return {
        "bits_per_byte": bits / predictions,
        "tokens": len(data),
        "predictions": predictions,
        "total_bits": bits,
        "seconds": time.time() - t0,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", help="model directory written by export_paper_model (config.json + model.safetensors)")
    ap.add_argument("text_file", help="file whose bytes are scored as one stream")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    ap.add_argument("--max-bytes", type=int, default=None, help="score only the first N bytes")
    ap.add_argument("--progress", action="store_true", help="print progress to stderr")
    args = ap.parse_args(argv)
    r = reference_bpb(args.model_dir, args.text_file, threads=args.threads, max_bytes=args.max_bytes,
                      progress=args.progress)
    print(f"bits_per_byte {r['bits_per_byte']:#.5g}")
    print(f"tokens {r['tokens']}")
    print(f"predictions {r['predictions']}")
    print(f"total_bits {r['total_bits']:.1f}")
    print(f"seconds {r['seconds']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
