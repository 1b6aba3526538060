"""Shared set-up of the libxlstm Python tests.

XLSTM_TEST_NO_NUMPY=1 runs the whole suite as if numpy were not installed: before libxlstm is
imported, a `numpy` package that raises ImportError goes first on sys.path and on PYTHONPATH (for
the examples and helper processes the tests start), and any numpy already imported is forgotten.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from array import array
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent  # bindings/python
REPOSITORY = PACKAGE_ROOT.parent.parent
FIXTURES = Path(os.environ.get("XLSTM_FIXTURES", REPOSITORY / "Tests" / "Fixtures"))
EXAMPLES = REPOSITORY / "examples" / "python"
NO_NUMPY = os.environ.get("XLSTM_TEST_NO_NUMPY") == "1"
BLOCKER = HERE / "no_numpy"

#: The bound on logits against the official implementation: max |Δlogit| / max |logit|.
RELATIVE_TOLERANCE = 1e-4

if NO_NUMPY:
    sys.path.insert(0, str(BLOCKER))
    for name in [name for name in sys.modules if name == "numpy" or name.startswith("numpy.")]:
        del sys.modules[name]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BLOCKER), os.environ.get("PYTHONPATH")]))

import pytest  # noqa: E402

import libxlstm  # noqa: E402

FIXTURE_NAMES = sorted(path.name for path in FIXTURES.iterdir() if (path / "meta.json").is_file())


def fixture_model(name: str) -> Path:
    return FIXTURES / name / "model"


def read_fixture(name: str):
    """(tokens list, logits rows as lists, meta dict) of a reference fixture."""
    directory = FIXTURES / name
    tokens = array("i")
    tokens.frombytes((directory / "tokens.i32").read_bytes())
    logits = array("f")
    logits.frombytes((directory / "logits.f32").read_bytes())
    if sys.byteorder == "big":
        tokens.byteswap()
        logits.byteswap()
    meta = json.loads((directory / "meta.json").read_text())
    vocab = meta["vocab_size"]
    rows = [logits[i * vocab:(i + 1) * vocab] for i in range(len(tokens))]
    return list(tokens), rows, meta


def as_list(values) -> list:
    """Floats of a numpy array, memoryview or array as a list."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


def float_bytes(values) -> bytes:
    """The exact bytes of a float32 vector (for bit-exact comparisons)."""
    if hasattr(values, "tobytes"):
        return values.tobytes()
    return array("f", values).tobytes()


def python_env(in_place: bool = True, drop=(), **extra: str) -> dict:
    """Environment for a Python subprocess: PYTHONPATH holds the numpy blocker (if the suite runs
    without numpy) and, if `in_place`, bindings/python; the variables in `drop` are removed."""
    env = {name: value for name, value in os.environ.items() if name not in drop}
    paths = [str(BLOCKER)] if NO_NUMPY else []
    if in_place:
        paths.append(str(PACKAGE_ROOT))
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    else:
        env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def run_python(code_or_args, *, env=None, cwd=None, timeout=120, text=True) -> subprocess.CompletedProcess:
    """Runs `python3 -c CODE` (a str) or `python3 ARGS...` (a list) and returns the result."""
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    return subprocess.run([sys.executable, *args], capture_output=True, text=text,
                          env=env if env is not None else python_env(), cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def mixed_model():
    """The paper fixture with mLSTM and sLSTM blocks, shared by the tests that only need a model."""
    with libxlstm.Model(fixture_model("paper_mixed")) as model:
        yield model


@pytest.fixture(scope="session")
def other_model():
    """A model of another architecture (for foreign state blobs)."""
    with libxlstm.Model(fixture_model("large_basic")) as model:
        yield model


@pytest.fixture
def session(mixed_model):
    with mixed_model.session() as session:
        yield session
