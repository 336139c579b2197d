import pytest

from accounts.choices import IdentityMethod
from accounts.identity import (
    IpRangeIndex,
    clean_company_name,
    identity_steps,
    resolve,
    resolve_batch,
)
from accounts.models import Account, IdentityStep
from tests.accounts.factories import (
    AccountDomainFactory,
    AccountFactory,
    AccountIdentifierFactory,
    ContactFactory,
    IpRangeFactory,
)

pytestmark = pytest.mark.django_db


def test_default_steps_come_from_the_data_migration():
    keys = list(IdentityStep.objects.order_by("position").values_list("key", flat=True))
    assert keys == [
        "account_id",
        "identifier",
        "contact_email",
        "email_domain",
        "domain",
        "ip",
        "name",
        "unmatched",
    ]
    name_step = IdentityStep.objects.get(key="name")
    assert (name_step.threshold, name_step.margin) == (90, 5)


def test_account_id_matches_an_existing_account_only():
    account = AccountFactory()

    found = resolve({"account_id": account.pk})
    missing = resolve({"account_id": account.pk + 1000})

    assert (found.account_id, found.method, found.confidence) == (
        account.pk,
        IdentityMethod.ACCOUNT_ID,
        1.0,
    )
    assert not missing.matched
    assert missing.method == IdentityMethod.UNMATCHED


def test_external_identifier_matches_by_system_and_id():
    identifier = AccountIdentifierFactory(system="crm", external_id="001A")
    AccountIdentifierFactory(system="billing", external_id="001A")

    by_mapping = resolve({"identifier": {"system": "crm", "id": "001A"}})
    by_pair = resolve({"identifier": ("CRM", "001A")})
    wrong_system = resolve({"identifier": {"system": "support", "id": "001A"}})

    assert by_mapping.account_id == identifier.account_id
    assert by_mapping.method == IdentityMethod.IDENTIFIER
    assert by_pair.account_id == identifier.account_id
    assert not wrong_system.matched


def test_known_contact_email_wins_over_its_domain():
    # given a contact who works at one account from another company's mail domain
    consultant = ContactFactory(email="jane@partnerco.com")
    AccountDomainFactory(domain="partnerco.com")

    # when
    result = resolve({"email": " Jane@PartnerCo.com "})

    # then
    assert result.account_id == consultant.account_id
    assert result.method == IdentityMethod.CONTACT_EMAIL


def test_email_domain_matches_the_registrable_domain():
    owned = AccountDomainFactory(domain="acme.co.uk")

    result = resolve({"email": "new.person@mail.eu.acme.co.uk"})

    assert (result.account_id, result.method) == (owned.account_id, IdentityMethod.EMAIL_DOMAIN)


@pytest.mark.parametrize("email", ["someone@gmail.com", "x@mailinator.com", "y@mail.yahoo.co.uk"])
def test_free_mail_domains_never_match(email):
    # Even an account that (wrongly) owns the free-mail domain is not matched by it.
    AccountDomainFactory(domain=email.rsplit("@", 1)[1].removeprefix("mail."))

    assert not resolve({"email": email}).matched


@pytest.mark.parametrize(
    "value",
    ["https://www.Acme.co.uk/pricing?utm=1", "shop.eu.acme.co.uk", "ACME.CO.UK."],
)
def test_domain_and_url_are_normalised_to_the_registrable_domain(value):
    owned = AccountDomainFactory(domain="acme.co.uk")

    result = resolve({"url": value})

    assert (result.account_id, result.method) == (owned.account_id, IdentityMethod.DOMAIN)


def test_idn_domains_match_in_either_spelling():
    owned = AccountDomainFactory(domain="xn--bcher-kva.de")

    assert resolve({"domain": "www.bücher.de"}).account_id == owned.account_id
    assert resolve({"domain": "xn--bcher-kva.de"}).account_id == owned.account_id


def test_ipv4_and_ipv6_ranges_match_and_the_narrowest_range_wins():
    wide = IpRangeFactory(network="203.0.113.0/24")
    narrow = IpRangeFactory(network="203.0.113.64-203.0.113.95")
    v6 = IpRangeFactory(network="2001:db8:abcd::/48")

    results = resolve_batch(
        [
            {"ip": "203.0.113.5"},
            {"ip": "203.0.113.70"},
            {"ip": "2001:db8:abcd:12::1"},
            {"ip": "2001:db8:ffff::1"},
            {"ip": "198.51.100.1"},
            {"ip": "not an ip"},
        ]
    )

    assert [r.account_id for r in results] == [
        wide.account_id,
        narrow.account_id,
        v6.account_id,
        None,
        None,
        None,
    ]
    assert results[0].method == IdentityMethod.IP
    assert results[0].confidence == 1.0


def test_ip_range_index_walks_back_over_nested_ranges():
    index = IpRangeIndex(
        [
            ("00", "ff", 1),  # everything
            ("10", "1f", 2),
            ("20", "2f", 3),
            ("22", "24", 4),
        ]
    )

    assert index.lookup("15") == 2
    assert index.lookup("23") == 4
    assert index.lookup("2a") == 3
    assert index.lookup("30") == 1


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Acme Incorporated", "acme"),
        ("ACME Inc.", "acme"),
        ("The Acme Company", "acme"),
        ("Müller-Bau GmbH", "muller bau"),
        ("Initech, LLC", "initech"),
    ],
)
def test_company_names_lose_suffixes_accents_case_and_punctuation(raw, clean):
    assert clean_company_name(raw) == clean


def test_fuzzy_name_matches_across_legal_suffixes():
    acme = AccountFactory(name="ACME Inc.")
    AccountFactory(name="Globex Corporation")

    result = resolve({"name": "Acme Incorporated"})

    assert (result.account_id, result.method, result.confidence) == (
        acme.pk,
        IdentityMethod.NAME,
        1.0,
    )


def test_name_candidates_contain_a_part_ignoring_case_and_wildcards():
    acme = AccountFactory(name="ACME Robotics")
    percent = AccountFactory(name="100% Juice")
    AccountFactory(name="Globex Corporation")
    AccountFactory(name="10 Juicers")

    found = set(
        Account.objects.name_contains_any(["acme", "0% j", "zzzz"]).values_list("pk", flat=True)
    )

    # "%" is a character to find, not a wildcard: "10 Juicers" stays out
    assert found == {acme.pk, percent.pk}


def test_fuzzy_name_below_the_threshold_is_unmatched_with_candidates():
    near = AccountFactory(name="Acme Robotics")

    result = resolve({"name": "Acme Robo"})

    assert not result.matched
    assert [c.account_id for c in result.candidates] == [near.pk]
    assert 0.7 <= result.candidates[0].confidence < 0.9


def test_two_close_candidates_are_ambiguous_and_both_are_returned():
    first = AccountFactory(name="Acme Systems Ltd", country="US")
    second = AccountFactory(name="Acme System Inc", country="US")

    result = resolve({"name": "Acme Systems", "country": "US"})

    assert not result.matched
    assert result.ambiguous
    assert {c.account_id for c in result.candidates} == {first.pk, second.pk}


def test_a_clear_winner_beats_the_margin():
    winner = AccountFactory(name="Acme Systems")
    AccountFactory(name="Acme Sys")

    result = resolve({"name": "Acme Systems GmbH"})

    assert result.account_id == winner.pk


def test_ties_are_broken_by_country_first():
    AccountFactory(name="Acme GmbH", country="DE")
    american = AccountFactory(name="Acme Inc", country="US")
    ContactFactory.create_batch(3, account__name="Unrelated")

    result = resolve({"name": "Acme", "country": "us"})

    assert (result.account_id, result.method) == (american.pk, IdentityMethod.NAME)


def test_ties_are_then_broken_by_number_of_contacts():
    small = AccountFactory(name="Acme Ltd", country="GB")
    large = AccountFactory(name="Acme Limited", country="GB")
    ContactFactory.create_batch(2, account=large)
    ContactFactory(account=small)

    result = resolve({"name": "ACME", "country": "GB"})

    assert result.account_id == large.pk


def test_a_tie_on_country_and_contacts_stays_ambiguous():
    first = AccountFactory(name="Acme Ltd", country="GB")
    second = AccountFactory(name="Acme Limited", country="GB")

    result = resolve({"name": "ACME"})

    assert result.ambiguous
    assert {c.account_id for c in result.candidates} == {first.pk, second.pk}
    assert all(c.confidence == 1.0 for c in result.candidates)


def test_merged_accounts_resolve_to_their_survivor_through_chains():
    survivor = AccountFactory()
    middle = AccountFactory(merged_into=survivor)
    loser = AccountFactory(merged_into=middle)
    AccountDomainFactory(account=loser, domain="old-brand.com")

    by_domain = resolve({"domain": "old-brand.com"})
    by_id = resolve({"account_id": middle.pk})

    assert by_domain.account_id == survivor.pk
    assert by_domain.method == IdentityMethod.DOMAIN
    assert by_id.account_id == survivor.pk


def test_merged_accounts_are_not_name_candidates():
    survivor = AccountFactory(name="Acme Holdings")
    AccountFactory(name="Acme Holdings Inc", merged_into=survivor)

    assert resolve({"name": "Acme Holdings"}).account_id == survivor.pk


def test_steps_run_in_order_and_the_first_match_stands():
    by_identifier = AccountIdentifierFactory(system="crm", external_id="X1")
    AccountDomainFactory(domain="acme.com")

    result = resolve({"identifier": ("crm", "X1"), "domain": "acme.com"})

    assert result.account_id == by_identifier.account_id


def test_a_disabled_step_is_skipped():
    owned = AccountDomainFactory(domain="acme.com")
    IdentityStep.objects.filter(key="domain").update(enabled=False)

    assert not resolve({"domain": "acme.com"}).matched
    assert resolve({"email": "x@acme.com"}).account_id == owned.account_id


def test_reordered_steps_change_which_match_wins():
    by_identifier = AccountIdentifierFactory(system="crm", external_id="X1")
    by_domain = AccountDomainFactory(domain="acme.com")
    IdentityStep.objects.filter(key="domain").update(position=0)

    result = resolve({"identifier": ("crm", "X1"), "domain": "acme.com"})

    assert result.account_id == by_domain.account_id != by_identifier.account_id


def test_steps_after_unmatched_do_not_run():
    AccountFactory(name="Acme Inc")
    IdentityStep.objects.filter(key="unmatched").update(position=5)

    assert not resolve({"name": "Acme"}).matched


def test_threshold_and_margin_are_read_from_the_step():
    near = AccountFactory(name="Acme Robotics")
    IdentityStep.objects.filter(key="name").update(threshold=80, margin=1)

    result = resolve({"name": "Acme Robo"})

    assert result.account_id == near.pk
    assert identity_steps()[6].threshold == 80


def test_an_empty_hint_set_is_unmatched():
    result = resolve({})

    assert (result.account_id, result.method, result.confidence, result.candidates) == (
        None,
        IdentityMethod.UNMATCHED,
        0.0,
        [],
    )


def _world(size):
    """`size` items of each kind, each resolved by a different step."""
    hints = []
    for n in range(size):
        account = AccountFactory(name=f"Company Number{n:03d} Ltd")
        AccountIdentifierFactory(account=account, system="crm", external_id=f"ID{n}")
        ContactFactory(account=account, email=f"known{n}@example.org")
        AccountDomainFactory(account=account, domain=f"site{n}.com")
        IpRangeFactory(account=account, network=f"10.9.{n}.0/24")
        merged = AccountFactory(merged_into=account)
        hints += [
            {"account_id": merged.pk},
            {"identifier": ("crm", f"ID{n}")},
            {"email": f"known{n}@example.org"},
            {"email": f"new{n}@site{n}.com"},
            {"url": f"https://www.site{n}.com/x"},
            {"ip": f"10.9.{n}.7"},
            {"name": f"Company Number{n:03d} Limited"},
            {"email": f"nobody{n}@gmail.com", "name": "Zzz Unknown"},
        ]
    return hints


@pytest.mark.parametrize("size", [3, 30])
def test_a_batch_costs_the_same_queries_whatever_its_size(size, django_assert_num_queries):
    hints = _world(size)

    # steps config 1, one per step 7 (the name step: aliases, candidates; no ties), merges 2
    with django_assert_num_queries(11):
        results = resolve_batch(hints)

    methods = [r.method for r in results[:8]]
    assert methods == [
        "account_id",
        "identifier",
        "contact_email",
        "email_domain",
        "domain",
        "ip",
        "name",
        "unmatched",
    ]
    assert sum(r.matched for r in results) == 7 * size


def test_accounts_keep_the_cleaned_name_the_name_step_compares():
    # given
    account = AccountFactory(name="The Müller-Acme GmbH & Co. KG")
    assert account.name_key == "acme muller"

    # when renamed, even saving only the name
    account.name = "Globex Corporation"
    account.save(update_fields=["name"])

    # then
    account.refresh_from_db()
    assert account.name_key == "globex"


def test_an_account_written_without_its_key_still_matches_by_name():
    # given an account stored in bulk, around save()
    account = AccountFactory(name="Initech Inc.")
    Account.objects.filter(pk=account.pk).update(name_key="")

    # when
    result = resolve({"name": "Initech"})

    # then
    assert (result.account_id, result.method) == (account.pk, IdentityMethod.NAME)
