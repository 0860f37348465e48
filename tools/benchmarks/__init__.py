"""Benchmark modules: each registers its functions with benchlib.benchmark."""
