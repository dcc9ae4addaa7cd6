"""Answers of the Cortex v1 API as the OpenAPI schema describes them. Views shape their answers with
`representations`; these serializers only document those shapes, and tests/api/test_schema.py checks real
answers against them."""

from __future__ import annotations

from rest_framework import serializers


class CustomDataDoc(serializers.Serializer):
    """One custom data key (representations.custom_data_of)."""

    id = serializers.IntegerField()
    key = serializers.CharField()
    value = serializers.JSONField(help_text="Any JSON value.")
    description = serializers.CharField(allow_null=True)
    source = serializers.ChoiceField(choices=["API", "YAML"])  # type: ignore[assignment]  # the wire name
    dateUpdated = serializers.CharField(allow_null=True)  # noqa: N815 (the wire name)

    class Meta:
        ref_name = "CortexCustomData"


class LevelNameDoc(serializers.Serializer):
    class Meta:
        ref_name = "CortexLevelName"

    name = serializers.CharField()
    number = serializers.IntegerField()


class LadderLevelDoc(serializers.Serializer):
    class Meta:
        ref_name = "CortexLadderLevel"

    level = LevelNameDoc()


class EntityScorecardScoreDoc(serializers.Serializer):
    """One scorecard's score of an entity."""

    scorecardName = serializers.CharField()  # noqa: N815
    scorecardTag = serializers.CharField()  # noqa: N815
    score = serializers.FloatField()
    scorePercentage = serializers.FloatField()  # noqa: N815
    totalPossibleScore = serializers.FloatField()  # noqa: N815
    ladderLevels = LadderLevelDoc(many=True)  # noqa: N815
    lastEvaluated = serializers.CharField(allow_null=True)  # noqa: N815

    class Meta:
        ref_name = "CortexEntityScorecardScore"
