#!/usr/bin/env python3
"""Makes safetensors checkpoints for tests and benchmarks (Python stdlib only).

  make_checkpoint.py edit SRC DST [--drop NAME] [--add NAME=DTYPE:D0,D1]
        [--shape NAME=D0,D1] [--dtype NAME=DTYPE] [--all-dtype DTYPE]
        [--config KEY=JSON] [--drop-config KEY] [--shards N]
      Copies checkpoint folder SRC to DST with the given changes to its
      config.json and tensor headers; tensor data is zeros (import reads
      headers only).

  make_checkpoint.py sparse CONFIG.json DST [--dtype BF16] [--shards N]
      Writes a Llama-family checkpoint for CONFIG with real headers and
      holes for data (sparse files): a 70B-shaped folder takes no disk.

  make_checkpoint.py random CONFIG.json DST [--seed 0] [--std 0.05]
      Writes a small Llama-family checkpoint for CONFIG in F32 with random
      weights (normal, std STD; norm weights 1 + normal): shapes the
      example models lack (head_dim 64) for tests that compare two runs.
"""

import argparse
import json
import os
import random as rand
import shutil
import struct

DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "U16": 2, "I16": 2, "F16": 2,
               "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8,
               "F64": 8, "F8_E4M3": 1, "F8_E5M2": 1}


def num_bytes(dtype, shape):
    n = DTYPE_SIZES[dtype]
    for d in shape:
        n *= d
    return n


def read_header(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    header.pop("__metadata__", None)
    return {name: (t["dtype"], list(t["shape"])) for name, t in header.items()}


def read_tensors(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        tensors = {}
        for shard in sorted(set(json.load(open(index))["weight_map"].values())):
            tensors.update(read_header(os.path.join(folder, shard)))
        return tensors
    return read_header(os.path.join(folder, "model.safetensors"))


def write_safetensors(path, tensors, sparse, data=None):
    """tensors: list of (name, dtype, shape); data is zeros or holes, or
    data(name, count) (bytes) for each tensor."""
    header, offset = {}, 0
    for name, dtype, shape in tensors:
        size = num_bytes(dtype, shape)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        if sparse:
            f.truncate(8 + len(text) + offset)
        elif data:
            for name, dtype, shape in tensors:
                f.write(data(name, num_bytes(dtype, shape) // 4))
        else:
            f.write(bytes(offset))


def write_checkpoint(folder, tensors, shards, sparse):
    os.makedirs(folder, exist_ok=True)
    if shards <= 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors,
                          sparse)
        return
    per_shard = -(-len(tensors) // shards)
    weight_map = {}
    for i in range(shards):
        part = tensors[i * per_shard:(i + 1) * per_shard]
        name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(folder, name), part, sparse)
        weight_map.update({t[0]: name for t in part})
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1)


def llama_tensors(config, dtype):
    h = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv = config.get("num_key_value_heads", heads)
    d = config.get("head_dim") or h // heads
    inter = config["intermediate_size"]
    vocab = config["vocab_size"]
    tensors = [("model.embed_tokens.weight", [vocab, h])]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}"
        tensors += [
            (f"{p}.input_layernorm.weight", [h]),
            (f"{p}.self_attn.q_proj.weight", [heads * d, h]),
            (f"{p}.self_attn.k_proj.weight", [kv * d, h]),
            (f"{p}.self_attn.v_proj.weight", [kv * d, h]),
            (f"{p}.self_attn.o_proj.weight", [h, heads * d]),
            (f"{p}.post_attention_layernorm.weight", [h]),
            (f"{p}.mlp.gate_proj.weight", [inter, h]),
            (f"{p}.mlp.up_proj.weight", [inter, h]),
            (f"{p}.mlp.down_proj.weight", [h, inter]),
        ]
    tensors.append(("model.norm.weight", [h]))
    if not config.get("tie_word_embeddings", False):
        tensors.append(("lm_head.weight", [vocab, h]))
    return [(name, dtype, shape) for name, shape in tensors]


def parse_shape(text):
    return [int(d) for d in text.split(",")] if text else []


def edit(args):
    shutil.rmtree(args.dst, ignore_errors=True)
    os.makedirs(args.dst)
    config = json.load(open(os.path.join(args.src, "config.json")))
    for item in args.config:
        key, value = item.split("=", 1)
        config[key] = json.loads(value)
    for key in args.drop_config:
        config.pop(key, None)
    with open(os.path.join(args.dst, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    tensors = read_tensors(args.src)
    for name in args.drop:
        del tensors[name]
    for item in args.add:
        name, spec = item.split("=", 1)
        dtype, shape = spec.split(":", 1)
        tensors[name] = (dtype, parse_shape(shape))
    if args.all_dtype:
        tensors = {n: (args.all_dtype, s) for n, (_, s) in tensors.items()}
    for item in args.shape:
        name, shape = item.split("=", 1)
        tensors[name] = (tensors[name][0], parse_shape(shape))
    for item in args.dtype:
        name, dtype = item.split("=", 1)
        tensors[name] = (dtype, tensors[name][1])
    write_checkpoint(args.dst, [(n, d, s) for n, (d, s) in tensors.items()],
                     args.shards, sparse=False)


def sparse(args):
    config = json.load(open(args.config))
    shutil.rmtree(args.dst, ignore_errors=True)
    os.makedirs(args.dst)
    shutil.copy(args.config, os.path.join(args.dst, "config.json"))
    write_checkpoint(args.dst, llama_tensors(config, args.dtype), args.shards,
                     sparse=True)


def random_checkpoint(args):
    config = json.load(open(args.config))
    shutil.rmtree(args.dst, ignore_errors=True)
    os.makedirs(args.dst)
    shutil.copy(args.config, os.path.join(args.dst, "config.json"))
    generator = rand.Random(args.seed)

    def data(name, count):
        mean = 1.0 if name.endswith("norm.weight") else 0.0
        values = [generator.gauss(mean, args.std) for _ in range(count)]
        return struct.pack(f"<{count}f", *values)

    write_safetensors(os.path.join(args.dst, "model.safetensors"),
                      llama_tensors(config, "F32"), sparse=False, data=data)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("edit")
    e.add_argument("src")
    e.add_argument("dst")
    for flag in ("drop", "add", "shape", "dtype", "config", "drop_config"):
        e.add_argument("--" + flag.replace("_", "-"), action="append",
                       default=[], dest=flag)
    e.add_argument("--all-dtype")
    e.add_argument("--shards", type=int, default=1)
    e.set_defaults(run=edit)
    s = sub.add_parser("sparse")
    s.add_argument("config")
    s.add_argument("dst")
    s.add_argument("--dtype", default="BF16")
    s.add_argument("--shards", type=int, default=1)
    s.set_defaults(run=sparse)
    r = sub.add_parser("random")
    r.add_argument("config")
    r.add_argument("dst")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--std", type=float, default=0.05)
    r.set_defaults(run=random_checkpoint)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
