from rest_framework import serializers

from abx_site.common.api.serializers import InputSerializer

from ..choices import Motion
from ..models import Activation, Backtest, Playbook


class PlaybookOutputSerializer(serializers.ModelSerializer):
    tiers = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    teams = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    latest_version = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The number of the published version."
    )
    open_activations = serializers.IntegerField(read_only=True, help_text="Active activations.")

    class Meta:
        model = Playbook
        fields = [
            "id",
            "name",
            "description",
            "motion",
            "status",
            "priority",
            "tiers",
            "teams",
            "stages",
            "reentry_policy",
            "cooldown_days",
            "holdout_percent",
            "capacity",
            "exit_policy",
            "blocked_motions",
            "outcome_kind",
            "outcome_stage",
            "outcome_window_days",
            "latest_version",
            "open_activations",
            "updated_at",
        ]
        read_only_fields = fields


class PlaybookDetailSerializer(PlaybookOutputSerializer):
    definition = serializers.SerializerMethodField(
        help_text="The saved playbook as code (the import/export format)."
    )

    class Meta(PlaybookOutputSerializer.Meta):
        fields = [*PlaybookOutputSerializer.Meta.fields, "definition"]
        read_only_fields = fields

    def get_definition(self, playbook) -> dict:
        from ..services import playbook_snapshot

        return playbook_snapshot(playbook)


class ImportInputSerializer(InputSerializer):
    playbooks = serializers.ListField(
        child=serializers.DictField(),
        max_length=200,
        help_text="Playbooks as exported (name, motion, triggers, steps, ...).",
    )
    publish = serializers.BooleanField(default=False, help_text="Publish each one as well.")


class PublishInputSerializer(InputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=255)


class VersionOutputSerializer(serializers.Serializer):
    playbook = serializers.IntegerField(source="playbook_id")
    number = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    note = serializers.CharField()


class BacktestInputSerializer(InputSerializer):
    start = serializers.DateField(help_text="The first replayed day.")
    end = serializers.DateField(help_text="The last day a weekly replay may fall on.")


class BacktestOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Backtest
        fields = ["id", "playbook", "start", "end", "status", "result", "error", "finished_at"]
        read_only_fields = fields


class ActivationOutputSerializer(serializers.ModelSerializer):
    playbook_name = serializers.CharField(source="playbook.name", read_only=True)
    motion = serializers.ChoiceField(source="playbook.motion", choices=Motion.choices)
    version = serializers.IntegerField(source="version.number", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)

    class Meta:
        model = Activation
        fields = [
            "id",
            "playbook",
            "playbook_name",
            "motion",
            "version",
            "account",
            "account_name",
            "status",
            "is_holdout",
            "trigger_index",
            "evidence",
            "started_at",
            "ended_at",
            "reason",
        ]
        read_only_fields = fields
