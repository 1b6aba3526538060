"""Sessions: token inputs, the logits view, and bit-exact save / restore / clone round trips."""

import ctypes
import gc
import pickle
import sqlite3
import weakref
from array import array

import pytest

import libxlstm
from conftest import NO_NUMPY, RELATIVE_TOLERANCE, as_list, float_bytes, fixture_model, read_fixture, run_python

PROMPT = [1, 2, 3, 4, 5, 6, 7, 8]
MORE = [9, 10, 11, 12]


def continuation(session, tokens=MORE) -> bytes:
    """The logits bytes after feeding `tokens` one at a time."""
    out = b""
    for token in tokens:
        session.feed(token)
        out += float_bytes(session.logits_copy())
    return out


# ---- token inputs -------------------------------------------------------------------------------


def token_containers():
    containers = [
        ("list", list(PROMPT)),
        ("tuple", tuple(PROMPT)),
        ("range", range(1, 9)),
        ("generator", (t for t in PROMPT)),
        ("array('i')", array("i", PROMPT)),
        ("array('q')", array("q", PROMPT)),
        ("array('B')", array("B", PROMPT)),
        ("bytes", bytes(PROMPT)),
        ("bytearray", bytearray(PROMPT)),
        ("memoryview", memoryview(array("i", PROMPT))),
    ]
    if not NO_NUMPY:
        import numpy

        containers += [
            ("numpy int32", numpy.array(PROMPT, dtype=numpy.int32)),
            ("numpy int64", numpy.array(PROMPT, dtype=numpy.int64)),
            ("numpy uint16", numpy.array(PROMPT, dtype=numpy.uint16)),
            ("numpy int32 strided", numpy.array([t for p in PROMPT for t in (p, 0)], dtype=numpy.int32)[::2]),
            ("numpy big-endian int32", numpy.array(PROMPT, dtype=">i4")),
        ]
    return containers


@pytest.mark.parametrize("kind,tokens", token_containers(), ids=[c[0] for c in token_containers()])
def test_feed_accepts_token_containers(mixed_model, kind, tokens):
    with mixed_model.session() as reference, mixed_model.session() as session:
        reference.feed(PROMPT)
        session.feed(tokens)
        assert session.n_tokens == len(PROMPT)
        assert float_bytes(session.logits) == float_bytes(reference.logits)


def test_feed_single_token_forms_agree(mixed_model):
    forms = [5]
    if not NO_NUMPY:
        import numpy

        forms += [numpy.int64(5), numpy.int32(5), numpy.array(5)]
    results = set()
    for form in forms:
        with mixed_model.session() as session:
            session.feed(form)
            results.add(float_bytes(session.logits))
    assert len(results) == 1


def test_feed_empty_sequence_changes_nothing(session):
    session.feed([])
    assert session.n_tokens == 0 and not session.has_logits
    session.feed([1, 2])
    before = float_bytes(session.logits)
    session.feed(())
    assert session.n_tokens == 2 and float_bytes(session.logits) == before


def test_feed_without_logits(session):
    session.feed([1, 2, 3], logits=False)
    assert session.n_tokens == 3 and not session.has_logits
    with pytest.raises(libxlstm.NoLogitsError):
        session.logits
    session.feed(4, logits=False)  # one token without logits
    assert session.n_tokens == 4 and not session.has_logits


def test_feed_large_list_converts_in_one_pass(session):
    # A million ids convert in one linear pass (a quadratic conversion would not finish). The last id
    # is out of range, so the library checks them all and consumes none: no model time is spent.
    tokens = [t % 100 for t in range(1_000_000)] + [100]
    with pytest.raises(libxlstm.TokenOutOfRangeError):
        session.feed(tokens)
    assert session.n_tokens == 0


# ---- the logits view ------------------------------------------------------------------------------


def test_logits_is_a_read_only_zero_copy_view(session):
    session.feed(PROMPT)
    view = session.logits
    assert len(view) == session.vocab_size
    if NO_NUMPY:
        assert isinstance(view, memoryview) and view.format == "f" and view.readonly
        with pytest.raises(TypeError):
            view[0] = 1.0
    else:
        import numpy

        assert isinstance(view, numpy.ndarray) and view.dtype == numpy.float32 and not view.flags.writeable
        with pytest.raises(ValueError):
            view[0] = 1.0
        with pytest.raises(ValueError):
            view.flags.writeable = True
        assert not view.flags.owndata  # a view, not a copy
        assert session.logits.ctypes.data == view.ctypes.data


def test_logits_view_shows_the_latest_logits_and_copies_do_not(session):
    session.feed(PROMPT)
    view = session.logits
    snapshot = session.logits_copy()
    first = float_bytes(view)
    assert float_bytes(snapshot) == first
    session.feed(9)
    assert float_bytes(view) == float_bytes(session.logits) != first  # the view follows the session
    assert float_bytes(snapshot) == first  # the copy does not


def logits_address(session) -> int:
    pointer = libxlstm.capi.xlstm_session_logits(session._handle.pointer)
    return ctypes.cast(pointer, ctypes.c_void_p).value


def test_logits_buffer_stays_put(session):
    # The zero-copy views rely on the library keeping one logits buffer per session.
    addresses = set()
    for token in PROMPT:
        session.feed(token)
        addresses.add(logits_address(session))
    session.feed(PROMPT)
    session.load_state(session.save_state())
    addresses.add(logits_address(session))
    session.reset()
    session.feed(1)
    addresses.add(logits_address(session))
    with session.clone() as fork:
        fork.feed(2)
        assert logits_address(fork) not in addresses
    assert len(addresses) == 1


def test_logits_view_outlives_close_safely(mixed_model):
    session = mixed_model.session()
    session.feed(PROMPT)
    view = session.logits
    expected = float_bytes(session.logits_copy())
    handle = weakref.ref(session._handle)
    session.close()
    assert session.closed
    gc.collect()
    assert handle() is not None  # the C session is kept for the view ...
    assert float_bytes(view) == expected  # ... which still reads valid memory
    del view
    gc.collect()
    assert handle() is None  # ... and freed with the last view


def test_logits_copy_and_no_logits(session):
    with pytest.raises(libxlstm.NoLogitsError) as raised:
        session.logits_copy()
    assert raised.value.status is libxlstm.Status.NO_LOGITS
    session.feed(PROMPT)
    copy = session.logits_copy()
    if NO_NUMPY:
        assert isinstance(copy, array) and copy.typecode == "f"
    else:
        assert copy.flags.owndata and copy.flags.writeable
    assert float_bytes(copy) == float_bytes(session.logits)


# ---- state round trips ----------------------------------------------------------------------------


def test_save_load_round_trip_is_bit_exact(mixed_model):
    with mixed_model.session() as original, mixed_model.session() as restored:
        original.feed(PROMPT)
        blob = original.save_state()
        assert isinstance(blob, bytes) and len(blob) == original.state_size == mixed_model.info.state_size
        restored.load_state(blob)
        assert restored.n_tokens == original.n_tokens == len(PROMPT)
        assert float_bytes(restored.logits) == float_bytes(original.logits)
        assert restored.save_state() == blob
        assert continuation(restored) == continuation(original)
        assert restored.save_state() == original.save_state()


def test_restore_equals_uninterrupted(mixed_model):
    with mixed_model.session() as uninterrupted, mixed_model.session() as resumed:
        uninterrupted.feed(PROMPT)
        blob = uninterrupted.save_state()
        expected = continuation(uninterrupted)
        resumed.feed([50, 60, 70])  # some other history, replaced by the blob
        resumed.load_state(blob)
        assert continuation(resumed) == expected


def test_load_state_accepts_bytes_like(mixed_model):
    with mixed_model.session() as session:
        session.feed(PROMPT)
        blob = session.save_state()
        logits = float_bytes(session.logits)
        forms = [bytearray(blob), memoryview(blob), memoryview(bytearray(blob)), array("B", blob)]
        if not NO_NUMPY:
            import numpy

            forms.append(numpy.frombuffer(blob, dtype=numpy.uint8))
        for form in forms:
            session.reset()
            session.load_state(form)
            assert session.n_tokens == len(PROMPT) and float_bytes(session.logits) == logits


def test_save_state_into_buffer(session):
    session.feed(PROMPT)
    buffer = bytearray(session.state_size + 10)
    written = session.save_state_into(buffer)
    assert written == session.state_size
    assert bytes(buffer[:written]) == session.save_state()
    with pytest.raises(libxlstm.BufferTooSmallError) as raised:
        session.save_state_into(bytearray(session.state_size - 1))
    assert raised.value.status is libxlstm.Status.BUFFER_TOO_SMALL and "bytes" in str(raised.value)
    with pytest.raises(TypeError):
        session.save_state_into(bytes(session.state_size))  # read-only


def test_state_without_logits_round_trips(session):
    session.feed(PROMPT, logits=False)
    blob = session.save_state()
    session.reset()
    session.load_state(blob)
    assert session.n_tokens == len(PROMPT) and not session.has_logits


def test_state_file_round_trip(mixed_model, tmp_path):
    path = tmp_path / "conversation.state"
    with mixed_model.session() as original, mixed_model.session() as restored:
        original.feed(PROMPT)
        original.save_state_file(path)
        assert path.read_bytes() == original.save_state()
        restored.load_state_file(str(path))
        assert continuation(restored) == continuation(original)


def test_blob_is_picklable_and_storable(session, tmp_path):
    session.feed(PROMPT)
    blob = session.save_state()
    assert pickle.loads(pickle.dumps(blob)) == blob
    database = sqlite3.connect(str(tmp_path / "states.db"))
    database.execute("CREATE TABLE conversation (id INTEGER PRIMARY KEY, state BLOB)")
    database.execute("INSERT INTO conversation (state) VALUES (?)", (blob,))
    (stored,) = database.execute("SELECT state FROM conversation").fetchone()
    database.close()
    session.reset()
    session.load_state(stored)
    assert session.save_state() == blob


def test_sessions_are_not_picklable(session):
    with pytest.raises(TypeError, match="save_state"):
        pickle.dumps(session)


def test_blob_loads_in_another_process(mixed_model, tmp_path):
    blob_path = tmp_path / "state.bin"
    with mixed_model.session() as session:
        session.feed(PROMPT)
        blob_path.write_bytes(session.save_state())
        expected = continuation(session).hex()
    code = f"""
import libxlstm
from array import array
with libxlstm.Model({str(fixture_model('paper_mixed'))!r}) as model, model.session() as session:
    session.load_state(open({str(blob_path)!r}, "rb").read())
    out = b""
    for token in {MORE!r}:
        session.feed(token)
        out += array("f", session.logits_copy()).tobytes()
    print(out.hex())
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_clone_is_an_independent_bit_exact_fork(mixed_model):
    with mixed_model.session() as original:
        original.feed(PROMPT)
        blob = original.save_state()
        with original.clone() as fork:
            assert isinstance(fork, libxlstm.Session) and fork.model is mixed_model
            assert fork.n_tokens == original.n_tokens
            assert float_bytes(fork.logits) == float_bytes(original.logits)
            assert fork.save_state() == blob
            fork_run = continuation(fork)
            assert original.save_state() == blob  # feeding the fork leaves the original alone
            assert continuation(original) == fork_run


def test_copy_state_from(mixed_model, other_model):
    with mixed_model.session() as source, mixed_model.session() as target:
        source.feed(PROMPT)
        target.feed([40, 41])
        target.copy_state_from(source)
        assert target.save_state() == source.save_state()
        target.copy_state_from(target)  # no-op
        with other_model.session() as foreign:
            with pytest.raises(libxlstm.StateMismatchError):
                foreign.copy_state_from(source)
        with pytest.raises(TypeError):
            target.copy_state_from(source.save_state())


def test_reset_equals_fresh(mixed_model):
    with mixed_model.session() as fresh, mixed_model.session() as reused:
        reused.feed([90, 91, 92])
        reused.reset()
        assert reused.n_tokens == 0 and not reused.has_logits
        assert continuation(reused, PROMPT) == continuation(fresh, PROMPT)


def test_step_and_prefill_agree_within_tolerance(mixed_model):
    tokens, expected, _ = read_fixture("paper_mixed")
    with mixed_model.session() as stepped, mixed_model.session() as prefilled:
        for token in tokens:
            stepped.feed(token)
        prefilled.feed(tokens)
        a, b = as_list(stepped.logits), as_list(prefilled.logits)
        assert max(abs(x - y) for x, y in zip(a, b)) <= RELATIVE_TOLERANCE * max(abs(x) for x in expected[-1])
