"""Writes of the IP allowlist."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from apps.core.errors import ApplicationError, Problem, ValidationFailed
from apps.security.addresses import Address, Checked, allowed, check_address
from apps.security.models import IpAllowlistEntry
from apps.security.selectors import allowed_networks_forget

MAX_ENTRIES = 1000
MAX_DESCRIPTION = 255


def ip_allowlist_check(*, entries: Sequence[dict]) -> list[Checked]:
    """Each entry checked on its own (address, description length) and against the others (a network given
    twice). Writes nothing."""
    checked: list[Checked] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        item = check_address(entry.get("address"), entry.get("description"))
        if not item.error and item.description is not None and len(item.description) > MAX_DESCRIPTION:
            item = Checked(item.address, item.description, None, f"description is longer than {MAX_DESCRIPTION}")
        if not item.error:
            first = seen.setdefault(item.normalised, index)
            if first != index:
                item = Checked(item.address, item.description, None, f"repeats entries[{first}] ({item.normalised})")
        checked.append(item)
    return checked


@transaction.atomic
def ip_allowlist_replace(*, entries: Sequence[dict], caller: Address | None, force: bool = False) -> None:
    """Replace the whole list. Refused (nothing written) when an entry is invalid, or, unless `force`, when the
    new list is not empty and leaves out the caller's own address, which would lock the caller out of the API.
    Side effect: this process's cached copy is dropped at once and again after commit."""
    if len(entries) > MAX_ENTRIES:
        raise ApplicationError(f"The allowlist holds at most {MAX_ENTRIES} entries, not {len(entries)}.")
    checked = ip_allowlist_check(entries=entries)
    problems = [
        Problem(f"{item.address!r} {item.error}", path=f"entries[{i}].address")
        for i, item in enumerate(checked)
        if item.error
    ]
    if problems:
        raise ValidationFailed(problems=problems)
    networks = tuple(item.network for item in checked if item.network is not None)
    if not force and not allowed(caller, networks):
        shown = str(caller) if caller is not None else "unknown"
        raise ApplicationError(
            f"The new allowlist does not contain your address {shown}, so you would lose access to the API. "
            "Add it, or pass force=true to replace the list anyway."
        )
    IpAllowlistEntry.objects.all().delete()
    IpAllowlistEntry.objects.bulk_create(
        IpAllowlistEntry(address=item.normalised, description=item.description or "", position=i)
        for i, item in enumerate(checked)
    )
    allowed_networks_forget()
    transaction.on_commit(allowed_networks_forget)
