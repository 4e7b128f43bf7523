"""Every output path: each template formats and parses back, the helpers write the paths the
rules have always written, and the inverses read score files wherever they lie."""

import re

import pytest

from maec.workflow import paths
from maec.workflow.paths import FIELDS, TEMPLATES, PathTemplate, parse_path

# Values for each field, the awkward ones included (empty seed part, joint abilities, runs
# of several corpora, variants with dots and commas, codes with digits).
SAMPLES = {
    "seed_dir": ["", "seed-2/", "seed-10/"],
    "corpus": ["general_en", "math_es419", "code2_zh"],
    "run": ["general_en", "math_en+general_en", "general_es+general_en+math_te"],
    "ability": ["math", "science2"],
    "abilities": ["math", "math+science"],
    "lang": ["en", "es419", "zhhant"],
    "model": ["backbone", "maec_math.gamma-0.5,eta-1.0,k2-0.8,mu-1.2", "joint_math+science"],
    "bench": ["mgsm", "mmlu"],
    "deltas": ["deltas", "deltas-full"],
    "delta_kind": ["ability", "ability-plain", "ability-revert"],
    "variant": ["k2-0.6", "types-mlp", "gamma-0.5,eta-1.0,k2-0.8,mu-1.2", "combine-ties"],
    "split": ["dev", "val", "test"],
    "mu": ["1.0", "0.25"],
    "tuning": ["full", "lora"],
    "merge_method": ["ties", "dare"],
    "name": ["mistral_7b", "results"],
    "suffix": [".safetensors", ".hf", ".rounding.json", ".tsv"],
    "ext": ["md", "csv", "png", "pdf"],
}


def test_every_field_has_samples_that_fit_its_pattern():
    assert set(SAMPLES) == set(FIELDS)
    for field, values in SAMPLES.items():
        for value in values:
            assert re.fullmatch(FIELDS[field], value), (field, value)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_each_template_formats_and_parses_back(name):
    template = TEMPLATES[name]
    for i in range(3):  # a few combinations of the samples, each value at least once
        values = {f: SAMPLES[f][i % len(SAMPLES[f])] for f in template.fields}
        path = template.format(**values)
        assert template.parse(path) == values
        assert template.format(**template.parse(path)) == path
        # and no other template reads the path: a path says what it is
        assert parse_path(path) == (name, values)


def test_a_wildcard_stays_a_wildcard():
    assert (
        paths.mask_file("{corpus}", "{seed_dir}") == "results/{seed_dir}masks/{corpus}.safetensors"
    )
    assert paths.eval_scores("{model}", "mgsm", "es", seed_dir="{seed_dir}") == (
        "results/{seed_dir}eval/{model}/mgsm_es.json"
    )


def test_the_helpers_write_the_paths_the_workflow_has_always_written():
    expected = {
        paths.token_blocks("general_en"): "results/tokens/general_en.npy",
        paths.importance_dir("math_en", "seed-2/"): "results/seed-2/importance/math_en",
        paths.union_mask(
            "math_en+general_en"
        ): "results/masks/union/math_en+general_en.safetensors",
        paths.cpt_dir("general_en"): "results/cpt/general_en",
        paths.cpt_dir("general_en", "deltas-full"): "results/cpt-full/general_en",
        paths.baseline_dir("lora", "math_en"): "results/baselines/lora/math_en",
        paths.adaptation_dir(
            "full", "math_en", "seed-1/"
        ): "results/seed-1/baselines/full-da/math_en",
        paths.ability_delta("math"): "results/deltas/ability/math.safetensors",
        paths.ability_delta("math", "deltas-full", "ability-plain"): (
            "results/deltas-full/ability-plain/math.safetensors"
        ),
        paths.language_delta("es"): "results/deltas/language/es.safetensors",
        paths.r_lang(): "results/deltas/r_lang.safetensors",
        paths.r_lang(mu="1.2"): "results/deltas/r_lang-mu-1.2.safetensors",
        paths.merged_weights("math"): "results/merged/math.safetensors",
        paths.merged_model_dir("math", "k2-0.6"): "results/merged/math/k2-0.6.hf",
        paths.merged_weights("math+science"): "results/merged/math+science.safetensors",
        paths.merge_rounding("math"): "results/merged/math.rounding.json",
        paths.similarity_table("math"): "results/similarity/math.tsv",
        paths.similarity_table("math", "k2-0.6"): "results/merged/math/k2-0.6.tsv",
        paths.task_vector_path("full", "math", ".hf"): "results/baselines/tv/full_math.hf",
        paths.task_vector_path("lora", "math", ".safetensors", "", "ties"): (
            "results/baselines/tv-ties/lora_math.safetensors"
        ),
        paths.layer_swap_path("math", ".hf"): "results/baselines/layer-swap/math.hf",
        paths.eval_scores("maec_math", "mgsm", "es", dev=True): (
            "results/eval-dev/maec_math/mgsm_es.json"
        ),
        paths.ood_scores("backbone"): "results/eval-ood/backbone/scores.json",
        paths.table("table2"): "results/tables/table2.md",
        paths.figure("k2_math", "pdf"): "results/figures/k2_math.pdf",
        paths.resume_dir("results/cpt/general_en"): "results/.resume/cpt/general_en",
    }
    for written, path in expected.items():
        assert written == path


@pytest.mark.parametrize("first", [0, 7])
def test_seed_parts_round_trip(first):
    assert paths.seed_dir(first, first) == ""
    for seed in (first, first + 1, first + 12):
        assert paths.seed_of(paths.seed_dir(seed, first), first) == seed
    with pytest.raises(ValueError, match="not a seed's path part"):
        paths.seed_of("seed-x/", first)


@pytest.mark.parametrize("root", ["", "/scratch/run1/", "elsewhere/"])
def test_score_and_records_files_say_their_model_wherever_they_lie(root):
    score = root + paths.eval_scores("maec_math.k2-0.6", "mgsm", "es419", seed_dir="seed-2/")
    assert paths.eval_file(score) == ("maec_math.k2-0.6", "mgsm", "es419")
    records = paths.records_beside(score)
    assert records == root + paths.eval_records(
        "maec_math.k2-0.6", "mgsm", "es419", False, "seed-2/"
    )
    assert paths.eval_file(records).model == "maec_math.k2-0.6"
    assert paths.records_of([score, score]) == [records, records]


def test_a_path_that_is_no_output_is_named():
    with pytest.raises(ValueError, match="results/eval/x/notes.txt: not a score or records"):
        paths.eval_file("results/eval/x/notes.txt")
    with pytest.raises(ValueError, match="results/mystery: not an output path"):
        parse_path("results/mystery")
    with pytest.raises(ValueError, match=r"fields are \('corpus',\)"):
        TEMPLATES["token_blocks"].format(run="x")


def test_the_out_of_domain_model_is_read_back():
    assert paths.ood_model(paths.ood_scores("fcpt_a_math")) == "fcpt_a_math"


def test_a_template_reads_only_what_fits_its_fields():
    template = PathTemplate("results/{seed_dir}eval/{model}/{bench}_{lang}.json")
    with pytest.raises(ValueError, match="not a path of the form"):
        template.parse("results/eval/maec_math/mgsm_EN.json")  # not a language code
