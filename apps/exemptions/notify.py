"""Emails about exemption transitions: approvers hear of requests, requesters hear of decisions."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.urls import reverse

from apps.accounts.models import User
from apps.exemptions.links import report_card_path
from apps.exemptions.models import Exemption, ExemptionStatus

logger = logging.getLogger(__name__)


def _approver_emails() -> list[str]:
    perm = Permission.objects.get(codename="configure_exemptions", content_type__app_label="exemptions")
    users = User.objects.filter(Q(groups__permissions=perm) | Q(user_permissions=perm) | Q(is_superuser=True))
    return sorted({email for email in users.filter(is_active=True).values_list("email", flat=True) if email})


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def notify_transition(*, exemption_id: int, to_status: str) -> int:
    """Send the emails for one transition; returns how many were sent. Mail failures are logged, not raised."""
    exemption = (
        Exemption.objects.select_related("entity", "rule", "scorecard", "requested_by").filter(pk=exemption_id).first()
    )
    if exemption is None:
        return 0
    subject_base = f"[Scorecards] {exemption.entity.tag}: exemption from {exemption.rule.title!r}"
    # Each email links (absolute URLs on SITE_URL) to the page where its reader acts.
    report_card = _absolute(report_card_path(exemption.entity.tag, exemption.scorecard.tag))
    if to_status == ExemptionStatus.PENDING:
        recipients = _approver_emails()
        body = (
            f"{exemption.requested_by or 'Someone'} asks to exempt {exemption.entity.tag} from the rule "
            f"{exemption.rule.title!r} of {exemption.scorecard.name}.\n\nReason: {exemption.reason}\n"
            f"\nApprove or deny it in your inbox: {_absolute(reverse('exemptions:list'))}?tab=inbox\n"
            f"The entity's report card: {report_card}\n"
        )
        subject = f"{subject_base} requested"
    else:
        email = exemption.requested_by.email if exemption.requested_by else ""
        recipients = [email] if email else []
        label = ExemptionStatus(to_status).label
        body = f"Your exemption of {exemption.entity.tag} from the rule {exemption.rule.title!r} is now: {label}."
        if exemption.decision_reason:
            body += f"\n\nReason: {exemption.decision_reason}"
        body += (
            f"\n\nSee the rule on the entity's report card: {report_card}\n"
            f"Your requests: {_absolute(reverse('exemptions:list'))}?tab=mine\n"
        )
        subject = f"{subject_base}: {label}"
    if not recipients:
        return 0
    try:
        return send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)], fail_silently=False)
    except OSError:
        logger.exception("could not send exemption email for %s", exemption_id)
        return 0
