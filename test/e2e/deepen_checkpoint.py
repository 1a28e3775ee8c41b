#!/usr/bin/env python3
"""Writes a deeper copy of a Llama-family checkpoint, stdlib only.

  deepen_checkpoint.py SOURCE_DIR LAYERS OUT_DIR

Layer i of the output is layer i % n of the source (n layers); copies
beyond the first n have every weight scaled by a deterministic factor in
[0.75, 1.25), so the layers differ. Everything else is copied. For pipeline tests that
need more layers than the example models have (pp = 4): their reference is
the unsharded run of the same checkpoint, not transformers.
"""

import json
import os
import re
import struct
import sys
from array import array


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{path}: {name}: only F32 checkpoints are deepened")
        begin, end = info["data_offsets"]
        values = array("f")
        values.frombytes(data[begin:end])
        tensors[name] = (info["shape"], values)
    return tensors


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = values.tobytes()
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    source, layers, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(f"{source}/config.json") as f:
        config = json.load(f)
    n = config["num_hidden_layers"]
    tensors = read_safetensors(f"{source}/model.safetensors")
    pattern = re.compile(r"^(model\.layers\.)(\d+)(\..*)$")
    deep = {}
    for name, (shape, values) in tensors.items():
        match = pattern.match(name)
        if not match:
            deep[name] = (shape, values)
            continue
        for i in range(int(match[2]), layers, n):
            copy = array("f", values)
            if i >= n:
                # A small deterministic perturbation per copy and element.
                for k in range(len(copy)):
                    copy[k] *= 0.75 + 0.5 * (((k * 2654435761 + i) >> 7) % 64) / 64
            deep[f"{match[1]}{i}{match[3]}"] = (shape, copy)
    config["num_hidden_layers"] = layers
    os.makedirs(out, exist_ok=True)
    with open(f"{out}/config.json", "w") as f:
        json.dump(config, f, indent=2)
    write_safetensors(f"{out}/model.safetensors", deep)


if __name__ == "__main__":
    main()
