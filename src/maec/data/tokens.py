"""Packed token blocks: tokenizing a corpus, reading blocks, mixing corpora.

A corpus is tokenized document by document, an EOS token is appended to every document,
and the token stream is cut into fixed blocks of ``block_size`` tokens (the incomplete
tail is dropped). On disk (``docs/design.md``): ``{prefix}.npy``, a ``uint16`` or
``uint32`` array of shape ``(n_blocks, block_size)``, and ``{prefix}.json`` describing it.
torch is imported where tensors are made: the process that launches a multi-process
training run checks its blocks without it (maec.training.launch).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from maec.data.jsonl import jsonl_texts
from maec.data.sources import LOCAL_SUFFIXES, dataset_documents
from maec.io.atomic import atomic_file, write_text

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# Documents are tokenized in batches of this many (fast tokenizers work in parallel).
TOKENIZE_BATCH = 256
# Header size reserved in the .npy file: the number of blocks is only known at the end.
NPY_HEADER_BYTES = 128
# Mixture schedules are exact to 1 / MIXTURE_CYCLE in each corpus' share of rows.
MIXTURE_CYCLE = 10_000


# --------------------------------------------------------------------------- corpora


def iter_documents(
    source: str | os.PathLike,
    *,
    text_field: str = "text",
    split: str = "train",
    name: str | None = None,
    data_files=None,
) -> Iterator[str]:
    """Yield the documents of a corpus.

    ``.jsonl``: one JSON object per line, the document in ``text_field``; blank lines
    hold none and are skipped, any other line that is not such an object is an error
    naming the file and the line (``maec.data.jsonl``).
    ``.txt``: documents separated by one or more blank lines (a paragraph is a document).
    ``.parquet``: the column ``text_field`` (needs ``pyarrow``).
    A directory, or anything else that is not an existing path: a data set read with
    ``datasets.load_dataset`` (a local directory laid out like a hub repository, or a hub
    id, streamed), with ``name`` its configuration (e.g. a language) and ``data_files``
    the files to read (``maec.data.sources``).
    """
    path = Path(source)
    suffix = path.suffix.lower()
    if path.is_dir():
        return dataset_documents(
            str(path), text_field=text_field, split=split, name=name, data_files=data_files
        )
    if path.exists() or suffix in LOCAL_SUFFIXES:
        if not path.is_file():
            raise FileNotFoundError(f"corpus file not found: {path}")
        if suffix == ".jsonl":
            return (text for _, text in jsonl_texts(path, text_field))
        if suffix == ".txt":
            return _iter_txt(path)
        if suffix == ".parquet":
            return _iter_parquet(path, text_field)
        raise ValueError(
            f"{path}: unsupported corpus format {suffix!r}; "
            f"use one of {', '.join(LOCAL_SUFFIXES)} or a Hugging Face dataset id"
        )
    return dataset_documents(
        str(source), text_field=text_field, split=split, name=name, data_files=data_files
    )


def _iter_txt(path: Path) -> Iterator[str]:
    paragraph: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                paragraph.append(line.rstrip("\n"))
            elif paragraph:
                yield "\n".join(paragraph)
                paragraph = []
    if paragraph:
        yield "\n".join(paragraph)


def _iter_parquet(path: Path, text_field: str) -> Iterator[str]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(f"{path}: reading .parquet corpora needs the package 'pyarrow'") from None
    parquet = pq.ParquetFile(path)
    if text_field not in parquet.schema_arrow.names:
        raise KeyError(
            f"{path}: no text field {text_field!r} "
            f"(columns: {', '.join(parquet.schema_arrow.names)})"
        )
    for batch in parquet.iter_batches(columns=[text_field]):
        for text in batch.column(0).to_pylist():
            if text is not None:
                yield text


# --------------------------------------------------------------------------- packing


def load_tokenizer(tokenizer_dir: str | os.PathLike):
    """The tokenizer of ``tokenizer_dir``; it must define an EOS token (documents end with it)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    if tokenizer.eos_token_id is None:
        raise ValueError(
            f"{tokenizer_dir}: the tokenizer has no EOS token; "
            "packing needs one to separate documents"
        )
    return tokenizer


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype of the format that holds every token id."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


def _npy_header(dtype: np.dtype, shape: tuple[int, int]) -> bytes:
    """An .npy (version 1.0) header padded to exactly NPY_HEADER_BYTES bytes."""
    fields = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    text = repr(fields).encode("latin1")
    prefix = np.lib.format.MAGIC_PREFIX + bytes([1, 0])
    room = NPY_HEADER_BYTES - len(prefix) - 2 - 1  # 2: header length field, 1: newline
    if len(text) > room:
        raise ValueError(f"npy header too long for shape {shape}")
    text = text + b" " * (room - len(text)) + b"\n"
    return prefix + len(text).to_bytes(2, "little") + text


def _document_tokens(tokenizer, documents: Iterator[str]) -> Iterator[list[int]]:
    """Token ids of each document followed by EOS, tokenized in batches."""
    eos = tokenizer.eos_token_id
    batch: list[str] = []

    def flush():
        encoded = tokenizer(batch, add_special_tokens=False)["input_ids"]
        batch.clear()
        return encoded

    for text in documents:
        batch.append(text)
        if len(batch) == TOKENIZE_BATCH:
            for ids in flush():
                yield ids + [eos]
    if batch:
        for ids in flush():
            yield ids + [eos]


def _write_blocks(out, documents, block_size, max_blocks, dtype, bar) -> tuple[int, int, int]:
    """Write the documents' token ids, concatenated, as whole blocks (at most `max_blocks`;
    the incomplete tail is dropped); returns (documents read, tokens read, blocks)."""
    count = tokens_read = n_blocks = 0
    pending = np.empty(0, dtype=np.int64)
    for ids in documents:
        count += 1
        tokens_read += len(ids)
        pending = np.concatenate([pending, np.asarray(ids, dtype=np.int64)])
        full = len(pending) // block_size
        if max_blocks is not None:
            full = min(full, max_blocks - n_blocks)
        if full:
            out.write(pending[: full * block_size].astype(dtype).tobytes())
            pending = pending[full * block_size :]
            n_blocks += full
            bar.update(full)
        if max_blocks is not None and n_blocks == max_blocks:
            break
    return count, tokens_read, n_blocks


def _max_blocks(block_size: int, max_tokens: int | None) -> int | None:
    """The blocks `max_tokens` allows (None: no limit), refusing a block too short to train
    on or a limit under one block."""
    if block_size < 2:
        raise ValueError(f"block_size must be at least 2, got {block_size}")
    if max_tokens is not None and max_tokens < block_size:
        raise ValueError(f"max_tokens ({max_tokens}) is smaller than one block ({block_size})")
    return None if max_tokens is None else max_tokens // block_size


def _write_npy(out, documents, source, block_size, max_blocks, dtype, bar) -> tuple[int, int, int]:
    """The .npy file: its blocks (`_write_blocks`), then its header, written once the number of
    blocks is known, and synced. Refuses a corpus without documents or without one whole
    block; returns (documents read, tokens read, blocks)."""
    out.write(b"\0" * NPY_HEADER_BYTES)
    count, tokens_read, n_blocks = _write_blocks(out, documents, block_size, max_blocks, dtype, bar)
    if count == 0:
        raise ValueError(f"{source}: the corpus has no documents")
    if n_blocks == 0:
        raise ValueError(f"{source}: {tokens_read} tokens, fewer than one block of {block_size}")
    out.seek(0)
    out.write(_npy_header(dtype, (n_blocks, block_size)))
    out.flush()
    os.fsync(out.fileno())
    return count, tokens_read, n_blocks


def pack_corpus(
    source,
    tokenizer_dir,
    out_prefix,
    *,
    block_size: int,
    max_tokens: int | None = None,
    text_field: str = "text",
    split: str = "train",
    name: str | None = None,
    data_files=None,
) -> dict:
    """Tokenize ``source`` and write packed blocks to ``{out_prefix}.npy`` and ``.json``.

    Documents are concatenated, each followed by EOS, and cut into blocks of
    ``block_size`` tokens; the incomplete tail is dropped. With ``max_tokens``, packing
    stops after ``max_tokens // block_size`` blocks. Both files are written to temporary
    names and renamed when complete. Returns the summary also written to the JSON.
    """
    max_blocks = _max_blocks(block_size, max_tokens)
    tokenizer = load_tokenizer(tokenizer_dir)
    vocab_size = len(tokenizer)
    dtype = token_dtype(vocab_size)
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    npy_path = out_prefix.with_name(out_prefix.name + ".npy")
    json_path = out_prefix.with_name(out_prefix.name + ".json")

    texts = iter_documents(
        source, text_field=text_field, split=split, name=name, data_files=data_files
    )
    with (
        atomic_file(npy_path, "wb") as out,
        tqdm(total=max_blocks, unit="block", desc=f"pack {out_prefix.name}") as bar,
    ):
        documents, tokens_read, n_blocks = _write_npy(
            out, _document_tokens(tokenizer, texts), source, block_size, max_blocks, dtype, bar
        )
        summary = {
            "source": str(source),
            "text_field": text_field,
            "split": split,
            "tokenizer": str(tokenizer_dir),
            "vocab_size": vocab_size,
            "eos_token_id": tokenizer.eos_token_id,
            "dtype": dtype.name,
            "block_size": block_size,
            "n_blocks": n_blocks,
            "tokens": n_blocks * block_size,
            "documents": documents,
            "tokens_read": tokens_read,
            "max_tokens": max_tokens,
        }
        # The summary first: the blocks appear only beside a complete summary.
        write_text(json_path, json.dumps(summary, indent=2) + "\n")
    log.info(
        "packed %s: %d documents, %d blocks of %d tokens -> %s",
        source,
        documents,
        n_blocks,
        block_size,
        npy_path,
    )
    return summary


# --------------------------------------------------------------------------- reading


class TokenBlocks:
    """Memory-mapped packed token blocks ``{prefix}.npy`` with their ``{prefix}.json``."""

    def __init__(self, prefix: str | os.PathLike):
        prefix = Path(prefix)
        self.prefix = prefix
        npy_path = prefix.with_name(prefix.name + ".npy")
        json_path = prefix.with_name(prefix.name + ".json")
        for path in (npy_path, json_path):
            if not path.is_file():
                raise FileNotFoundError(f"token blocks file not found: {path}")
        with open(json_path) as f:
            self.meta = json.load(f)
        self.blocks = np.load(npy_path, mmap_mode="r")
        if self.blocks.ndim != 2 or self.blocks.dtype not in (np.uint16, np.uint32):
            raise ValueError(
                f"{npy_path}: expected a uint16/uint32 array (n_blocks, block_size), "
                f"got {self.blocks.dtype} {self.blocks.shape}"
            )
        expected = (self.meta.get("n_blocks"), self.meta.get("block_size"))
        if tuple(self.blocks.shape) != expected:
            raise ValueError(
                f"{npy_path}: shape {tuple(self.blocks.shape)} disagrees with "
                f"{json_path} (n_blocks, block_size) = {expected}"
            )

    @property
    def block_size(self) -> int:
        return int(self.blocks.shape[1])

    def __len__(self) -> int:
        return int(self.blocks.shape[0])

    def __getitem__(self, index: int) -> torch.Tensor:
        import torch

        return torch.from_numpy(self.blocks[index].astype(np.int64))

    def take(self, indices: np.ndarray) -> torch.Tensor:
        """Blocks at ``indices`` as a LongTensor (len(indices), block_size)."""
        import torch

        return torch.from_numpy(self.blocks[np.asarray(indices)].astype(np.int64))


# --------------------------------------------------------------------------- mixtures


def mixture_quotas(weights: list[float], cycle: int = MIXTURE_CYCLE) -> np.ndarray:
    """Rows per cycle of each corpus: ``weights`` normalised to integers summing to ``cycle``
    (largest remainders, ties to the first corpus)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            f"mixture weights must be finite, non-negative and not all zero: {weights}"
        )
    exact = w / w.sum() * cycle
    quotas = np.floor(exact).astype(np.int64)
    remainders = exact - quotas
    order = np.argsort(-remainders, kind="stable")
    quotas[order[: cycle - quotas.sum()]] += 1
    return quotas


def mixture_cycle(quotas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The corpus of each row of one cycle, evenly interleaved (smooth weighted
    round-robin), and each row's rank among the cycle's rows of its corpus."""
    cycle = int(quotas.sum())
    current = np.zeros(len(quotas), dtype=np.int64)
    corpus = np.empty(cycle, dtype=np.int64)
    rank = np.empty(cycle, dtype=np.int64)
    seen = np.zeros(len(quotas), dtype=np.int64)
    for row in range(cycle):
        current += quotas
        c = int(np.argmax(current))
        current[c] -= cycle
        corpus[row] = c
        rank[row] = seen[c]
        seen[c] += 1
    return corpus, rank


class _EpochPermutations:
    """Block order of one corpus: a fresh seeded permutation per pass (epoch)."""

    def __init__(self, n_blocks: int, seed: int, corpus: int):
        self.n_blocks, self.seed, self.corpus = n_blocks, seed, corpus
        self.epoch, self.order = -1, None

    def block(self, draw: int) -> int:
        epoch, position = divmod(draw, self.n_blocks)
        if epoch != self.epoch:
            rng = np.random.default_rng([self.seed, self.corpus, epoch])
            self.epoch, self.order = epoch, rng.permutation(self.n_blocks)
        return int(self.order[position])


def mixture_batches(
    sources: list[tuple[TokenBlocks, float]], batch_size: int, seed: int, start_step: int = 0
) -> Iterator[torch.Tensor]:
    """Infinite batches (LongTensor (batch_size, block_size)) mixing corpora by weight.

    Row r of the stream (batch r // batch_size) belongs to the corpus fixed by position
    r % cycle of an evenly interleaved cycle holding each corpus in proportion to its
    weight; it is that corpus' k-th draw, k computed in closed form from r. Each corpus
    is read in a seeded random order, every block once per pass. So batch ``s`` depends
    only on (sources, batch_size, seed, s): starting at ``start_step`` gives the same
    batches as skipping the first ``start_step``, without reading them.
    """
    import torch

    if not sources:
        raise ValueError("mixture_batches needs at least one corpus")
    if batch_size < 1 or start_step < 0:
        raise ValueError(
            f"batch_size must be >= 1 and start_step >= 0, got {batch_size} and {start_step}"
        )
    block_size = sources[0][0].block_size
    if any(blocks.block_size != block_size for blocks, _ in sources):
        raise ValueError(
            "corpora in one mixture must share the block size: "
            + ", ".join(f"{b.prefix}: {b.block_size}" for b, _ in sources)
        )
    quotas = mixture_quotas([w for _, w in sources])
    corpus_of_row, rank_of_row = mixture_cycle(quotas)
    cycle = len(corpus_of_row)
    orders = [_EpochPermutations(len(blocks), seed, c) for c, (blocks, _) in enumerate(sources)]
    step = start_step
    while True:
        rows = np.arange(step * batch_size, (step + 1) * batch_size, dtype=np.int64)
        full_cycles, position = np.divmod(rows, cycle)
        corpus = corpus_of_row[position]
        draw = full_cycles * quotas[corpus] + rank_of_row[position]
        batch = torch.empty((batch_size, block_size), dtype=torch.long)
        for c, (blocks, _) in enumerate(sources):
            picked = np.flatnonzero(corpus == c)
            if len(picked):
                indices = [orders[c].block(int(d)) for d in draw[picked]]
                batch[torch.from_numpy(picked)] = blocks.take(indices)
        yield batch
        step += 1
