"""Cortex v1 exemption operations: request, and approve / deny / revoke of the one active exemption
of (scorecard, entity, rule)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apps.api.cortex import representations as rep
from apps.api.cortex.base import CortexView
from apps.api.cortex.serializers import ExemptionDecisionInput, ExemptionRequestInput
from apps.api.cortex.views.lookups import (
    TAG,
    entity_for,
    rule_for,
    scorecard_for,
)
from apps.core.errors import ApplicationError
from apps.exemptions.models import Exemption, ExemptionStatus
from apps.exemptions.services import exemption_approve, exemption_deny, exemption_request, exemption_revoke


def _exemption_body(exemption_id: int) -> dict:
    exemption = Exemption.objects.select_related("requested_by", "decided_by").get(pk=exemption_id)
    return rep.exemption_of(exemption)


class ExemptionRequestView(CortexView):
    required_permissions = {"POST": "exemptions.request_exemption"}

    @extend_schema(
        tags=TAG,
        operation_id="requestExemption",
        summary="Request a rule exemption",
        request=ExemptionRequestInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, tag: str, entity_tag: str):
        scorecard = scorecard_for(request, tag)
        entity = entity_for(entity_tag)
        data = ExemptionRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        rule = rule_for(scorecard, data.validated_data["ruleIdentifier"])
        exemption = exemption_request(
            scorecard=scorecard,
            entity=entity,
            rule=rule,
            reason=data.validated_data["reason"],
            days=data.validated_data.get("days"),
            by=request.user,
            actor_label=_actor_label(request),
        )
        return Response(_exemption_body(exemption.pk))


def _actor_label(request) -> str:
    key = request.auth
    last4 = getattr(key, "last4", None)
    return f"{request.user.get_username()} (API key …{last4})" if last4 else request.user.get_username()


class ExemptionDecisionView(CortexView):
    """PUT approve / deny / revoke: the one pending (or, to revoke, approved) exemption of (scorecard, entity, rule)."""

    required_permissions = {"PUT": "exemptions.configure_exemptions"}
    action: str = ""
    _actions: ClassVar[dict[str, tuple[ExemptionStatus, Callable[..., Exemption], str]]] = {
        "approve": (ExemptionStatus.PENDING, exemption_approve, "No pending exemptions to approve found"),
        "deny": (ExemptionStatus.PENDING, exemption_deny, "No pending exemptions to deny found"),
        "revoke": (ExemptionStatus.APPROVED, exemption_revoke, "No approved exemptions to revoke found"),
    }

    def decide(self, request, tag: str, entity_tag: str):
        scorecard = scorecard_for(request, tag)
        entity = entity_for(entity_tag)
        data = ExemptionDecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        rule = rule_for(scorecard, data.validated_data["ruleIdentifier"])
        expected, service, nothing = self._actions[self.action]
        exemption_id = (
            Exemption.objects.filter(scorecard=scorecard, entity=entity, rule=rule, status=expected)
            .values_list("pk", flat=True)
            .first()
        )
        if exemption_id is None:
            raise ApplicationError(nothing)
        kwargs = {"exemption_id": exemption_id, "by": request.user}
        if self.action != "approve" or data.validated_data["reason"]:
            kwargs["reason"] = data.validated_data["reason"]
        service(**kwargs)
        return Response({"exemptions": [_exemption_body(exemption_id)]})


def _decision_view(action: str, operation_id: str, summary: str) -> type[ExemptionDecisionView]:
    @extend_schema(
        tags=TAG,
        operation_id=operation_id,
        summary=summary,
        request=ExemptionDecisionInput,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, tag: str, entity_tag: str):
        return self.decide(request, tag, entity_tag)

    return type(f"Exemption{action.title()}View", (ExemptionDecisionView,), {"action": action, "put": put})


ExemptionApproveView = _decision_view("approve", "approveExemption", "Approve the pending exemption of a rule")
ExemptionDenyView = _decision_view("deny", "denyExemption", "Deny the pending exemption of a rule")
ExemptionRevokeView = _decision_view("revoke", "revokeExemption", "Revoke the approved exemption of a rule")
