"""Benchmarks, each runnable with one command; results in RESULTS.md."""
