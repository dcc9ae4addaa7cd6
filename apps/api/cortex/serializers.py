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


class QueryRunInput(serializers.Serializer):
    # The CLI sends a file's text as is, newline and all; the service strips it and limits its length.
    query = serializers.CharField(max_length=20_000, trim_whitespace=False)


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


# --- dependencies and relationships ----------------------------------------------------------------------


class StrictCharField(serializers.CharField):
    """A string and nothing else: DRF's CharField would take 5 or 1.5 for "5" and "1.5". NUL characters
    are refused (DRF's own validator), since PostgreSQL cannot store them."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class MetadataField(serializers.JSONField):
    """A dependency's metadata: a JSON object without NUL characters, at most METADATA_MAX_BYTES."""

    def to_internal_value(self, data):
        from apps.catalog.descriptors import metadata_problem

        value = super().to_internal_value(data)
        problem = metadata_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class DependencyInput(serializers.Serializer):
    """The body of `POST`/`PUT /catalog/{caller}/dependencies/{callee}`: `{description, metadata}`."""

    description = StrictCharField(max_length=4000, required=False, allow_blank=True, allow_null=True)
    metadata = MetadataField(required=False, allow_null=True)


class DependencyItemInput(DependencyInput):
    tag = StrictCharField(max_length=255)
    method = StrictCharField(max_length=16, required=False, allow_blank=True, allow_null=True)
    path = StrictCharField(max_length=512, required=False, allow_blank=True, allow_null=True)

    def validate(self, attrs):
        from apps.api.cortex.views.lookups import endpoint_of

        attrs["method"], attrs["path"] = endpoint_of(attrs.get("method"), attrs.get("path"))
        attrs["description"] = attrs.get("description") or ""
        attrs["metadata"] = attrs.get("metadata") or {}
        return attrs


class DependencyBulkInput(serializers.Serializer):
    """`{"values": {"<caller tag>": [{"tag", "method"?, "path"?, "description"?, "metadata"?}, ...]}}`."""

    values = serializers.DictField(
        child=serializers.ListField(child=DependencyItemInput(), allow_empty=False, max_length=1000),
        allow_empty=False,
    )


def _filter_field():
    return serializers.DictField(required=False, allow_null=True)


class RelationshipTypeInput(serializers.Serializer):
    """A relationship type as Cortex's API takes it (create and update)."""

    tag = StrictCharField(max_length=255, required=False)
    name = StrictCharField(max_length=255)
    description = StrictCharField(max_length=4000, required=False, allow_blank=True, allow_null=True)
    definitionLocation = serializers.ChoiceField(choices=["SOURCE", "DESTINATION", "BOTH"])  # noqa: N815
    allowCycles = serializers.BooleanField(required=False, default=False)  # noqa: N815
    createCatalog = serializers.BooleanField(required=False, default=False)  # noqa: N815
    isSingleSource = serializers.BooleanField(required=False, default=False)  # noqa: N815
    isSingleDestination = serializers.BooleanField(required=False, default=False)  # noqa: N815
    sourcesFilter = _filter_field()  # noqa: N815
    destinationsFilter = _filter_field()  # noqa: N815
    inheritances = serializers.ListField(child=serializers.DictField(), required=False, allow_null=True)
    sourceLabelSingular = StrictCharField(max_length=255, required=False, allow_blank=True, allow_null=True)  # noqa: N815
    sourceLabelPlural = StrictCharField(max_length=255, required=False, allow_blank=True, allow_null=True)  # noqa: N815
    destinationLabelSingular = StrictCharField(  # noqa: N815
        max_length=255, required=False, allow_blank=True, allow_null=True
    )
    destinationLabelPlural = StrictCharField(  # noqa: N815
        max_length=255, required=False, allow_blank=True, allow_null=True
    )

    def validate_tag(self, value: str) -> str:
        from apps.catalog.models import tag_validator

        try:
            tag_validator(value)
        except Exception as exc:
            raise serializers.ValidationError(tag_validator.message) from exc
        return value

    def _filter(self, value, name):
        if not value:
            return {}
        include = value.get("include", True)
        types = value.get("types", [])
        if not isinstance(include, bool):
            raise serializers.ValidationError({name: "include must be true or false"})
        if not isinstance(types, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in types):
            raise serializers.ValidationError({name: "types must be a list of entity type names"})
        if any("\x00" in t for t in types):
            raise serializers.ValidationError({name: "types must not hold NUL characters"})
        return {"include": include, "types": types}

    def validate(self, attrs):
        from apps.catalog.descriptors import nul_path

        inheritances = attrs.get("inheritances") or []
        for index, item in enumerate(inheritances):
            if item.get("inheritanceType") not in ("APPEND", "FALLBACK", "NONE"):
                raise serializers.ValidationError(
                    {f"inheritances[{index}].inheritanceType": "must be APPEND, FALLBACK or NONE"}
                )
            if not isinstance(item.get("parameterTag"), str):
                raise serializers.ValidationError({f"inheritances[{index}].parameterTag": "must be a string"})
        where = nul_path(inheritances)
        if where is not None:
            raise serializers.ValidationError({f"inheritances{where}": "must not hold NUL characters"})
        return {
            "tag": attrs.get("tag"),
            "fields": {
                "name": attrs["name"],
                "description": attrs.get("description") or "",
                "definition_location": attrs["definitionLocation"],
                "allow_cycles": attrs["allowCycles"],
                "create_catalog": attrs["createCatalog"],
                "is_single_source": attrs["isSingleSource"],
                "is_single_destination": attrs["isSingleDestination"],
                "sources_filter": self._filter(attrs.get("sourcesFilter"), "sourcesFilter"),
                "destinations_filter": self._filter(attrs.get("destinationsFilter"), "destinationsFilter"),
                "inheritances": inheritances,
                "source_label_singular": attrs.get("sourceLabelSingular") or "",
                "source_label_plural": attrs.get("sourceLabelPlural") or "",
                "destination_label_singular": attrs.get("destinationLabelSingular") or "",
                "destination_label_plural": attrs.get("destinationLabelPlural") or "",
            },
        }


class DestinationsInput(serializers.Serializer):
    """`{"destinations": ["tag or id", ...]}` (plain tags, or `{"tag": ...}` objects)."""

    destinations = serializers.ListField(max_length=1000)

    def validate_destinations(self, value):
        return tags_of(value, "destinations")


class SourcesInput(serializers.Serializer):
    sources = serializers.ListField(max_length=1000)

    def validate_sources(self, value):
        return tags_of(value, "sources")


def tags_of(items: list, name: str) -> list[str]:
    out = []
    for index, item in enumerate(items):
        tag = item.get("tag") if isinstance(item, dict) else item
        if not isinstance(tag, str) or not tag or len(tag) > 255 or "\x00" in tag:
            raise serializers.ValidationError(f"[{index}] must be an entity tag (a string of 1 to 255 characters)")
        out.append(tag)
    return out


class RelationshipPairInput(serializers.Serializer):
    source = StrictCharField(max_length=255)  # type: ignore[assignment]  # a field named as Cortex's, not Field.source
    destination = StrictCharField(max_length=255)


class RelationshipsBulkInput(serializers.Serializer):
    """`{"relationships": [{"source": tag, "destination": tag}, ...]}`."""

    relationships = serializers.ListField(child=RelationshipPairInput(), max_length=10000)


class IpAllowlistEntryInput(serializers.Serializer):
    # Any text: whether it is an address or a range is the allowlist's own check (apps.security), which
    # `validate` reports entry by entry.
    address = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1000)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000)


class IpAllowlistInput(serializers.Serializer):
    entries = serializers.ListField(child=IpAllowlistEntryInput(), allow_empty=True, max_length=10_000)
