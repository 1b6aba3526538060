#!/usr/bin/env python3
"""Write Tests/Fixtures/yaml_cases.json: small config.yaml texts and what PyYAML's safe_load makes of them.

The runtime reads an official xlstm_large checkpoint's config.yaml with its own strict reader
(Sources/XLSTM/IO/YAML.swift) instead of PyYAML, which the official loader uses
(`xLSTMLargeConfig(**yaml.safe_load(f))`). Each case records:

  yaml     the text
  subset   true when the text is inside the subset the runtime reads: the runtime must then give exactly
           PyYAML's values (same keys, order, types, values; floats compared bit for bit); false when the
           runtime must refuse it (PyYAML may still read it, or fail)
  pyyaml   PyYAML's result, a list of [key, value] with value {"null": true} | {"bool": b} | {"int": i} |
           {"float": "<16 hex digits of the IEEE double, little-endian>"} | {"string": s};
           or {"error": "<PyYAML's exception type>"} or {"not_flat": "<python type>"}

Usage:  /path/to/venv/bin/python tools/make_yaml_cases.py [--out Tests/Fixtures/yaml_cases.json]
"""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent

# (text, inside the runtime's subset?)
CASES: list[tuple[str, bool]] = [
    # what yaml.safe_dump(dataclasses.asdict(xLSTMLargeConfig(...))) writes
    ("embedding_dim: 4096\nnum_heads: 8\n", True),
    ("eps: 1.0e-06\nnorm_eps: 1.0e-05\nffn_proj_factor: 2.6667\nqk_dim_factor: 0.5\n", True),
    ("gate_soft_cap: 15.0\noutput_logit_soft_cap: null\n", True),
    ("use_bias: false\nadd_out_norm: true\n", True),
    ("chunkwise_kernel: chunkwise--triton_limit_chunk\nstep_kernel: triton\nweight_mode: single\n", True),
    ("autocast_kernel_dtype: bfloat16\n", True),
    # other spellings PyYAML reads the same way
    ("a: ~\nb: Null\nc: NULL\nd:\ne: # comment\n", True),
    ("a: yes\nb: No\nc: ON\nd: off\ne: True\nf: FALSE\n", True),
    ("a: -3\nb: +5\nc: 0\nd: -0\n", True),
    ("a: 1.\nb: .5\nc: -2.5\nd: +1.5e+3\ne: 6.02E+23\nf: 1.0e-300\n", True),
    ("a: .inf\nb: -.inf\nc: +.inf\nd: .Inf\n", True),
    ("a: 1e-6\nb: 1.0e6\nc: -.5\nd: 1.5e3\n", True),   # strings in YAML 1.1 (no dot / unsigned exponent)
    ("a: 'single quoted'\nb: \"double quoted\"\nc: 'it''s'\nd: ''\n", True),
    ("a: 'true'\nb: \"12\"\nc: 'null'\n", True),
    ("a: plain text with spaces   \nb: x#y\nc: trailing # comment\n", True),
    ("# leading comment\n\n---\nembedding_dim: 64 # the width\n...\n# done\n", True),
    ("\ufeffvocab_size: 100\n", True),
    ("a: 1\r\nb: 2\r\n", True),
    ("a: ?x\nb: :x\nc: -x\nd: x:y\ne: x,y\nf: ---\n", True),
    ("a: 00.5\nb: +.5\nc: -0.0\nd: 0.\ne: .NaN\n", True),
    ("a: 1\n  # an indented comment line\n", True),
    ("a: \"x\" # comment\nb: ''''\n", True),
    ("a: 'tab\tinside quotes'\n", True),
    ("a: 9223372036854775807\nb: -9223372036854775807\n", True),
    ("no_newline_at_end: 3", True),
    ("", True),
    ("# only a comment\n", True),
    # inside what PyYAML reads, outside the subset (refused, never misread)
    ("a: 1_000\n", False),
    ("a: 010\n", False),
    ("a: 0x1F\n", False),
    ("a: 0b101\n", False),
    ("a: 1:30\n", False),
    ("a: 99999999999999999999\n", False),
    ("a: [1, 2]\n", False),
    ("a: {b: 1}\n", False),
    ("a:\n  b: 1\n", False),
    ("a:\n- 1\n- 2\n", False),
    ("- 1\n", False),
    ("a: &x 1\nb: *x\n", False),
    ("a: !!float 1\n", False),
    ("a: |\n  text\n", False),
    ("a: \"esc\\n\"\n", False),
    ("a: 1\na: 2\n", False),   # PyYAML: the last wins
    ("a : 1\n", False),
    ("\"a\": 1\n", False),
    ("a: b\n  continued\n", False),
    ("a: 1\n---\nb: 2\n", False),
    ("a: 2001-12-14\n", False),  # PyYAML: a date
    ("a: 2001-12-14 21:59:43.10 -5\n", False),
    ("a: =\n", False),
    ("<<: 1\n", False),
    ("a: caf\u00e9\n", False),
    # not YAML at all (PyYAML fails too)
    ("a: 'open\n", False),
    ("a: b: c\n", False),
    ("a:b\n", False),
    ("\tindented: 1\n", False),
    ("a:\t7\n", False),
    ("a: 1\t# c\n", False),
    ("a: 1\n\t\n", False),
    ("\t# c\na: 1\n", False),
    ("a: x\ty\n", False),
    ("a: \"x\"y\n", False),
    ("---\n---\n", False),
    ("a: 1\n...\n---\nb: 2\n", False),
    ("a: %x\n", False),
    ("a: -\n", False),
]


def encode(value):
    if value is None:
        return {"null": True}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"float": struct.pack("<d", value).hex()}
    if isinstance(value, str):
        return {"string": value}
    return {"not_scalar": type(value).__name__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO_ROOT / "Tests" / "Fixtures" / "yaml_cases.json"))
    args = ap.parse_args(argv)
    out = []
    for text, subset in CASES:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            assert not subset, f"PyYAML rejects a case marked inside the subset: {text!r}"
            out.append({"yaml": text, "subset": False, "pyyaml": {"error": type(e).__name__}})
            continue
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            assert not subset, text
            out.append({"yaml": text, "subset": False, "pyyaml": {"not_flat": type(doc).__name__}})
            continue
        items = [[str(k), encode(v)] for k, v in doc.items()]
        assert not (subset and any("not_scalar" in v for _, v in items)), f"non-scalar value: {text!r}"
        out.append({"yaml": text, "subset": subset, "pyyaml": {"items": items}})
    Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(out)} cases to {args.out} (PyYAML {yaml.__version__})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
