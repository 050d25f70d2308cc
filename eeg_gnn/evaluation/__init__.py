"""Splitting by subject, metrics with intervals over subjects, and the statistics of comparisons.

Arrays in, numbers out: nothing here knows a dataset or a model.
"""
