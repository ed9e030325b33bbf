"""Benchmarks: each prints its figures as ``BENCH <name>=<value> <unit>`` lines (``make bench``)."""
