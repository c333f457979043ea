"""No module outside `serve/` and the verifiers' own packages knows a verifier id by name.

What a caller needs to know about a verifier (does it use the reward model? does it judge the
response against the prompt? does it print extra evidence in the CLI?) is declared on its
`VerifierSpec` and looked up through the registry, so a user's verifier with the same property
is treated the same way. The first test enforces that by reading the source (nothing is
imported); the others check that a user's verifier declaring a property gets the behaviour
the built-in one gets.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from reward_agent.context import RewardContext
from reward_agent.types import Plan, RewardRequest, RewardResult, Signal
from reward_agent.verifiers.base import VERIFIERS, EvidenceLine, VerifierSpec, register_verifier

PACKAGE = Path(__file__).resolve().parents[2] / "reward_agent"
# serve/ wires the HTTP routes per verifier; each verifier's own package may name itself.
EXEMPT = ("serve", "verifiers")

# The string is a verifier id's spelling but means something else here. Keyed by (module,
# enclosing function, string) so that moving lines does not matter; keep it short, say why.
ALLOWED = {
    # the RewardRequest field `constraints` (the caller's constraint list), not the verifier
    ("integrations/labels.py", "label_fields", "constraints"),
    ("integrations/trl.py", "build_requests", "constraints"),
    # a label / dataset column named `constraints` (IFEval-style data formats)
    ("integrations/labels.py", "constraints_from_label", "constraints"),
    ("integrations/trl.py", "constraints_from_columns", "constraints"),
    # a field of the ifeval-verify benchmark's per-item output row (the constraints it checked)
    ("bench/ifeval.py", "verify_item", "constraints"),
}


def builtin_verifier_ids() -> set[str]:
    """The ids that `verifiers/base.py` registers, read from its `VERIFIERS.register("id", ...)` calls."""
    tree = ast.parse((PACKAGE / "verifiers" / "base.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register"
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "VERIFIERS"
        and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    }


def checked_modules() -> list[Path]:
    """Every module of the package outside the exempt folders (os.walk: the prompts symlink is not followed)."""
    found = []
    for root, dirs, files in os.walk(PACKAGE):
        if Path(root) == PACKAGE:
            dirs[:] = [d for d in dirs if d not in EXEMPT]
        found += [Path(root) / f for f in files if f.endswith(".py")]
    return sorted(found)


def id_strings(source: str, ids: set[str]) -> list[tuple[str, str, int]]:
    """(enclosing function or '<module>', id, line) for each string constant equal to a verifier id."""
    found: list[tuple[str, str, int]] = []

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, child.name)
            else:
                if isinstance(child, ast.Constant) and isinstance(child.value, str) and child.value in ids:
                    found.append((scope, child.value, child.lineno))
                visit(child, scope)

    visit(ast.parse(source), "<module>")
    return found


def test_the_builtin_ids_are_known() -> None:
    ids = builtin_verifier_ids()
    assert ids == {"constraints", "preference", "factuality", "correctness", "safety"}
    assert ids <= set(VERIFIERS.names())


def test_no_module_outside_serve_names_a_verifier_id() -> None:
    ids = builtin_verifier_ids()
    modules = checked_modules()
    assert len(modules) > 50 and PACKAGE / "cli.py" in modules and PACKAGE / "serve" / "app.py" not in modules
    offending = [
        f"{path.relative_to(PACKAGE)}:{line} {scope}() names verifier id {vid!r}"
        for path in modules
        for scope, vid, line in id_strings(path.read_text(), ids)
        if (path.relative_to(PACKAGE).as_posix(), scope, vid) not in ALLOWED
    ]
    assert not offending, (
        "declare the property on the VerifierSpec and look it up through VERIFIERS instead:\n" + "\n".join(offending)
    )


def test_the_scan_finds_what_it_must() -> None:
    """The scan itself: a reintroduced `"preference" in context.disable` is found, with its scope."""
    source = 'def check_models(context):\n    if "preference" in context.disable:\n        return\n'
    assert id_strings(source, builtin_verifier_ids()) == [("check_models", "preference", 2)]
    assert id_strings('x = {"safety": 1}\n', {"safety"}) == [("<module>", "safety", 1)]
    assert id_strings('"""the preference model"""\ny = f"{1} preference model"\n', {"preference"}) == []


# A user's verifier that declares every property, to check that callers look them up.
async def _run(request: RewardRequest, context: RewardContext) -> Signal:
    return Signal(verifier="user_rm", status="ok", scores=[0.5] * len(request.responses))


def _render(signal: Signal) -> list[EvidenceLine]:
    return [EvidenceLine(f"  user_rm saw {len(signal.scores or [])} [bold]responses[/]"),
            EvidenceLine("    code [not markup]", markup=False)]


@pytest.fixture
def user_verifier():
    spec = VerifierSpec(id="user_rm", description="a user's reward-model verifier", node="score_user_rm",
                        run=_run, applies=lambda request, context: (True, "always"),
                        uses_reward_model=True, needs_prompt=True, render_evidence=_render)
    register_verifier(spec)
    try:
        yield spec
    finally:
        VERIFIERS.unregister(spec.id)


def test_builtin_declarations() -> None:
    declared = {vid: VERIFIERS.get(vid) for vid in builtin_verifier_ids()}
    assert [v for v, s in declared.items() if s.uses_reward_model] == ["preference"]
    assert [v for v, s in declared.items() if s.needs_prompt] == ["preference"]
    assert [v for v, s in declared.items() if s.render_evidence is not None] == ["constraints"]


def test_cli_loads_the_reward_model_for_any_verifier_that_uses_it(user_verifier) -> None:
    from reward_agent.cli import _uses_reward_model

    assert _uses_reward_model(RewardContext())
    assert _uses_reward_model(RewardContext(disable=("preference",)))  # the user's verifier still needs it
    assert not _uses_reward_model(RewardContext(disable=("preference", "user_rm")))


def test_batch_rm_configuration_keeps_every_reward_model_verifier(user_verifier) -> None:
    from reward_agent.batch.inputs import BatchItem
    from reward_agent.batch.signal_sets import build_request

    item = BatchItem(id="a", prompt="Say hi.", responses=["hi", "hello"])
    disabled = build_request(item, "rm").disable
    assert "preference" not in disabled and "user_rm" not in disabled
    assert set(disabled) == set(VERIFIERS.names()) - {"preference", "user_rm"}
    assert build_request(item, "rm+verifiers").disable == []


def test_verl_without_a_prompt_disables_every_prompt_bound_verifier(user_verifier) -> None:
    from reward_agent.integrations.verl import build_request

    assert build_request("the answer is 4", "4").disable == ["preference", "user_rm"]
    assert build_request("the answer is 4", "4", {"prompt": "2+2?"}).disable == []


def test_cli_prints_the_lines_a_verifier_renders(user_verifier) -> None:
    from rich.console import Console

    import reward_agent.cli as cli

    request = RewardRequest(prompt="Say hi.", responses=["hi", "hello"])
    signals = {"user_rm": Signal(verifier="user_rm", status="ok", scores=[0.5, 0.5]),
               "safety": Signal(verifier="safety", status="skipped", error="not risky")}
    result = RewardResult(rewards=[0.5, 0.5], best_index=0, signals=signals, judger="weighted",
                          plan=Plan(verifiers=["user_rm"], planner="rules"))
    console = Console(width=120, record=True, force_terminal=False)
    original, cli.console = cli.console, console
    try:
        cli.print_result(request, result)
    finally:
        cli.console = original
    lines = console.export_text().splitlines()
    assert "  user_rm saw 2 responses" in lines  # markup applied
    assert "    code [not markup]" in lines  # printed as it is
    # a skipped signal has no evidence to render: only its status line
    assert sum("user_rm saw" in line for line in lines) == 1
