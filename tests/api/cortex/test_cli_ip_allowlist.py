"""The real Cortex CLI (cortexapps-cli) against the live server for every `ip-allowlist` subcommand: get,
validate, replace (by -a and by -f, with and without --force) and remove-all. The live server sees the CLI at
127.0.0.1. cortexapps-cli splits `-a` entries at ':', so IPv6 entries go through `-f`."""

from __future__ import annotations

import json

import pytest

from apps.accounts.roles import ADMIN, VIEWER
from tests.api.cortex.test_cli import cortex, write  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),
]


def test_every_ip_allowlist_subcommand(cortex, write, key_for):  # noqa: F811
    admin = key_for(ADMIN).key

    assert cortex(admin, "ip-allowlist", "get").json["entries"] == []

    body = cortex(admin, "ip-allowlist", "validate", "-a", "10.0.0.0/8:office,10.0.0.1/8").json
    assert body["valid"] is False
    assert body["entries"][0] == {"address": "10.0.0.0/8", "description": "office", "valid": True}
    assert "host bits" in body["entries"][1]["message"]

    # Leaving out the caller's own address is refused, naming it.
    cortex(admin, "ip-allowlist", "replace", "-a", "10.0.0.0/8").failed_with("HTTP Error 400").failed_with("127.0.0.1")
    assert cortex(admin, "ip-allowlist", "get").json["entries"] == []

    replaced = cortex(admin, "ip-allowlist", "replace", "-a", "127.0.0.1:my laptop,10.0.0.0/8:office").json
    assert replaced["entries"] == [
        {"address": "127.0.0.1", "description": "my laptop"},
        {"address": "10.0.0.0/8", "description": "office"},
    ]
    # A file, with IPv6 entries, and `get` paging through it.
    document = {"entries": [{"address": "127.0.0.0/8"}, {"address": "2001:db8::/32", "description": "v6"}]}
    cortex(admin, "ip-allowlist", "replace", "-f", write("list.json", json.dumps(document))).succeeded()
    assert cortex(admin, "ip-allowlist", "get", "-p", "0", "-z", "1").json["entries"] == [
        {"address": "127.0.0.0/8", "description": None}
    ]
    assert [e["address"] for e in cortex(admin, "ip-allowlist", "get").json["entries"]] == [
        "127.0.0.0/8",
        "2001:db8::/32",
    ]
    # Only Admin configures it.
    cortex(key_for(VIEWER).key, "ip-allowlist", "get").failed_with("HTTP Error 403")

    assert cortex(admin, "ip-allowlist", "remove-all").json["entries"] == []

    # --force shuts the caller out: every later API call answers 403.
    cortex(admin, "ip-allowlist", "replace", "-a", "10.0.0.0/8", "--force").succeeded()
    cortex(admin, "ip-allowlist", "get").failed_with("HTTP Error 403").failed_with("127.0.0.1")
    cortex(admin, "ip-allowlist", "remove-all").failed_with("HTTP Error 403")
