"""Samplers and streaming generation."""

import ctypes
import itertools
from array import array

import pytest

import libxlstm
from libxlstm import capi
from conftest import NO_NUMPY, as_list

PROMPT = [1, 2, 3]


def manual_generation(model, prompt, count, **options):
    """The C example's loop, written against the thin layer's semantics through the sampler API."""
    with model.session() as session, libxlstm.Sampler(**options) as sampler:
        session.feed(prompt)
        sampler.accept(prompt)
        tokens = []
        for _ in range(count):
            token = sampler.sample(session)
            session.feed(token)
            tokens.append(token)
        return tokens


def test_defaults_are_the_library_defaults():
    params = capi.xlstm_sampler_params()
    assert capi.xlstm_sampler_default_params(ctypes.byref(params)) == capi.XLSTM_OK
    with libxlstm.Sampler() as sampler:
        for name, value in sampler.params.items():
            assert value == getattr(params, name)
    assert sampler.params["top_k"] == 40 and sampler.params["seed"] == 0
    assert "closed" in repr(sampler)


def test_options_are_the_struct_fields():
    # Sampler's keyword arguments are exactly the C struct's fields (reserved ones aside).
    import inspect

    names = {field for field, _ in capi.xlstm_sampler_params._fields_} - {"reserved"}
    assert set(inspect.signature(libxlstm.Sampler).parameters) == names
    with libxlstm.Sampler(seed=7, temperature=0.5, top_k=3, top_p=0.9, min_p=0.0, repetition_penalty=1.1,
                          presence_penalty=0.2, penalty_window=8) as sampler:
        assert sampler.params["seed"] == 7 and sampler.params["top_k"] == 3
        assert sampler.params["temperature"] == pytest.approx(0.5)
        assert "top_k=3" in repr(sampler)


def test_same_seed_same_tokens(mixed_model):
    first = manual_generation(mixed_model, PROMPT, 24, seed=11)
    assert manual_generation(mixed_model, PROMPT, 24, seed=11) == first
    assert manual_generation(mixed_model, PROMPT, 24, seed=12) != first
    assert all(0 <= token < mixed_model.info.vocab_size for token in first)


def test_greedy_is_argmax(session):
    session.feed(PROMPT)
    logits = as_list(session.logits)
    with libxlstm.Sampler(temperature=0) as sampler:
        assert sampler.sample(session) == max(range(len(logits)), key=logits.__getitem__)


def test_sample_logits_forms_agree_with_sample(session):
    session.feed(PROMPT)
    logits = as_list(session.logits)
    forms = [logits, tuple(logits), array("f", logits), array("d", logits), memoryview(array("f", logits)),
             session.logits, session.logits_copy()]
    if not NO_NUMPY:
        import numpy

        forms += [numpy.array(logits, dtype=numpy.float64)]
    with libxlstm.Sampler(seed=3) as sampler:
        expected = [sampler.sample(session) for _ in range(5)]
    for form in forms:
        with libxlstm.Sampler(seed=3) as sampler:
            assert [sampler.sample_logits(form) for _ in range(5)] == expected


@pytest.mark.skipif(NO_NUMPY, reason="numpy arrays need numpy")
def test_sample_logits_dtype_errors():
    import numpy

    with libxlstm.Sampler() as sampler:
        with pytest.raises(TypeError):
            sampler.sample_logits(numpy.arange(10))
        with pytest.raises(libxlstm.InvalidArgumentError):
            sampler.sample_logits(numpy.zeros((2, 5), dtype=numpy.float32))


def test_reset_restarts_the_random_sequence(session):
    session.feed(PROMPT)
    with libxlstm.Sampler(seed=5) as sampler:
        first = [sampler.sample(session) for _ in range(8)]
        sampler.reset()
        assert [sampler.sample(session) for _ in range(8)] == first


def test_accept_feeds_the_penalties(session):
    session.feed(PROMPT)
    with libxlstm.Sampler(temperature=0) as plain:
        best = plain.sample(session)
    with libxlstm.Sampler(temperature=0, presence_penalty=1000.0) as penalised:
        penalised.accept([best])
        assert penalised.sample(session) != best
        penalised.reset()  # clears the history
        assert penalised.sample(session) == best
        penalised.accept(array("i", [best]))
        assert penalised.sample(session) != best


# ---- generate -------------------------------------------------------------------------------------


def test_generate_equals_the_manual_loop(mixed_model):
    expected = manual_generation(mixed_model, PROMPT, 20, seed=9)
    with mixed_model.session() as session:
        assert list(session.generate(PROMPT, 20, libxlstm.Sampler(seed=9))) == expected
    with mixed_model.session() as session:  # the default sampler is Sampler()
        assert list(session.generate(PROMPT, 20)) == manual_generation(mixed_model, PROMPT, 20)


def test_generate_streams_each_token_after_feeding_it(mixed_model):
    with mixed_model.session() as session:
        tokens = session.generate(PROMPT, 10, libxlstm.Sampler(seed=2))
        assert session.n_tokens == 0  # lazy: nothing happens before the first next()
        received = []
        for token in tokens:
            received.append(token)
            assert session.n_tokens == len(PROMPT) + len(received)
            assert session.has_logits
        assert len(received) == 10


def test_stopping_early_leaves_a_consistent_session(mixed_model):
    with mixed_model.session() as full:
        expected = list(full.generate(PROMPT, 12, libxlstm.Sampler(seed=4)))
        full_state = full.save_state()
    with mixed_model.session() as session:
        sampler = libxlstm.Sampler(seed=4)
        first = list(itertools.islice(session.generate(PROMPT, 12, sampler), 5))
        assert session.n_tokens == len(PROMPT) + 5
        rest = list(session.generate([], 7, sampler))  # continue from the current logits
        assert first + rest == expected
        assert session.save_state() == full_state


def test_stop_tokens(mixed_model):
    with mixed_model.session() as session:
        expected = list(session.generate(PROMPT, 30, libxlstm.Sampler(seed=8)))
    stop = expected[6]
    cut = expected.index(stop) + 1
    with mixed_model.session() as session:
        got = list(session.generate(PROMPT, 30, libxlstm.Sampler(seed=8), stop_tokens=[stop]))
        assert got == expected[:cut] and session.n_tokens == len(PROMPT) + cut


def test_generate_zero_tokens_feeds_the_prompt(session):
    assert list(session.generate(PROMPT, 0)) == []
    assert session.n_tokens == len(PROMPT) and session.has_logits


def test_generate_prompt_forms(mixed_model):
    expected = manual_generation(mixed_model, PROMPT, 6, seed=1)
    forms = [tuple(PROMPT), array("i", PROMPT), bytes(PROMPT), range(1, 4)]
    if not NO_NUMPY:
        import numpy

        forms.append(numpy.array(PROMPT))
    for form in forms:
        with mixed_model.session() as session:
            assert list(session.generate(form, 6, libxlstm.Sampler(seed=1))) == expected


def test_generate_keeps_its_own_copy_of_the_prompt(mixed_model):
    expected = manual_generation(mixed_model, PROMPT, 6, seed=1)
    prompt = array("i", PROMPT)
    with mixed_model.session() as session:
        tokens = session.generate(prompt, 6, libxlstm.Sampler(seed=1))
        prompt[0] = 99  # changed (and resizable) before the first next(): generate is not affected
        prompt.append(5)
        assert list(tokens) == expected
