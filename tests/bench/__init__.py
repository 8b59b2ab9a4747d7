"""`make bench`: latency, throughput, CPU, memory and start-up of the whole stack.

Run as `python -m tests.bench` (see `__main__.py`); the figures and their targets go to the
terminal, `results/bench.json` and `docs/benchmarks.md`. A measurement, not a test: it exits 0
when targets are missed and non-zero only when it could not run.
"""
