"""Prompts are pure functions of the data: every file in the manifest, diffs within budget."""

from datetime import date

import pytest

from newsletter.analysis import prompts
from newsletter.analysis.heuristic import HeuristicAnalyzer
from newsletter.gather import day_input

pytestmark = pytest.mark.django_db


def vllm(day=date(2026, 1, 28), language="en"):
    data = day_input(day, language)
    return data, data.repos[2]


def test_the_manifest_lists_every_file_and_diffs_stay_within_budget(collected):
    _, repo = vllm()
    sha = next(c.sha for c in repo.commits if c.sha.startswith("af9b69f"))  # Remove Marlin 24: 20 files
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


def test_templates_exist_in_both_languages(collected):
    _data, repo = vllm(language="zh")
    zh = prompts.item_prompt(repo, repo.triage.highlighted[0], "zh")
    en = prompts.item_prompt(repo, repo.triage.highlighted[0], "en")
    assert "简体中文" in zh.system and "提交 SHA：" in zh.user
    assert "in English" in en.system and "Commit SHA:" in en.user
    section = HeuristicAnalyzer().section(repo, "zh")
    repository = prompts.repository_prompt(repo, section.highlights, "2026-01-28", "zh")
    assert "评估" in repository.system and repo.triage.highlighted[0] in repository.user
    whole = prompts.issue_prompt("2026-01-28", [section], "en")
    assert "cites" in whole.system and repo.triage.highlighted[0] in whole.user
    assert prompts.item_prompt(repo, repo.triage.highlighted[0], "en") == en  # pure: same input, same prompt
