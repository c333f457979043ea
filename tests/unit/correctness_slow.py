"""Comparison functions injected into the math-verify worker by test_correctness.py (not a test).

`slow_compare` sleeps in Python, so the worker's own timer interrupts it (soft timeout);
`stuck_compare` blocks the timer's signal first, so only the host's hard deadline (killing the
worker) ends it.
"""

import signal
import time


def slow_compare(gold, answer):
    if answer == "slow":
        time.sleep(30)
    return {"status": "equal" if gold == answer else "different", "gold_parsed": gold, "answer_parsed": answer}


def stuck_compare(gold, answer):
    if answer == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(30)
    return {"status": "equal" if gold == answer else "different", "gold_parsed": gold, "answer_parsed": answer}
