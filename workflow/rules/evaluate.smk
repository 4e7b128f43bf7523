# MGSM (math) and multilingual MMLU science subsets, scored per model and language.


rule evaluate_mgsm:
    input:
        model=get_model_dir,
        questions=config["evaluation"]["mgsm"]["questions"],
        exemplars=config["evaluation"]["mgsm"]["exemplars"],
    output:
        examples="results/eval/{model}/mgsm_{lang}.jsonl",
        score="results/eval/{model}/mgsm_{lang}.json",
    log:
        "logs/eval/{model}/mgsm_{lang}.log",
    conda:
        "../../envs/evaluate.yaml"
    threads: get_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    params:
        n_shots=config["evaluation"]["mgsm"].get("n_shots", 8),
        chain_of_thought=config["evaluation"]["mgsm"].get("chain_of_thought", True),
        max_new_tokens=config["evaluation"]["mgsm"]["max_new_tokens"],
        batch_size=config["evaluation"]["mgsm"]["batch_size"],
        limit=config["evaluation"]["mgsm"].get("limit"),
    script:
        "../scripts/evaluate_mgsm.py"


rule evaluate_mmlu:
    input:
        model=get_model_dir,
        test=config["evaluation"]["mmlu"]["test"],
        dev=config["evaluation"]["mmlu"]["dev"],
    output:
        examples="results/eval/{model}/mmlu_{lang}.jsonl",
        score="results/eval/{model}/mmlu_{lang}.json",
    log:
        "logs/eval/{model}/mmlu_{lang}.log",
    conda:
        "../../envs/evaluate.yaml"
    threads: get_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    params:
        n_shots=config["evaluation"]["mmlu"].get("n_shots", 5),
        batch_size=config["evaluation"]["mmlu"]["batch_size"],
        limit=config["evaluation"]["mmlu"].get("limit"),
    script:
        "../scripts/evaluate_mmlu.py"
