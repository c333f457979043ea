"""Instruction constraints: the checker registry, extraction from prompts, and the verifier node."""
