"""Model.feed_batch / generate_batch (xlstm_batch_feed) and feed_batch_tokens (xlstm_batch_feed_tokens): N
sessions at mixed positions fed in one call equal the same sessions fed one at a time, match the official
logits, and bad input changes nothing."""

from __future__ import annotations

import pytest

import libxlstm
from conftest import RELATIVE_TOLERANCE, as_list, fixture_model, float_bytes, read_fixture


def relative(a, b) -> float:
    a, b = as_list(a), as_list(b)
    return max(abs(x - y) for x, y in zip(a, b)) / max(abs(y) for y in b)


@pytest.mark.parametrize("name", ["paper_mixed", "large_bias_tied_caps"])
def test_batch_equals_single_feeds(name):
    tokens, reference, _ = read_fixture(name)
    with libxlstm.Model(fixture_model(name)) as model:
        count = 17
        primed = [(i * 5) % 13 for i in range(count)]
        batch = [model.session() for _ in range(count)]
        alone = [model.session() for _ in range(count)]
        for i in range(count):
            if primed[i]:
                batch[i].feed(tokens[:primed[i]], logits=False)
                alone[i].feed(tokens[:primed[i]], logits=False)
        for r in range(3):
            ids = [tokens[primed[i] + r] for i in range(count)]
            model.feed_batch(batch, ids)
            for i in range(count):
                alone[i].feed(ids[i])
                assert relative(batch[i].logits, alone[i].logits) <= 1e-5
                assert relative(batch[i].logits, reference[primed[i] + r]) <= RELATIVE_TOLERANCE
                assert batch[i].n_tokens == primed[i] + r + 1


def test_batch_results_do_not_depend_on_batch_mates(mixed_model):
    three = [mixed_model.session() for _ in range(3)]
    one = mixed_model.session()
    mixed_model.feed_batch(three, [5, 6, 7])
    mixed_model.feed_batch([one], [5])
    assert float_bytes(one.logits) == float_bytes(three[0].logits)


def test_bad_input_changes_nothing(mixed_model, other_model):
    sessions = [mixed_model.session() for _ in range(3)]
    for i, s in enumerate(sessions):
        s.feed(i + 1)
    before = [s.save_state() for s in sessions]
    with other_model.session() as foreign:
        with pytest.raises(libxlstm.InvalidArgumentError, match="session 3"):
            mixed_model.feed_batch(sessions + [foreign], [1, 2, 3, 4])
    with pytest.raises(libxlstm.InvalidArgumentError, match="session 2 is the same session as 0"):
        mixed_model.feed_batch([sessions[0], sessions[1], sessions[0]], [1, 2, 3])
    with pytest.raises(libxlstm.TokenOutOfRangeError, match="index 1"):
        mixed_model.feed_batch(sessions, [1, mixed_model.vocab_size, 3])
    with pytest.raises(libxlstm.InvalidArgumentError, match="3 sessions but 2 tokens"):
        mixed_model.feed_batch(sessions, [1, 2])
    with pytest.raises(TypeError):
        mixed_model.feed_batch([sessions[0], "not a session"], [1, 2])
    assert [s.save_state() for s in sessions] == before
    mixed_model.feed_batch([], [])  # nothing


def test_generate_batch_and_memory_info(mixed_model):
    sessions = [mixed_model.session() for _ in range(4)]
    for i, s in enumerate(sessions):
        s.feed([1 + i, 2, 3])
    samplers = [libxlstm.Sampler(seed=i) for i in range(4)]
    produced = mixed_model.generate_batch(sessions, samplers, 6)
    assert [len(p) for p in produced] == [6, 6, 6, 6]
    assert all(0 <= t < mixed_model.vocab_size for p in produced for t in p)
    assert [s.n_tokens for s in sessions] == [9, 9, 9, 9]
    # With prompts: one batched prefill first, the prompts in the samplers' penalty history; the same
    # tokens as feeding each prompt alone and generating with twin samplers.
    prompts = [[1, 2, 3, 4, 5], [6], [7, 8], [9, 10, 11]]
    penalised = dict(seed=3, temperature=0.9, repetition_penalty=1.3)
    batch = [mixed_model.session() for _ in range(4)]
    produced = mixed_model.generate_batch(batch, [libxlstm.Sampler(**penalised) for _ in range(4)], 5, prompts=prompts)
    assert [s.n_tokens for s in batch] == [len(p) + 5 for p in prompts]
    for i, prompt in enumerate(prompts):
        with mixed_model.session() as alone:
            alone.feed(prompt)
            sampler = libxlstm.Sampler(**penalised)
            sampler.accept(prompt)
            first = sampler.sample(alone)
            assert first == produced[i][0]
    memory = mixed_model.memory_info
    floor = mixed_model.info.state_bytes_in_memory + 4 * mixed_model.vocab_size
    assert floor <= memory.session_bytes <= floor + 65536
    assert memory.n_threads == 1 and memory.batch_window >= 1


@pytest.mark.parametrize("name", ["paper_mixed", "large_bias_tied_caps"])
def test_batch_tokens_equal_each_span_alone(name):
    # Model.feed_batch_tokens (xlstm_batch_feed_tokens): prompts of different lengths (one empty)
    # for sessions at mixed positions, against each span fed alone and the official logits.
    tokens, reference, _ = read_fixture(name)
    with libxlstm.Model(fixture_model(name)) as model:
        count = 6
        primed = [(i * 5) % 13 for i in range(count)]
        lengths = [(i * 7) % 11 for i in range(count)]   # 0, 7, 3, 10, 6, 2
        batch = [model.session() for _ in range(count)]
        alone = [model.session() for _ in range(count)]
        for i in range(count):
            if primed[i]:
                batch[i].feed(tokens[:primed[i]])
                alone[i].feed(tokens[:primed[i]])
        spans = [tokens[primed[i]:primed[i] + lengths[i]] for i in range(count)]
        model.feed_batch_tokens(batch, spans)
        for i in range(count):
            end = primed[i] + lengths[i]
            assert batch[i].n_tokens == end
            if end == 0:   # never fed: still no logits
                with pytest.raises(libxlstm.NoLogitsError):
                    batch[i].logits
                continue
            if lengths[i]:
                alone[i].feed(spans[i])
            assert relative(batch[i].logits, alone[i].logits) <= 1e-5
            assert relative(batch[i].logits, reference[end - 1]) <= RELATIVE_TOLERANCE


def test_batch_tokens_bad_input_changes_nothing(mixed_model, other_model):
    sessions = [mixed_model.session() for _ in range(3)]
    for i, s in enumerate(sessions):
        s.feed(i + 1)
    before = [s.save_state() for s in sessions]
    with other_model.session() as foreign:
        with pytest.raises(libxlstm.InvalidArgumentError, match="session 3"):
            mixed_model.feed_batch_tokens(sessions + [foreign], [[1], [2], [3], [4]])
    with pytest.raises(libxlstm.InvalidArgumentError, match="session 2 is the same session as 0"):
        mixed_model.feed_batch_tokens([sessions[0], sessions[1], sessions[0]], [[1], [2, 3], [3]])
    with pytest.raises(libxlstm.TokenOutOfRangeError, match="session 1 at position 2"):
        mixed_model.feed_batch_tokens(sessions, [[1], [2, 3, mixed_model.vocab_size], [3]])
    with pytest.raises(libxlstm.InvalidArgumentError, match="3 sessions but 2 spans"):
        mixed_model.feed_batch_tokens(sessions, [[1], [2]])
    with pytest.raises(TypeError):
        mixed_model.feed_batch_tokens(sessions, [[1], "text", [3]])
    assert [s.save_state() for s in sessions] == before
    mixed_model.feed_batch_tokens([], [])  # nothing
