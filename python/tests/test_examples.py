"""The examples: the quickstart runs; the LiveKit and Pipecat examples' contactstore
calls, without the frameworks (and with them, when they are installed)."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

import contactstore
from contactstore import aio

from conftest import EXAMPLES

import livekit_agent
import pipecat_memory


def test_quickstart_runs(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py"), str(tmp_path / "q.db")],
                         capture_output=True, text=True, check=True).stdout
    assert "new contact" in out and "recent messages: 2" in out
    again = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py"), str(tmp_path / "q.db")],
                           capture_output=True, text=True, check=True).stdout
    assert "known contact" in again


def test_livekit_caller_context_resolves_the_sip_caller(db_path: str) -> None:
    async def main() -> None:
        store = await aio.open(db_path)
        org = store.org("acme")
        attributes = {"sip.phoneNumber": "+14155550192", "sip.trunkPhoneNumber": "+14155550100"}
        first = await livekit_agent.caller_context(org, attributes)
        assert first.kind == "number" and first.created and first.contact_id
        org.sync.set_summary(first.contact_id, "Asked about order 8821.",
                                   persona_id=livekit_agent.PERSONA_ID)
        await livekit_agent.remember(org, first, "user", "Has it shipped?")
        await livekit_agent.remember(org, first, "assistant", "It arrives Thursday.")
        await livekit_agent.remember(org, first, "system", "ignored")
        second = await livekit_agent.caller_context(
            org, {"sip.phoneNumber": "sip:+14155550192@sip.twilio.com"})
        assert second.contact_id == first.contact_id and not second.created
        assert "order 8821" in second.instructions and "user: Has it shipped?" in second.instructions
        withheld = await livekit_agent.caller_context(org, {"sip.phoneNumber": "anonymous"})
        assert withheld.contact_id is None and withheld.kind == "withheld"
        missing = await livekit_agent.caller_context(org, {})
        assert missing.contact_id is None
        invalid = await livekit_agent.caller_context(org, {"sip.phoneNumber": "+1 415 555 0192 ext. 1"})
        assert invalid.contact_id is None
        await livekit_agent.remember(org, invalid, "user", "not stored")
        assert sum(1 for _ in org.sync.list()) == 1
        await store.close()  # type: ignore[attr-defined]

    asyncio.run(main())


def test_pipecat_caller_memory_loads_then_appends_turns(db_path: str) -> None:
    async def main() -> None:
        store = await aio.open(db_path)
        org = store.org("acme")
        cid = org.sync.resolve(phone_number="+14155550192", persona_id=pipecat_memory.PERSONA_ID)["contact"]["id"]
        org.sync.set_summary(cid, "Prefers mornings.", persona_id=pipecat_memory.PERSONA_ID)
        memory = pipecat_memory.CallerMemory(org, caller_id="sip:+14155550192@pbx", agent_number="+14155550100")
        await memory.load()
        assert memory.contact_id == cid
        prompt: List[Dict[str, Any]] = [{"role": "system", "content": "You are Acme's agent."},
                                        {"role": "user", "content": "Hi, it's Sarah."}]
        sent = memory.prepare(list(prompt))
        assert sent[0] == prompt[0] and sent[1]["role"] == "system"
        assert "Prefers mornings." in sent[1]["content"] and sent[2] == prompt[1]
        assert memory.prepare(sent) is sent  # only the first time
        turn = sent + [{"role": "assistant", "content": [{"type": "text", "text": "Hello Sarah!"}]},
                       {"role": "user", "content": "Move my booking."}]
        assert await memory.remember(turn) == 3
        assert await memory.remember(turn) == 0  # nothing new
        final = turn + [{"role": "assistant", "content": "Done."}, {"role": "tool", "content": "x"}]
        assert await memory.remember(final) == 1
        context = await org.memory_context(cid, persona_id=pipecat_memory.PERSONA_ID)
        assert [m["content"] for m in context["recentMessages"]] == [
            "Hi, it's Sarah.", "Hello Sarah!", "Move my booking.", "Done."]
        withheld = pipecat_memory.CallerMemory(org, caller_id="anonymous")
        await withheld.load()
        assert withheld.contact_id is None and withheld.prepare(prompt) == prompt
        assert await withheld.remember(turn) == 0
        await store.close()  # type: ignore[attr-defined]

    asyncio.run(main())


@pytest.mark.skipif(importlib.util.find_spec("pipecat") is None, reason="pipecat-ai is not installed")
def test_pipecat_processor_in_a_pipecat_pipeline(db_path: str) -> None:  # pragma: no cover - optional
    from pipecat.frames.frames import LLMContextFrame
    from pipecat.processors.aggregators.llm_context import LLMContext
    from pipecat.tests.utils import run_test

    async def main() -> None:
        store = await aio.open(db_path)
        org = store.org("acme")
        cid = org.sync.resolve(phone_number="+14155550192")["contact"]["id"]
        org.sync.set_summary(cid, "Prefers mornings.", persona_id=pipecat_memory.PERSONA_ID)
        memory = pipecat_memory.CallerMemory(org, caller_id="+14155550192")
        context = LLMContext(messages=[{"role": "system", "content": "Agent."},
                                       {"role": "user", "content": "Hello"}])
        await run_test(pipecat_memory.memory_processor(memory),
                       frames_to_send=[LLMContextFrame(context=context)],
                       expected_down_frames=[LLMContextFrame])
        messages = list(context.messages)
        assert messages[1]["role"] == "system" and "Prefers mornings." in str(messages[1]["content"])
        got = await org.memory_context(cid, persona_id=pipecat_memory.PERSONA_ID)
        assert [m["content"] for m in got["recentMessages"]] == ["Hello"]  # appended at EndFrame
        await store.close()  # type: ignore[attr-defined]

    asyncio.run(main())
