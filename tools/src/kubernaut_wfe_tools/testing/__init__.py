"""Helpers for tests and benchmarks that need real infrastructure (not imported by the product)."""
