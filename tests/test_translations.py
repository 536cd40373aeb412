"""The Chinese catalogue: compiled from its .po as committed, and complete for every message."""

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from newsletter.analysis.wording import CLAIM_VERBS, LOCALES, MESSAGES, claim_verb, say, word

CATALOGUE = Path(settings.BASE_DIR) / "newsletter" / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_the_committed_mo_is_the_compiled_po(tmp_path):
    """A fresh clone shows Chinese without compiling: the .mo in git must match its .po."""
    assert shutil.which("msgfmt"), "GNU gettext's msgfmt is needed (Debian package gettext)"
    compiled = tmp_path / "django.mo"
    # --check: formats ({names} in both), header and plural forms; a broken .po fails here.
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(CATALOGUE / "django.po")], check=True)
    with open(compiled, "rb") as fresh, open(CATALOGUE / "django.mo", "rb") as committed:
        assert gettext.GNUTranslations(fresh)._catalog == gettext.GNUTranslations(committed)._catalog


def test_every_message_is_translated():
    with open(CATALOGUE / "django.mo", "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog
    contexts = {key.split("\x04", 1)[0] if isinstance(key, str) else key[0].split("\x04", 1)[0] for key in catalogue}
    assert set(MESSAGES) <= contexts
    assert {"claim verb", "claim verb of throughput"} <= contexts
    assert set(LOCALES) == {"zh", "en"}


@pytest.mark.parametrize(
    ("language", "said"),
    [("zh", "新增命令行参数 `--a`、`--b`"), ("en", "adds the CLI flags `--a`, `--b`")],
)
def test_a_plural_message_follows_its_count_in_each_language(language, said):
    names = word(language, "list_sep").join(["`--a`", "`--b`"])
    assert say(language, "fact.flag_added", count=2, names=names, default="") == said
    assert say("en", "fact.flag_added", count=1, names="`--a`", default="") == "adds the CLI flag `--a`"


def test_a_claims_verb_is_said_only_where_the_language_translates_it():
    assert claim_verb("zh", "improvement") == "改善" and claim_verb("zh", "improvement", throughput=True) == "提升"
    assert claim_verb("en", "improvement") == "" and claim_verb("zh", "unheard-of") == ""
    assert set(CLAIM_VERBS) >= {"improvement", "speedup", "reduction"}
