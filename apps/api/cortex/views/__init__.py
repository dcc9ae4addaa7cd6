"""Cortex v1 operations (seeds 000/001 and API_CONTRACT §2). Views are thin: they parse, call a service or
load rows with a fixed number of queries, and shape the answer with `representations`."""

from apps.api.cortex.views.catalog import (
    CatalogDescriptorView,
    CatalogEntityView,
    CatalogListView,
    CustomDataBulkView,
    CustomDataKeyView,
    CustomDataView,
    EntityArchiveView,
    EntityDescriptorView,
    EntityUnarchiveView,
)
from apps.api.cortex.views.exemptions import (
    ExemptionApproveView,
    ExemptionDenyView,
    ExemptionRequestView,
    ExemptionRevokeView,
)
from apps.api.cortex.views.scorecards import (
    BadgeView,
    EntityScorecardScoresView,
    EvaluateEntityView,
    NextStepsView,
    ScorecardDescriptorApplyView,
    ScorecardDescriptorView,
    ScorecardDetailView,
    ScorecardListView,
    ScorecardScoresView,
)

__all__ = [
    "BadgeView",
    "CatalogDescriptorView",
    "CatalogEntityView",
    "CatalogListView",
    "CustomDataBulkView",
    "CustomDataKeyView",
    "CustomDataView",
    "EntityArchiveView",
    "EntityDescriptorView",
    "EntityUnarchiveView",
    "EntityScorecardScoresView",
    "EvaluateEntityView",
    "ExemptionApproveView",
    "ExemptionDenyView",
    "ExemptionRequestView",
    "ExemptionRevokeView",
    "NextStepsView",
    "ScorecardDescriptorApplyView",
    "ScorecardDescriptorView",
    "ScorecardDetailView",
    "ScorecardListView",
    "ScorecardScoresView",
]
