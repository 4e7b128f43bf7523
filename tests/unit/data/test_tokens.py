"""Packed token blocks: packing round trip, errors, mixture determinism and restart."""

import json
from itertools import islice

import numpy as np
import pytest
import torch
from helpers.tiny import EOS, VOCAB, save_word_tokenizer

from maec.data.jsonl import JsonlError
from maec.data.tokens import (
    TokenBlocks,
    mixture_batches,
    mixture_cycle,
    mixture_quotas,
    pack_corpus,
)


def ids(text):
    return [VOCAB[w] for w in text.split()]


@pytest.fixture
def tokenizer_dir(tmp_path):
    return save_word_tokenizer(tmp_path / "tokenizer")


DOCS = ["the cat sat on a mat", "a dog ran", "the dog ran far away", "cat"]


def write_jsonl(path, docs, field="text"):
    path.write_text("".join(json.dumps({field: d, "id": i}) + "\n" for i, d in enumerate(docs)))
    return path


def test_pack_jsonl_round_trip(tmp_path, tokenizer_dir):
    corpus = write_jsonl(tmp_path / "c.jsonl", DOCS)
    summary = pack_corpus(corpus, tokenizer_dir, tmp_path / "out" / "c", block_size=4)
    stream = [t for d in DOCS for t in ids(d) + [EOS]]  # 6+1, 3+1, 5+1, 1+1 = 19 tokens
    assert len(stream) == 19
    blocks = TokenBlocks(tmp_path / "out" / "c")
    assert len(blocks) == 4 and blocks.block_size == 4  # 19 // 4, tail of 3 dropped
    assert blocks.blocks.dtype == np.uint16
    got = torch.cat([blocks[i] for i in range(len(blocks))]).tolist()
    assert got == stream[:16]
    assert blocks[0].dtype == torch.long
    assert got[6] == EOS and got[10] == EOS  # EOS after each document
    assert summary == blocks.meta
    assert summary["documents"] == 4 and summary["tokens"] == 16
    assert summary["tokens_read"] == 19 and summary["n_blocks"] == 4
    assert summary["vocab_size"] == len(VOCAB) and summary["eos_token_id"] == EOS
    # no temporary files left beside the outputs
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["c.json", "c.npy"]


def test_pack_max_tokens_stops_early(tmp_path, tokenizer_dir):
    corpus = write_jsonl(tmp_path / "c.jsonl", DOCS * 10)
    summary = pack_corpus(corpus, tokenizer_dir, tmp_path / "c", block_size=4, max_tokens=10)
    assert summary["n_blocks"] == 2 and summary["tokens"] == 8
    assert summary["documents"] < 40
    assert (
        TokenBlocks(tmp_path / "c")[1].tolist() == ([t for d in DOCS for t in ids(d) + [EOS]])[4:8]
    )


def test_pack_txt_paragraphs_are_documents(tmp_path, tokenizer_dir):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat\nsat on a mat\n\n\na dog ran\n\nthe dog\n")
    summary = pack_corpus(corpus, tokenizer_dir, tmp_path / "c", block_size=3)
    stream = ids("the cat sat on a mat") + [EOS] + ids("a dog ran") + [EOS] + ids("the dog") + [EOS]
    assert summary["documents"] == 3
    assert torch.cat([b for b in TokenBlocks(tmp_path / "c")]).tolist() == stream[:12]


def test_pack_parquet(tmp_path, tokenizer_dir):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"body": DOCS}), tmp_path / "c.parquet")
    summary = pack_corpus(
        tmp_path / "c.parquet", tokenizer_dir, tmp_path / "c", block_size=4, text_field="body"
    )
    assert summary["n_blocks"] == 4 and summary["documents"] == 4


def test_pack_errors_name_the_file(tmp_path, tokenizer_dir):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.jsonl.*no documents"):
        pack_corpus(empty, tokenizer_dir, tmp_path / "e", block_size=4)
    short = write_jsonl(tmp_path / "short.jsonl", ["cat"])
    with pytest.raises(ValueError, match="short.jsonl.*fewer than one block"):
        pack_corpus(short, tokenizer_dir, tmp_path / "s", block_size=4)
    wrong = write_jsonl(tmp_path / "wrong.jsonl", DOCS, field="content")
    with pytest.raises(JsonlError, match="wrong.jsonl:1: no text field 'text'"):
        pack_corpus(wrong, tokenizer_dir, tmp_path / "w", block_size=4)
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        pack_corpus(tmp_path / "missing.jsonl", tokenizer_dir, tmp_path / "m", block_size=4)
    no_eos = save_word_tokenizer(tmp_path / "no_eos", eos=False)
    corpus = write_jsonl(tmp_path / "c.jsonl", DOCS)
    with pytest.raises(ValueError, match="no_eos.*no EOS"):
        pack_corpus(corpus, no_eos, tmp_path / "n", block_size=4)
    # nothing half-written
    assert not [
        p for p in tmp_path.iterdir() if p.suffix in (".npy", ".tmp") or p.name.endswith(".json")
    ]


def test_hf_dataset_id_without_datasets_is_a_clear_error(tmp_path, tokenizer_dir, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("no datasets")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(ImportError, match="'some-org/some-corpus'.*datasets"):
        pack_corpus("some-org/some-corpus", tokenizer_dir, tmp_path / "h", block_size=4)


def make_blocks(tmp_path, name, n_blocks, block_size=3, offset=0):
    """A TokenBlocks file whose block i holds offset + i in every position."""
    arr = offset + np.repeat(np.arange(n_blocks), block_size).reshape(n_blocks, block_size)
    np.save(tmp_path / f"{name}.npy", arr.astype(np.uint16))
    (tmp_path / f"{name}.json").write_text(
        json.dumps({"n_blocks": n_blocks, "block_size": block_size})
    )
    return TokenBlocks(tmp_path / name)


def test_mixture_quotas_and_cycle_by_hand():
    assert mixture_quotas([0.7, 0.3], cycle=10).tolist() == [7, 3]
    assert mixture_quotas([1, 1, 1], cycle=10).tolist() == [4, 3, 3]
    corpus, rank = mixture_cycle(np.array([2, 1]))
    # smooth weighted round-robin: current = [2,1] -> pick 0 -> [-1,1]; [1,2] -> pick 1
    # -> [1,-1]; [3,0] -> pick 0
    assert corpus.tolist() == [0, 1, 0] and rank.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="weights"):
        mixture_quotas([0.0, 0.0])
    with pytest.raises(ValueError, match="weights"):
        mixture_quotas([1.0, -0.5])


def test_mixture_is_deterministic_weighted_and_restartable(tmp_path):
    a = make_blocks(tmp_path, "a", 7)
    b = make_blocks(tmp_path, "b", 5, offset=100)
    sources = [(a, 0.75), (b, 0.25)]
    first = list(islice(mixture_batches(sources, batch_size=4, seed=3), 20))
    again = list(islice(mixture_batches(sources, batch_size=4, seed=3), 20))
    assert all(torch.equal(x, y) for x, y in zip(first, again))
    assert all(x.shape == (4, 3) and x.dtype == torch.long for x in first)
    restarted = list(islice(mixture_batches(sources, batch_size=4, seed=3, start_step=13), 7))
    assert all(torch.equal(x, y) for x, y in zip(first[13:], restarted))
    other_seed = list(islice(mixture_batches(sources, batch_size=4, seed=4), 20))
    assert not all(torch.equal(x, y) for x, y in zip(first, other_seed))
    rows = torch.cat(first)[:, 0]
    from_a = rows[rows < 100]
    from_b = rows[rows >= 100] - 100
    assert len(from_a) == 60 and len(from_b) == 20  # exact 3:1 shares
    # every block once per pass: the first 7 draws of a are a permutation of its blocks,
    # the first 5 draws of b a permutation of b's
    assert sorted(from_a[:7].tolist()) == list(range(7))
    assert sorted(from_a[7:14].tolist()) == list(range(7))
    assert sorted(from_b[:5].tolist()) == list(range(5))


def test_mixture_rejects_different_block_sizes(tmp_path):
    a = make_blocks(tmp_path, "a", 4, block_size=3)
    b = make_blocks(tmp_path, "b", 4, block_size=5)
    with pytest.raises(ValueError, match="block size"):
        next(mixture_batches([(a, 1.0), (b, 1.0)], batch_size=2, seed=0))


def test_token_blocks_checks_json_against_array(tmp_path):
    make_blocks(tmp_path, "a", 4)
    (tmp_path / "a.json").write_text(json.dumps({"n_blocks": 5, "block_size": 3}))
    with pytest.raises(ValueError, match="a.npy.*disagrees"):
        TokenBlocks(tmp_path / "a")
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        TokenBlocks(tmp_path / "nope")
