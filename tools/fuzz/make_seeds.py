#!/usr/bin/env python3
"""Seed corpora for the fuzz harnesses (Tests/Fuzz), made from the fixtures (Tests/Fixtures) and
the bundled model. Pure Python 3 (no third-party packages).

    tools/fuzz/make_seeds.py OUT_DIR [XLSTM_CLI]

writes OUT_DIR/{config,safetensors,index,loader,state,sampler}/; `state` needs XLSTM_CLI (.build/release/xlstm-cli)
to save real blobs. The input layouts are those documented at the top of each harness file.
"""
import glob
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
BUNDLED = os.path.join(ROOT, "examples", "models", "fortunes-xlstm", "model")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def split_safetensors(data):
    """(header JSON bytes, data section size)."""
    (length,) = struct.unpack_from("<Q", data, 0)
    return data[8:8 + length], len(data) - 8 - length


def checksum(data):
    """StateBlob.checksum: FNV-1a over 8-byte little-endian words, the tail bytes, the length."""
    mask, prime, h = (1 << 64) - 1, 0x100000001B3, 0xCBF29CE484222325
    words = len(data) // 8
    for i in range(words):
        h = ((h ^ int.from_bytes(data[8 * i:8 * i + 8], "little")) * prime) & mask
    for byte in data[8 * words:]:
        h = ((h ^ byte) * prime) & mask
    return ((h ^ len(data)) * prime) & mask


def sampler_blob(seed, position, temperature, top_k, top_p, min_p, repetition, presence, window, history):
    """A sampler state blob, format version 1 (Sources/XLSTM/SamplerStateBlob.swift)."""
    head = b"XLSTMSMP" + struct.pack("<IIQQfiffffIIQ", 1, 72, seed, position, temperature, top_k, top_p, min_p,
                                     repetition, presence, window, len(history), 0)
    body = head + struct.pack("<%di" % len(history), *history) + b"\0" * (4 * (window - len(history)))
    return body + struct.pack("<Q", checksum(body))


def sampler_seeds(out):
    directory = os.path.join(out, "sampler")
    cases = {
        "default": sampler_blob(0, 0, 0.8, 40, 0.95, 0.05, 1.0, 0.0, 64, []),
        "hot": sampler_blob(1234, 0x9E3779B97F4A7C15 * 23 % (1 << 64), 1.3, 0, 0.98, 0.0, 1.7, 0.8, 7,
                            [5, 9, 2, 7, 7, 1, 0]),
        "greedy-window0": sampler_blob(9, 9, 0.0, 1, 1.0, 0.0, 1.0, 0.0, 0, []),
        "partial-history": sampler_blob(77, 12345, 2.0, 3, 0.5, 0.2, 0.9, -1.5, 5, [1, -1, 2147483647]),
    }
    for name, blob in cases.items():
        write(directory, name + ".blob", b"\x00" + blob)
        write(directory, name + "-repair.blob", b"\x01" + blob)


def model_dirs():
    dirs = sorted(glob.glob(os.path.join(FIXTURES, "*", "model")))
    return [(os.path.basename(os.path.dirname(d)), d) for d in dirs] + [("fortunes", BUNDLED)]


def main():
    out = sys.argv[1]
    cli = sys.argv[2] if len(sys.argv) > 2 else None
    for name, directory in model_dirs():
        config = read(os.path.join(directory, "config.json"))
        write(os.path.join(out, "config"), name + ".json", config)
        single = os.path.join(directory, "model.safetensors")
        files = [single] if os.path.exists(single) else sorted(glob.glob(os.path.join(directory, "model-*.safetensors")))
        for path in files:
            header, size = split_safetensors(read(path))
            stem = name + "-" + os.path.basename(path).replace(".safetensors", "")
            write(os.path.join(out, "safetensors"), stem + ".structure", b"\x01" + struct.pack("<I", size) + header)
        if os.path.exists(single):
            header, size = split_safetensors(read(single))
            write(os.path.join(out, "loader"), name + ".dir", struct.pack("<II", len(config), size) + config + header)
        index = os.path.join(directory, "model.safetensors.index.json")
        if os.path.exists(index):
            write(os.path.join(out, "index"), name + ".json", read(index))
    # Whole files, as is: the smallest shard, and a minimal valid file.
    shard = os.path.join(FIXTURES, "large_bf16_sharded", "model", "model-00005-of-00005.safetensors")
    write(os.path.join(out, "safetensors"), "shard5.file", b"\x00" + read(shard))
    tiny = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}'
    write(os.path.join(out, "safetensors"), "tiny.file", b"\x00" + struct.pack("<Q", len(tiny)) + tiny + b"\0" * 8)
    write(os.path.join(out, "index"), "minimal.json", b'{"weight_map": {}}')
    sampler_seeds(out)
    if cli:
        with tempfile.TemporaryDirectory() as tmp:
            for selector, fixture in [(0, "paper_mixed"), (1, "large_basic")]:
                path = os.path.join(tmp, fixture + ".state")
                subprocess.run([cli, "generate", os.path.join(FIXTURES, fixture, "model"), "--tokens", "1,2,3",
                                "--max-tokens", "2", "--seed", "1", "--state-out", path],
                               check=True, stdout=subprocess.DEVNULL)
                blob = read(path)
                write(os.path.join(out, "state"), fixture + ".blob", bytes([selector]) + blob)
                write(os.path.join(out, "state"), fixture + "-repair.blob", bytes([selector | 2]) + blob)


if __name__ == "__main__":
    main()
