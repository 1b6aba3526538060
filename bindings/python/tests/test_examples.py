"""The Python examples run, print deterministic output for a fixed seed, and print what the
library computes (and, where the C example is built, what the C example prints)."""

import subprocess
import sys

import pytest

import libxlstm
from conftest import EXAMPLES, REPOSITORY, fixture_model, python_env, run_python

MODEL = fixture_model("paper_mixed")
C_SIMPLE = REPOSITORY / ".build" / "c" / "simple"
MAKE_BYTE_MODEL = REPOSITORY / "Tests" / "c" / "make_byte_model.py"


def example(name, *args, text=True):
    # Without libxlstm on PYTHONPATH: the example finds the package on its own (its sys.path
    # fallback), as in a fresh checkout. (Without numpy, PYTHONPATH holds only the numpy blocker.)
    return run_python([str(EXAMPLES / name), *map(str, args)], env=python_env(in_place=False), cwd=str(REPOSITORY),
                      text=text)


def expected_tokens(model_dir, prompt, count, **options):
    with libxlstm.Model(model_dir) as model, model.session() as session:
        return list(session.generate(prompt, count, libxlstm.Sampler(**options)))


def test_stream_prints_the_generated_tokens():
    result = example("stream.py", MODEL, "--tokens", "1,2,3", "--n", 24, "--seed", 5)
    assert result.returncode == 0, result.stderr
    assert result.stdout == " ".join(map(str, expected_tokens(MODEL, [1, 2, 3], 24, seed=5))) + "\n"
    assert result.stderr.startswith("stream.py: prompt 3 tokens, generated 24 tokens")
    again = example("stream.py", MODEL, "--tokens", "1,2,3", "--n", 24, "--seed", 5)
    assert again.stdout == result.stdout


def test_stream_sampling_options():
    result = example("stream.py", MODEL, "--tokens", "7,8", "--n", 12, "--seed", 2, "--temperature", 0.5,
                     "--top-k", 5, "--top-p", 0.9)
    assert result.returncode == 0, result.stderr
    expected = expected_tokens(MODEL, [7, 8], 12, seed=2, temperature=0.5, top_k=5, top_p=0.9)
    assert result.stdout.split() == list(map(str, expected))


@pytest.mark.skipif(not C_SIMPLE.exists(), reason="examples/c/simple is not built (make c-examples)")
def test_stream_prints_what_the_c_example_prints():
    arguments = [str(MODEL), "--tokens", "3,1,4,1,5", "--n", "20", "--seed", "9", "--temperature", "1.2"]
    c = subprocess.run([str(C_SIMPLE), *arguments], capture_output=True, text=True)
    python = example("stream.py", *arguments)
    assert c.returncode == 0 and python.returncode == 0, python.stderr
    assert python.stdout == c.stdout


@pytest.fixture(scope="module")
def byte_model(tmp_path_factory):
    if not MAKE_BYTE_MODEL.exists():
        pytest.skip("Tests/c/make_byte_model.py is not there")
    directory = tmp_path_factory.mktemp("byte_model")
    subprocess.run([sys.executable, str(MAKE_BYTE_MODEL), str(fixture_model("large_basic")), str(directory)],
                   check=True, capture_output=True)
    return directory


def test_stream_text_prompt_on_a_byte_level_model(byte_model):
    result = example("stream.py", byte_model, "--prompt", "Hello", "--n", 16, "--seed", 4, text=False)
    assert result.returncode == 0, result.stderr
    tokens = expected_tokens(byte_model, b"Hello", 16, seed=4)
    text = b"Hello" + b"".join(bytes([t]) if t < 256 else f"<{t}>".encode() for t in tokens) + b"\n"
    assert result.stdout == text
    if C_SIMPLE.exists():
        c = subprocess.run([str(C_SIMPLE), str(byte_model), "--prompt", "Hello", "--n", "16", "--seed", "4"],
                           capture_output=True)
        assert c.stdout == text


def test_stream_errors():
    result = example("stream.py", MODEL, "--prompt", "text", "--n", 4)
    assert result.returncode == 1 and "needs a byte-level model" in result.stderr
    result = example("stream.py", REPOSITORY / "no-such-model", "--tokens", "1")
    assert result.returncode == 1 and result.stderr.startswith("stream.py: ") and "no-such-model" in result.stderr
    result = example("stream.py", MODEL, "--tokens", "1,500")
    assert result.returncode == 1 and "out of range" in result.stderr


def test_conversation_resumed_across_processes_equals_uninterrupted(tmp_path):
    turns = ["1,2,3", "4,5", "6"]
    whole = example("conversation.py", MODEL, tmp_path / "whole.state", *sum((["--say", t] for t in turns), []),
                    "--n", 10, "--seed", 3)
    assert whole.returncode == 0, whole.stderr
    lines = []
    for index, turn in enumerate(turns):
        part = example("conversation.py", MODEL, tmp_path / "parts.state", "--say", turn, "--n", 10, "--seed", 3)
        assert part.returncode == 0, part.stderr
        assert part.stderr.startswith("conversation.py: resumed") == (index > 0)
        lines += part.stdout.splitlines()
    assert lines == whole.stdout.splitlines() and len(lines) == 3
    assert all(len(line.split()) == 10 for line in lines)
    assert (tmp_path / "parts.state").read_bytes() == (tmp_path / "whole.state").read_bytes()
    # What the library says for the same conversation in this process.
    with libxlstm.Model(MODEL) as model, model.session() as session:
        session.load_state((tmp_path / "whole.state").read_bytes())
        assert session.n_tokens == 6 + 30


def test_conversation_refuses_another_models_state(tmp_path):
    state = tmp_path / "other.state"
    with libxlstm.Model(fixture_model("large_basic")) as model, model.session() as session:
        session.feed([1, 2])
        state.write_bytes(session.save_state())
    result = example("conversation.py", MODEL, state, "--say", "1")
    assert result.returncode == 1 and "different model" in result.stderr
    assert state.read_bytes()  # untouched
