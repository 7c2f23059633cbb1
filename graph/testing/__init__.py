"""Test support: real graphs in a private runtime directory, driven from tests and benchmarks."""
