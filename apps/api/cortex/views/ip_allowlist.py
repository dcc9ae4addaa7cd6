"""Cortex v1 IP allowlist: get (paged), validate, and replace the list of addresses and CIDR ranges.

Cortex asks for the "Configure IP allowlist" permission for all three; here that is
`security.configure_ip_allowlist`, which only the Admin role holds. The list is enforced by
apps.api.middleware.IpAllowlistMiddleware."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from apps.api.cortex.base import CortexView, Page
from apps.api.cortex.serializers import IpAllowlistInput
from apps.api.cortex.views.lookups import TAG
from apps.api.params import query_bool
from apps.security.addresses import client_address
from apps.security.models import IpAllowlistEntry
from apps.security.selectors import ip_allowlist_list
from apps.security.services import ip_allowlist_check, ip_allowlist_replace

PERMISSION = "security.configure_ip_allowlist"


def _entry(row: IpAllowlistEntry) -> dict:
    return {"address": row.address, "description": row.description or None}


def _entries(request) -> list[dict]:
    data = IpAllowlistInput(data=request.data)
    data.is_valid(raise_exception=True)
    return list(data.validated_data["entries"])


def _list_body(page: Page) -> dict:
    rows = list(ip_allowlist_list())
    return {
        "entries": [_entry(row) for row in page.slice(rows)],
        "page": page.number,
        "total": len(rows),
        "totalPages": page.total_pages(len(rows)),
    }


class IpAllowlistView(CortexView):
    required_permissions = {"GET": PERMISSION, "PUT": PERMISSION}

    @extend_schema(
        tags=TAG,
        operation_id="getIpAllowlist",
        summary="Get the allowlist of IP addresses and ranges",
        parameters=[
            OpenApiParameter("page", int, description="0-indexed page, default 0"),
            OpenApiParameter("pageSize", int, description="between 1 and 1000, default 250"),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        return Response(_list_body(Page.from_request(request)))

    @extend_schema(
        tags=TAG,
        operation_id="replaceIpAllowlist",
        summary="Replace the allowlist (refused when it would shut out the caller, unless force=true)",
        parameters=[OpenApiParameter("force", bool, description="replace even without the caller's address")],
        request=IpAllowlistInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request):
        force = query_bool(request, "force", False)
        ip_allowlist_replace(entries=_entries(request), caller=client_address(request), force=bool(force))
        return Response(_list_body(Page(number=0, size=None)))


class IpAllowlistValidateView(CortexView):
    required_permissions = {"POST": PERMISSION}

    @extend_schema(
        tags=TAG,
        operation_id="validateIpAllowlist",
        summary="Validate a list of IP addresses and ranges (writes nothing)",
        request=IpAllowlistInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        """Each entry with `valid` and, when invalid, `message`; `valid` at the top when every entry is. Always
        200: the answer is the finding, as Cortex's reference shows it."""
        checked = ip_allowlist_check(entries=_entries(request))
        entries = []
        for item in checked:
            entry = {
                "address": item.normalised if item.network is not None else item.address,
                "description": item.description or None,
                "valid": item.network is not None,
            }
            if item.error:
                entry["message"] = f"{item.address!r} {item.error}"
            entries.append(entry)
        return Response({"entries": entries, "valid": all(e["valid"] for e in entries)})
