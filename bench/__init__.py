"""Benchmarks of kubernaut-wfe: `python -m bench` runs them all and writes `bench/results/`."""
