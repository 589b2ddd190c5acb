"""Benchmarks: speed, memory and model quality, written to bench/results/ and summarised in docs/benchmarks.md."""
