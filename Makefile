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

# every benchmark script as a module (some import others); the continuous side-by-side runs when the
# upstream files are given: make bench CLEANRL=PATH/ppo_continuous_action.py PUREJAXRL=PATH/...
bench: $(VENV)/bin/activate
	$(ACT) && for f in benchmarks/*.py; do m=benchmarks.$$(basename $$f .py); case $$f in \
	  */__init__.py|*/apptest_timing.py|*/course_report.py|*/ppo_continuous_upstream.py|*/ppo_continuous_purejaxrl_driver.py) ;; \
	  */ppo_continuous_side_by_side.py) echo "== $$f"; if [ -n "$(CLEANRL)" ] && [ -n "$(PUREJAXRL)" ]; then \
	    python -m $$m --cleanrl "$(CLEANRL)" --purejaxrl "$(PUREJAXRL)"; else echo "skipped: give CLEANRL= and PUREJAXRL="; fi;; \
	  *) echo "== $$f"; python -m $$m;; esac; done

docker:
	docker build -t rl-toolbox . && docker run --rm -p 8501:8501 rl-toolbox
