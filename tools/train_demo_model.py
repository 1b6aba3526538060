#!/usr/bin/env python3
"""Train the bundled demo model ``examples/models/fortunes-xlstm``: a tiny byte-level xLSTM (official
``xlstm.xLSTMLMModel``, paper architecture, mLSTM + sLSTM blocks) on Debian's ``fortunes`` files, on the CPU.

    /path/to/venv/bin/python tools/train_demo_model.py                 # the real run (~45 min on 2 cores)
    /path/to/venv/bin/python tools/train_demo_model.py --steps 20 --out /tmp/trial --skip-reference   # timing trial

Needs the reference environment of tools/README.md (torch, xlstm 2.0.6, safetensors, numpy) and the Debian
packages ``fortunes`` and ``fortunes-min`` (``apt-get install fortunes fortunes-min``).

What it does, deterministically (fixed seeds, fixed data order, ``torch.use_deterministic_algorithms``):

1. **Corpus.** Reads the plain-text fortune files that ``dpkg -L fortunes fortunes-min`` lists under
   ``/usr/share/games/fortunes/`` (not the ``.dat`` indexes, not the ``.u8`` symlinks), in file-name order,
   except ``ascii-art`` (pictures, not text). A fortune is the text between lines consisting of ``%``. Fortunes
   that are empty or contain control bytes other than TAB/LF (backspace overstriking, BEL; a few dozen) are
   dropped. Each kept fortune is written back followed by a ``%`` line, i.e. the stream keeps the fortune
   file format (``%\\n`` is the delimiter the model learns). Bytes are kept as they are (mostly ASCII, some UTF-8).
2. **Split.** Fortune number ``i`` (0-based, over all kept fortunes in that order) goes to validation when
   ``i % 50 == 49``, otherwise to training. The validation stream is written to ``OUT/valid.txt`` (committed);
   the training stream is not written (it is re-derived by this script; its SHA-256 is in ``train_meta.json``).
   A second systematic sample of *training* fortunes (``i % 50 == 24``) is used to measure train bits/byte.
3. **Model.** ``xLSTMLMModel``: vocabulary 256 (the byte values, no specials), embedding 192, 6 blocks with
   the sLSTM at block 1 (block map m,s,m,m,m,m), sLSTM backend ``vanilla``, context length 256.
4. **Training.** Random 257-byte windows of the training stream (seeded generator), batch 16, AdamW
   (β = 0.9/0.95, weight decay 0.1 on the weight matrices as the official optimiser groups say), linear warm-up
   then cosine decay to 10 % of the peak learning rate, gradient clipping 1.0, float32, 2 threads.
   The loss curve goes to ``OUT/train_log.tsv``; validation bits/byte is measured every ``--eval-every`` steps
   (chunks of 256 bytes, each from the empty state, parallel mode).
5. **Export.** ``export_paper_model(model, OUT/model, dtype="bfloat16")``; then the exported directory is
   re-loaded (bf16 weights upcast to float32) and used for everything below: step-vs-parallel check, sample
   generations (prompt ``The ``, temperature 0.8 with a fixed seed, and greedy), and the reference bits/byte of
   ``valid.txt`` as one stream in step mode (``tools/reference_bpb.py``).
6. **Report.** ``OUT/train_meta.json`` (every number and setting) and ``OUT/README.md``; the licence text of the
   corpus is copied to ``OUT/COPYRIGHT.fortunes``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

# Must be set before torch starts its OpenMP pool: idle worker threads sleep instead of spinning. On a 2-core
# machine shared with other jobs this is several times faster; it does not change any result.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
from export_paper_model import export_paper_model, load_paper_model  # noqa: E402
import reference_bpb  # noqa: E402

NAME = "fortunes-xlstm"
PACKAGES = ("fortunes", "fortunes-min")
FORTUNE_DIR = "/usr/share/games/fortunes/"
EXCLUDED_FILES = {"ascii-art": "ASCII-art pictures, not prose"}
VALID_MOD, VALID_REM = 50, 49      # fortune i -> validation iff i % 50 == 49
TRAINEVAL_REM = 24                 # training fortunes with i % 50 == 24 measure train bits/byte
ALLOWED_CONTROL = {9, 10}          # TAB, LF
LN2 = math.log(2.0)


# ----------------------------------------------------------------------------------------------------------
# corpus
# ----------------------------------------------------------------------------------------------------------

def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def package_info() -> list[dict]:
    """Name, version, source package of each corpus package (``dpkg -s``)."""
    infos = []
    for pkg in PACKAGES:
        try:
            out = _run(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Source}\t${Status}", pkg])
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            raise SystemExit(f"package {pkg!r} is not installed: apt-get install {' '.join(PACKAGES)} ({exc})")
        name, version, source, status = out.split("\t")
        if "installed" not in status.split():
            raise SystemExit(f"package {pkg!r} is not installed ({status}): apt-get install {' '.join(PACKAGES)}")
        infos.append({"package": name, "version": version, "source": source or name})
    return infos


def corpus_files() -> list[dict]:
    """The plain-text fortune files of the corpus packages, sorted by file name, with package and size."""
    files = {}
    for pkg in PACKAGES:
        for line in _run(["dpkg", "-L", pkg]).splitlines():
            p = Path(line)
            if not line.startswith(FORTUNE_DIR) or p.parent != Path(FORTUNE_DIR):
                continue
            if p.suffix in (".dat", ".u8") or p.is_symlink() or not p.is_file():
                continue
            files[p.name] = {"file": p.name, "path": str(p), "package": pkg}
    out = []
    for name in sorted(files):
        f = files[name]
        data = Path(f["path"]).read_bytes()
        f["bytes"] = len(data)
        f["sha256"] = hashlib.sha256(data).hexdigest()
        f["used"] = name not in EXCLUDED_FILES
        if not f["used"]:
            f["why_excluded"] = EXCLUDED_FILES[name]
        out.append(f)
    if not out:
        raise SystemExit(f"no fortune files found under {FORTUNE_DIR}")
    return out


def parse_fortunes(data: bytes) -> list[bytes]:
    """Split a fortune file at lines that are exactly ``%``; each fortune keeps its line ends."""
    fortunes, cur = [], []
    for line in data.splitlines(keepends=True):
        if line.rstrip(b"\r\n") == b"%":
            fortunes.append(b"".join(cur))
            cur = []
        else:
            cur.append(line)
    fortunes.append(b"".join(cur))  # text after the last separator (usually empty)
    return fortunes


def build_corpus(files: list[dict]) -> dict:
    kept, dropped_empty, dropped_control = [], 0, 0
    for f in files:
        if not f["used"]:
            continue
        n_file = 0
        for fortune in parse_fortunes(Path(f["path"]).read_bytes()):
            if not fortune.strip():
                dropped_empty += 1
                continue
            if any(b < 32 and b not in ALLOWED_CONTROL for b in fortune) or 127 in fortune:
                dropped_control += 1
                continue
            if not fortune.endswith(b"\n"):
                fortune += b"\n"
            kept.append(fortune)
            n_file += 1
        f["fortunes_kept"] = n_file
    train, valid, traineval = [], [], []
    for i, fortune in enumerate(kept):
        (valid if i % VALID_MOD == VALID_REM else train).append(fortune + b"%\n")
        if i % VALID_MOD == TRAINEVAL_REM:
            traineval.append(fortune + b"%\n")
    return {
        "train": b"".join(train), "valid": b"".join(valid), "traineval": b"".join(traineval),
        "n_fortunes": len(kept), "n_train": len(train), "n_valid": len(valid), "n_traineval": len(traineval),
        "dropped_empty": dropped_empty, "dropped_control_bytes": dropped_control,
    }


# ----------------------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------------------

def model_config(args):
    from xlstm import (FeedForwardConfig, mLSTMBlockConfig, mLSTMLayerConfig, sLSTMBlockConfig,
                       sLSTMLayerConfig, xLSTMLMModelConfig)

    return xLSTMLMModelConfig(
        mlstm_block=mLSTMBlockConfig(
            mlstm=mLSTMLayerConfig(conv1d_kernel_size=4, qkv_proj_blocksize=4, num_heads=args.mlstm_heads,
                                   proj_factor=2.0)),
        slstm_block=sLSTMBlockConfig(
            slstm=sLSTMLayerConfig(backend="vanilla", num_heads=args.slstm_heads, conv1d_kernel_size=4,
                                   bias_init="powerlaw_blockdependent"),
            feedforward=FeedForwardConfig(proj_factor=1.3, act_fn="gelu")),
        context_length=args.context,
        num_blocks=args.blocks,
        embedding_dim=args.embedding_dim,
        slstm_at=list(args.slstm_at),
        vocab_size=256,
        tie_weights=False,
        bias=False,
        dropout=0.0,
        add_post_blocks_norm=True,
    )


def derived_dims(model) -> dict:
    """Dimensions the official blocks derive from the config (mLSTM inner dim, sLSTM head dim, FFN dim)."""
    from xlstm.blocks.mlstm.block import mLSTMBlock
    from xlstm.blocks.slstm.block import sLSTMBlock

    dims = {}
    for block in model.xlstm_block_stack.blocks:
        if isinstance(block, mLSTMBlock):
            dims["mlstm_inner_dim"] = block.xlstm.config._inner_embedding_dim
        elif isinstance(block, sLSTMBlock):
            dims["slstm_head_dim"] = block.xlstm.slstm_cell.config.head_dim
            dims["ffn_dim"] = block.ffn.config._proj_up_dim
    return dims


def n_params(model) -> int:
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def chunked_bits(model, data: bytes, ctx: int, batch: int) -> tuple[float, int]:
    """Σ −log2 p over ``data`` cut into consecutive chunks of ``ctx`` inputs, each from the empty state
    (parallel forward). Every byte but the first is predicted exactly once."""
    ids = torch.tensor(list(data), dtype=torch.long)
    n = ids.numel()
    starts = list(range(0, n - 1, ctx))
    full = [s for s in starts if s + ctx + 1 <= n]
    rest = [s for s in starts if s + ctx + 1 > n]
    total = 0.0
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(full), batch):
            x = torch.stack([ids[s:s + ctx + 1] for s in full[i:i + batch]])
            logits = model(x[:, :-1])
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]).float(), x[:, 1:].reshape(-1), reduction="sum"))
        for s in rest:
            x = ids[s:].unsqueeze(0)
            logits = model(x[:, :-1])
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]).float(), x[:, 1:].reshape(-1), reduction="sum"))
    model.train(was_training)
    return total / LN2, n - 1


def lr_at(step: int, args) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine from ``lr`` to ``lr * min_lr_ratio`` at ``steps``."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def generate(model, prompt: bytes, n: int, temperature: float, seed: int) -> bytes:
    """Step-mode generation from the empty state; temperature 0 = greedy."""
    g = torch.Generator().manual_seed(seed)
    out = bytearray(prompt)
    state = None
    with torch.inference_mode():
        for b in prompt:
            logits, state = model.step(torch.tensor([[b]], dtype=torch.long), state)
        for _ in range(n):
            row = logits[0, -1].float()
            if temperature == 0:
                b = int(torch.argmax(row))
            else:
                b = int(torch.multinomial(torch.softmax(row / temperature, dim=-1), 1, generator=g))
            out.append(b)
            logits, state = model.step(torch.tensor([[b]], dtype=torch.long), state)
    return bytes(out)


def step_vs_parallel(model, data: bytes) -> float:
    """max |step − parallel| / max |step| over ``data`` (≤ context_length bytes)."""
    ids = torch.tensor(list(data), dtype=torch.long).unsqueeze(0)
    with torch.inference_mode():
        par = model(ids)[0]
        state, rows = None, []
        for t in range(ids.shape[1]):
            logits, state = model.step(ids[:, t:t + 1], state)
            rows.append(logits[0, -1])
        step = torch.stack(rows)
    return float((step - par).abs().max() / step.abs().max())


# ----------------------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(REPO / "examples" / "models" / NAME), help="output directory")
    ap.add_argument("--seed", type=int, default=20240613)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--embedding-dim", type=int, default=192)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--slstm-at", type=int, nargs="*", default=[1])
    ap.add_argument("--mlstm-heads", type=int, default=4)
    ap.add_argument("--slstm-heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=100, help="validation bits/byte every N steps (and at the end)")
    ap.add_argument("--time-budget-min", type=float, default=36.0,
                    help="safety stop: end training early after this many minutes (the run is then NOT reproducible)")
    ap.add_argument("--sample-bytes", type=int, default=600)
    ap.add_argument("--sample-seed", type=int, default=1234)
    ap.add_argument("--readme-only", action="store_true",
                    help="only rewrite OUT/README.md from OUT/train_meta.json and OUT/model/config.json")
    ap.add_argument("--skip-reference", action="store_true",
                    help="skip the step-mode reference bits/byte of valid.txt (trials)")
    return ap.parse_args(argv)


def versions() -> dict:
    from importlib.metadata import version

    v = {"python": platform.python_version(), "torch": torch.__version__}
    for pkg in ("xlstm", "mlstm-kernels", "safetensors", "numpy"):
        try:
            v[pkg] = version(pkg)
        except Exception:  # pragma: no cover
            v[pkg] = None
    return v


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.time()
    out = Path(args.out)
    if args.readme_only:
        from export_paper_model import paper_config_from_dict

        meta = json.loads((out / "train_meta.json").read_text(encoding="utf-8"))
        cfg = paper_config_from_dict(json.loads((out / "model" / "config.json").read_text(encoding="utf-8")))
        write_readme(out, meta, cfg)
        print(f"wrote {out / 'README.md'}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)

    # --- corpus -----------------------------------------------------------------------------------------
    pkgs = package_info()
    files = corpus_files()
    corpus = build_corpus(files)
    (out / "valid.txt").write_bytes(corpus["valid"])
    shutil.copyfile("/usr/share/doc/fortunes/copyright", out / "COPYRIGHT.fortunes")
    print(f"corpus: {len([f for f in files if f['used']])} files, {corpus['n_fortunes']} fortunes; "
          f"train {len(corpus['train'])} bytes ({corpus['n_train']} fortunes), "
          f"valid {len(corpus['valid'])} bytes ({corpus['n_valid']} fortunes)", flush=True)

    # --- model ------------------------------------------------------------------------------------------
    from xlstm import xLSTMLMModel

    cfg = model_config(args)
    model = xLSTMLMModel(cfg)
    model.reset_parameters()
    model.train()
    params = n_params(model)
    print(f"model: block map {cfg._block_map}, embedding {cfg.embedding_dim}, {params} parameters", flush=True)

    decay, no_decay = model.get_weight_decay_optim_groups()
    opt = torch.optim.AdamW([{"params": list(decay), "weight_decay": args.weight_decay},
                             {"params": list(no_decay), "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    train_ids = torch.tensor(list(corpus["train"]), dtype=torch.long)
    g = torch.Generator().manual_seed(args.seed + 1)
    n_windows = train_ids.numel() - (args.context + 1) + 1
    offsets = torch.arange(args.context + 1)

    log_path = out / "train_log.tsv"
    log = open(log_path, "w", encoding="utf-8")
    log.write("step\ttokens\tlr\ttrain_loss_nats\ttrain_bpb\tvalid_bpb\telapsed_s\n")
    evals = []

    def evaluate(step, tokens, elapsed):
        vb, vn = chunked_bits(model, corpus["valid"], args.context, 32)
        evals.append({"step": step, "tokens": tokens, "valid_bpb": vb / vn, "elapsed_s": elapsed})
        return vb / vn

    budget_s = args.time_budget_min * 60
    t_train = time.time()
    stopped_early = None
    step = 0
    ema = None
    for step in range(args.steps):
        lr = lr_at(step, args)
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, n_windows, (args.batch_size,), generator=g)
        batch = train_ids[starts.unsqueeze(1) + offsets]
        logits = model(batch[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 256), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        loss_v = loss.detach().item()
        ema = loss_v if ema is None else 0.95 * ema + 0.05 * loss_v
        elapsed = time.time() - t_train
        tokens = (step + 1) * args.batch_size * args.context
        last = step + 1 == args.steps
        over = elapsed > budget_s
        valid_bpb = ""
        if (step + 1) % args.eval_every == 0 or last or over:
            valid_bpb = f"{evaluate(step + 1, tokens, elapsed):.5f}"
        log.write(f"{step + 1}\t{tokens}\t{lr:.6g}\t{loss_v:.5f}\t{loss_v / LN2:.5f}\t{valid_bpb}\t{elapsed:.1f}\n")
        log.flush()
        if (step + 1) % 10 == 0 or valid_bpb:
            print(f"step {step + 1}/{args.steps} lr {lr:.2e} loss {loss_v:.4f} (ema {ema / LN2:.3f} bpb)"
                  + (f" valid {valid_bpb} bpb" if valid_bpb else "") + f" {elapsed:.0f}s", flush=True)
        if over and not last:
            stopped_early = step + 1
            print(f"WARNING: wall-clock budget of {args.time_budget_min} min reached at step {step + 1}: stopping "
                  "(this run is not reproducible)", flush=True)
            break
    log.close()
    steps_done = step + 1
    train_seconds = time.time() - t_train

    tb, tn = chunked_bits(model, corpus["traineval"], args.context, 32)
    final = {"train_bpb_trainsubset": tb / tn, "valid_bpb": evals[-1]["valid_bpb"],
             "train_loss_ema_bpb": ema / LN2}
    print(f"final (training weights, f32): train-subset {final['train_bpb_trainsubset']:.4f} bpb, "
          f"valid {final['valid_bpb']:.4f} bpb", flush=True)

    # --- export and checks on the exported (bf16) weights -------------------------------------------------
    model_dir = out / "model"
    export_paper_model(model, model_dir, dtype="bfloat16")
    exported = load_paper_model(model_dir)
    bf16 = {
        "valid_bpb_chunked": (lambda r: r[0] / r[1])(chunked_bits(exported, corpus["valid"], args.context, 32)),
        "train_bpb_chunked": (lambda r: r[0] / r[1])(chunked_bits(exported, corpus["traineval"], args.context, 32)),
        "step_vs_parallel_max_rel": step_vs_parallel(exported, corpus["valid"][:args.context]),
    }
    print(f"exported bf16: valid {bf16['valid_bpb_chunked']:.4f} bpb (chunked), "
          f"step-vs-parallel {bf16['step_vs_parallel_max_rel']:.2e}", flush=True)
    samples = {
        "prompt": "The ",
        "temperature_0.8": generate(exported, b"The ", args.sample_bytes, 0.8, args.sample_seed),
        "greedy": generate(exported, b"The ", 300, 0.0, args.sample_seed),
    }
    print(samples["temperature_0.8"].decode("utf-8", "replace"), flush=True)

    reference = None
    if not args.skip_reference:
        print("reference bits/byte of valid.txt (official step mode, one stream) ...", flush=True)
        reference = reference_bpb.reference_bpb(model_dir, out / "valid.txt", threads=args.threads)
        print(f"bits_per_byte {reference['bits_per_byte']:#.5g} ({reference['seconds']:.0f} s)", flush=True)

    total_seconds = time.time() - t_start
    meta = {
        "name": NAME,
        "versions": versions(),
        "machine": {"cpu_count": os.cpu_count(), "threads": args.threads, "platform": platform.platform()},
        "args": vars(args),
        "corpus": {
            "packages": pkgs,
            "files": files,
            "excluded_files": EXCLUDED_FILES,
            "split": f"fortune i -> validation iff i % {VALID_MOD} == {VALID_REM}",
            "train_subset_for_train_bpb": f"training fortunes with i % {VALID_MOD} == {TRAINEVAL_REM}",
            **{k: v for k, v in corpus.items() if not isinstance(v, bytes)},
            "train_bytes": len(corpus["train"]),
            "valid_bytes": len(corpus["valid"]),
            "traineval_bytes": len(corpus["traineval"]),
            "train_sha256": hashlib.sha256(corpus["train"]).hexdigest(),
            "valid_sha256": hashlib.sha256(corpus["valid"]).hexdigest(),
        },
        "model": {"block_map": cfg._block_map, "parameters": params, **derived_dims(model),
                  "safetensors_bytes": (model_dir / "model.safetensors").stat().st_size,
                  "model_dir_bytes": sum(p.stat().st_size for p in model_dir.iterdir())},
        "training": {"steps": steps_done, "stopped_early_at": stopped_early, "seconds": train_seconds,
                     "tokens": steps_done * args.batch_size * args.context, "evals": evals, "final": final},
        "exported_bf16": bf16,
        "samples": {k: (v if isinstance(v, str) else v.decode("utf-8", "replace")) for k, v in samples.items()},
        "reference": reference,
        "total_seconds": total_seconds,
    }
    (out / "train_meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    write_readme(out, meta, cfg)
    print(f"done in {total_seconds / 60:.1f} min: {out}", flush=True)
    return 0


# ----------------------------------------------------------------------------------------------------------
# README
# ----------------------------------------------------------------------------------------------------------

def _fence(text: str) -> str:
    return "```text\n" + text.rstrip("\n").replace("```", "`\u200b``") + "\n```"


def write_readme(out: Path, meta: dict, cfg) -> None:
    a = meta["args"]
    c = meta["corpus"]
    m = meta["model"]
    tr = meta["training"]
    ref = meta["reference"]
    bf = meta["exported_bf16"]
    v = meta["versions"]
    E = cfg.embedding_dim
    ml = cfg.mlstm_block.mlstm
    sl = cfg.slstm_block.slstm
    ff = cfg.slstm_block.feedforward
    pk = ", ".join(f"`{p['package']}` {p['version']}" for p in c["packages"])
    used = [f for f in c["files"] if f["used"]]
    file_rows = "\n".join(
        f"| `{f['file']}` | `{f['package']}` | {f['bytes']} | "
        + (f"{f['fortunes_kept']} |" if f["used"] else f"excluded: {f['why_excluded']} |")
        for f in c["files"])
    letters = ",".join("s" if b == "1" else "m" for b in cfg._block_map.split(","))
    curve = "\n".join(f"| {e['step']} | {e['tokens']} | {e['valid_bpb']:.4f} | {e['elapsed_s'] / 60:.1f} |"
                      for e in tr["evals"])
    ref_line = (f"**{ref['bits_per_byte']:#.5g}** bits/byte over {ref['tokens']} bytes ({ref['predictions']} "
                f"predictions), `tools/reference_bpb.py`, {ref['seconds']:.0f} s"
                if ref else "not computed (run without `--skip-reference`)")
    early = ("" if tr["stopped_early_at"] is None else
             f"\n> **Note:** this run hit the wall-clock safety budget and stopped at step {tr['stopped_early_at']} "
             f"of {a['steps']}; a re-run may stop at a different step.\n")
    text = f"""# `{meta['name']}` — a tiny byte-level xLSTM trained on `fortune` cookies

A real, trained (if small) paper-family xLSTM for trying out and checking this project's engine:
the official `xlstm.xLSTMLMModel` (xlstm {v['xlstm']}), trained from scratch on the CPU in
{tr['seconds'] / 60:.0f} minutes by [`tools/train_demo_model.py`](../../../tools/train_demo_model.py) on
the quotations of Debian's `fortunes` packages, exported in bfloat16 by
[`tools/export_paper_model.py`](../../../tools/export_paper_model.py).

It is a toy: {m['parameters'] / 1e6:.2f} M parameters, about {tr['tokens'] / 1e6:.1f} M training bytes
(≈ {tr['tokens'] / c['train_bytes']:.1f} passes over the {c['train_bytes'] / 1e6:.2f} MB training text). It
writes English-looking text with fortune-file structure (quotes, attributions, `%` separators), not sense.

| file | what |
| --- | --- |
| `model/config.json`, `model/model.safetensors` | the model directory (`model_type: "xlstm_lm"`, weights bfloat16) — {m['model_dir_bytes']} bytes |
| `valid.txt` | the validation text ({c['valid_bytes']} bytes, {c['n_valid']} fortunes) |
| `train_log.tsv` | loss curve: step, tokens, lr, train loss (nats/byte), train bits/byte, validation bits/byte (every {a['eval_every']} steps), seconds |
| `train_meta.json` | every setting and number of the run: versions, corpus files + SHA-256, split, hyper-parameters, results |
| `COPYRIGHT.fortunes` | `/usr/share/doc/fortunes/copyright` of the corpus package |

## Model

| | |
| --- | --- |
| class | `xlstm.xLSTMLMModel` (paper architecture), xlstm {v['xlstm']} |
| vocabulary | 256 — token id = byte value, no special tokens |
| blocks | {cfg.num_blocks}: block map `{cfg._block_map}` (0 = mLSTM, 1 = sLSTM) → {letters} |
| embedding dim | {E} |
| mLSTM blocks | {ml.num_heads} heads, proj_factor {ml.proj_factor} (inner {m['mlstm_inner_dim']}), qkv_proj_blocksize {ml.qkv_proj_blocksize}, conv1d {ml.conv1d_kernel_size} |
| sLSTM block | {sl.num_heads} heads (head dim {m['slstm_head_dim']}), conv1d {sl.conv1d_kernel_size}, bias_init `{sl.bias_init}`, backend `vanilla`; gated FFN `{ff.act_fn}` proj_factor {ff.proj_factor} (→ {m['ffn_dim']}) |
| other | bias off, dropout 0, post-blocks LayerNorm, untied embedding / LM head, context_length {cfg.context_length} (training window; the recurrent model runs on any length) |
| parameters | {m['parameters']} |
| on disk | `model.safetensors` {m['safetensors_bytes']} bytes (bfloat16) |

## Corpus

* Packages: {pk} (Debian source package `{c['packages'][0]['source']}`); files under `/usr/share/games/fortunes/`
  as listed by `dpkg -L` — the plain-text fortune files only (not the `.dat` indexes or `.u8` links).
* Licence: Debian's `/usr/share/doc/fortunes/copyright` (copied here as `COPYRIGHT.fortunes`) says the package
  "falls under the BSD copyright" (© 1991 The Regents of the University of California, BSD licence with the
  advertising clause deleted). The fortunes themselves are short quotations collected from many sources.
* Processing: a fortune is the text between lines consisting of `%`. Dropped: {c['dropped_empty']} empty pieces
  (mostly the text after a file's last `%`) and {c['dropped_control_bytes']} containing control bytes other than TAB/LF (backspace overstriking,
  BEL). Each kept fortune is followed by a `%` line — the streams keep the fortune-file format, and `%\\n` is
  the separator the model learns. Bytes are otherwise unchanged (mostly ASCII, a little UTF-8).
* Split (deterministic): fortune number *i* (0-based, files in name order, fortunes in file order) is validation
  iff *i* % {VALID_MOD} == {VALID_REM}: {c['n_valid']} fortunes, {c['valid_bytes']} bytes → `valid.txt`
  (SHA-256 `{c['valid_sha256']}`). The other {c['n_train']} fortunes ({c['train_bytes']} bytes, SHA-256
  `{c['train_sha256']}`) are the training text; it is not committed — the script re-derives it.
  "Train bits/byte" below is measured on the training fortunes with *i* % {VALID_MOD} == {TRAINEVAL_REM}
  ({c['traineval_bytes']} bytes).

| file | package | bytes | fortunes kept |
| --- | --- | ---: | ---: |
{file_rows}

## Training

| | |
| --- | --- |
| data | random {a['context'] + 1}-byte windows of the training stream (seeded), batch {a['batch_size']} → {a['batch_size'] * a['context']} predicted bytes per step |
| steps | {tr['steps']} ({tr['tokens']} predicted bytes) |
| optimiser | AdamW, β = (0.9, 0.95), ε = 1e-8, weight decay {a['weight_decay']} on weight matrices (official `get_weight_decay_optim_groups`), none on norms/biases/embedding |
| learning rate | linear warm-up to {a['lr']} over {a['warmup']} steps, cosine decay to {a['lr'] * a['min_lr_ratio']:.2g} at step {a['steps']} |
| gradient clipping | {a['grad_clip']} (global norm) |
| precision | float32 on the CPU, {meta['machine']['threads']} threads, `torch.use_deterministic_algorithms(True)` |
| seeds | `--seed {a['seed']}` (init: `torch.manual_seed(seed)`, data: generator `seed + 1`) |
| wall clock | {tr['seconds'] / 60:.1f} min training, {meta['total_seconds'] / 60:.1f} min for the whole script, on a 2-core x86-64 VM that other jobs were also using |
| software | Python {v['python']}, torch {v['torch']}, xlstm {v['xlstm']}, mlstm-kernels {v['mlstm-kernels']}, safetensors {v['safetensors']}, numpy {v['numpy']} |
{early}
Validation bits/byte during training (training weights in float32; `valid.txt` cut into chunks of
{a['context']} bytes, each from the empty state, parallel mode):

| step | bytes seen | valid bits/byte | minutes |
| ---: | ---: | ---: | ---: |
{curve}

## Results

| measurement | bits/byte |
| --- | ---: |
| train (training fortunes *i* % {VALID_MOD} == {TRAINEVAL_REM}, f32 training weights, chunks of {a['context']}) | {tr['final']['train_bpb_trainsubset']:.4f} |
| validation (`valid.txt`, f32 training weights, chunks of {a['context']}) | {tr['final']['valid_bpb']:.4f} |
| validation (`valid.txt`, exported bf16 weights, chunks of {a['context']}) | {bf['valid_bpb_chunked']:.4f} |
| **reference**: `valid.txt` as one stream from the empty state, official `model.step`, exported bf16 weights upcast to f32 | {ref_line} |
| **bits per byte computed by this project's engine (`xlstm perplexity`)** | TODO: fill in once `xlstm perplexity` exists |

The reference is what `xlstm perplexity model valid.txt` must reproduce: the file's bytes as one stream fed
one byte at a time from the initial state, Σ −log2 softmax(logits_t)[byte_(t+1)] for t = 0 … n−2, divided by
n − 1. (The chunked numbers restart the state every {a['context']} bytes, so they are not the same quantity.)
Official step mode vs parallel mode on the first {a['context']} bytes of `valid.txt`, exported weights:
max |Δlogit| / max |logit| = {bf['step_vs_parallel_max_rel']:.1e}.

## Sample

Official `model.step` on the exported weights, prompt `The `, temperature 0.8, `torch.Generator` seed
{a['sample_seed']}, {a['sample_bytes']} bytes (`torch.multinomial` on the softmax):

{_fence(meta['samples']['temperature_0.8'])}

Greedy (argmax), 300 bytes:

{_fence(meta['samples']['greedy'])}

## Reproduce

```sh
apt-get install fortunes fortunes-min          # Debian 12: {pk}
VENV=/some/where/outside/the/repo/venv          # the reference environment of tools/README.md
$VENV/bin/python tools/train_demo_model.py      # corpus, training, export, sample, reference, this README (~{meta['total_seconds'] / 60:.0f} min)
$VENV/bin/python tools/reference_bpb.py examples/models/{meta['name']}/model examples/models/{meta['name']}/valid.txt
```

`train_demo_model.py` accepts the hyper-parameters as options (`--help`); the defaults are the ones above;
`--readme-only` re-renders this file from `train_meta.json`. The run is deterministic (fixed seeds, seeded data
order, deterministic algorithms): two trial runs of 12 steps gave byte-identical `model.safetensors` and loss
logs. With the same package versions, software versions, 2 threads and the same kind of CPU the full run should
give the committed weights again (not re-checked for the full run). Not removable: float32 results of torch's CPU kernels depend on the thread count and
on the CPU's instruction set (oneDNN/MKL pick kernels at run time), and other torch versions may compute
differently; the corpus depends on the `fortunes` package version (check `valid_sha256` / `train_sha256` in
`train_meta.json`). The wall-clock safety stop (`--time-budget-min`) makes a run irreproducible if it triggers
(it did {'not ' if tr['stopped_early_at'] is None else ''}trigger for the committed model).
"""
    (out / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
