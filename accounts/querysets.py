from functools import reduce
from operator import or_

from django.db import connection, models
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone


class AccountQuerySet(models.QuerySet):
    def active(self):
        """Accounts that were not merged into another."""
        return self.filter(merged_into__isnull=True)

    def name_contains_any(self, parts):
        """Accounts whose name contains one of `parts`, ignoring case (`icontains`).

        On PostgreSQL one `UPPER(name) LIKE ANY (...)`: Django's OR of `icontains`
        upper-cases the name once per part, which dominates with dozens of parts.
        """
        parts = sorted(parts)
        if connection.vendor != "postgresql":
            return self.filter(reduce(or_, (models.Q(name__icontains=part) for part in parts)))
        patterns = [f"%{connection.ops.prep_for_like_query(part).upper()}%" for part in parts]
        name = f'"{self.model._meta.db_table}"."name"'
        # The text holds the model's own column; the patterns are a parameter.
        matches = RawSQL(f"UPPER({name}) LIKE ANY (%s)", [patterns], models.BooleanField())  # noqa: S611
        return self.filter(matches)

    def with_primary_domain(self):
        from .models import AccountDomain

        return self.annotate(
            primary_domain=Subquery(
                AccountDomain.objects.filter(account=OuterRef("pk"), is_primary=True).values(
                    "domain"
                )[:1]
            )
        )

    def with_arr(self, on=None):
        """Annotate `arr`: the last ARR change on or before `on` (default today), else 0."""
        from .models import ArrChange

        on = on or timezone.localdate()
        latest = (
            ArrChange.objects.filter(account=OuterRef("pk"), effective_date__lte=on)
            .order_by("-effective_date")
            .values("arr")[:1]
        )
        return self.annotate(
            arr=Coalesce(
                Subquery(latest, output_field=models.DecimalField(max_digits=16, decimal_places=2)),
                models.Value(0, output_field=models.DecimalField(max_digits=16, decimal_places=2)),
            )
        )

    def owned_by(self, user, role=None):
        """Accounts where `user` holds `role` (any role when None)."""
        from .models import AccountTeamMember

        members = AccountTeamMember.objects.filter(account=OuterRef("pk"), user=user)
        if role:
            members = members.filter(role=role)
        return self.filter(Exists(members))


class ContactQuerySet(models.QuerySet):
    def get_by_natural_key(self, email):
        return self.get(email=email.strip().lower())

    def reachable(self):
        """Contacts that may be reached: neither they nor their account are do-not-contact."""
        return self.filter(do_not_contact=False, account__do_not_contact=False)
