#!/usr/bin/env python3
"""Writes a test model with a larger vocabulary derived from a 7B-family fixture: vocab 256 (the
default) makes a byte-level model, so the C examples' --prompt TEXT path runs in the test suite; a
vocab of a few thousand makes the embedding and lm_head matrices large enough for the library to
split them across threads (Matrix.parallelThreshold), which the fixtures' small matrices never are.
Not a reference model: its logits are checked against nothing but themselves (determinism,
n_threads 1 ≡ 2), never against the official implementation.

The embedding and lm_head rows of the source (vocab V) are tiled to vocab rows, row i being
row i mod V scaled by 1 + (i div V) / 8 so that the copies differ. Python standard library only.

Usage: make_byte_model.py SOURCE_MODEL_DIR DESTINATION_DIR [VOCAB]
"""
import array
import json
import os
import struct
import sys

RESIZED = ("backbone.embeddings.weight", "lm_head.weight")


def main(source, destination, vocab):
    with open(os.path.join(source, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") != "xlstm" or not os.path.exists(os.path.join(source, "model.safetensors")):
        sys.exit("make_byte_model.py: the source must be a single-file 7B-family model (model_type \"xlstm\")")
    with open(os.path.join(source, "model.safetensors"), "rb") as f:
        header_size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_size))
        data = f.read()

    metadata = header.pop("__metadata__", None)
    tensors = {}
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        begin, end = entry["data_offsets"]
        raw = data[begin:end]
        shape = list(entry["shape"])
        if name in RESIZED:
            if entry["dtype"] != "F32":
                sys.exit(f"make_byte_model.py: {name} is {entry['dtype']}, F32 expected")
            rows, columns = shape
            values = array.array("f")
            values.frombytes(raw)
            if sys.byteorder != "little":
                values.byteswap()
            resized = array.array("f")
            for i in range(vocab):
                scale = 1.0 + (i // rows) / 8.0
                resized.extend(v * scale for v in values[(i % rows) * columns:(i % rows + 1) * columns])
            if sys.byteorder != "little":
                resized.byteswap()
            raw = resized.tobytes()
            shape = [vocab, columns]
        tensors[name] = (entry["dtype"], shape, raw)

    new_header = {"__metadata__": metadata} if metadata is not None else {}
    offset = 0
    for name, (dtype, shape, raw) in tensors.items():
        new_header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    encoded = json.dumps(new_header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)

    os.makedirs(destination, exist_ok=True)
    with open(os.path.join(destination, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for _, _, raw in tensors.values():
            f.write(raw)
    config["vocab_size"] = vocab
    with open(os.path.join(destination, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 256)
