"""The first minute with contactstore: a caller resolved, remembered, found again.

    python examples/quickstart.py [contacts.db]

Without a path it works in a temporary directory.
"""

from __future__ import annotations

import os
import sys
import tempfile

import contactstore


def main(path: str) -> None:
    with contactstore.open(path) as store:
        org = store.org("acme")

        # A call comes in: find or create the caller, and the persona's memory of them.
        call = org.resolve(phone_number="(415) 555-0192", name="Sarah Chen",
                           persona_id="persona-frontdesk")
        contact_id = call["contact"]["id"]
        print("call:", "new contact" if call["created"] else "known contact", contact_id)

        # What was said, and what the agent should remember.
        org.add_messages(contact_id, [
            {"role": "user", "content": "Has my order 8821 shipped?", "channel": "call"},
            {"role": "assistant", "content": "Yes, it arrives Thursday.", "channel": "call"},
        ], persona_id="persona-frontdesk")
        org.set_summary(contact_id, "Asked about order 8821 (arrives Thursday).",
                        persona_id="persona-frontdesk")

        # Later a web form: same person, another spelling, and a new identifier.
        form = org.resolve(phone_number="+1 415 555 0192", email="Sarah@Example.com")
        assert form["contact"]["id"] == contact_id

        sarah = org.find(email="sarah@example.com")
        assert sarah is not None
        print("identifiers:", [i["identifier_value"] for i in sarah["identifiers"]])
        context = org.memory_context(contact_id, persona_id="persona-frontdesk")
        print("summary:", context["summary"])
        print("recent messages:", len(context["recentMessages"]))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as directory:
            main(os.path.join(directory, "contacts.db"))
