"""Serializer building blocks shared by every app's API."""

from collections.abc import Mapping

from rest_framework import serializers


class StrictFieldsMixin:
    """Refuse keys a write body does not define, naming each one.

    DRF ignores unknown keys, so a typo (`"stgae": "customer"`) would answer 200 and
    change nothing. Nested serializers that use the mixin check their own keys too.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field: this endpoint does not take it."] for key in unknown}
                )
        return super().to_internal_value(data)


class InputSerializer(StrictFieldsMixin, serializers.Serializer):
    """Base class of write-body serializers: plain fields, unknown keys refused."""


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (see `abx_site.common.api.exceptions`)."""

    message = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.JSONField(),
        help_text=(
            "Field name -> list of messages; `non_field_errors` for the body as a whole. "
            'A nested or list field maps to the same shape inside (`{"domains": '
            '{"0": ["..."]}}`).'
        ),
    )
