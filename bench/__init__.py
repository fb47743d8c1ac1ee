"""Firebreak's benchmark harness: `make bench` (or `python -m bench`).

It builds a seeded synthetic dataset in its own database (`firebreak_bench`), then runs each benchmark
as two arms back to back — a floor (raw SQL / COPY through psycopg2) and the app — and prints both
figures, their ratio and the goal, plus a JSON file under `bench/results/`.

This package's `__init__` imports nothing on purpose: the load-generator processes are started with
the `spawn` method and import `bench.load` and `bench.synth`, which must stay free of Django.
"""
