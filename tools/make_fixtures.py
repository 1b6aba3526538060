#!/usr/bin/env python3
"""Build the reference fixtures under Tests/Fixtures/ from the official xLSTM implementations.

Every fixture is a small model with perturbed random weights, a random token sequence and the reference
logits after every token, computed in float32 on CPU by the official code:

* paper family  -- ``xlstm.xLSTMLMModel`` (sLSTM backend ``vanilla``); step mode = ``model.step`` one token
                   at a time from ``state=None``; parallel = ``model(idx)`` over the whole sequence.
* 7B family     -- ``transformers.xLSTMForCausalLM`` in ``mode="inference"`` with the native kernels; step mode
                   = one token per call with ``use_cache=True``, feeding the returned ``cache`` back (the
                   ``native`` step kernel, from a zero state); parallel = one call over the whole sequence with
                   ``use_cache=False`` (chunkwise native kernel, padded to the chunk size).
* official layout -- ``xlstm.xlstm_large.model.xLSTMLarge`` itself, saved as the official checkpoint layout
                   (``config.yaml`` + ``model.safetensors`` / ``model_{n}.safetensors``) that
                   ``xlstm_large.from_pretrained.load_from_pretrained`` reads; step mode = ``model(tok, state)``
                   from ``state=None``; parallel = ``model(idx)`` (chunkwise native kernel).

Output per fixture (``Tests/Fixtures/<name>/``): ``model/`` (model directory), ``tokens.i32`` (little-endian
int32), ``logits.f32`` (little-endian float32 [n_tokens, vocab], step mode), ``logits_parallel.f32`` (same shape,
whole-sequence forward) and ``meta.json``. See tools/README.md.

Deterministic: fixed seeds, one CPU thread, deterministic algorithms; re-running reproduces byte-identical files
given the same package versions. Every run also re-loads each written model directory with the official loaders
(``load_paper_model`` / ``xLSTMForCausalLM.from_pretrained``) and checks that the weights and logits match exactly.

Usage:  /path/to/venv/bin/python tools/make_fixtures.py [--out Tests/Fixtures] [--only NAME ...] [--list]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parent
sys.path.insert(0, str(TOOLS_DIR))

from export_paper_model import (  # noqa: E402
    export_paper_model,
    external_state_dict,
    load_paper_model,
    slstm_cells,
)

ROUNDTRIP_STEP_TOKENS = 24  # step-mode tokens re-run on the reloaded model (all of them for short fixtures)


# ==========================================================================================================
# fixture specifications
# ==========================================================================================================

@dataclass
class Fixture:
    name: str
    family: str  # "paper" | "large"
    seed: int
    n_tokens: int
    dtype: str  # storage dtype of the model directory
    description: str
    config: dict  # family-specific config arguments (see build_paper_model / build_large_model)
    perturb: dict = field(default_factory=dict)  # overrides of the perturbation scheme
    max_shard_size: str | None = None  # large family: save_pretrained(max_shard_size=...)
    # Tests/<folder>: hostile-value fixtures live in Tests/FixturesHostile, outside the 1e-4 suites
    # (their float32 conditioning is worse: see the Swift HostileValueTests and README "Reliability").
    folder: str = "Fixtures"


def _paper(**kw) -> dict:
    return kw


FIXTURES: list[Fixture] = [
    Fixture(
        name="paper_mixed", family="paper", seed=1001, n_tokens=64, dtype="float32",
        description=(
            "Paper xLSTMLMModel, 4 blocks, block map m,s,m,s (slstm_at=[1,3]); embedding 64, vocab 100. "
            "mLSTM: 4 heads, qkv_proj_blocksize 4, conv1d 4, proj_factor 2.0 (inner 128). sLSTM: 4 heads (head_dim 16), "
            "conv1d 4, vanilla backend; gated FFN gelu proj_factor 1.3 (-> 128). bias False, post-blocks LayerNorm. "
            "All weights perturbed (recurrent kernel, gate weights/biases non-zero; input-gate biases spread per head)."
        ),
        config=_paper(
            embedding_dim=64, vocab_size=100, num_blocks=4, slstm_at=[1, 3], bias=False,
            mlstm=dict(num_heads=4, qkv_proj_blocksize=4, conv1d_kernel_size=4, proj_factor=2.0),
            slstm=dict(num_heads=4, conv1d_kernel_size=4),
            feedforward=dict(proj_factor=1.3, act_fn="gelu"),
        ),
    ),
    Fixture(
        name="paper_slstm_only", family="paper", seed=1002, n_tokens=64, dtype="float32",
        description=(
            "Paper xLSTMLMModel with mlstm_block=None (slstm_at becomes 'all'), 2 sLSTM blocks; embedding 64, vocab 90. "
            "sLSTM: 2 heads (head_dim 32), conv1d 4. Gated FFN act 'swish' (SiLU), proj_factor 1.0 (-> 64), FFN bias True. "
            "Top-level bias=True (note: it only reaches mLSTM layers, so here only the FFN biases exist)."
        ),
        config=_paper(
            embedding_dim=64, vocab_size=90, num_blocks=2, slstm_at="all", bias=True, mlstm=None,
            slstm=dict(num_heads=2, conv1d_kernel_size=4),
            feedforward=dict(proj_factor=1.0, act_fn="swish", bias=True),
        ),
    ),
    Fixture(
        name="paper_mlstm_only", family="paper", seed=1003, n_tokens=64, dtype="float32",
        description=(
            "Paper xLSTMLMModel with slstm_block=None, 2 mLSTM blocks; embedding 64, vocab 96; bias=True "
            "(proj_up/q/k/v/proj_down biases); tie_weights=True (no lm_head.weight in the file: logits use the "
            "embedding). mLSTM: 2 heads (head_dim 64), qkv_proj_blocksize 8, conv1d 4, proj_factor 2.0."
        ),
        config=_paper(
            embedding_dim=64, vocab_size=96, num_blocks=2, slstm_at=[], bias=True, tie_weights=True,
            mlstm=dict(num_heads=2, qkv_proj_blocksize=8, conv1d_kernel_size=4, proj_factor=2.0),
            slstm=None, feedforward=None,
        ),
    ),
    Fixture(
        name="paper_noconv", family="paper", seed=1004, n_tokens=64, dtype="float32",
        description=(
            "Paper xLSTMLMModel, 3 blocks s,m,s (slstm_at=[0,2]); embedding 48 (not a multiple of 64), vocab 64; "
            "add_post_blocks_norm=False. sLSTM: conv1d_kernel_size=0 (no conv: gates read the block input directly), "
            "4 heads (head_dim 12). mLSTM: 4 heads, conv1d 2, proj_factor 2.0 -> 96 rounded up to inner 128. "
            "Gated FFN act 'relu^2', proj_factor 1.7 with round_proj_up_to_multiple_of 16 (81.6 -> 96)."
        ),
        config=_paper(
            embedding_dim=48, vocab_size=64, num_blocks=3, slstm_at=[0, 2], bias=False,
            add_post_blocks_norm=False,
            mlstm=dict(num_heads=4, qkv_proj_blocksize=4, conv1d_kernel_size=2, proj_factor=2.0),
            slstm=dict(num_heads=4, conv1d_kernel_size=0),
            feedforward=dict(proj_factor=1.7, act_fn="relu^2", round_proj_up_to_multiple_of=16),
        ),
    ),
    Fixture(
        name="paper_bf16", family="paper", seed=1005, n_tokens=64, dtype="bfloat16",
        description=(
            "Paper xLSTMLMModel stored as bfloat16: 3 blocks s,m,m (slstm_at=[0]); embedding 64, vocab 80. "
            "mLSTM 4 heads, qkv_proj_blocksize 4; sLSTM 4 heads, conv1d 4; FFN gelu 1.3. The weights were rounded "
            "to bfloat16 and the reference logits computed from the rounded weights in float32."
        ),
        config=_paper(
            embedding_dim=64, vocab_size=80, num_blocks=3, slstm_at=[0], bias=False,
            mlstm=dict(num_heads=4, qkv_proj_blocksize=4, conv1d_kernel_size=4, proj_factor=2.0),
            slstm=dict(num_heads=4, conv1d_kernel_size=4),
            feedforward=dict(proj_factor=1.3, act_fn="gelu"),
        ),
        perturb=dict(slstm_fgate_offset=(3.0, 6.0)),
    ),
    Fixture(
        name="paper_long", family="paper", seed=1006, n_tokens=2000, dtype="float32",
        description=(
            "Paper xLSTMLMModel, long sequence (2000 tokens, context_length 2000): 2 blocks m,s (slstm_at=[1]); "
            "embedding 32, vocab 48. mLSTM 4 heads (inner 64, head_dim 16), qkv_proj_blocksize 4; sLSTM 4 heads "
            "(head_dim 8), conv1d 4; FFN gelu 1.3 (-> 64). Checks long-horizon stability of the stabilisers."
        ),
        config=_paper(
            embedding_dim=32, vocab_size=48, num_blocks=2, slstm_at=[1], bias=False,
            mlstm=dict(num_heads=4, qkv_proj_blocksize=4, conv1d_kernel_size=4, proj_factor=2.0),
            slstm=dict(num_heads=4, conv1d_kernel_size=4),
            feedforward=dict(proj_factor=1.3, act_fn="gelu"),
        ),
    ),
    Fixture(
        name="paper_extreme_gates", family="paper", seed=1007, n_tokens=64, dtype="float32",
        description=(
            "Paper xLSTMLMModel with hostile values (issue 13): 2 blocks m,s (slstm_at=[1]); embedding 32, vocab 48. "
            "Gate biases spread over +-1e4 per head (mLSTM input and forget gates, sLSTM input gate and forget "
            "offset), so gate pre-activations reach +-1e4 and every stabiliser branch is taken at the extremes. "
            "(Inputs of +-1e30 are not a fixture: the official code turns them into NaN; see README Reliability.)"
        ),
        config=_paper(
            embedding_dim=32, vocab_size=48, num_blocks=2, slstm_at=[1], bias=False,
            mlstm=dict(num_heads=4, qkv_proj_blocksize=4, conv1d_kernel_size=4, proj_factor=2.0),
            slstm=dict(num_heads=4, conv1d_kernel_size=4),
            feedforward=dict(proj_factor=1.3, act_fn="gelu"),
        ),
        perturb=dict(mlstm_igate_bias=(-1e4, 1e4), mlstm_fgate_bias=(-1e4, 1e4), slstm_igate_bias=(-1e4, 1e4),
                     slstm_fgate_offset=(-1e4, 1e4)),
        folder="FixturesHostile",
    ),
    Fixture(
        name="large_basic", family="large", seed=2001, n_tokens=64, dtype="float32",
        description=(
            "HF xLSTMForCausalLM (xLSTM-7B architecture): hidden 64, 2 heads, 2 blocks, vocab 100, defaults "
            "otherwise: qk_dim_factor 0.5 (qk_dim 32, head 16), v_dim_factor 1.0 (v_dim 64, head 32), "
            "ffn_proj_factor 2.667 -> 192, gate_soft_cap 15, output_logit_soft_cap 30, norm_eps 1e-6, no biases, "
            "untied; float32, single model.safetensors."
        ),
        config=dict(vocab_size=100, hidden_size=64, num_heads=2, num_blocks=2),
    ),
    Fixture(
        name="large_bias_tied_caps", family="large", seed=2002, n_tokens=64, dtype="float32",
        description=(
            "HF xLSTMForCausalLM: hidden 64, 2 heads, 3 blocks, vocab 96; use_bias True (all linears + norms except "
            "backbone.out_norm), gate_soft_cap 5.0, output_logit_soft_cap 8.0 (pre-cap logits reach well beyond 8), "
            "ffn_proj_factor 1.5 rounded to a multiple of 32 (-> 96), qk_dim_factor 0.25 (qk_dim 16, head 8), "
            "v_dim_factor 0.5 (v_dim 32, head 16), norm_eps 1e-5. tie_word_embeddings True in config.json, BUT "
            "transformers 5.24's xLSTMForCausalLM declares no _tied_weights_keys, so nothing is tied: lm_head.weight "
            "is an independent tensor (different from the embedding), it is in the file, and the reference logits "
            "use it. A loader must use lm_head.weight when present and tie only when it is absent."
        ),
        config=dict(vocab_size=96, hidden_size=64, num_heads=2, num_blocks=3, use_bias=True,
                    tie_word_embeddings=True, gate_soft_cap=5.0, output_logit_soft_cap=8.0,
                    ffn_proj_factor=1.5, ffn_round_up_to_multiple_of=32, v_dim_factor=0.5,
                    qk_dim_factor=0.25, norm_eps=1e-5),
        perturb=dict(gate_weight_scale=3.0, igate_bias=(-6.0, 4.0), fgate_bias=(-1.0, 5.0),
                     lm_head_rel=8.0),
    ),
    Fixture(
        name="large_bf16_sharded", family="large", seed=2003, n_tokens=64, dtype="bfloat16",
        description=(
            "HF xLSTMForCausalLM stored as bfloat16, sharded (save_pretrained max_shard_size=40KB -> "
            "model-0000k-of-0000n.safetensors + model.safetensors.index.json): hidden 64, 4 heads, 2 blocks, "
            "vocab 64, qk_dim_factor 1.0 (qk_dim 64, head 16), v_dim_factor 1.0 (v_dim 64, head 16), "
            "ffn_proj_factor 1.0 (-> 64). qk/v dims are multiples of 64, so here transformers' own xLSTMCache "
            "has the right shapes and the step run uses it unmodified. Reference logits computed from the "
            "rounded weights in float32."
        ),
        config=dict(vocab_size=64, hidden_size=64, num_heads=4, num_blocks=2, qk_dim_factor=1.0,
                    v_dim_factor=1.0, ffn_proj_factor=1.0),
        max_shard_size="40KB",
    ),
    Fixture(
        name="large_extreme_gates", family="large", seed=2005, n_tokens=64, dtype="float32",
        description=(
            "HF xLSTMForCausalLM with hostile values (issue 13): hidden 64, 2 heads, 2 blocks, vocab 64, "
            "gate_soft_cap 1e6 (cap*tanh(x/cap) = x to float precision: the +-1e4 pre-activations reach the cell "
            "uncapped; transformers does not accept null), input and forget gate biases spread over +-1e4 per head."
        ),
        config=dict(vocab_size=64, hidden_size=64, num_heads=2, num_blocks=2, gate_soft_cap=1e6),
        perturb=dict(igate_bias=(-1e4, 1e4), fgate_bias=(-1e4, 1e4)),
        folder="FixturesHostile",
    ),
    Fixture(
        name="large_f16", family="large", seed=2004, n_tokens=64, dtype="float16",
        description=(
            "HF xLSTMForCausalLM stored as float16, single file: hidden 64, 2 heads, 2 blocks, vocab 72, "
            "add_out_norm False. NOTE: transformers' xLSTMModel ignores add_out_norm -- it always builds and "
            "applies backbone.out_norm (RMSNorm, no bias; weight is in the file), so the reference logits include "
            "the final RMSNorm (xlstm_large.xLSTMLarge would use Identity instead)."
        ),
        config=dict(vocab_size=72, hidden_size=64, num_heads=2, num_blocks=2, add_out_norm=False),
    ),
    # ---- official xlstm_large layout (xlstm.xlstm_large.model.xLSTMLarge; config.yaml + model*.safetensors) ----
    Fixture(
        name="official_qk96", family="official", seed=3001, n_tokens=64, dtype="float32",
        description=(
            "official xlstm_large checkpoint (xLSTMLarge, not transformers): config.yaml as "
            "yaml.safe_dump(dataclasses.asdict(config)) + one model.safetensors; embedding 96, 3 heads, 2 blocks, "
            "vocab 64; qk_dim_factor 1.0 (qk 96, head 32: not a multiple of 64, which transformers' xLSTMCache "
            "cannot hold), v_dim_factor 0.375 (v 36, head 12), ffn_proj_factor 1.0 rounded to a multiple of 32 "
            "(-> 96), no biases, caps 15/30, out_norm; chunk_size 16 (the whole-sequence reference runs 4 chunks "
            "of the chunkwise kernel)."
        ),
        config=dict(embedding_dim=96, num_heads=3, num_blocks=2, vocab_size=64, qk_dim_factor=1.0,
                    v_dim_factor=0.375, ffn_proj_factor=1.0, ffn_round_up_to_multiple_of=32, chunk_size=16),
        perturb=dict(yaml="safe_dump"),
    ),
    Fixture(
        name="official_bias_sharded_bf16", family="official", seed=3002, n_tokens=64, dtype="bfloat16",
        description=(
            "official xlstm_large checkpoint stored as bfloat16 in 3 files model_0/1/2.safetensors (the official "
            "loader's sharding: merged with dict.update), config.yaml as yaml.dump(..., sort_keys=False) (field "
            "order); use_bias True with non-zero biases on every linear and norm, backbone.out_norm.bias included "
            "(transformers' out_norm has no bias); embedding 64, 2 heads, 2 blocks, vocab 80, qk_dim_factor 0.375 "
            "(qk 24, head 12), v_dim_factor 0.75 (v 48, head 24), ffn_proj_factor 1.5 rounded to 16 (-> 96), "
            "norm_eps 1e-5, eps 1e-5, gate_soft_cap 10, output_logit_soft_cap null (no logit cap). Reference "
            "computed from the bf16-rounded weights in float32."
        ),
        config=dict(embedding_dim=64, num_heads=2, num_blocks=2, vocab_size=80, use_bias=True,
                    qk_dim_factor=0.375, v_dim_factor=0.75, ffn_proj_factor=1.5, ffn_round_up_to_multiple_of=16,
                    norm_eps=1e-5, eps=1e-5, gate_soft_cap=10.0, output_logit_soft_cap=None, chunk_size=16),
        perturb=dict(yaml="dump_in_order", shards=3, gate_weight_scale=2.0),
    ),
    Fixture(
        name="official_fused_no_out_norm", family="official", seed=3003, n_tokens=64, dtype="float32",
        description=(
            "official xlstm_large checkpoint with fused weights (xlstm.xlstm_large.utils."
            "convert_single_weights_to_fused_weights: qkv_opreact, ifgate_preact, proj_up_gate_z), one "
            "model.safetensors; config.yaml written by hand with a comment and only the non-default fields "
            "(the rest take xLSTMLargeConfig's defaults); add_out_norm False (no backbone.out_norm: Identity), "
            "gate_soft_cap null and output_logit_soft_cap null (no caps at all); embedding 64, 4 heads, 2 blocks, "
            "vocab 48, qk 32 (head 8), v 64 (head 16), ffn_proj_factor 1.0 (-> 64). The references come from "
            "xLSTMLarge(weight_mode='fused') with this state dict; the single-weight model gives the same logits."
        ),
        config=dict(embedding_dim=64, num_heads=4, num_blocks=2, vocab_size=48, add_out_norm=False,
                    gate_soft_cap=None, output_logit_soft_cap=None, ffn_proj_factor=1.0, chunk_size=16),
        perturb=dict(yaml="non_default", fused=True, igate_bias=(-3.0, 1.0), fgate_bias=(1.0, 4.0)),
    ),
]


# ==========================================================================================================
# determinism helpers
# ==========================================================================================================

def setup_torch() -> None:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    warnings.filterwarnings("ignore")
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except Exception:  # pragma: no cover
        pass


def _noise(p: torch.Tensor, std: float, gen: torch.Generator) -> torch.Tensor:
    return torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.dtype) * std


def _std(p: torch.Tensor, fallback: float) -> float:
    if p.numel() > 1:
        s = float(p.detach().float().std())
        if s > 1e-8:
            return s
    return fallback


# ==========================================================================================================
# paper family
# ==========================================================================================================

def build_paper_model(fx: Fixture):
    from xlstm import (
        FeedForwardConfig,
        mLSTMBlockConfig,
        mLSTMLayerConfig,
        sLSTMBlockConfig,
        sLSTMLayerConfig,
        xLSTMLMModel,
        xLSTMLMModelConfig,
    )

    c = fx.config
    mlstm_block = None
    if c.get("mlstm") is not None:
        mlstm_block = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(**c["mlstm"]))
    slstm_block = None
    if c.get("slstm") is not None:
        ff = FeedForwardConfig(**c["feedforward"]) if c.get("feedforward") is not None else None
        slstm_block = sLSTMBlockConfig(slstm=sLSTMLayerConfig(backend="vanilla", **c["slstm"]), feedforward=ff)
    cfg = xLSTMLMModelConfig(
        mlstm_block=mlstm_block,
        slstm_block=slstm_block,
        context_length=max(fx.n_tokens, 16),
        num_blocks=c["num_blocks"],
        embedding_dim=c["embedding_dim"],
        add_post_blocks_norm=c.get("add_post_blocks_norm", True),
        bias=c.get("bias", False),
        slstm_at=c.get("slstm_at", []),
        vocab_size=c["vocab_size"],
        tie_weights=c.get("tie_weights", False),
    )
    torch.manual_seed(fx.seed)
    model = xLSTMLMModel(cfg)
    model.reset_parameters()  # the official init (the constructor leaves embedding / lm_head at torch defaults)
    perturb_paper(model, fx)
    if fx.dtype != "float32":
        round_weights_(model, fx.dtype)
    return model.eval()


def perturb_paper(model, fx: Fixture) -> None:
    """Add noise to EVERY parameter, then spread the gate biases so both stabiliser branches are taken."""
    gen = torch.Generator().manual_seed(fx.seed * 7919 + 17)
    pp = fx.perturb
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied weights appear once
            if name.endswith("slstm_cell._recurrent_kernel_"):
                cell_cfg = _owner(model, name).config
                std = pp.get("slstm_recurrent_scale", 1.0) / math.sqrt(cell_cfg.head_dim)
            elif name.endswith("slstm_cell._bias_"):
                std = 0.3
            elif name.endswith(("mlstm_cell.igate.weight", "mlstm_cell.fgate.weight")):
                std = pp.get("gate_weight_scale", 1.5) / math.sqrt(p.shape[-1])
            elif name.endswith(("mlstm_cell.igate.bias", "mlstm_cell.fgate.bias")):
                std = 0.0  # set below
            elif name.endswith(("q_proj.weight", "k_proj.weight")):
                std = pp.get("qk_proj_std", 0.4)  # official init makes q.n tiny; trained models are not like that
            elif "norm" in name and name.endswith("weight"):
                std = 0.2  # residual-style LayerNorm weights: effective weight 1 + w
            elif name.endswith("learnable_skip"):
                std = 0.3
            elif ".conv1d.conv.weight" in name:
                std = 0.2
            elif ".conv1d.conv.bias" in name:
                std = 0.1
            elif name == "token_embedding.weight":
                std = 0.5 * _std(p, 0.1)
            elif name == "lm_head.weight":
                std = pp.get("lm_head_rel", 1.0) * _std(p, 0.1)
            elif name.endswith(".bias"):
                std = 0.1
            else:
                std = 0.5 * _std(p, 0.05)
            if std > 0:
                p.add_(_noise(p, std, gen))

        # mLSTM cells: per-head input/forget gate bias levels (+ jitter)
        for mname, m in model.named_modules():
            if mname.endswith("mlstm_cell"):
                nh = m.igate.bias.shape[0]
                lo, hi = pp.get("mlstm_igate_bias", (-5.0, 3.0))
                m.igate.bias.copy_(torch.linspace(lo, hi, nh) + _noise(m.igate.bias, 0.2, gen))
                lo, hi = pp.get("mlstm_fgate_bias", (0.0, 5.0))
                m.fgate.bias.copy_(torch.linspace(lo, hi, nh) + _noise(m.fgate.bias, 0.2, gen))

        # sLSTM cells: per-head level of the cell's "i" gate bias (chunk 0), and a per-head offset on top of the
        # official power-law "f" bias (chunk 1; +noise above). The sLSTM output is invariant to a constant shift
        # of i (y = o*c/n), so the branch mix of its stabiliser is steered by the f bias.
        for _, cell in slstm_cells(model):
            ext = cell.bias.clone()  # [NH, 4, DH]
            nh, _, dh = ext.shape
            lo, hi = pp.get("slstm_igate_bias", (-4.0, 1.0))
            ext[:, 0, :] = torch.linspace(lo, hi, nh)[:, None] + _noise(ext[:, 0, :], 0.3, gen)
            lo, hi = pp.get("slstm_fgate_offset", (0.0, 4.0))
            ext[:, 1, :] += torch.linspace(lo, hi, nh)[:, None]
            cell.bias[:] = ext
        _extreme_embedding_rows(model.token_embedding.weight, pp)


def _extreme_embedding_rows(weight: torch.Tensor, pp: dict) -> None:
    """Rows 0..k-1 of the embedding become +-1e30 (alternating signs), k = pp["extreme_embedding_rows"]."""
    k = pp.get("extreme_embedding_rows", 0)
    if k:
        signs = torch.tensor([1.0 if j % 2 == 0 else -1.0 for j in range(weight.shape[1])])
        for row in range(k):
            weight[row].copy_(signs * (1e30 if row % 2 == 0 else -1e30))


def _owner(model, param_name: str):
    mod = model
    for part in param_name.split(".")[:-1]:
        mod = getattr(mod, part)
    return mod


def round_weights_(model, dtype: str) -> None:
    """Round every parameter to ``dtype`` and back to float32 (so the reference uses exactly the stored values)."""
    tdt = {"bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(tdt).to(torch.float32))


class PaperStats:
    """Counts which branch the stabilisers / normalisers take during the step-mode run."""

    def __init__(self):
        self.enabled = False
        self.reset()

    def reset(self):
        self.m_total = self.m_igate = self.m_lower = 0
        self.s_total = self.s_igate = 0
        self.max_abs_m = 0.0

    def as_dict(self) -> dict:
        d = {}
        if self.m_total:
            d["mlstm_stabiliser_input_gate_branch"] = round(self.m_igate / self.m_total, 4)
            d["mlstm_normaliser_lower_bound_branch"] = round(self.m_lower / self.m_total, 4)
            d["mlstm_max_abs_m"] = round(self.max_abs_m, 3)
        if self.s_total:
            d["slstm_stabiliser_input_gate_branch"] = round(self.s_igate / self.s_total, 4)
        return d


def instrument_paper(model, stats: PaperStats) -> None:
    """Wrap the official step backends to record branch statistics (results are passed through unchanged)."""
    for mname, m in model.named_modules():
        if mname.endswith("mlstm_cell"):
            fn = m.backend_fn_step

            def wrapped(c_state, n_state, m_state, q, k, v, igate_preact, fgate_preact, _fn=fn, **kw):
                if stats.enabled:
                    q_copy = q.detach().clone()
                    cand_f = F.logsigmoid(fgate_preact) + m_state
                out = _fn(c_state=c_state, n_state=n_state, m_state=m_state, q=q, k=k, v=v,
                          igate_preact=igate_preact, fgate_preact=fgate_preact, **kw)
                if stats.enabled:
                    _, (_, n_new, m_new) = out
                    qv = q_copy.reshape(*n_new.shape[:2], 1, -1)  # (B, NH, 1, DH)
                    qn = (qv @ n_new).abs()  # (B, NH, 1, 1)
                    stats.m_total += m_new.numel()
                    stats.m_igate += int((igate_preact > cand_f).sum())
                    stats.m_lower += int((torch.exp(-m_new) > qn).sum())
                    stats.max_abs_m = max(stats.max_abs_m, float(m_new.abs().max()))
                return out

            m.backend_fn_step = wrapped
    for _, cell in slstm_cells(model):
        pw = cell.pointwise

        def wrapped_pw(Wx, Ry, b, states, constants, _pw=pw):
            if stats.enabled:
                raw = Wx + Ry + b
                _, _, n, mst = torch.unbind(states.view(4, states.shape[1], -1), dim=0)
                iraw, fraw, _, _ = torch.unbind(raw.view(raw.shape[0], 4, -1), dim=1)
                if not bool(torch.all(n == 0.0)):
                    stats.s_total += iraw.numel()
                    stats.s_igate += int((iraw > mst + F.logsigmoid(fraw)).sum())
            return _pw(Wx, Ry, b, states, constants=constants)

        cell.pointwise = wrapped_pw


@torch.no_grad()
def paper_step_logits(model, idx: torch.Tensor, n: int | None = None) -> torch.Tensor:
    n = idx.shape[1] if n is None else n
    out = torch.empty(n, model.config.vocab_size, dtype=torch.float32)
    state = None
    for t in range(n):
        logits, state = model.step(idx[:, t:t + 1], state)
        out[t] = logits[0, -1]
    return out


@torch.no_grad()
def paper_parallel_logits(model, idx: torch.Tensor) -> torch.Tensor:
    return model(idx)[0].float().clone()


def paper_fixture(fx: Fixture, out_dir: Path, check_roundtrip: bool) -> dict:
    model = build_paper_model(fx)
    idx = make_tokens(fx, model.config.vocab_size)
    stats = PaperStats()
    instrument_paper(model, stats)

    stats.enabled = True
    step = paper_step_logits(model, idx)
    stats.enabled = False
    par = paper_parallel_logits(model, idx)

    model_dir = out_dir / "model"
    export_paper_model(model, model_dir, dtype=fx.dtype)

    if check_roundtrip:
        reloaded = load_paper_model(model_dir)
        a, b = external_state_dict(model), external_state_dict(reloaded)
        assert a.keys() == b.keys(), (sorted(set(a) ^ set(b)))
        for k in a:
            assert torch.equal(a[k], b[k]), f"{fx.name}: weight {k} differs after reload"
        assert torch.equal(paper_parallel_logits(reloaded, idx), par), f"{fx.name}: parallel logits differ after reload"
        k = min(ROUNDTRIP_STEP_TOKENS, fx.n_tokens)
        assert torch.equal(paper_step_logits(reloaded, idx, k), step[:k]), f"{fx.name}: step logits differ after reload"
        check_paper_file(model, model_dir, fx)

    return dict(idx=idx, step=step, par=par, stats=stats.as_dict(),
                n_parameters=sum(p.numel() for p in model.parameters()))


def check_paper_file(model, model_dir: Path, fx: Fixture) -> None:
    """The stored keys: internal sLSTM tensors replaced by external ones; tied lm_head omitted; stored dtype."""
    from safetensors import safe_open

    with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
        for key in keys:
            assert str(f.get_slice(key).get_dtype()).lower() in {
                "float32": {"f32"}, "bfloat16": {"bf16"}, "float16": {"f16"}}[fx.dtype], key
    assert not any(k.endswith(("_recurrent_kernel_", "_bias_")) for k in keys)
    assert ("lm_head.weight" in keys) == (not model.config.tie_weights)
    for name, cell in slstm_cells(model):
        assert f"{name}.recurrent_kernel" in keys and f"{name}.bias" in keys
    assert not any("causal_mask" in k for k in keys)


# ==========================================================================================================
# 7B family (transformers xLSTMForCausalLM)
# ==========================================================================================================

LARGE_BASE = dict(
    mode="inference",
    chunkwise_kernel="chunkwise--native_autograd",
    sequence_kernel="native_sequence__native",
    step_kernel="native",
    autocast_kernel_dtype="float32",
    inference_state_dtype="float32",
    return_last_states=True,
)


def build_large_model(fx: Fixture):
    from transformers import xLSTMConfig, xLSTMForCausalLM

    c = dict(LARGE_BASE)
    c.update(fx.config)
    c["embedding_dim"] = c["hidden_size"]
    c["num_hidden_layers"] = c["num_blocks"]  # the HF cache is sized by num_hidden_layers
    config = xLSTMConfig(**c)
    torch.manual_seed(fx.seed)
    model = xLSTMForCausalLM(config)
    model = model.to(torch.float32).eval()
    perturb_large(model, fx)
    return model


def perturb_large(model, fx: Fixture) -> None:
    gen = torch.Generator().manual_seed(fx.seed * 7919 + 17)
    pp = fx.perturb
    cfg = model.config
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied weights appear once
            if name.endswith(("igate_preact.weight", "fgate_preact.weight")):
                std = pp.get("gate_weight_scale", 1.5) / math.sqrt(p.shape[-1])
            elif name.endswith(("igate_preact.bias", "fgate_preact.bias")):
                std = 0.0  # set below
            elif "norm" in name and name.endswith("weight"):
                std = 0.2  # weights initialised to 1
            elif name.endswith(".bias"):
                std = 0.1
            elif name in ("backbone.embeddings.weight", "embedding.weight"):
                std = 0.5 * _std(p, 0.1)
            elif name == "lm_head.weight":
                std = pp.get("lm_head_rel", 1.0) * _std(p, 0.1)
            else:
                std = 0.5 * _std(p, 0.05)
            if std > 0:
                p.add_(_noise(p, std, gen))
        nh = cfg.num_heads
        for block in model.backbone.blocks:
            layer = block.mlstm_layer
            lo, hi = pp.get("igate_bias", (-4.0, 2.0))
            layer.igate_preact.bias.copy_(torch.linspace(lo, hi, nh) + _noise(layer.igate_preact.bias, 0.2, gen))
            lo, hi = pp.get("fgate_bias", (0.5, 4.0))
            layer.fgate_preact.bias.copy_(torch.linspace(lo, hi, nh) + _noise(layer.fgate_preact.bias, 0.2, gen))
        _extreme_embedding_rows(model.backbone.embeddings.weight, pp)


def actual_head_dims(model) -> tuple[int, int]:
    layer = model.backbone.blocks[0].mlstm_layer
    nh = model.config.num_heads
    return layer.qk_dim // nh, layer.v_dim // nh


def hf_cache_is_consistent(model) -> bool:
    """transformers sizes xLSTMCache with qk_dim/v_dim rounded UP to a multiple of 64, while the layers use
    int(hidden * factor). They only agree when hidden * factor is a multiple of 64."""
    qk, v = actual_head_dims(model)
    return model.config.qk_head_dim == qk and model.config.v_head_dim == v


def make_step_cache(model):
    """None (let HF create its own zero cache) when HF's cache shapes are right, otherwise an xLSTMCache whose
    zero states have the layers' real shapes (the step path is unchanged: the same native step kernel reads and
    the model copies into these tensors)."""
    if hf_cache_is_consistent(model):
        return None
    from transformers.models.xlstm.modeling_xlstm import xLSTMCache

    cache = xLSTMCache(model.config, max_batch_size=1, dtype=torch.float32, device="cpu")
    qk, v = actual_head_dims(model)
    nh = model.config.num_heads
    cache.rnn_state = {
        layer: (torch.zeros(1, nh, qk, v), torch.zeros(1, nh, qk), torch.zeros(1, nh, 1))
        for layer in range(model.config.num_hidden_layers)
    }
    return cache


class LargeStats:
    def __init__(self):
        self.enabled = False
        self.calls = 0
        self.zero_check_calls = 0
        self.total = self.igate = self.lower = 0
        self.max_abs_gate = 0.0
        self.max_abs_m = 0.0
        self.max_abs_precap_logit = 0.0

    def as_dict(self) -> dict:
        d = {}
        if self.total:
            d["mlstm_stabiliser_input_gate_branch"] = round(self.igate / self.total, 4)
            d["mlstm_normaliser_lower_bound_branch"] = round(self.lower / self.total, 4)
            d["mlstm_max_abs_m"] = round(self.max_abs_m, 3)
            d["max_abs_capped_gate_preact"] = round(self.max_abs_gate, 3)
        d["max_abs_precap_logit"] = round(self.max_abs_precap_logit, 3)
        return d


_LARGE_STATS: LargeStats | None = None
_ORIG_STEP_FW = None


def install_large_step_probe() -> None:
    """Count calls of mlstm_kernels' native step kernel (proves the step path runs it) and record branches."""
    global _ORIG_STEP_FW
    from mlstm_kernels.torch.recurrent import native_step

    if _ORIG_STEP_FW is not None:
        return
    _ORIG_STEP_FW = native_step.mlstm_recurrent_step__native_fw

    def probe(matC_old, vecN_old, scaM_old, vecQ, vecK, vecV, scaI, scaF, eps=1e-6, dtype_state=torch.float32, **kw):
        out = _ORIG_STEP_FW(matC_old=matC_old, vecN_old=vecN_old, scaM_old=scaM_old, vecQ=vecQ, vecK=vecK,
                            vecV=vecV, scaI=scaI, scaF=scaF, eps=eps, dtype_state=dtype_state, **kw)
        st = _LARGE_STATS
        if st is not None:
            st.calls += 1
            if st.calls <= st.zero_check_calls:  # the first token of every block must start from a zero state
                assert not (matC_old.any() or vecN_old.any() or scaM_old.any()), "step run did not start from zeros"
        if st is not None and st.enabled:
            _, (_, n_new, m_new) = out
            cand_f = F.logsigmoid(scaF) + scaM_old
            qn = ((vecQ * vecQ.shape[-1] ** -0.5)[:, :, None, :] @ n_new[:, :, :, None]).squeeze(-1).abs()
            st.total += m_new.numel()
            st.igate += int((scaI > cand_f).sum())
            st.lower += int((torch.exp(-m_new) > qn).sum())
            st.max_abs_m = max(st.max_abs_m, float(m_new.abs().max()))
            st.max_abs_gate = max(st.max_abs_gate, float(scaI.abs().max()), float(scaF.abs().max()))
        return out

    native_step.mlstm_recurrent_step__native_fw = probe


@torch.no_grad()
def large_step_logits(model, idx: torch.Tensor, n: int | None = None) -> torch.Tensor:
    n = idx.shape[1] if n is None else n
    out = torch.empty(n, model.config.vocab_size, dtype=torch.float32)
    cache = make_step_cache(model)
    for t in range(n):
        res = model(input_ids=idx[:, t:t + 1], cache=cache, use_cache=True)
        cache = res.cache
        out[t] = res.logits[0, -1].float()
    return out


@torch.no_grad()
def large_parallel_logits(model, idx: torch.Tensor) -> torch.Tensor:
    return model(input_ids=idx, use_cache=False).logits[0].float().clone()


def large_fixture(fx: Fixture, out_dir: Path, check_roundtrip: bool) -> dict:
    from transformers import xLSTMForCausalLM

    global _LARGE_STATS
    install_large_step_probe()
    model = build_large_model(fx)
    model_dir = out_dir / "model"
    if fx.dtype != "float32":
        tdt = {"bfloat16": torch.bfloat16, "float16": torch.float16}[fx.dtype]
        model = model.to(tdt)
        save_large(model, model_dir, fx)
        model = model.to(torch.float32)  # exact upcast of the rounded weights
    else:
        save_large(model, model_dir, fx)

    idx = make_tokens(fx, model.config.vocab_size)
    stats = LargeStats()
    hook = model.lm_head.register_forward_hook(
        lambda mod, inp, outp: setattr(stats, "max_abs_precap_logit",
                                       max(stats.max_abs_precap_logit, float(outp.abs().max()))))
    _LARGE_STATS = stats
    stats.zero_check_calls = model.config.num_blocks
    stats.enabled = True
    step = large_step_logits(model, idx)
    stats.enabled = False
    calls = stats.calls
    assert calls == fx.n_tokens * model.config.num_blocks, \
        f"{fx.name}: native step kernel ran {calls} times, expected {fx.n_tokens * model.config.num_blocks}"
    par = large_parallel_logits(model, idx)
    assert stats.calls == calls, f"{fx.name}: the whole-sequence forward used the step kernel"
    hook.remove()
    _LARGE_STATS = None

    if check_roundtrip:
        reloaded = xLSTMForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
        # from_pretrained leaves parameters as views at arbitrary offsets into the loaded buffers; CPU gemv
        # kernels sum in an alignment-dependent order (~1e-6 relative), so give them fresh (aligned) storage
        # like the generating model's before demanding bit-identical logits.
        with torch.no_grad():
            for p in reloaded.parameters():
                p.data = p.data.clone()
        a, b = model.state_dict(), reloaded.state_dict()
        assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
        for k in a:
            assert torch.equal(a[k], b[k]), f"{fx.name}: weight {k} differs after from_pretrained"
        assert torch.equal(large_parallel_logits(reloaded, idx), par), f"{fx.name}: parallel logits differ after reload"
        k = min(ROUNDTRIP_STEP_TOKENS, fx.n_tokens)
        assert torch.equal(large_step_logits(reloaded, idx, k), step[:k]), f"{fx.name}: step logits differ after reload"
        check_large_files(model, model_dir, fx)

    st = stats.as_dict()
    st["hf_cache"] = "native" if hf_cache_is_consistent(model) else "resized"
    st["hf_ties_lm_head"] = hf_ties_lm_head(model)
    st["native_step_kernel_calls"] = calls
    return dict(idx=idx, step=step, par=par, stats=st,
                n_parameters=sum(p.numel() for p in model.parameters()))


def hf_ties_lm_head(model) -> bool:
    """Whether transformers really shares lm_head.weight with the embedding. In transformers 5.24
    xLSTMForCausalLM declares no _tied_weights_keys, so tie_word_embeddings=True does NOT tie: lm_head stays an
    independent parameter, is saved, and is what the logits use."""
    return model.lm_head.weight.data_ptr() == model.backbone.embeddings.weight.data_ptr()


def save_large(model, model_dir: Path, fx: Fixture) -> None:
    kwargs = {}
    if fx.max_shard_size:
        kwargs["max_shard_size"] = fx.max_shard_size
    model.save_pretrained(str(model_dir), **kwargs)


def check_large_files(model, model_dir: Path, fx: Fixture) -> None:
    from safetensors import safe_open

    files = sorted(p.name for p in model_dir.glob("*.safetensors"))
    if fx.max_shard_size:
        assert len(files) >= 2 and (model_dir / "model.safetensors.index.json").exists(), files
    else:
        assert files == ["model.safetensors"], files
    want = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}[fx.dtype]
    keys = set()
    for fname in files:
        with safe_open(str(model_dir / fname), "pt") as f:
            for key in f.keys():
                keys.add(key)
                assert str(f.get_slice(key).get_dtype()).lower() == want, (fname, key)
    if hf_ties_lm_head(model):
        assert "lm_head.weight" not in keys, "tied lm_head.weight was saved"
    else:
        assert "lm_head.weight" in keys, "untied lm_head.weight missing"
    assert "backbone.out_norm.weight" in keys


# ==========================================================================================================
# official xlstm_large layout (xlstm.xlstm_large.model.xLSTMLarge, read by from_pretrained.load_from_pretrained)
# ==========================================================================================================

OFFICIAL_BASE = dict(
    mode="inference",
    chunkwise_kernel="chunkwise--native_autograd",
    sequence_kernel="native_sequence__native",
    step_kernel="native",
    autocast_kernel_dtype="float32",
    inference_state_dtype="float32",
    return_last_states=True,
)


def official_config(fx: Fixture):
    from xlstm.xlstm_large.model import xLSTMLargeConfig

    c = dict(OFFICIAL_BASE)
    c.update(fx.config)
    return xLSTMLargeConfig(**c)


def build_official_model(fx: Fixture):
    from xlstm.xlstm_large.model import xLSTMLarge

    torch.manual_seed(fx.seed)
    model = xLSTMLarge(official_config(fx)).to(torch.float32).eval()
    perturb_large(model, fx)
    return model


def write_official_config_yaml(cfg, path: Path, style: str) -> None:
    """config.yaml as the official loader reads it (yaml.safe_load -> xLSTMLargeConfig(**...)), in one of
    three spellings a checkpoint may have."""
    import dataclasses

    import yaml
    from xlstm.xlstm_large.model import xLSTMLargeConfig

    fields = dataclasses.asdict(cfg)
    if style == "safe_dump":  # sorted keys
        text = yaml.safe_dump(fields)
    elif style == "dump_in_order":  # dataclass field order
        text = yaml.dump(fields, sort_keys=False)
    elif style == "non_default":  # by hand: a comment, only the fields that differ from the defaults
        defaults = {f.name: f.default for f in dataclasses.fields(xLSTMLargeConfig)
                    if f.default is not dataclasses.MISSING}
        kept = {k: v for k, v in fields.items() if k not in defaults or defaults[k] != v}
        text = "# xLSTMLargeConfig fields that differ from the defaults (tools/make_fixtures.py)\n" \
               + yaml.safe_dump(kept, sort_keys=False)
    else:
        raise ValueError(style)
    assert xLSTMLargeConfig(**yaml.safe_load(text)) == cfg, "config.yaml does not read back as the config"
    path.write_text(text, encoding="utf-8")


def save_official(model, model_dir: Path, fx: Fixture) -> None:
    from safetensors.torch import save_file
    from xlstm.xlstm_large.utils import convert_single_weights_to_fused_weights

    model_dir.mkdir(parents=True)
    write_official_config_yaml(model.config, model_dir / "config.yaml", fx.perturb["yaml"])
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if fx.perturb.get("fused"):
        sd = convert_single_weights_to_fused_weights({k: v.clone() for k, v in sd.items()})
    shards = fx.perturb.get("shards", 1)
    if shards == 1:
        save_file(sd, str(model_dir / "model.safetensors"))
        return
    keys = list(sd)
    bounds = [round(i * len(keys) / shards) for i in range(shards + 1)]
    for i in range(shards):
        save_file({k: sd[k] for k in keys[bounds[i]:bounds[i + 1]]}, str(model_dir / f"model_{i}.safetensors"))


@torch.no_grad()
def official_step_logits(model, idx: torch.Tensor, n: int | None = None) -> torch.Tensor:
    n = idx.shape[1] if n is None else n
    out = torch.empty(n, model.config.vocab_size, dtype=torch.float32)
    state = None
    for t in range(n):
        logits, state = model(idx[:, t:t + 1], state)
        out[t] = logits[0, -1].float()
    return out


@torch.no_grad()
def official_parallel_logits(model, idx: torch.Tensor) -> torch.Tensor:
    logits, _ = model(idx)
    return logits[0].float().clone()


def load_official_fused(model_dir: Path, fx: Fixture):
    """A fused checkpoint is not what load_from_pretrained reads (it forces weight_mode='single'): build the
    official model in weight_mode='fused' and load the file strictly."""
    import dataclasses

    from safetensors.torch import load_file
    from xlstm.xlstm_large.model import xLSTMLarge

    cfg = dataclasses.replace(official_config(fx), weight_mode="fused")
    fused = xLSTMLarge(cfg).to(torch.float32).eval()
    fused.load_state_dict(load_file(str(model_dir / "model.safetensors")))
    return fused


def official_fixture(fx: Fixture, out_dir: Path, check_roundtrip: bool) -> dict:
    from xlstm.xlstm_large.from_pretrained import load_from_pretrained

    global _LARGE_STATS
    install_large_step_probe()
    model = build_official_model(fx)
    model_dir = out_dir / "model"
    if fx.dtype != "float32":
        tdt = {"bfloat16": torch.bfloat16, "float16": torch.float16}[fx.dtype]
        model = model.to(tdt)
        save_official(model, model_dir, fx)
        model = model.to(torch.float32)  # exact upcast of the rounded weights
    else:
        save_official(model, model_dir, fx)
    if fx.perturb.get("fused"):
        # the references come from the official model running the stored (fused) weights
        single = model
        model = load_official_fused(model_dir, fx)
    if fx.config.get("use_bias"):
        assert float(model.backbone.out_norm.bias.abs().max()) > 0, "out_norm.bias is zero"

    idx = make_tokens(fx, model.config.vocab_size)
    stats = LargeStats()
    hook = model.lm_head.register_forward_hook(
        lambda mod, inp, outp: setattr(stats, "max_abs_precap_logit",
                                       max(stats.max_abs_precap_logit, float(outp.abs().max()))))
    _LARGE_STATS = stats
    stats.zero_check_calls = model.config.num_blocks
    stats.enabled = True
    step = official_step_logits(model, idx)
    stats.enabled = False
    calls = stats.calls
    assert calls == fx.n_tokens * model.config.num_blocks, \
        f"{fx.name}: native step kernel ran {calls} times, expected {fx.n_tokens * model.config.num_blocks}"
    assert fx.n_tokens % model.config.chunk_size == 0
    par = official_parallel_logits(model, idx)
    assert stats.calls == calls, f"{fx.name}: the whole-sequence forward used the step kernel"
    hook.remove()
    _LARGE_STATS = None

    if check_roundtrip:
        if fx.perturb.get("fused"):
            # the single-weight model computes the same function
            assert torch.allclose(official_parallel_logits(single, idx), par, rtol=0, atol=1e-5 * float(par.abs().max()))
            reloaded = load_official_fused(model_dir, fx)
        else:
            reloaded = load_from_pretrained(model_dir).to(torch.float32).eval()
            assert reloaded.config == model.config, (reloaded.config, model.config)
        with torch.no_grad():
            for p in reloaded.parameters():
                p.data = p.data.clone()
        a, b = model.state_dict(), reloaded.state_dict()
        assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
        for k in a:
            assert torch.equal(a[k], b[k]), f"{fx.name}: weight {k} differs after reloading"
        assert torch.equal(official_parallel_logits(reloaded, idx), par), f"{fx.name}: parallel logits differ"
        k = min(ROUNDTRIP_STEP_TOKENS, fx.n_tokens)
        assert torch.equal(official_step_logits(reloaded, idx, k), step[:k]), f"{fx.name}: step logits differ"
        check_official_files(model_dir, fx)

    st = stats.as_dict()
    st["native_step_kernel_calls"] = calls
    st["layout"] = "xlstm_large"
    return dict(idx=idx, step=step, par=par, stats=st,
                n_parameters=sum(p.numel() for p in model.parameters()))


def check_official_files(model_dir: Path, fx: Fixture) -> None:
    from safetensors import safe_open

    files = sorted(p.name for p in model_dir.glob("*.safetensors"))
    shards = fx.perturb.get("shards", 1)
    want_files = ["model.safetensors"] if shards == 1 else [f"model_{i}.safetensors" for i in range(shards)]
    assert files == want_files, files
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(want_files + ["config.yaml"])
    want = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}[fx.dtype]
    keys = set()
    for fname in files:
        with safe_open(str(model_dir / fname), "pt") as f:
            for key in f.keys():
                assert key not in keys, f"{key} in two files"
                keys.add(key)
                assert str(f.get_slice(key).get_dtype()).lower() == want, (fname, key)
    assert "embedding.weight" in keys and "lm_head.weight" in keys
    assert ("backbone.out_norm.weight" in keys) == fx.config.get("add_out_norm", True)
    assert ("backbone.out_norm.bias" in keys) == (fx.config.get("add_out_norm", True)
                                                 and fx.config.get("use_bias", False))
    assert any("qkv_opreact" in k for k in keys) == bool(fx.perturb.get("fused"))


# ==========================================================================================================
# common
# ==========================================================================================================

def make_tokens(fx: Fixture, vocab: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(fx.seed * 104729 + 3)
    return torch.randint(0, vocab, (1, fx.n_tokens), generator=gen, dtype=torch.int64)


def _f(x: float, digits: int = 9) -> float:
    return float(f"{x:.{digits}g}")


def write_fixture(fx: Fixture, root: Path, check_roundtrip: bool) -> dict:
    out_dir = root / fx.name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)

    t0 = time.time()
    res = {"paper": paper_fixture, "large": large_fixture, "official": official_fixture}[fx.family](
        fx, out_dir, check_roundtrip)
    idx, step, par = res["idx"], res["step"], res["par"]
    n, vocab = step.shape
    assert n == fx.n_tokens
    assert torch.isfinite(step).all() and torch.isfinite(par).all(), f"{fx.name}: non-finite logits"

    idx.reshape(-1).numpy().astype("<i4").tofile(out_dir / "tokens.i32")
    step.numpy().astype("<f4").tofile(out_dir / "logits.f32")
    par.numpy().astype("<f4").tofile(out_dir / "logits_parallel.f32")

    max_abs = float(step.abs().max())
    rel = float((step - par).abs().max()) / max_abs
    meta = {
        "family": "large" if fx.family == "official" else fx.family,
        "n_tokens": int(n),
        "vocab_size": int(vocab),
        "description": fx.description,
        "max_abs_logit": _f(max_abs),
        "step_vs_parallel_max_rel": _f(rel, 6),
        "dtype": fx.dtype,
        "n_parameters": int(res["n_parameters"]),
        "seed": fx.seed,
        "stats": res["stats"],
    }
    if fx.family == "official":
        meta["layout"] = "xlstm_large"  # config.yaml + model.safetensors / model_{n}.safetensors
    with open(out_dir / "meta.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")

    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return dict(name=fx.name, family=fx.family, n_tokens=int(n), vocab=int(vocab), max_abs_logit=max_abs,
                rel=rel, bytes=size, seconds=time.time() - t0, stats=res["stats"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Generate the reference fixtures (see tools/README.md).")
    ap.add_argument("--out", default=None,
                    help="fixture root directory (default: Tests/Fixtures, or Tests/FixturesHostile for those fixtures)")
    ap.add_argument("--only", nargs="*", help="fixture names to (re)build; default: all")
    ap.add_argument("--list", action="store_true", help="list the fixtures and exit")
    ap.add_argument("--no-roundtrip", action="store_true", help="skip the reload checks (not recommended)")
    ap.add_argument("--stats", action="store_true", help="also print the gate/stabiliser branch statistics")
    args = ap.parse_args(argv)

    if args.list:
        for fx in FIXTURES:
            print(f"{fx.name:22s} {fx.family:6s} {fx.n_tokens:5d} tokens  {fx.dtype:9s} {fx.description}")
        return 0

    names = {fx.name for fx in FIXTURES}
    selected = FIXTURES
    if args.only:
        unknown = set(args.only) - names
        if unknown:
            ap.error(f"unknown fixture(s): {', '.join(sorted(unknown))}")
        selected = [fx for fx in FIXTURES if fx.name in set(args.only)]

    setup_torch()
    rows = []
    for fx in selected:
        print(f"== {fx.name}", flush=True)
        root = Path(args.out) if args.out else REPO_ROOT / "Tests" / fx.folder
        root.mkdir(parents=True, exist_ok=True)
        rows.append(write_fixture(fx, root, check_roundtrip=not args.no_roundtrip))

    import transformers
    import xlstm

    print()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"xlstm {getattr(xlstm, '__version__', '?')}, numpy {np.__version__}")
    hdr = f"{'name':22s} {'family':6s} {'n_tokens':>8s} {'vocab':>5s} {'max_abs_logit':>13s} " \
          f"{'step_vs_par_rel':>15s} {'bytes':>9s} {'secs':>6s}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['name']:22s} {r['family']:6s} {r['n_tokens']:8d} {r['vocab']:5d} {r['max_abs_logit']:13.4f} "
              f"{r['rel']:15.3e} {r['bytes']:9d} {r['seconds']:6.1f}")
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print("-" * len(hdr))
    print(f"total size of {root}: {total} bytes ({total / 2**20:.2f} MiB)")
    if args.stats:
        print()
        for r in rows:
            print(f"{r['name']:22s} {json.dumps(r['stats'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
