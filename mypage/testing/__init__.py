"""Builders of domain rows for the tests and the demo loader (``demo.services``): one place that
knows what a valid contract, account ID, mail address or subscription needs."""
