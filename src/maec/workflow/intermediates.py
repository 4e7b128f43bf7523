"""What a run keeps on disk. An intermediate exists only to be read by later jobs of the
workflow. With `keep_intermediates: false`, Snakemake deletes it (`temp()`) as soon as every
job of the run that reads it is done. Always kept: the backbone, token files, masks, every
trained model, the MAEC and joint models, scores, tables and cards.

Deleting is for a run made once. Snakemake remakes a deleted intermediate when a later
change needs it, and then reruns every job of that run which reads it, because it cannot
know the new file equals the old one. For R(A), that is every variant's evaluation. So
intermediates are kept by default.

The intermediates, by path template (`maec.workflow.paths.TEMPLATES`):
- `importance`: the importance CPT runs (a checkpoint with float32 masters each), read by
  the key-neuron masks and Figure 5b/c. Remade only by training again, after which the
  masks and every run after them rerun; so a run that deletes them also makes Figure 5b/c's
  table first (`maec.workflow.targets.made_before_deletion`).
- `ability_delta`, `language_delta`, `r_lang`, `r_lang_mu`: dense deltas, a model's size
  each, remade in minutes from the kept runs by streaming (the rules of those on a kept
  model's path, and their plain and uniform-μ forms, leave a record beside them).
- `task_vectors`, `combined_task_vectors`, `layer_swap`: baselines built by arithmetic on
  kept runs, written only to be scored.

A kept model's provenance follows its lineage through a deleted intermediate by the record
its job writes beside it (`lineage_record`), the same whether the file is still there or
not. Pure Python: the workflow imports this while it plans.
"""

from collections.abc import Callable, Iterable

from maec.workflow.paths import parse_path

INTERMEDIATES = frozenset(
    {
        "importance",
        "ability_delta",
        "language_delta",
        "r_lang",
        "r_lang_mu",
        "task_vectors",
        "combined_task_vectors",
        "layer_swap",
    }
)


def deleted_templates(config) -> frozenset[str]:
    """The templates whose outputs this config deletes after use."""
    return frozenset() if config["keep_intermediates"] else INTERMEDIATES


def deleted_after_use(config, path: str) -> bool:
    """Whether the output at `path` is deleted once every job that reads it is done."""
    return records_of_deleted(deleted_templates(config))(path) is not None


def lineage_record(path: str) -> str:
    """The record written beside an intermediate (`maec.io.lineage.write_record`)."""
    return f"{path}.lineage.json"


def records_of_deleted(templates: Iterable[str]) -> Callable[[str], str | None]:
    """For `maec.io.lineage.trace`: the record beside an output of these templates, or beside
    the output a path lies in (a mask records its importance run's `fp32_master/`); None for
    any other path (read as it is)."""
    templates = frozenset(templates)

    def record(path: str) -> str | None:
        parts = path.split("/")
        for end in range(len(parts), 0, -1):  # the path itself, then what holds it
            output = "/".join(parts[:end])
            try:
                template, _ = parse_path(output)
            except ValueError:
                continue
            return lineage_record(output) if template in templates else None
        return None

    return record
