# Two entry points for a fresh machine (see README.md): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
EXTRAS := cluster,baselines,test

DATA ?= ../shared/data
REHEARSAL := rehearsal
SNAKEMAKE := $(VENV)/bin/snakemake --cores 2 --replace-workflow-config

.PHONY: install demo demo-experiments test rehearsal

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

install: $(VENV)/installed

# The offline demo world end to end: world, tokenizer, backbone, MAEC, evaluation, tables.
demo: install
	$(VENV)/bin/snakemake --cores 2 --configfile config/demo.yaml --replace-workflow-config \
		--show-failed-logs

# The paper's experiments on the demo world over three training seeds (README "Seeds"); the
# first seed's runs are `make demo`'s.
demo-experiments: install
	$(SNAKEMAKE) --configfile config/demo.yaml --config seeds=3 --show-failed-logs experiments

# PYTEST_ARGS adds to the suite, e.g. PYTEST_ARGS="-m 'e2e or not e2e'" (the whole runs too).
test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The paper's configuration rehearsed on this machine (README "Rehearsal"): its inputs in the
# hub's formats from $(DATA), then `experiments`, then the tied-embedding backbone's model.
$(REHEARSAL)/config.yaml: config/config.yaml config/rehearsal.yaml config/rehearsal-tied.yaml | $(VENV)/installed
	$(VENV)/bin/python -m maec.rehearsal $(REHEARSAL) --data $(DATA)

rehearsal: $(REHEARSAL)/config.yaml
	$(SNAKEMAKE) experiments --directory $(REHEARSAL)/paper \
		--configfile=$(CURDIR)/$(REHEARSAL)/config.yaml
	$(SNAKEMAKE) results/merged/science.safetensors --directory $(REHEARSAL)/tied \
		--configfile=$(CURDIR)/$(REHEARSAL)/config-tied.yaml
