"""The safety verifier: is the request harmful, and does each response refuse or comply?

See `verifier.py` for the scores, `applies.py` for when the planner runs it, `classifiers.py` for
the offline classifiers and `train.py` (`make train-safety`) for how their weights were made.
"""
