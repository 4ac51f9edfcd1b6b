"""Benchmarks: `make bench` runs them all; each prints medians and ratios to a peer."""
