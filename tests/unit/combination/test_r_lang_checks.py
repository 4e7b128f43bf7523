"""The merge checks its R_Lang: one made for other languages or another μ than the config's,
or a delta that is no R_Lang, is refused naming the file, and nothing is written."""

import pytest
import torch
from helpers.checkpoints import write_checkpoint

from maec.combination.merge import write_merge
from maec.deltas.language import write_r_lang
from maec.io.format import CheckpointError

pytestmark = pytest.mark.reliability

torch.set_num_threads(1)


def _r_lang(tmp_path, mu):
    deltas = {
        lang: write_checkpoint(tmp_path / f"{lang}.safetensors", {"t": torch.full((2,), i + 1.0)})
        for i, lang in enumerate(["es", "zh"])
    }
    write_r_lang(deltas, mu, tmp_path / "r_lang.safetensors")
    return tmp_path / "r_lang.safetensors"


@pytest.mark.parametrize(
    "wanted",
    [
        {"es": 1.5, "zh": 1.0, "bn": 1.0},  # a language added to the config
        {"es": 1.0, "zh": 1.0},  # μ changed
        {"es": 1.5},  # a language removed
    ],
)
def test_merge_refuses_an_r_lang_of_other_languages_or_mu(tmp_path, wanted):
    r_lang = _r_lang(tmp_path, {"es": 1.5})
    base = write_checkpoint(tmp_path / "base.safetensors", {"t": torch.zeros(2)})
    r_a = write_checkpoint(tmp_path / "ra.safetensors", {"t": torch.ones(2)})
    out = tmp_path / "out" / "merged.safetensors"
    made = r"R_Lang was made for the languages es, zh with μ \{'es': 1.5, 'zh': 1.0\}"
    with pytest.raises(CheckpointError, match=rf"r_lang.safetensors: {made}, but the config"):
        write_merge(base, r_a, r_lang, {"t"}, out, gamma=0.5, eta=1.0, r_lang_mu=wanted)
    assert not out.parent.exists()
    write_merge(base, r_a, r_lang, {"t"}, out, gamma=0.5, eta=1.0, r_lang_mu={"zh": 1, "es": 1.5})
    assert out.exists()


def test_merge_refuses_a_delta_that_is_no_r_lang(tmp_path):
    base = write_checkpoint(tmp_path / "base.safetensors", {"t": torch.zeros(2)})
    r_a = write_checkpoint(tmp_path / "ra.safetensors", {"t": torch.ones(2)})
    with pytest.raises(CheckpointError, match=r"ra.safetensors: not an R_Lang"):
        write_merge(base, r_a, r_a, {"t"}, tmp_path / "m.safetensors", gamma=1, eta=1, r_lang_mu={})
