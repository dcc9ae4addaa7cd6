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


# --- deploys, custom events, custom metrics -------------------------------------------------------------

MAX_CUSTOM_DATA_BYTES = 64 * 1024


def _nul_path(value, path: str = "") -> str | None:
    """Where a NUL character hides in a JSON value (keys included), or None: PostgreSQL cannot store one."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _nul_path(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class CustomDataObject(serializers.JSONField):
    """`customData`: a JSON object (or null) of at most 64 KiB, without NUL characters."""

    def to_internal_value(self, data):
        import json

        value = super().to_internal_value(data)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        where = _nul_path(value)
        if where is not None:
            raise serializers.ValidationError(f"NUL characters are not allowed (at {where!r})")
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_CUSTOM_DATA_BYTES:
            raise serializers.ValidationError(f"must be at most {MAX_CUSTOM_DATA_BYTES // 1024} KiB of JSON")
        return value


def _text(max_length: int, **kwargs) -> serializers.CharField:
    """An optional text field: null, blank or absent all mean "none"."""
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, allow_null=True, **kwargs)


class DeployerInput(serializers.Serializer):
    name = _text(255)
    email = _text(254)


class DeployInput(serializers.Serializer):
    """A deploy as Cortex's "Add deployment for entity" takes it (and, every field optional, its update)."""

    timestamp = serializers.DateTimeField()
    title = serializers.CharField(max_length=255)
    type = serializers.ChoiceField(choices=["DEPLOY", "SCALE", "ROLLBACK", "RESTART"])
    sha = _text(255)
    environment = _text(255)
    url = _text(2048)
    deployer = DeployerInput(required=False, allow_null=True)
    customData = CustomDataObject(required=False, allow_null=True)  # noqa: N815 (the wire name)

    def model_fields(self) -> dict:
        """validated_data under the model's field names; with partial=True only what was sent."""
        data = self.validated_data
        out = {name: data[name] for name in ("timestamp", "title", "type") if name in data}
        out.update({name: data[name] or "" for name in ("sha", "environment", "url") if name in data})
        if "deployer" in data:
            deployer = data["deployer"] or {}
            out["deployer_name"] = deployer.get("name") or ""
            out["deployer_email"] = deployer.get("email") or ""
        if "customData" in data:
            out["custom_data"] = data["customData"]
        return out


class CustomEventInput(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    title = serializers.CharField(max_length=255)
    type = serializers.CharField(max_length=255)
    description = _text(10_000)
    url = _text(2048)
    customData = CustomDataObject(required=False, allow_null=True)  # noqa: N815

    def model_fields(self) -> dict:
        data = self.validated_data
        out = {name: data[name] for name in ("timestamp", "title", "type") if name in data}
        out.update({name: data[name] or "" for name in ("description", "url") if name in data})
        if "customData" in data:
            out["custom_data"] = data["customData"]
        return out


class FiniteFloat(serializers.FloatField):
    def to_internal_value(self, data):
        import math

        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError("must be a finite number")
        return value


class MetricPointInput(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    value = FiniteFloat()


class MetricPointsInput(serializers.Serializer):
    series = serializers.ListField(child=MetricPointInput(), allow_empty=False, max_length=5000)


class CustomMetricInput(serializers.Serializer):
    """A custom metric definition (Cortex's `type` is always PUBLIC_API for metrics defined through the API)."""

    key = serializers.RegexField(
        r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,253}[A-Za-z0-9])?$",
        max_length=255,
        error_messages={"invalid": "1-255 letters, digits and hyphens, starting and ending alphanumeric"},
    )
    name = serializers.CharField(max_length=255)
    valence = serializers.ChoiceField(choices=["POSITIVE", "NEGATIVE", "NEUTRAL"])
    category = _text(255)
    description = _text(4000)
    isDraft = serializers.BooleanField(required=False)  # noqa: N815
    type = serializers.ChoiceField(choices=["PUBLIC_API"], required=False)

    def model_fields(self) -> dict:
        data = self.validated_data
        out = {name: data[name] for name in ("key", "name", "valence") if name in data}
        out.update({name: data[name] or "" for name in ("category", "description") if name in data})
        if "isDraft" in data:
            out["is_draft"] = data["isDraft"]
        return out
