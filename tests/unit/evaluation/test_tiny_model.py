"""The evaluation tests' tiny model (`tiny.save_tiny_model`): its tokenizer and directory."""

import torch
from helpers.tiny import bpe_tokenizer, save_tiny_model


def test_tokenizer_round_trips_multilingual_text():
    tokenizer = bpe_tokenizer()
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
