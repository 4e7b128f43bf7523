# Two entry points for a fresh machine (see README.md): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
EXTRAS := cluster,baselines,test

.PHONY: install demo test

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

# PYTEST_ARGS adds to the suite, e.g. PYTEST_ARGS="-m 'experiments or not experiments'".
test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)
