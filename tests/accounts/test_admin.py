"""The account graph's admin: lists cost a constant number of queries, saves go through
the services, refusals change nothing, CSV import is all or nothing. (Every page of every
ModelAdmin opens: tests/common/test_admin_smoke.py.)"""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import services
from accounts.choices import AccountEventKind, BuyingRole, Seniority, Stage, TeamRole
from accounts.models import (
    Account,
    AccountDomain,
    AccountEvent,
    AccountIdentifier,
    AccountTeamMember,
    ArrChange,
    Contact,
    Deal,
    PersonaRule,
    Tier,
)
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    AccountIdentifierFactory,
    ArrChangeFactory,
    ContactFactory,
    DealFactory,
    PartnerFactory,
    PersonaRuleFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _account_event():
    services.account_create(name="Evented", domain="evented.com")
    return AccountEvent.objects.first()


# Query counts -------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def test_account_changelist_queries_do_not_grow_with_rows(admin_client_, django_assert_num_queries):
    tier, partner, parent = TierFactory(), PartnerFactory(), AccountFactory()
    for _ in range(3):
        account = AccountFactory(tier=tier, partner=partner, parent=parent)
        AccountDomainFactory(account=account)
        TeamMemberFactory(account=account, role=TeamRole.AE)
        TeamMemberFactory(account=account, role=TeamRole.CSM)
        ArrChangeFactory(account=account)

    # session, user, 2 counts, partner filter, rows, team prefetch, tiers filter
    with django_assert_num_queries(8):
        response = admin_client_.get(url(Account, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 4
    assert "company" in response.text and "50,000.00" in response.text


def test_contact_changelist_queries(admin_client_, django_assert_num_queries):
    ContactFactory.create_batch(3, account=AccountFactory())
    ContactFactory.create_batch(2)

    # session, user, 2 counts, rows
    with django_assert_num_queries(5):
        response = admin_client_.get(url(Contact, "changelist"))

    assert response.context["cl"].result_count == 5


def test_deal_changelist_queries(admin_client_, django_assert_num_queries):
    DealFactory.create_batch(3, partner=PartnerFactory(), partner_influence="influenced")
    DealFactory.create_batch(2)

    # session, user, 2 counts, rows, date hierarchy (range, then days)
    with django_assert_num_queries(7):
        response = admin_client_.get(url(Deal, "changelist"))

    assert response.context["cl"].result_count == 5


def test_arr_changelist_queries(admin_client_, django_assert_num_queries):
    for account in AccountFactory.create_batch(4):
        ArrChangeFactory(account=account)

    # session, user, 2 counts, rows, date hierarchy (range, then days)
    with django_assert_num_queries(7):
        response = admin_client_.get(url(ArrChange, "changelist"))

    assert response.context["cl"].result_count == 4


# Saving an account --------------------------------------------------------------------

INLINE_PREFIXES = ["domains", "identifiers", "aliases", "team", "contacts", "deals", "arr_changes"]


def account_post(account, inlines=None, **fields):
    """The change form's POST: the account's fields, and only the inline rows given."""
    data = {
        "name": account.name,
        "website": account.website,
        "industry": account.industry,
        "country": account.country,
        "employee_count": account.employee_count or "",
        "annual_revenue": account.annual_revenue or "",
        "stage": account.stage,
        "tier": account.tier_id or "",
        "tier_source": account.tier_source,
        "renewal_date": account.renewal_date or "",
        "parent": account.parent_id or "",
        "partner": account.partner_id or "",
    }
    if account.do_not_contact:
        data["do_not_contact"] = "on"
    data.update(fields)
    for prefix in INLINE_PREFIXES:
        rows = (inlines or {}).get(prefix, [])
        data[f"{prefix}-TOTAL_FORMS"] = len(rows)
        data[f"{prefix}-INITIAL_FORMS"] = 0
        for i, row in enumerate(rows):
            data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    return data


def errors_of(response) -> str:
    assert response.status_code == 200, "the form should be shown again with errors"
    return " ".join(str(error) for error in response.context["errors"])


def test_saving_an_account_records_the_stage_change_by_its_actor(admin_client_, superuser):
    account = AccountFactory(stage=Stage.PROSPECT)

    response = admin_client_.post(
        url(Account, "change", account.pk), account_post(account, stage=Stage.CUSTOMER)
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.stage == Stage.CUSTOMER
    event = AccountEvent.objects.get(account=account)
    assert (event.kind, event.old_value, event.new_value) == (
        AccountEventKind.STAGE_CHANGED,
        Stage.PROSPECT,
        Stage.CUSTOMER,
    )
    assert event.actor == superuser


def test_adding_an_account_with_inlines_goes_through_the_services(admin_client_, superuser):
    rep = UserFactory()
    data = account_post(
        Account(name="Initech"),
        inlines={
            "domains": [{"domain": "https://www.Initech.co.uk/about", "is_primary": "on"}],
            "team": [{"role": TeamRole.AE, "user": rep.pk}],
            "arr_changes": [{"effective_date": "2026-01-01", "arr": "1200.00"}],
        },
    )

    response = admin_client_.post(url(Account, "add"), data)

    assert response.status_code == 302
    account = Account.objects.get(name="Initech")
    assert list(account.domains.values_list("domain", "is_primary")) == [("initech.co.uk", True)]
    assert account.team.get().user == rep
    assert account.arr_changes.get().arr == Decimal("1200.00")
    kinds = set(account.events.values_list("kind", "actor"))
    assert kinds == {
        (AccountEventKind.CREATED, superuser.pk),
        (AccountEventKind.OWNER_CHANGED, superuser.pk),
    }


def test_a_parent_that_would_loop_is_refused(admin_client_):
    top = AccountFactory(stage=Stage.PROSPECT)
    child = AccountFactory(parent=top)
    grandchild = AccountFactory(parent=child)

    response = admin_client_.post(
        url(Account, "change", top.pk),
        account_post(top, parent=grandchild.pk, stage=Stage.ENGAGED),
    )

    assert "the hierarchy would loop" in errors_of(response)
    top.refresh_from_db()
    assert (top.parent_id, top.stage) == (None, Stage.PROSPECT)
    assert not AccountEvent.objects.exists()


@pytest.mark.parametrize("written", ["acme.com", "https://www.acme.com", "mail.ACME.com/x"])
def test_a_domain_of_another_account_is_refused_however_written(admin_client_, written):
    AccountDomainFactory(domain="acme.com", account__name="Acme")
    other = AccountFactory(stage=Stage.PROSPECT)

    response = admin_client_.post(
        url(Account, "change", other.pk),
        account_post(
            other, stage=Stage.ENGAGED, inlines={"domains": [{"domain": written, "is_primary": ""}]}
        ),
    )

    assert "Domain already exists" in errors_of(response)
    assert AccountDomain.objects.count() == 1
    other.refresh_from_db()
    assert other.stage == Stage.PROSPECT


def test_two_spellings_of_one_new_domain_are_refused(admin_client_):
    account = AccountFactory()

    response = admin_client_.post(
        url(Account, "change", account.pk),
        account_post(
            account,
            inlines={
                "domains": [
                    {"domain": "globex.com", "is_primary": "on"},
                    {"domain": "https://www.globex.com", "is_primary": ""},
                ]
            },
        ),
    )

    assert "globex.com is listed twice" in errors_of(response)
    assert not AccountDomain.objects.exists()


def inline_errors(response, prefix) -> list[dict]:
    """The errors of each row of the inline formset `prefix`, by field."""
    [formset] = [
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == prefix
    ]
    return formset.errors


def test_an_identifier_of_another_account_is_refused(admin_client_):
    AccountIdentifierFactory(system="crm", external_id="001A", account__name="Acme")
    other = AccountFactory(stage=Stage.PROSPECT)

    response = admin_client_.post(
        url(Account, "change", other.pk),
        account_post(
            other,
            stage=Stage.ENGAGED,
            inlines={"identifiers": [{"system": "crm", "external_id": "001A"}]},
        ),
    )

    [row] = inline_errors(response, "identifiers")
    assert row == {"__all__": ["This identifier already belongs to an account."]}
    assert AccountIdentifier.objects.count() == 1
    other.refresh_from_db()
    assert other.stage == Stage.PROSPECT
    assert not other.events.exists()


def test_one_identifier_listed_twice_is_refused(admin_client_):
    account = AccountFactory(name="Initech")

    response = admin_client_.post(
        url(Account, "change", account.pk),
        account_post(
            account,
            name="Initech Corp",
            inlines={
                "identifiers": [
                    {"system": "crm", "external_id": "001B"},
                    {"system": "crm", "external_id": "001B"},
                ]
            },
        ),
    )

    assert "Please correct the duplicate data for system and external_id" in errors_of(response)
    assert not AccountIdentifier.objects.exists()
    account.refresh_from_db()
    assert account.name == "Initech"


def test_a_tier_that_does_not_exist_is_refused(admin_client_):
    tier = TierFactory(name="Strategic")
    account = AccountFactory(tier=tier, stage=Stage.PROSPECT)

    response = admin_client_.post(
        url(Account, "change", account.pk),
        account_post(account, tier=tier.pk + 1000, stage=Stage.ENGAGED),
    )

    errors_of(response)
    form_errors = response.context["adminform"].form.errors
    assert list(form_errors) == ["tier"]
    assert "Select a valid choice" in str(form_errors["tier"])
    account.refresh_from_db()
    assert (account.tier, account.stage) == (tier, Stage.PROSPECT)
    assert not AccountEvent.objects.exists()


def test_negative_arr_is_refused(admin_client_):
    account = AccountFactory()

    response = admin_client_.post(
        url(Account, "change", account.pk),
        account_post(
            account, inlines={"arr_changes": [{"effective_date": "2026-02-01", "arr": "-5"}]}
        ),
    )

    assert "greater than or equal to 0" in errors_of(response)
    assert not ArrChange.objects.exists()


def test_a_bad_email_is_refused(admin_client_):
    account = AccountFactory()

    response = admin_client_.post(
        url(Account, "change", account.pk),
        account_post(
            account,
            name="Renamed",
            inlines={"contacts": [{"email": "not-an-email", "buying_role": BuyingRole.UNKNOWN}]},
        ),
    )

    assert "Enter a valid email address" in errors_of(response)
    assert not Contact.objects.exists()
    account.refresh_from_db()
    assert account.name != "Renamed"


def test_a_contact_added_inline_gets_its_role_from_the_persona_rules(admin_client_):
    PersonaRuleFactory(title_pattern=r"\bcfo\b", buying_role=BuyingRole.ECONOMIC_BUYER)
    account = AccountFactory()

    response = admin_client_.post(
        url(Account, "change", account.pk),
        account_post(
            account,
            inlines={
                "contacts": [
                    {"email": "Jo@Acme.com", "title": "CFO", "buying_role": BuyingRole.UNKNOWN}
                ]
            },
        ),
    )

    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.email, contact.buying_role) == ("jo@acme.com", BuyingRole.ECONOMIC_BUYER)


def test_account_page_shows_the_hierarchy(admin_client_):
    top = AccountFactory(name="Umbrella Group")
    middle = AccountFactory(name="Umbrella EU", parent=top)
    AccountFactory(name="Umbrella DE", parent=middle)

    response = admin_client_.get(url(Account, "change", middle.pk))

    text = response.text
    assert "Umbrella Group</a> &rsaquo; Umbrella EU" in text
    assert f'href="{url(Account, "change", top.pk)}"' in text
    assert "Umbrella DE</a>" in text


def test_mark_do_not_contact_action(admin_client_):
    chosen = AccountFactory.create_batch(2)
    spared = AccountFactory()

    response = admin_client_.post(
        url(Account, "changelist"),
        {"action": "mark_do_not_contact", "_selected_action": [a.pk for a in chosen]},
    )

    assert response.status_code == 302
    assert set(Account.objects.filter(do_not_contact=True)) == set(chosen)
    spared.refresh_from_db()
    assert not spared.do_not_contact


def test_account_events_are_read_only(admin_client_):
    event = _account_event()

    response = admin_client_.post(url(AccountEvent, "change", event.pk), {"new_value": "x"})

    assert response.status_code == 403
    assert admin_client_.get(url(AccountEvent, "add")).status_code == 403
    assert (
        admin_client_.get(url(AccountEvent, "changelist"), {"kind": "created"}).status_code == 200
    )


# Contacts and persona rules -----------------------------------------------------------


def test_apply_persona_rules_action_fills_unknown_roles(admin_client_):
    PersonaRuleFactory(title_pattern=r"\bvp\b", buying_role=BuyingRole.DECISION_MAKER)
    vp = ContactFactory(title="VP Sales")
    engineer = ContactFactory(title="Engineer")

    response = admin_client_.post(
        url(Contact, "changelist"),
        {"action": "apply_persona_rules", "_selected_action": [engineer.pk]},
        follow=True,
    )

    vp.refresh_from_db()
    assert vp.buying_role == BuyingRole.DECISION_MAKER
    assert "filled the buying role of 1 contact(s)" in response.text


def test_saving_a_persona_rule_queues_its_application(
    admin_client_, django_capture_on_commit_callbacks
):
    contact = ContactFactory(title="Head of IT")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client_.post(
            url(PersonaRule, "add"),
            {
                "name": "Heads",
                "title_pattern": r"\bhead of\b",
                "buying_role": BuyingRole.INFLUENCER,
                "seniority": Seniority.DIRECTOR,
                "department": "",
                "priority": 10,
                "is_active": "on",
            },
        )

    assert response.status_code == 302
    assert len(callbacks) == 1
    # The test settings run queued tasks inline, so the task has run by now.
    contact.refresh_from_db()
    assert (contact.buying_role, contact.seniority) == (BuyingRole.INFLUENCER, Seniority.DIRECTOR)
    assert any("will be applied again" in str(m) for m in get_messages(response.wsgi_request))


# CSV import ---------------------------------------------------------------------------


def csv_format_index():
    formats = admin.site._registry[Contact].get_import_formats()
    return next(i for i, f in enumerate(formats) if f().get_title() == "csv")


def upload(client, model, text):
    return client.post(
        url(model, "import"),
        {
            "resource": "0",
            "format": str(csv_format_index()),
            "import_file": SimpleUploadedFile("rows.csv", text.encode(), "text/csv"),
        },
    )


def test_contact_import_names_the_account_by_domain(admin_client_, superuser):
    # given accounts known by a domain and by a unique name
    acme = AccountDomainFactory(domain="acme.com").account
    AccountDomainFactory(domain="acme.de", account=acme, is_primary=False)
    globex = AccountFactory(name="Globex")
    PersonaRuleFactory(title_pattern=r"\bcto\b", buying_role=BuyingRole.TECHNICAL_EVALUATOR)
    csv = (
        "email,account,name,title,buying_role\n"
        "Ann@Acme.com,https://www.acme.com,Ann,CTO,\n"
        "bo@acme.de,acme.de,Bo,Buyer,economic_buyer\n"
        "cy@globex.com,Globex,Cy,,\n"
    )

    # when the file is checked, then confirmed
    checked = upload(admin_client_, Contact, csv)
    assert checked.status_code == 200
    confirm = checked.context["confirm_form"]
    assert confirm is not None, errors_in(checked)
    assert not Contact.objects.exists()
    response = admin_client_.post(url(Contact, "process_import"), confirm.initial)

    # then the contacts exist on their accounts, through the contact service
    assert response.status_code == 302
    rows = {c.email: (c.account, c.buying_role) for c in Contact.objects.all()}
    assert rows == {
        "ann@acme.com": (acme, BuyingRole.TECHNICAL_EVALUATOR),
        "bo@acme.de": (acme, BuyingRole.ECONOMIC_BUYER),
        "cy@globex.com": (globex, BuyingRole.UNKNOWN),
    }


def errors_in(response) -> str:
    result = response.context.get("result")
    if result is None:
        return str(response.context["form"].errors)
    return str([(row.number, row.error_dict) for row in result.invalid_rows]) + str(
        [error.error for errors in result.row_errors() for error in errors[1]]
    )


def test_contact_import_with_one_bad_row_imports_nothing(admin_client_):
    AccountDomainFactory(domain="acme.com")
    csv = (
        "email,account,name\n"
        "ann@acme.com,acme.com,Ann\n"
        "not-an-email,acme.com,Bad\n"
        "cy@nowhere.example,unknown-co.com,Cy\n"
    )

    response = upload(admin_client_, Contact, csv)

    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    result = response.context["result"]
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3}
    assert "Enter a valid email address" in str(invalid[2])
    assert "No account has the domain or name 'unknown-co.com'" in str(invalid[3])
    assert "Enter a valid email address" in response.text
    assert not Contact.objects.exists()


def test_account_import_records_events_and_links_by_natural_keys(admin_client_, superuser):
    tier = TierFactory(name="Strategic")
    PartnerFactory(name="Northwind")
    parent = AccountDomainFactory(domain="umbrella.com", account__name="Umbrella").account
    csv = (
        "domain,name,stage,tier,parent,partner,country\n"
        "umbrella-eu.com,Umbrella EU,engaged,strategic,umbrella.com,Northwind,de\n"
    )

    checked = upload(admin_client_, Account, csv)
    confirm = checked.context["confirm_form"]
    assert confirm is not None, errors_in(checked)
    admin_client_.post(url(Account, "process_import"), confirm.initial)

    account = Account.objects.get(name="Umbrella EU")
    assert (account.tier, account.parent, account.partner.name, account.country) == (
        tier,
        parent,
        "Northwind",
        "DE",
    )
    assert account.domains.get().domain == "umbrella-eu.com"
    assert set(account.events.values_list("kind", "actor")) == {
        (AccountEventKind.CREATED, superuser.pk),
        (AccountEventKind.TIER_CHANGED, superuser.pk),
    }


def test_arr_import_refuses_negative_arr(admin_client_):
    AccountDomainFactory(domain="acme.com")

    response = upload(
        admin_client_,
        ArrChange,
        "account,effective_date,arr\nacme.com,2026-01-01,100\nacme.com,2026-02-01,-1\n",
    )

    assert response.context.get("confirm_form") is None
    assert "greater than or equal to 0" in errors_in(response)
    assert not ArrChange.objects.exists()


def export_csv(client, model):
    page = client.get(url(model, "export"))
    form = page.context["form"]
    data = {name: "on" for name, field in form.fields.items() if field.initial is True}
    formats = admin.site._registry[model].get_export_formats()
    data["format"] = next(str(i) for i, f in enumerate(formats) if f().get_title() == "csv")
    data["resource"] = "0"
    response = client.post(url(model, "export"), data)
    assert response.status_code == 200
    return response.content.decode()


def test_contact_export_names_accounts_by_natural_key_and_reimports_unchanged(admin_client_):
    # given contacts on an account with a primary domain and one known by name only
    acme = AccountDomainFactory(domain="acme.com").account
    ContactFactory(account=acme, email="ann@acme.com", title="CTO")
    ContactFactory(account=AccountFactory(name="Globex"), email="cy@globex.com")

    # when they are exported
    text = export_csv(admin_client_, Contact)

    # then each row names its account by primary domain, else by name
    lines = text.strip().splitlines()
    assert lines[0].startswith("email,account,")
    assert lines[1].startswith("ann@acme.com,acme.com,")
    assert lines[2].startswith("cy@globex.com,Globex,")

    # and importing the same file finds every contact again: nothing new
    checked = upload(admin_client_, Contact, text)
    result = checked.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 0
    assert Contact.objects.count() == 2


def confirm_upload(client, model, text):
    checked = upload(client, model, text)
    confirm = checked.context.get("confirm_form")
    assert confirm is not None, errors_in(checked)
    response = client.post(url(model, "process_import"), confirm.initial)
    assert response.status_code == 302


def test_deal_import_names_account_and_partner(admin_client_):
    acme = AccountFactory(name="Acme")
    northwind = PartnerFactory(name="Northwind")
    DealFactory(account=acme, external_id="OPP-1", name="Old name")

    confirm_upload(
        admin_client_,
        Deal,
        "external_id,account,name,kind,amount,created_date,partner_influence,partner\n"
        "OPP-1,Acme,Renewal 2026,renewal,5000,2026-03-01,sourced,northwind\n"
        ",acme,Pilot,new_business,900,2026-03-02,none,\n",
    )

    renewal = Deal.objects.get(external_id="OPP-1")
    assert (renewal.name, renewal.partner, renewal.amount) == (
        "Renewal 2026",
        northwind,
        Decimal("5000"),
    )
    pilot = Deal.objects.get(name="Pilot")
    assert (pilot.account, pilot.external_id, pilot.partner) == (acme, None, None)


def test_tier_import_by_name_updates_and_keeps_history(admin_client_):
    tier = TierFactory(name="Strategic", rank=1)

    confirm_upload(
        admin_client_,
        Tier,
        "name,rank,treatment,required_roles\n"
        'strategic,1,one_to_one,"economic_buyer,champion"\n'
        "Scale,3,one_to_many,\n",
    )

    tier.refresh_from_db()
    assert tier.treatment == "one_to_one"
    assert tier.required_roles == [BuyingRole.ECONOMIC_BUYER, BuyingRole.CHAMPION]
    assert tier.history.count() == 2
    assert Tier.objects.get(name="Scale").rank == 3


def test_viewers_cannot_import(client):
    viewer = UserFactory(username="viewer")
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(viewer)

    assert client.get(url(Contact, "changelist")).status_code == 200
    assert client.get(url(Contact, "import")).status_code == 403


# Tiers: permissions and history -------------------------------------------------------


def tier_post(tier, **fields):
    data = {
        "name": tier.name,
        "rank": tier.rank,
        "treatment": tier.treatment,
        "required_roles": tier.required_roles,
        "description": tier.description,
    }
    data.update(fields)
    return data


def test_revops_edits_tiers_and_the_change_is_in_the_history(client, staff_user):
    tier = TierFactory(name="Tier 1", rank=1)
    client.force_login(staff_user)

    response = client.post(
        url(Tier, "change", tier.pk),
        tier_post(tier, name="Strategic", required_roles=[BuyingRole.ECONOMIC_BUYER]),
    )

    assert response.status_code == 302
    tier.refresh_from_db()
    assert (tier.name, tier.required_roles) == ("Strategic", [BuyingRole.ECONOMIC_BUYER])
    latest = tier.history.first()
    assert (latest.history_type, latest.name, latest.history_user) == ("~", "Strategic", staff_user)
    assert tier.history.count() == 2
    history = client.get(url(Tier, "history", tier.pk))
    assert history.status_code == 200
    assert "Strategic" in history.text and staff_user.username in history.text


def test_a_viewer_cannot_change_a_tier(client):
    tier = TierFactory(name="Tier 1", rank=1)
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(viewer)

    assert client.get(url(Tier, "change", tier.pk)).status_code == 200
    response = client.post(url(Tier, "change", tier.pk), tier_post(tier, name="Mine"))

    assert response.status_code == 403
    tier.refresh_from_db()
    assert tier.name == "Tier 1"
    assert tier.history.count() == 1


def test_an_unknown_required_role_is_refused(client, staff_user):
    tier = TierFactory()
    client.force_login(staff_user)

    response = client.post(url(Tier, "change", tier.pk), tier_post(tier, required_roles=["boss"]))

    assert response.status_code == 200
    assert "boss" in errors_of(response)


# Other writes through services --------------------------------------------------------


def test_team_member_admin_records_owner_changes(admin_client_, superuser):
    account = AccountFactory()
    rep = UserFactory()

    response = admin_client_.post(
        url(AccountTeamMember, "add"), {"account": account.pk, "role": TeamRole.CSM, "user": rep.pk}
    )

    assert response.status_code == 302
    assert account.team.get().user == rep
    event = account.events.get()
    assert (event.kind, event.new_value, event.actor) == (
        AccountEventKind.OWNER_CHANGED,
        rep.username,
        superuser,
    )


def test_deal_admin_refuses_an_influenced_deal_without_partner(admin_client_):
    account = AccountFactory()

    response = admin_client_.post(
        url(Deal, "add"),
        {
            "account": account.pk,
            "name": "Big one",
            "kind": "new_business",
            "stage": "qualification",
            "status": "open",
            "amount": "1000",
            "currency": "USD",
            "created_date": date(2026, 1, 1).isoformat(),
            "partner_influence": "influenced",
        },
    )

    assert "names its partner" in errors_of(response)
    assert not Deal.objects.exists()
