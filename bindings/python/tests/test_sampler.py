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


# ---- sampler state and batches ----------------------------------------------------------------------

HOT = dict(seed=1234, temperature=1.3, top_k=0, top_p=0.98, min_p=0.0, repetition_penalty=1.7,
           presence_penalty=0.8, penalty_window=7)


def sample_and_feed(sampler, session, count):
    tokens = []
    for _ in range(count):
        token = sampler.sample(session)
        session.feed(token)
        tokens.append(token)
    return tokens


def test_saved_pair_continues_with_the_same_tokens(mixed_model):
    # The expected tokens are the same objects' uninterrupted continuation (an invariant).
    with mixed_model.session() as session, libxlstm.Sampler(**HOT) as sampler:
        session.feed(PROMPT)
        sampler.accept(PROMPT)
        sample_and_feed(sampler, session, 23)
        session_blob, sampler_blob = session.save_state(), sampler.save_state()
        assert isinstance(sampler_blob, bytes) and len(sampler_blob) == sampler.state_size == 72 + 4 * 7 + 8
        expected = sample_and_feed(sampler, session, 100)
        with mixed_model.session() as resumed_session, libxlstm.Sampler(seed=5) as resumed:
            resumed_session.load_state(session_blob)
            resumed.load_state(bytearray(sampler_blob))
            assert resumed.params == sampler.params
            assert sample_and_feed(resumed, resumed_session, 100) == expected
            assert resumed.save_state() == sampler.save_state()
        # Without the sampler's state the tokens differ (the check above can fail).
        with mixed_model.session() as restart, libxlstm.Sampler(**HOT) as fresh:
            restart.load_state(session_blob)
            assert sample_and_feed(fresh, restart, 100) != expected


def test_sampler_pickles_as_its_state(mixed_model):
    import pickle

    with mixed_model.session() as session, libxlstm.Sampler(**HOT) as sampler:
        session.feed(PROMPT)
        sample_and_feed(sampler, session, 10)
        copy = pickle.loads(pickle.dumps(sampler))
        twin = session.clone()
        assert copy.params == sampler.params
        assert sample_and_feed(copy, twin, 30) == sample_and_feed(sampler, session, 30)
        copy.close()
        twin.close()
    assert libxlstm.Sampler.from_state(sampler_blob_of(seed=3)).params["seed"] == 3


def sampler_blob_of(**options):
    with libxlstm.Sampler(**options) as sampler:
        return sampler.save_state()


def test_sampler_state_files(tmp_path, mixed_model):
    path = tmp_path / "npc.sampler"
    with mixed_model.session() as session, libxlstm.Sampler(**HOT) as sampler:
        session.feed(PROMPT)
        sample_and_feed(sampler, session, 5)
        sampler.save_state_file(path)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["npc.sampler"]
        assert path.read_bytes() == sampler.save_state()
        with libxlstm.Sampler() as other:
            other.load_state_file(str(path))
            assert other.save_state() == sampler.save_state()
            with pytest.raises(libxlstm.FileError):
                other.load_state_file(tmp_path / "missing")


def test_bad_sampler_blobs_are_refused_and_change_nothing(mixed_model):
    with mixed_model.session() as session, libxlstm.Sampler(**HOT) as sampler:
        session.feed(PROMPT)
        sampler.accept([4, 5])
        good = sampler_blob_of(seed=9, penalty_window=3)
        before = sampler.save_state()
        cases = [
            (b"", libxlstm.StateCorruptError),
            (good[:-1], libxlstm.StateCorruptError),
            (good + b"\0", libxlstm.StateCorruptError),
            (good[:40] + bytes([good[40] ^ 1]) + good[41:], libxlstm.StateCorruptError),
            (good[:8] + b"\x02" + good[9:], libxlstm.StateVersionError),
            (session.save_state(), libxlstm.StateCorruptError),
        ]
        for blob, error in cases:
            with pytest.raises(error):
                sampler.load_state(blob)
            assert sampler.save_state() == before
            assert sampler.params["seed"] == 1234
        with pytest.raises(libxlstm.StateCorruptError, match="session state blob"):
            sampler.load_state(session.save_state())
        with pytest.raises(TypeError):
            sampler.load_state("not bytes")
        # And a sampler blob is no session state.
        with pytest.raises(libxlstm.StateCorruptError):
            session.load_state(good)


def test_sample_batch_equals_single_calls(mixed_model):
    for n in (1, 3, 17):
        batch_sessions = [mixed_model.session() for _ in range(n)]
        single_sessions = [mixed_model.session() for _ in range(n)]
        for i in range(n):
            prompt = list(range(1, 2 + (i * 5) % 11))  # mixed positions
            batch_sessions[i].feed(prompt)
            single_sessions[i].feed(prompt)
        batch_samplers = [libxlstm.Sampler(**dict(HOT, seed=100 + i)) for i in range(n)]
        single_samplers = [libxlstm.Sampler(**dict(HOT, seed=100 + i)) for i in range(n)]
        for _ in range(20):
            tokens = libxlstm.sample_batch(batch_samplers, batch_sessions)
            expected = [s.sample(x) for s, x in zip(single_samplers, single_sessions)]
            assert tokens == expected
            for i in range(n):
                batch_sessions[i].feed(tokens[i])
                single_sessions[i].feed(expected[i])
        for obj in batch_sessions + single_sessions + batch_samplers + single_samplers:
            obj.close()
    assert libxlstm.sample_batch([], []) == []


def test_sample_batch_validates_first(mixed_model):
    with mixed_model.session() as fed, mixed_model.session() as empty, \
            libxlstm.Sampler(**HOT) as a, libxlstm.Sampler(**HOT) as b:
        fed.feed(PROMPT)
        before = (a.save_state(), b.save_state())
        with pytest.raises(libxlstm.NoLogitsError, match=r"sessions\[1\]"):
            libxlstm.sample_batch([a, b], [fed, empty])
        with pytest.raises(libxlstm.InvalidArgumentError, match=r"samplers\[1\]"):
            libxlstm.sample_batch([a, a], [fed, fed])
        with pytest.raises(libxlstm.InvalidArgumentError):
            libxlstm.sample_batch([a, b], [fed])
        with pytest.raises(TypeError, match=r"sessions\[0\]"):
            libxlstm.sample_batch([a], [None])
        assert (a.save_state(), b.save_state()) == before
        # The same session twice is fine: both read its logits.
        tokens = libxlstm.sample_batch([a, b], [fed, fed])
        assert len(tokens) == 2
