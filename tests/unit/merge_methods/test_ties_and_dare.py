"""TIES and DARE: hand-computed values on tiny tensors, Eq. 5 and task arithmetic as special
cases, DARE's rescaling and seeded draw, and cross-checks against mergekit where installed."""

import pytest
import torch
from helpers.checkpoints import LLAMA_SHAPES, load_checkpoint, random_tensors, write_checkpoint
from helpers.mergekit import mergekit_merge, needs_mergekit
from helpers.tiny import llama

from maec.combination.merge import write_merge
from maec.combination.terms import Term, eq5_terms, task_vector_terms
from maec.deltas.language import write_r_lang
from maec.io.reader import open_checkpoint
from maec.merge_methods.dare import dare_into, dare_kept, write_dare_merge
from maec.merge_methods.ties import ties_into, write_ties_merge

V1 = [1.0, -2.0, 0.5, 0.0]
V2 = [3.0, 1.0, -0.25, 0.0]
V3 = [-1.0, -1.0, 0.0, 0.0]


def _vectors():
    return [torch.tensor(v) for v in (V1, V2, V3)]


def test_ties_elects_the_sign_of_the_sum_and_averages_the_agreeing_entries():
    # sums 3, -2, 0.25, 0 -> signs +, -, +, 0; entry 0: mean(1, 3); entry 1: mean(-2, -1);
    # entry 2: only 0.5 agrees (V3's zero is not a vote); entry 3: nothing.
    acc = torch.empty(4)
    ties_into(torch.full((4,), 10.0), _vectors(), [None] * 3, 0.5, acc)
    assert acc.tolist() == [10 + 0.5 * 2, 10 - 0.5 * 1.5, 10 + 0.5 * 0.5, 10]


def test_ties_trim_and_exact_cancellation():
    # each vector keeps its two largest magnitudes: V1 [1, -2, 0, 0], V2 [3, 1, 0, 0],
    # V3 [-1, -1, 0, 0]: entry 2 is trimmed away in V1 and V2.
    kept = [torch.tensor([True, True, False, False])] * 3
    acc = torch.empty(4)
    ties_into(torch.zeros(4), _vectors(), kept, 1.0, acc)
    assert acc.tolist() == [2.0, -1.5, 0.0, 0.0]
    # a sum of exactly 0 elects no sign (the paper's sgn): nothing is merged there
    ties_into(torch.zeros(1), [torch.tensor([1.0]), torch.tensor([-1.0])], [None] * 2, 1.0, acc[:1])
    assert acc[0] == 0


def _files(tmp_path):
    names = {"a": (4,), "b": (2,)}
    base = write_checkpoint(
        tmp_path / "base.safetensors", {n: torch.zeros(s) for n, s in names.items()}
    )
    one = {"a": torch.tensor(V1), "b": torch.tensor([0.1, -4.0])}
    two = {"a": torch.tensor(V2), "b": torch.tensor([0.2, 2.5])}
    paths = [
        write_checkpoint(tmp_path / f"m{i}.safetensors", tensors)
        for i, tensors in enumerate((one, two))
    ]
    return base, paths


@pytest.mark.parametrize(
    ("scope", "a", "b"),
    [
        # per tensor, k = 2 of a's 4 and 1 of b's 2: m0 a [1,-2,0,0] b [0,-4];
        # m1 a [3,1,0,0] b [0,2.5]; b sums to -1: only m0's -4 agrees
        ("tensor", [2.0, -2.0, 0.0, 0.0], [0.0, -4.0]),
        # global, k = 3 of 6: m0 keeps -4, -2, 1; m1 keeps 3 (a), 2.5 (b), 1
        ("global", [2.0, -2.0, 0.0, 0.0], [0.0, -4.0]),
    ],
)
def test_ties_merge_of_task_vectors_by_hand(tmp_path, scope, a, b):
    base, models = _files(tmp_path)
    out = tmp_path / "ties.safetensors"
    terms = task_vector_terms(models, ["a", "b"], scale=1.0)
    write_ties_merge(base, terms, out, density=0.5, scale=1.0, scope=scope, chunk_bytes=8)
    merged = load_checkpoint(out)
    assert merged["a"].tolist() == a and merged["b"].tolist() == b
    assert open_checkpoint(out).metadata["kind"] == "ties"


def test_ties_global_trim_counts_every_tensor(tmp_path):
    # global k = 1 of 6 keeps only m0's -4 (b) and m1's 3 (a[0]): the trim is one ranking
    base, models = _files(tmp_path)
    out = tmp_path / "ties.safetensors"
    terms = task_vector_terms(models, ["a", "b"], scale=1.0)
    write_ties_merge(base, terms, out, density=1 / 6, scale=1.0, scope="global")
    merged = load_checkpoint(out)
    assert merged["a"].tolist() == [3.0, 0.0, 0.0, 0.0] and merged["b"].tolist() == [0.0, -4.0]


def _eq5_inputs(tmp_path):
    """A backbone, R(A), R(es), R(zh) whose entries each belong to one delta only."""
    base = random_tensors(LLAMA_SHAPES, 0)
    gen = torch.Generator().manual_seed(1)
    owner = {n: torch.randint(0, 3, s, generator=gen) for n, s in LLAMA_SHAPES.items()}
    deltas = {}
    for i, label in enumerate(("ra", "es", "zh")):
        tensors = random_tensors(LLAMA_SHAPES, 10 + i, scale=0.01)
        tensors = {n: t * (owner[n] == i) for n, t in tensors.items()}
        deltas[label] = write_checkpoint(tmp_path / f"{label}.safetensors", tensors)
    return write_checkpoint(tmp_path / "base.safetensors", base), deltas


def test_ties_with_disjoint_terms_and_no_trim_is_eq5(tmp_path):
    """Where no two terms of Eq. 5 share an entry, nothing is elected or averaged."""
    base, deltas = _eq5_inputs(tmp_path)
    names = list(open_checkpoint(base).names)
    selected = {n for n in names if "mlp" in n}
    mu = {"es": 1.5, "zh": 1.0}
    languages = {"es": deltas["es"], "zh": deltas["zh"]}
    terms = eq5_terms(deltas["ra"], languages, mu, selected, names, gamma=0.2, eta=0.5)
    write_ties_merge(base, terms, tmp_path / "ties.safetensors", density=1.0, scale=1.0)
    write_r_lang(languages, mu, tmp_path / "r_lang.safetensors")
    write_merge(base, deltas["ra"], tmp_path / "r_lang.safetensors", selected,
                tmp_path / "eq5.safetensors", gamma=0.2, eta=0.5)  # fmt: skip
    ties, eq5 = (
        load_checkpoint(tmp_path / "ties.safetensors"),
        load_checkpoint(tmp_path / "eq5.safetensors"),
    )
    for name in names:
        torch.testing.assert_close(ties[name], eq5[name], rtol=0, atol=1e-6)


def test_dare_rescales_the_survivors_and_drops_the_rest():
    kept = [torch.tensor([True, False, True, True])]
    acc = torch.empty(4)
    dare_into(torch.ones(4), [torch.tensor([0.2, 5.0, -0.4, 0.0])], kept, 0.75, acc)
    assert acc.tolist() == pytest.approx([1 + 0.8, 1.0, 1 - 1.6, 1.0])


def test_dare_draw_is_seeded_per_term_and_tensor_and_keeps_about_one_minus_p():
    n, p = 200_000, 0.9
    kept = dare_kept("R(A)", "model.layers.0.mlp.up_proj.weight", 0, 0, n, p)
    # binomial(n, 0.1): 6 standard deviations is ±0.0040
    assert abs(kept.float().mean().item() - (1 - p)) < 0.004
    # the same draw from any chunking (the key is a function of the flat index)
    pieces = [
        dare_kept("R(A)", "model.layers.0.mlp.up_proj.weight", 0, s, 50_000, p)
        for s in range(0, n, 50_000)
    ]
    assert torch.equal(torch.cat(pieces), kept)
    for other in [("R(es)", "model.layers.0.mlp.up_proj.weight", 0),
                  ("R(A)", "model.layers.1.mlp.up_proj.weight", 0),
                  ("R(A)", "model.layers.0.mlp.up_proj.weight", 1)]:  # fmt: skip
        assert not torch.equal(dare_kept(*other, 0, n, p), kept)
    assert dare_kept("R(A)", "x", 0, 0, 1000, 0.0).all()


def test_dare_merge_reruns_identically_and_p0_is_task_arithmetic(tmp_path):
    base, models = _files(tmp_path)
    terms = task_vector_terms(models, ["a", "b"], scale=0.5)
    write_dare_merge(base, terms, tmp_path / "p0.safetensors", drop_rate=0.0)
    merged = load_checkpoint(tmp_path / "p0.safetensors")
    assert merged["a"].tolist() == [0.5 * (x + y) for x, y in zip(V1, V2)]
    for run, chunk in (("one", 1 << 20), ("two", 8)):
        write_dare_merge(
            base, terms, tmp_path / f"{run}.safetensors", drop_rate=0.5, seed=3, chunk_bytes=chunk
        )
    one, two = (
        load_checkpoint(tmp_path / "one.safetensors"),
        load_checkpoint(tmp_path / "two.safetensors"),
    )
    assert all(torch.equal(one[n], two[n]) for n in one)
    # each entry is 0.5 * (m0 kept * 2 * m0 + m1 kept * 2 * m1): a sum of a subset of {m0, m1}
    for i, value in enumerate(one["a"].tolist()):
        assert value in {0.0, V1[i], V2[i], V1[i] + V2[i]}


def test_terms_refuse_a_missing_weight(tmp_path):
    base, models = _files(tmp_path)
    term = Term(open_checkpoint(models[0]), "m", {"a": 1.0}, is_model=True)
    with pytest.raises(ValueError, match="task vector m: no weight for tensor b"):
        write_ties_merge(base, [term], tmp_path / "x.safetensors", density=1.0, scale=1.0)
    assert not (tmp_path / "x.safetensors").exists()


# ------------------------------------------------------------------------- mergekit


def _tiny_models(tmp_path):
    base = llama(64)
    base.save_pretrained(tmp_path / "base")
    paths = []
    for i in range(2):
        model = llama(64)
        torch.manual_seed(100 + i)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.01)
        model.save_pretrained(tmp_path / f"m{i}")
        paths.append(tmp_path / f"m{i}")
    return tmp_path / "base", paths


@needs_mergekit
def test_ties_matches_mergekit(tmp_path):
    """mergekit's `ties` trims per tensor (k = int(d n); every tiny tensor has an even size,
    so d = 0.5 gives the same k as ours), elects by the sum and divides by the weights of
    the agreeing vectors: with weight 1 our disjoint mean. λ is mergekit's `lambda`."""
    base, models = _tiny_models(tmp_path)
    names = list(open_checkpoint(base).names)
    terms = task_vector_terms(models, names, scale=1.0)
    write_ties_merge(
        base, terms, tmp_path / "ours.safetensors", density=0.5, scale=0.7, scope="tensor"
    )
    ours = load_checkpoint(tmp_path / "ours.safetensors")
    reference = mergekit_merge(
        tmp_path, "ties", base, models, "{weight: 1.0, density: 0.5}", "parameters: {lambda: 0.7}\n"
    )
    assert reference.keys() == ours.keys()
    for name, tensor in reference.items():
        torch.testing.assert_close(ours[name], tensor, rtol=1e-6, atol=1e-7)


@needs_mergekit
def test_dare_matches_mergekit(tmp_path):
    """The draws differ (mergekit: torch.bernoulli, unseeded), so the randomness is taken out
    in two ways: at p = 0 both are task arithmetic, entry for entry; at p = 0.5 both keep
    about half of each vector and scale the survivors by about 2 (ours 1/(1 − p) exactly,
    mergekit's the tensor's L1 norm over the survivors')."""
    base, models = _tiny_models(tmp_path)
    names = list(open_checkpoint(base).names)
    theta_o = load_checkpoint(base)
    write_dare_merge(
        base,
        task_vector_terms(models, names, scale=0.3),
        tmp_path / "p0.safetensors",
        drop_rate=0.0,
    )
    ours = load_checkpoint(tmp_path / "p0.safetensors")
    reference = mergekit_merge(tmp_path, "dare_linear", base, models, "{weight: 0.3, density: 1.0}")
    for name, tensor in reference.items():
        torch.testing.assert_close(ours[name], tensor, rtol=1e-6, atol=1e-7)

    name = "model.embed_tokens.weight"  # 64 x 32 entries
    delta = load_checkpoint(models[0])[name] - theta_o[name]
    write_dare_merge(
        base,
        task_vector_terms(models[:1], names, scale=1.0),
        tmp_path / "p5.safetensors",
        drop_rate=0.5,
    )
    half = mergekit_merge(tmp_path, "dare_linear", base, models[:1], "{weight: 1.0, density: 0.5}")
    for merged in (load_checkpoint(tmp_path / "p5.safetensors")[name], half[name]):
        moved = merged - theta_o[name]
        survivors = moved != 0
        assert abs(survivors.float().mean().item() - 0.5) < 0.07  # 2048 entries: 6 sd
        ratio = (moved[survivors] / delta[survivors]).mean().item()
        assert abs(ratio - 2.0) < 0.15
