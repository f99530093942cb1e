.PHONY: demo test

# Start the whole product (web, worker, beat, demo day) and print where to log in.
demo:
	@bash scripts/demo.sh

# The whole test suite: ruff, mypy, migrations check, pytest on Postgres and Redis.
test:
	@bash scripts/test.sh
