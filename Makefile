.PHONY: demo test lint setup bench security

demo:  ## start the demo practice on http://127.0.0.1:8000
	python3 scripts/dev.py demo

test:  ## run the whole test suite (unit, then browser)
	python3 scripts/dev.py test

setup:
	python3 scripts/dev.py setup

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy circlecare

security:  ## bandit over the code, pip-audit over requirements.lock
	.venv/bin/python scripts/security_checks.py

bench:  ## run the benchmarks on PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432), write docs/performance.md
	.venv/bin/python bench/run_all.py
