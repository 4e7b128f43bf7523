"""Score files and their per-example records, made by hand."""

import json


def write_model(root, model, lang, correct, bench="mgsm"):
    """A score file and its records: question i of `lang` right where correct[i]."""
    key, metric = (
        ("flexible_correct", "flexible_acc") if bench == "mgsm" else ("acc_correct", "acc")
    )
    folder = root / model
    folder.mkdir(parents=True, exist_ok=True)
    records = [{"source": f"{lang}.tsv:{i}", key: bool(c)} for i, c in enumerate(correct)]
    (folder / f"{bench}_{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    score = {"bench": bench, "lang": lang, "n": len(correct), metric: sum(correct) / len(correct)}
    path = folder / f"{bench}_{lang}.json"
    path.write_text(json.dumps(score))
    return path
