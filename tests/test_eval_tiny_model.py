"""A tiny random LLaMA with a byte-level BPE tokenizer, saved as a model directory.

Shared by the evaluation tests (imported by them); the tests here check the fixture itself.
"""

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIAL = ["<s>", "</s>", "<pad>"]
TRAINING_TEXT = [
    "Question: Roger has 5 tennis balls. He buys 2 more cans. The answer is 11.",
    "Step-by-Step Answer: 5 + 6 = 11. The answer is 11.",
    "The following are multiple choice questions (with answers) about biology.",
    "A. cell B. atom C. energy D. mass Answer: A",
    "Pregunta: ¿Cuántos? Respuesta paso a paso: La respuesta es 29.",
    "0 1 2 3 4 5 6 7 8 9 10 100 1,000 3.5",
]


def build_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(TRAINING_TEXT, trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        padding_side="left",
    )


def build_model(tokenizer, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        initializer_range=0.2,  # peaked logits: greedy choices are far from ties
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config).eval()


def save_tiny_model(directory, seed: int = 0):
    """Write a tiny model directory; return (model, tokenizer) as loaded in memory."""
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return model, tokenizer


def test_tokenizer_round_trips_multilingual_text():
    tokenizer = build_tokenizer()
    text = "প্রশ্ন: ১২৩ 問題：5+6=11 La respuesta es 2,125."
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_saved_model_directory_loads(tmp_path):
    from maec.evaluation.generation import load_model

    model, tokenizer = save_tiny_model(tmp_path)
    loaded, loaded_tokenizer = load_model(tmp_path, torch.device("cpu"))
    assert loaded_tokenizer.padding_side == "left"
    assert loaded_tokenizer.pad_token_id == tokenizer.pad_token_id
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
