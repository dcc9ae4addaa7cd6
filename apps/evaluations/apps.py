from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "apps.evaluations"
    label = "evaluations"

    def ready(self) -> None:
        # The one listener of score-input announcements (apps.core.score_inputs): lower apps announce, we re-score.
        from apps.core import rule_moves
        from apps.core.score_inputs import listen
        from apps.evaluations.rescoring import on_score_inputs_changed
        from apps.evaluations.services import results_follow_rule

        listen(on_score_inputs_changed)
        rule_moves.listen(results_follow_rule)
