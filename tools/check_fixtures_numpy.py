#!/usr/bin/env python3
"""Independent float64 NumPy re-implementation of both families' step (recurrent) mode -- an executable spec.

It reads ONLY the fixture files (model directory, tokens.i32) -- no xlstm / transformers code -- runs the model
one token at a time and compares with logits.f32 (and logits_parallel.f32). Agreement to ~1e-6 relative shows
that the file formats and the semantics written down here are the ones the official code computes.

Usage:  python tools/check_fixtures_numpy.py [Tests/Fixtures] [--max-tokens N] [--tol 1e-4]
Needs numpy, safetensors and torch (torch only to read bfloat16 safetensors).
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import numpy as np


def load_weights(model_dir: str) -> dict[str, np.ndarray]:
    from safetensors.torch import load_file  # numpy cannot hold bfloat16

    w: dict[str, np.ndarray] = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "*.safetensors"))):  # single file or all shards
        w.update({k: v.double().numpy() for k, v in load_file(path).items()})
    return w


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def logsigmoid(x):
    return -np.logaddexp(0.0, -x)


_erf = np.vectorize(math.erf)
ACTIVATIONS = {
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),  # exact (erf) GELU
    "relu": lambda x: np.maximum(x, 0.0),
    "relu^2": lambda x: np.maximum(x, 0.0) ** 2,
    "sigmoid": sigmoid,
    "swish": lambda x: x * sigmoid(x),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
}


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    """LayerNorm over the last axis (population variance)."""
    mu = x.mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)
    if weight is not None:
        y = y * weight
    return y + bias if bias is not None else y


def rms_norm(x, weight, bias, eps):
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * weight
    return y + bias if bias is not None else y


def up_proj_dim(factor, embedding_dim, multiple_of, round_up=True):
    m = factor * embedding_dim / multiple_of
    return int((math.ceil(m) if round_up else math.floor(m)) * multiple_of)


def headwise(x, weight, bias=None):
    """LinearHeadwiseExpand: weight [NH, out/NH, in/NH], block-diagonal."""
    nh = weight.shape[0]
    y = np.einsum("hd,hod->ho", x.reshape(nh, -1), weight).reshape(-1)
    return y + bias if bias is not None else y


# ----------------------------------------------------------------------------------------------------------
# paper family (xlstm.xLSTMLMModel, model_type "xlstm_lm")
# ----------------------------------------------------------------------------------------------------------

def run_paper(model_dir: str, tokens: np.ndarray) -> np.ndarray:
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = load_weights(model_dir)
    opt = lambda k: w.get(k, 0.0)  # noqa: E731  optional bias
    E = cfg["embedding_dim"]
    block_map = [int(b) for b in cfg["_block_map"].split(",")]
    states: list = [None] * len(block_map)
    out = []
    for tok in tokens:
        x = w["token_embedding.weight"][tok].copy()
        for bi, kind in enumerate(block_map):
            p = f"xlstm_block_stack.blocks.{bi}."
            # all paper LayerNorms are "residual": effective weight = 1 + stored weight, no bias, eps 1e-5
            xn = layer_norm(x, 1.0 + w[p + "xlstm_norm.weight"])
            if kind == 0:  # ---------------- mLSTM block (no FFN)
                mc = cfg["mlstm_block"]["mlstm"]
                NH, K = mc["num_heads"], mc["conv1d_kernel_size"]
                I = up_proj_dim(mc["proj_factor"], E, mc["round_proj_up_to_multiple_of"], mc["round_proj_up_dim_up"])
                DH = I // NH
                st = states[bi] or dict(conv=np.zeros((K, I)), C=np.zeros((NH, DH, DH)), n=np.zeros((NH, DH)),
                                        m=np.zeros(NH))  # m starts at 0 in step mode
                up = w[p + "xlstm.proj_up.weight"] @ xn + opt(p + "xlstm.proj_up.bias")
                xm, z = up[:I], up[I:]
                st["conv"] = np.roll(st["conv"], -1, 0)
                st["conv"][-1] = xm  # window [x_{t-K+1} .. x_t] against weight[:, 0, :].T
                xc = (st["conv"] * w[p + "xlstm.conv1d.conv.weight"][:, 0, :].T).sum(0) + w[p + "xlstm.conv1d.conv.bias"]
                xa = xc * sigmoid(xc)
                q = headwise(xa, w[p + "xlstm.q_proj.weight"], w.get(p + "xlstm.q_proj.bias"))
                k = headwise(xa, w[p + "xlstm.k_proj.weight"], w.get(p + "xlstm.k_proj.bias"))
                v = headwise(xm, w[p + "xlstm.v_proj.weight"], w.get(p + "xlstm.v_proj.bias"))  # v from the un-convolved branch
                qkv = np.concatenate([q, k, v])
                ig = w[p + "xlstm.mlstm_cell.igate.weight"] @ qkv + w[p + "xlstm.mlstm_cell.igate.bias"]
                fg = w[p + "xlstm.mlstm_cell.fgate.weight"] @ qkv + w[p + "xlstm.mlstm_cell.fgate.bias"]
                q, k, v = q.reshape(NH, DH), k.reshape(NH, DH) / math.sqrt(DH), v.reshape(NH, DH)
                lf = logsigmoid(fg)
                m_new = np.maximum(lf + st["m"], ig)
                fa, ia = np.exp(lf + st["m"] - m_new), np.exp(ig - m_new)
                st["C"] = fa[:, None, None] * st["C"] + ia[:, None, None] * np.einsum("hi,hj->hij", k, v)
                st["n"] = fa[:, None] * st["n"] + ia[:, None] * k
                st["m"] = m_new
                den = np.maximum(np.abs((q * st["n"]).sum(1)), np.exp(-m_new)) + 1e-6
                h = np.einsum("hi,hij->hj", q, st["C"]) / den[:, None]
                h = layer_norm(h).reshape(-1) * (1.0 + w[p + "xlstm.mlstm_cell.outnorm.weight"])  # per-head norm
                h = (h + w[p + "xlstm.learnable_skip"] * xa) * (z * sigmoid(z))
                x = x + w[p + "xlstm.proj_down.weight"] @ h + opt(p + "xlstm.proj_down.bias")
                states[bi] = st
            else:  # ---------------- sLSTM block (+ optional gated FFN)
                sc = cfg["slstm_block"]["slstm"]
                NH, K = sc["num_heads"], sc["conv1d_kernel_size"]
                DH = E // NH
                st = states[bi] or dict(conv=np.zeros((max(K, 1), E)), y=np.zeros((NH, DH)), c=np.zeros((NH, DH)),
                                        n=np.zeros((NH, DH)), m=np.zeros((NH, DH)), first=True)
                if K > 0:
                    st["conv"] = np.roll(st["conv"], -1, 0)
                    st["conv"][-1] = xn
                    xc = (st["conv"] * w[p + "xlstm.conv1d.conv.weight"][:, 0, :].T).sum(0) + w[p + "xlstm.conv1d.conv.bias"]
                    xc = xc * sigmoid(xc)
                else:
                    xc = xn
                # The official layer builds the cell input as cat(fgate(x_conv), igate(x_conv), zgate(x), ogate(x)):
                # the module named "fgate" feeds the cell's i gate and "igate" its f gate.
                wx = np.stack([headwise(xc, w[p + "xlstm.fgate.weight"]), headwise(xc, w[p + "xlstm.igate.weight"]),
                               headwise(xn, w[p + "xlstm.zgate.weight"]), headwise(xn, w[p + "xlstm.ogate.weight"])])
                wx = wx.reshape(4, NH, DH).transpose(1, 0, 2)  # [NH, 4, DH]
                R = w[p + "xlstm.slstm_cell.recurrent_kernel"]  # [NH, DH_in, 4, DH_out]
                raw = wx + np.einsum("hi,higo->hgo", st["y"], R) + w[p + "xlstm.slstm_cell.bias"]  # bias [NH, 4, DH]
                ir, fr, zr, orr = raw[:, 0], raw[:, 1], raw[:, 2], raw[:, 3]
                lfm = st["m"] + logsigmoid(fr)
                # first step (n == 0 everywhere): m = i_raw; afterwards m = max(i_raw, m + logsigmoid(f_raw))
                m_new = ir if st["first"] else np.maximum(ir, lfm)
                ia = np.minimum(np.exp(ir - m_new), 1.0)
                fa = np.minimum(np.exp(lfm - m_new), 1.0)
                c = fa * st["c"] + ia * np.tanh(zr)
                n = fa * st["n"] + ia
                y = sigmoid(orr) * c / n
                st.update(y=y, c=c, n=n, m=m_new, first=False)
                x = x + layer_norm(y).reshape(-1) * (1.0 + w[p + "xlstm.group_norm.weight"])
                states[bi] = st
                ff = cfg["slstm_block"].get("feedforward")
                if ff is not None:
                    U = up_proj_dim(ff["proj_factor"], E, ff["round_proj_up_to_multiple_of"], ff["round_proj_up_dim_up"])
                    xf = layer_norm(x, 1.0 + w[p + "ffn_norm.weight"])
                    u = w[p + "ffn.proj_up.weight"] @ xf + opt(p + "ffn.proj_up.bias")
                    hh = ACTIVATIONS[ff["act_fn"]](u[:U]) * u[U:]
                    x = x + w[p + "ffn.proj_down.weight"] @ hh + opt(p + "ffn.proj_down.bias")
        if cfg["add_post_blocks_norm"]:
            x = layer_norm(x, 1.0 + w["xlstm_block_stack.post_blocks_norm.weight"])
        head = w["token_embedding.weight"] if cfg["tie_weights"] else w["lm_head.weight"]
        out.append(head @ x)
    return np.array(out)


# ----------------------------------------------------------------------------------------------------------
# 7B family (transformers xLSTMForCausalLM, model_type "xlstm")
# ----------------------------------------------------------------------------------------------------------

# Defaults of xlstm.xlstm_large.model.xLSTMLargeConfig (xlstm 2.0.6) that the maths uses.
XLSTM_LARGE_DEFAULTS = dict(use_bias=False, norm_eps=1e-6, add_out_norm=True, qk_dim_factor=0.5, v_dim_factor=1.0,
                            eps=1e-6, ffn_proj_factor=2.6667, ffn_round_up_to_multiple_of=64, gate_soft_cap=15.0,
                            output_logit_soft_cap=30.0)


def split_fused(w: dict, cfg: dict, E: int, NH: int) -> dict:
    """xlstm_large.utils.convert_single_weights_to_fused_weights, undone: cat(q,k,v,ogate_preact),
    cat(igate,fgate), cat(proj_up_gate,proj_up) along dim 0 (weights and biases alike)."""
    QK, V = int(E * cfg["qk_dim_factor"]), int(E * cfg["v_dim_factor"])
    out = {}
    for key, t in w.items():
        for fused, parts in ((".qkv_opreact.", [("q", QK), ("k", QK), ("v", V), ("ogate_preact", V)]),
                             (".ifgate_preact.", [("igate_preact", NH), ("fgate_preact", NH)]),
                             (".proj_up_gate_z.", [("proj_up_gate", None), ("proj_up", None)])):
            if fused in key:
                sizes = [n if n is not None else t.shape[0] // 2 for _, n in parts]
                start = 0
                for (name, _), n in zip(parts, sizes):
                    out[key.replace(fused, f".{name}.")] = t[start:start + n]
                    start += n
                break
        else:
            out[key] = t
    return out


def run_large(model_dir: str, tokens: np.ndarray) -> np.ndarray:
    official = not os.path.exists(os.path.join(model_dir, "config.json"))
    w = load_weights(model_dir)
    if official:
        # xlstm.xlstm_large checkpoint: xLSTMLargeConfig(**yaml.safe_load(config.yaml)); model.safetensors or
        # model_0, model_1, ... (merged in order); keys embedding.weight, backbone.*, lm_head.weight.
        import yaml

        cfg = dict(XLSTM_LARGE_DEFAULTS)
        cfg.update(yaml.safe_load(open(os.path.join(model_dir, "config.yaml"), encoding="utf-8")))
        w["backbone.embeddings.weight"] = w.pop("embedding.weight")
        w = split_fused(w, cfg, cfg["embedding_dim"], cfg["num_heads"])
    else:
        cfg = json.load(open(os.path.join(model_dir, "config.json")))
        if cfg.get("weight_mode", "single") != "single":
            raise NotImplementedError("weight_mode 'fused'")
    opt = lambda k: w.get(k, 0.0)  # noqa: E731
    E, NH = cfg.get("embedding_dim") or cfg["hidden_size"], cfg["num_heads"]
    nb = cfg.get("num_blocks") or cfg["num_hidden_layers"]
    eps = cfg["norm_eps"]
    QK, V = int(E * cfg["qk_dim_factor"]), int(E * cfg["v_dim_factor"])  # the layers' dims: no rounding
    cap = lambda x, c: c * np.tanh(x / c) if c is not None else x  # noqa: E731
    st = [dict(C=np.zeros((NH, QK // NH, V // NH)), n=np.zeros((NH, QK // NH)), m=np.zeros(NH)) for _ in range(nb)]
    out = []
    for tok in tokens:
        x = w["backbone.embeddings.weight"][tok].copy()
        for bi in range(nb):
            p = f"backbone.blocks.{bi}."
            L = p + "mlstm_layer."
            xn = rms_norm(x, w[p + "norm_mlstm.weight"], w.get(p + "norm_mlstm.bias"), eps)
            q = (w[L + "q.weight"] @ xn + opt(L + "q.bias")).reshape(NH, -1)
            k = (w[L + "k.weight"] @ xn + opt(L + "k.bias")).reshape(NH, -1)
            v = (w[L + "v.weight"] @ xn + opt(L + "v.bias")).reshape(NH, -1)
            o = w[L + "ogate_preact.weight"] @ xn + opt(L + "ogate_preact.bias")
            i = cap(w[L + "igate_preact.weight"] @ xn + w[L + "igate_preact.bias"], cfg["gate_soft_cap"])
            f = cap(w[L + "fgate_preact.weight"] @ xn + w[L + "fgate_preact.bias"], cfg["gate_soft_cap"])
            s = st[bi]
            lf = logsigmoid(f)
            m_new = np.maximum(lf + s["m"], i)
            fa, ia = np.exp(lf + s["m"] - m_new), np.exp(i - m_new)
            s["C"] = fa[:, None, None] * s["C"] + ia[:, None, None] * np.einsum("hi,hj->hij", k, v)
            s["n"] = fa[:, None] * s["n"] + ia[:, None] * k
            s["m"] = m_new
            qs = q * q.shape[1] ** -0.5  # here q (not k) carries 1/sqrt(d_qk)
            den = np.maximum(np.abs((qs * s["n"]).sum(1)), np.exp(-m_new)) + cfg["eps"]
            h = np.einsum("hi,hij->hj", qs, s["C"]) / den[:, None]
            h = layer_norm(h, None, None, eps).reshape(-1) * w[L + "multihead_norm.weight"] + opt(L + "multihead_norm.bias")
            x = x + w[L + "out_proj.weight"] @ (sigmoid(o) * h) + opt(L + "out_proj.bias")
            xf = rms_norm(x, w[p + "norm_ffn.weight"], w.get(p + "norm_ffn.bias"), eps)
            a = w[p + "ffn.proj_up_gate.weight"] @ xf + opt(p + "ffn.proj_up_gate.bias")
            u = w[p + "ffn.proj_up.weight"] @ xf + opt(p + "ffn.proj_up.bias")
            x = x + w[p + "ffn.proj_down.weight"] @ (a * sigmoid(a) * u) + opt(p + "ffn.proj_down.bias")
        if not official:
            # transformers applies backbone.out_norm (RMSNorm, never a bias) whatever add_out_norm says
            x = rms_norm(x, w["backbone.out_norm.weight"], None, eps)
        elif cfg["add_out_norm"]:
            # xLSTMLarge: RMSNorm(use_bias=use_bias) only with add_out_norm, else Identity
            x = rms_norm(x, w["backbone.out_norm.weight"], w.get("backbone.out_norm.bias"), eps)
        # transformers 5.24 never ties: lm_head.weight is used when present (tie_word_embeddings notwithstanding)
        head = w["lm_head.weight"] if "lm_head.weight" in w else w["backbone.embeddings.weight"]
        out.append(cap(head @ x, cfg["output_logit_soft_cap"]))
    return np.array(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures"))
    ap.add_argument("--max-tokens", type=int, default=None, help="only the first N tokens of each fixture")
    ap.add_argument("--tol", type=float, default=1e-4, help="max |numpy - reference| / max |reference|")
    args = ap.parse_args(argv)

    failed = checked = 0
    for name in sorted(os.listdir(args.root)):
        d = os.path.join(args.root, name)
        if not os.path.isfile(os.path.join(d, "meta.json")):
            continue
        meta = json.load(open(os.path.join(d, "meta.json")))
        shape = (meta["n_tokens"], meta["vocab_size"])
        tokens = np.fromfile(os.path.join(d, "tokens.i32"), "<i4")
        n = len(tokens) if args.max_tokens is None else min(len(tokens), args.max_tokens)
        step = np.fromfile(os.path.join(d, "logits.f32"), "<f4").reshape(shape)[:n]
        par = np.fromfile(os.path.join(d, "logits_parallel.f32"), "<f4").reshape(shape)[:n]
        run = run_paper if meta["family"] == "paper" else run_large
        got = run(os.path.join(d, "model"), tokens[:n])
        scale = np.abs(step).max()
        e_step, e_par = np.abs(got - step).max() / scale, np.abs(got - par).max() / scale
        ok = e_step <= args.tol and e_par <= args.tol
        failed += not ok
        checked += 1
        print(f"{'ok  ' if ok else 'FAIL'} {name:22s} n={n:5d}  vs step {e_step:.2e}  vs parallel {e_par:.2e}")
    print(f"checked {checked} fixture(s), {failed} mismatch(es)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
