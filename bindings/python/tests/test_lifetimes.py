"""Handles are freed exactly once: by close() / with at once, or by garbage collection."""

import gc
import resource
import sys

import pytest

import libxlstm
from conftest import fixture_model


def counting_free(owner):
    """Wraps the C free function of `owner`'s handle; returns the list its calls are appended to."""
    calls = []
    handle = owner._handle
    original = handle._free

    def free(pointer):
        calls.append(pointer)
        original(pointer)

    handle._free = free
    return calls


def test_close_frees_at_once_and_once(mixed_model):
    session = mixed_model.session()
    calls = counting_free(session)
    session.close()
    assert len(calls) == 1
    session.close()
    del session
    gc.collect()
    assert len(calls) == 1


def test_with_frees_on_exit_even_on_error(mixed_model):
    with pytest.raises(RuntimeError):
        with mixed_model.session() as session:
            calls = counting_free(session)
            raise RuntimeError("boom")
    assert len(calls) == 1 and session.closed


@pytest.mark.parametrize("kind", ["model", "session", "sampler", "clone"])
def test_garbage_collection_frees(mixed_model, kind):
    if kind == "model":
        owner = libxlstm.Model(fixture_model("paper_mixed"))
    elif kind == "session":
        owner = mixed_model.session()
    elif kind == "sampler":
        owner = libxlstm.Sampler()
    else:
        with mixed_model.session() as session:
            owner = session.clone()
    calls = counting_free(owner)
    del owner
    assert len(calls) == 1  # CPython: at once, by reference counting


def test_garbage_collection_frees_in_cycles(mixed_model):
    session = mixed_model.session()
    calls = counting_free(session)
    session.self_reference = session
    del session
    gc.collect()
    assert len(calls) == 1


def test_a_session_outlives_its_closed_model():
    model = libxlstm.Model(fixture_model("paper_mixed"))
    model_calls = counting_free(model)
    session = model.session()
    model.close()
    assert len(model_calls) == 1
    session.feed([1, 2, 3])  # the C session holds its model
    assert session.model is model and session.has_logits
    session.close()


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in KiB is Linux's")
def test_no_memory_growth_over_many_objects(mixed_model):
    def churn(count):
        for index in range(count):
            session = mixed_model.session()
            session.feed([1, 2, 3])
            blob = session.save_state()
            fork = session.clone()
            fork.load_state(blob)
            _ = session.logits
            if index % 2:
                session.close()
                fork.close()
            # else: left to garbage collection
        gc.collect()

    churn(200)  # warm up allocators
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    churn(3000)  # 6000 sessions of ~80 KB each: ~500 MB if they leaked
    growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert growth_mib < 50, f"peak memory grew by {growth_mib:.0f} MiB"
