"""Emails about exemption transitions: approvers hear of requests, requesters hear of decisions."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.mail import send_mass_mail
from django.db.models import Q

from apps.accounts.models import User
from apps.exemptions.models import Exemption, ExemptionStatus

logger = logging.getLogger(__name__)


def _approver_emails() -> list[str]:
    perm = Permission.objects.get(codename="configure_exemptions", content_type__app_label="exemptions")
    users = User.objects.filter(Q(groups__permissions=perm) | Q(user_permissions=perm) | Q(is_superuser=True))
    return sorted({email for email in users.filter(is_active=True).values_list("email", flat=True) if email})


def notify_transition(*, exemption_id: int, to_status: str) -> int:
    """Send the emails for one transition; returns how many were sent. Mail failures are logged, not raised."""
    exemption = (
        Exemption.objects.select_related("entity", "rule", "scorecard", "requested_by").filter(pk=exemption_id).first()
    )
    if exemption is None:
        return 0
    subject_base = f"[Scorecards] {exemption.entity.tag}: exemption from {exemption.rule.title!r}"
    if to_status == ExemptionStatus.PENDING:
        recipients = _approver_emails()
        body = (
            f"{exemption.requested_by or 'Someone'} asks to exempt {exemption.entity.tag} from the rule "
            f"{exemption.rule.title!r} of {exemption.scorecard.name}.\n\nReason: {exemption.reason}\n"
        )
        subject = f"{subject_base} requested"
    else:
        email = exemption.requested_by.email if exemption.requested_by else ""
        recipients = [email] if email else []
        body = f"The exemption is now {to_status.lower()}."
        if exemption.decision_reason:
            body += f"\n\nReason: {exemption.decision_reason}"
        subject = f"{subject_base} {to_status.lower()}"
    if not recipients:
        return 0
    try:
        return send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)], fail_silently=False)
    except OSError:
        logger.exception("could not send exemption email for %s", exemption_id)
        return 0
