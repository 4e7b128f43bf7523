"""A byte-pair-encoding tokenizer trained on the demo world's corpora.

Every digit is its own token (numbers read the same in every language), words are split at
spaces (Metaspace), and the result is a `PreTrainedTokenizerFast` directory that
`transformers.AutoTokenizer` loads, with <s>, </s>, <pad> and <unk>.
"""

import random
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from maec.data.jsonl import jsonl_texts
from maec.io.atomic import atomic_directory

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"


def _texts(corpus_paths, max_docs_per_corpus: int | None, seed: int):
    """The `text` of every record of the JSONL corpora, read by the rule every corpus reader
    shares (`maec.data.jsonl`: blank lines skipped, any other bad line an error naming the
    file and line); a seeded sample of a corpus with more records than the cap."""
    for path in corpus_paths:
        texts = [text for _, text in jsonl_texts(path)]
        if max_docs_per_corpus is not None and len(texts) > max_docs_per_corpus:
            texts = random.Random(f"{seed}/{Path(path).name}").sample(texts, max_docs_per_corpus)
        yield from texts


def build_tokenizer(texts, vocab_size: int) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(prepend_scheme="first"),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    tok.decoder = decoders.Metaspace(prepend_scheme="first")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[PAD, BOS, EOS, UNK], show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tok.token_to_id(BOS))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK
    )


def train_tokenizer(
    corpus_paths,
    out_dir,
    vocab_size: int = 1000,
    seed: int = 0,
    max_docs_per_corpus: int | None = 20000,
) -> PreTrainedTokenizerFast:
    """Train on JSONL corpora ({"text": ...} per line); save to out_dir (whole or not at all).

    BPE training itself is deterministic; the seed only picks the sample of a corpus larger
    than max_docs_per_corpus.
    """
    corpus_paths = [Path(p) for p in corpus_paths]
    missing = [str(p) for p in corpus_paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"tokenizer corpus not found: {', '.join(missing)}")
    if vocab_size < 64:
        raise ValueError(f"vocab_size {vocab_size} is too small for a tokenizer (at least 64)")
    tokenizer = build_tokenizer(_texts(corpus_paths, max_docs_per_corpus, seed), vocab_size)
    with atomic_directory(out_dir) as tmp:
        tokenizer.save_pretrained(tmp)
    return tokenizer
