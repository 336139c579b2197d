"""Free-mail and disposable email domains: an address there says nothing about a company.

Identity resolution never matches an account by these domains (DESIGN §3, step 4). The
list holds registrable domains (as `accounts.domains.registrable_domain` returns them),
so `mail.yahoo.co.uk` is covered by `yahoo.co.uk`.
"""

FREEMAIL_DOMAINS = frozenset(
    {
        # Large consumer mailbox providers.
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "outlook.de",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.de",
        "hotmail.fr",
        "live.com",
        "live.co.uk",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.de",
        "yahoo.fr",
        "ymail.com",
        "rocketmail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "tutanota.com",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "orange.fr",
        "laposte.net",
        "free.fr",
        "libero.it",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "rambler.ru",
        "qq.com",
        "163.com",
        "126.com",
        "sina.com",
        "naver.com",
        "rediffmail.com",
        "mail.com",
        "inbox.com",
        # Disposable, throw-away mailboxes.
        "mailinator.com",
        "guerrillamail.com",
        "guerrillamail.net",
        "sharklasers.com",
        "10minutemail.com",
        "tempmail.com",
        "temp-mail.org",
        "tempmail.net",
        "throwawaymail.com",
        "yopmail.com",
        "trashmail.com",
        "getnada.com",
        "dispostable.com",
        "maildrop.cc",
        "mailnesia.com",
        "fakeinbox.com",
        "mintemail.com",
        "spamgourmet.com",
        "emailondeck.com",
    }
)


def is_freemail(domain: str) -> bool:
    """True for a registrable domain that belongs to a free-mail or disposable provider."""
    return domain.lower() in FREEMAIL_DOMAINS
