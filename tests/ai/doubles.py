"""A scripted pydantic-ai FunctionModel for behaviour tests: failures on cue, exact usage.

Unscripted requests get the reply of the ``test`` provider (:mod:`rehearse.ai.fakes`),
so a whole interview runs; a test queues what should go wrong, and for which task.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from rehearse.ai.fakes import last_prompt, respond


def task_of(prompt: str) -> str:
    """The rehearse task of a prompt (``plan``, ``evaluate`` ...)."""
    return prompt.partition("\n")[0].removeprefix("Task: ").split(" ")[0]


@dataclass
class Cue:
    """What to do with the next request of ``task`` (any task when ``None``).

    Exactly one of: ``error`` raised, ``text`` returned instead of a tool call,
    ``arguments`` as the tool call (or the JSON text in native output mode), ``delay`` seconds of waiting first.
    """

    task: str | None = None
    error: BaseException | None = None
    text: str | None = None
    arguments: dict[str, Any] | None = None
    delay: float = 0.0
    usage: tuple[int, int] | None = None


@dataclass
class Scripted:
    """The model's script and what it saw.

    Attributes:
        usage: tokens reported for every reply, ``(input, output)`` (default: estimated).
        delay: seconds every request waits (to make calls overlap).
        cues: queued behaviours, used once each.
        prompts: every prompt received, in order.
    """

    usage: tuple[int, int] | None = None
    delay: float = 0.0
    cues: list[Cue] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def model(self) -> FunctionModel:
        return FunctionModel(self.respond, model_name="scripted")

    def tasks(self) -> list[str]:
        return [task_of(p) for p in self.prompts]

    def prompts_of(self, task: str) -> list[str]:
        return [p for p in self.prompts if task_of(p) == task]

    def _cue(self, task: str) -> Cue | None:
        with self._lock:
            for i, cue in enumerate(self.cues):
                if cue.task in (None, task):
                    return self.cues.pop(i)
        return None

    async def respond(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = last_prompt(messages)
        with self._lock:
            self.prompts.append(prompt)
        cue = self._cue(task_of(prompt)) or Cue()
        if self.delay or cue.delay:
            await asyncio.sleep(self.delay + cue.delay)
        if cue.error is not None:
            raise cue.error
        if cue.text is not None:
            response = ModelResponse(parts=[TextPart(cue.text)])
        elif cue.arguments is not None and info.model_request_parameters.output_mode == "native":
            response = ModelResponse(parts=[TextPart(json.dumps(cue.arguments))])
        elif cue.arguments is not None:
            response = ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, cue.arguments)])
        else:
            response = respond(messages, info)
        usage = cue.usage or self.usage
        if usage is not None:
            response.usage = RequestUsage(input_tokens=usage[0], output_tokens=usage[1])
        return response
