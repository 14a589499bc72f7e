"""Renderers of a statement (``billing.selectors.StatementView``): one module per format.

``text`` (a terminal table, ``manage.py statement``) and ``json`` (the keys of SPEC §7,
``manage.py statement --json``) now; PDF and CSV come later as modules beside them, each a function
of the same view, so the pages, the command and a download all show the same statement.
"""
