"""Batched greedy generation and batched log-likelihood scoring for causal LMs.

Prompts are left-padded so that every row ends at the same position: generation then
continues all rows together (with the KV cache), and the continuation tokens of a
scoring request are the last positions of its row. Requests are processed longest
first, so a batch holds prompts of similar length, and results come back in the input
order. Position ids are counted from each row's first real token, so a padded row is
computed like the same row alone.
"""

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

log = logging.getLogger(__name__)


def read_model(model_dir: str | Path, device: torch.device, dtype: torch.dtype | None = None):
    """Model (eval mode) and left-padding tokenizer: float32 on CPU; on GPU `dtype`, by
    default the model's own (its config's)."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prepare_tokenizer(tokenizer)
    if device.type != "cuda":
        dtype = torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype or "auto")
    return model.to(device).eval(), tokenizer


@functools.lru_cache(maxsize=1)
def load_model(model_dir: str | Path, device: torch.device):
    """`read_model` of a model directory, in its own dtype. The last one loaded is kept, so
    that one job scoring a model in several languages loads it once."""
    return read_model(model_dir, device)


def model_and_tokenizer(model, device: torch.device):
    """The model to score and its tokenizer: a directory's (`load_model`), or what a model
    source's `load(device)` gives (a merge variant merged on load: `maec.evaluation.on_load`),
    whose `str()` the scores record."""
    if isinstance(model, str | Path):
        return load_model(model, device)
    return model.load(device)


def prepare_tokenizer(tokenizer) -> None:
    """Left padding, with the end-of-sequence token as padding when there is no pad token."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError("the tokenizer has neither a pad nor an end-of-sequence token")
        tokenizer.pad_token = tokenizer.eos_token


def _longest_first(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def _left_pad(rows: Sequence[Sequence[int]], pad_id: int, device) -> tuple[torch.Tensor, ...]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def _warn_if_too_long(model, longest: int) -> None:
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit is not None and longest > limit:
        log.warning("inputs of up to %d tokens exceed the model's %d positions", longest, limit)


def cut_at_stop(text: str, stop_strings: Sequence[str]) -> str:
    """`text` up to the first occurrence of any stop string."""
    ends = [text.find(s) for s in stop_strings if s and s in text]
    return text[: min(ends)] if ends else text


@torch.no_grad()
def generate_greedy(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    stop_strings: Sequence[str] = (),
    batch_size: int = 8,
    desc: str = "generate",
) -> list[str]:
    """Greedy continuations of `prompts`, each cut before the first stop string.

    A row stops at the end-of-sequence token, at a stop string or after `max_new_tokens`.
    """
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    _warn_if_too_long(model, max((len(e) for e in encoded), default=0) + max_new_tokens)
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        stop_strings=list(stop_strings) or None,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=model.generation_config.eos_token_id,
        use_cache=True,
    )
    device = next(model.parameters()).device
    outputs: list[str] = [""] * len(prompts)
    batches = _longest_first([len(e) for e in encoded], batch_size)
    for batch in tqdm(batches, desc=desc, unit="batch"):
        ids, mask, _ = _left_pad([encoded[i] for i in batch], tokenizer.pad_token_id, device)
        generated = model.generate(
            input_ids=ids, attention_mask=mask, generation_config=config, tokenizer=tokenizer
        )
        for row, index in enumerate(batch):
            text = tokenizer.decode(generated[row, ids.shape[1] :], skip_special_tokens=True)
            outputs[index] = cut_at_stop(text, stop_strings)
    return outputs


def encode_request(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of context and continuation, split like lm-evaluation-harness does: white
    space ending the context moves to the continuation, the pair is encoded as one text
    and the continuation is what follows the context's tokens."""
    if not context:
        raise ValueError("a log-likelihood request needs a non-empty context")
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokenizer(context + continuation)["input_ids"]
    context_ids = tokenizer(context)["input_ids"]
    continuation_ids = whole[len(context_ids) :]
    if not continuation_ids:
        raise ValueError(f"continuation {continuation!r} encodes to no tokens after its context")
    return whole[: len(context_ids)], continuation_ids


@torch.no_grad()
def loglikelihoods(
    model,
    tokenizer,
    requests: Sequence[tuple[str, str]],
    *,
    batch_size: int = 8,
    desc: str = "score",
) -> list[float]:
    """log P(continuation | context) for each (context, continuation), summed over tokens."""
    pairs = [encode_request(tokenizer, c, x) for c, x in requests]
    rows = [(c + x)[:-1] for c, x in pairs]  # the last token is only predicted
    _warn_if_too_long(model, max((len(r) for r in rows), default=0))
    device = next(model.parameters()).device
    scores = [0.0] * len(requests)
    for batch in tqdm(_longest_first([len(r) for r in rows], batch_size), desc=desc, unit="batch"):
        ids, mask, positions = _left_pad([rows[i] for i in batch], tokenizer.pad_token_id, device)
        keep = max(len(pairs[i][1]) for i in batch)
        logits = model(
            input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep
        ).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        for row, index in enumerate(batch):
            target = torch.tensor(pairs[index][1], device=device)
            picked = logprobs[row, keep - len(target) :].gather(-1, target[:, None])
            scores[index] = picked.sum().item()
    return scores
