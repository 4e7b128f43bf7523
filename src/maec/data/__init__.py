"""The data the method trains on: where a corpus comes from (`sources`), the backbone and
benchmarks from a hub or a local copy of one (`hub`), and corpora as packed token blocks
(`tokens`)."""
