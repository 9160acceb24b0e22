# Shortcuts for the two README commands and a few developer tasks.
.PHONY: run test lint bench
run:
	scripts/run.sh
test:
	scripts/test.sh
lint:
	.venv/bin/ruff check app model tests main.py && .venv/bin/lint-imports
bench:
	.venv/bin/python main.py bench --model-only --json docs/bench_model.json
