"""LiveKit Agents: know the caller the moment a phone call starts.

A SIP call reaches the agent as a participant whose attributes carry the caller id
(``sip.phoneNumber``) and the number called (``sip.trunkPhoneNumber``). The entrypoint
resolves the caller with contactstore — a known caller in microseconds, a new one
created — loads what the agent remembers about them into its instructions, and
appends every turn of the conversation to that memory.

    pip install "livekit-agents~=1.8" ./python
    export LIVEKIT_URL=… LIVEKIT_API_KEY=… LIVEKIT_API_SECRET=…
    CONTACTSTORE_DB=contacts.db python examples/livekit_agent.py dev

Everything that talks to contactstore is in the framework-free functions
``caller_context`` and ``remember``; the entrypoint only wires them to LiveKit (its
imports are inside it), so the functions are tested without LiveKit installed.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional

from contactstore import aio
from contactstore.types import MemoryContext

if TYPE_CHECKING:
    from livekit.agents import JobContext

ORG_ID = os.environ.get("CONTACTSTORE_ORG", "default")
PERSONA_ID = "persona-frontdesk"
BASE_INSTRUCTIONS = "You are the front desk of Acme. Be brief and friendly."


@dataclass(frozen=True)
class CallerContext:
    """Who is calling, and what the agent is told about them."""

    contact_id: Optional[str]
    """``None`` for a withheld or non-number caller id (nothing is stored for them)."""
    kind: str
    """``number``, ``withheld``, ``short_code``, ``alphanumeric`` or ``invalid``."""
    created: bool
    instructions: str


def instructions_for(name: Optional[str], context: Optional[MemoryContext]) -> str:
    """The agent's instructions with what memory holds about the caller."""
    parts = [BASE_INSTRUCTIONS]
    if name:
        parts.append(f"The caller is {name}.")
    if context is not None:
        if context["summary"]:
            parts.append(f"What you know from earlier calls: {context['summary']}")
        for item in context["openItems"]:
            parts.append(f"Still open: {item['description']} ({item['priority']}).")
        recent = context["recentMessages"][-6:]
        if recent:
            lines = "\n".join(f"{m['role']}: {m['content']}" for m in recent)
            parts.append(f"The last messages:\n{lines}")
    return "\n".join(parts)


async def caller_context(org: aio.Org, attributes: Mapping[str, str]) -> CallerContext:
    """Resolves the SIP participant's caller id (``sip.phoneNumber``, the number called
    in ``sip.trunkPhoneNumber``) and loads the persona's memory of them."""
    caller_id = attributes.get("sip.phoneNumber", "")
    if not caller_id:
        return CallerContext(None, "withheld", False, instructions_for(None, None))
    try:
        resolved = await org.resolve_caller(
            caller_id, to=attributes.get("sip.trunkPhoneNumber"), persona_id=PERSONA_ID
        )
    except aio.BadRequest:
        # A caller id that is no number at all: serve the call, remember nothing.
        return CallerContext(None, "invalid", False, instructions_for(None, None))
    contact = resolved["contact"]
    if contact is None:
        kind = resolved["caller"]["kind"]
        return CallerContext(None, kind, False, instructions_for(None, None))
    context = await org.memory_context(contact["id"], persona_id=PERSONA_ID)
    return CallerContext(
        contact["id"],
        resolved["caller"]["kind"],
        resolved["created"],
        instructions_for(contact["name"], context),
    )


async def remember(org: aio.Org, caller: CallerContext, role: str, text: Optional[str]) -> None:
    """Appends one turn (``user`` or ``assistant``) to the caller's memory."""
    if caller.contact_id is None or not text or role not in ("user", "assistant"):
        return
    message: Any = {"role": role, "content": text, "channel": "call"}
    await org.add_messages(caller.contact_id, [message], persona_id=PERSONA_ID)


async def entrypoint(ctx: JobContext) -> None:
    """The LiveKit job: one call."""
    from livekit.agents import Agent, AgentSession

    await ctx.connect()
    participant = await ctx.wait_for_participant()
    store = await aio.open(os.environ.get("CONTACTSTORE_DB", "contacts.db"))
    org = store.org(ORG_ID)
    caller = await caller_context(org, participant.attributes)

    session = AgentSession(
        stt="deepgram/nova-3", llm="openai/gpt-4.1-mini", tts="cartesia/sonic-2"
    )
    pending: set[asyncio.Task[None]] = set()

    def on_item(event: Any) -> None:
        # Written in the background: the conversation never waits for the store.
        task = asyncio.create_task(
            remember(org, caller, str(event.item.role), event.item.text_content)
        )
        pending.add(task)
        task.add_done_callback(pending.discard)

    session.on("conversation_item_added", on_item)

    await session.start(room=ctx.room, agent=Agent(instructions=caller.instructions))


if __name__ == "__main__":
    from livekit.agents import AgentServer, cli

    server = AgentServer()
    server.rtc_session(entrypoint)
    cli.run_app(server)
