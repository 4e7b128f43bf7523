"""The ability corpus translated into a target language with an open machine-translation
model (an NLLB-200 or M2M100 checkpoint through `transformers`), for Table 2's F-CPT_{L&T}
and F-CPT_T rows; the paper translated with GPT-4o.

Each document is cut into segments of at most `max_length` source tokens, at line breaks
where it has them, and each segment is translated greedily (no sampling: a rerun gives the
same text), in batches; the segments of a document are joined with the breaks they had.
Translation stops after `max_tokens` source tokens (the cap on its cost; the rest of the
corpus is left out), and the output is JSON lines with `text`, written whole or not at all,
with a summary beside it (documents, source and target tokens, seconds).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from maec.io.atomic import atomic_file, write_text

log = logging.getLogger(__name__)

# FLORES-200 codes (NLLB's) of the languages this project names; M2M100 takes the short codes.
NLLB_CODES = {
    "en": "eng_Latn",
    "es": "spa_Latn",
    "zh": "zho_Hans",
    "bn": "ben_Beng",
    "te": "tel_Telu",
    "de": "deu_Latn",
    "fr": "fra_Latn",
    "ru": "rus_Cyrl",
    "ja": "jpn_Jpan",
    "th": "tha_Thai",
    "sw": "swh_Latn",
}


def segments(document: str, tokenizer, max_length: int) -> list[tuple[str, str]]:
    """(segment, the separator after it) of a document: its lines, and a line longer than
    `max_length` tokens cut at word boundaries (a word's tokens counted alone)."""
    pieces = []
    lines = document.split("\n")
    for i, line in enumerate(lines):
        end = "\n" if i < len(lines) - 1 else ""
        if not line.strip():
            pieces.append(("", line + end))
            continue
        current, length = [], 0
        for word in line.split(" "):
            size = len(tokenizer.tokenize(word)) if word else 0
            if current and length + size > max_length:
                pieces.append((" ".join(current), " "))
                current, length = [], 0
            current.append(word)
            length += size
        pieces.append((" ".join(current), end))
    return pieces


class Translator:
    """A seq2seq model and its tokenizer, from source code to target code (the model's
    own language codes, e.g. `spa_Latn`); `translate` takes a batch of segments."""

    def __init__(self, model_dir, source_code: str, target_code: str, device: str = "cpu"):
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, src_lang=source_code)
        target = self.tokenizer.convert_tokens_to_ids(target_code)
        if target is None or target == self.tokenizer.unk_token_id:
            raise ValueError(f"{model_dir}: the tokenizer has no language code {target_code!r}")
        self.target = target
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).to(device).eval()
        self.device = device
        # no language code inside a sentence: only the forced first token is one
        special = set(self.tokenizer.all_special_ids) - {self.tokenizer.eos_token_id, target}
        self.suppressed = sorted(special)

    def translate(self, texts: list[str], max_length: int) -> list[str]:
        import torch

        batch = self.tokenizer(
            texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length
        ).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(
                **batch,
                forced_bos_token_id=self.target,
                suppress_tokens=self.suppressed,
                max_new_tokens=2 * max_length,
                num_beams=1,
                do_sample=False,
            )
        return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]


def _capped(documents: Iterator[str], tokenizer, max_length: int, max_tokens: int):
    """(segments, source tokens) of each document, until `max_tokens` source tokens (the
    document that would pass the cap is left out, unless it is the first)."""
    used = 0
    for document in documents:
        pieces = segments(document, tokenizer, max_length)
        tokens = sum(len(tokenizer.tokenize(text)) for text, _ in pieces)
        if used and used + tokens > max_tokens:
            return
        used += tokens
        yield pieces, tokens
        if used >= max_tokens:
            return


def translate_corpus(
    reading: dict,
    model_dir,
    out_path,
    *,
    source_code: str,
    target_code: str,
    max_tokens: int,
    max_length: int = 256,
    batch_size: int = 16,
    device: str = "cpu",
) -> dict:
    """Translate the corpus `reading` names (source, text_field, split, name, data_files,
    as the tokenizer reads it) into `out_path` (JSON lines); returns the summary also
    written beside it (`{out_path stem}.json`)."""
    from tqdm import tqdm

    from maec.data.tokens import iter_documents

    started = time.perf_counter()
    translator = Translator(model_dir, source_code, target_code, device)
    documents = iter_documents(
        reading["source"],
        text_field=reading["text_field"],
        split=reading["split"],
        name=reading["name"],
        data_files=reading["data_files"],
    )
    summary = dict(documents=0, source_tokens=0, target_tokens=0)
    out_path = Path(out_path)
    pending: list[list[tuple[str, str]]] = []  # documents whose segments wait for a batch

    def flush(out) -> None:
        texts = [text for pieces in pending for text, _ in pieces if text]
        translated = iter(
            t
            for start in range(0, len(texts), batch_size)
            for t in translator.translate(texts[start : start + batch_size], max_length)
        )
        for pieces in pending:
            joined = "".join((next(translated) if text else "") + sep for text, sep in pieces)
            out.write(json.dumps({"text": joined}, ensure_ascii=False) + "\n")
            summary["target_tokens"] += len(translator.tokenizer.tokenize(joined))
        pending.clear()

    with atomic_file(out_path, "w") as out, tqdm(total=max_tokens, unit="token") as bar:
        for pieces, tokens in _capped(documents, translator.tokenizer, max_length, max_tokens):
            pending.append(pieces)
            summary["documents"] += 1
            summary["source_tokens"] += tokens
            bar.update(tokens)
            if sum(1 for p in pending for text, _ in p if text) >= batch_size:
                flush(out)
        flush(out)
    if summary["documents"] == 0:
        raise ValueError(f"{reading['source']}: no document to translate")
    summary.update(
        source=str(reading["source"]),
        model=str(model_dir),
        source_code=source_code,
        target_code=target_code,
        max_tokens=max_tokens,
        seconds=time.perf_counter() - started,
    )
    write_text(out_path.with_suffix(".json"), json.dumps(summary, indent=1) + "\n")
    log.info(
        "translated %d documents, %d source tokens -> %d target tokens in %.0f s -> %s",
        summary["documents"],
        summary["source_tokens"],
        summary["target_tokens"],
        summary["seconds"],
        out_path,
    )
    return summary
