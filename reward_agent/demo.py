"""The built-in example `reward-agent demo` scores: constraints stated in plain words, four answers."""

DEMO_REQUEST = {
    "id": "demo-water-bottle",
    "prompt": (
        "Write a short product description for a reusable steel water bottle. "
        "Keep it under 40 words, don't use any commas, and end with the exact phrase \"Stay hydrated!\""
    ),
    "responses": [
        # Meets all three constraints.
        "Meet the bottle that keeps up with you. Double steel walls hold cold drinks cold for a full day "
        "and the leakproof lid rides safely in any bag. Refill it anywhere. Stay hydrated!",
        # Uses commas.
        "Meet the bottle that keeps up with you: light, tough, leakproof, and cold for 24 hours. Stay hydrated!",
        # Far too long.
        "Meet the bottle that keeps up with you on every commute and every trail and every long day at the desk. "
        "Double steel walls hold cold drinks cold for a full day and hot drinks hot for twelve hours. The leakproof "
        "lid rides safely in any bag and the powder coat shrugs off scratches and drops. Refill it anywhere and "
        "skip the plastic. Stay hydrated!",
        # Wrong ending.
        "Meet the bottle that keeps up with you. Double steel walls keep drinks cold all day. Refill it anywhere "
        "and skip the plastic.",
    ],
}

# `reward-agent demo --agentic`: a constraint no built-in checker covers ("begin with the word
# 'Primary'"), so the coder model writes its checker; the lowercase and length rules stay built-in.
DEMO_AGENTIC_REQUEST = {
    "id": "demo-agentic-school-day",
    "prompt": "Begin your reply with the word 'Primary'. Describe a school day in under 40 words, all in lowercase.",
    "responses": [
        # Follows all three.
        "primary school days start with reading circles, then sums, a noisy lunch and a long afternoon of painting.",
        # Does not begin with 'Primary'.
        "school days start with reading circles, then sums, a noisy lunch and a long afternoon of painting.",
        # Begins with 'Primary' but is not lowercase.
        "Primary School Days Start With Reading Circles, Then Sums And A Noisy Lunch.",
    ],
}
