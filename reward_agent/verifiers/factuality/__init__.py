"""The factuality verifier: claims -> evidence (local index, web, model) -> verdicts -> a score per response."""
