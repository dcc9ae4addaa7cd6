"""Reads of notification runs and logs, shaped after Cortex's "Retrieve notification runs / logs" filters.

Both return lazy QuerySets with their foreign keys joined, so the API pages them with one query per page.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.notifications.models import NotificationLog, NotificationRun

ORDERS = ("ASC", "DESC")


def _aware(value: datetime) -> datetime:
    """Cortex examples send naive times ("2021-01-01T00:00:00"); read them in the site's time zone."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _ordering(order: str) -> list[str]:
    normalized = (order or "DESC").upper()
    if normalized not in ORDERS:
        raise ApplicationError(f"order must be ASC or DESC, not {order!r}")
    # The id breaks ties between rows written in one bulk insert (same created_at), so pages are stable.
    return ["created_at", "id"] if normalized == "ASC" else ["-created_at", "-id"]


def _in_range(qs: QuerySet, from_date: datetime | None, until_date: datetime | None) -> QuerySet:
    if from_date is not None:
        qs = qs.filter(created_at__gte=_aware(from_date))
    if until_date is not None:
        qs = qs.filter(created_at__lte=_aware(until_date))
    return qs


def notification_run_list(
    *,
    search: str | None = None,
    from_date: datetime | None = None,
    until_date: datetime | None = None,
    delivered_only: bool = False,
    include_logs: bool = False,
    order: str = "DESC",
) -> QuerySet[NotificationRun]:
    """Notification runs, newest first by default.

    `search` matches the kind and the scorecard's tag or name; `delivered_only` keeps runs that reached
    someone (the Cortex API defaults it to true; pass it explicitly there). `include_logs` prefetches
    each run's logs (with their entity) as `run.log_list`: one more query for the whole page.
    """
    qs = NotificationRun.objects.select_related("scorecard", "evaluation_run")
    if search:
        qs = qs.filter(
            Q(kind__icontains=search) | Q(scorecard__tag__icontains=search) | Q(scorecard__name__icontains=search)
        )
    if delivered_only:
        qs = qs.delivered()
    if include_logs:
        qs = qs.prefetch_related(
            Prefetch(
                "logs",
                queryset=NotificationLog.objects.select_related("recipient_entity").order_by("id"),
                to_attr="log_list",
            )
        )
    return _in_range(qs, from_date, until_date).order_by(*_ordering(order))


def notification_log_list(
    *,
    run_ids: Iterable[int] | None = None,
    emails: Iterable[str] | None = None,
    entity_ids: Iterable[int] | None = None,
    channels: Iterable[str] | None = None,
    from_date: datetime | None = None,
    until_date: datetime | None = None,
    order: str = "DESC",
) -> QuerySet[NotificationLog]:
    """Notification logs matching every given filter (each a list: any of its values), newest first by default.

    Emails match case-insensitively: they are stored lowercased, so the filter lowercases too and
    still uses the (recipient_email, created_at) index.
    """
    qs = NotificationLog.objects.select_related("notification_run", "notification_run__scorecard", "recipient_entity")
    if run_ids is not None:
        qs = qs.filter(notification_run_id__in=list(run_ids))
    if emails is not None:
        qs = qs.filter(recipient_email__in=[email.strip().lower() for email in emails])
    if entity_ids is not None:
        qs = qs.filter(recipient_entity_id__in=list(entity_ids))
    if channels is not None:
        qs = qs.filter(recipient_channel__in=list(channels))
    return _in_range(qs, from_date, until_date).order_by(*_ordering(order))
