"""The plain-address shortcut gives what Django's sanitize_address and smtplib's quoteaddr give."""

import random
import smtplib
import string

import pytest
from django.core.mail.message import sanitize_address

from newsletter.addresses import PLAIN, quoted, sanitized
from tests.mailing import outcome

EDGES = ["ada@example.com", "a.b+c@mail.example.co", "o'brien@x-y.example", "x@localhost", "zoë@bücher.example",
         '"quoted local"@example.com', "a..b@example.com", ".a@example.com", "a.@example.com", "a@b..c",
         "Ada <ada@example.com>", "ada@example.com ", "", "@", "ada@[127.0.0.1]"]  # fmt: skip


def addresses() -> list[str]:
    pick = random.Random(7)
    alphabet = string.ascii_lowercase + string.digits + ".-_+!#'@ \"<>é"
    made = ["".join(pick.choice(alphabet) for _ in range(pick.randint(3, 24))) for _ in range(3000)]
    plain = [
        f"{pick.choice(['a', 'a.b', 'x+y', 'o_o'])}{n}@{pick.choice(['ex.com', 'a-b.c.example'])}" for n in range(300)
    ]
    return EDGES + made + plain


@pytest.mark.parametrize(
    "shortcut, general",
    [(lambda address: sanitized(address, "utf-8"), lambda address: sanitize_address(address, "utf-8")),
     (quoted, smtplib.quoteaddr)],
    ids=["sanitize_address", "quoteaddr"],
)  # fmt: skip
def test_the_shortcut_gives_what_the_general_code_gives(shortcut, general):
    seen = addresses()
    assert sum(bool(PLAIN.match(address)) for address in seen) > 300  # the shortcut is taken, and often
    for address in seen:
        assert outcome(shortcut, address) == outcome(general, address), address
