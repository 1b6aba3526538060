"""Bad inputs raise the documented exceptions, carrying the status and the library's message, and
leave everything unchanged; closed objects raise, never crash."""

import json
import struct
from array import array

import pytest

import libxlstm
from libxlstm import errors
from conftest import NO_NUMPY, fixture_model

PROMPT = [1, 2, 3, 4]


def snapshot(session):
    return session.n_tokens, session.save_state()


# ---- the status -> exception table -----------------------------------------------------------------


def test_every_status_has_its_exception_class():
    expected = {
        "INVALID_ARGUMENT": libxlstm.InvalidArgumentError,
        "IO": libxlstm.FileError,
        "INVALID_MODEL": libxlstm.ModelLoadError,
        "UNSUPPORTED": libxlstm.ModelLoadError,
        "TOKEN_OUT_OF_RANGE": libxlstm.TokenOutOfRangeError,
        "BUFFER_TOO_SMALL": libxlstm.BufferTooSmallError,
        "STATE_MISMATCH": libxlstm.StateMismatchError,
        "STATE_VERSION": libxlstm.StateVersionError,
        "STATE_CORRUPT": libxlstm.StateCorruptError,
        "NO_LOGITS": libxlstm.NoLogitsError,
        "CANCELLED": libxlstm.CancelledError,
        "OUT_OF_MEMORY": libxlstm.OutOfMemoryError,
    }
    # Every status of the manifest but OK is mapped (a new one would fail here first).
    assert {status.name for status in libxlstm.Status} - {"OK"} == set(expected)
    for name, cls in expected.items():
        status = libxlstm.Status[name]
        error = libxlstm._native.error_for(status)
        assert type(error) is cls and error.status is status
        assert isinstance(error, libxlstm.XlstmError)
    assert issubclass(libxlstm.StateCorruptError, libxlstm.StateError)
    assert issubclass(libxlstm.TokenOutOfRangeError, ValueError)
    assert issubclass(libxlstm.FileError, OSError)
    assert issubclass(libxlstm.NoLogitsError, RuntimeError)
    assert issubclass(libxlstm.OutOfMemoryError, MemoryError)
    assert set(errors.__all__) <= set(libxlstm.__all__)


def test_oserror_subclasses_keep_the_message():
    error = errors.make_error(libxlstm.FileError, libxlstm.Status.IO, "x.state: no such file")
    assert str(error) == error.message == "x.state: no such file" and error.errno is None


# ---- tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 100, 2**31 - 1, -(2**31), 2**31, 2**40, -(2**63)])
def test_out_of_range_token_raises_and_changes_nothing(session, bad):
    session.feed(PROMPT)
    before = snapshot(session)
    for form in (bad, [1, 2, bad], (bad,)):
        with pytest.raises(libxlstm.TokenOutOfRangeError) as raised:
            session.feed(form)
        assert raised.value.status is libxlstm.Status.TOKEN_OUT_OF_RANGE
        assert str(bad) in str(raised.value)
        assert snapshot(session) == before


def test_library_message_names_the_range(session):
    with pytest.raises(libxlstm.TokenOutOfRangeError, match=r"100 is out of range \[0, 100\)"):
        session.feed(100)


@pytest.mark.parametrize(
    "bad",
    [1.0, "abc", [1, 2.5], [1, "2"], [None], array("f", [1.0]), array("d", [1.0]), object(), None, {1.5: 2}],
    ids=["float", "str", "list float", "list str", "list None", "array f", "array d", "object", "None", "dict"],
)
def test_wrong_token_types_raise_type_error(session, bad):
    with pytest.raises(TypeError):
        session.feed(bad)
    assert session.n_tokens == 0


@pytest.mark.skipif(NO_NUMPY, reason="numpy arrays need numpy")
def test_numpy_token_dtypes():
    import numpy

    with libxlstm.Model(fixture_model("paper_mixed")) as model, model.session() as session:
        for dtype in (numpy.float32, numpy.float64, numpy.bool_, numpy.complex64, object):
            with pytest.raises(TypeError, match="integer dtype"):
                session.feed(numpy.array(PROMPT, dtype=dtype))
        with pytest.raises(libxlstm.InvalidArgumentError):
            session.feed(numpy.array([PROMPT, PROMPT], dtype=numpy.int32))
        with pytest.raises(libxlstm.TokenOutOfRangeError):
            session.feed(numpy.array([1, 2**40], dtype=numpy.int64))
        with pytest.raises(libxlstm.TokenOutOfRangeError):
            session.feed(numpy.array([1, 2**32 - 1], dtype=numpy.uint32))
        with pytest.raises(libxlstm.TokenOutOfRangeError):
            session.feed(numpy.array([1, 100], dtype=numpy.int32))
        assert session.n_tokens == 0


# ---- state blobs ----------------------------------------------------------------------------------


@pytest.fixture
def fed(session):
    session.feed(PROMPT)
    return session


def test_blob_from_another_model_raises_state_mismatch(fed, other_model):
    with other_model.session() as foreign:
        foreign.feed([1, 2])
        blob = foreign.save_state()
    before = snapshot(fed)
    with pytest.raises(libxlstm.StateMismatchError) as raised:
        fed.load_state(blob)
    assert raised.value.status is libxlstm.Status.STATE_MISMATCH and "different model" in str(raised.value)
    assert snapshot(fed) == before


def test_blob_of_another_format_version_raises_state_version(fed):
    blob = bytearray(fed.save_state())
    struct.pack_into("<I", blob, 8, 99)
    before = snapshot(fed)
    with pytest.raises(libxlstm.StateVersionError, match="99"):
        fed.load_state(bytes(blob))
    assert snapshot(fed) == before


@pytest.mark.parametrize("damage", ["truncated", "empty", "magic", "flipped byte", "extra byte", "junk"])
def test_damaged_blob_raises_state_corrupt(fed, damage):
    blob = fed.save_state()
    if damage == "truncated":
        blob = blob[:-9]
    elif damage == "empty":
        blob = b""
    elif damage == "magic":
        blob = b"NOTSTATE" + blob[8:]
    elif damage == "flipped byte":
        blob = blob[:200] + bytes([blob[200] ^ 1]) + blob[201:]
    elif damage == "extra byte":
        blob = blob + b"\0"
    else:
        blob = bytes(range(256)) * 4
    before = snapshot(fed)
    with pytest.raises(libxlstm.StateCorruptError) as raised:
        fed.load_state(blob)
    assert isinstance(raised.value, libxlstm.StateError) and raised.value.status is libxlstm.Status.STATE_CORRUPT
    assert snapshot(fed) == before


@pytest.mark.parametrize("bad", ["a string", 123, None, [1, 2, 3], 1.5])
def test_non_bytes_blob_raises_type_error(fed, bad):
    with pytest.raises(TypeError):
        fed.load_state(bad)


def test_state_file_errors(fed, tmp_path):
    with pytest.raises(libxlstm.FileError) as raised:
        fed.load_state_file(tmp_path / "missing.state")
    assert isinstance(raised.value, OSError) and raised.value.status is libxlstm.Status.IO
    assert "missing.state" in str(raised.value)
    with pytest.raises(libxlstm.FileError):
        fed.save_state_file(tmp_path / "no" / "such" / "dir" / "x.state")
    junk = tmp_path / "junk.state"
    junk.write_bytes(b"junk")
    with pytest.raises(libxlstm.StateCorruptError):
        fed.load_state_file(junk)
    with pytest.raises(TypeError):
        fed.save_state_file(42)


# ---- models ---------------------------------------------------------------------------------------


def test_missing_model_directory(tmp_path):
    with pytest.raises(libxlstm.ModelLoadError) as raised:
        libxlstm.Model(tmp_path / "nothing-here")
    assert raised.value.status is libxlstm.Status.IO and "nothing-here" in str(raised.value)


def test_malformed_model_directory(tmp_path):
    (tmp_path / "config.json").write_text("{ not json")
    with pytest.raises(libxlstm.ModelLoadError) as raised:
        libxlstm.Model(tmp_path)
    assert raised.value.status in (libxlstm.Status.INVALID_MODEL, libxlstm.Status.UNSUPPORTED)
    assert str(raised.value)


def test_model_with_missing_tensor_file(tmp_path):
    config = json.loads((fixture_model("paper_mixed") / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(libxlstm.ModelLoadError) as raised:
        libxlstm.Model(tmp_path)
    assert "safetensors" in str(raised.value)


def test_model_argument_types(tmp_path):
    with pytest.raises(TypeError):
        libxlstm.Model(42)
    with pytest.raises(TypeError):
        libxlstm.Model(fixture_model("paper_mixed"), n_threads=1.5)
    with pytest.raises(libxlstm.InvalidArgumentError):
        libxlstm.Model(fixture_model("paper_mixed"), n_threads=0)
    with pytest.raises(libxlstm.InvalidArgumentError):
        libxlstm.Model(fixture_model("paper_mixed"), n_threads=2**40)
    with pytest.raises(ValueError):
        libxlstm.Model(fixture_model("paper_mixed"), weight_policy=7)
    with pytest.raises(ValueError):
        libxlstm.Model(fixture_model("paper_mixed"), load_mode=7)
    with pytest.raises(TypeError):
        libxlstm.Session("not a model")


# ---- closed objects -------------------------------------------------------------------------------


def session_calls(other):
    return {
        "feed": lambda s: s.feed(1),
        "feed list": lambda s: s.feed([1, 2]),
        "logits": lambda s: s.logits,
        "logits_copy": lambda s: s.logits_copy(),
        "has_logits": lambda s: s.has_logits,
        "n_tokens": lambda s: s.n_tokens,
        "state_size": lambda s: s.state_size,
        "save_state": lambda s: s.save_state(),
        "save_state_into": lambda s: s.save_state_into(bytearray(10)),
        "load_state": lambda s: s.load_state(b"x"),
        "save_state_file": lambda s: s.save_state_file("/tmp/never-written"),
        "load_state_file": lambda s: s.load_state_file("/tmp/never-read"),
        "clone": lambda s: s.clone(),
        "copy_state_from": lambda s: s.copy_state_from(other),
        "copy_state_into": lambda s: other.copy_state_from(s),
        "reset": lambda s: s.reset(),
        "generate": lambda s: s.generate([1], 2),
        "sample": lambda s: libxlstm.Sampler().sample(s),
        "with": lambda s: s.__enter__(),
    }


@pytest.mark.parametrize("call", list(session_calls(None)))
def test_closed_session_raises(mixed_model, call):
    with mixed_model.session() as other:
        session = mixed_model.session()
        session.feed([1, 2])
        session.close()
        session.close()  # idempotent
        assert session.closed and "closed" in repr(session)
        with pytest.raises(libxlstm.ClosedError, match="session is closed"):
            session_calls(other)[call](session)


def test_generator_of_a_closed_session_raises(mixed_model):
    session = mixed_model.session()
    tokens = session.generate([1, 2], 5, libxlstm.Sampler(seed=1))
    assert isinstance(next(tokens), int)
    session.close()
    with pytest.raises(libxlstm.ClosedError):
        next(tokens)


def test_closed_model_raises_but_its_sessions_live_on():
    model = libxlstm.Model(fixture_model("paper_mixed"))
    session = model.session()
    model.close()
    model.close()
    for call in (lambda: model.info, lambda: model.session(), lambda: libxlstm.Session(model),
                 lambda: model.vocab_size, lambda: model.__enter__()):
        with pytest.raises(libxlstm.ClosedError, match="model is closed"):
            call()
    assert "closed" in repr(model)
    session.feed(PROMPT)  # the C session holds the model
    with session.clone() as fork:
        fork.feed(5)
    session.close()


def test_closed_sampler_raises(session):
    sampler = libxlstm.Sampler()
    session.feed(PROMPT)
    sampler.close()
    for call in (lambda: sampler.sample(session), lambda: sampler.sample_logits([1.0, 2.0]),
                 lambda: sampler.accept(1), lambda: sampler.accept([1, 2]), lambda: sampler.reset()):
        with pytest.raises(libxlstm.ClosedError, match="sampler is closed"):
            call()
    with pytest.raises(libxlstm.ClosedError):
        list(session.generate([], 3, sampler))


def test_closed_error_is_a_value_error():
    assert issubclass(libxlstm.ClosedError, ValueError)


# ---- samplers -------------------------------------------------------------------------------------


def test_sampler_option_errors():
    with pytest.raises(libxlstm.InvalidArgumentError):
        libxlstm.Sampler(temperature=-1.0)
    with pytest.raises(libxlstm.InvalidArgumentError):
        libxlstm.Sampler(top_p=2.0)
    with pytest.raises(libxlstm.InvalidArgumentError):
        libxlstm.Sampler(seed=-1)
    with pytest.raises(libxlstm.InvalidArgumentError):
        libxlstm.Sampler(top_k=2**31)
    with pytest.raises(TypeError):
        libxlstm.Sampler(top_k=1.5)
    with pytest.raises(TypeError):
        libxlstm.Sampler(temperature="hot")
    with pytest.raises(TypeError):
        libxlstm.Sampler(unknown=1)


def test_sampling_without_logits(session):
    with libxlstm.Sampler() as sampler:
        with pytest.raises(libxlstm.NoLogitsError):
            sampler.sample(session)
        with pytest.raises(libxlstm.NoLogitsError):
            next(session.generate([], 4, sampler))
        with pytest.raises(TypeError):
            sampler.sample("not a session")
        with pytest.raises(libxlstm.TokenOutOfRangeError):
            sampler.accept(2**40)
        with pytest.raises(TypeError):
            sampler.accept("abc")
        with pytest.raises(TypeError):
            sampler.sample_logits("abc")


def test_generate_checks_its_arguments_at_the_call(session):
    with pytest.raises(TypeError):
        session.generate([1.5], 3)
    with pytest.raises(libxlstm.InvalidArgumentError):
        session.generate([1], -1)
    with pytest.raises(TypeError):
        session.generate([1], 3, sampler="greedy")
    with pytest.raises(TypeError):
        session.generate([1], 3, stop_tokens=[1.5])
    assert session.n_tokens == 0  # nothing was fed
    tokens = session.generate([1, 100], 3)  # out of range: found when the prompt is fed
    with pytest.raises(libxlstm.TokenOutOfRangeError):
        next(tokens)
    assert session.n_tokens == 0


def test_token_errors_from_a_generator_name_the_culprit(session):
    with pytest.raises(libxlstm.TokenOutOfRangeError, match=str(2**35)):
        session.feed(t for t in (1, 2, 2**35))
    with pytest.raises(TypeError, match="containing float"):
        session.feed(t for t in (1, 2.0))
    assert session.n_tokens == 0
