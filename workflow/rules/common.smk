import json
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


# The package lives in src/; putting it on PYTHONPATH makes it importable in every job
# (local, Slurm, or a conda environment from envs/) even without `pip install -e .`.
# Jobs inherit this process's environment; nothing is asked of the user. The workflow's
# logic is the package's too (maec.workflow: paths, models, variants, studies, ...).
# src/ is found from this file, not from the main Snakefile: used as a module of another
# workflow, workflow.basedir is that workflow's (a module read from a remote repository
# needs the package installed).
SRC = str(Path(str(workflow.current_basedir)).parents[1] / "src")
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.getenv("PYTHONPATH")]))
)
sys.path.insert(0, SRC)

from maec.workflow import (
    benchmarks,
    cards,
    corpora,
    inputs,
    intermediates,
    jobs,
    model_names,
    models,
    naming,
    paths,
    scores,
    studies,
    targets,
    variants,
)
from maec.workflow.backbone_fit import check_fit_at_plan
from maec.workflow.config_checks import check_config, translation_codes

# The schema is the one source of defaults: validate() fills in every default it names;
# maec.workflow.config_checks then checks what a schema cannot say, and
# maec.workflow.backbone_fit what must fit a backbone already on disk.
validate(config, schema="../schemas/config.schema.yaml")
check_config(config)
check_fit_at_plan(config)


IS_DEMO = "world" in config
LANGUAGES = corpora.target_languages(config)
MGSM_LANGUAGES = config["evaluation"]["mgsm"]["languages"]
MMLU_LANGUAGES = config["evaluation"]["mmlu"]["languages"]
HARNESS_RULES = [
    (bench, dev)
    for bench in benchmarks.harness_benchmarks(config)
    for dev in ([False, True] if benchmarks.has_dev_split(config, bench) else [False])
]


wildcard_constraints:
    **paths.FIELDS
    | dict(
        ability="|".join(config["abilities"]),
        abilities=naming.joint_pattern(config["abilities"]),
    ),


# ---- jobs ---------------------------------------------------------------------------------


def get_threads(kind):
    return jobs.job_threads(config, kind)


def get_resources(kind):
    return jobs.job_resources(config, kind)


def get_cadence():
    return jobs.training_cadence(config)


def intermediate(output):
    """An intermediate's output (maec.workflow.intermediates): with keep_intermediates
    false, deleted once every job of the run that reads it is done."""
    return output if config["keep_intermediates"] else temp(output)


# ---- corpora and training runs ------------------------------------------------------------


def get_corpus_files(wildcards):
    return corpora.corpus_files(config, wildcards.corpus)


def get_corpus_reading(wildcards):
    return corpora.corpus_reading(config, wildcards.corpus)


def get_corpus_key(wildcards):
    return corpora.corpus_key(config, wildcards.corpus)


def get_run_tokens(wildcards):
    return [paths.token_blocks(c) for c in corpora.run_corpora(wildcards.run)]


def get_run_mixture(wildcards):
    return corpora.run_mixture(config, wildcards.run)


def get_baseline_mixture(wildcards):
    return corpora.run_mixture(
        config, wildcards.run, config["experiments"]["baselines"]["mixture"]
    )


def get_run_mask(wildcards):
    """A run trains the union of the key neurons of its mask's corpora (N_A ∪ N_L0, N_L0,
    N_Li ∪ N_L0)."""
    mask = corpora.run_mask(config, wildcards.run)
    if len(mask) == 1:
        return paths.mask_file(mask[0], wildcards.seed_dir)
    return paths.union_mask(corpora.run_name(mask), wildcards.seed_dir)


def get_union_members(wildcards):
    return [
        paths.mask_file(c, wildcards.seed_dir)
        for c in corpora.run_corpora(wildcards.run)
    ]


def get_importance_params(wildcards):
    return jobs.importance_params(config, wildcards.seed_dir)


def get_masked_params(wildcards):
    return jobs.masked_params(config, wildcards.seed_dir)


def get_unmasked_params(wildcards):
    return jobs.unmasked_params(config, wildcards.seed_dir)


# ---- deltas and merges ------------------------------------------------------------------


def get_ability_run(wildcards):
    run = corpora.ability_run(config, wildcards.ability)
    return paths.cpt_dir(run, wildcards.deltas, wildcards.seed_dir)


def get_reference_run(wildcards):
    return paths.cpt_dir(
        corpora.reference_run(config), wildcards.deltas, wildcards.seed_dir
    )


def get_language_delta_inputs(wildcards):
    """Θ_{Li,L0} (or Θ_{Li}), and in the eq2 mode Θ_{L0} (language_weights.mode)."""
    run = corpora.language_run(config, wildcards.lang)
    inputs = dict(
        backbone=paths.BACKBONE,
        language_model=paths.cpt_dir(run, wildcards.deltas, wildcards.seed_dir),
    )
    if config["language_weights"]["mode"] == "eq2":
        inputs["general_model"] = get_reference_run(wildcards)
    return inputs


def get_language_deltas(wildcards):
    return [
        paths.language_delta(l, wildcards.deltas, wildcards.seed_dir) for l in LANGUAGES
    ]


def get_pack_inputs(wildcards):
    """R(A), its backbone, and the two masked CPT runs it came from (their training.json
    gives the tokens and mask densities the pack records)."""
    ability, seed_dir = wildcards.ability, wildcards.seed_dir
    return dict(
        r_a=paths.ability_delta(ability, seed_dir=seed_dir),
        backbone=paths.BACKBONE,
        ability_run=paths.cpt_dir(
            corpora.ability_run(config, ability), seed_dir=seed_dir
        ),
        reference_run=paths.cpt_dir(corpora.reference_run(config), seed_dir=seed_dir),
    )


def get_pack_corpora(wildcards):
    """The sources of the corpora of the ability's masked CPT runs, by corpus name."""
    run = corpora.ability_run(config, wildcards.ability)
    return {
        c: corpora.corpus_config(config, c)["source"] for c in corpora.run_corpora(run)
    }


def get_k2(wildcards):
    return config["abilities"][wildcards.ability]["k2"]


def get_variant_inputs(wildcards):
    return variants.variant_inputs(
        config, wildcards.ability, wildcards.variant, wildcards.seed_dir
    )


def get_variant_settings(wildcards):
    return variants.variant_merge_settings(config, wildcards.ability, wildcards.variant)


def get_uniform_mu(wildcards):
    return variants.uniform_mu(config, wildcards.mu)


def get_merge_method_settings(wildcards):
    return variants.merge_method_settings(config, wildcards.merge_method)


# ---- models and scores ------------------------------------------------------------------


def get_model_dir(wildcards):
    return model_names.model_dir(config, wildcards.model, wildcards.get("seed_dir", ""))


def get_evaluation_inputs(wildcards):
    return model_names.evaluation_inputs(
        config, wildcards.model, wildcards.get("seed_dir", "")
    )


def get_merged_on_load(wildcards):
    return model_names.merged_on_load(config, wildcards.model)


def get_card_scores(wildcards):
    return cards.card_scores(config, wildcards.model, wildcards.seed_dir)


def get_card_records(wildcards):
    return paths.records_of(get_card_scores(wildcards))


def get_card_similarity(wildcards):
    return cards.card_similarity(config, wildcards.model, wildcards.seed_dir)


def get_card_facts(wildcards):
    return cards.card_facts(config, wildcards.model, paths.BACKBONE, wildcards.seed_dir)


def get_baseline_params(wildcards):
    kind = models.baseline_of_run(config, wildcards.tuning, wildcards.run)
    tokens = kind.tokens(config)
    return jobs.baseline_params(config, wildcards.tuning, tokens, wildcards.seed_dir)


def get_adaptation_start(wildcards):
    """The model domain adaptation continues: the tuning's CPT on the general corpora."""
    start = models.MODEL_KINDS[
        models.find_kind(models.Adaptation, tuning=wildcards.tuning).start
    ]
    return start.run_dir(config, wildcards.ability, wildcards.seed_dir)


def get_adaptation_tokens(wildcards):
    return [paths.token_blocks(corpora.ability_corpus(config, wildcards.ability))]


def get_adaptation_params(wildcards):
    tokens = models.find_kind(models.Adaptation, tuning=wildcards.tuning).tokens(config)
    return jobs.baseline_params(config, wildcards.tuning, tokens, wildcards.seed_dir)


def get_task_vector_experts(wildcards):
    """F-TV's or L-TV's experts (with TIES or DARE, by the {merge_method} wildcard)."""
    method = wildcards.get("merge_method")  # None: task arithmetic
    kind = models.find_kind(
        models.TaskVectors, tuning=wildcards.tuning, merge_method=method
    )
    experts = kind.expert_inputs(config, wildcards.ability, wildcards.seed_dir)
    return dict(backbone=paths.BACKBONE, **experts)


def get_layer_swap_experts(wildcards):
    experts = models.find_kind(models.LayerSwap).expert_inputs(
        config, wildcards.ability, wildcards.seed_dir
    )
    return dict(backbone=paths.BACKBONE, **experts)


def get_revert_inputs(wildcards):
    """The ability run trained on every entry, which the revert cuts back to its top k1."""
    return dict(
        backbone=paths.BACKBONE,
        trained=paths.cpt_dir(
            corpora.ability_run(config, wildcards.ability), "deltas-full"
        ),
        general_model=paths.cpt_dir(corpora.reference_run(config)),
    )


def get_joint_inputs(wildcards):
    abilities = naming.joint_abilities(wildcards.abilities)
    return dict(
        backbone=paths.BACKBONE,
        r_a=[paths.ability_delta(a) for a in abilities],
        similarity=[paths.similarity_table(a) for a in abilities],
        r_lang=paths.r_lang(),
    )


def get_joint_gamma(wildcards):
    gamma = config["experiments"]["beyond"]["joint_gamma"]
    abilities = naming.joint_abilities(wildcards.abilities)
    return {a: gamma.get(a, config["merge"]["gamma"]) for a in abilities}


def get_reference_source(wildcards):
    return config["experiments"]["reference_models"][wildcards.name]["source"]


def get_ability_bench(wildcards):
    return scores.benchmark_of(config, wildcards.ability)


def get_ability_average(wildcards):
    return config["abilities"][wildcards.ability]["average"]


def get_figure_title(wildcards):
    return studies.figure_title(config, wildcards.ability)


def get_selection_dev_scores(wildcards):
    return studies.selection_dev_scores(config, wildcards.ability)


def get_selection_dev_records(wildcards):
    return paths.records_of(get_selection_dev_scores(wildcards))


def get_selected_scores(wildcards):
    """Test scores of the paper-settings model and of the variant chosen on dev data."""
    chosen = checkpoints.select_hyperparameters.get(ability=wildcards.ability).output[0]
    variant = json.loads(Path(chosen).read_text())["variant"]
    return studies.selected_scores(config, wildcards.ability, variant)


def get_selected_records(wildcards):
    return paths.records_of(get_selected_scores(wildcards))


def get_ood_task_files(wildcards):
    return studies.ood_task_files(config)


# ---- tables and figures -------------------------------------------------------------------


def get_seed_similarity_tables(wildcards):
    return studies.seed_similarity_tables(config, wildcards.ability)


def get_ablation_scores(wildcards):
    return studies.study_scores(config, "ablation", wildcards.ability)


def get_ablation_records(wildcards):
    return paths.records_of(get_ablation_scores(wildcards))


def get_ablation_labels(wildcards):
    return studies.study_labels(config, "ablation", wildcards.ability)


def get_k2_scores(wildcards):
    return studies.study_scores(config, "k2", wildcards.ability)


def get_k2_records(wildcards):
    return paths.records_of(get_k2_scores(wildcards))


def get_k2_labels(wildcards):
    return studies.study_labels(config, "k2", wildcards.ability)


def get_table8_scores(wildcards):
    return studies.study_scores(config, "table8", wildcards.ability)


def get_table8_labels(wildcards):
    return studies.study_labels(config, "table8", wildcards.ability)


def get_table8_average(wildcards):
    return studies.table8_average(config, wildcards.ability)


def get_merge_by_type_scores(wildcards):
    return studies.study_scores(config, "merge_by_type", wildcards.ability)


def get_merge_by_type_labels(wildcards):
    return studies.study_labels(config, "merge_by_type", wildcards.ability)


def get_beyond_scores(wildcards):
    return studies.beyond_scores(config, wildcards.ability)


def get_beyond_score_seeds(wildcards):
    """The training seed of each beyond score file: the first seed's (docs/beyond.md)."""
    return [jobs.training_seeds(config)[0]] * len(get_beyond_scores(wildcards))


def get_beyond_records(wildcards):
    return paths.records_of(get_beyond_scores(wildcards))


def get_beyond_labels(wildcards):
    return dict(studies.beyond_entries(config, wildcards.ability))


def get_beyond_order(wildcards):
    return [label for _, label in studies.beyond_entries(config, wildcards.ability)]


def get_beyond_training(wildcards):
    return studies.beyond_training(config, wildcards.ability)


def get_beyond_training_dirs(wildcards):
    return scores.training_run_dirs(get_beyond_training(wildcards))


# ---- translation --------------------------------------------------------------------------


def get_translation_source_files(wildcards):
    return corpora.corpus_files(
        config, corpora.ability_corpus(config, wildcards.ability)
    )


def get_translation_reading(wildcards):
    return corpora.corpus_reading(
        config, corpora.ability_corpus(config, wildcards.ability)
    )


def get_translation_source_code(wildcards):
    return translation_codes(config)[config["reference_language"]]


def get_translation_target_code(wildcards):
    return translation_codes(config)[wildcards.lang]
