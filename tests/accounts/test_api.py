"""The account graph API: accounts, contacts, deals and ARR history."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from abx_site.common.scopes import Scope
from accounts.choices import AccountEventKind, BuyingRole, DealStatus, Stage, TeamRole
from accounts.models import (
    Account,
    AccountDomain,
    AccountEvent,
    AccountIdentifier,
    ArrChange,
    Contact,
    Deal,
)
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    AccountIdentifierFactory,
    ArrChangeFactory,
    ContactFactory,
    DealFactory,
    PartnerFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)

ACCOUNTS = "/api/v1/accounts/"
CONTACTS = "/api/v1/contacts/"
DEALS = "/api/v1/deals/"


def arr_url(account) -> str:
    return f"/api/v1/accounts/{account.pk}/arr/"


@pytest.fixture
def reader(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.ACCOUNTS_READ)}")
    return api_client


@pytest.fixture
def writer(api_client, api_key_for):
    key = api_key_for(Scope.ACCOUNTS_READ, Scope.ACCOUNTS_WRITE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api_client


@pytest.fixture
def graph(db):
    """One account with a domain, a contact, a deal and an ARR change."""
    account = AccountFactory(name="Acme")
    AccountDomainFactory(account=account, domain="acme.com")
    return {
        "account": account,
        "contact": ContactFactory(account=account),
        "deal": DealFactory(account=account),
        "arr": ArrChangeFactory(account=account),
    }


def read_urls(graph) -> dict[str, str]:
    return {
        "accounts list": ACCOUNTS,
        "account": f"{ACCOUNTS}{graph['account'].pk}/",
        "contacts list": CONTACTS,
        "contact": f"{CONTACTS}{graph['contact'].pk}/",
        "deals list": DEALS,
        "deal": f"{DEALS}{graph['deal'].pk}/",
        "arr history": arr_url(graph["account"]),
    }


READ_ENDPOINTS = [
    "accounts list",
    "account",
    "contacts list",
    "contact",
    "deals list",
    "deal",
    "arr history",
]


def write_requests(graph) -> dict[str, tuple[str, str, dict]]:
    account = graph["account"]
    return {
        "create account": ("post", ACCOUNTS, {"name": "New Co"}),
        "update account": ("patch", f"{ACCOUNTS}{account.pk}/", {"industry": "Retail"}),
        "create contact": ("post", CONTACTS, {"account": account.pk, "email": "a@acme.com"}),
        "update contact": ("patch", f"{CONTACTS}{graph['contact'].pk}/", {"title": "CTO"}),
        "create deal": (
            "post",
            DEALS,
            {
                "account": account.pk,
                "name": "Renewal",
                "kind": "renewal",
                "amount": "100.00",
                "created_date": "2026-02-01",
            },
        ),
        "update deal": ("patch", f"{DEALS}{graph['deal'].pk}/", {"amount": "5.00"}),
        "record arr": ("post", arr_url(account), {"effective_date": "2026-03-01", "arr": "10"}),
    }


WRITE_ENDPOINTS = [
    "create account",
    "update account",
    "create contact",
    "update contact",
    "create deal",
    "update deal",
    "record arr",
]


# Authentication and permissions -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
def test_reads_need_a_key_with_the_read_scope(api_client, api_key_for, graph, endpoint):
    url = read_urls(graph)[endpoint]

    response = api_client.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json()["message"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_WRITE)}")
    response = api_client.get(url)
    assert response.status_code == 403
    assert "accounts:read" in response.json()["message"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.ACCOUNTS_READ)}")
    assert api_client.get(url).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS)
def test_writes_need_a_key_with_the_write_scope(api_client, api_key_for, graph, endpoint):
    method, url, body = write_requests(graph)[endpoint]
    accounts, contacts, deals = (
        Account.objects.count(),
        Contact.objects.count(),
        Deal.objects.count(),
    )
    send = getattr(api_client, method)

    response = send(url, body, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"

    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.ACCOUNTS_READ)}")
    response = send(url, body, format="json")
    assert response.status_code == 403
    assert "accounts:write" in response.json()["message"]
    assert (Account.objects.count(), Contact.objects.count(), Deal.objects.count()) == (
        accounts,
        contacts,
        deals,
    )

    key = api_key_for(Scope.ACCOUNTS_READ, Scope.ACCOUNTS_WRITE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = send(url, body, format="json")
    assert response.status_code in (200, 201), response.json()


@pytest.mark.django_db
def test_a_revoked_key_is_refused(api_client, api_key_for):
    from abx_site.common.models import ApiKey

    key = api_key_for(Scope.ACCOUNTS_READ)
    ApiKey.objects.filter(prefix=key.split(".")[0]).update(revoked=True)
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api_client.get(ACCOUNTS)

    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


@pytest.mark.django_db
def test_an_expired_key_is_refused(api_client, api_key_for):
    from django.utils import timezone

    from abx_site.common.models import ApiKey

    key = api_key_for(Scope.ACCOUNTS_READ)
    ApiKey.objects.filter(prefix=key.split(".")[0]).update(
        expiry_date=timezone.now() - timezone.timedelta(minutes=1)
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    response = api_client.get(ACCOUNTS)

    assert response.status_code == 401
    assert "expired" in response.json()["message"]


@pytest.mark.django_db
def test_a_made_up_key_is_refused(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Api-Key abcdefgh.not-a-real-key")

    assert api_client.get(ACCOUNTS).status_code == 401


@pytest.mark.django_db
def test_staff_sessions_act_with_their_team_permissions(api_client, graph):
    # given a staff member of the Viewer team
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    api_client.force_login(viewer)

    # then reading works and writing is refused
    assert api_client.get(ACCOUNTS).status_code == 200
    assert api_client.get(arr_url(graph["account"])).status_code == 200
    response = api_client.post(ACCOUNTS, {"name": "Nope"}, format="json")
    assert response.status_code == 403
    assert "accounts.add_account" in response.json()["message"]
    response = api_client.patch(
        f"{ACCOUNTS}{graph['account'].pk}/", {"name": "Nope"}, format="json"
    )
    assert response.status_code == 403
    assert not Account.objects.filter(name="Nope").exists()


@pytest.mark.django_db
def test_a_revops_session_may_write(api_client, staff_user):
    api_client.force_login(staff_user)

    response = api_client.post(ACCOUNTS, {"name": "Session Co"}, format="json")

    assert response.status_code == 201
    event = AccountEvent.objects.get(account_id=response.json()["id"], kind="created")
    assert event.actor == staff_user


@pytest.mark.django_db
def test_a_logged_in_user_who_is_not_staff_is_refused(api_client):
    api_client.force_login(UserFactory(username="outsider", is_staff=False))

    assert api_client.get(ACCOUNTS).status_code == 403


# Accounts: reading --------------------------------------------------------------------


@pytest.mark.django_db
def test_account_detail_shows_the_account_graph(reader):
    # given an account with everything set
    tier = TierFactory(rank=1, name="Strategic", treatment="one_to_one")
    partner = PartnerFactory(name="Resell Inc")
    parent = AccountFactory(name="Acme Holdings")
    account = AccountFactory(
        name="Acme",
        tier=tier,
        partner=partner,
        parent=parent,
        stage=Stage.CUSTOMER,
        renewal_date=date(2027, 1, 31),
    )
    AccountDomainFactory(account=account, domain="acme.com", is_primary=True)
    AccountDomainFactory(account=account, domain="acme.de", is_primary=False)
    AccountIdentifierFactory(account=account, system="crm", external_id="001A")
    member = TeamMemberFactory(account=account, role=TeamRole.AE)
    ArrChangeFactory(account=account, effective_date=date(2025, 1, 1), arr=Decimal("1000"))
    ArrChangeFactory(account=account, effective_date=date(2025, 6, 1), arr=Decimal("2500.50"))

    # when
    body = reader.get(f"{ACCOUNTS}{account.pk}/").json()

    # then
    assert body["name"] == "Acme"
    assert body["domain"] == "acme.com"
    assert body["domains"] == ["acme.com", "acme.de"]
    assert body["identifiers"] == [{"system": "crm", "external_id": "001A"}]
    assert body["tier"] == {
        "id": tier.pk,
        "name": "Strategic",
        "rank": 1,
        "treatment": "one_to_one",
    }
    assert body["tier_source"] == "manual"
    assert body["parent"] == parent.pk
    assert body["partner"] == partner.pk
    assert body["stage"] == "customer"
    assert body["renewal_date"] == "2027-01-31"
    assert body["current_arr"] == "2500.50"
    assert body["merged_into"] is None
    assert body["team"] == [
        {"role": "ae", "user": member.user_id, "username": member.user.username}
    ]
    assert {"created_at", "updated_at", "website", "country", "do_not_contact"} <= set(body)


@pytest.mark.django_db
def test_a_merged_account_is_not_listed_but_can_be_fetched(reader):
    survivor = AccountFactory(name="Survivor")
    merged = AccountFactory(name="Merged", merged_into=survivor)

    listed = [row["id"] for row in reader.get(ACCOUNTS).json()["results"]]
    detail = reader.get(f"{ACCOUNTS}{merged.pk}/")

    assert listed == [survivor.pk]
    assert detail.status_code == 200
    assert detail.json()["merged_into"] == survivor.pk


@pytest.mark.django_db
def test_an_unknown_account_is_404(reader):
    response = reader.get(f"{ACCOUNTS}999999/")

    assert response.status_code == 404
    assert response.json()["message"]


@pytest.fixture
def filtered_accounts(db):
    """Three accounts that differ in every filterable attribute."""
    strategic = TierFactory(rank=1, name="Strategic")
    growth = TierFactory(rank=2, name="Growth")
    partner = PartnerFactory()
    ae = UserFactory(username="ae1")
    csm = UserFactory(username="csm1")
    alpha = AccountFactory(
        name="Alpha Corp",
        tier=strategic,
        stage=Stage.CUSTOMER,
        country="US",
        industry="Software",
        partner=partner,
        employee_count=500,
    )
    beta = AccountFactory(
        name="Beta GmbH",
        tier=growth,
        stage=Stage.PROSPECT,
        country="DE",
        industry="Retail",
        parent=alpha,
        do_not_contact=True,
        employee_count=50,
    )
    gamma = AccountFactory(name="Gamma Ltd", stage=Stage.ENGAGED, country="GB", employee_count=5)
    AccountDomainFactory(account=alpha, domain="alpha.com")
    AccountDomainFactory(account=beta, domain="beta.de")
    AccountDomainFactory(account=gamma, domain="gamma.co.uk")
    AccountDomainFactory(account=gamma, domain="gamma-alpha-brand.com", is_primary=False)
    TeamMemberFactory(account=alpha, user=ae, role=TeamRole.AE)
    TeamMemberFactory(account=beta, user=csm, role=TeamRole.CSM)
    TeamMemberFactory(account=gamma, user=ae, role=TeamRole.CSM)
    return {
        "alpha": alpha,
        "beta": beta,
        "gamma": gamma,
        "strategic": strategic,
        "partner": partner,
        "ae": ae,
        "csm": csm,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (lambda f: {"tier": f["strategic"].pk}, ["alpha"]),
        (lambda f: {"tier_name": "growth"}, ["beta"]),
        (lambda f: {"stage": "engaged"}, ["gamma"]),
        (lambda f: {"owner": f["ae"].pk}, ["alpha", "gamma"]),
        (lambda f: {"owner": f["ae"].pk, "owner_role": "ae"}, ["alpha"]),
        (lambda f: {"owner_role": "csm"}, ["beta", "gamma"]),
        (lambda f: {"partner": f["partner"].pk}, ["alpha"]),
        (lambda f: {"country": "de"}, ["beta"]),
        (lambda f: {"industry": "retail"}, ["beta"]),
        (lambda f: {"parent": f["alpha"].pk}, ["beta"]),
        (lambda f: {"do_not_contact": "true"}, ["beta"]),
        (lambda f: {"search": "gmbh"}, ["beta"]),
        # An account is found by any of its domains, and listed once.
        (lambda f: {"search": "alpha"}, ["alpha", "gamma"]),
        (lambda f: {"search": "co.uk"}, ["gamma"]),
    ],
)
def test_account_filters(reader, filtered_accounts, query, expected):
    response = reader.get(ACCOUNTS, query(filtered_accounts))

    assert response.status_code == 200
    names = [row["id"] for row in response.json()["results"]]
    assert names == [filtered_accounts[name].pk for name in expected]


@pytest.mark.django_db
def test_an_unknown_tier_filter_is_a_400(reader):
    response = reader.get(ACCOUNTS, {"tier": 999999})

    assert response.status_code == 400
    assert "tier" in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("arr", ["none", "small", "big"]),
        ("-arr", ["big", "small", "none"]),
        ("employee_count", ["none", "small", "big"]),
        ("-name", ["small", "none", "big"]),
    ],
)
def test_account_ordering(reader, ordering, expected):
    accounts = {
        "small": AccountFactory(name="Small", employee_count=20),
        "none": AccountFactory(name="None", employee_count=10),
        "big": AccountFactory(name="Big", employee_count=900),
    }
    # ARR is today's: big went up to 9,000, small stands at 100, none never had any.
    ArrChangeFactory(account=accounts["big"], effective_date=date(2025, 1, 1), arr=50)
    ArrChangeFactory(account=accounts["big"], effective_date=date(2025, 2, 1), arr=9000)
    ArrChangeFactory(account=accounts["small"], effective_date=date(2025, 1, 1), arr=100)

    response = reader.get(ACCOUNTS, {"ordering": ordering})

    assert [row["id"] for row in response.json()["results"]] == [
        accounts[name].pk for name in expected
    ]


@pytest.mark.django_db
def test_account_pagination(reader):
    AccountFactory.create_batch(5)

    first = reader.get(ACCOUNTS, {"page_size": 2}).json()
    last = reader.get(ACCOUNTS, {"page_size": 2, "page": 3}).json()

    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert "page=2" in first["next"]
    assert len(last["results"]) == 1
    assert last["next"] is None


# Accounts: writing --------------------------------------------------------------------


@pytest.mark.django_db
def test_create_an_account_with_domains_and_identifiers(writer):
    tier = TierFactory(rank=1)

    response = writer.post(
        ACCOUNTS,
        {
            "name": "Acme",
            "domain": "https://www.Acme.com",
            "domains": ["acme.de", "http://shop.acme-brand.co.uk/x"],
            "identifiers": [{"system": "crm", "external_id": "001A"}],
            "tier": tier.pk,
            "country": "us",
            "annual_revenue": "1000000.00",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    account = Account.objects.get(pk=body["id"])
    assert body["domain"] == "acme.com"
    assert sorted(body["domains"]) == ["acme-brand.co.uk", "acme.com", "acme.de"]
    assert AccountDomain.objects.get(account=account, is_primary=True).domain == "acme.com"
    assert AccountIdentifier.objects.get(account=account).external_id == "001A"
    assert account.tier == tier
    assert account.country == "US"
    assert body["current_arr"] == "0.00"
    assert AccountEvent.objects.filter(account=account, kind=AccountEventKind.CREATED).exists()


@pytest.mark.django_db
def test_a_stage_change_is_recorded_on_the_timeline(writer):
    account = AccountFactory(stage=Stage.ENGAGED)

    response = writer.patch(f"{ACCOUNTS}{account.pk}/", {"stage": "opportunity"}, format="json")

    assert response.status_code == 200
    assert response.json()["stage"] == "opportunity"
    event = AccountEvent.objects.get(account=account, kind=AccountEventKind.STAGE_CHANGED)
    assert (event.old_value, event.new_value) == ("engaged", "opportunity")
    assert event.actor_label == "API key: test"


@pytest.mark.django_db
def test_put_replaces_the_fields_it_is_given(writer):
    account = AccountFactory(name="Old", industry="Software")
    AccountDomainFactory(account=account, domain="old.com")

    response = writer.put(
        f"{ACCOUNTS}{account.pk}/",
        {"name": "New", "industry": "Retail", "domain": "new.com"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert (account.name, account.industry) == ("New", "Retail")
    assert response.json()["domain"] == "new.com"


@pytest.mark.django_db
def test_put_needs_the_name(writer):
    account = AccountFactory(name="Kept")

    response = writer.put(f"{ACCOUNTS}{account.pk}/", {"industry": "Retail"}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def _db_state():
    return (
        list(Account.objects.values_list("id", "name", "parent_id", "tier_id", "stage")),
        list(AccountDomain.objects.values_list("account_id", "domain", "is_primary")),
        list(AccountIdentifier.objects.values_list("account_id", "system", "external_id")),
        list(ArrChange.objects.values_list("account_id", "effective_date", "arr")),
        list(Contact.objects.values_list("account_id", "email")),
        list(AccountEvent.objects.values_list("id")),
    )


@pytest.fixture
def taken(db):
    """An account owning acme.com and crm:001A, with a child and a grandchild."""
    account = AccountFactory(name="Acme")
    AccountDomainFactory(account=account, domain="acme.com")
    AccountIdentifierFactory(account=account, system="crm", external_id="001A")
    child = AccountFactory(name="Acme EU", parent=account)
    grandchild = AccountFactory(name="Acme DE", parent=child)
    return {"account": account, "child": child, "grandchild": grandchild}


BAD_INPUT = [
    (
        "duplicate domain",
        "post",
        lambda t: ACCOUNTS,
        {"name": "X", "domain": "www.acme.com"},
        "domain",
    ),
    (
        "duplicate extra domain",
        "post",
        lambda t: ACCOUNTS,
        {"name": "X", "domain": "x.com", "domains": ["shop.acme.com"]},
        "domains",
    ),
    (
        "duplicate identifier",
        "post",
        lambda t: ACCOUNTS,
        {"name": "X", "domain": "x.com", "identifiers": [{"system": "crm", "external_id": "001A"}]},
        "identifiers",
    ),
    (
        "unknown identifier system",
        "post",
        lambda t: ACCOUNTS,
        {"name": "X", "identifiers": [{"system": "erp", "external_id": "1"}]},
        "identifiers",
    ),
    (
        "unknown key in an identifier",
        "post",
        lambda t: ACCOUNTS,
        {"name": "X", "identifiers": [{"system": "crm", "external_id": "2", "sytem": "crm"}]},
        "identifiers",
    ),
    ("not a domain", "post", lambda t: ACCOUNTS, {"name": "X", "domain": "localhost"}, "domain"),
    (
        "parent cycle",
        "patch",
        lambda t: f"{ACCOUNTS}{t['account'].pk}/",
        lambda t: {"parent": t["grandchild"].pk},
        "parent",
    ),
    (
        "own parent",
        "patch",
        lambda t: f"{ACCOUNTS}{t['account'].pk}/",
        lambda t: {"parent": t["account"].pk},
        "parent",
    ),
    ("nonexistent tier", "post", lambda t: ACCOUNTS, {"name": "X", "tier": 999999}, "tier"),
    (
        "nonexistent tier on update",
        "patch",
        lambda t: f"{ACCOUNTS}{t['account'].pk}/",
        {"tier": 999999},
        "tier",
    ),
    ("unknown key", "post", lambda t: ACCOUNTS, {"name": "X", "stgae": "customer"}, "stgae"),
    (
        "unknown key on update",
        "patch",
        lambda t: f"{ACCOUNTS}{t['account'].pk}/",
        {"stgae": "customer"},
        "stgae",
    ),
    (
        "read-only key on update",
        "patch",
        lambda t: f"{ACCOUNTS}{t['account'].pk}/",
        {"merged_into": 1},
        "merged_into",
    ),
    ("unknown stage", "post", lambda t: ACCOUNTS, {"name": "X", "stage": "won"}, "stage"),
    ("bad country", "post", lambda t: ACCOUNTS, {"name": "X", "country": "U1"}, "country"),
    (
        "negative revenue",
        "post",
        lambda t: ACCOUNTS,
        {"name": "X", "annual_revenue": "-1"},
        "annual_revenue",
    ),
    (
        "negative ARR",
        "post",
        lambda t: arr_url(t["account"]),
        {"effective_date": "2026-01-01", "arr": "-100.00"},
        "arr",
    ),
    (
        "ARR without a date",
        "post",
        lambda t: arr_url(t["account"]),
        {"arr": "100.00"},
        "effective_date",
    ),
    (
        "unknown key in ARR",
        "post",
        lambda t: arr_url(t["account"]),
        {"effective_date": "2026-01-01", "arr": "1", "currency": "EUR"},
        "currency",
    ),
    (
        "invalid email",
        "post",
        lambda t: CONTACTS,
        lambda t: {"account": t["account"].pk, "email": "not-an-email"},
        "email",
    ),
    (
        "unknown buying role",
        "post",
        lambda t: CONTACTS,
        lambda t: {"account": t["account"].pk, "email": "a@acme.com", "buying_role": "boss"},
        "buying_role",
    ),
    (
        "negative deal amount",
        "post",
        lambda t: DEALS,
        lambda t: {
            "account": t["account"].pk,
            "name": "D",
            "kind": "renewal",
            "amount": "-5",
            "created_date": "2026-01-01",
        },
        "amount",
    ),
    (
        "won deal without close date",
        "post",
        lambda t: DEALS,
        lambda t: {
            "account": t["account"].pk,
            "name": "D",
            "kind": "renewal",
            "amount": "5",
            "status": "won",
            "created_date": "2026-01-01",
        },
        "non_field_errors",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    writer, taken, method, url, body, field
):
    # given
    before = _db_state()
    body = body(taken) if callable(body) else body

    # when
    response = getattr(writer, method)(url(taken), body, format="json")

    # then
    assert response.status_code == 400, response.json()
    payload = response.json()
    assert field in payload["errors"], payload
    assert field in payload["message"]
    assert _db_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("url", [ACCOUNTS, CONTACTS, DEALS])
def test_malformed_json_is_refused(writer, taken, url):
    before = _db_state()

    response = writer.post(url, '{"name": "X",', content_type="application/json")

    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    assert _db_state() == before


@pytest.mark.django_db
def test_a_body_that_is_not_an_object_is_refused(writer, taken):
    response = writer.post(ACCOUNTS, ["Acme"], format="json")

    assert response.status_code == 400
    assert response.json()["errors"]


# Contacts -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_and_update_a_contact(writer):
    account = AccountFactory()
    other = AccountFactory()

    created = writer.post(
        CONTACTS,
        {"account": account.pk, "email": " Jane.Roe@Acme.COM ", "title": "Engineer"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    contact = Contact.objects.get(pk=created.json()["id"])
    assert contact.email == "jane.roe@acme.com"

    updated = writer.patch(
        f"{CONTACTS}{contact.pk}/",
        {"buying_role": "champion", "account": other.pk},
        format="json",
    )
    assert updated.status_code == 200, updated.json()
    contact.refresh_from_db()
    assert (contact.buying_role, contact.account) == (BuyingRole.CHAMPION, other)
    assert updated.json()["buying_role"] == "champion"


@pytest.mark.django_db
def test_contact_filters(reader):
    acme, globex = AccountFactory(), AccountFactory()
    jane = ContactFactory(
        account=acme, email="jane@acme.com", name="Jane", buying_role=BuyingRole.CHAMPION
    )
    john = ContactFactory(account=acme, email="john@acme.com", name="John", title="VP Sales")
    hank = ContactFactory(account=globex, email="hank@globex.com", name="Hank")

    def ids(**query):
        return [row["id"] for row in reader.get(CONTACTS, query).json()["results"]]

    assert ids(account=acme.pk) == [jane.pk, john.pk]
    assert ids(buying_role="champion") == [jane.pk]
    assert ids(email="HANK@globex.com") == [hank.pk]
    assert ids(search="vp sales") == [john.pk]
    assert ids(search="globex") == [hank.pk]


# Deals --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_and_close_a_deal(writer):
    account = AccountFactory()
    partner = PartnerFactory()

    created = writer.post(
        DEALS,
        {
            "account": account.pk,
            "name": "Acme expansion",
            "kind": "expansion",
            "amount": "24000.00",
            "created_date": "2026-01-10",
            "partner_influence": "sourced",
            "partner": partner.pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    deal_id = created.json()["id"]

    closed = writer.patch(
        f"{DEALS}{deal_id}/", {"status": "won", "close_date": "2026-03-01"}, format="json"
    )

    assert closed.status_code == 200, closed.json()
    deal = Deal.objects.get(pk=deal_id)
    assert (deal.status, deal.close_date, deal.amount) == (
        DealStatus.WON,
        date(2026, 3, 1),
        Decimal("24000.00"),
    )
    assert closed.json()["amount"] == "24000.00"


@pytest.mark.django_db
def test_deal_filters(reader):
    acme, globex = AccountFactory(), AccountFactory()
    partner = PartnerFactory()
    new = DealFactory(account=acme, kind="new_business", created_date=date(2026, 1, 3))
    won = DealFactory(
        account=acme,
        kind="renewal",
        status="won",
        close_date=date(2026, 2, 1),
        created_date=date(2026, 1, 2),
    )
    sourced = DealFactory(
        account=globex,
        kind="expansion",
        partner=partner,
        partner_influence="sourced",
        created_date=date(2026, 1, 1),
    )

    def ids(**query):
        return [row["id"] for row in reader.get(DEALS, query).json()["results"]]

    assert ids() == [new.pk, won.pk, sourced.pk]
    assert ids(account=acme.pk) == [new.pk, won.pk]
    assert ids(status="won") == [won.pk]
    assert ids(kind="expansion") == [sourced.pk]
    assert ids(partner=partner.pk) == [sourced.pk]
    assert ids(partner_influence="sourced") == [sourced.pk]


# ARR history --------------------------------------------------------------------------


@pytest.mark.django_db
def test_arr_history_is_listed_oldest_first_and_upserted_by_date(writer):
    account = AccountFactory()
    ArrChangeFactory(account=account, effective_date=date(2025, 6, 1), arr=Decimal("2000"))
    ArrChangeFactory(account=account, effective_date=date(2025, 1, 1), arr=Decimal("1000"))
    url = arr_url(account)

    added = writer.post(url, {"effective_date": "2025-09-01", "arr": "3000.00"}, format="json")
    replaced = writer.post(
        url, {"effective_date": "2025-06-01", "arr": "2500.00", "note": "fix"}, format="json"
    )
    history = writer.get(url).json()["results"]

    assert added.status_code == 201
    assert replaced.status_code == 200
    assert [(row["effective_date"], row["arr"]) for row in history] == [
        ("2025-01-01", "1000.00"),
        ("2025-06-01", "2500.00"),
        ("2025-09-01", "3000.00"),
    ]
    assert ArrChange.objects.filter(account=account).count() == 3
    assert writer.get(f"{ACCOUNTS}{account.pk}/").json()["current_arr"] == "3000.00"


@pytest.mark.django_db
def test_arr_of_an_unknown_account_is_404(writer):
    assert writer.get("/api/v1/accounts/999999/arr/").status_code == 404
    response = writer.post(
        "/api/v1/accounts/999999/arr/", {"effective_date": "2025-01-01", "arr": "1"}, format="json"
    )
    assert response.status_code == 404
    assert not ArrChange.objects.exists()


# Query counts -------------------------------------------------------------------------


def _full_account(n: int, tier, partner, parent):
    account = AccountFactory(name=f"Query {n}", tier=tier, partner=partner, parent=parent)
    AccountDomainFactory(account=account)
    AccountDomainFactory(account=account, is_primary=False)
    AccountIdentifierFactory(account=account)
    TeamMemberFactory(account=account, role=TeamRole.AE)
    TeamMemberFactory(account=account, role=TeamRole.CSM)
    ArrChangeFactory(account=account)
    return account


def _warm(client, url):
    # The first use of a key records `last_used_at`; later calls within a minute do not.
    assert client.get(url).status_code == 200


# key lookup + COUNT + page + team, domains and identifiers prefetches
ACCOUNT_LIST_QUERIES = 6


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 10])
def test_account_list_query_count_does_not_grow_with_rows(reader, django_assert_num_queries, rows):
    tier, partner, parent = TierFactory(rank=1), PartnerFactory(), AccountFactory()
    for n in range(rows):
        _full_account(n, tier, partner, parent)
    _warm(reader, ACCOUNTS)

    with django_assert_num_queries(ACCOUNT_LIST_QUERIES):
        response = reader.get(ACCOUNTS, {"page_size": 100})

    assert len(response.json()["results"]) == rows + 1


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 10])
def test_contact_list_query_count_does_not_grow_with_rows(reader, django_assert_num_queries, rows):
    ContactFactory.create_batch(rows)
    _warm(reader, CONTACTS)

    # key lookup + COUNT + page
    with django_assert_num_queries(3):
        response = reader.get(CONTACTS, {"page_size": 100})

    assert len(response.json()["results"]) == rows


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 10])
def test_deal_list_query_count_does_not_grow_with_rows(reader, django_assert_num_queries, rows):
    partner = PartnerFactory()
    DealFactory.create_batch(rows, partner=partner, partner_influence="influenced")
    _warm(reader, DEALS)

    # key lookup + COUNT + page
    with django_assert_num_queries(3):
        response = reader.get(DEALS, {"page_size": 100})

    assert len(response.json()["results"]) == rows


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [3, 10])
def test_arr_history_query_count_does_not_grow_with_rows(reader, django_assert_num_queries, rows):
    account = AccountFactory()
    for n in range(rows):
        ArrChangeFactory(account=account, effective_date=date(2020 + n, 1, 1))
    _warm(reader, arr_url(account))

    # key lookup + account + COUNT + page
    with django_assert_num_queries(4):
        response = reader.get(arr_url(account), {"page_size": 100})

    assert len(response.json()["results"]) == rows


@pytest.mark.django_db
def test_session_list_query_count_is_constant(api_client, staff_user, django_assert_num_queries):
    AccountFactory.create_batch(3)
    api_client.force_login(staff_user)
    _warm(api_client, ACCOUNTS)

    # session + user + user and group permissions + the account list's 5
    with django_assert_num_queries(9):
        api_client.get(ACCOUNTS)


# Schema and docs ----------------------------------------------------------------------


@pytest.mark.django_db
def test_schema_and_docs_are_served_to_staff(api_client, staff_user):
    api_client.force_login(staff_user)

    schema = api_client.get("/api/schema/")
    docs = api_client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/accounts/{id}/" in schema.content
    assert docs.status_code == 200
    # Swagger UI comes from the sidecar's static files, not from a CDN.
    assert b"drf_spectacular_sidecar/swagger-ui-dist" in docs.content
    assert b"cdn" not in docs.content.lower()


@pytest.mark.django_db
def test_schema_is_served_to_any_valid_key(api_client, api_key_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_for(Scope.SIGNALS_WRITE)}")

    assert api_client.get("/api/schema/").status_code == 200


@pytest.mark.django_db
def test_schema_is_not_public(api_client):
    assert api_client.get("/api/schema/").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_send_visitors_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    # --fail-on-warn raises on any warning or error
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert "/api/v1/accounts/{account_pk}/arr/" in out.read_text()
