"""The naive ingestion endpoint the real one is measured against (bench only, never served
by the product): a DRF `ModelSerializer(many=True)` that validates and saves item by
item, the way a first version of an ingest API is usually written. Items name their
account by id (it does no identity resolution and keeps no rollups: it is given every
advantage but the bulk path)."""

from rest_framework import generics, serializers, status
from rest_framework.response import Response

from abx_site.common.scopes import Scope
from accounts.models import Account
from signals.models import Signal, SignalType, Source


class NaiveSignalSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="slug", queryset=Source.objects.all())
    type = serializers.SlugRelatedField(slug_field="key", queryset=SignalType.objects.all())

    class Meta:
        model = Signal
        fields = [
            "source",
            "type",
            "occurred_at",
            "external_id",
            "value",
            "topic",
            "account",
            "attributes",
        ]


class NaiveSignalCreateView(generics.GenericAPIView):
    queryset = Signal.objects.all()
    serializer_class = NaiveSignalSerializer
    write_scope = Scope.SIGNALS_WRITE
    read_scope = Scope.SIGNALS_WRITE

    def post(self, request):
        serializer = self.get_serializer(data=request.data["signals"], many=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response({"accepted": len(serializer.data)}, status=status.HTTP_200_OK)


class MinimalAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "name", "stage", "country", "employee_count"]


class MinimalAccountView(generics.RetrieveAPIView):
    """The scoreboard API's baseline: the least a DRF detail view can do (one SELECT)."""

    queryset = Account.objects.all()
    serializer_class = MinimalAccountSerializer
    read_scope = Scope.SCOREBOARDS_READ
