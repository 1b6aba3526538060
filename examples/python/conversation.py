#!/usr/bin/env python3
"""conversation.py — a conversation that survives process restarts, kept as a state blob on disk.

    conversation.py MODEL_DIR STATE_FILE --say 1,2,3 [--say 4,5 ...] [--n N] [--seed S]

Each --say is one turn: the user's token ids are fed, then a reply of N tokens (default 8) is
sampled and printed on its own line. If STATE_FILE exists the conversation resumes from it;
afterwards the whole conversation so far is saved back to it (written to a temporary file, then
renamed over it, so a crash never leaves half a state).

Why a resumed conversation says exactly what an uninterrupted one says. An xLSTM's whole history
is its fixed-size recurrent state: session.save_state() returns it (with the token count and the
last logits) as plain bytes, and load_state() restores it bit for bit in any process. The other
half of generation is the sampler's random sequence, which is not part of the session; so each
reply gets a sampler seeded from (seed, position in the conversation), and the position,
session.n_tokens, is part of the state. Hence

    conversation.py M F --say 1,2,3;  conversation.py M F --say 4,5;  conversation.py M F --say 6

prints, over its three runs, the same three lines as the one run

    conversation.py M G --say 1,2,3 --say 4,5 --say 6

(the test suite checks this: bindings/python/tests/test_examples.py). The blob is bytes, so a
database column, a cache or pickle would hold it as well as a file does.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

try:
    import libxlstm
except ImportError:  # running from a checkout without `pip install ./bindings/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import libxlstm

GOLDEN = 0x9E3779B97F4A7C15  # spreads positions over the 64-bit seed space


def token_list(text):
    try:
        return [int(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of ids like 1,2,3: {text!r}") from None


def reply_sampler(seed, position):
    """A sampler whose draws depend only on (seed, position), not on what this process did before."""
    return libxlstm.Sampler(seed=(seed ^ (position * GOLDEN)) % 2**64)


def save_atomically(path, blob):
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".conversation-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(blob)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main():
    parser = argparse.ArgumentParser(description="A conversation resumed across processes from a state file.")
    parser.add_argument("model_dir")
    parser.add_argument("state_file")
    parser.add_argument("--say", type=token_list, action="append", required=True,
                        help="the user's token ids for one turn, e.g. 1,2,3 (repeatable)")
    parser.add_argument("--n", type=int, default=8, help="tokens per reply (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with libxlstm.Model(args.model_dir) as model, model.session() as session:
        if os.path.exists(args.state_file):
            with open(args.state_file, "rb") as file:
                session.load_state(file.read())  # StateMismatchError if it is another model's
            print(f"conversation.py: resumed {args.state_file} at token {session.n_tokens}", file=sys.stderr)

        for user_tokens in args.say:
            with reply_sampler(args.seed, session.n_tokens) as sampler:
                reply = session.generate(user_tokens, args.n, sampler)
                print(" ".join(str(token) for token in reply), flush=True)

        save_atomically(args.state_file, session.save_state())
        print(f"conversation.py: saved {session.n_tokens} tokens of conversation to {args.state_file} "
              f"({session.state_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except libxlstm.XlstmError as error:
        sys.exit(f"conversation.py: {error}")
