"""Identity resolution: which account do these hints belong to? (DESIGN §3)

One service for every path (ingestion, imports, the API, the admin). Hints may hold an
account id, an external identifier, an email, a domain or URL, an IP address, a company
name and a country. The steps run in the order configured in `IdentityStep`; each one
looks up, with one query for the whole batch, the items no earlier step matched. So a
batch costs a constant number of queries per step, whatever its size.

Decisions worth knowing:
- Free-mail and disposable email domains never match an account (`accounts.freemail`).
- Domains and URLs are compared as registrable domains (public-suffix and IDN aware).
- IP ranges may nest: the narrowest range holding the address wins. The batch loads the
  ranges that overlap its lowest and highest address in one query, then matches each
  address in memory (ranges sorted by start, with a running maximum of their ends so a
  lookup stops as soon as no earlier range can reach the address).
- Company names are compared after removing legal suffixes (cleanco), accents, case and
  punctuation, with rapidfuzz's token-sort ratio. The database narrows the candidates to
  accounts whose name contains the first letters of one of the two longest words of a
  hint's name; a name misspelt at the start of both goes unmatched (to review) rather
  than being guessed. Accounts keep their cleaned name (`Account.name_key`): a batch
  compares, it does not clean, thousands of candidates.
  A name matches when its best score reaches the threshold and beats every other
  candidate by the margin; candidates within the margin are separated by the hint's
  country, then by the number of contacts; what stays tied is ambiguous: no match, and
  the tied candidates are returned for a person to decide.
- An account alias equal to the normalised name matches with full confidence before
  any fuzzy comparison (reviewers add aliases from the review queue).
- A merged account resolves to the account it was merged into (chains are followed).
"""

import bisect
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from operator import or_

import numpy
from cleanco import basename
from django.db.models import Count, Q
from rapidfuzz import fuzz, process

from abx_site.common.rowsets import values_in

from .choices import IdentityMethod
from .domains import ip_key, registrable_domain
from .freemail import is_freemail
from .models import (
    Account,
    AccountAlias,
    AccountDomain,
    AccountIdentifier,
    Contact,
    IdentityStep,
    IpRange,
)

DEFAULT_THRESHOLD = 90
DEFAULT_MARGIN = 5
# Candidates shown for an unmatched name reach at least this score (or the threshold).
CANDIDATE_FLOOR = 70
MAX_CANDIDATES = 5
SCORE_CELLS = 4_000_000  # names x candidates scored at once (16 MB of float32)
MAX_MERGE_DEPTH = 20
# The name step loads accounts whose name holds the start of one of the two longest
# words of a hint's name: narrow enough for the database, wide enough for typos.
NAME_PREFIX = 4

DEFAULT_ORDER = [
    IdentityMethod.ACCOUNT_ID,
    IdentityMethod.IDENTIFIER,
    IdentityMethod.CONTACT_EMAIL,
    IdentityMethod.EMAIL_DOMAIN,
    IdentityMethod.DOMAIN,
    IdentityMethod.IP,
    IdentityMethod.NAME,
    IdentityMethod.UNMATCHED,
]


@dataclass(frozen=True)
class Candidate:
    """An account a name could belong to, with its score as a confidence from 0 to 1."""

    account_id: int
    name: str
    confidence: float


@dataclass
class Resolution:
    """The outcome for one set of hints."""

    account_id: int | None
    method: str = IdentityMethod.UNMATCHED
    confidence: float = 0.0
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.account_id is not None

    @property
    def ambiguous(self) -> bool:
        """Unmatched although candidates came close: a person should decide."""
        return self.account_id is None and bool(self.candidates)


@dataclass
class StepSettings:
    key: str
    threshold: int = DEFAULT_THRESHOLD
    margin: int = DEFAULT_MARGIN


@dataclass
class _Item:
    """One set of hints, normalised once; `result` is set by the step that matches it."""

    account_id: int | None = None
    identifier: tuple[str, str] | None = None
    email: str = ""
    email_domain: str = ""
    domain: str = ""
    ip: str = ""
    name: str = ""
    country: str = ""
    result: Resolution | None = None


def resolve(hints: Mapping) -> Resolution:
    """Resolve one set of hints (see `resolve_batch`)."""
    return resolve_batch([hints])[0]


def resolve_batch(hints_list: Sequence[Mapping]) -> list[Resolution]:
    """Resolve many sets of hints at once; results come in the order of `hints_list`.

    Each hints mapping may hold `account_id`, `identifier` (`{"system", "id"}` or a
    `(system, external_id)` pair), `email`, `domain`, `url`, `ip`, `name`, `country`.
    Hints that cannot be read (a malformed IP, a domain without a registrable part) are
    ignored by their step.
    """
    items = [_normalise(hints) for hints in hints_list]
    for settings in identity_steps():
        if settings.key == IdentityMethod.UNMATCHED:
            break
        pending = [item for item in items if item.result is None or not item.result.matched]
        if not pending:
            break
        _STEPS[settings.key](pending, settings)
    _follow_merges([item.result for item in items if item.result is not None])
    return [item.result or Resolution(account_id=None) for item in items]


def identity_steps() -> list[StepSettings]:
    """The enabled steps in their configured order (the defaults when none are stored)."""
    rows = list(IdentityStep.objects.order_by("position", "key"))
    if not rows:
        return [StepSettings(key=key) for key in DEFAULT_ORDER]
    return [
        StepSettings(
            key=row.key,
            threshold=DEFAULT_THRESHOLD if row.threshold is None else row.threshold,
            margin=DEFAULT_MARGIN if row.margin is None else row.margin,
        )
        for row in rows
        if row.enabled or row.key == IdentityMethod.UNMATCHED
    ]


# Normalising hints ---------------------------------------------------------------------


def _normalise(hints: Mapping) -> _Item:
    item = _Item()
    raw_id = hints.get("account_id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        item.account_id = raw_id
    elif isinstance(raw_id, str) and raw_id.strip().isdigit():
        item.account_id = int(raw_id)
    item.identifier = _identifier(hints.get("identifier"))
    email = hints.get("email")
    if isinstance(email, str) and "@" in email:
        item.email = email.strip().lower()
        item.email_domain = _domain(item.email.rpartition("@")[2])
    for key in ("domain", "url", "website"):
        value = hints.get(key)
        if isinstance(value, str) and value.strip():
            item.domain = _domain(value)
            if item.domain:
                break
    ip = hints.get("ip")
    if isinstance(ip, str) and ip.strip():
        try:
            item.ip = ip_key(ip.strip())
        except ValueError:
            item.ip = ""
    name = hints.get("name")
    if isinstance(name, str):
        item.name = clean_company_name(name)
    country = hints.get("country")
    if isinstance(country, str):
        item.country = country.strip().upper()
    return item


def _identifier(value) -> tuple[str, str] | None:
    if isinstance(value, Mapping):
        system = value.get("system")
        external_id = value.get("id", value.get("external_id"))
    elif isinstance(value, list | tuple) and len(value) == 2:
        system, external_id = value
    else:
        return None
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not (isinstance(system, str) and isinstance(external_id, str)):
        return None
    if not (system.strip() and external_id.strip()):
        return None
    return system.strip().lower(), external_id.strip()


def _domain(value: str) -> str:
    try:
        return registrable_domain(value)
    except ValueError:
        return ""


_NOT_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=131_072)
def clean_company_name(name: str) -> str:
    """`The Müller-Acme GmbH & Co. KG` -> `muller acme`: no legal suffix, accent, case or
    punctuation, so that only the distinctive words are compared.

    Remembered: the name step cleans every candidate account's name, batch after batch.
    """
    text = basename((name or "").strip())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = _NOT_WORD.sub(" ", text).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


@lru_cache(maxsize=131_072)
def name_key(name: str) -> str:
    """A name cleaned and with its words in order: rapidfuzz's token-sort ratio of two
    names is the plain ratio of these, so each account's is made once (and stored as
    `Account.name_key`), not per pair."""
    return " ".join(sorted(clean_company_name(name).split()))


# The steps: each takes the still-unmatched items and sets `result` on those it matches.


def _exact(account_id: int, method: str) -> Resolution:
    return Resolution(account_id=account_id, method=method, confidence=1.0)


def _step_account_id(items: list[_Item], settings: StepSettings) -> None:
    wanted = {item.account_id for item in items if item.account_id is not None}
    if not wanted:
        return
    existing = set(
        Account.objects.filter(pk__in=values_in(wanted, "bigint"))
        .order_by()
        .values_list("pk", flat=True)
    )
    for item in items:
        if item.account_id in existing:
            item.result = _exact(item.account_id, settings.key)


def _step_identifier(items: list[_Item], settings: StepSettings) -> None:
    by_system: dict[str, set[str]] = {}
    for item in items:
        if item.identifier:
            by_system.setdefault(item.identifier[0], set()).add(item.identifier[1])
    if not by_system:
        return
    query = reduce(
        or_,
        (
            Q(system=system, external_id__in=values_in(ids, "text"))
            for system, ids in sorted(by_system.items())
        ),
    )
    found = {
        (system, external_id): account_id
        for system, external_id, account_id in AccountIdentifier.objects.filter(query).values_list(
            "system", "external_id", "account_id"
        )
    }
    for item in items:
        if item.identifier in found:
            item.result = _exact(found[item.identifier], settings.key)


def _step_contact_email(items: list[_Item], settings: StepSettings) -> None:
    emails = {item.email for item in items if item.email}
    if not emails:
        return
    found = dict(
        Contact.objects.filter(email__in=values_in(emails, "text"))
        .order_by()
        .values_list("email", "account_id")
    )
    for item in items:
        if item.email in found:
            item.result = _exact(found[item.email], settings.key)


def _match_domains(items: list[_Item], settings: StepSettings, attribute: str) -> None:
    domains = {getattr(item, attribute) for item in items if getattr(item, attribute)}
    if not domains:
        return
    found = dict(
        AccountDomain.objects.filter(domain__in=values_in(domains, "text"))
        .order_by()
        .values_list("domain", "account_id")
    )
    for item in items:
        domain = getattr(item, attribute)
        if domain in found:
            item.result = _exact(found[domain], settings.key)


def _step_email_domain(items: list[_Item], settings: StepSettings) -> None:
    eligible = [item for item in items if item.email_domain and not is_freemail(item.email_domain)]
    _match_domains(eligible, settings, "email_domain")


def _step_domain(items: list[_Item], settings: StepSettings) -> None:
    _match_domains(items, settings, "domain")


def _step_ip(items: list[_Item], settings: StepSettings) -> None:
    keys = {item.ip for item in items if item.ip}
    if not keys:
        return
    index = IpRangeIndex(
        IpRange.objects.filter(start__lte=max(keys), end__gte=min(keys)).values_list(
            "start", "end", "account_id"
        )
    )
    for item in items:
        if item.ip:
            account_id = index.lookup(item.ip)
            if account_id is not None:
                item.result = _exact(account_id, settings.key)


class IpRangeIndex:
    """An in-memory interval index over IP ranges given as (start key, end key, account).

    Ranges are sorted by start with a running maximum of their ends: a lookup bisects to
    the last range starting at or before the address and walks back only while an
    earlier range can still reach it. The narrowest range holding the address wins.
    """

    def __init__(self, ranges: Iterable[tuple[str, str, int]]):
        self._ranges = sorted(ranges)
        self._starts = [start for start, _, _ in self._ranges]
        self._reach = []
        reach = ""
        for _, end, _ in self._ranges:
            reach = max(reach, end)
            self._reach.append(reach)

    def lookup(self, key: str) -> int | None:
        best = None
        best_size = None
        position = bisect.bisect_right(self._starts, key) - 1
        while position >= 0 and self._reach[position] >= key:
            start, end, account_id = self._ranges[position]
            if end >= key:
                size = int(end, 16) - int(start, 16)
                if best_size is None or size < best_size:
                    best, best_size = account_id, size
            position -= 1
        return best


def _step_name(items: list[_Item], settings: StepSettings) -> None:
    named = [item for item in items if item.name]
    if not named:
        return
    # An alias (a brand, an old name, a reviewer's decision) is an exact rule: it wins
    # over any fuzzy score.
    aliases = dict(
        AccountAlias.objects.filter(
            normalised__in=values_in({item.name for item in named}, "text")
        ).values_list("normalised", "account_id")
    )
    for item in named:
        if item.name in aliases:
            item.result = _exact(aliases[item.name], settings.key)
    named = [item for item in named if item.name not in aliases]
    if not named:
        return
    fragments = {
        word[:NAME_PREFIX]
        for item in named
        for word in sorted(item.name.split(), key=len, reverse=True)[:2]
    }
    accounts = (
        Account.objects.active()
        .name_contains_any(fragments)
        .order_by()
        .values_list("pk", "name", "name_key", "country")
    )
    names, countries, choices = {}, {}, {}
    for pk, name, key, country in accounts:
        names[pk], countries[pk] = name, country
        # A row written in bulk, around save(), may lack its key.
        choices[pk] = key or name_key(name)
    # A company that sends many signals names itself the same way each time: its name
    # is scored once per batch.
    scores = _name_scores(
        {item.name for item in named}, choices, floor=min(CANDIDATE_FLOOR, settings.threshold)
    )
    needs_contacts: list[tuple[_Item, list[tuple[int, float]]]] = []
    for item in named:
        scored = scores[item.name]
        if not scored:
            continue
        best = scored[0][1]
        if best < settings.threshold:
            item.result = _unmatched(scored[:MAX_CANDIDATES], names)
            continue
        contenders = [(pk, score) for pk, score in scored if best - score < settings.margin]
        if len(contenders) > 1 and item.country:
            in_country = [pair for pair in contenders if countries[pair[0]] == item.country]
            contenders = in_country or contenders
        if len(contenders) == 1:
            item.result = _name_match(*contenders[0])
        else:
            needs_contacts.append((item, contenders))
    if needs_contacts:
        _break_ties_by_contacts(needs_contacts, names)


def _name_scores(
    names: set[str], choices: dict[int, str], *, floor: float
) -> dict[str, list[tuple[int, float]]]:
    """Per name, the candidates scoring at least `floor`, best first (ties by id).

    All names against all candidates at once (`cdist`, in C, a matrix of at most
    `SCORE_CELLS` cells at a time): scoring each name on its own converted the candidates'
    names again for every name, which cost most of a batch's ingestion on 100,000 accounts.
    """
    pks, keys = list(choices), list(choices.values())
    names = sorted(names)
    scores: dict[str, list[tuple[int, float]]] = {}
    rows = max(1, SCORE_CELLS // max(1, len(keys)))
    for start in range(0, len(names), rows):
        part = names[start : start + rows]
        matrix = process.cdist(
            [" ".join(sorted(name.split())) for name in part],
            keys,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=floor,
            dtype=numpy.float32,
        )
        for name, row in zip(part, matrix, strict=True):
            # Below the cutoff a cell is 0. float32 to 4 decimals, as stored.
            scored = [(pks[i], round(float(row[i]), 4)) for i in numpy.flatnonzero(row)]
            scored.sort(key=lambda pair: (-pair[1], pair[0]))
            scores[name] = scored
    return scores


def _break_ties_by_contacts(tied: list[tuple[_Item, list[tuple[int, float]]]], names) -> None:
    ids = {pk for _, contenders in tied for pk, _ in contenders}
    counts = dict(
        Contact.objects.filter(account_id__in=ids)
        .values("account_id")
        .annotate(n=Count("pk"))
        .values_list("account_id", "n")
    )
    for item, contenders in tied:
        most = max(counts.get(pk, 0) for pk, _ in contenders)
        leaders = [pair for pair in contenders if counts.get(pair[0], 0) == most]
        if len(leaders) == 1:
            item.result = _name_match(*leaders[0])
        else:
            item.result = _unmatched(contenders[:MAX_CANDIDATES], names)


def _name_match(account_id: int, score: float) -> Resolution:
    return Resolution(
        account_id=account_id, method=IdentityMethod.NAME, confidence=round(score / 100, 4)
    )


def _unmatched(scored: list[tuple[int, float]], names: dict[int, str]) -> Resolution:
    """No match, but the near candidates come along for review."""
    return Resolution(
        account_id=None,
        candidates=[
            Candidate(account_id=pk, name=names[pk], confidence=round(score / 100, 4))
            for pk, score in scored
        ],
    )


_STEPS = {
    IdentityMethod.ACCOUNT_ID: _step_account_id,
    IdentityMethod.IDENTIFIER: _step_identifier,
    IdentityMethod.CONTACT_EMAIL: _step_contact_email,
    IdentityMethod.EMAIL_DOMAIN: _step_email_domain,
    IdentityMethod.DOMAIN: _step_domain,
    IdentityMethod.IP: _step_ip,
    IdentityMethod.NAME: _step_name,
}


def _follow_merges(results: list[Resolution]) -> None:
    """Point every match at the surviving account, one query per level of merging."""
    matched = [result for result in results if result.account_id is not None]
    for _ in range(MAX_MERGE_DEPTH):
        ids = {result.account_id for result in matched}
        if not ids:
            return
        survivors = dict(
            Account.objects.filter(
                pk__in=values_in(ids, "bigint"), merged_into__isnull=False
            ).values_list("pk", "merged_into_id")
        )
        if not survivors:
            return
        matched = [result for result in matched if result.account_id in survivors]
        for result in matched:
            result.account_id = survivors[result.account_id]
