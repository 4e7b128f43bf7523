"""Merge on load: the merge's output sent into a loaded model's parameters holds exactly what
writing it and loading the file with `from_pretrained` gives, tied embeddings included; a
merge whose tensors do not fit the model is refused naming the tensor, before any arithmetic.
(Whole variants scored both ways on the demo world: tests/e2e/test_demo_world.py.)"""

import pytest
import torch
from helpers.checkpoints import random_tensors, write_checkpoint
from helpers.tiny import save_tiny_model

from maec.combination.merge import write_merge
from maec.evaluation.generation import read_model
from maec.evaluation.on_load import ParameterSink, written_dtype
from maec.io.format import CheckpointError
from maec.io.hf_dir import write_hf_directory
from maec.io.reader import open_checkpoint


def _backbone(tmp_path, **overrides):
    """A tiny model directory in bf16 (the hub's usual dtype) and deltas of its shapes."""
    model, _ = save_tiny_model(tmp_path / "backbone")
    if overrides.get("tied"):
        model.config.tie_word_embeddings = True
        model.tie_weights()
    model.to(torch.bfloat16).save_pretrained(tmp_path / "backbone")
    ckpt = open_checkpoint(tmp_path / "backbone")
    shapes = {name: ckpt.shape(name) for name in ckpt.names}
    r_a = write_checkpoint(tmp_path / "r_a.safetensors", random_tensors(shapes, 1, scale=0.05))
    r_lang = write_checkpoint(
        tmp_path / "r_lang.safetensors", random_tensors(shapes, 2, scale=0.05)
    )
    selected = {n for n in ckpt.names if ".mlp." in n}
    return tmp_path / "backbone", r_a, r_lang, selected


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("dtype", [None, "float32", "bfloat16"])
def test_merged_parameters_equal_the_written_model_loaded(tmp_path, dtype, tied):
    backbone, r_a, r_lang, selected = _backbone(tmp_path, tied=tied)
    merge = dict(gamma=0.7, eta=0.3, dtype=dtype)
    write_merge(backbone, r_a, r_lang, selected, tmp_path / "merged.safetensors", **merge)
    write_hf_directory(tmp_path / "merged.safetensors", backbone, tmp_path / "merged.hf")
    cpu = torch.device("cpu")
    expected, _ = read_model(tmp_path / "merged.hf", cpu)

    model, _ = read_model(backbone, cpu, written_dtype(backbone, dtype))
    before = {n: p.clone() for n, p in model.state_dict().items()}
    write_merge(backbone, r_a, r_lang, selected, ParameterSink(model, "variant"), **merge)
    merged = model.state_dict()
    assert merged.keys() == expected.state_dict().keys()
    for name, tensor in expected.state_dict().items():
        assert torch.equal(merged[name], tensor), name
        assert not torch.equal(merged[name], before[name]), name  # every tensor moved
    if tied:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()


def test_the_written_dtype_is_the_merges_else_the_backbones(tmp_path):
    backbone, *_ = _backbone(tmp_path)
    assert written_dtype(backbone, None) == torch.bfloat16
    assert written_dtype(backbone, "float32") == torch.float32


def test_a_merge_that_does_not_fit_the_model_is_refused_naming_the_tensor(tmp_path):
    backbone, r_a, r_lang, selected = _backbone(tmp_path)
    model, _ = read_model(backbone, torch.device("cpu"))
    before = {n: p.clone() for n, p in model.state_dict().items()}
    sink = ParameterSink(model, "maec_math.k2-0.6 (merged on load)")
    layout = {name: (p.shape, p.dtype) for name, p in model.state_dict().items()}

    unknown = {**layout, "model.extra.weight": ((2, 2), torch.float32)}
    with pytest.raises(CheckpointError, match=r"k2-0.6 .*tensor model\.extra\.weight is not"):
        sink.writer(unknown)
    name = "model.norm.weight"
    reshaped = {**layout, name: ((3,), torch.float32)}
    with pytest.raises(CheckpointError, match=rf"{name} is \[3\] in the merge"):
        sink.writer(reshaped)
    missing = {n: v for n, v in layout.items() if n != "lm_head.weight"}
    with pytest.raises(CheckpointError, match="lm_head.weight is not in the merge"):
        sink.writer(missing)
    assert all(torch.equal(p, before[n]) for n, p in model.state_dict().items())
