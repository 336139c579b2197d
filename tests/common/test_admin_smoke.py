"""Every registered ModelAdmin, generated: its pages open, and its changelist costs the
same number of queries whatever the number of rows.

Each model has a row builder below: a factory call (from tests/<app>/factories.py) that
fills the columns its changelist shows, foreign keys included, so that a column reading
a related row without `list_select_related` shows up as queries growing with the rows.
A ModelAdmin registered without a builder fails here, with what to add.
"""

from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import Failure, OrmQ, Schedule, Success

from abx_site.common.models import ApiKey
from accounts.choices import TeamRole
from accounts.models import (
    Account,
    AccountAlias,
    AccountDomain,
    AccountEvent,
    AccountIdentifier,
    AccountTeamMember,
    ArrChange,
    Contact,
    Deal,
    IdentityStep,
    IpRange,
    Partner,
    PersonaRule,
    Tier,
)
from metrics.models import AccountScore, AccountSnapshot, ScoreBand, ScoreComponent, ScoreModel
from playbooks.models import (
    AccountExperience,
    Activation,
    Backtest,
    Campaign,
    CampaignMembership,
    Condition,
    Delivery,
    EvaluationRun,
    ExperienceDefault,
    Playbook,
    PlaybookMembership,
    PlaybookVersion,
    Step,
    StepRun,
    Task,
    TierProposal,
    TierRule,
    TierRuleCondition,
    Trigger,
    WebhookEndpoint,
)
from signals.models import (
    AccountSignalDaily,
    Signal,
    SignalType,
    Source,
    UnmatchedIdentity,
    WebhookReceipt,
)
from tests.accounts.factories import (
    AccountAliasFactory,
    AccountDomainFactory,
    AccountEventFactory,
    AccountFactory,
    AccountIdentifierFactory,
    ArrChangeFactory,
    ContactFactory,
    DealFactory,
    IdentityStepFactory,
    IpRangeFactory,
    PartnerFactory,
    PersonaRuleFactory,
    TeamMemberFactory,
    TierFactory,
    UserFactory,
)
from tests.common.factories import (
    AccessAttemptFactory,
    AccessFailureLogFactory,
    AccessLogFactory,
    ApiKeyFactory,
    GroupFactory,
    QueuedTaskFactory,
    ScheduleFactory,
    TaskResultFactory,
)
from tests.metrics.factories import (
    AccountScoreFactory,
    AccountSnapshotFactory,
    ScoreModelFactory,
)
from tests.playbooks.execution.factories import (
    AccountExperienceFactory,
    CampaignFactory,
    CampaignMembershipFactory,
    DeliveryAttemptFactory,
    ExperienceDefaultFactory,
    StepRunFactory,
    TaskFactory,
    WebhookEndpointFactory,
)
from tests.playbooks.factories import (
    ActivationFactory,
    BacktestFactory,
    ConditionFactory,
    EvaluationRunFactory,
    MembershipFactory,
    PlaybookFactory,
    PlaybookVersionFactory,
    StepFactory,
    TierProposalFactory,
    TierRuleConditionFactory,
    TierRuleFactory,
    TriggerFactory,
)
from tests.signals.factories import (
    AccountSignalDailyFactory,
    SignalFactory,
    SignalTypeFactory,
    SourceFactory,
    UnmatchedIdentityFactory,
    WebhookReceiptFactory,
)

pytestmark = pytest.mark.django_db

TESTS = Path(__file__).resolve().parent.parent


# Row builders: one row of each model, with what its changelist shows ----------------


def _account():
    account = AccountFactory(parent=AccountFactory(), tier=TierFactory(), partner=PartnerFactory())
    AccountDomainFactory(account=account)
    TeamMemberFactory(account=account, role=TeamRole.AE)
    TeamMemberFactory(account=account, role=TeamRole.CSM)
    ArrChangeFactory(account=account)
    return account


def _score_model():
    model = ScoreModelFactory()
    ScoreBand.objects.create(model=model, name="green", min_score=70)
    ScoreComponent.objects.create(model=model, name="Size", feature="employee_count")
    return model


def _playbook():
    playbook = PlaybookFactory()
    playbook.tiers.add(TierFactory())
    ActivationFactory(playbook=playbook)
    return playbook


def _signal():
    account = AccountFactory()
    return SignalFactory(account=account, contact=ContactFactory(account=account), topic="pricing")


def _delivery():
    return DeliveryAttemptFactory().delivery


ROW_BUILDERS = {
    # accounts
    Account: _account,
    AccountAlias: AccountAliasFactory,
    AccountDomain: AccountDomainFactory,
    AccountEvent: AccountEventFactory,
    AccountIdentifier: AccountIdentifierFactory,
    AccountTeamMember: TeamMemberFactory,
    ArrChange: ArrChangeFactory,
    Contact: ContactFactory,
    Deal: lambda: DealFactory(partner=PartnerFactory(), partner_influence="influenced"),
    IdentityStep: IdentityStepFactory,
    IpRange: IpRangeFactory,
    Partner: lambda: AccountFactory(partner=PartnerFactory()).partner,
    PersonaRule: PersonaRuleFactory,
    Tier: lambda: AccountFactory(tier=TierFactory()).tier,
    # signals
    AccountSignalDaily: AccountSignalDailyFactory,
    Signal: _signal,
    SignalType: SignalTypeFactory,
    Source: SourceFactory,
    UnmatchedIdentity: UnmatchedIdentityFactory,
    WebhookReceipt: WebhookReceiptFactory,
    # metrics
    AccountScore: AccountScoreFactory,
    AccountSnapshot: AccountSnapshotFactory,
    ScoreModel: _score_model,
    # playbooks
    AccountExperience: lambda: AccountExperienceFactory(activation=ActivationFactory()),
    Activation: ActivationFactory,
    Backtest: BacktestFactory,
    Campaign: CampaignFactory,
    CampaignMembership: lambda: CampaignMembershipFactory(contact=ContactFactory()),
    Condition: ConditionFactory,
    Delivery: _delivery,
    EvaluationRun: EvaluationRunFactory,
    ExperienceDefault: lambda: ExperienceDefaultFactory(tier=TierFactory()),
    Playbook: _playbook,
    PlaybookMembership: MembershipFactory,
    PlaybookVersion: lambda: PlaybookVersionFactory(published_by=UserFactory()),
    Step: StepFactory,
    StepRun: StepRunFactory,
    Task: lambda: TaskFactory(assignee=UserFactory()),
    TierProposal: TierProposalFactory,
    TierRule: TierRuleFactory,
    TierRuleCondition: TierRuleConditionFactory,
    Trigger: TriggerFactory,
    WebhookEndpoint: WebhookEndpointFactory,
    # the project's own, and the libraries' rows
    ApiKey: ApiKeyFactory,
    Group: GroupFactory,
    User: UserFactory,
    AccessAttempt: AccessAttemptFactory,
    AccessFailureLog: AccessFailureLogFactory,
    AccessLog: AccessLogFactory,
    Failure: lambda: TaskResultFactory(success=False, result="ValueError: boom"),
    OrmQ: QueuedTaskFactory,
    Schedule: ScheduleFactory,
    Success: TaskResultFactory,
}

# Models whose every row comes from a migration (a fixed set): the query-count test
# measures their changelist from an emptied table, refilled by the builder.
FIXED_SETS = {IdentityStep}

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)
IDS = [m._meta.label for m in REGISTERED]


def builder_for(model):
    build = ROW_BUILDERS.get(model)
    if build is None:
        app = model._meta.app_label
        factories = TESTS / app / "factories.py"
        if not factories.parent.is_dir():
            factories = TESTS / "common" / "factories.py"
        name = model.__name__
        pytest.fail(
            f"{model._meta.label} has a ModelAdmin but no row builder. Add a "
            f"`{name}Factory` to {factories.relative_to(TESTS.parent)} (filling the foreign "
            f"keys its list_display shows) and `{name}: {name}Factory,` to ROW_BUILDERS in "
            f"{Path(__file__).relative_to(TESTS.parent)}; the smoke and query-count tests "
            "then cover its changelist, search, add and change pages."
        )
    return build


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def test_row_builders_name_only_registered_models():
    assert not set(ROW_BUILDERS) - set(admin.site._registry), (
        "a builder of a model without a ModelAdmin is left over: remove it"
    )


@pytest.mark.parametrize("model", REGISTERED, ids=IDS)
def test_every_admin_page_opens(admin_client_, superuser, model):
    # given one row of the model, built with what its changelist shows
    obj = builder_for(model)()
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = superuser

    # then the changelist (listing it), a search, the add page and its change page open
    response = admin_client_.get(url(model, "changelist"))
    assert response.status_code == 200
    assert obj.pk in {row.pk for row in response.context["cl"].result_list}
    if model_admin.get_search_fields(request):
        assert admin_client_.get(url(model, "changelist"), {"q": "a"}).status_code == 200
    if model_admin.has_add_permission(request):
        assert admin_client_.get(url(model, "add")).status_code == 200
    assert admin_client_.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=IDS)
def test_every_changelist_costs_the_same_queries_for_3_and_6_rows(
    admin_client_, django_assert_num_queries, model
):
    # given 3 rows (and the page opened once: caches fill on first use)
    build = builder_for(model)
    if model in FIXED_SETS:
        model.objects.all().delete()
    for _ in range(3):
        build()
    changelist = url(model, "changelist")
    admin_client_.get(changelist)
    with CaptureQueriesContext(connection) as three_rows:
        shown = len(admin_client_.get(changelist).context["cl"].result_list)

    # when 3 more rows are built
    for _ in range(3):
        build()

    # then the page lists them for the same number of queries
    with django_assert_num_queries(len(three_rows)):
        response = admin_client_.get(changelist)
    assert len(response.context["cl"].result_list) >= shown + 3
