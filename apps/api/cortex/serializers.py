"""Input bodies of the Cortex v1 API: validation only."""

from __future__ import annotations

from rest_framework import serializers


class ExemptionRequestInput(serializers.Serializer):
    # The CLI always sends days, 0 when the user gave none: 0 or null means "until revoked".
    days = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    reason = serializers.CharField(max_length=4000)
    ruleIdentifier = serializers.CharField(max_length=255)  # noqa: N815 (the wire name)


class ExemptionDecisionInput(serializers.Serializer):
    ruleIdentifier = serializers.CharField(max_length=255)  # noqa: N815
    reason = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class CustomDataInput(serializers.Serializer):
    key = serializers.CharField(max_length=255)
    value = serializers.JSONField()
    description = serializers.CharField(max_length=1024, required=False, allow_blank=True, allow_null=True)


class CustomDataBulkInput(serializers.Serializer):
    """`{"values": {"<entity tag>": [{"key", "value", "description"?}, ...]}}`, as Cortex's bulk call."""

    values = serializers.DictField(
        child=serializers.ListField(child=CustomDataInput(), allow_empty=False), allow_empty=False
    )
