"""Benchmarks of DESIGN §10: `make bench` (`python -m bench`) writes `bench/results.md`."""
