#!/usr/bin/env python3
"""stream.py — load a model, feed a prompt, stream sampled tokens as they are produced.

    stream.py MODEL_DIR (--tokens 1,2,3 | --prompt TEXT) [--n N] [--seed S]
                        [--temperature T] [--top-k K] [--top-p P]

The Python twin of examples/c/simple: the same arguments, the same output for the same seed. The
prompt is a list of token ids (no tokenizer here); sampled ids are printed the same way, on one
line, each as soon as it is sampled. For byte-level models (vocab_size >= 256) --prompt TEXT feeds
the text's bytes (as given on the command line) as ids; then the prompt is echoed and sampled ids < 256 are printed as bytes,
others as <id>. A one-line summary goes to stderr.
"""

import argparse
import os
import sys
import time
from pathlib import Path

try:
    import libxlstm
except ImportError:  # running from a checkout without `pip install ./bindings/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import libxlstm


def token_list(text):
    try:
        return [int(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of ids like 1,2,3: {text!r}") from None


def main():
    parser = argparse.ArgumentParser(description="Stream tokens sampled from an xLSTM model.")
    parser.add_argument("model_dir")
    prompt = parser.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--tokens", type=token_list, help="prompt token ids, e.g. 1,2,3")
    prompt.add_argument("--prompt", help="prompt text (byte-level models)")
    parser.add_argument("--n", type=int, default=32, help="tokens to generate (default 32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--top-p", type=float)
    args = parser.parse_args()

    # 1. The model (memory-mapped weights, shareable), a session (one sequence's state) and a
    #    seeded sampler; options left as None take the library's defaults.
    with libxlstm.Model(args.model_dir) as model, model.session() as session, \
            libxlstm.Sampler(seed=args.seed, temperature=args.temperature, top_k=args.top_k,
                             top_p=args.top_p) as sampler:
        as_text = args.prompt is not None
        if as_text and model.info.vocab_size < 256:
            sys.exit(f"stream.py: --prompt needs a byte-level model (vocab_size >= 256, not "
                     f"{model.info.vocab_size}): use --tokens")
        # 2. The prompt as token ids: a byte-level model's ids are the text's bytes.
        prompt_tokens = os.fsencode(args.prompt) if as_text else args.tokens
        out = sys.stdout.buffer
        if as_text:
            out.write(prompt_tokens)

        # 3. generate() feeds the prompt, then samples and feeds one token at a time, yielding each.
        start = time.perf_counter()
        count = 0
        for token in session.generate(prompt_tokens, args.n, sampler):
            if as_text:
                out.write(bytes([token]) if token < 256 else f"<{token}>".encode())
            else:
                out.write(f"{'' if count == 0 else ' '}{token}".encode())
            out.flush()
            count += 1
        out.write(b"\n")
        elapsed = time.perf_counter() - start
        print(f"stream.py: prompt {len(prompt_tokens)} tokens, generated {count} tokens in "
              f"{elapsed * 1e3:.1f} ms, seed {args.seed}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except libxlstm.XlstmError as error:
        sys.exit(f"stream.py: {error}")
