from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """Every API error is `{"message": ..., "errors": {field: [...]}}`.

    A Django `ValidationError` raised by a service becomes a 400 with its field errors,
    so services validate once for the admin and the API alike.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_errors(exc))
    elif isinstance(exc, OverflowError):
        # A filter such as `?partner=1e113` reaches the database as an integer that
        # SQLite cannot hold: the caller's number is out of range, not a server fault.
        exc = exceptions.ValidationError(
            {"non_field_errors": ["A number in the request is out of range."]}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        message = "Invalid input: " + ", ".join(sorted(str(k) for k in errors)) + "."
        response.data = {"message": message, "errors": errors}
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        response.data = {"message": str(detail), "errors": {}}
    return response


def _django_errors(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}
