"""Verifiers: each turns (request, context) into a Signal. See `base.py` for the registry."""
