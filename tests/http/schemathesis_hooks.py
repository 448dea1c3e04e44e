"""Schemathesis hooks for the shim's OpenAPI document (loaded via SCHEMATHESIS_HOOKS).

The document names the format of phone fields ``phone-number``: a number
libphonenumber accepts. Values are drawn from ``phone_numbers.txt`` — the metadata's
own example numbers, kept in step by a Rust test — in the spellings callers send,
SIP and tel URIs included.
"""

from pathlib import Path

import schemathesis
from hypothesis import strategies as st

_NUMBERS = [
    line
    for line in (Path(__file__).with_name("phone_numbers.txt")).read_text().splitlines()
    if line
]


def _spellings(number: str) -> list[str]:
    digits = "".join(c for c in number if c.isdigit() or c == "+")
    spellings = [number, digits]
    if number.startswith("+"):
        spellings.append(f"tel:{digits}")
        # As a SIP trunk delivers a caller: a URI, bare or in angle brackets.
        spellings.append(f"sip:{digits}@trunk.example.com")
        spellings.append(f"<sips:{digits}@trunk.example.com;user=phone>")
    return spellings


schemathesis.openapi.format(
    "phone-number",
    st.sampled_from(_NUMBERS).flatmap(lambda n: st.sampled_from(_spellings(n))),
)
