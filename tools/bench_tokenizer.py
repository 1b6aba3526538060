#!/usr/bin/env python3
"""Tokenize throughput: libxlstm's tokenizer (through the C API, via the Python binding) next to the
`tokenizers` package, single-threaded, on the same documents in one run. Also checks that every
document's ids are identical.

The corpus: this repository's sources, README files and the multilingual tokenizer fixture corpus,
plus Python sources of the reference environment (code + English docstrings), cut to --megabytes.
The tokenizer: --tokenizer DIR (a tokenizer.json directory), or by default a GPT-NeoX-style one
(NFC, ByteLevel, whitespace-run added tokens) trained here with --vocab entries on the corpus.

Run (the reference venv has `tokenizers`):
  make build && /path/to/venv/bin/python tools/bench_tokenizer.py [--megabytes 8] [--vocab 32000]
Prints one table; it is a measurement, not a test.
"""
import argparse
import glob
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
os.environ.setdefault("XLSTM_LIBRARY", os.path.join(REPO, ".build", "release", "libxlstm.so"))

import tokenizers  # noqa: E402
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402

import libxlstm  # noqa: E402


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def corpus(megabytes):
    limit = int(megabytes * (1 << 20))
    files = []
    for pattern in ["Sources/**/*.swift", "**/README.md", "Tests/Fixtures/tokenizers/neox_style/corpus.txt",
                    "examples/models/fortunes-xlstm/valid.txt"]:
        files += sorted(glob.glob(os.path.join(REPO, pattern), recursive=True))
    site = os.path.dirname(os.path.dirname(tokenizers.__file__))
    for package in ["transformers", "torch", "numpy"]:
        files += sorted(glob.glob(os.path.join(site, package, "**", "*.py"), recursive=True))
    docs, total = [], 0
    for path in files:
        if "/.build/" in path:
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        if not text:
            continue
        docs.append(text)
        total += len(text.encode("utf-8"))
        if total >= limit:
            break
    return docs, total


def train_neox(docs, vocab, directory):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[
        AddedToken("<|endoftext|>", special=True, normalized=False),
        AddedToken("<|padding|>", special=True, normalized=False)],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(docs, trainer=trainer)
    tok.add_tokens([AddedToken(" " * n, normalized=True, special=False) for n in range(24, 1, -1)])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.save(os.path.join(directory, "tokenizer.json"))


def best_of(runs, function):
    best = float("inf")
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", help="a directory with tokenizer.json (default: train a NeoX-style one)")
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--runs", type=int, default=3, help="best of N timings each")
    args = parser.parse_args()

    docs, total = corpus(args.megabytes)
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.tokenizer
        if directory is None:
            directory = tmp
            started = time.perf_counter()
            train_neox(docs, args.vocab, directory)
            print(f"trained a NeoX-style tokenizer, vocab {args.vocab}, in {time.perf_counter() - started:.1f} s")
        reference = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        ours = libxlstm.Tokenizer(directory)
        encoded = [d.encode("utf-8") for d in docs]

        # Warm-up (our word cache and theirs fill on the first pass; timings are best of --runs).
        ref_time, ref_ids = best_of(args.runs, lambda: [reference.encode(d).ids for d in docs])
        our_time, our_ids = best_of(args.runs, lambda: [ours.encode(d) for d in encoded])
        cold = libxlstm.Tokenizer(directory)
        cold_time, _ = best_of(1, lambda: [cold.encode(d) for d in encoded])
        mismatched = sum(1 for a, b in zip(ref_ids, our_ids) if a != b)
        n_tokens = sum(len(x) for x in ref_ids)
        mb = total / (1 << 20)
        print(f"CPU: {cpu_name()}, 1 thread; corpus {len(docs)} documents, {mb:.2f} MiB, {n_tokens} tokens")
        print(f"tokenizers {tokenizers.__version__} (encode, RAYON_NUM_THREADS={os.environ['RAYON_NUM_THREADS']}): "
              f"{mb / ref_time:7.2f} MiB/s")
        print(f"libxlstm xlstm_tokenize (C API via ctypes):            {mb / our_time:7.2f} MiB/s "
              f"({ref_time / our_time:.2f}x the package); first pass, cold word cache: {mb / cold_time:.2f} MiB/s")
        print(f"ids identical on {len(docs) - mismatched} of {len(docs)} documents")
        return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
