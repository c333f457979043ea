"""Input rows of `best-of-n` and `annotate`: one prompt with N sampled responses per line.

A line is `{"id"?, "prompt" | "messages", "responses": [...]}`, optionally with IFEval's gold
fields (`key`, `instruction_id_list`, `kwargs`), external quality ratings per response
(`ratings`, e.g. GPT-4's 1-10) and a `group` used to break metrics down (e.g. the reward
model's train / held-out questions). Gold constraints are only ever used to *evaluate* picks:
they are never handed to the reward graph, which reads the constraints from the prompt itself.

`from_arena` converts arena-bench's rated answers (one answer per line) into this format at run
time, with the answers of each question in a fixed, seeded shuffled order.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RewardAgentError
from ..jsonl import line_errors, read_jsonl
from ..types import ConstraintSpec, Message, last_user_turn

__all__ = ["BatchItem", "InputError", "from_arena", "load_items", "parse_item"]


class InputError(RewardAgentError, ValueError):
    """A data file that is not in the expected format (names the file, line and problem)."""


@dataclass(frozen=True)
class BatchItem:
    """One prompt and its sampled responses, with optional gold fields for evaluation."""

    id: str
    responses: list[str]
    prompt: str | None = None
    messages: list[Message] | None = None
    gold: list[ConstraintSpec] | None = None  # IFEval instruction_id_list + kwargs; evaluation only
    ratings: list[float | None] | None = None
    group: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def user_prompt(self) -> str:
        """The prompt text (the last user turn of a chat)."""
        if self.prompt is not None:
            return self.prompt
        assert self.messages is not None
        return last_user_turn(self.messages)


def parse_item(row: Any, index: int) -> BatchItem:
    """Validate one input row; raises ValueError saying what is wrong."""
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    prompt, messages = row.get("prompt"), row.get("messages")
    if (prompt is None) == (messages is None):
        raise ValueError("give exactly one of 'prompt' or 'messages'")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise ValueError("'prompt' must be a non-empty string")
    chat = None
    if messages is not None:
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty list")
        chat = [Message.model_validate(m) for m in messages]
        if not any(m.role == "user" for m in chat):
            raise ValueError("'messages' has no user turn")
    responses = row.get("responses")
    if not isinstance(responses, list) or not responses or not all(isinstance(r, str) for r in responses):
        raise ValueError("'responses' must be a non-empty list of strings")
    gold = None
    if "instruction_id_list" in row:
        ids, kwargs = row["instruction_id_list"], row.get("kwargs") or [{}] * len(row["instruction_id_list"])
        if not isinstance(ids, list) or len(ids) != len(kwargs):
            raise ValueError("'instruction_id_list' and 'kwargs' must be lists of the same length")
        gold = [ConstraintSpec(id=i, kwargs=k or {}, source="request") for i, k in zip(ids, kwargs)]
    ratings = row.get("ratings")
    if ratings is not None:
        if not isinstance(ratings, list) or len(ratings) != len(responses):
            raise ValueError(f"'ratings' must be a list with one value per response ({len(responses)})")
        if not all(r is None or isinstance(r, (int, float)) for r in ratings):
            raise ValueError("'ratings' must hold numbers (or null)")
        ratings = [None if r is None else float(r) for r in ratings]
    item_id = row.get("id", row.get("key", index))
    known = {"id", "key", "prompt", "messages", "responses", "instruction_id_list", "kwargs", "ratings", "group"}
    return BatchItem(
        id=str(item_id), responses=list(responses), prompt=prompt, messages=chat, gold=gold, ratings=ratings,
        group=None if row.get("group") is None else str(row["group"]),
        extra={k: v for k, v in row.items() if k not in known},
    )


def load_items(path: str | Path, limit: int | None = None) -> list[BatchItem]:
    """Read an input JSONL file; a bad line raises InputError naming the file and line."""
    items: list[BatchItem] = []
    seen: set[str] = set()
    for lineno, row in read_jsonl(path, "a best-of-n input line", error=InputError):
        try:
            item = parse_item(row, len(items))
        except (ValueError, TypeError) as exc:  # pydantic errors are ValueErrors
            raise InputError(f"{path}:{lineno}: {exc}") from None
        if item.id in seen:
            raise InputError(f"{path}:{lineno}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise InputError(f"data file {str(path)!r} holds no rows")
    return items


def from_arena(
    path: str | Path,
    *,
    seed: int = 0,
    limit: int | None = None,
    heldout: Sequence[str] | None = None,
    rating_field: str = "gpt4_rating",
) -> list[BatchItem]:
    """Arena-bench rated answers -> one item per question, answers shuffled with a fixed seed.

    The shuffle is seeded per question (`seed`, question id), so the order does not depend on
    which other questions are loaded, and the first answer is a random one: n=1 is a random
    pick, not always the same model. `heldout` names question ids to mark `group="heldout"`
    (the others `group="train"`), e.g. the questions the embedded RM never saw in training.
    """
    by_question: dict[str, list[dict[str, Any]]] = defaultdict(list)
    prompts: dict[str, str] = {}
    for lineno, row in read_jsonl(path, "an arena rated-answer line", error=InputError):
        with line_errors(path, lineno, "an arena rated-answer line", error=InputError):
            qid, prompt, response = str(row["question_id"]), row["prompt"], row["response"]
            rating = row.get(rating_field)
        if not isinstance(response, str) or not response.strip():
            continue  # an empty answer is nothing to pick
        prompts.setdefault(qid, prompt)
        by_question[qid].append({"model": row.get("model"), "response": response,
                                 "rating": None if rating is None else float(rating)})
    heldout_set = set(heldout) if heldout is not None else None
    items = []
    for qid in sorted(by_question):
        answers = sorted(by_question[qid], key=lambda a: (str(a["model"]), a["response"]))  # input order must not matter
        random.Random(f"{seed}:{qid}").shuffle(answers)
        group = None if heldout_set is None else ("heldout" if qid in heldout_set else "train")
        items.append(BatchItem(
            id=qid, prompt=prompts[qid], responses=[a["response"] for a in answers],
            ratings=[a["rating"] for a in answers], group=group,
            extra={"models": [a["model"] for a in answers]},
        ))
    if not items:
        raise InputError(f"arena file {str(path)!r} holds no answers")
    return items[:limit] if limit is not None else items


def embedded_rm_split(path: str | Path, test_fraction: float = 0.2) -> tuple[set[str] | None, str]:
    """The question ids the embedded RM held out in training, if `path` is the file it was trained on.

    The shipped head records its training data (file name, rating gap, seed, pair count); the
    split of `reward-agent train-rm` is re-run here and accepted only if it reproduces the
    recorded number of training pairs. Returns (held-out ids or None, a note saying why).
    """
    from ..rm.embedded import load_head
    from ..train.data import load_preference_file, pairs_from_ratings, split_by_question

    training = load_head().meta.get("training") or {}
    if training.get("data") != Path(path).name:
        return None, f"the embedded RM was trained on {training.get('data')!r}, not on {Path(path).name!r}"
    _, rated = load_preference_file(path)
    pairs = pairs_from_ratings(rated, min_gap=float(training.get("min_gap", 2.0)))
    train_q, test_q = split_by_question([p.question_id for p in pairs], test_fraction, int(training.get("seed", 0)))
    train_pairs = sum(p.question_id in train_q for p in pairs)
    if train_pairs != training.get("pairs"):
        return None, (f"could not reproduce the embedded RM's split ({train_pairs} training pairs, "
                      f"{training.get('pairs')} recorded)")
    return test_q, (f"held-out questions of the embedded RM's training split ({len(test_q)}; "
                    f"seed {training.get('seed', 0)}, {test_fraction:.0%} held out, {train_pairs} training pairs)")


def from_ifeval_verdicts(folder: str | Path, *, seed: int = 0) -> list[BatchItem]:
    """IFEval reference responses of several models -> one item per prompt that all of them answered.

    `folder` holds `*_verdicts.jsonl` files (one model each: prompt, response, gold fields). The
    responses of a prompt are put in a seeded random order (per key), so n=1 is a random model.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*_verdicts.jsonl")) if folder.is_dir() else []
    if len(files) < 2:
        raise InputError(f"{str(folder)!r} must be a folder with at least two *_verdicts.jsonl files")
    per_file: list[dict[str, dict[str, Any]]] = []
    for path in files:
        rows: dict[str, dict[str, Any]] = {}
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                        rows[str(row["key"])] = row
                    except (ValueError, KeyError) as exc:
                        raise InputError(f"{path}:{lineno}: not a verdicts line ({exc})") from None
        per_file.append(rows)
    items = []
    for key in sorted(set.intersection(*(set(rows) for rows in per_file)), key=lambda k: (len(k), k)):
        rows = [rows[key] for rows in per_file]
        if len({r["prompt"] for r in rows}) != 1:
            continue  # the same key with another prompt text: not the same question
        answers = [(path.name.removesuffix("_verdicts.jsonl"), r["response"]) for path, r in zip(files, rows)]
        random.Random(f"{seed}:{key}").shuffle(answers)
        items.append(parse_item({"id": key, "prompt": rows[0]["prompt"], "responses": [a for _, a in answers],
                                 "instruction_id_list": rows[0]["instruction_id_list"], "kwargs": rows[0]["kwargs"],
                                 "models": [m for m, _ in answers]}, len(items)))
    if not items:
        raise InputError(f"the verdict files in {str(folder)!r} share no prompt")
    return items
