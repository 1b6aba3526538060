"""Logits through Python equal the official implementation's (the committed fixtures)."""

import pytest

import libxlstm
from libxlstm._native import lib
from conftest import FIXTURE_NAMES, RELATIVE_TOLERANCE, as_list, fixture_model, read_fixture


def relative_error(actual_rows, expected_rows) -> float:
    """max |actual - expected| / max |expected| over every row (the Swift suite's measure)."""
    largest = max(abs(value) for row in expected_rows for value in row)
    worst = max(abs(a - e) for actual, expected in zip(actual_rows, expected_rows) for a, e in zip(actual, expected))
    return worst / largest


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_step_logits_match_reference(name):
    tokens, expected, meta = read_fixture(name)
    with libxlstm.Model(fixture_model(name)) as model, model.session() as session:
        assert model.info.vocab_size == meta["vocab_size"]
        assert model.info.family is libxlstm.Family[meta["family"].upper()]
        assert model.info.n_parameters == meta["n_parameters"]
        actual = []
        for token in tokens:
            session.feed(token)
            actual.append(as_list(session.logits))
        assert session.n_tokens == len(tokens)
    assert len(actual[0]) == meta["vocab_size"]
    error = relative_error(actual, expected)
    assert error <= RELATIVE_TOLERANCE, f"{name}: max relative error {error:.3g}"


@pytest.mark.parametrize("name", ["paper_mixed", "large_bias_tied_caps", "paper_long"])
def test_prefill_last_logits_match_reference(name):
    # One feed of the whole sequence (the library's parallel prefill): its last row.
    tokens, expected, _ = read_fixture(name)
    with libxlstm.Model(fixture_model(name)) as model, model.session() as session:
        session.feed(tokens)
        error = relative_error([as_list(session.logits)], [expected[-1]])
        assert error <= RELATIVE_TOLERANCE, f"{name}: max relative error {error:.3g}"
        # A prefix without logits, then the rest: the same row again.
        session.reset()
        half = len(tokens) // 2
        session.feed(tokens[:half], logits=False)
        assert not session.has_logits
        session.feed(tokens[half:])
        assert relative_error([as_list(session.logits)], [expected[-1]]) <= RELATIVE_TOLERANCE


def test_weight_policy_float32_matches_reference():
    tokens, expected, _ = read_fixture("paper_bf16")
    path = fixture_model("paper_bf16")
    with libxlstm.Model(path, weight_policy=libxlstm.WeightPolicy.FLOAT32, n_threads=2) as model:
        assert model.weight_policy is libxlstm.WeightPolicy.FLOAT32 and model.n_threads == 2
        with model.session() as session:
            rows = []
            for token in tokens:
                session.feed(token)
                rows.append(as_list(session.logits_copy()))
    assert relative_error(rows, expected) <= RELATIVE_TOLERANCE


SUPPORTED_PATHS = [path for path in libxlstm.CpuPath
                   if path is not libxlstm.CpuPath.AUTO and lib().xlstm_cpu_supports_path(int(path))]


@pytest.mark.parametrize("cpu_path", SUPPORTED_PATHS, ids=lambda path: path.name.lower())
def test_every_kernel_path_of_this_cpu_matches_reference(cpu_path):
    tokens, expected, _ = read_fixture("large_bias_tied_caps")
    with libxlstm.Model(fixture_model("large_bias_tied_caps"), cpu_path=cpu_path) as model:
        assert model.cpu_path is cpu_path
        with model.session() as session:
            rows = []
            for token in tokens:
                session.feed(token)
                rows.append(as_list(session.logits_copy()))
            session.reset()
            session.feed(tokens)
            prefill_error = relative_error([as_list(session.logits)], [expected[-1]])
    assert relative_error(rows, expected) <= RELATIVE_TOLERANCE
    assert prefill_error <= RELATIVE_TOLERANCE


# README "Precision": int8 activations on the tiny random-weight fixtures (measured 0.016-0.145).
FAST_TOLERANCE = 0.2


@pytest.mark.parametrize("cpu_path", SUPPORTED_PATHS, ids=lambda path: path.name.lower())
def test_precision_fast_on_a_quantized_fixture(cpu_path):
    tokens, expected, _ = read_fixture("q4_paper_mixed")
    with libxlstm.Model(fixture_model("q4_paper_mixed"), cpu_path=cpu_path,
                        precision=libxlstm.Precision.FAST) as model:
        if cpu_path is libxlstm.CpuPath.PORTABLE:
            assert model.precision is libxlstm.Precision.EXACT  # no int8 kernels on the portable path
        with model.session() as session:
            rows = []
            for token in tokens:
                session.feed(token)
                rows.append(as_list(session.logits_copy()))
    tolerance = FAST_TOLERANCE if model.precision is libxlstm.Precision.FAST else RELATIVE_TOLERANCE
    assert relative_error(rows, expected) <= tolerance
    with libxlstm.Model(fixture_model("q4_paper_mixed")) as exact:
        assert exact.precision is libxlstm.Precision.EXACT


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError):
        libxlstm.Model(fixture_model("paper_mixed"), precision=7)


def test_an_unknown_cpu_path_is_refused():
    with pytest.raises(ValueError):
        libxlstm.Model(fixture_model("paper_mixed"), cpu_path=99)


def test_every_load_mode_matches_reference():
    tokens, expected, _ = read_fixture("paper_mixed")
    for mode in libxlstm.LoadMode:
        with libxlstm.Model(fixture_model("paper_mixed"), load_mode=mode) as model:
            assert model.load_mode is mode
            with model.session() as session:
                rows = []
                for token in tokens:
                    session.feed(token)
                    rows.append(as_list(session.logits_copy()))
        assert relative_error(rows, expected) <= RELATIVE_TOLERANCE
