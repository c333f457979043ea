"""A benchmark: does the constraint verifier rank a response that follows the prompt's rule above one that breaks it?"""
import json
import sys
import tempfile
from pathlib import Path

from reward_agent import BenchmarkSpec, ascore, register_benchmark


def load(path):
    return [(str(i), json.loads(line)) for i, line in enumerate(path.read_text().splitlines())]


def make_work(context, seed):
    async def work(item):  # the rule follower is always first: the constraint verifier has no position bias
        request = {"prompt": item["prompt"], "responses": [item["follows"], item["breaks"]], "disable": ["preference"]}
        return {"rewards": (await ascore(request, context)).rewards}
    return work


def metrics(rows, tie_credit):
    scored = [r["rewards"] for r in rows if "error" not in r and None not in r["rewards"]]
    correct = sum(a > b for a, b in scored)
    return {"items": len(rows), "accuracy": correct / len(rows) if rows else 0.0, "failed": len(rows) - len(scored)}


register_benchmark(BenchmarkSpec("rule-pairs", "Pairs that differ in one stated rule; accuracy: the follower ranked first.",
                                 "Rule pairs", load, make_work, metrics))

if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    data = out / "rule_pairs.jsonl"
    data.write_text("\n".join(json.dumps(item) for item in [
        {"prompt": "Describe tea without any commas.", "follows": "Tea is calm and green.", "breaks": "Tea is calm, green."},
        {"prompt": "Describe coffee in all lowercase letters.", "follows": "coffee is bitter.", "breaks": "Coffee is bitter."},
        {"prompt": "Describe an apple in all capital letters.", "follows": "A RIPE APPLE IS RED AND SWEET.",
         "breaks": "A ripe apple is red and sweet."}]))
    from reward_agent.cli import app  # the `bench rule-pairs` command comes from the registry
    app(["bench", "rule-pairs", "--data", str(data), "--out", str(out / "run"), "--no-progress"], standalone_mode=False)
    print("metrics:", {k: v for k, v in json.loads((out / "run" / "metrics.json").read_text()).items() if k != "efficiency"})
