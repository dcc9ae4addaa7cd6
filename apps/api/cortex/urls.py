from django.urls import path

from apps.api.cortex import views
from apps.api.cortex.views import ip_allowlist, queries, relations

# Fixed segments ("descriptor") come before the <tag> patterns they would otherwise match.
urlpatterns = [
    path("scorecards", views.ScorecardListView.as_view(), name="cortex-scorecards"),
    path("scorecards/descriptor", views.ScorecardDescriptorApplyView.as_view(), name="cortex-scorecard-apply"),
    path("scorecards/<str:tag>", views.ScorecardDetailView.as_view(), name="cortex-scorecard"),
    path(
        "scorecards/<str:tag>/descriptor", views.ScorecardDescriptorView.as_view(), name="cortex-scorecard-descriptor"
    ),
    path("scorecards/<str:tag>/scores", views.ScorecardScoresView.as_view(), name="cortex-scorecard-scores"),
    path("scorecards/<str:tag>/next-steps", views.NextStepsView.as_view(), name="cortex-next-steps"),
    path("scorecards/<str:tag>/entity/<str:tag_or_id>/badge", views.BadgeView.as_view(), name="cortex-badge"),
    path(
        "scorecards/<str:tag>/entity/<str:entity_tag>/scores",
        views.EvaluateEntityView.as_view(),
        name="cortex-evaluate-entity",
    ),
    path(
        "scorecards/<str:tag>/entity/<str:entity_tag>/exemption",
        views.ExemptionRequestView.as_view(),
        name="cortex-exemption-request",
    ),
    path(
        "scorecards/<str:tag>/entity/<str:entity_tag>/exemption/approve",
        views.ExemptionApproveView.as_view(),
        name="cortex-exemption-approve",
    ),
    path(
        "scorecards/<str:tag>/entity/<str:entity_tag>/exemption/deny",
        views.ExemptionDenyView.as_view(),
        name="cortex-exemption-deny",
    ),
    path(
        "scorecards/<str:tag>/entity/<str:entity_tag>/exemption/revoke",
        views.ExemptionRevokeView.as_view(),
        name="cortex-exemption-revoke",
    ),
    path("open-api", views.CatalogDescriptorView.as_view(), name="cortex-catalog-apply"),
    path("catalog", views.CatalogListView.as_view(), name="cortex-catalog"),
    path("catalog/custom-data", views.CustomDataBulkView.as_view(), name="cortex-custom-data-bulk"),
    path("catalog/deploys", views.DeploysByFilterView.as_view(), name="cortex-deploys-by-filter"),
    path("catalog/deploys/all", views.DeploysAllView.as_view(), name="cortex-deploys-all"),
    path("catalog/descriptors", views.CatalogDescriptorsView.as_view(), name="cortex-catalog-descriptors"),
    path("catalog/dependencies", relations.DependencyBulkView.as_view(), name="cortex-dependencies-bulk"),
    path("catalog/<str:tag_or_id>", views.CatalogEntityView.as_view(), name="cortex-entity"),
    path("catalog/<str:tag_or_id>/scorecards", views.EntityScorecardScoresView.as_view(), name="cortex-entity-scores"),
    path("catalog/<str:tag_or_id>/openapi", views.EntityDescriptorView.as_view(), name="cortex-entity-descriptor"),
    path("catalog/<str:tag_or_id>/archive", views.EntityArchiveView.as_view(), name="cortex-entity-archive"),
    path("catalog/<str:tag_or_id>/unarchive", views.EntityUnarchiveView.as_view(), name="cortex-entity-unarchive"),
    path("catalog/<str:tag_or_id>/custom-data", views.CustomDataView.as_view(), name="cortex-custom-data"),
    path(
        "catalog/<str:tag_or_id>/custom-data/<str:key>",
        views.CustomDataKeyView.as_view(),
        name="cortex-custom-data-key",
    ),
    path("catalog/<str:tag_or_id>/deploys", views.DeployListView.as_view(), name="cortex-deploys"),
    path("catalog/<str:tag_or_id>/deploys/<str:uuid>", views.DeployDetailView.as_view(), name="cortex-deploy"),
    path("catalog/<str:tag_or_id>/custom-events", views.CustomEventListView.as_view(), name="cortex-custom-events"),
    path(
        "catalog/<str:tag_or_id>/custom-events/<str:uuid>",
        views.CustomEventDetailView.as_view(),
        name="cortex-custom-event",
    ),
    path("eng-intel/custom-metrics", views.CustomMetricListView.as_view(), name="cortex-custom-metrics"),
    path("eng-intel/custom-metrics/<str:key>", views.CustomMetricDetailView.as_view(), name="cortex-custom-metric"),
    path(
        "eng-intel/custom-metrics/<str:key>/entity/<str:tag_or_id>",
        views.CustomMetricPointsView.as_view(),
        name="cortex-custom-metric-points",
    ),
    path(
        "eng-intel/custom-metrics/<str:key>/entity/<str:tag_or_id>/bulk",
        views.CustomMetricPointsBulkView.as_view(),
        name="cortex-custom-metric-points-bulk",
    ),
    path("catalog/<str:tag_or_id>/dependencies", relations.DependencyListView.as_view(), name="cortex-dependencies"),
    path(
        "catalog/<str:tag_or_id>/dependencies/<str:callee>",
        relations.DependencyView.as_view(),
        name="cortex-dependency",
    ),
    path(
        "catalog/<str:tag_or_id>/relationships/<str:type_tag>/destinations",
        relations.EntityRelationshipsView.as_view(),
        name="cortex-entity-destinations",
    ),
    path(
        "catalog/<str:tag_or_id>/relationships/<str:type_tag>/sources",
        relations.EntitySourcesView.as_view(),
        name="cortex-entity-sources",
    ),
    path("queries", queries.QueryRunView.as_view(), name="cortex-queries"),
    path("queries/<str:job_id>", queries.QueryJobView.as_view(), name="cortex-query"),
    path("relationship-types", relations.RelationshipTypeListView.as_view(), name="cortex-relationship-types"),
    path(
        "relationship-types/<str:type_tag>", relations.RelationshipTypeView.as_view(), name="cortex-relationship-type"
    ),
    path("ip-allowlist", ip_allowlist.IpAllowlistView.as_view(), name="cortex-ip-allowlist"),
    path("ip-allowlist/validate", ip_allowlist.IpAllowlistValidateView.as_view(), name="cortex-ip-allowlist-validate"),
    path("relationships/<str:type_tag>", relations.RelationshipListView.as_view(), name="cortex-relationships"),
]
