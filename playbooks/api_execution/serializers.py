from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from abx_site.common.api.serializers import InputSerializer

from ..choices_execution import TaskPriority, TaskStatus
from ..models_execution import Task


class TaskOutputSerializer(serializers.ModelSerializer):
    account = serializers.SerializerMethodField()
    assignee = serializers.CharField(source="assignee.username", default=None)
    playbook = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "account",
            "assignee",
            "title",
            "body",
            "due_date",
            "priority",
            "status",
            "snoozed_until",
            "playbook",
            "note",
            "created_at",
            "updated_at",
            "completed_at",
        ]

    def get_account(self, task) -> dict:
        return {"id": task.account_id, "name": task.account.name}

    def get_playbook(self, task) -> dict | None:
        if task.activation_id is None:
            return None
        return {"id": task.activation.playbook_id, "name": task.activation.playbook.name}


class TaskUpdateInputSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    snoozed_until = serializers.DateField(required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=TaskPriority.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True, is_staff=True),
        required=False,
        help_text="Reassign: the username of an active staff member.",
    )


class AudienceContactSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    buying_role = serializers.CharField()


class AudienceMemberSerializer(serializers.Serializer):
    """An enrolled account with the people who may be reached there."""

    account_id = serializers.IntegerField(source="account.id")
    name = serializers.CharField(source="account.name")
    domain = serializers.SerializerMethodField()
    identifiers = serializers.SerializerMethodField()
    contacts = serializers.SerializerMethodField()

    def get_domain(self, membership) -> str:
        domains = membership.account.primary_domains
        return domains[0].domain if domains else ""

    def get_identifiers(self, membership) -> dict[str, str]:
        return {i.system: i.external_id for i in membership.account.identifiers.all()}

    @extend_schema_field(AudienceContactSerializer(many=True))
    def get_contacts(self, membership) -> list:
        if membership.contact is not None:
            people = [membership.contact]
        else:
            people = membership.account.reachable
        return AudienceContactSerializer(people, many=True).data


class PersonalizationSerializer(serializers.Serializer):
    variant = serializers.CharField()
    content = serializers.DictField()
