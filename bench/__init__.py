"""The benchmark harness (bench/run). Nothing here is imported by the application."""
