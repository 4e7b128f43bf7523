"""The workflow's logic as plain Python: the Snakefile's rules call these functions of the
validated config, and the tests call them in-process.

- `naming`: language codes, ability names, corpus and run names, merge variants;
- `paths`: every output path as a template, formatted and parsed (`PathTemplate`);
- `corpora`: corpora and training runs by name, and their config;
- `models`: the registry of model kinds (`MODEL_KINDS`), where each lives and what it costs;
- `model_names`: model names, parsed and formatted, and what a name resolves to;
- `variants`: the settings of every merge and merge variant;
- `scores`, `studies`: the score files each table reads; the paper's experiments and the
  comparisons beyond it as the models each table compares;
- `inputs`: benchmarks and the demo world's files; `jobs`: training seeds, training
  settings, resources; `config_checks`: what the schema cannot say; `joblog`: a log per job.
"""
