"""Several abilities in one model: by hand, one ability is Eq. 5, and abilities whose T do not
overlap merge as two sequential merges."""

import pytest
import torch
from helpers.checkpoints import LLAMA_SHAPES, load_checkpoint, random_tensors, write_checkpoint

from maec.combination.merge import write_merge
from maec.combination.multi_ability import AbilityPart, write_multi_ability_merge
from maec.io.format import CheckpointError


def _tensors(values):
    return {name: torch.tensor(v) for name, v in zip("abc", values)}


def test_joint_merge_by_hand(tmp_path):
    base = write_checkpoint(tmp_path / "base.safetensors", _tensors([[1.0, 1.0]] * 3))
    math = write_checkpoint(tmp_path / "math.safetensors", _tensors([[2.0, 4.0]] * 3))
    science = write_checkpoint(tmp_path / "science.safetensors", _tensors([[8.0, -8.0]] * 3))
    r_lang = write_checkpoint(tmp_path / "r_lang.safetensors", _tensors([[0.5, -1.0]] * 3))
    out = tmp_path / "joint.safetensors"
    parts = {
        "math": AbilityPart(math, frozenset("ab"), 0.5),
        "science": AbilityPart(science, frozenset("b"), 0.25),
    }
    write_multi_ability_merge(base, parts, r_lang, out, eta=2.0)
    merged = load_checkpoint(out)
    # a in T_math: 1 + 0.5 * math + 2 * R_Lang; b in both; c in neither: 1 + R_Lang
    assert merged["a"].tolist() == [1 + 1 + 1, 1 + 2 - 2]
    assert merged["b"].tolist() == [1 + 1 + 2 + 1, 1 + 2 - 2 - 2]
    assert merged["c"].tolist() == [1.5, 0.0]


def _world(tmp_path, dtype=torch.bfloat16):
    paths = {
        "base": write_checkpoint(
            tmp_path / "base.safetensors", random_tensors(LLAMA_SHAPES, 0, dtype=dtype)
        )
    }
    for seed, name in enumerate(("math", "science", "r_lang"), start=1):
        paths[name] = write_checkpoint(
            tmp_path / f"{name}.safetensors", random_tensors(LLAMA_SHAPES, seed, scale=0.1)
        )
    return paths


def test_one_ability_is_eq5_bit_for_bit(tmp_path):
    paths = _world(tmp_path)
    selected = {n for n in LLAMA_SHAPES if "mlp" in n}
    write_merge(
        paths["base"],
        paths["math"],
        paths["r_lang"],
        selected,
        tmp_path / "eq5.safetensors",
        gamma=0.2,
        eta=0.7,
    )
    part = AbilityPart(paths["math"], frozenset(selected), 0.2)
    write_multi_ability_merge(
        paths["base"], {"math": part}, paths["r_lang"], tmp_path / "one.safetensors", eta=0.7
    )
    eq5, one = (
        load_checkpoint(tmp_path / "eq5.safetensors"),
        load_checkpoint(tmp_path / "one.safetensors"),
    )
    assert all(torch.equal(eq5[n], one[n]) for n in LLAMA_SHAPES)


def test_disjoint_abilities_equal_two_sequential_merges(tmp_path):
    paths = _world(tmp_path, dtype=torch.float32)
    t_math = {n for n in LLAMA_SHAPES if "mlp" in n}
    t_science = {n for n in LLAMA_SHAPES if "self_attn" in n}
    first, second = tmp_path / "first.safetensors", tmp_path / "second.safetensors"
    write_merge(paths["base"], paths["math"], paths["r_lang"], t_math, first, gamma=0.2, eta=1.0)
    write_merge(first, paths["science"], None, t_science, second, gamma=0.3, eta=1.0)
    parts = {
        "math": AbilityPart(paths["math"], frozenset(t_math), 0.2),
        "science": AbilityPart(paths["science"], frozenset(t_science), 0.3),
    }
    write_multi_ability_merge(
        paths["base"], parts, paths["r_lang"], tmp_path / "joint.safetensors", eta=1.0
    )
    joint, sequential = load_checkpoint(tmp_path / "joint.safetensors"), load_checkpoint(second)
    for name in LLAMA_SHAPES:  # the same terms, summed in another order
        torch.testing.assert_close(joint[name], sequential[name], rtol=0, atol=1e-6)


def test_joint_merge_refuses_a_selected_tensor_outside_the_backbone(tmp_path):
    paths = _world(tmp_path)
    parts = {"math": AbilityPart(paths["math"], frozenset({"nope"}), 0.2)}
    with pytest.raises(CheckpointError, match="selected tensor nope is not in the backbone"):
        write_multi_ability_merge(paths["base"], parts, None, tmp_path / "x.safetensors", eta=1.0)
    assert not (tmp_path / "x.safetensors").exists()
