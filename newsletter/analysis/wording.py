"""The heuristic analyzer's sentences, in Chinese and English: one table per language."""

from __future__ import annotations

CATEGORY_NAMES = {
    "zh": {
        "Revert": "回退", "Critical": "紧急修复", "Security": "安全修复", "Breaking": "破坏性变更",
        "Deprecation": "弃用与移除", "Perf": "性能优化", "Bugfix": "缺陷修复", "Model": "模型支持",
        "Kernel": "内核", "Hardware": "硬件适配", "Core": "核心引擎", "Feature": "新功能", "Refactor": "重构",
        "Misc": "杂项", "Docs": "文档", "CI": "CI/构建", "Test": "测试",
    },
    "en": {
        "Revert": "revert", "Critical": "critical fix", "Security": "security fix", "Breaking": "breaking change",
        "Deprecation": "deprecation", "Perf": "performance", "Bugfix": "bug fix", "Model": "model support",
        "Kernel": "kernel", "Hardware": "hardware", "Core": "engine core", "Feature": "feature", "Refactor": "refactor",
        "Misc": "misc", "Docs": "docs", "CI": "CI/build", "Test": "tests",
    },
}  # fmt: skip

PLATFORMS = {
    "amd": "AMD ROCm", "rocm": "AMD ROCm", "npu": "Ascend NPU", "ascend": "Ascend NPU", "xpu": "Intel XPU",
    "intel gpu": "Intel XPU", "musa": "Moore Threads MUSA", "cpu": "CPU", "tpu": "TPU", "hpu": "Intel Gaudi",
    "gaudi": "Intel Gaudi", "neuron": "AWS Neuron", "mps": "Apple MPS", "blackwell": "NVIDIA Blackwell",
}  # fmt: skip

TEXT = {
    "zh": {
        "list_sep": "、",
        "sentence_end": "。",
        "files": "共改动 {files} 个文件（+{added}/−{removed} 行），主要涉及 {paths}。",
        "new_symbols": "新增 {symbols}。",
        "message": "提交说明：{body}",
        "impact_revert": "回退了 {what}引入的改动；依赖该功能的部署需要确认是否受影响。",
        "impact_revert_redo": "该改动随后由 {redo} 重新引入，最终状态以重新引入的版本为准。",
        "impact_removed": "删除了公开符号 {symbols}，直接引用它们的调用方需要迁移。",
        "impact_renamed": "重命名了公开符号（{pairs}），调用方需要同步改名。",
        "impact_deprecation": "移除已弃用的功能；仍在使用的部署升级前需要迁移。",
        "impact_perf": "性能优化，涉及 {areas}；建议在自己的负载上做一次基准回归。",
        "impact_kernel": "改动内核代码（{files}），可能影响数值结果与性能，升级后建议跑精度回归。",
        "impact_core": "改动调度/引擎核心路径（{areas}），影响所有部署，回归风险中等。",
        "impact_bugfix": "修复 {areas} 中的缺陷；遇到过相关问题的用户升级后应得到修复。",
        "impact_hardware": "主要影响 {platform} 平台的用户，其他平台不受影响。",
        "impact_model": "新增或改进模型支持，对其他模型的行为没有影响。",
        "impact_feature": "新增能力，涉及 {areas}；默认行为是否改变取决于相关配置项。",
        "impact_refactor": "内部重构，未发现对外接口的删除或改名。",
        "impact_quiet": "仅涉及测试、CI 或文档，对运行时没有影响，风险低。",
        "impact_misc": "影响面较小，涉及 {areas}。",
        "assessment": "今日合入 {commits} 个提交（+{added}/−{removed} 行，{authors} 位作者）：{mix}。",
        "assessment_breaking": "其中 {count} 项可能破坏兼容（{cites}），升级前需要检查。",
        "assessment_reverts": "有 {count} 次回退，说明相关改动仍不稳定。",
        "assessment_quiet": "今日没有新的提交。",
        "assessment_issues": "新开 {count} 个 Issue。",
        "mix_item": "{count} 个{name}",
        "issue_why": "{kind}（{labels}{comments}）：{body}",
        "issue_kind_bug": "缺陷报告",
        "issue_kind_feature": "功能请求",
        "issue_kind_rfc": "设计讨论",
        "issue_kind_other": "新 Issue",
        "issue_comments": "，{count} 条评论",
        "issue_no_labels": "无标签",
        # A statement's lead (the renderer shows it in bold before the sentence) and its text.
        "summary_lead": "{name}",
        "summary_repo": "{commits} 个提交，重点是 {highlights}。",
        "summary_repo_breaking": "{commits} 个提交，其中 {breaking} 需要升级前留意；另有 {highlights}。",
        "summary_issues_only": "今日没有新提交，新 Issue {issues} 值得关注。",
        "conclusion_breaking_lead": "{name} 有兼容性风险",
        "conclusion_breaking": "{items} 删除、改名或回退了已有行为，依赖这些接口的部署升级前需要检查。",
        "conclusion_perf_lead": "{name} 的性能改进",
        "conclusion_perf": "{items}，建议在自己的负载上验证收益。",
        "conclusion_hardware_lead": "{name} 的硬件适配在推进",
        "conclusion_hardware": "{items}。",
        "conclusion_models_lead": "{name} 扩展了模型支持",
        "conclusion_models": "{items}。",
        "conclusion_fixes_lead": "{name} 修复了 {count} 个缺陷",
        "conclusion_fixes": "最值得关注的是 {items}。",
        "conclusion_issues_lead": "{name} 的新 Issue",
        "conclusion_issues": "{items} 值得跟进。",
    },
    "en": {
        "list_sep": ", ",
        "sentence_end": ".",
        "files": "Touches {files} files (+{added}/−{removed} lines), mainly {paths}.",
        "new_symbols": "Adds {symbols}.",
        "message": "From the commit message: {body}",
        "impact_revert": "Reverts the change from {what}; deployments that rely on it should check whether they are affected.",
        "impact_revert_redo": "The change was re-applied later by {redo}; the re-applied version is what stands.",
        "impact_removed": "Removes the public symbols {symbols}; callers that use them directly must migrate.",
        "impact_renamed": "Renames public symbols ({pairs}); callers must follow the rename.",
        "impact_deprecation": "Removes a deprecated feature; deployments still using it must migrate before upgrading.",
        "impact_perf": "A performance change in {areas}; benchmark it on your own workload.",
        "impact_kernel": "Changes kernel code ({files}); numerics and speed may shift, run accuracy checks after upgrading.",
        "impact_core": "Changes the scheduler/engine core ({areas}); it affects every deployment, medium regression risk.",
        "impact_bugfix": "Fixes a bug in {areas}; users who hit it should see it fixed after upgrading.",
        "impact_hardware": "Mostly affects users on {platform}; other platforms are unaffected.",
        "impact_model": "Adds or improves model support; other models behave as before.",
        "impact_feature": "New capability in {areas}; whether defaults change depends on its configuration.",
        "impact_refactor": "Internal refactoring; no public symbol was removed or renamed.",
        "impact_quiet": "Tests, CI or docs only: no runtime effect, low risk.",
        "impact_misc": "Small blast radius, in {areas}.",
        "assessment": "{commits} commits landed (+{added}/−{removed} lines, {authors} authors): {mix}.",
        "assessment_breaking": "{count} of them may break compatibility ({cites}); check before upgrading.",
        "assessment_reverts": "{count} revert(s) show the area is still settling.",
        "assessment_quiet": "No new commits today.",
        "assessment_issues": "{count} new issue(s) opened.",
        "mix_item": "{count} {name}",
        "issue_why": "{kind} ({labels}{comments}): {body}",
        "issue_kind_bug": "Bug report",
        "issue_kind_feature": "Feature request",
        "issue_kind_rfc": "Design discussion",
        "issue_kind_other": "New issue",
        "issue_comments": ", {count} comments",
        "issue_no_labels": "no labels",
        "summary_lead": "{name}",
        "summary_repo": "{commits} commits; the highlights are {highlights}.",
        "summary_repo_breaking": "{commits} commits; {breaking} need attention before upgrading, and {highlights}.",
        "summary_issues_only": "no new commits; new issues {issues} are worth a look.",
        "conclusion_breaking_lead": "{name} has compatibility risk",
        "conclusion_breaking": "{items} remove, rename or revert existing behaviour; check before upgrading.",
        "conclusion_perf_lead": "{name} performance work",
        "conclusion_perf": "{items}; verify the gains on your own workload.",
        "conclusion_hardware_lead": "{name} hardware support moves on",
        "conclusion_hardware": "{items}.",
        "conclusion_models_lead": "{name} widens model support",
        "conclusion_models": "{items}.",
        "conclusion_fixes_lead": "{name} fixed {count} bugs",
        "conclusion_fixes": "the most notable is {items}.",
        "conclusion_issues_lead": "New {name} issues",
        "conclusion_issues": "{items} are worth following.",
    },
}  # fmt: skip


def say(language: str, key: str, **values) -> str:
    return TEXT[language][key].format(**values)


def join(language: str, parts: list[str]) -> str:
    return TEXT[language]["list_sep"].join(parts)


def category_name(language: str, category: str) -> str:
    return CATEGORY_NAMES[language].get(category, category)
