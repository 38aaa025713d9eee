# Encore: `make demo` runs the main job on embedded defaults; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CONSTRAINTS ?= -c constraints.txt
# Tests use the local PostgreSQL and Redis unless told otherwise (a Redis db of their own).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/encore
TEST_BROKER_URL ?= redis://127.0.0.1:6379/1

.PHONY: system install lock migrate demo run worker test lint check-deploy clean

# Debian packages first: dlib compiles against OpenBLAS only when libopenblas-dev is already there.
system:
	bash tools/system-packages.sh

$(STAMP): pyproject.toml constraints.txt tools/system-packages.txt
	bash tools/system-packages.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	# constraints.txt holds the exact versions the suite passed with: a new release upstream (PyAV 18.1.1
	# changed how side data iterates) must not change what a fresh machine installs for the same commit.
	$(PY) -m pip install -q $(CONSTRAINTS) -e '.[dev]'
	# invisible-watermark asks for opencv-python, which would clash with mediapipe's opencv-contrib-python.
	$(PY) -m pip install -q --no-deps invisible-watermark==0.2.0
	# A dlib wheel cached from a build before OpenBLAS was installed has no BLAS: rebuild it once.
	$(PY) -c 'import dlib, sys; sys.exit(0 if dlib.DLIB_USE_BLAS else 1)' || \
	  $(PY) -m pip install -q --force-reinstall --no-deps --no-cache-dir --no-binary dlib dlib==20.0.1
	$(PY) -c 'import dlib, sys; sys.exit(0 if dlib.DLIB_USE_BLAS else "dlib was built without BLAS: is libopenblas-dev installed?")'
	# librosa's numba kernels, compiled once here in one process rather than by the first processes to start
	# (mediakit/numba_cache.py); a cache left mismatched by an earlier race is dropped first.
	find $(VENV)/lib -path '*/site-packages/librosa/*' -name '*.nb[ic]' -delete
	$(PY) -c 'from mediakit.numba_cache import load_librosa_kernels; load_librosa_kernels()'
	touch $(STAMP)

install: $(STAMP) node_modules

# After a change to pyproject.toml's dependencies: rebuild the environment from nothing with the ranges
# alone, record what it got, then run `make test` before committing constraints.txt.
lock:
	rm -rf $(VENV)
	$(MAKE) install CONSTRAINTS=
	{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	# The environment is what the file now says: the next make need not install it again.
	touch $(STAMP)

# Browser-test tools from npm (axe-core), exactly as package-lock.json pins them; nothing is fetched at test time.
node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch node_modules

# The development commands run with DEBUG on; a deployment leaves it off (the default).
migrate: install
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput

# The demo runs in a database of its own, made fresh each time: the consent stage is a rendered 3-D
# head following a live challenge's cues (charcha/testing/live.py), and each stage builds on the last.
DEMO_DIR := $(CURDIR)/var/demo
demo: install
	rm -rf $(DEMO_DIR)
	DJANGO_DEBUG=1 ENCORE_VAR_DIR=$(DEMO_DIR) $(PY) manage.py migrate --noinput -v 0
	DJANGO_DEBUG=1 ENCORE_VAR_DIR=$(DEMO_DIR) $(PY) manage.py provenance_dev_ca
	DJANGO_DEBUG=1 ENCORE_VAR_DIR=$(DEMO_DIR) $(PY) manage.py demo --out $(DEMO_DIR)/results

run: migrate
	@echo "Encore on http://127.0.0.1:8000 (web server + one worker; Ctrl-C stops both)"
	@trap 'kill 0' EXIT INT TERM; \
	  DJANGO_DEBUG=1 $(PY) -m celery -A config worker -B -Q cpu,gpu -c 1 -l INFO -s var/celerybeat-schedule & \
	  DJANGO_DEBUG=1 $(PY) manage.py runserver --noreload 127.0.0.1:8000

worker: install
	DJANGO_DEBUG=1 $(PY) -m celery -A config worker -Q cpu -l INFO

test: install lint
	DJANGO_DEBUG=1 $(PY) manage.py provenance_dev_ca
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)}" \
	  $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

check-deploy: install
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) DJANGO_ALLOWED_HOSTS=encore.example \
	  CHARCHA_KEKS=k1:$$(head -c 32 /dev/urandom | base64) CHARCHA_AUDIT_SEAL_KEY=$$(head -c 32 /dev/urandom | base64) \
	  $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var
