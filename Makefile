# Two entry points, each installs what it needs into .venv first:
#   make demo   a People Pathing job on real footage in data/ (Intel's CC BY 4.0 sample clip;
#               SQLite job store in out/jobs, a local Dask cluster) -> out/demo.json, its
#               GetPersonTracking response
#   make test   run every test (what .ci/run runs)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test lint

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	# TrackEval, which tests/analysis/test_compare.py checks persontrack's scores against, declares
	# numpy>=2 but its metrics run on numpy 1.26: installed without its dependencies.
	$(PY) -m pip install --quiet --no-deps trackeval==1.3.0
	touch $@

install: $(VENV)/.installed

DEMO := --data-dir out/jobs --bucket-root out/buckets
DEMO_VIDEO ?= data/face-demographics-walking-and-pause.mp4
demo: install
	mkdir -p out/buckets/videos
	cp $(DEMO_VIDEO) out/buckets/videos/demo.mp4
	$(VENV)/bin/persontrack start $(DEMO) --bucket videos --name demo.mp4 --token demo-walking --wait \
		> out/job.json
	$(VENV)/bin/persontrack get $(DEMO) --all \
		$$($(PY) -c "import json; print(json.load(open('out/job.json'))['JobId'])") > out/demo.json
	@echo "out/demo.json: $$($(PY) -c "import json; print(len(json.load(open('out/demo.json'))['Persons']))") Persons"

lint: install
	$(VENV)/bin/ruff check persontrack tests benchmarks
	$(VENV)/bin/ruff format --check persontrack tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest
	$(PY) -m pytest --nbval-lax notebooks/

# The newest Python here (pyenv's 3.13 on the CI machines): a fresh venv installed as a user
# installs (`pip install .`, numpy 2), then the core, jobs and end-to-end `track` tests,
# run against the installed package (pytest's own entry point keeps the checkout off sys.path).
NEWEST_PYTHON ?= $(shell .ci/newest-python)
NEWEST_VENV ?= /tmp/persontrack-newest-venv
NEWEST_TESTS := tests/test_convert.py tests/vision/test_models.py tests/vision/test_faces_stack.py \
	tests/io/test_decord_fallback.py tests/test_pipeline.py tests/jobs/test_jobstore.py \
	tests/jobs/test_jobs_cli.py tests/test_cli.py
.PHONY: test-newest
test-newest:
	rm -rf $(NEWEST_VENV)
	$(NEWEST_PYTHON) -m venv $(NEWEST_VENV)
	$(NEWEST_VENV)/bin/pip install --quiet . pytest pytest-timeout hypothesis "moto[server]>=5"
	$(NEWEST_VENV)/bin/python -c "import sys, numpy; print(sys.version.split()[0], 'numpy', numpy.__version__); assert numpy.__version__ >= '2'"
	$(NEWEST_VENV)/bin/pytest -p no:cacheprovider -o addopts=-ra $(NEWEST_TESTS)

# Benchmarks (scripts that print figures; their write-ups are in docs/benchmarks/).
# The tracker peers and TrackEval need numpy 2: they get their own venv.
BENCH_VENV ?= /tmp/pt-bench
.PHONY: bench-venv bench-trackers bench-detection bench-pipeline bench-landmarks bench-jobs bench-serve
bench-venv:
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet -r benchmarks/requirements-trackers.txt
	$(BENCH_VENV)/bin/pip install --quiet --no-deps norfair==2.1.1

bench-trackers: install bench-venv
	$(BENCH_VENV)/bin/python benchmarks/tracker_mot17.py

bench-detection: install
	$(PY) benchmarks/detection_mot_frames.py

bench-pipeline: install
	$(PY) benchmarks/pipeline_speed.py

bench-landmarks: install
	$(PY) benchmarks/landmark_sizes.py

bench-jobs: install
	$(PY) benchmarks/jobs_paging.py

bench-serve: install
	$(PY) benchmarks/serve_paging.py
