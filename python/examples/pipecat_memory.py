"""Pipecat: the caller's memory in the LLM context before the first turn, and every
turn appended to it afterwards.

Put the processor between the user context aggregator and the LLM::

    memory = CallerMemory(store.org("acme"), caller_id=from_number, agent_number=to_number)
    pipeline = Pipeline([
        transport.input(), stt, context_aggregator.user(),
        memory_processor(memory),          # <- here
        llm, tts, transport.output(), context_aggregator.assistant(),
    ])

When the pipeline starts (``StartFrame``) the caller is resolved and the persona's memory
of them loaded; the first ``LLMContextFrame`` gets it as a system message. Each later
context frame carries the turns completed since the previous one (the assistant's
answer and the user's new words): they are appended to memory. What remains when the
call ends (``EndFrame``/``CancelFrame``) is appended then.

    pip install pipecat-ai ./python

Everything that talks to contactstore is in the framework-free class ``CallerMemory``
(plain OpenAI-style message dicts in and out); ``memory_processor`` wraps it in a
``FrameProcessor`` and imports Pipecat only when called, so ``CallerMemory`` is tested
without Pipecat installed.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from contactstore import aio
from contactstore.types import MemoryContext

PERSONA_ID = "persona-frontdesk"
ContextMessage = Dict[str, Any]


def _text(message: ContextMessage) -> Optional[str]:
    """The text of an OpenAI-style message (a string, or a list of parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return " ".join(t for t in texts if t) or None
    return None


class CallerMemory:
    """One call's link to contactstore: who the caller is, what to tell the LLM about
    them, and which turns to append to their memory."""

    def __init__(
        self,
        org: aio.Org,
        *,
        caller_id: str,
        agent_number: Optional[str] = None,
        persona_id: str = PERSONA_ID,
        channel: str = "call",
    ) -> None:
        self.org = org
        self.caller_id = caller_id
        self.agent_number = agent_number
        self.persona_id = persona_id
        self.channel = channel
        self.contact_id: Optional[str] = None
        self.context: Optional[MemoryContext] = None
        self._seen = 0
        self._injected = False

    async def load(self) -> None:
        """Resolves the caller and loads the persona's memory of them (a withheld or
        invalid caller id: nothing is loaded or stored)."""
        try:
            resolved = await self.org.resolve_caller(
                self.caller_id, to=self.agent_number, persona_id=self.persona_id
            )
        except aio.BadRequest:
            return
        if resolved["contact"] is None:
            return
        self.contact_id = resolved["contact"]["id"]
        self.context = await self.org.memory_context(self.contact_id, persona_id=self.persona_id)

    def system_message(self) -> Optional[ContextMessage]:
        """The memory as a system message for the LLM, or ``None`` when it is empty."""
        context = self.context
        if context is None:
            return None
        parts: List[str] = []
        if context["summary"]:
            parts.append(f"Summary of earlier conversations: {context['summary']}")
        if context["contactFacts"]:
            facts = ", ".join(f"{k}: {v}" for k, v in context["contactFacts"].items())
            parts.append(f"Known facts: {facts}")
        for item in context["openItems"]:
            parts.append(f"Open item: {item['description']}")
        recent = context["recentMessages"][-10:]
        if recent:
            parts.append("Recent messages:\n" + "\n".join(f"{m['role']}: {m['content']}" for m in recent))
        if not parts:
            return None
        return {"role": "system", "content": "What you remember about this caller.\n" + "\n".join(parts)}

    def prepare(self, messages: List[ContextMessage]) -> List[ContextMessage]:
        """The context messages to send to the LLM: the first time, with the memory
        inserted after the leading system prompt. Later calls return them as they are."""
        if self._injected:
            return messages
        self._injected = True
        at = 0
        while at < len(messages) and messages[at].get("role") == "system":
            at += 1
        memory = self.system_message()
        if memory is not None:
            messages = messages[:at] + [memory] + messages[at:]
            at += 1
        # Everything after the system messages is the conversation: appended to memory
        # by the next ``remember``.
        self._seen = at
        return messages

    async def remember(self, messages: List[ContextMessage]) -> int:
        """Appends the user and assistant turns of ``messages`` not appended yet (the
        context grows turn by turn: everything past what was seen). Returns how many."""
        new = messages[self._seen:]
        self._seen = len(messages)
        if self.contact_id is None:
            return 0
        turns: List[Any] = []
        for m in new:
            text = _text(m)
            if m.get("role") in ("user", "assistant") and text:
                turns.append({"role": m["role"], "content": text, "channel": self.channel})
        if turns:
            await self.org.add_messages(self.contact_id, turns, persona_id=self.persona_id)
        return len(turns)


def memory_processor(memory: CallerMemory) -> Any:
    """A Pipecat ``FrameProcessor`` running ``memory`` (Pipecat is imported here)."""
    from pipecat.frames.frames import CancelFrame, EndFrame, Frame, LLMContextFrame, StartFrame
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

    class CallerMemoryProcessor(FrameProcessor):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._context: Any = None

        async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, StartFrame):
                await memory.load()
            elif isinstance(frame, LLMContextFrame) and direction == FrameDirection.DOWNSTREAM:
                context = frame.context
                if self._context is None:
                    context.set_messages(memory.prepare(list(context.messages)))
                    self._context = context
                else:
                    await memory.remember(list(context.messages))
            elif isinstance(frame, (EndFrame, CancelFrame)) and self._context is not None:
                await memory.remember(list(self._context.messages))
            await self.push_frame(frame, direction)

    return CallerMemoryProcessor()
