# One-command entry points. `make run` for a lecturer, `make test` for a developer.
PY ?= python3
VENV ?= .venv
ACT = . $(VENV)/bin/activate

.PHONY: run test bench docker

$(VENV)/bin/activate:
	$(PY) -m venv $(VENV)

run: $(VENV)/bin/activate
	$(ACT) && pip install -r requirements.txt && streamlit run app.py

test: $(VENV)/bin/activate
	$(ACT) && pip install -r requirements-dev.txt && python -m pytest

bench: $(VENV)/bin/activate
	$(ACT) && for f in benchmarks/*.py; do case $$f in */__init__.py|*/apptest_timing.py) ;; *) echo "== $$f"; python $$f;; esac; done

docker:
	docker build -t rl-toolbox . && docker run --rm -p 8501:8501 rl-toolbox
