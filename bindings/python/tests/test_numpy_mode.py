"""The suite runs twice (mk/python.mk): with numpy, and with `import numpy` failing. This checks
that each run really is what it claims, in this process and in the processes the tests start."""

import libxlstm
from libxlstm import _native
from conftest import NO_NUMPY, run_python


def test_this_process():
    if NO_NUMPY:
        assert _native.numpy is None
        try:
            import numpy  # noqa: F401
        except ImportError:
            pass
        else:
            raise AssertionError("numpy imported although the run blocks it")
    else:
        import numpy

        assert _native.numpy is numpy


def test_child_processes():
    result = run_python("import libxlstm._native as n; print(n.numpy is None)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(NO_NUMPY)


def test_logits_types_follow_the_mode(session):
    session.feed([1, 2, 3])
    kind = type(session.logits).__name__
    assert kind == ("memoryview" if NO_NUMPY else "ndarray")
    assert type(session.logits_copy()).__name__ == ("array" if NO_NUMPY else "ndarray")
    assert libxlstm.Session is type(session)
