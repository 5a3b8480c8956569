"""Benchmark scripts (run each as a script); a package so that tests can import shared problems."""
