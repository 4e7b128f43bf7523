"""Batched generation and scoring give the same results as one example at a time."""

import random

import pytest
import torch
from helpers.tiny import bpe_tokenizer, generating_llama

from maec.evaluation.generation import cut_at_stop, encode_request, generate_greedy, loglikelihoods

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    tokenizer = bpe_tokenizer()
    return generating_llama(tokenizer), tokenizer


def _random_texts(n, seed):
    rng = random.Random(seed)
    words = [
        "Question:",
        "balls",
        "5",
        "answer",
        "is",
        "11.",
        "cell",
        "A.",
        "B.",
        "energy",
        "ধাপে",
        "答案是",
        "\n",
    ]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))) for _ in range(n)]


def _unbatched_loglikelihood(model, tokenizer, context, continuation):
    context_ids, continuation_ids = encode_request(tokenizer, context, continuation)
    ids = torch.tensor([context_ids + continuation_ids])
    logprobs = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
    targets = torch.tensor(continuation_ids)
    return logprobs[len(context_ids) - 1 :].gather(-1, targets[:, None]).sum().item()


def test_batched_loglikelihoods_equal_one_at_a_time(tiny):
    model, tokenizer = tiny
    contexts = _random_texts(11, seed=1)
    continuations = [" A", " B", " energy and mass", " 11", " ধাপে ধাপে উত্তর", " C"]
    requests = [(c, continuations[i % len(continuations)]) for i, c in enumerate(contexts)]
    batched = loglikelihoods(model, tokenizer, requests, batch_size=4)
    single = [_unbatched_loglikelihood(model, tokenizer, c, x) for c, x in requests]
    assert batched == pytest.approx(single, abs=1e-4)
    assert len(set(round(s, 3) for s in single)) > 5  # the requests really differ


def test_loglikelihood_sums_token_logprobs_by_hand(tiny):
    model, tokenizer = tiny
    context_ids, continuation_ids = encode_request(tokenizer, "Answer:", " energy")
    assert len(continuation_ids) >= 2
    logits = model(input_ids=torch.tensor([context_ids + continuation_ids])).logits[0]
    expected = 0.0
    for offset, token in enumerate(continuation_ids):
        position = len(context_ids) - 1 + offset
        expected += (logits[position, token] - torch.logsumexp(logits[position], -1)).item()
    assert loglikelihoods(model, tokenizer, [("Answer:", " energy")])[0] == pytest.approx(
        expected, abs=1e-4
    )


def test_batched_greedy_generation_equals_unbatched(tiny):
    model, tokenizer = tiny
    prompts = _random_texts(7, seed=2)
    batched = generate_greedy(model, tokenizer, prompts, max_new_tokens=12, batch_size=3)
    single = [
        generate_greedy(model, tokenizer, [p], max_new_tokens=12, batch_size=1)[0] for p in prompts
    ]
    assert batched == single
    assert len(set(batched)) > 3 and all(batched)


def test_generation_is_greedy_argmax(tiny):
    model, tokenizer = tiny
    prompt = "Question: Roger has 5 tennis balls."
    ids = tokenizer(prompt)["input_ids"]
    for _ in range(6):
        next_token = model(input_ids=torch.tensor([ids])).logits[0, -1].argmax().item()
        if next_token == tokenizer.eos_token_id:
            break
        ids.append(next_token)
    expected = tokenizer.decode(
        ids[len(tokenizer(prompt)["input_ids"]) :], skip_special_tokens=True
    )
    assert generate_greedy(model, tokenizer, [prompt], max_new_tokens=len(ids))[0].startswith(
        expected
    )


def test_generation_stops_at_stop_string(tiny):
    model, tokenizer = tiny
    prompts = _random_texts(5, seed=3)
    free = generate_greedy(model, tokenizer, prompts, max_new_tokens=20, batch_size=5)
    # A stop string taken from inside each free continuation must cut it there.
    for prompt, text in zip(prompts, free):
        if len(text) < 4:
            continue
        stop = text[2:4]
        cut = generate_greedy(model, tokenizer, [prompt], max_new_tokens=20, stop_strings=[stop])[0]
        assert cut == text[: text.find(stop)]


def test_trailing_context_space_moves_to_the_continuation(tiny):
    _, tokenizer = tiny
    assert encode_request(tokenizer, "Answer: ", "B") == encode_request(tokenizer, "Answer:", " B")
    with pytest.raises(ValueError, match="non-empty context"):
        encode_request(tokenizer, "", " B")


def test_cut_at_stop_takes_the_earliest():
    assert cut_at_stop("a Question: b Pregunta: c", ["Pregunta:", "Question:"]) == "a "
    assert cut_at_stop("no stop here", ["Question:"]) == "no stop here"
