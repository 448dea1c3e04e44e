"""A real `contactstore serve` for the harness tests, on a free loopback port.

The binary is $CONTACTSTORE_BIN, else target/debug/contactstore of this checkout.
Keys come from a 0600 keys file, as the README recommends.
"""

import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ACME_KEY = "harness-key-acme"
GLOBEX_KEY = "harness-key-globex"


def binary() -> str:
    return os.environ.get("CONTACTSTORE_BIN", str(ROOT / "target" / "debug" / "contactstore"))


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    """Starts the shim on its own database; yields its base URL."""
    home = tmp_path_factory.mktemp("shim")
    keys = home / "keys"
    keys.write_text(f"# harness keys\n{ACME_KEY}=acme\n{GLOBEX_KEY}=globex\n")
    keys.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTSTORE_")}
    process = subprocess.Popen(
        [binary(), "--db", str(home / "contacts.db"), "serve",
         "--listen", "127.0.0.1:0", "--api-keys-file", str(keys)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["errors"] is None, ready
        assert ready["data"]["orgs"] == ["acme", "globex"]
        yield ready["data"]["base_url"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


@pytest.fixture
def acme(shim):
    with httpx.Client(base_url=shim, headers={"authorization": ACME_KEY}, timeout=30) as client:
        yield client


@pytest.fixture
def globex(shim):
    with httpx.Client(base_url=shim, headers={"authorization": f"Bearer {GLOBEX_KEY}"}, timeout=30) as client:
        yield client
