#!/usr/bin/env python3
"""Speed of this runtime against the official PyTorch implementations, measured alternately in one run.

For each model (random, seeded, perturbed weights -- built exactly like the fixtures of make_fixtures.py) and
each dtype (float32, bfloat16) the script builds the official model, writes it in our model-directory format,
loads that directory through the C API (ctypes on libxlstm.so), and then measures, in interleaved repetitions:

* torch step     -- the official step (recurrent) mode, one token per call from an empty state, as
                    make_fixtures.py records step logits: paper family ``xLSTMLMModel.step(idx, state)``;
                    7B family ``xLSTMForCausalLM(input_ids=tok, cache=cache, use_cache=True)`` feeding the
                    returned cache back (the ``native`` step kernel);
* ours step      -- ``xlstm_session_feed_token`` once per token, from a reset session;
* torch prefill  -- the official whole-sequence forward over the prompt, then the LM head on the last position
                    only (paper: ``token_embedding`` -> ``xlstm_block_stack`` -> ``lm_head``; 7B:
                    ``backbone(input_ids, cache=fresh, use_cache=True)`` (chunkwise native kernel, as in
                    ``generate``'s prefill) -> ``lm_head`` -> ``soft_cap``);
* ours prefill   -- ``xlstm_session_feed_tokens(..., XLSTM_LOGITS_LAST)`` over the same prompt.

Both sides get the same token ids and the same number of threads (``torch.set_num_threads(N)``,
``xlstm_model_params.n_threads = N``). Every repetition runs the four measurements in turn (the order alternates
between repetitions); the table shows medians in tokens per second and the ratio ours / torch. The last-token
logits of both sides are compared (max |diff| / max |torch|) to show that both ran the same model on the same
tokens. bfloat16: the torch side is the whole model cast to bfloat16 (weights and activations: what torch offers
for bf16 on CPU); ours reads the bf16 weights in place and computes in float32.

Usage (reference environment, after ``make build``)::

    /path/to/venv/bin/python tools/bench_vs_torch.py [--threads 2] [--models paper-0.5m,large-162m]
        [--dtypes float32,bfloat16] [--reps 5] [--tokens 512] [--step-tokens 64] [--quick] [--keep DIR]
        [--lib .build/release/libxlstm.so] [--json out.json]

The model directories are written to a temporary directory and deleted at the end (the 162 M model is 650 MB
in float32), unless ``--keep DIR``.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import gc
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parent
sys.path.insert(0, str(TOOLS_DIR))

# ==========================================================================================================
# the models
# ==========================================================================================================

_MLSTM = dict(num_heads=4, qkv_proj_blocksize=4, conv1d_kernel_size=4, proj_factor=2.0)
_SLSTM = dict(num_heads=4, conv1d_kernel_size=4)
_FFN = dict(proj_factor=1.3, act_fn="gelu")


@dataclass
class BenchModel:
    name: str
    family: str  # "paper" | "large"
    seed: int
    description: str
    config: dict  # as make_fixtures.Fixture.config


MODELS: list[BenchModel] = [
    BenchModel("paper-0.5m", "paper", 3001,
               "paper xLSTMLMModel, D 128, 4 blocks (sLSTM at 1), vocab 256",
               dict(embedding_dim=128, vocab_size=256, num_blocks=4, slstm_at=[1], bias=False,
                    mlstm=_MLSTM, slstm=_SLSTM, feedforward=_FFN)),
    BenchModel("paper-71m", "paper", 3002,
               "paper xLSTMLMModel, D 512, 12 blocks (sLSTM at 3, 9), vocab 50304",
               dict(embedding_dim=512, vocab_size=50304, num_blocks=12, slstm_at=[3, 9], bias=False,
                    mlstm=_MLSTM, slstm=_SLSTM, feedforward=_FFN)),
    BenchModel("large-162m", "large", 3003,
               "7B family xLSTMForCausalLM, D 768, 12 blocks, 4 heads, vocab 50304",
               dict(vocab_size=50304, hidden_size=768, num_heads=4, num_blocks=12)),
]
MODEL_NAMES = [m.name for m in MODELS]
DTYPES = ["float32", "bfloat16"]


# ==========================================================================================================
# machine description
# ==========================================================================================================

def load_average() -> str:
    """The 1-minute load average (other processes competing for the cores make every figure noisy)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def cpu_description() -> str:
    """'<model name> (family F model M), <n> CPUs, <relevant ISA flags>' from /proc/cpuinfo."""
    name, family, model, flags = platform.processor() or "unknown CPU", "?", "?", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return name
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "model name":
            name = value
        elif key == "cpu family":
            family = value
        elif key == "model":
            model = value
        elif key == "flags":
            flags = set(value.split())
        if key == "" and flags:  # end of the first processor block
            break
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile"]
    isa = " ".join(f for f in wanted if f in flags) or "no AVX2"
    return f"{name} (family {family} model {model}), {os.cpu_count()} CPUs, flags: {isa}"


# ==========================================================================================================
# our side: the C API through ctypes
# ==========================================================================================================

class XlstmError(RuntimeError):
    pass


class OurLib:
    """The few C API functions the benchmark needs. Struct layouts are taken from include/xlstm.abi.json when
    it is there (so an additive change of xlstm_model_params cannot overrun a buffer)."""

    XLSTM_OK = 0
    XLSTM_LOGITS_LAST = 0

    def __init__(self, path: Path, manifest: Path | None):
        self.path = path
        self.lib = ctypes.CDLL(str(path))
        self.manifest = None
        if manifest is not None and manifest.exists():
            self.manifest = json.loads(manifest.read_text())
        L = self.lib
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        L.xlstm_api_version.restype = ctypes.c_int32
        L.xlstm_version_string.restype = cp
        L.xlstm_last_error_message.restype = cp
        L.xlstm_model_default_params.argtypes = [vp]
        L.xlstm_model_load.argtypes = [cp, vp, ctypes.POINTER(vp)]
        L.xlstm_model_free.argtypes = [vp]
        L.xlstm_model_free.restype = None
        L.xlstm_session_create.argtypes = [vp, ctypes.POINTER(vp)]
        L.xlstm_session_free.argtypes = [vp]
        L.xlstm_session_free.restype = None
        L.xlstm_session_reset.argtypes = [vp]
        L.xlstm_session_feed_token.argtypes = [vp, ctypes.c_int32]
        L.xlstm_session_feed_tokens.argtypes = [vp, ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t, ctypes.c_int]
        L.xlstm_session_logits.argtypes = [vp]
        L.xlstm_session_logits.restype = ctypes.POINTER(ctypes.c_float)
        for fn in ("xlstm_model_default_params", "xlstm_model_load", "xlstm_session_create",
                   "xlstm_session_reset", "xlstm_session_feed_token", "xlstm_session_feed_tokens"):
            getattr(L, fn).restype = ctypes.c_int
        self.version = L.xlstm_version_string().decode()
        self.api_version = L.xlstm_api_version()

    def check(self, status: int, what: str) -> None:
        if status != self.XLSTM_OK:
            msg = self.lib.xlstm_last_error_message()
            raise XlstmError(f"{what}: status {status}: {msg.decode() if msg else '?'}")

    def _struct(self, name: str) -> dict | None:
        if self.manifest:
            for s in self.manifest.get("structs", []):
                if s["name"] == name:
                    return s
        return None

    def model_params(self, n_threads: int, precision: int = 0):
        s = self._struct("xlstm_model_params")
        size = max(256, s["size"] if s else 8)
        offset = 0
        if s:
            offset = next(f["offset"] for f in s["fields"] if f["name"] == "n_threads")
        buf = ctypes.create_string_buffer(size)
        self.check(self.lib.xlstm_model_default_params(buf), "xlstm_model_default_params")
        ctypes.c_int32.from_buffer(buf, offset).value = n_threads
        if precision:
            field = next((f for f in (s or {}).get("fields", []) if f["name"] == "precision"), None)
            if field is None:
                raise XlstmError("this libxlstm has no xlstm_model_params.precision (C API 3+)")
            ctypes.c_int32.from_buffer(buf, field["offset"]).value = precision
        return buf

    def isa_name(self, cli: Path | None, model_dir: Path | None) -> str:
        """The kernel path models load with: XLSTM_CPU if set (the library honours it), else the fastest this
        CPU runs (xlstm_cpu_best_path / xlstm_cpu_path_name, C API 2); 'unknown' for an older library."""
        best = getattr(self.lib, "xlstm_cpu_best_path", None)
        name = getattr(self.lib, "xlstm_cpu_path_name", None)
        if best is None or name is None:
            return "unknown"
        best.restype, best.argtypes = ctypes.c_int32, []
        name.restype, name.argtypes = ctypes.c_char_p, [ctypes.c_int32]
        forced = os.environ.get("XLSTM_CPU", "")
        return forced if forced and forced != "auto" else name(best()).decode()


class OurModel:
    def __init__(self, lib: OurLib, model_dir: Path, n_threads: int, vocab: int, precision: int = 0):
        self.lib, self.vocab = lib, vocab
        L = lib.lib
        self.model = ctypes.c_void_p()
        params = lib.model_params(n_threads, precision)
        lib.check(L.xlstm_model_load(str(model_dir).encode(), params, ctypes.byref(self.model)),
                  f"xlstm_model_load({model_dir})")
        self.session = ctypes.c_void_p()
        lib.check(L.xlstm_session_create(self.model, ctypes.byref(self.session)), "xlstm_session_create")

    def reset(self) -> None:
        self.lib.check(self.lib.lib.xlstm_session_reset(self.session), "xlstm_session_reset")

    def logits(self) -> np.ndarray:
        ptr = self.lib.lib.xlstm_session_logits(self.session)
        if not ptr:
            raise XlstmError("no logits")
        return np.ctypeslib.as_array(ptr, shape=(self.vocab,)).copy()

    def step(self, tokens: np.ndarray) -> float:
        """Seconds to feed `tokens` one by one (from the current state)."""
        feed, s = self.lib.lib.xlstm_session_feed_token, self.session
        ids = [int(t) for t in tokens]
        t0 = time.perf_counter()
        for t in ids:
            status = feed(s, t)
            if status != 0:
                self.lib.check(status, "xlstm_session_feed_token")
        return time.perf_counter() - t0

    def prefill(self, tokens: np.ndarray) -> float:
        arr = np.ascontiguousarray(tokens, dtype=np.int32)
        ptr = arr.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
        t0 = time.perf_counter()
        status = self.lib.lib.xlstm_session_feed_tokens(self.session, ptr, arr.size, OurLib.XLSTM_LOGITS_LAST)
        dt = time.perf_counter() - t0
        self.lib.check(status, "xlstm_session_feed_tokens")
        return dt

    def close(self) -> None:
        if self.session:
            self.lib.lib.xlstm_session_free(self.session)
            self.session = ctypes.c_void_p()
        if self.model:
            self.lib.lib.xlstm_model_free(self.model)
            self.model = ctypes.c_void_p()


# ==========================================================================================================
# torch side: the official implementations
# ==========================================================================================================

def build_torch_model(bm: BenchModel, n_tokens: int):
    """The float32 official model with perturbed random weights (make_fixtures' builders and perturbation)."""
    from make_fixtures import Fixture, build_large_model, build_paper_model

    fx = Fixture(name=bm.name, family=bm.family, seed=bm.seed, n_tokens=n_tokens, dtype="float32",
                 description=bm.description, config=bm.config)
    return build_paper_model(fx) if bm.family == "paper" else build_large_model(fx)


def write_our_model(model, family: str, out_dir: Path, dtype: str) -> None:
    import torch

    if out_dir.exists():
        shutil.rmtree(out_dir)
    if family == "paper":
        from export_paper_model import export_paper_model

        export_paper_model(model, out_dir, dtype=dtype)
    else:
        m = model if dtype == "float32" else copy.deepcopy(model).to(getattr(torch, dtype))
        m.save_pretrained(str(out_dir))
        del m


class TorchRunner:
    def __init__(self, model, family: str):
        self.model, self.family = model, family
        self.last_logits = None

    def step(self, idx) -> float:
        import torch

        m = self.model
        with torch.no_grad():
            t0 = time.perf_counter()
            if self.family == "paper":
                state = None
                for t in range(idx.shape[1]):
                    logits, state = m.step(idx[:, t:t + 1], state)
            else:
                from make_fixtures import make_step_cache

                cache = make_step_cache(m)
                for t in range(idx.shape[1]):
                    out = m(input_ids=idx[:, t:t + 1], cache=cache, use_cache=True)
                    cache = out.cache
                logits = out.logits
            dt = time.perf_counter() - t0
        self.last_logits = logits[0, -1].float().numpy().copy()
        return dt

    def prefill(self, idx) -> float:
        import torch

        m = self.model
        with torch.no_grad():
            t0 = time.perf_counter()
            if self.family == "paper":
                x = m.emb_dropout(m.token_embedding(idx))
                x = m.xlstm_block_stack(x)
                logits = m.lm_head(x[:, -1:])
            else:
                from make_fixtures import make_step_cache
                from transformers.models.xlstm.modeling_xlstm import soft_cap

                out = m.backbone(input_ids=idx, cache=make_step_cache(m), use_cache=True)
                h = out.last_hidden_state[:, -1:]
                logits = soft_cap(m.lm_head(h.to(m.lm_head.weight.dtype)).float(), m.config.output_logit_soft_cap)
            dt = time.perf_counter() - t0
        self.last_logits = logits[0, -1].float().numpy().copy()
        return dt


# ==========================================================================================================
# measurement
# ==========================================================================================================

def rel_diff(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(ours.astype(np.float64) - ref)) / max(np.max(np.abs(ref)), 1e-30))


def pause(seconds: float) -> None:
    """Let the other side's worker threads go idle (torch's OpenMP and our pool both spin briefly)."""
    if seconds > 0:
        time.sleep(seconds)


def measure(torch_runner: TorchRunner, ours: OurModel, tokens: np.ndarray, step_tokens: int, reps: int,
            gap: float, min_time: float, log, reference: TorchRunner | None = None) -> dict:
    """Interleaved medians. The logits agreement is checked against `reference` (default: the timed torch
    model itself) on the same step and prefill runs."""
    import torch

    idx = torch.from_numpy(tokens.astype(np.int64))[None, :]
    step_ids = tokens[:step_tokens]
    step_idx = idx[:, :step_tokens]
    n = tokens.size
    samples = {k: [] for k in ("torch_step", "ours_step", "torch_prefill", "ours_prefill")}
    agree = {}

    def timed(run, count: int) -> float:
        """tokens/s of `run` (each call from an empty state), repeated until min_time seconds are measured."""
        total, calls = 0.0, 0
        while calls == 0 or total < min_time:
            total += run()
            calls += 1
        return calls * count / total

    def ours_run(fn, arg):
        ours.reset()  # outside the timed region
        return fn(arg)

    def torch_step():
        return timed(lambda: torch_runner.step(step_idx), step_tokens)

    def ours_step():
        return timed(lambda: ours_run(ours.step, step_ids), step_tokens)

    def torch_prefill():
        return timed(lambda: torch_runner.prefill(idx), n)

    def ours_prefill():
        return timed(lambda: ours_run(ours.prefill, tokens), n)

    # warm-up (not recorded): allocations, lazy initialisation, page faults of the mapped weights;
    # also the agreement check of the last-token logits.
    ref = reference or torch_runner
    torch_runner.step(step_idx); pause(gap)
    ours_run(ours.step, step_ids); pause(gap)
    if reference is not None:
        reference.step(step_idx)
    agree["step"] = rel_diff(ours.logits(), ref.last_logits)
    torch_runner.prefill(idx); pause(gap)
    ours_run(ours.prefill, tokens); pause(gap)
    if reference is not None:
        reference.prefill(idx)
    agree["prefill"] = rel_diff(ours.logits(), ref.last_logits)

    order = [("torch_step", torch_step), ("ours_step", ours_step),
             ("torch_prefill", torch_prefill), ("ours_prefill", ours_prefill)]
    for rep in range(reps):
        seq = order if rep % 2 == 0 else [order[1], order[0], order[3], order[2]]
        for key, fn in seq:
            samples[key].append(fn())
            pause(gap)
        log(f"    rep {rep + 1}/{reps}: " + "  ".join(f"{k} {samples[k][-1]:.1f}" for k in samples))
    med = {k: statistics.median(v) for k, v in samples.items()}
    return dict(median=med, samples=samples, agree=agree)


# ==========================================================================================================
# main
# ==========================================================================================================

def parse_args(argv):
    ap = argparse.ArgumentParser(description="Step and prefill speed of libxlstm vs the official PyTorch code "
                                             "(see tools/README.md).")
    ap.add_argument("--threads", type=int, default=1, help="threads for both sides (default 1)")
    ap.add_argument("--models", default=",".join(MODEL_NAMES),
                    help=f"comma-separated subset of {', '.join(MODEL_NAMES)} (default: all)")
    ap.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated subset of float32,bfloat16")
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions (medians; default 5)")
    ap.add_argument("--tokens", type=int, default=512, help="prompt length of the prefill (default 512)")
    ap.add_argument("--step-tokens", type=int, default=64, help="tokens per step-mode run (default 64)")
    ap.add_argument("--quick", action="store_true",
                    help="a fast sanity run: 2 reps, 128 prefill tokens, 16 step tokens (unless given)")
    ap.add_argument("--min-time", type=float, default=0.3,
                    help="each sample repeats its run (from an empty state) until this many seconds are measured "
                         "(default 0.3; matters for the small model)")
    ap.add_argument("--gap", type=float, default=0.05, help="idle seconds between measurements (default 0.05)")
    ap.add_argument("--omp-wait", choices=["default", "passive", "active"], default="default",
                    help="OMP_WAIT_POLICY for torch (default: leave it). With more runnable threads than cores "
                         "torch's spinning OpenMP barriers make it 10x slower or worse; 'passive' avoids that")
    ap.add_argument("--lib", default=str(REPO_ROOT / ".build" / "release" / "libxlstm.so"),
                    help="libxlstm.so to measure (default: .build/release/libxlstm.so)")
    ap.add_argument("--cli", default=None, help="xlstm-cli next to the library (only to report the ISA path)")
    ap.add_argument("--keep", metavar="DIR", help="write the model directories here and keep them")
    ap.add_argument("--json", metavar="PATH", help="also write all samples as JSON")
    ap.add_argument("--seed", type=int, default=7, help="seed of the token ids")
    ap.add_argument("--precision", choices=["exact", "fast"], default="exact",
                    help="our side's xlstm_model_params.precision (fast: int8 / bf16 activations where the CPU "
                         "has the kernels, README \"Precision\"; torch's bf16 rows compute in bf16 too)")
    args = ap.parse_args(argv)
    if args.quick:
        explicit = set(a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:]))
        if "--reps" not in explicit:
            args.reps = 2
        if "--tokens" not in explicit:
            args.tokens = 128
        if "--step-tokens" not in explicit:
            args.step_tokens = 16
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    aliases = {"f32": "float32", "bf16": "bfloat16"}
    args.dtypes = [aliases.get(d, d) for d in args.dtypes]
    bad = [m for m in args.models if m not in MODEL_NAMES]
    if bad:
        ap.error(f"unknown model(s) {bad}; choose from {MODEL_NAMES}")
    bad = [d for d in args.dtypes if d not in DTYPES]
    if bad:
        ap.error(f"unknown dtype(s) {bad}; choose from {DTYPES}")
    if args.threads < 1 or args.reps < 1 or args.tokens < 2 or args.step_tokens < 1:
        ap.error("--threads, --reps, --step-tokens must be >= 1 and --tokens >= 2")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    lib_path = Path(args.lib).resolve()
    if not lib_path.exists():
        print(f"error: {lib_path} not found (run `make build` first, or pass --lib)", file=sys.stderr)
        return 2
    cli = Path(args.cli) if args.cli else lib_path.parent / "xlstm-cli"

    # Thread counts (and the OpenMP wait policy) must be fixed before torch starts its OpenMP pool.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if args.omp_wait != "default":
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait.upper()
    omp_wait = os.environ.get("OMP_WAIT_POLICY", "default")
    import torch

    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    warnings.filterwarnings("ignore")
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass

    # The ABI manifest of the tree the library was built from (walk up from the library), else this tree's.
    manifest = next((d / "include" / "xlstm.abi.json" for d in lib_path.parents
                     if (d / "include" / "xlstm.abi.json").exists()), REPO_ROOT / "include" / "xlstm.abi.json")
    ours_lib = OurLib(lib_path, manifest)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # SIGTERM (e.g. `kill PID`) unwinds like Ctrl-C, so the temporary model directories are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_vs_torch-"))
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    rows, isa = [], None
    load_start = load_average()
    t_start = time.time()
    try:
        for bm in MODELS:
            if bm.name not in args.models:
                continue
            log(f"== {bm.name}: {bm.description}")
            t0 = time.time()
            model = build_torch_model(bm, n_tokens=max(args.tokens, args.step_tokens))
            n_params = sum(p.numel() for p in model.parameters())
            vocab = bm.config["vocab_size"]
            tokens = rng.integers(0, vocab, size=args.tokens, dtype=np.int64).astype(np.int32)
            log(f"   built ({n_params / 1e6:.1f} M parameters) in {time.time() - t0:.1f} s")
            for dtype in args.dtypes:
                out_dir = root / f"{bm.name}-{dtype}"
                t0 = time.time()
                write_our_model(model, bm.family, out_dir, dtype)
                log(f"   {dtype}: wrote {out_dir} in {time.time() - t0:.1f} s")
                if isa is None:
                    isa = ours_lib.isa_name(cli, out_dir)
                reference = None
                if dtype == "float32":
                    tmodel = model
                else:
                    # timed: the whole model cast to bf16; reference for the logits check: the official float32
                    # computation on the bf16-rounded weights (what our bf16 directory holds).
                    from make_fixtures import round_weights_

                    tmodel = copy.deepcopy(model).to(getattr(torch, dtype)).eval()
                    ref_model = copy.deepcopy(model)
                    round_weights_(ref_model, dtype)
                    reference = TorchRunner(ref_model.eval(), bm.family)
                ours = OurModel(ours_lib, out_dir, args.threads, vocab, 1 if args.precision == "fast" else 0)
                try:
                    res = measure(TorchRunner(tmodel, bm.family), ours, tokens, min(args.step_tokens, args.tokens),
                                  args.reps, args.gap, args.min_time, log, reference)
                finally:
                    ours.close()
                    reference = ref_model = None
                res.update(model=bm.name, dtype=dtype, n_parameters=n_params, family=bm.family)
                rows.append(res)
                del tmodel
                gc.collect()
                if not args.keep:
                    shutil.rmtree(out_dir, ignore_errors=True)
            del model
            gc.collect()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    step_n, pre_n = min(args.step_tokens, args.tokens), args.tokens
    print(f"CPU: {cpu_description()}")
    print(f"threads: {args.threads} (both sides); torch {torch.__version__} (OMP_WAIT_POLICY {omp_wait}); "
          f"libxlstm {ours_lib.version} "
          f"(API {ours_lib.api_version}, {args.lib}); ISA path: {isa or 'unknown'}; our precision: {args.precision}")
    print(f"step: {step_n} tokens from an empty state; prefill: {pre_n} tokens -> last-token logits; "
          f"medians of {args.reps} interleaved repetitions; tokens/s; "
          f"load average {load_start} at the start, {load_average()} at the end ({os.cpu_count()} CPUs)")
    hdr = ["model", "dtype", "torch step", "ours step", "ratio", "torch prefill", "ours prefill", "ratio",
           "Δlogits step/prefill"]
    table = []
    for r in rows:
        m = r["median"]
        table.append([r["model"], r["dtype"].replace("float", "f").replace("bfloat", "bf"),
                      f"{m['torch_step']:.1f}", f"{m['ours_step']:.1f}", f"{m['ours_step'] / m['torch_step']:.2f}x",
                      f"{m['torch_prefill']:.1f}", f"{m['ours_prefill']:.1f}",
                      f"{m['ours_prefill'] / m['torch_prefill']:.2f}x",
                      f"{r['agree']['step']:.1e} / {r['agree']['prefill']:.1e}"])
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(hdr)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(hdr, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table:
        print("| " + " | ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
              + " |")
    print("(Δlogits: max|ours - ref| / max|ref| of the last-token logits after the step run / the prefill, ref = "
          "the official float32 computation on the same stored weights (bf16 rows: on the bf16-rounded weights); "
          f"total {time.time() - t_start:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(
            cpu=cpu_description(), threads=args.threads, load_average=[load_start, load_average()],
            omp_wait_policy=omp_wait, torch=torch.__version__, libxlstm=ours_lib.version, isa=isa,
            step_tokens=step_n, prefill_tokens=pre_n, reps=args.reps, rows=rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
