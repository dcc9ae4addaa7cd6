"""The IP allowlist over HTTP: get / validate / replace (Admin only), lockout refusal and `force`, and its
enforcement on both APIs from REMOTE_ADDR, with X-Forwarded-For read only when API_TRUST_X_FORWARDED_FOR says."""

from __future__ import annotations

import json

import pytest

from apps.security.models import IpAllowlistEntry
from tests.api.cortex.conftest import assert_cortex_error

pytestmark = pytest.mark.django_db

URL, VALIDATE = "/api/v1/ip-allowlist", "/api/v1/ip-allowlist/validate"
HOME, AWAY = "127.0.0.1", "203.0.113.9"  # the test client's REMOTE_ADDR, and an address outside every list


def put(client, entries, *, force: str | None = None, remote: str = HOME, **extra):
    path = URL + (f"?force={force}" if force is not None else "")
    return client.put(path, {"entries": entries}, format="json", REMOTE_ADDR=remote, **extra)


def entries_of(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["entries"]


def allow(*addresses: str) -> None:
    IpAllowlistEntry.objects.bulk_create(IpAllowlistEntry(address=a, position=i) for i, a in enumerate(addresses))


# --- get / replace / validate ------------------------------------------------------------------------------


def test_empty_list_by_default(admin, bearer):
    assert bearer(admin).get(URL).json() == {"entries": [], "page": 0, "total": 0, "totalPages": 0}


def test_replace_stores_v4_v6_addresses_and_ranges_normalised(admin, bearer):
    client = bearer(admin)
    given = [
        {"address": "127.0.0.1", "description": "me"},
        {"address": "10.0.0.0/8", "description": "office"},
        {"address": "192.0.2.7/32"},
        {"address": "2001:DB8::/32", "description": None},
        {"address": "::1", "description": ""},
    ]
    assert entries_of(put(client, given)) == [
        {"address": "127.0.0.1", "description": "me"},
        {"address": "10.0.0.0/8", "description": "office"},
        {"address": "192.0.2.7", "description": None},
        {"address": "2001:db8::/32", "description": None},
        {"address": "::1", "description": None},
    ]
    body = client.get(URL, {"page": 1, "pageSize": 2}).json()
    assert body["entries"] == [
        {"address": "192.0.2.7", "description": None},
        {"address": "2001:db8::/32", "description": None},
    ]
    assert (body["page"], body["total"], body["totalPages"]) == (1, 5, 3)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("nope", "is not an IP address or CIDR range"),
        ("10.0.0.1/8", "has host bits set (did you mean 10.0.0.0/8?)"),
        ("10.0.0.0/33", "is not an IP address or CIDR range"),
        ("2001:db8::1/129", "is not an IP address or CIDR range"),
        ("", "an address is required"),
        ("256.1.1.1", "is not an IP address or CIDR range"),
    ],
)
def test_invalid_entry_is_refused_and_nothing_written(admin, bearer, address, why):
    allow("127.0.0.1")
    response = put(bearer(admin), [{"address": "127.0.0.0/8"}, {"address": address}])
    body = assert_cortex_error(response, 400, "BAD_REQUEST")
    assert why in body["details"] and "entries[1].address" in body["details"]
    assert list(IpAllowlistEntry.objects.values_list("address", flat=True)) == ["127.0.0.1"]


def test_repeated_network_is_refused(admin, bearer):
    body = assert_cortex_error(put(bearer(admin), [{"address": "::1"}, {"address": "0::1/128"}]), 400, "BAD_REQUEST")
    assert "repeats entries[0]" in body["details"]


def test_malformed_body_is_400(admin, bearer):
    response = bearer(admin).put(URL, {"entries": "10.0.0.1"}, format="json")
    assert_cortex_error(response, 400, "BAD_REQUEST")


def test_validate_reports_each_entry_and_writes_nothing(admin, bearer):
    entries = [{"address": "10.0.0.0/8", "description": "office"}, {"address": "fe80::/10"}, {"address": "x"}]
    body = bearer(admin).post(VALIDATE, {"entries": entries}, format="json").json()
    assert body["valid"] is False
    assert body["entries"][:2] == [
        {"address": "10.0.0.0/8", "description": "office", "valid": True},
        {"address": "fe80::/10", "description": None, "valid": True},
    ]
    assert body["entries"][2]["valid"] is False and "is not an IP address" in body["entries"][2]["message"]
    ok = bearer(admin).post(VALIDATE, {"entries": entries[:1]}, format="json").json()
    assert ok["valid"] is True
    assert not IpAllowlistEntry.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "post"])
def test_only_admin_may_read_or_change(key_for, bearer, method):
    from apps.accounts.roles import APPROVER, EDITOR, VIEWER

    for role in (VIEWER, EDITOR, APPROVER):
        client = bearer(key_for(role))
        path = VALIDATE if method == "post" else URL
        response = (
            getattr(client, method)(path, {"entries": []}, format="json") if method != "get" else client.get(path)
        )
        assert_cortex_error(response, 403, "FORBIDDEN", details_contains="security.configure_ip_allowlist")


# --- lockout -----------------------------------------------------------------------------------------------


def test_replace_that_leaves_out_the_caller_is_refused_naming_the_address(admin, bearer):
    body = assert_cortex_error(put(bearer(admin), [{"address": "10.0.0.0/8"}]), 400, "BAD_REQUEST")
    assert HOME in body["details"] and "force=true" in body["details"]
    assert not IpAllowlistEntry.objects.exists()


def test_force_replaces_anyway_and_then_the_caller_is_shut_out(admin, bearer):
    client = bearer(admin)
    assert entries_of(put(client, [{"address": "10.0.0.0/8"}], force="True")) == [
        {"address": "10.0.0.0/8", "description": None}
    ]
    body = assert_cortex_error(client.get(URL), 403, "FORBIDDEN")
    assert HOME in body["details"] and "allowlist" in body["details"]


def test_a_range_holding_the_caller_is_enough(admin, bearer):
    assert len(entries_of(put(bearer(admin), [{"address": "127.0.0.0/8"}], force="false"))) == 1


def test_emptying_the_list_never_locks_out(admin, bearer):
    allow("127.0.0.1")
    assert entries_of(put(bearer(admin), [])) == []
    assert bearer(admin).get(URL, REMOTE_ADDR=AWAY).status_code == 200


# --- enforcement -------------------------------------------------------------------------------------------


def test_non_listed_address_is_refused_on_both_apis_before_authentication(admin, bearer):
    allow("127.0.0.1", "2001:db8::/32")
    client = bearer(admin)
    body = assert_cortex_error(client.get("/api/v1/scorecards", REMOTE_ADDR=AWAY), 403, "FORBIDDEN")
    assert AWAY in body["details"]
    # No key at all: still the allowlist's 403, not a 401.
    assert_cortex_error(bearer(None).get("/api/v1/scorecards", REMOTE_ADDR=AWAY), 403, "FORBIDDEN")
    response = client.get("/api/v2/scorecard/rules", REMOTE_ADDR=AWAY)
    assert response.status_code == 403
    [error] = json.loads(response.content)["errors"]
    assert AWAY in json.dumps(error)
    # Listed addresses (an IPv6 one in a range, an IPv4-mapped IPv6 form) pass.
    assert client.get("/api/v1/scorecards").status_code == 200
    assert client.get("/api/v1/scorecards", REMOTE_ADDR="2001:db8::42").status_code == 200
    assert client.get("/api/v1/scorecards", REMOTE_ADDR="::ffff:127.0.0.1").status_code == 200
    assert client.get("/api/v2/scorecard/rules").status_code == 200


def test_pages_are_not_restricted(client):
    allow("10.0.0.0/8")
    assert client.get("/accounts/login/", REMOTE_ADDR=AWAY).status_code in (200, 302)


def test_forwarded_for_is_ignored_unless_trusted(admin, bearer, settings):
    allow("10.0.0.0/8")
    client = bearer(admin)
    # A client cannot claim a listed address with the header when no proxy is trusted.
    assert client.get(URL, REMOTE_ADDR=AWAY, HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
    settings.API_TRUST_X_FORWARDED_FOR = 1
    # Behind one trusted proxy (REMOTE_ADDR is the proxy), the address it appended is the client's.
    assert client.get(URL, REMOTE_ADDR=AWAY, HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200
    # Only the entry the trusted proxy wrote counts: what the client put left of it is not believed.
    response = client.get(URL, REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="10.1.2.3, 198.51.100.1")
    assert_cortex_error(response, 403, "FORBIDDEN", details_contains="198.51.100.1")
    settings.API_TRUST_X_FORWARDED_FOR = 2
    assert client.get(URL, REMOTE_ADDR=AWAY, HTTP_X_FORWARDED_FOR="10.1.2.3, 198.51.100.1").status_code == 200


def test_lockout_check_uses_the_trusted_forwarded_address(admin, bearer, settings):
    settings.API_TRUST_X_FORWARDED_FOR = 1
    response = put(bearer(admin), [{"address": "127.0.0.1"}], HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="10.1.2.3")


def test_the_list_is_read_once_per_process_not_per_request(admin, bearer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    allow("127.0.0.1")
    client = bearer(admin)
    with CaptureQueriesContext(connection) as first:
        client.get("/api/v1/scorecards")
    with CaptureQueriesContext(connection) as second:
        client.get("/api/v1/scorecards")
    reads = [[q for q in run.captured_queries if "security_ipallowlistentry" in q["sql"]] for run in (first, second)]
    assert [len(r) for r in reads] == [1, 0]
