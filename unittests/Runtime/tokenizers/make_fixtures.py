#!/usr/bin/env python3
"""Writes the tokenizer fixtures of the runtime's tokenizer tests.

Run by hand (needs the `tokenizers` and `sentencepiece` packages from PyPI;
CI never runs it): python3 unittests/Runtime/tokenizers/make_fixtures.py

- gpt2-style.json: byte-level BPE, GPT-2 pre-tokenizer (ByteLevel with its
  regex), an added special token <|endoftext|>.
- split-style.json: byte-level BPE whose pre-tokenizer is an explicit Split
  regex followed by ByteLevel without regex (Llama 3 / Qwen2 layout), with a
  template post-processor that adds <|begin_of_text|>.
- spm.model: a SentencePiece BPE model (Llama 2 layout).
- golden.json: the ids Hugging Face tokenizers / sentencepiece give for each
  test text, and the text each id sequence decodes back to.
"""

import json
import os

import sentencepiece as spm
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = [
    "The quick brown fox jumps over the lazy dog. " * 3,
    "Hello, world! How are you doing today? I'm fine, thanks.",
    "Tokenizers split text into pieces: words, numbers 12345 and 2024, punctuation!",
    "Unicode works too: héllo wörld, naïve café, 你好世界, emoji 🙂🚀.",
    "def main():\n    return 42  # a comment\n\n\ttabs\tand  spaces",
    "It's, we're, they'll, I've, you'd — contractions everywhere.",
]
TEXTS = [
    "Hello, world!",
    "The lazy dog jumps over the quick brown fox.",
    "  leading spaces and trailing   ",
    "numbers 1234567 and 3.14159",
    "héllo wörld — 你好 🙂",
    "line one\nline two\n\n\tindented",
    "I'm sure they'll say we've done it",
    "before <|endoftext|> after",
    "",
]
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def train(pre_tokenizer, path, special, post=None):
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=[special],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(CORPUS * 4, trainer)
    if post:
        tokenizer.post_processor = post(tokenizer)
    tokenizer.save(path)
    return tokenizer


def main():
    golden = {}
    gpt2 = train(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
                 os.path.join(HERE, "gpt2-style.json"), "<|endoftext|>")
    split = train(
        pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        os.path.join(HERE, "split-style.json"), "<|begin_of_text|>",
        post=lambda t: processors.TemplateProcessing(
            single="<|begin_of_text|> $A",
            special_tokens=[("<|begin_of_text|>", t.token_to_id("<|begin_of_text|>"))]))
    for name, tokenizer in [("gpt2-style.json", gpt2), ("split-style.json", split)]:
        golden[name] = [{"text": text,
                         "ids": tokenizer.encode(text).ids,
                         "decoded": tokenizer.decode(tokenizer.encode(text).ids,
                                                     skip_special_tokens=False)}
                        for text in TEXTS]

    corpus_file = os.path.join(HERE, "corpus.txt")
    with open(corpus_file, "w") as f:
        f.write("\n".join(CORPUS * 4))
    spm.SentencePieceTrainer.train(
        input=corpus_file, model_prefix=os.path.join(HERE, "spm"),
        vocab_size=400, model_type="bpe", character_coverage=1.0,
        byte_fallback=True, bos_id=1, eos_id=2, unk_id=0,
        normalization_rule_name="identity")
    os.remove(corpus_file)
    os.remove(os.path.join(HERE, "spm.vocab"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(HERE, "spm.model"))
    golden["spm.model"] = [{"text": text, "ids": sp.encode(text),
                            "decoded": sp.decode(sp.encode(text))}
                           for text in TEXTS if "<|" not in text]
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
