#!/usr/bin/env python3
"""Export an official paper-family xLSTM model (``xlstm.xLSTMLMModel``) to the project's model directory.

Model-directory format (what the Swift runtime reads for ``model_type == "xlstm_lm"``):

* ``config.json``      -- ``{"model_type": "xlstm_lm", **dataclasses.asdict(model.config)}`` (after
                          ``__post_init__``; tuples become lists, anything else non-JSON becomes a string).
* ``model.safetensors`` -- the model's ``state_dict()`` with the official key names, except that every
                          sLSTM cell's backend-internal ``<cell>._recurrent_kernel_`` / ``<cell>._bias_`` are
                          replaced by the backend-independent (external) tensors
                          ``<cell>.recurrent_kernel`` [num_heads, head_dim(in), 4(gates i,f,z,o), head_dim(out)]
                          and ``<cell>.bias`` [num_heads, 4, head_dim].
                          With ``tie_weights=True`` ``lm_head.weight`` is omitted (it is the embedding).
                          Non-persistent buffers (the mLSTM ``causal_mask``) are never saved.

Library use::

    from export_paper_model import export_paper_model, load_paper_model
    export_paper_model(model, "out/dir", dtype="bfloat16")
    model2 = load_paper_model("out/dir")          # float32, sLSTM backend "vanilla"

CLI (build a model from a YAML/JSON config and a torch state_dict checkpoint, then export)::

    python tools/export_paper_model.py --config cfg.yaml --checkpoint model.pt --out DIR [--dtype bfloat16]

The config may be this project's ``config.json`` or an official xlstm YAML/JSON model config (the dict that
is passed to ``dacite.from_dict(xLSTMLMModelConfig, ...)``; a top-level ``model:`` section is accepted).
The checkpoint's sLSTM tensors may be in the external layout (``recurrent_kernel``/``bias``, e.g. a
directory written by this tool) or in a backend's internal layout (``_recurrent_kernel_``/``_bias_``); the
internal layout is taken to be that of ``--checkpoint-backend`` (default: the backend named in the config,
``cuda`` if it names none -- the official default). The model is always built with the CPU ``vanilla``
sLSTM backend; the export itself is backend-independent.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from pathlib import Path
from typing import Any, Mapping

import torch

__all__ = [
    "export_paper_model",
    "paper_config_to_dict",
    "paper_config_from_dict",
    "load_paper_model",
    "load_external_state_dict",
    "external_state_dict",
    "slstm_cells",
    "DTYPES",
]

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


# ----------------------------------------------------------------------------------------------------------
# config <-> JSON
# ----------------------------------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    """Convert ``dataclasses.asdict`` output into plain JSON values (tuples -> lists, dtypes -> strings)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    return str(value)


def paper_config_to_dict(cfg) -> dict:
    """``{"model_type": "xlstm_lm", **asdict(cfg)}`` with JSON-safe values."""
    return {"model_type": "xlstm_lm", **_jsonable(dataclasses.asdict(cfg))}


def _unwrap_optional(tp):
    origin = typing.get_origin(tp)
    if origin is typing.Union or (sys.version_info >= (3, 10) and origin is __import__("types").UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _dataclass_from_dict(cls, data: Mapping[str, Any]):
    """Build (nested) config dataclasses from a dict, like ``dacite.from_dict`` (unknown keys are an error).

    Derived fields written by ``asdict`` after ``__post_init__`` (``_proj_up_dim``, ``_block_map``, ...) are
    accepted and simply recomputed by the dataclasses' own ``__post_init__``.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown config keys {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        tp = _unwrap_optional(hints.get(name, Any))
        if value is not None and dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
            value = _dataclass_from_dict(tp, value)
        kwargs[name] = value
    return cls(**kwargs)


def paper_config_from_dict(data: Mapping[str, Any], slstm_backend: str | None = None):
    """Rebuild an ``xLSTMLMModelConfig`` from ``config.json`` (or an official YAML model config dict).

    ``slstm_backend`` overrides the sLSTM backend (e.g. ``"vanilla"`` to build a CPU model)."""
    from xlstm import xLSTMLMModelConfig

    data = dict(data)
    data.pop("model_type", None)
    if slstm_backend is not None and isinstance(data.get("slstm_block"), Mapping):
        sb = dict(data["slstm_block"])
        sb["slstm"] = {**dict(sb.get("slstm") or {}), "backend": slstm_backend}
        data["slstm_block"] = sb
    return _dataclass_from_dict(xLSTMLMModelConfig, data)


# ----------------------------------------------------------------------------------------------------------
# state dicts
# ----------------------------------------------------------------------------------------------------------

def slstm_cells(model: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """All sLSTM cells of a model as (qualified module name, cell)."""
    from xlstm.blocks.slstm.cell import sLSTMCellBase

    return [(name, m) for name, m in model.named_modules() if isinstance(m, sLSTMCellBase)]


def external_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state_dict in the exported (backend-independent) key layout, float32/as stored, detached."""
    sd = dict(model.state_dict())  # non-persistent buffers are not in here
    for name, cell in slstm_cells(model):
        prefix = f"{name}." if name else ""
        for internal in ("_recurrent_kernel_", "_bias_"):
            if prefix + internal not in sd:
                raise KeyError(f"expected {prefix + internal} in the state_dict")
            del sd[prefix + internal]
        sd[prefix + "recurrent_kernel"] = cell.recurrent_kernel.clone().detach()
        sd[prefix + "bias"] = cell.bias.clone().detach()
        nh, dh = cell.config.num_heads, cell.config.head_dim
        assert tuple(sd[prefix + "recurrent_kernel"].shape) == (nh, dh, 4, dh), sd[prefix + "recurrent_kernel"].shape
        assert tuple(sd[prefix + "bias"].shape) == (nh, 4, dh), sd[prefix + "bias"].shape
    if getattr(model.config, "tie_weights", False):
        sd.pop("lm_head.weight", None)
    return sd


def export_paper_model(model: torch.nn.Module, out_dir, dtype: str = "float32") -> Path:
    """Write ``config.json`` + ``model.safetensors`` for an ``xlstm.xLSTMLMModel`` into ``out_dir``.

    ``dtype`` is the storage dtype: ``"float32"`` (default), ``"bfloat16"`` or ``"float16"``.
    Returns the output directory."""
    from safetensors.torch import save_file

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    tensors = {
        key: value.detach().to(device="cpu", dtype=DTYPES[dtype]).contiguous().clone()
        for key, value in external_state_dict(model).items()
    }
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})

    with open(out / "config.json", "w", encoding="utf-8") as fh:
        json.dump(paper_config_to_dict(model.config), fh, indent=2)
        fh.write("\n")
    return out


# ----------------------------------------------------------------------------------------------------------
# loading (round trip, and checkpoints from either sLSTM backend)
# ----------------------------------------------------------------------------------------------------------

def _internal_to_external(kind: str, t: torch.Tensor, backend: str, nh: int, dh: int) -> torch.Tensor:
    """Backend-internal sLSTM tensor -> external layout (mirrors the cells' ``_*_int2ext``)."""
    if backend == "vanilla":
        if kind == "recurrent_kernel":  # [NH, 4*DH(out), DH(in)] -> [NH, DH(in), 4, DH(out)]
            return t.reshape(nh, 4, dh, dh).permute(0, 3, 1, 2)
        return t.reshape(4, nh, dh).permute(1, 0, 2)  # gate-major flat -> [NH, 4, DH]
    if backend == "cuda":
        if kind == "recurrent_kernel":  # [NH, DH(in), 4*DH] -> [NH, DH, 4, DH]
            return t.reshape(nh, dh, 4, dh)
        return t.reshape(nh, 4, dh)  # head-major flat -> [NH, 4, DH]
    raise ValueError(f"unknown sLSTM backend {backend!r}")


def load_external_state_dict(model: torch.nn.Module, sd: Mapping[str, torch.Tensor],
                             internal_backend: str | None = None, strict: bool = True) -> None:
    """Load a state dict into ``model`` whose sLSTM tensors are external (``recurrent_kernel``/``bias``) or,
    for ``internal_backend`` given, in that backend's internal layout (``_recurrent_kernel_``/``_bias_``).
    A missing ``lm_head.weight`` is fine for tied models. Tensors are cast to the model's dtype."""
    sd = dict(sd)
    cell_values = {}
    for name, cell in slstm_cells(model):
        prefix = f"{name}." if name else ""
        nh, dh = cell.config.num_heads, cell.config.head_dim
        vals = {}
        for kind, internal in (("recurrent_kernel", "_recurrent_kernel_"), ("bias", "_bias_")):
            if prefix + kind in sd:
                vals[kind] = sd.pop(prefix + kind)
                sd.pop(prefix + internal, None)
            elif prefix + internal in sd:
                if internal_backend is None:
                    raise ValueError(f"{prefix + internal} is backend-internal: say which backend wrote it")
                vals[kind] = _internal_to_external(kind, sd.pop(prefix + internal), internal_backend, nh, dh)
            elif strict:
                raise KeyError(f"missing {prefix + kind}")
        cell_values[name] = (cell, vals)

    if getattr(model.config, "tie_weights", False):
        sd.pop("lm_head.weight", None)
    result = model.load_state_dict(sd, strict=False)
    missing = [k for k in result.missing_keys
               if not k.endswith(("._recurrent_kernel_", "._bias_"))
               and not (k == "lm_head.weight" and getattr(model.config, "tie_weights", False))]
    if strict and (missing or result.unexpected_keys):
        raise KeyError(f"state_dict mismatch: missing={missing} unexpected={result.unexpected_keys}")

    with torch.no_grad():
        for cell, vals in cell_values.values():
            for kind, value in vals.items():
                proxy = getattr(cell, kind)
                target = getattr(cell, "_" + kind + "_")
                if tuple(value.shape) != tuple(proxy.shape):
                    raise ValueError(f"{kind}: shape {tuple(value.shape)} != {tuple(proxy.shape)}")
                proxy[:] = value.to(dtype=target.dtype)


def _read_config_file(path) -> dict:
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if isinstance(data, Mapping) and "model" in data and isinstance(data["model"], Mapping) \
            and "embedding_dim" not in data:
        data = data["model"]
    return dict(data)


def load_paper_model(model_dir, slstm_backend: str = "vanilla"):
    """Rebuild an ``xLSTMLMModel`` (float32, eval mode) from a directory written by ``export_paper_model``."""
    from safetensors.torch import load_file
    from xlstm import xLSTMLMModel

    model_dir = Path(model_dir)
    cfg = paper_config_from_dict(_read_config_file(model_dir / "config.json"), slstm_backend=slstm_backend)
    model = xLSTMLMModel(cfg)
    sd = {k: v.to(torch.float32) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    load_external_state_dict(model, sd, internal_backend=None, strict=True)
    return model.eval()


def _load_checkpoint(path) -> dict[str, torch.Tensor]:
    path = str(path)
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return dict(load_file(path))
    obj = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    top_level = ("xlstm_block_stack.", "token_embedding.", "lm_head.")
    sd = {}
    for k, v in obj.items():
        # strip wrapper prefixes (DDP "module.", torch.compile "_orig_mod.", a lightning "model.")
        while not k.startswith(top_level) and k.startswith(("_orig_mod.", "module.", "model.")):
            k = k.split(".", 1)[1]
        sd[k] = v
    return sd


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="YAML/JSON model config (xLSTMLMModelConfig fields)")
    ap.add_argument("--checkpoint", help="torch state_dict (.pt/.pth/.bin) or .safetensors; "
                                         "omitted: random official init (for smoke tests)")
    ap.add_argument("--checkpoint-backend", choices=["cuda", "vanilla"],
                    help="layout of backend-internal sLSTM tensors in the checkpoint "
                         "(default: the config's slstm backend, else cuda)")
    ap.add_argument("--out", required=True, help="output model directory")
    ap.add_argument("--dtype", default="float32", choices=sorted(DTYPES), help="storage dtype")
    ap.add_argument("--seed", type=int, default=0, help="seed for the init when no checkpoint is given")
    args = ap.parse_args(argv)

    from xlstm import xLSTMLMModel

    raw = _read_config_file(args.config)
    source_backend = args.checkpoint_backend
    if source_backend is None:
        source_backend = ((raw.get("slstm_block") or {}).get("slstm") or {}).get("backend", "cuda")
    cfg = paper_config_from_dict(raw, slstm_backend="vanilla")
    torch.manual_seed(args.seed)
    model = xLSTMLMModel(cfg)
    model.reset_parameters()
    if args.checkpoint:
        load_external_state_dict(model, _load_checkpoint(args.checkpoint), internal_backend=source_backend)
    model.eval()
    out = export_paper_model(model, args.out, dtype=args.dtype)
    print(f"wrote {out / 'config.json'} and {out / 'model.safetensors'} ({args.dtype})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
