from rest_framework import serializers

from ..models import Signal


class SignalSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    type = serializers.SlugRelatedField(slug_field="key", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, default=None)
    contact_email = serializers.EmailField(source="contact.email", read_only=True, default=None)

    class Meta:
        model = Signal
        fields = [
            "id",
            "source",
            "type",
            "occurred_at",
            "received_at",
            "account",
            "account_name",
            "contact",
            "contact_email",
            "value",
            "topic",
            "attributes",
            "external_id",
            "hints",
            "match_method",
            "match_confidence",
        ]
        read_only_fields = fields


class IngestRequestSerializer(serializers.Serializer):
    """Documents the body; items are validated one by one by the ingestion service."""

    signals = serializers.ListField(child=serializers.DictField(), max_length=5_000)


class RejectedItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    matched = serializers.IntegerField()
    unmatched = serializers.IntegerField()
    rejected = RejectedItemSerializer(many=True)


class WebhookRequestSerializer(serializers.Serializer):
    """Documents the body: `{"signals": [...]}`; one item or a bare list are taken too."""

    signals = serializers.ListField(child=serializers.DictField(), max_length=5_000)


class WebhookResultSerializer(IngestResultSerializer):
    replayed = serializers.BooleanField(
        help_text="True when this webhook-id was already received: nothing was stored again."
    )


class ResolveQuerySerializer(serializers.Serializer):
    account_id = serializers.IntegerField(required=False)
    system = serializers.CharField(required=False)
    external_id = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    domain = serializers.CharField(required=False)
    url = serializers.CharField(required=False)
    ip = serializers.CharField(required=False)
    name = serializers.CharField(required=False)
    country = serializers.CharField(required=False, max_length=2)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                "Give at least one of: account_id, system and external_id, email, domain, "
                "url, ip, name."
            )
        if ("system" in attrs) != ("external_id" in attrs):
            raise serializers.ValidationError("Give system and external_id together.")
        return attrs


class ResolvedAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    domain = serializers.CharField(source="primary_domain", allow_null=True)
    country = serializers.CharField()
    stage = serializers.CharField()
    tier = serializers.CharField(source="tier.name", default=None)


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="account_id")
    name = serializers.CharField()
    confidence = serializers.FloatField()


class ResolutionSerializer(serializers.Serializer):
    account = ResolvedAccountSerializer(allow_null=True)
    method = serializers.CharField()
    confidence = serializers.FloatField()
    candidates = CandidateSerializer(many=True)
