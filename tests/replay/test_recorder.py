"""`record_github` writes what it reads in the replay format; replaying it gives the same rows."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from newsletter.models import Commit, Issue
from replay.server import Faults, ReplayServer

pytestmark = pytest.mark.django_db


def stored() -> tuple[list, list]:
    def key(row):
        data = model_to_dict(row)
        data.pop("id")
        data["repository"] = row.repository.full_name
        return data

    commits = sorted((key(c) for c in Commit.objects.all()), key=lambda c: c["sha"])
    issues = sorted((key(i) for i in Issue.objects.all()), key=lambda i: (i["repository"], i["number"]))
    return commits, issues


def test_record_then_replay_gives_the_same_rows(replay, tmp_path, settings):
    out = StringIO()
    call_command("record_github", "--date", "2026-01-29", "--out", str(tmp_path), stdout=out)
    assert "vllm-project/vllm" in out.getvalue() and "45 commits" in out.getvalue()
    for repo in ("vllm-project/vllm", "sgl-project/sglang", "flashinfer-ai/flashinfer"):
        assert (tmp_path / repo / "commits.json").is_file() and (tmp_path / repo / "issues.json").is_file()
    assert len(list((tmp_path / "vllm-project/vllm/commits").glob("*.json"))) == 45
    text = (tmp_path / "vllm-project/vllm/commits.json").read_text()
    assert "https://api.github.com/repos/vllm-project/vllm" in text and "127.0.0.1" not in text
    recordings = json.loads((tmp_path / "recordings.json").read_text())
    assert recordings[0]["date"] == "2026-01-29" and recordings[0]["since"] == "2026-01-28T16:00:00Z"

    call_command("collect", "--date", "2026-01-29", stdout=StringIO())
    from_bundle = stored()
    Commit.objects.all().delete()
    Issue.objects.all().delete()
    with ReplayServer(tmp_path) as recording:
        settings.GITHUB_API_URL = recording.url
        call_command("collect", "--date", "2026-01-29", stdout=StringIO())
    assert stored() == from_bundle
    assert len(from_bundle[0]) == 71


def test_recording_a_second_day_merges_into_the_folder(replay, tmp_path):
    call_command("record_github", "--date", "2026-01-28", "--out", str(tmp_path), stdout=StringIO())
    call_command("record_github", "--date", "2026-01-29", "--out", str(tmp_path), stdout=StringIO())
    commits = json.loads((tmp_path / "sgl-project/sglang/commits.json").read_text())
    assert len({c["sha"] for c in commits}) >= 49
    dates = [c["commit"]["committer"]["date"] for c in commits]
    assert dates == sorted(dates, reverse=True)
    assert [r["date"] for r in json.loads((tmp_path / "recordings.json").read_text())] == ["2026-01-28", "2026-01-29"]


def test_a_failed_repository_leaves_nothing_half_recorded(replay, tmp_path):
    replay.state.reset(Faults(malformed="/repos/vllm-project/vllm/issues"))
    with pytest.raises(CommandError, match="1 of 3 repositories failed: vllm-project/vllm"):
        call_command(
            "record_github", "--date", "2026-01-29", "--out", str(tmp_path), stdout=StringIO(), stderr=StringIO()
        )
    assert not (tmp_path / "vllm-project").exists()
    assert (tmp_path / "sgl-project/sglang/commits.json").is_file()


def test_out_must_be_a_folder(replay, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("record_github", "--date", "2026-01-29", "--out", str(target))


def test_an_unwritable_folder_is_one_line_before_any_request(replay, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(CommandError, match=r"^--out: cannot write into .*file\.txt/day: ") as raised:
        call_command("record_github", "--date", "2026-01-29", "--out", str(blocker / "day"))
    assert "\n" not in str(raised.value) and replay.state.log == []
