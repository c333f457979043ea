"""The correctness verifier: responses checked against a reference answer (or reference tests).

- `extract`: which part of a text is its final answer (named rules, recorded in the evidence);
- `compare`: exact numbers, math-verify in a bounded worker process, normalised words;
- `mathworker`: the child process side of the math-verify comparisons;
- `code`: a reference given as tests, run against each response's program in the sandbox;
- `verifier`: the registered `VerifierSpec` (planned when a request carries a reference).
"""
