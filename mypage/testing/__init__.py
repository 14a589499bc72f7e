"""Builders of domain rows for the tests, the demo loader (``demo.services``) and the benchmark:
one place that knows what a valid contract, account ID, mail address or subscription needs."""
