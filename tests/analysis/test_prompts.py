"""Prompts are pure functions of the data: every file in the manifest, diffs within budget, the
pull request, linked issues, earlier days and the story in the commit's prompt, every commit in the
selection prompt, and a stable prefix long enough to be cached."""

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings

from newsletter.analysis import prompts
from newsletter.analysis.draft import PastHighlight, PullRequest
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.analysis.pricing import cache_minimum, estimated_tokens
from newsletter.analysis.triage import Story, parse_title
from newsletter.gather import day_input
from newsletter.models import Commit, Issue

pytestmark = pytest.mark.django_db
TEMPLATES = Path(settings.BASE_DIR) / "templates" / "prompts" / prompts.PROMPT_VERSION


def vllm(day=date(2026, 1, 28), language="en"):
    data = day_input(day, language)
    return data, next(r for r in data.repos if r.repository.full_name == "vllm-project/vllm")


def test_the_manifest_lists_every_file_and_diffs_stay_within_budget(collected):
    _, repo = vllm()
    sha = next(c.sha for c in repo.commits if c.sha.startswith("af9b69f"))  # 20 files
    prompt = prompts.item_prompt(repo, sha, "en")
    commit = repo.commit(sha)
    manifest = prompt.user[prompt.user.index("Manifest:") : prompt.user.index("Diffs (")]
    for change in commit.files:
        assert f"- {change['path']} (" in manifest
    diffs = prompt.user[prompt.user.index("Diffs (") :]
    blocks = diffs.split("### ")[1:]
    assert all(len(block) < prompts.PER_FILE_BUDGET + 400 for block in blocks)
    assert sum(len(block) for block in blocks) < prompts.TOTAL_BUDGET + 400 * len(blocks)
    assert "diff left out to stay within the budget" in manifest or "cut to the budget" in manifest
    assert f"Commit SHA: {sha}" in prompt.user and "Signed-off-by" in prompt.user


def test_tests_and_docs_come_after_the_code():
    files = [
        {"path": "tests/test_a.py", "status": "modified", "additions": 500, "deletions": 0, "patch": "@@\n+x"},
        {"path": "docs/a.md", "status": "modified", "additions": 300, "deletions": 0, "patch": "@@\n+y"},
        {"path": "csrc/a.cu", "status": "modified", "additions": 5, "deletions": 0, "patch": "@@\n+z"},
        {"path": "vllm/a.py", "status": "modified", "additions": 50, "deletions": 0, "patch": "@@\n+w"},
        {"path": "weights.bin", "status": "added", "additions": 0, "deletions": 0, "patch": None},
    ]
    manifest, diffs = prompts.diff_budget(files)
    assert [d.split("\n")[0] for d in diffs] == [
        "### csrc/a.cu",
        "### vllm/a.py",
        "### tests/test_a.py",
        "### docs/a.md",
    ]
    assert "- weights.bin (added, +0/-0): GitHub shows no diff (binary or too large)" in manifest


def test_every_kind_has_a_prompt_in_both_languages(collected):
    for language, marker in (("zh", "简体中文"), ("en", "in English")):
        _data, repo = vllm(language=language)
        sha = repo.triage.highlighted[0]
        item = prompts.item_prompt(repo, sha, language)
        section = HeuristicAnalyzer().section(repo, language)
        kinds = [
            prompts.selection_prompt(repo, "2026-01-28", language, 8),
            item,
            prompts.repository_prompt(repo, section.highlights, "2026-01-28", language),
            prompts.issue_prompt("2026-01-28", [section], language),
        ]
        assert [p.kind for p in kinds] == ["selection", "commit_item", "repository_synthesis", "issue_synthesis"]
        for prompt in kinds:
            assert marker in prompt.task and prompt.guide == prompts.guide(language)
            assert prompt.system.startswith(prompt.guide) and prompt.system.endswith(prompt.task)
        assert ("提交 SHA：" if language == "zh" else "Commit SHA:") in item.user
        assert prompts.item_prompt(repo, sha, language) == item  # pure: same input, same prompt


def test_the_stable_prefix_is_long_enough_to_be_cached_by_both_models(collected):
    """The guide and a task are what every call of a kind repeats: they must pass the minimum a
    model caches, by a low estimate of their tokens. The per-commit prefix also passes 4096, the
    largest minimum documented for any model, so a newer Haiku with a higher one still caches."""
    for language in ("zh", "en"):
        _data, repo = vllm(language=language)
        section = HeuristicAnalyzer().section(repo, language)
        item = prompts.item_prompt(repo, repo.triage.highlighted[0], language)
        assert estimated_tokens(item.system) >= max(cache_minimum("claude-haiku-5-5"), 4096)
        for prompt in (
            prompts.selection_prompt(repo, "2026-01-28", language, 8),
            prompts.repository_prompt(repo, section.highlights, "2026-01-28", language),
            prompts.issue_prompt("2026-01-28", [section], language),
        ):
            assert estimated_tokens(prompt.system) >= 2 * cache_minimum("claude-sonnet-5-5")


def test_the_commit_prompt_tells_the_pull_request_linked_issues_earlier_days_and_the_story(collected):
    _data, repo = vllm(day=date(2026, 1, 29))
    sha = next(c.sha for c in repo.commits if c.sha.startswith("c4e744d"))
    commit = repo.commit(sha)
    reverted = next(c for c in repo.commits if c.sha.startswith("5e73e49"))
    issue = Issue.objects.filter(is_pull_request=False).first()
    repo.pull_requests = {
        commit.pr_number: PullRequest(
            number=commit.pr_number,
            title="Optimize the permute kernel",
            body="<!-- template -->\nWe measured the kernel on one GPU.\n\nFixes #" + str(issue.number),
            labels=("performance", "ready"),
            linked_issues=(issue.number,),
            html_url="https://github.com/vllm-project/vllm/pull/1",
        )
    }
    repo.history = [PastHighlight(date(2026, 1, 27), "a" * 40, "An earlier change", "Perf", "http://x/2026-01-27/")]
    repo.triage.stories[sha] = Story(lead=sha, members=[(reverted.sha, "change"), (sha, "revert")])
    prompt = prompts.item_prompt(repo, sha, "en", linked_issues=[issue])
    user = prompt.user
    assert f"#{commit.pr_number} Optimize the permute kernel (labels: performance, ready)" in user
    assert "We measured the kernel on one GPU." in user and "<!--" not in user
    assert f"- #{issue.number} {issue.title}" in user
    assert "- 2026-01-27 aaaaaaaaaaaa [Perf] An earlier change" in user and "http://x/" not in user
    assert f"- {reverted.sha[:12]} change, " in user and f"- {sha[:12]} revert, " in user and "(this commit)" in user


def test_a_pull_request_body_that_repeats_the_message_is_not_sent_twice(collected):
    _data, repo = vllm(day=date(2026, 1, 29))
    commit = next(c for c in repo.commits if c.pr_number)
    body = "The scheduler now keeps the blocks of a preempted request.\n\nSigned-off-by: a <b>"
    commit.message = f"{commit.title}\n\n{body}"  # a squash merge: the body in the message
    repo.pull_requests = {
        commit.pr_number: PullRequest(commit.pr_number, commit.title, body, (), (), "https://github.com/x/y/pull/1")
    }
    user = prompts.item_prompt(repo, commit.sha, "en").user
    assert "(body: the same text as the commit message)" in user and "<pull_request_body>" not in user
    repo.pull_requests[commit.pr_number] = replace(repo.pull_requests[commit.pr_number], body="Signed-off-by: a <b>")
    assert "(no description beyond template and trailers)" in prompts.item_prompt(repo, commit.sha, "en").user


def test_the_selection_prompt_lists_every_commit_once_with_floor_picks_and_stories(collected):
    _data, repo = vllm(day=date(2026, 1, 29))
    triage = repo.triage
    lead, member = triage.highlighted[0], next(s for s in triage.listed)
    triage.stories[lead] = Story(lead=lead, members=[(member, "change"), (lead, "revert")])
    triage.floor = [lead]
    triage.ranked = [sha for sha in triage.ranked if sha != member]
    told, quiet = (repo.commit(sha) for sha in triage.highlighted[1:3])
    repo.pull_requests = {
        told.pr_number: PullRequest(
            told.pr_number, told.title, "Cuts p99 latency.\n\nSigned-off-by: a <b>", ("perf",), (), ""
        ),
        quiet.pr_number: PullRequest(quiet.pr_number, quiet.title, "", ("ready",), (), ""),
    }
    user = prompts.selection_prompt(repo, "2026-01-29", "en", 8).user
    assert f"\n  PR #{told.pr_number} (labels: perf): Cuts p99 latency." in user
    assert next(line for line in user.splitlines() if line.startswith(f"- {quiet.sha[:12]}")).endswith(
        " | PR labels: ready"
    )
    lines = [line for line in user.splitlines() if line.startswith("- ")]
    assert sorted(line[2:14] for line in lines) == sorted(c.sha[:12] for c in repo.commits)
    assert f"- {lead[:12]} [" in lines[0] and "floor" in lines[0]
    assert lines[1].startswith(f"- {member[:12]} [") and f"story of {lead[:12]}" in lines[1]
    assert sum("rule pick" in line for line in lines) == len(triage.highlighted) - 1
    noise = next(sha for sha, v in triage.verdicts.items() if v.noise)
    assert "reason:" not in next(line for line in lines if line.startswith(f"- {noise[:12]}"))
    assert "choose at most 8 highlights" in user


def test_no_prompt_names_a_commit_or_an_issue_of_the_bundled_days(collected):
    """The rules must be general: nothing in a template is borrowed from the days the tests use."""
    text = "\n".join(path.read_text() for path in TEMPLATES.rglob("*.txt")).lower()
    for commit in Commit.objects.all():
        title = parse_title(commit.title).text.lower()
        assert commit.sha[:7] not in text
        assert len(title) < 12 or title not in text, commit.title
    for issue in Issue.objects.all():
        assert issue.title.lower() not in text


def test_the_draft_topics_and_verdicts_are_the_schema_s(collected):
    from newsletter.analysis.draft import TOPICS, VERDICTS
    from newsletter.analysis.schemas import output_schema

    schema = output_schema("commit_item")
    assert schema["properties"]["verdict"]["enum"] == list(VERDICTS)
    assert schema["properties"]["topics"]["items"]["enum"] == list(TOPICS)
    assert set(schema["required"]) == set(schema["properties"]) and schema["additionalProperties"] is False
