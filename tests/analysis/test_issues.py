"""Issues 看点: why an issue matters, from its labels, title and body, never its English body pasted."""

from types import SimpleNamespace

from newsletter.analysis.issues import issue_highlights, why
from newsletter.models import Issue


def issue(number, title, body="", labels=(), comments=0):
    return Issue(number=number, title=title, body=body, labels=list(labels), comments=comments)


def test_a_bug_report_names_the_code_the_symptom_and_who_should_care():
    nan = issue(1, "mxfp8_quantize() produces nans when inputs are small.", "We have received a report.", ["bug"])
    assert why(nan, "zh") == "缺陷报告称 `mxfp8_quantize()` 会输出 NaN；属于数值正确性问题，使用 MXFP8 的用户值得留意。"
    assert why(nan, "en").startswith("A bug report says `mxfp8_quantize()` produces NaNs")
    crash = issue(
        2, "[Bug]: Qwen3 crashes on B200 with FP8", "RuntimeError: CUDA error: illegal memory access", ["bug"], 3
    )
    text = why(crash, "zh")
    assert text.startswith("缺陷报告，症状是进程崩溃；报错类型为 `RuntimeError`")
    assert "crashes on B200" not in text  # the title is shown just before: not repeated
    assert "涉及 Blackwell、FP8、Qwen3" in text and text.endswith("已有 3 条评论。")
    assert "CUDA error" not in text  # the body is read, not pasted


def test_feature_requests_and_proposals_are_told_by_their_subject():
    feature = issue(3, "[Feature] Support bf16 gemm from DeepGemm", labels=["feature request"])
    assert why(feature, "zh") == "功能请求：支持 DeepGemm 中的 bf16 gemm；涉及 BF16。"
    rfc = issue(4, "[RFC]: Introduce ATOM as model implementation backend for AMD GPU")
    assert why(rfc, "zh").startswith("设计提案：将 ATOM 引入为模型 implementation 后端")
    assert why(rfc, "en").startswith("Design proposal: Introduce ATOM as model implementation backend for AMD GPU")


def test_picks_rank_by_labels_and_record_the_commit_that_fixes_them():
    quiet = issue(10, "How do I set the port?", labels=["question"])
    bug = issue(11, "Crash in scheduler", labels=["bug"], comments=4)
    repo = SimpleNamespace(new_issues=[quiet, bug], fixing_commit=lambda number: "f" * 40 if number == 11 else None)
    picks = issue_highlights(repo, "zh")
    assert [p.number for p in picks] == [11, 10]
    assert picks[0].fixed_by == "f" * 40 and picks[1].fixed_by == ""
