"""The four roles (DESIGN §9), as Django groups with permissions.

The mapping lives here so migrations and tests read one source; `sync_roles` is called by a data
migration and may be called again by later migrations that add models.
"""

from __future__ import annotations

VIEWER = "Viewer"
EDITOR = "Editor"
APPROVER = "Approver"
ADMIN = "Admin"
ROLES = (VIEWER, EDITOR, APPROVER, ADMIN)

# Permission codenames as "app_label.codename"; "*" in ADMIN means every permission.
_VIEW = [
    "catalog.view_entity",
    "catalog.view_entityowner",
    "catalog.view_entitylink",
    "catalog.view_customdata",
    "catalog.view_entitypackage",
    "catalog.view_entityparent",
    "catalog.view_entitydependency",
    "catalog.view_relationshiptype",
    "catalog.view_entityrelationship",
    "integrations.view_fact",
    "scorecards.view_scorecard",
    "scorecards.view_level",
    "scorecards.view_rule",
    "evaluations.view_entityscore",
    "evaluations.view_ruleresult",
    "evaluations.view_ruleoutcome",
    # Catalog queries (`cortex queries run/get`): Cortex asks for "Enable Query builder"; a query reads only
    # what a Viewer may already read, so every role may run one and read its own jobs.
    "evaluations.add_queryjob",
    "evaluations.view_queryjob",
    "exemptions.view_exemption",
    "exemptions.view_exemptionevent",
    "exemptions.request_exemption",
    "campaigns.view_campaign",
    "activity.view_deploy",
    "activity.view_customevent",
    "activity.view_custommetric",
    "activity.view_custommetricpoint",
]
_EDIT = [
    f"{app}.{verb}_{model}"
    for app, models in {
        "catalog": [
            "entity",
            "entityowner",
            "entityparent",
            "entitylink",
            "customdata",
            "entitypackage",
            "entitydependency",
            "relationshiptype",
            "entityrelationship",
        ],
        "scorecards": ["scorecard", "level", "rule"],
        "campaigns": ["campaign"],
        "activity": ["deploy", "customevent", "custommetric", "custommetricpoint"],
    }.items()
    for model in models
    for verb in ("add", "change", "delete", "view")
] + ["scorecards.evaluate_scorecard"]
_APPROVE = ["exemptions.configure_exemptions"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _VIEW,
    EDITOR: _VIEW + _EDIT,
    APPROVER: _VIEW + _APPROVE,
    ADMIN: ["*"],
}


def sync_roles(apps) -> None:
    """Create the groups and (re)grant exactly their permissions. `apps` is a migration's app registry."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        if codes == ["*"]:
            perms = list(Permission.objects.all())
        else:
            perms = []
            for code in codes:
                app_label, codename = code.split(".")
                perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
                if perm is None:
                    if not _migrated(apps, app_label, codename):
                        # That app's (or model's) table comes in a later migration, which calls sync_roles again.
                        continue
                    raise LookupError(f"permission {code} does not exist")
                perms.append(perm)
        group.permissions.set(perms)


def _migrated(apps, app_label: str, codename: str = "") -> bool:
    try:
        models = list(apps.get_app_config(app_label).get_models())
    except LookupError:
        return False
    verb, _, model_name = codename.partition("_")
    if verb in ("add", "change", "delete", "view"):
        # A model's default permission: that model must exist by now (not only its app).
        return any(model._meta.model_name == model_name for model in models)
    return bool(models)
