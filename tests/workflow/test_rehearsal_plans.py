"""The rehearsal's configurations as the workflow plans them: the paper's branch, and a bad
corpus stopped before any training."""

import yaml
from helpers.workflow import planned_jobs, snakemake, write_config


def test_both_configs_plan_the_paper_branch(rehearsal_inputs, tmp_path):
    _, configs = rehearsal_inputs
    plan = planned_jobs(tmp_path, configs["config.yaml"], "experiments")
    assert plan["download_backbone"] == 1 and plan["download_reference_model"] == 2
    assert plan["baseline_cpt"] == 14 and plan["domain_adaptation"] == 4  # translated rows too
    assert plan["translate_corpus"] == 2 and plan["download_translation_model"] == 1
    assert not {"generate_world", "pretrain_backbone"} & set(plan)
    tied = planned_jobs(tmp_path, configs["config-tied.yaml"], "results/merged/science.safetensors")
    assert tied["importance_cpt"] == 4 and tied["masked_cpt"] == 4 and tied["merge"] == 1


def test_a_bad_corpus_stops_the_workflow_before_any_training(rehearsal_inputs, tmp_path):
    """Through the workflow: the tokenize job checks the corpus before tokenizing; the run
    stops there, before the importance CPT, and no token blocks are left behind."""
    _, configs = rehearsal_inputs
    config = yaml.safe_load(configs["config.yaml"].read_text())
    config["general_corpora"]["es"]["text_field"] = "content"
    configfile = write_config(config, tmp_path)
    proc = snakemake(
        tmp_path, configfile, "results/importance/general_es", "--cores", "2", check=False
    )
    assert proc.returncode != 0
    log = (tmp_path / "logs/tokenize/general_es.log").read_text()
    assert "CorpusError: general_corpora.es.text_field: 'content' is not a field of" in log
    assert not list((tmp_path / "results").glob("tokens/general_es*"))
    assert not (tmp_path / "results/importance").exists()
    assert not (tmp_path / "logs/importance").exists()
