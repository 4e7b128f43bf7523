# Input functions and params of the method's stages, one section per rule file (world.smk
# to report.smk). Rule files hold rules only (snakemake --lint); what they all share is in
# common.smk.


# ---- world.smk ---------------------------------------------------------------------------


def world_translations():
    """The translated ability corpora the demo world writes (its own rule, so that the
    world's other files stay as they were): ability -> target language -> path."""
    translations = {
        ability: {
            lang: spec["source"]
            for lang, spec in config["abilities"][ability]["translated_corpora"].items()
        }
        for ability in ABILITIES
    }
    paths = [path for by_lang in translations.values() for path in by_lang.values()]
    outside = [p for p in paths if not p.startswith(f"{WORLD}/")]
    if outside:
        raise ValueError(
            f"config: with `world` set, translated corpora must lie under {WORLD}/; "
            f"these do not: {outside}"
        )
    return {ability: by_lang for ability, by_lang in translations.items() if by_lang}


def world_translation_outputs():
    return [
        path for by_lang in world_translations().values() for path in by_lang.values()
    ]


def world_outputs():
    """Every file the world generator writes that a later rule reads."""
    corpora = [corpus_config(c)["source"] for c in all_corpora()]
    mgsm = config["evaluation"]["mgsm"]
    mmlu = config["evaluation"]["mmlu"]
    selection = config["experiments"]["selection"]
    benchmarks = [mgsm["exemplars"]]
    for lang in mgsm["languages"]:
        benchmarks.append(mgsm["questions"].format(lang=lang))
    for lang in mmlu["languages"]:
        benchmarks += [mmlu["test"].format(lang=lang), mmlu["dev"].format(lang=lang)]
    benchmarks += [
        selection["mgsm_dev"].format(lang=lang) for lang in mgsm["languages"]
    ]
    benchmarks += [
        selection["mmlu_dev"].format(lang=lang) for lang in mmlu["languages"]
    ]
    outputs = sorted(set(corpora + benchmarks))
    outside = [p for p in outputs if not p.startswith(f"{WORLD}/")]
    if outside:
        raise ValueError(
            f"config: with `world` set, corpora and benchmarks must lie under {WORLD}/; "
            f"these do not: {outside}"
        )
    return outputs


def get_pretrain_params():
    pretrain = config["world"]["pretrain"]
    params = training_params(pretrain["tokens"])
    params.update(
        lr=pretrain["lr"],
        batch_tokens=pretrain["batch_tokens"],
        warmup_steps=pretrain["warmup_steps"],
        lr_schedule=pretrain["lr_schedule"],
    )
    return params


# ---- tokenize.smk ------------------------------------------------------------------------


def is_local_path(source):
    return (
        os.path.isabs(source)
        or source.startswith(("results/", "./", "../"))
        or Path(source).exists()
    )


def get_corpus_source(wildcards):
    """The corpus file when it is local (so the DAG connects it), else nothing (a hub id)."""
    source = corpus_config(wildcards.corpus)["source"]
    return [source] if is_local_path(source) else []


def get_corpus_params(wildcards):
    corpus = corpus_config(wildcards.corpus)
    return {
        key: corpus[key]
        for key in ("source", "name", "data_files", "split", "text_field")
    }


def get_corpus_key(wildcards):
    return corpus_key(wildcards.corpus)


def get_tokenizer_dir():
    return TOKENIZER if IS_DEMO else BACKBONE


# ---- importance.smk --------------------------------------------------------------------


def get_importance_training_params(wildcards):
    """The shared training settings, and the float32 master weights that Eq. 1 reads."""
    tokens = config["importance_cpt"]["tokens"]
    return dict(training_params(tokens, wildcards.seed), fp32_masters=True)


# ---- training jobs (importance.smk, cpt.smk, experiments.smk): params and cadence -------


def training_params(tokens, seed=""):
    """The settings that make a training run's result (a change reruns it); `seed`: the
    seed's path part (the {seed} wildcard), whose training seed the run draws from."""
    t = config["training"]
    return dict(
        lr=t["lr"],
        total_tokens=tokens,
        batch_tokens=t["batch_tokens"],
        precision=t["precision"],
        weight_decay=t["weight_decay"],
        warmup_steps=t["warmup_steps"],
        lr_schedule=t["lr_schedule"],
        seed=seed_of(seed),
        deepspeed_config=t["deepspeed_config"],
        device=t["device"],
    )


def get_masked_training_params(wildcards):
    """The masked CPT runs: the shared settings, the optimizer state and activation
    checkpointing; the sparse state takes the place of DeepSpeed."""
    params = training_params(config["masked_cpt"]["tokens"], wildcards.seed)
    params.update(
        optimizer_state=config["training"]["optimizer_state"],
        gradient_checkpointing=config["training"]["gradient_checkpointing"],
    )
    if params["optimizer_state"] == "sparse":
        params["deepspeed_config"] = None
    return params


def training_cadence(micro_batch_size=None):
    """How a training job runs without changing its result: the micro-batch size per device
    (gradient accumulation keeps batch_tokens), how often the resume state is saved and
    progress logged. They go to the job as resources, which never make Snakemake rerun a job
    (params do), and which the profile or --set-resources may set per rule."""
    t = config["training"]
    return dict(
        micro_batch_size=micro_batch_size or t["micro_batch_size"],
        save_every_steps=t["save_every_steps"],
        log_every_steps=t["log_every_steps"],
    )


# ---- masks.smk and cpt.smk: a run's corpora, mixture weights and mask ---------------


def get_run_tokens(wildcards):
    return [token_blocks(c) for c in run_corpora(wildcards.run)]


def get_run_mixture(wildcards):
    weights = config["masked_cpt"]["mixture"]
    return [weights[corpus_role(c)] for c in run_corpora(wildcards.run)]


def get_run_mask(wildcards):
    """A run trains the union of its corpora's key neurons (N_A ∪ N_L0, N_Li ∪ N_L0, N_L0)."""
    corpora, seed = run_corpora(wildcards.run), wildcards.seed
    if len(corpora) == 1:
        return mask_file(corpora[0], seed)
    return union_mask(wildcards.run, seed)


def get_union_members(wildcards):
    return [mask_file(c, wildcards.seed) for c in run_corpora(wildcards.run)]


# ---- deltas.smk --------------------------------------------------------------------------


def get_ability_delta_inputs(wildcards):
    deltas, seed = wildcards.deltas, wildcards.seed
    return dict(
        backbone=BACKBONE,
        ability_model=cpt_dir(ability_run(wildcards.ability), deltas, seed),
        general_model=cpt_dir(reference_run(), deltas, seed),
    )


def get_language_delta_inputs(wildcards):
    deltas, seed = wildcards.deltas, wildcards.seed
    inputs = dict(
        backbone=BACKBONE,
        language_model=cpt_dir(language_run(wildcards.lang), deltas, seed),
    )
    if config["language_weights"]["mode"] == "eq2":
        inputs["general_model"] = cpt_dir(reference_run(), deltas, seed)
    return inputs


def get_ability_pack_inputs(wildcards):
    """R(A), its backbone, and the two masked CPT runs it came from (their training.json
    gives the tokens and mask densities the pack records)."""
    seed = wildcards.seed
    return dict(
        r_a=ability_delta(wildcards.ability, seed=seed),
        backbone=BACKBONE,
        ability_run=cpt_dir(ability_run(wildcards.ability), seed=seed),
        reference_run=cpt_dir(reference_run(), seed=seed),
    )


def get_ability_pack_corpora(wildcards):
    """The sources of the corpora of the ability's masked CPT runs, by corpus name."""
    corpora = run_corpora(ability_run(wildcards.ability))
    return {corpus: corpus_config(corpus)["source"] for corpus in corpora}


def get_language_deltas(wildcards):
    return [
        language_delta(lang, wildcards.deltas, wildcards.seed) for lang in LANGUAGES
    ]


def get_mu():
    """μ_i of Eq. 3 per language; a language that language_weights.mu leaves out gets 1.0."""
    mu = config["language_weights"]["mu"]
    return {lang: float(mu.get(lang, 1.0)) for lang in LANGUAGES}


# ---- combine.smk -------------------------------------------------------------------------


def get_k2(wildcards):
    return config["abilities"][wildcards.ability]["k2"]


# ---- evaluate.smk ------------------------------------------------------------------------


def bench_scores(models, bench, dev=False, seed=""):
    """The score files of models on a benchmark: one per language it is scored in."""
    return [
        eval_scores(model, bench, lang, dev, seed)
        for model in models
        for lang in config["evaluation"][bench]["languages"]
    ]


def is_trained(model):
    """Whether a model is made from the workflow's training runs (it has one per seed)."""
    return parse_model(model).kind not in ("backbone", "reference")


def seeded_scores(models, bench):
    """The score files of models on a benchmark, of every seed where a model is trained,
    as (seed, path) pairs: the first seed's of every model, then each other seed's."""
    return [(SEEDS[0], path) for path in bench_scores(models, bench)] + [
        (seed, path)
        for seed in SEEDS[1:]
        for path in bench_scores(
            filter(is_trained, models), bench, seed=seed_part(seed)
        )
    ]


def model_dir(model, seed=""):
    """Where an evaluated model of a seed lives; its name follows maec.workflow.naming (the backbone,
    MAEC and its merge variants here, the baselines and reference models in experiments.smk).
    """
    name = parse_model(model)
    if seed and not is_trained(model):
        raise ValueError(f"model {model!r} is not trained, so it has no seed {seed!r}")
    if name.kind == "backbone":
        return BACKBONE
    if name.kind == "reference":
        return reference_model_dir(name.name)
    if name.ability not in ABILITIES and name.kind != "joint":
        raise ValueError(f"model name {model!r}: {name.ability!r} is not in abilities")
    if name.kind != "maec":
        return beyond_model_dir(name, seed) or baseline_model_dir(
            name.kind, name.ability, seed
        )
    if name.variant is not None:
        variant_settings(name.ability, name.variant)  # the config knows what it names
    return merged_model_dir(name.ability, name.variant, seed)


def get_model_dir(wildcards):
    return model_dir(wildcards.model, wildcards.get("seed", ""))


# ---- report.smk --------------------------------------------------------------------------


def eval_models():
    return ["backbone"] + [format_model("maec", a) for a in ABILITIES]


def eval_benches(model):
    """The benchmarks a model is evaluated on: the backbone on every benchmark, a merged
    model on the benchmark of its ability."""
    if model == "backbone":
        return sorted({benchmark_of(a) for a in ABILITIES})
    return [benchmark_of(parse_model(model).ability)]


def all_scores():
    """(seed, score file) of every score of the results table, every seed's."""
    return [
        pair
        for model in eval_models()
        for bench in eval_benches(model)
        for pair in seeded_scores([model], bench)
    ]


def get_all_scores():
    return [path for _, path in all_scores()]


def get_all_score_seeds():
    """The training seed of each file of get_all_scores(), in its order."""
    return [seed for seed, _ in all_scores()]


def maec_training_runs(ability):
    """The training runs MAEC's model for one ability is counted to cost (#Tokens, ICER),
    run directory -> planned tokens: its masked CPT runs (the ability run, the reference run
    and every language run), each in full, shared or not, as the paper's 12B = 6 runs x 2B.
    The importance CPT on the sample C' is left out: the paper's 12B leaves no room for it.
    """
    runs = [ability_run(ability), reference_run()] + [
        language_run(lang) for lang in LANGUAGES
    ]
    return {cpt_dir(run): config["masked_cpt"]["tokens"] for run in runs}


def get_model_labels():
    """Table rows: one MAEC row holds each ability's merged model on its own benchmark."""
    return {"backbone": "backbone"} | {
        format_model("maec", a): "MAEC" for a in ABILITIES
    }


def get_training_dirs():
    """Training runs per table row and benchmark, for #Tokens and ICER."""
    return {"MAEC": {benchmark_of(a): sorted(maec_training_runs(a)) for a in ABILITIES}}


def training_run_dirs(training):
    """Every run directory of a {label: {bench: [dirs]}} table (a rule's input)."""
    return sorted(
        {
            d
            for by_bench in training.values()
            for dirs in by_bench.values()
            for d in dirs
        }
    )


def get_averaged_languages():
    """bench -> the languages Avg covers (None: every language the bench scores)."""
    return {benchmark_of(a): config["abilities"][a]["average"] for a in ABILITIES}


def records_of(score_paths):
    """The per-example records beside score files (their intervals are computed from them)."""
    return [path.removesuffix(".json") + ".jsonl" for path in score_paths]


def get_all_records():
    return records_of(get_all_scores())


def get_interval_options():
    """The bootstrap of the tables' intervals: resamples, seed, level."""
    return dict(config["tables"]["intervals"])


def get_table_options():
    """What every results-style table shares: its averages and how ICER is computed."""
    return dict(
        averaged=get_averaged_languages(),
        icer_decimals=config["tables"]["icer_decimals"],
    )
