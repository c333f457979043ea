"""A scripted chat model for unit tests of the code AROUND a model (never a stand-in for model quality)."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult


class ScriptedModel(BaseChatModel):
    """Answers from a script (strings, or exceptions to raise) and records what it was sent."""

    script: list[Any]
    seen: list[list[BaseMessage]] = []
    name_tag: str = "scripted"

    @property
    def _llm_type(self) -> str:
        return "scripted-test-model"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"name_tag": self.name_tag}

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        self.seen.append(list(messages))
        if not self.script:
            raise AssertionError("the scripted model was called more often than scripted")
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=step))])


def scripted(*steps: Any, tag: str = "scripted") -> ScriptedModel:
    return ScriptedModel(script=list(steps), seen=[], name_tag=tag)


def answer(code: str, should_pass: str, should_fail: str) -> str:
    """A coder answer in the format the checker_code prompt asks for."""
    return f"Here it is.\n```python\n{code}```\n```pass\n{should_pass}\n```\n```fail\n{should_fail}\n```\n"


QUESTIONS = "def check(response):\n    return response.count('?') == 3\n"
GOOD = answer(QUESTIONS, "Why? How? When?", "Why?")


def asserts_answer(code: str, should_pass: str, should_fail: str) -> str:
    """A coder answer in the format the checker_code_typed prompt asks for: the function, then asserts."""
    return f"Here it is.\n```python\n{code}\nassert check({should_pass!r})\nassert not check({should_fail!r})\n```\n"


GOOD_ASSERTS = asserts_answer(QUESTIONS, "Why? How? When?", "Why?")
