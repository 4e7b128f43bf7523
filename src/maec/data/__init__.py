"""The data the method trains on: where a corpus comes from (`sources`), the backbone and
benchmarks from a hub or a local copy of one (`hub`), corpora as packed token blocks
(`tokens`), and the one rule every JSON Lines reader follows (`jsonl`)."""
