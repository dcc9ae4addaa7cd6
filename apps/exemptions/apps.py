from django.apps import AppConfig


class ExemptionsConfig(AppConfig):
    name = "apps.exemptions"
    label = "exemptions"

    def ready(self) -> None:
        # A rule moved to another scorecard (apps.core.rule_moves) takes its exemptions along.
        from apps.core import rule_moves
        from apps.exemptions.services import exemptions_follow_rule

        rule_moves.listen(exemptions_follow_rule)
