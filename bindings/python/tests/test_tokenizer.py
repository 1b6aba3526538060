"""libxlstm.Tokenizer against the ids the `tokenizers` package recorded
(Tests/Fixtures/tokenizers, tools/make_tokenizer_fixtures.py), streaming, errors, Model.tokenizer."""

from __future__ import annotations

import json
import shutil

import pytest

import libxlstm
from conftest import FIXTURES, fixture_model

TOKENIZERS = FIXTURES / "tokenizers"
NAMES = ["neox_style", "gpt2_style", "split_template", "prefix_space", "fallback_unk"]
BYTE_LEVEL = NAMES[:4]  # fallback_unk has no decoder: tokens are joined with spaces


def expected_rows(name: str, file: str):
    return [[int(x) for x in line.split()] for line in (TOKENIZERS / name / file).read_text().splitlines()]


@pytest.mark.parametrize("name", NAMES)
def test_ids_equal_the_reference(name):
    with libxlstm.Tokenizer(TOKENIZERS / name) as tokenizer:
        corpus = (TOKENIZERS / name / "corpus.txt").read_text(encoding="utf-8")
        lines = corpus.split("\n")
        with_special = expected_rows(name, "expected_lines.txt")
        plain = expected_rows(name, "expected_lines_plain.txt")
        assert len(lines) == len(with_special) == len(plain)
        for line, ids, ids_plain in zip(lines, with_special, plain):
            assert tokenizer.encode(line) == ids, line
            assert tokenizer.encode(line, add_special_tokens=False) == ids_plain, line
            assert tokenizer.encode(line.encode("utf-8")) == ids
        assert tokenizer.encode(corpus) == expected_rows(name, "expected_whole.txt")[0]
        decoded = [json.loads(x) for x in (TOKENIZERS / name / "expected_decoded.txt").read_text().splitlines()]
        for ids, text in zip(plain, decoded):
            assert tokenizer.decode(ids) == text


@pytest.mark.parametrize("name", BYTE_LEVEL)
def test_stream_equals_decode(name):
    tokenizer = libxlstm.Tokenizer(TOKENIZERS / name / "tokenizer.json")
    ids = expected_rows(name, "expected_whole.txt")[0]
    pieces = list(tokenizer.decode_stream(ids))
    assert "".join(pieces) == tokenizer.decode(ids)
    stream = tokenizer.stream()
    held = sum(1 for token in ids if stream.push(token) == "")
    assert held > 0  # characters split across byte-level tokens were held back
    stream.flush()


def test_info_pieces_and_flags():
    tokenizer = libxlstm.Tokenizer(TOKENIZERS / "split_template")
    assert (tokenizer.bos_id, tokenizer.eos_id) == (0, 1)
    assert tokenizer.token_to_piece(1) == b"</s>"
    ids = tokenizer.encode("hi </s>")
    assert ids[0] == 0 and ids[-1] == 1 and ids.count(1) == 2
    assert 1 not in tokenizer.encode("hi </s>", add_special_tokens=False, split_special_tokens=True)
    assert tokenizer.decode(ids, skip_special_tokens=True) == "hi "


def test_errors():
    tokenizer = libxlstm.Tokenizer(TOKENIZERS / "neox_style")
    with pytest.raises(libxlstm.InvalidArgumentError, match="UTF-8"):
        tokenizer.encode(b"a\xc3(")
    assert tokenizer.decode([1, tokenizer.vocab_size]) == tokenizer.decode([1])  # no token, no text
    with pytest.raises(libxlstm.TokenOutOfRangeError):
        tokenizer.decode([1, -1])
    with pytest.raises(libxlstm.TokenOutOfRangeError):
        tokenizer.token_to_piece(-1)
    with pytest.raises(libxlstm.ModelLoadError):
        libxlstm.Tokenizer(FIXTURES / "nonexistent")
    with pytest.raises(TypeError):
        tokenizer.encode(3)
    tokenizer.close()
    with pytest.raises(libxlstm.ClosedError):
        tokenizer.encode("x")


def test_model_tokenizer(tmp_path):
    with libxlstm.Model(fixture_model("paper_mixed")) as model:
        assert model.tokenizer is None
    directory = tmp_path / "model"
    shutil.copytree(fixture_model("paper_mixed"), directory)
    for file in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(TOKENIZERS / "neox_style" / file, directory / file)
    with libxlstm.Model(directory) as model:
        tokenizer = model.tokenizer
        assert tokenizer is model.tokenizer
        assert tokenizer.decode(tokenizer.encode("Hello world")) == "Hello world"
