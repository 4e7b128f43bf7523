"""Property: the streamed results (masks, deltas, R_Lang, similarity, merge) equal a plain
in-memory torch computation, on random small checkpoints, sharded and single-file, with a
tiny chunk size that forces row chunking."""

import csv
import functools
import math
import tempfile
from pathlib import Path

import pytest
import torch
from helpers.checkpoints import load_checkpoint, write_checkpoint
from helpers.tie_keys import reference_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maec.combination.merge import write_merge
from maec.combination.similarity import selected_count, write_similarity_table
from maec.deltas.ability import write_ability_weights
from maec.deltas.language import write_r_lang
from maec.keyneurons.masks import build_key_neuron_mask, kept_count, read_mask

# parameter names of a LLaMA (the similarity table types every tensor by its module)
NAMES = [
    f"model.layers.{layer}.{module}.{part}"
    for layer in range(3)
    for module in ("self_attn.q_proj", "self_attn.v_proj", "mlp.up_proj", "input_layernorm")
    for part in ("weight", "bias")
] + ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]
shapes = st.dictionaries(
    st.sampled_from(NAMES),
    st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
    min_size=1,
    max_size=4,
)


@st.composite
def cases(draw):
    spec = draw(shapes)
    seed = draw(st.integers(0, 2**16))
    gen = torch.Generator().manual_seed(seed)

    def tensors(scale=1.0, quantize=False):
        out = {}
        for name, shape in spec.items():
            t = torch.randn(shape, generator=gen) * scale
            out[name] = t.round() if quantize else t  # small integers force many ties
        return out

    return {
        "shapes": spec,
        "base": tensors(),
        "moves": [
            tensors(scale=draw(st.sampled_from([0.5, 2.0])), quantize=draw(st.booleans()))
            for _ in range(3)
        ],
        "dtype": draw(st.sampled_from([torch.float32, torch.bfloat16])),
        "shards": draw(st.sampled_from([1, 2, 3])),
        "chunk_bytes": draw(st.sampled_from([1, 8, 24, 1 << 20])),
        "k1": draw(st.sampled_from([0.05, 0.3, 0.5, 1.0])),
        "k2": draw(st.sampled_from([0.0, 0.4, 1.0])),
        "scope": draw(st.sampled_from(["global", "tensor"])),
        "alpha": draw(st.sampled_from([0.8, 1.3])),
        "beta": draw(st.sampled_from([0.0, 0.2])),
        "gamma": 0.2,
        "eta": 1.5,
    }


def reference_mask(importances: dict, k1: float, scope: str, tie_seed: int = 0) -> dict:
    """Top-k by a full sort: importance descending, ties by the documented key descending."""
    names = sorted(importances)
    groups = [names] if scope == "global" else [[n] for n in names]
    out = {}
    for group in groups:
        flat = torch.cat([importances[n].reshape(-1) for n in group])
        keys = torch.tensor(
            [reference_key(n, tie_seed, i) for n in group for i in range(importances[n].numel())],
            dtype=torch.int64,
        )
        by_key = torch.sort(keys, descending=True, stable=True).indices
        order = by_key[torch.sort(flat[by_key], descending=True, stable=True).indices]
        k = kept_count(k1, flat.numel())
        keep = torch.zeros(flat.numel(), dtype=torch.bool)
        keep[order[:k]] = True
        offset = 0
        for n in group:
            out[n] = keep[offset : offset + importances[n].numel()].reshape(importances[n].shape)
            offset += importances[n].numel()
    return out


def _write(root: Path, tag: str, tensors: dict, dtype, shards: int) -> Path:
    tensors = {k: v.to(dtype) for k, v in tensors.items()}
    return write_checkpoint(
        root / (tag if shards > 1 else f"{tag}.safetensors"), tensors, shards=shards
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_streamed_equals_in_memory(case):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dtype, shards, chunk = case["dtype"], case["shards"], case["chunk_bytes"]
        base_t = {k: v.to(dtype) for k, v in case["base"].items()}
        models = [{k: (case["base"][k] + m[k]).to(dtype) for k in m} for m in case["moves"]]
        base = _write(root, "base", base_t, dtype, shards)
        ability, general, language = (
            _write(root, t, m, dtype, shards)
            for t, m in zip(("ability", "general", "language"), models)
        )

        # Key neurons (Eq. 1 + exact top-k1); a k1 that keeps no entry is refused
        lr = 0.5
        importances = {n: (models[0][n].float() - base_t[n].float()).abs() / lr for n in base_t}
        expected = reference_mask(importances, case["k1"], case["scope"])
        build = functools.partial(
            build_key_neuron_mask,
            base,
            ability,
            root / "mask.safetensors",
            k1=case["k1"],
            lr=lr,
            scope=case["scope"],
            chunk_bytes=chunk,
        )
        if not any(m.any() for m in expected.values()):
            with pytest.raises(ValueError, match="keeps no entry"):
                build()
        else:
            build()
            got = read_mask(root / "mask.safetensors")
            assert got.keys() == expected.keys()
            for n in expected:
                assert torch.equal(got[n], expected[n]), n

        # Eq. 2 and Eq. 3
        a, b = case["alpha"], case["beta"]
        f = {n: base_t[n].float() for n in base_t}
        write_ability_weights(
            base, ability, general, root / "ra.safetensors", alpha=a, beta=b, chunk_bytes=chunk
        )
        write_ability_weights(
            base,
            language,
            general,
            root / "rl_es",
            alpha=a,
            beta=b,
            chunk_bytes=chunk,
            max_shard_bytes=40,
        )
        r_a = {n: a * (models[0][n].float() - f[n]) - b * (models[1][n].float() - f[n]) for n in f}
        r_es = {n: a * (models[2][n].float() - f[n]) - b * (models[1][n].float() - f[n]) for n in f}
        streamed_ra = load_checkpoint(root / "ra.safetensors")
        for n in f:
            torch.testing.assert_close(streamed_ra[n], r_a[n], rtol=1e-6, atol=1e-6)
        write_r_lang(
            {"es": root / "rl_es", "bn": root / "ra.safetensors"},
            {"es": 1.5},
            root / "rlang.safetensors",
            chunk_bytes=chunk,
        )
        r_lang = {n: 1.5 * r_es[n] + r_a[n] for n in f}
        streamed_rl = load_checkpoint(root / "rlang.safetensors")
        for n in f:
            torch.testing.assert_close(streamed_rl[n], r_lang[n], rtol=1e-5, atol=1e-5)

        # Eq. 4
        write_similarity_table(
            root / "ra.safetensors",
            root / "rlang.safetensors",
            root / "s.tsv",
            k2=case["k2"],
            chunk_bytes=chunk,
        )
        with open(root / "s.tsv", newline="") as handle:
            rows = {r["tensor"]: r for r in csv.DictReader(handle, delimiter="\t")}
        for n in f:
            x, y = streamed_ra[n].double().reshape(-1), streamed_rl[n].double().reshape(-1)
            cos = 0.0 if not (x.norm() and y.norm()) else float(x @ y / (x.norm() * y.norm()))
            assert math.isclose(float(rows[n]["cosine"]), cos, rel_tol=1e-9, abs_tol=1e-12)
        selected = {n for n, r in rows.items() if r["selected"] == "1"}
        assert len(selected) == selected_count(case["k2"], len(f))
        assert all(
            float(rows[s]["cosine"]) <= float(rows[o]["cosine"])
            for s in selected
            for o in set(f) - selected
        )

        # Eq. 5, output in the backbone's dtype
        write_merge(
            base,
            root / "ra.safetensors",
            root / "rlang.safetensors",
            selected,
            root / "merged",
            gamma=case["gamma"],
            eta=case["eta"],
            max_shard_bytes=64,
            chunk_bytes=chunk,
        )
        merged = load_checkpoint(root / "merged")
        for n in f:
            if n in selected:
                expected_n = f[n] + case["gamma"] * streamed_ra[n] + case["eta"] * streamed_rl[n]
            else:
                expected_n = f[n] + streamed_rl[n]
            assert merged[n].dtype == dtype
            tol = 1e-6 if dtype == torch.float32 else 2**-7
            torch.testing.assert_close(
                merged[n].float(), expected_n.to(dtype).float(), rtol=tol, atol=tol
            )
