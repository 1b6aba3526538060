#!/usr/bin/env python3
"""Trains small test tokenizers with the official `tokenizers` package and records its ids.

Writes Tests/Fixtures/tokenizers/<name>/ for three pipelines:

  neox_style     the GPT-NeoX-20B setup (xLSTM 7B's tokenizer): NFC normalizer, ByteLevel
                 pre-tokenizer without prefix space (GPT-2 regex), ByteLevel post-processor and
                 decoder, `<|endoftext|>` / `<|padding|>` special tokens, runs of 2..24 spaces as
                 normalized non-special added tokens; merges stored as "a b" strings and the
                 `use_regex` / `byte_fallback` / `ignore_merges` keys dropped, as in the real file.
  gpt2_style     GPT-2: no normalizer, ByteLevel, merges stored as ["a", "b"] pairs.
  split_template a Llama-3-like pipeline: Sequence[NFKC, Lowercase] normalizer,
                 Sequence[Split(regex, Isolated), Digits(individual), ByteLevel(use_regex=false)],
                 `ignore_merges`, TemplateProcessing adding <s> ... </s>, added tokens with
                 lstrip / rstrip / single_word.
  prefix_space   gpt2_style's vocabulary with ByteLevel(add_prefix_space=True) and a special
                 `<mask>` (lstrip) added after the vocabulary: the prefix space of every split
                 between added tokens, and the ids the package assigns to added tokens.
  fallback_unk   not byte-level: NFD normalizer, Sequence[Split(String " ", MergedWithNext),
                 Digits(contiguous)], a BPE over a limited alphabet with `byte_fallback` (<0xXX>
                 tokens for the bytes of some chars), `unk_token` with `fuse_unk` for the rest, no
                 decoder (tokens joined with spaces).

Each directory holds tokenizer.json, tokenizer_config.json, corpus.txt and what the package
computes for it:

  expected_lines.txt        per corpus line (split on "\\n", newline not included): the ids of
                            `encode(line, add_special_tokens=True)`, space-separated
  expected_lines_plain.txt  the same with add_special_tokens=False
  expected_whole.txt        the ids of the whole file's content (add_special_tokens=True)
  expected_decoded.txt      per line: decode(ids, skip_special_tokens=False) as a JSON string
  expected_normalized.txt   per line: the pipeline's normalizer applied to the line (JSON string)

  expected_random.txt       per line of ../random.txt: encode(line, add_special_tokens=True)

plus Tests/Fixtures/tokenizers/random.txt: 200 seeded random lines over the characters where
implementations differ (white space of every kind, controls, apostrophes and contractions, digits
and numbers of several scripts, letters, marks, emoji parts, ZWJ, BOM, punctuation, special-token
texts), and Tests/Fixtures/tokenizers/normalization.jsonl: for each corpus line the package's NFC, NFD,
NFKC and NFKD.

Run: /path/to/venv/bin/python tools/make_tokenizer_fixtures.py   (deterministic; ~5 s)
"""
import json
import os
import shutil
import sys

import tokenizers
from tokenizers import Tokenizer, normalizers, pre_tokenizers, decoders, processors, models, trainers, Regex
from tokenizers import AddedToken

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "tokenizers")

# Training text: varied, so merges cover words, code, digits, and several scripts.
TRAIN = [
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.",
    "It's a truth universally acknowledged, that a single man in possession of a good fortune must be in want of a wife.",
    "We'll see what they've done. I'm sure you're right, and he'd agree. Don't worry!",
    "def main(argv):\n    for i in range(10):\n        print(f\"{i:03d}\", end=' ')\n    return 0\n",
    "int main(void) {\n\tint x = 42;\n\tif (x > 0) { return x * 2; }\n\treturn -1;\n}\n",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 12345 3.14159 2,718 1e-9 0xFF 2026-12-01",
    "Die Straße ist naß. Café, naïve, coöperate, résumé, Ångström, façade.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "我能吞下玻璃而不伤身体。日本語のテキストも少し。한국어 문장도 있습니다.",
    "مرحبا بالعالم. שלום עולם. नमस्ते दुनिया। ελληνικά γράμματα.",
    "Emoji: 😀 😃 👍🏽 👨‍👩‍👧‍👦 🇫🇷 🇯🇵 ❤️ 🏳️‍🌈",
    "    indented with spaces\n\t\ttabs\tand\ttabs\n\n\nblank lines   trailing   ",
    "<|endoftext|> documents are separated by this token <|endoftext|>",
    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>Hello</body></html>",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name ASC LIMIT 10;",
    "Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ and ligatures ﬁ ﬂ and ① ② ③ and ² ³ and ㍻",
]

# The test corpus (one case per line; \n splits lines). Some lines are absent from TRAIN on purpose.
CORPUS = [
    "Hello world! This is a test of the tokenizer.",
    "It's John's book; they're sure we'll go, I'd say you've won, I'm in.",
    "The quick brown fox jumps over the lazy dog.",
    "def fib(n):    return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "\tif (ptr != NULL) {\t\treturn *ptr;\t}",
    "for (int i = 0; i < 1024; ++i) { sum += a[i] * b[i]; }  // dot product",
    "0 7 42 123 4567 89012 3.14159 -2.5e+10 1,000,000 0x1F 2026-12-01T09:30:00Z",
    "a  b   c    d     e      f       g        h                         i",
    "trailing spaces   ",
    "   leading spaces",
    "tabs\tin\t\tthe\t\t\tmiddle",
    "mixed \t \t whitespace \u00a0 nbsp \u2003 em-space \u3000 ideographic",
    "😀 👍🏽 👨‍👩‍👧‍👦 👩‍💻 🇫🇷🇯🇵🇺🇸 ❤️‍🔥 🏳️‍🌈 1️⃣",
    "我能吞下玻璃而不伤身体。日本語のテキスト、カタカナとひらがな。",
    "한국어 문장입니다. 繁體中文字元。",
    "Cafe\u0301 nai\u0308ve re\u0301sume\u0301 A\u030angstro\u0308m (decomposed)",
    "Café naïve résumé Ångström (precomposed)",
    "e\u0301\u0323 q\u0307\u0323 \u1e0b\u0323 Hangul jamo: \u1100\u1161\u11a8 \uac01",
    "ﬁ ﬂ ① ² ㍻ Ｆｕｌｌ ｗｉｄｔｈ Ⅻ ℌ",
    "مرحبا بالعالم، كيف حالك؟ ١٢٣",
    "שָׁלוֹם עוֹלָם",
    "नमस्ते दुनिया। हिन्दी में लिखा गया वाक्य।",
    "Ελληνικά: Σίσυφος ΣΊΣΥΦΟΣ. Русский: Ёжик в тумане.",
    "Before<|endoftext|>after <|endoftext|> spaced <|padding|>end",
    "<|endoftext|>",
    "<s> not special here </s> <mask> masked <mask>x and [WORD] alone, x[WORD]y glued",
    "I said 'hello' and \"goodbye\" -- then... ?!?! (maybe) [yes] {no} <tag/>",
    "URLs: https://example.com/path?q=1&r=2#frag and mail@example.org",
    "CamelCaseIdentifiers snake_case_names SCREAMING_CASE kebab-case",
    "A\u200dB zero\u200bwidth \ufeffbom",
    "",
    "Ünïcödé ÜBER straße STRASSE İstanbul",
    "last line without newline",
]


def train(pre_tokenizer, normalizer, specials, vocab_size, added=None):
    tok = Tokenizer(models.BPE())
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    text = TRAIN * 3 + CORPUS[:10]
    tok.train_from_iterator(text, trainer=trainer)
    if added:
        tok.add_tokens(added)
    return tok


def neox_style():
    tok = train(
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True),
        normalizers.NFC(),
        [AddedToken("<|endoftext|>", special=True, normalized=False),
         AddedToken("<|padding|>", special=True, normalized=False)],
        1500,
    )
    # GPT-NeoX-20B adds runs of 24 down to 2 spaces as normalized, non-special tokens.
    tok.add_tokens([AddedToken(" " * n, normalized=True, special=False) for n in range(24, 1, -1)])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    spec = json.loads(tok.to_str())
    model = spec["model"]
    # The real file: merges as "a b" strings, no byte_fallback / ignore_merges keys.
    model["merges"] = [" ".join(pair) if isinstance(pair, list) else pair for pair in model["merges"]]
    model.pop("byte_fallback", None)
    model.pop("ignore_merges", None)
    spec["pre_tokenizer"].pop("use_regex", None)
    tok = Tokenizer.from_str(json.dumps(spec))
    config = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|padding|>",
              "tokenizer_class": "GPTNeoXTokenizer"}
    return tok, config


def gpt2_style():
    tok = train(
        pre_tokenizers.ByteLevel(add_prefix_space=False),
        None,
        [AddedToken("<|endoftext|>", special=True, normalized=False)],
        1200,
    )
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    config = {"bos_token": {"content": "<|endoftext|>", "lstrip": False, "normalized": True,
                            "rstrip": False, "single_word": False, "__type": "AddedToken"},
              "eos_token": "<|endoftext|>", "tokenizer_class": "GPT2Tokenizer"}
    return tok, config


def prefix_space():
    tok, config = gpt2_style()
    spec = json.loads(tok.to_str())
    spec["pre_tokenizer"]["add_prefix_space"] = True
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    return tok, config


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def split_template():
    tok = train(
        pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]),
        normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()]),
        [AddedToken("<s>", special=True, normalized=False),
         AddedToken("</s>", special=True, normalized=False),
         AddedToken("<unk>", special=True, normalized=False)],
        1000,
    )
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, special=True, normalized=False)])
    tok.add_tokens([AddedToken("[WORD]", single_word=True, normalized=False)])
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
        special_tokens=[("<s>", bos), ("</s>", eos)])
    spec = json.loads(tok.to_str())
    spec["model"]["ignore_merges"] = True
    tok = Tokenizer.from_str(json.dumps(spec))
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True}
    return tok, config


def fallback_unk():
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.NFD()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="merged_with_next"),
        pre_tokenizers.Digits(individual_digits=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=600, min_frequency=1,
                                  special_tokens=[AddedToken("<unk>", special=True, normalized=False)],
                                  show_progress=False)
    # Latin text only: every other script is left to byte fallback or <unk>.
    latin = ["".join(c for c in text if ord(c) < 0x250) for text in TRAIN * 3 + CORPUS[:10]]
    tok.train_from_iterator(latin, trainer=trainer)
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    # <0xXX> tokens for the bytes of a few scripts' chars (not all: the rest falls back to <unk>).
    wanted = set()
    for ch in "我能吞下玻璃é😀ñ":
        wanted.update(ch.encode("utf-8"))
    for byte in sorted(wanted):
        vocab["<0x%02X>" % byte] = len(vocab)
    tok = Tokenizer.from_str(json.dumps(spec))
    config = {"unk_token": "<unk>"}
    return tok, config


def random_lines(count=200, seed=7):
    import random
    rng = random.Random(seed)
    pool = list(" \t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u205f\u3000\u200b\u200d\ufeff")
    pool += list("'sStTreREvVEmMlLdD'\"`´’") + list("0123456789٠١٢३४५①²½Ⅻ")
    pool += list("abcXYZéÉßİıǅʰ漢字かカ한ㄱאבعربΩωЖж")
    pool += ["\u0301", "\u0323", "\u0308", "\u093f", "\u05b0", "\u20dd", "\U0001F600", "\U0001F3FD",
             "\U0001F1EB", "\U0001F1F7", "\u2764", "\ufe0f"]
    pool += list(".,;:!?()[]{}<>/\\|@#$%^&*-_+=~")
    pool += ["<|endoftext|>", "<|padding|>", "<s>", "</s>", "<mask>", "[WORD]", "  ", "   "]
    return ["".join(rng.choice(pool) for _ in range(rng.randint(1, 25))) for _ in range(count)]


def stress_strings(count=300, length=6, seed=12):
    """Seeded random strings over the scalars normalization acts on: decomposable and composable
    chars, combining marks of many classes, Hangul jamo and syllables, compatibility chars, ASCII."""
    import random
    import unicodedata
    rng = random.Random(seed)
    pool = [cp for cp in range(0x30000) if not 0xD800 <= cp <= 0xDFFF
            and (unicodedata.decomposition(chr(cp)) or unicodedata.combining(chr(cp)))]
    pool += list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C3))
    pool += [0xAC00, 0xAC01, 0xD7A3] + [ord(c) for c in "aeiouAEIOU ."]
    return ["".join(chr(rng.choice(pool)) for _ in range(length)) for _ in range(count)]


def write_ids(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for ids in rows:
            f.write(" ".join(str(i) for i in ids) + "\n")


def main():
    global OUT
    if len(sys.argv) > 2 and sys.argv[1] == "--out":
        OUT = sys.argv[2]
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    corpus_text = "\n".join(CORPUS)
    random_text = random_lines()
    with open(os.path.join(OUT, "random.txt"), "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(random_text) + "\n")
    summary = []
    for name, build in [("neox_style", neox_style), ("gpt2_style", gpt2_style), ("split_template", split_template),
                        ("prefix_space", prefix_space), ("fallback_unk", fallback_unk)]:
        tok, config = build()
        d = os.path.join(OUT, name)
        os.makedirs(d)
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(tok.to_str(pretty=False))
        with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)
        with open(os.path.join(d, "corpus.txt"), "w", encoding="utf-8", newline="") as f:
            f.write(corpus_text)
        # Reload what we wrote: the expected values come from the file as committed.
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        lines = corpus_text.split("\n")
        special = [tok.encode(line, add_special_tokens=True).ids for line in lines]
        plain = [tok.encode(line, add_special_tokens=False).ids for line in lines]
        whole = tok.encode(corpus_text, add_special_tokens=True).ids
        write_ids(os.path.join(d, "expected_lines.txt"), special)
        write_ids(os.path.join(d, "expected_lines_plain.txt"), plain)
        write_ids(os.path.join(d, "expected_whole.txt"), [whole])
        write_ids(os.path.join(d, "expected_random.txt"), [tok.encode(line).ids for line in random_text])
        norm = tok.normalizer
        with open(os.path.join(d, "expected_decoded.txt"), "w", encoding="utf-8") as f:
            for ids in plain:
                f.write(json.dumps(tok.decode(ids, skip_special_tokens=False)) + "\n")
        with open(os.path.join(d, "expected_normalized.txt"), "w", encoding="utf-8") as f:
            for line in lines:
                f.write(json.dumps(norm.normalize_str(line) if norm else line) + "\n")
        summary.append((name, tok.get_vocab_size(with_added_tokens=True), len(whole)))
    with open(os.path.join(OUT, "normalization.jsonl"), "w", encoding="utf-8") as f:
        forms = {n: getattr(normalizers, n)() for n in ("NFC", "NFD", "NFKC", "NFKD")}
        for line in CORPUS + stress_strings():
            row = {"input": line}
            row.update({n: forms[n].normalize_str(line) for n in forms})
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT, "README.md"), "w", encoding="utf-8") as f:
        f.write("Generated by tools/make_tokenizer_fixtures.py with tokenizers %s (do not edit).\n"
                "See that script's docstring for what each file holds.\n" % tokenizers.__version__)
    for name, vocab, n in summary:
        print(f"{name:16s} vocab {vocab:5d}  whole-corpus tokens {n}")


if __name__ == "__main__":
    sys.exit(main())
