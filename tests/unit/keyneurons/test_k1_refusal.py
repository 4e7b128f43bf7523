"""A k1 that keeps no entry of the mask is refused at the mask, naming the smallest k1 that
keeps one, and nothing is written."""

import pytest
import torch
from helpers.checkpoints import write_checkpoint

from maec.keyneurons.masks import build_key_neuron_mask

pytestmark = pytest.mark.reliability

torch.set_num_threads(1)


@pytest.mark.parametrize("scope", ["global", "tensor"])
def test_a_k1_that_keeps_no_entry_is_refused_at_the_mask(tmp_path, scope):
    base = write_checkpoint(tmp_path / "base.safetensors", {"a": torch.zeros(10, 10)})
    tuned = write_checkpoint(tmp_path / "tuned.safetensors", {"a": torch.ones(10, 10)})
    out = tmp_path / "masks" / "general_en.safetensors"
    with pytest.raises(
        ValueError,
        match=r"base.safetensors: k1=0.001 keeps no entry .* smallest k1 that keeps one is 0.005",
    ):
        build_key_neuron_mask(base, tuned, out, k1=0.001, lr=1.0, scope=scope)
    assert not out.parent.exists()
