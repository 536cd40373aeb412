"""A headline for each highlighted commit, in Chinese or English, from its title.

English headlines are the title without its tags, conventional prefix and "(#N)". Chinese ones
keep every technical name as written and rebuild the sentence around it: the title's verb
(fix, add, support, remove, optimize, …) becomes a Chinese verb, its prepositional phrases move
where Chinese puts them ("Fix X for Y" -> "修复 Y 的 X 问题", "Optimize X for Y" -> "为 Y 优化 X"),
and only a few generic words (articles, "potential", "missing", "support", …) are translated.
A title whose structure is not recognized keeps its words as written: a headline never guesses.
Pure functions, no Django.
"""

from __future__ import annotations

import re

from newsletter.analysis.references import reference_of
from newsletter.analysis.triage import parse_title

# Verb (any inflection we accept) -> Chinese. Multi-word verbs are matched first.
VERBS_ZH = {
    "fix": "修复", "bugfix": "修复", "hotfix": "修复", "resolve": "解决", "correct": "修正",
    "add": "新增", "support": "支持", "remove": "移除", "delete": "删除", "drop": "移除",
    "refactor": "重构", "optimize": "优化", "optimise": "优化", "optim": "优化", "enable": "启用",
    "disable": "禁用", "use": "使用", "update": "更新", "improve": "改进", "refine": "改进",
    "enhance": "增强", "implement": "实现", "introduce": "引入", "allow": "允许", "avoid": "避免",
    "skip": "跳过", "move": "移动", "rename": "重命名", "replace": "替换", "simplify": "简化",
    "clean up": "清理", "cleanup": "清理", "consolidate": "合并", "deprecate": "弃用", "bump": "升级",
    "upgrade": "升级", "integrate": "集成", "integration": "集成", "handle": "处理", "prevent": "防止",
    "reduce": "减少", "speed up": "加速", "accelerate": "加速", "tune": "调优", "sync": "同步",
    "expose": "暴露", "extend": "扩展", "apply": "应用", "set": "设置", "change": "修改", "restore": "恢复",
    "split": "拆分", "unify": "统一", "migrate": "迁移", "pass": "传递", "overlap": "重叠",
    "lazy import": "延迟导入", "lazy load": "延迟加载", "register": "注册", "define": "定义",
    "provide": "提供", "relax": "放宽", "standardize": "统一", "align": "对齐", "canonicalize": "规范化",
    "route": "路由", "extract": "抽取", "guard": "保护", "merge": "合并", "validate": "校验",
    "check": "检查", "limit": "限制", "ensure": "确保", "initialize": "初始化", "increase": "增大",
    "decrease": "减小", "lower": "降低", "port": "移植", "reuse": "复用", "share": "共享", "fuse": "融合",
    "eliminate": "消除", "return": "返回", "control": "控制", "load": "加载", "run": "运行",
    "cache": "缓存", "create": "创建", "build": "构建", "bind": "绑定", "wire": "接入", "switch": "切换",
    "document": "补充文档", "test": "测试", "reapply": "重新引入", "reland": "重新引入", "revert": "回退",
    "make": "让", "don't use": "不再使用", "do not use": "不再使用", "stop using": "不再使用",
    "unpin": "解除固定", "pin": "固定", "warn": "提示", "cap": "限制", "clamp": "限制",
    "parallelize": "并行化", "vectorize": "向量化", "batch": "批处理", "offload": "卸载", "prefetch": "预取",
    "tweak": "调整", "adjust": "调整", "deduplicate": "去重", "inline": "内联", "specialize": "特化",
    "kill": "终止", "choose": "选择", "select": "选择", "detect": "检测", "compute": "计算", "read": "读取",
    "write": "写入", "include": "加入", "import": "导入", "export": "导出", "allocate": "分配", "free": "释放",
    "launch": "启动",
}  # fmt: skip
# Adverbs before a verb: "Fully support X" -> "完整支持 X".
ADVERBS_ZH = {
    "fully": "完整", "partially": "部分", "properly": "正确地", "correctly": "正确地", "temporarily": "临时",
    "optionally": "可选地", "explicitly": "显式", "automatically": "自动", "always": "始终", "only": "仅",
}  # fmt: skip
# Words before a verb-like word that make it a noun ("minor fixes to X" is not "minor" fixing X).
_NOT_SUBJECTS = {"minor", "small", "various", "misc", "some", "several", "more", "multiple", "quick", "other", "few"}
_IRREGULAR = {
    "ran": "run", "running": "run", "set": "set", "setting": "set", "built": "build", "split": "split",
    "splitting": "split", "fixes": "fix", "passes": "pass", "bumps": "bump", "bumped": "bump",
    "skipped": "skip", "skipping": "skip", "dropped": "drop", "dropping": "drop", "optim": "optim",
    "enabling": "enable", "using": "use", "making": "make", "caching": "cache", "refactoring": "refactor",
    "supporting": "support", "adding": "add", "removing": "remove", "returning": "return",
    "controlling": "control", "loading": "load", "fixing": "fix", "updating": "update", "moving": "move",
    "tuning": "tune", "merging": "merge", "overlapping": "overlap", "handling": "handle",
    "rerouting": "route", "routing": "route", "wiring": "wire", "applying": "apply", "applies": "apply",
    "applied": "apply", "unifies": "unify", "unified": "unify", "simplifies": "simplify",
    "simplified": "simplify", "specifies": "specify",
}  # fmt: skip
# Adjectives that translate without harm, placed where they stand.
ADJECTIVES_ZH = {
    "potential": "潜在的", "outdated": "过时的", "redundant": "多余的", "missing": "缺失的", "unused": "未使用的",
    "duplicate": "重复的", "duplicated": "重复的", "extra": "额外的", "unnecessary": "不必要的",
    "optional": "可选的", "deprecated": "已弃用的", "experimental": "实验性的", "nested": "嵌套的",
    "noisy": "冗余的", "different": "另一个", "existing": "现有的", "multiple": "多个", "larger": "更大的",
    "smaller": "更小的", "new": "新的", "old": "旧的", "custom": "自定义", "common": "通用",
    "non-main": "非主", "specified": "指定的", "variable-length": "变长", "missed": "遗漏的",
}  # fmt: skip
# What a fix repairs when the title names the failure: "Fix broken X" -> "修复 X 损坏的问题".
FAILURES_ZH = {
    "broken": "损坏", "wrong": "错误", "incorrect": "错误", "flaky": "不稳定", "inconsistent": "不一致",
    "slow": "过慢", "hanging": "卡住", "failing": "失败",
}  # fmt: skip
# Generic nouns at the end of an object.
NOUNS_ZH = {
    "support": "支持", "model": "模型", "models": "模型", "tests": "测试", "test": "测试", "docs": "文档",
    "doc": "文档", "documentation": "文档", "example": "示例", "examples": "示例", "bug": "问题",
    "issue": "问题", "issues": "问题", "error": "错误", "errors": "错误", "crash": "崩溃", "typo": "拼写错误",
    "typos": "拼写错误", "warning": "警告", "warnings": "警告", "fail": "失败", "failure": "失败",
    "hang": "卡住", "leak": "泄漏", "regression": "回退问题", "improvement": "改进", "consistency": "一致性",
}  # fmt: skip
# Generic English words of titles that read better in Chinese; only plain lower-case words are
# translated, so names (HashRing, MoE, fp8, `moe_permute`) always stay as written.
GENERIC_PHRASES_ZH = {
    "shared memory": "共享内存", "thread num": "线程数", "thread number": "线程数", "heap allocations": "堆分配",
    "hot path": "热路径", "error log": "错误日志", "race condition": "竞态条件", "memory consumption": "显存占用",
    "data communication": "数据通信", "code path": "代码路径", "compile time": "编译时间",
    "consistent hashing": "一致性哈希", "intermediate buffer": "中间缓冲区", "h2d copy": "H2D 拷贝",
}  # fmt: skip
GENERIC_ZH = {
    "allocation": "分配", "allocations": "分配", "construction": "构建", "communication": "通信", "layout": "布局",
    "tensor": "张量", "tensors": "张量", "stream": "流", "weights": "权重", "initialization": "初始化",
    "loading": "加载", "load": "加载", "parser": "解析器", "fields": "字段", "field": "字段",
    "functions": "函数", "function": "函数", "method": "方法", "methods": "方法", "arg": "参数", "args": "参数",
    "argument": "参数", "arguments": "参数", "config": "配置", "configs": "配置", "option": "选项",
    "options": "选项", "logging": "日志", "request": "请求", "requests": "请求", "layers": "层", "layer": "层",
    "buffer": "缓冲区", "copy": "拷贝", "backend": "后端", "backends": "后端", "dependency": "依赖",
    "version": "版本", "scheduler": "调度器", "timeouts": "超时", "number": "数量", "definitions": "定义",
    "inputs": "输入", "input": "输入", "outputs": "输出", "output": "输出", "benchmarking": "基准测试",
    "tools": "工具", "dashboard": "看板", "server": "服务", "frontend": "前端", "detection": "检测",
    "connectivity": "连通性", "utilities": "工具函数", "variant": "变体", "fusion": "融合", "projection": "投影",
    "activation": "激活", "quantization": "量化", "experts": "专家", "routing": "路由", "dispatch": "分发",
    "path": "路径", "size": "大小", "index": "索引", "indexing": "索引", "handling": "处理", "checks": "检查",
    "check": "检查", "guard": "保护", "cache": "缓存", "kernels": "kernel", "section": "章节",
    "interface": "接口", "entrypoints": "入口", "sampler": "采样器", "wrapper": "封装", "method name": "方法名",
    "image": "镜像", "release": "发布", "step": "步骤", "model": "模型", "models": "模型", "weight": "权重",
    "upstream": "上游", "multimodal": "多模态", "modality": "模态",
}  # fmt: skip
GENERIC_PHRASES_ZH.update({"method name": "方法名", "shared experts": "共享专家"})
_STANDALONE_NOUNS = {"support", "tests", "docs", "documentation", "examples"}
_FAILURE_NOUNS = {"bug", "issue", "issues", "error", "errors", "crash", "typo", "typos", "fail", "failure", "hang"}
_ARTICLES = {"the", "a", "an"}
_PREPOSITIONS = (
    "instead of",
    "as",
    "for",
    "in",
    "inside",
    "within",
    "on",
    "with",
    "when",
    "if",
    "at",
    "to",
    "into",
    "from",
    "via",
    "using",
    "through",
    "by",
    "between",
    "under",
    "without",
    "after",
    "before",
    "during",
    "across",
)
_PERCENT_CLAUSE = re.compile(
    r"^(?P<number>\d+(?:\.\d+)?\s*(?:%|x|×))\s+(?P<metric>.+?)\s+(?:improvement|speedup|speed-up|gain|boost|reduction)$",
    re.I,
)
_TOKEN = re.compile(r"(?:`[^`]*`|\"[^\"]*\"|\([^)]*\)|[^\s`\"(])+|\(")
_CJK = r"\u4e00-\u9fff"
_CJK_PUNCT = "，、：；。（）「」"


# --- public ---------------------------------------------------------------------------------------
def clean_title(title: str) -> str:
    """The title without tags, conventional prefixes, "(#N)" anywhere and a trailing full stop."""
    text = parse_title(title).text or title.strip()
    text = re.sub(r"\s*\(#\d+\)", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.rstrip(".。").strip() or title.strip()


def headline(title: str, language: str, *, new_model: bool = False, category: str = "") -> str:
    """The headline of a commit titled `title`. `new_model`: the triage found a new model (a
    title without a verb then reads "支持 X 模型"); `category`: the triage's category."""
    text = clean_title(title)
    reference = reference_of(text)
    if reference and (inner := _quoted_title(text)):
        if language == "en":
            return f'{"Revert" if reference.kind == "revert" else "Reapply"} "{inner}"'
        verb = "回退" if reference.kind == "revert" else "重新引入"
        return f"{verb}「{zh_phrase(inner, category='')}」"
    if language == "en":
        return english(text)
    return zh_phrase(text, new_model=new_model, category=category)


def english(text: str) -> str:
    """Capitalize a leading lower-case verb ("support x" -> "Support x"); leave names as written."""
    first = text.split(" ", 1)[0]
    if first.islower() and _base(first.lower()) in VERBS_ZH:
        return text[:1].upper() + text[1:]
    return text


def starts_with_verb(text: str) -> bool:
    """Does an (English) headline start with a verb, so it can follow a subject ("vLLM: optimize …")?"""
    words = _words(text)
    return bool(words) and _verb_at(words, 0) is not None


def zh_phrase(text: str, *, new_model: bool = False, category: str = "") -> str:
    """A cleaned title rebuilt as a Chinese phrase around its technical names."""
    prefix = ""
    if match := re.match(r"^([A-Za-z][\w./-]{0,20})(?::| -)\s+(?=\S)", text):  # "ROCm: route ..." keeps its scope
        prefix, text = match.group(1) + "：", text[match.end() :]
    clauses = _clauses(text)
    rendered = [_clause(words, new_model=new_model, category=category) for words in clauses]
    out = "，并".join(part for part in rendered if part) if all(_starts_with_verb(c) for c in clauses[1:]) else ""
    if not out:
        out = "，".join(part for part in rendered if part)
    return tidy(prefix + out)


def tidy(text: str) -> str:
    """Spaces only between Latin and Chinese text, never around Chinese punctuation."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(rf"(?<=[{_CJK}{_CJK_PUNCT}])\s+(?=[{_CJK}{_CJK_PUNCT}])", "", text)
    text = re.sub(rf"\s+(?=[{_CJK_PUNCT}])", "", text)
    text = re.sub(r"(?<=[（「，、：；])\s+", "", text)
    text = re.sub(rf"(?<=[A-Za-z0-9`\"')\]%])(?=[{_CJK}])", " ", text)
    text = re.sub(rf"(?<=[{_CJK}])(?=[A-Za-z0-9`\"'(\[])", " ", text)
    return text.replace("的的", "的").replace("、和 ", " 和 ").replace("、或 ", " 或 ")


# --- clauses ----------------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _base(word: str) -> str:
    """The dictionary form of a verb as titles inflect it: adds, added, adding -> add."""
    word = word.lower().strip(",;:")
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in VERBS_ZH:
        return word
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("es", ""), ("es", "e"), ("s", ""), ("ed", ""), ("ed", "e"),
                         ("ing", ""), ("ing", "e")):  # fmt: skip
        if word.endswith(suffix) and (stem := word[: -len(suffix)] + repl) in VERBS_ZH:
            return stem
    return word


def _verb_at(words: list[str], index: int) -> tuple[str, int] | None:
    """The verb starting at words[index] (its base form) and how many words it takes."""
    if index >= len(words) or words[index].startswith(("`", '"')):
        return None
    two = " ".join(w.lower() for w in words[index : index + 2])
    for phrase in ("clean up", "speed up", "lazy import", "lazy load", "don't use", "stop using"):
        if two == phrase or (phrase == "stop using" and two == "stop using"):
            return phrase, 2
    three = " ".join(w.lower() for w in words[index : index + 3])
    if three == "do not use":
        return "do not use", 3
    base = _base(words[index])
    if base in VERBS_ZH and not (base == "set" and index > 0):
        return base, 1
    return None


def _starts_with_verb(words: list[str]) -> bool:
    return _verb_at(words, 0) is not None


def _clauses(text: str) -> list[list[str]]:
    """Split at ", <verb>", " and <verb>", "; " and ", N% X improvement": each part one clause."""
    words = _words(text)
    clauses: list[list[str]] = [[]]
    for index, word in enumerate(words):
        if clauses[-1] and word.lower() in ("and", "&") and _verb_at(words, index + 1) and _verb_at(words, 0):
            # "clean up and consolidate X": two verbs sharing one object stay one clause
            if len(clauses[-1]) <= 2 and _verb_at(clauses[-1], 0):
                clauses[-1].append(word)
                continue
            clauses.append([])
            continue
        clauses[-1].append(word)
        ends = word.endswith((",", ";"))
        if ends and index + 1 < len(words):
            rest = " ".join(words[index + 1 :])
            if word.endswith(";") or _verb_at(words, index + 1) or _PERCENT_CLAUSE.match(rest.split(",")[0].strip()):
                clauses[-1][-1] = word.rstrip(",;")
                clauses.append([])
    return [c for c in clauses if c]


def _clause(words: list[str], *, new_model: bool, category: str) -> str:
    text = " ".join(words)
    if match := _PERCENT_CLAUSE.match(text):
        # Throughput goes up; latencies (TPOT, TTFT, ITL) improve by going down: "改善" says both.
        verb = "提升" if re.search(r"throughput|speed|tok", match.group("metric"), re.I) else "改善"
        return f"{_np(match.group('metric'))} {verb} {match.group('number')}"
    # "X instead of Y" and "X when Y" scope the whole clause: they are said around it.
    lowered = [w.lower() for w in words]
    for index in range(1, len(words) - 2):
        if lowered[index : index + 2] == ["instead", "of"]:
            main = _clause(words[:index], new_model=new_model, category=category)
            return f"{main}，而非 {_np(' '.join(words[index + 2 :]))}"
    for index in range(2, len(words) - 1):
        if lowered[index] in ("when", "if") and any(w in _PREPOSITIONS for w in lowered[1:index]):
            main = _clause(words[:index], new_model=new_model, category=category)
            return f"{_np(' '.join(words[index + 1 :]))} 时，{main}"
    adverb = ""
    if lowered and lowered[0] in ADVERBS_ZH and len(words) > 1 and _verb_at(words, 1):
        adverb, words = ADVERBS_ZH[lowered[0]], words[1:]
    verbs: list[str] = []
    index = 0
    while found := _verb_at(words, index):
        verbs.append(found[0])
        index += found[1]
        if index < len(words) and words[index].lower() in ("and", "&") and _verb_at(words, index + 1):
            index += 1
            continue
        break
    subject: list[str] = []
    if not verbs:
        # "Async Eplb fix potential race condition", "X double memory consumption fix"
        for position in range(1, min(4, len(words))):
            if (found := _verb_at(words, position)) and found[0] in ("fix", "apply", "use", "add", "support"):
                before = {w.lower() for w in words[:position]}
                if before & (_NOT_SUBJECTS | _ARTICLES | set(_PREPOSITIONS)):
                    break
                subject, verbs, index = words[:position], [found[0]], position + found[1]
                break
        else:
            if len(words) > 1 and _base(words[-1]) == "fix":
                return f"修复 {_np(' '.join(words[:-1]))} 问题"
    if not verbs:
        return _verbless(words, new_model=new_model, category=category)
    rest = words[index:]
    if rest and rest[0].lower() == "for" and verbs == ["support"]:  # "support for X"
        rest = rest[1:]
    if verbs[0] == "make":
        return _make(words[:1] + rest, subject)
    obj, preposition, phrase = _split_object(rest)
    tail = ""
    if match := re.match(r"^(?P<obj>.*\S)\s+(?P<note>\([^)]*\))$", obj):  # "Fix X (when Y)": the note goes last
        obj, tail = match.group("obj"), " " + match.group("note")
    zh_verb = adverb + "并".join(VERBS_ZH[v] for v in verbs)
    subject_text = _np(" ".join(subject)) if subject else ""
    if verbs[0] in ("fix", "resolve", "correct"):
        return _fix(zh_verb, obj, preposition, phrase, subject_text) + tail
    return _action(verbs[0], zh_verb, obj, preposition, phrase, subject_text) + tail


def _verbless(words: list[str], *, new_model: bool, category: str) -> str:
    phrase = _np(" ".join(words))
    if new_model:
        return f"支持 {phrase} 模型" if not phrase.endswith("模型") else f"支持 {phrase}"
    if category == "Bugfix":
        return f"修复 {phrase} 问题"
    if category == "Perf":
        return f"优化 {phrase}"
    if category == "Feature":
        return f"新增 {phrase}"
    return phrase


def _make(words: list[str], subject: list[str]) -> str:
    """ "Make X work on Y" -> "让 X 可在 Y 上运行"; other "make" titles keep their words."""
    text = " ".join(words[1:])
    match = re.match(r"^(?P<what>.+?)\s+work\s+(?:on|with)\s*:?\s*(?P<where>.+)$", text, re.I)
    if match:
        return f"让 {_np(match.group('what'))} 可在 {_list(match.group('where'))} 上运行"
    match = re.match(
        r"^(?P<what>.+?)\s+(?:more\s+)?(?P<adj>modular|configurable|optional|faster|async|lazy)$", text, re.I
    )
    adjectives = {"modular": "更模块化", "configurable": "可配置", "optional": "可选", "faster": "更快",
                  "async": "异步", "lazy": "延迟加载"}  # fmt: skip
    if match:
        return f"让 {_np(match.group('what'))} {adjectives[match.group('adj').lower()]}"
    return " ".join([*subject, *words])


def _split_object(words: list[str]) -> tuple[str, str, str]:
    """(object, preposition, phrase) at the first top-level preposition; at a final "on X" when
    other prepositions come first ("Support X with A on Turing": the platform scopes it all)."""
    lowered = [w.lower() for w in words]
    if lowered and lowered[0] in _PREPOSITIONS and lowered[0] != "as" and len(words) > 1:
        return "", lowered[0], " ".join(words[1:])
    found = [i for i in range(1, len(words) - 1) if lowered[i] in _PREPOSITIONS]
    if not found:
        return " ".join(words), "", ""
    index = found[-1] if len(found) > 1 and lowered[found[-1]] == "on" else found[0]
    return " ".join(words[:index]), lowered[index], " ".join(words[index + 1 :])


def _fix(verb: str, obj: str, preposition: str, phrase: str, subject: str) -> str:
    obj_words = _words(obj)
    failure = ""
    if obj_words and obj_words[0].lower() in FAILURES_ZH:
        failure, obj = FAILURES_ZH[obj_words[0].lower()], " ".join(obj_words[1:])
    core = _np(obj) if obj else ""
    ending = f"{failure}的问题" if failure else ("" if _ends_in_failure(obj) else "问题")
    where = _purpose(phrase) if _verb_first(phrase) else _np(phrase)
    inside = "中" if re.match(rf"[{_CJK}]", core) else "中的"
    if subject and not preposition:
        return f"{verb} {subject} {inside} {core} {ending}"
    if preposition == "for":
        body = f"{where} 的 {core}"
    elif preposition in ("in", "inside", "within", "at"):
        body = f"{where} {inside} {core}" if not failure else f"{where} 中 {core}"
    elif preposition == "on":
        body = f"{where} 上的 {core}"
    elif preposition in ("with", "using"):
        body = f"使用 {where} 时的 {core}"
    elif preposition in ("when", "if", "during"):
        body = f"{where} 时的 {core}"
    elif preposition in ("by", "via", "through"):
        return f"通过 {where} {verb} {core} {ending}"
    elif preposition:
        body = f"{core} {preposition} {phrase}"
    else:
        body = core
    if subject:
        body = f"{subject} {body}"
    return f"{verb} {body} {ending}"


_TO_TARGETS = {
    "move": "将 {o} 移到 {p}", "rename": "将 {o} 重命名为 {p}", "route": "将 {o} 路由到 {p}",
    "migrate": "将 {o} 迁移到 {p}", "bump": "将 {o} 升级到 {p}", "upgrade": "将 {o} 升级到 {p}",
    "update": "将 {o} 更新为 {p}", "change": "将 {o} 改为 {p}", "set": "将 {o} 设为 {p}",
    "switch": "将 {o} 切换到 {p}", "add": "为 {p} 新增 {o}", "pass": "向 {p} 传递 {o}",
    "apply": "对 {p} 应用 {o}", "port": "将 {o} 移植到 {p}", "extend": "将 {o} 扩展到 {p}",
    "extract": "将 {o} 抽取到 {p}", "register": "将 {o} 注册到 {p}",
}  # fmt: skip


def _action(base: str, verb: str, obj: str, preposition: str, phrase: str, subject: str) -> str:
    core = _np(obj)
    lead = f"{subject} " if subject else ""
    purpose = _verb_first(phrase)
    where = _purpose(phrase) if purpose else _np(phrase)
    if preposition == "for":
        if purpose:
            return f"{lead}{verb} {core}，用于{where}"
        if base in ("remove", "delete", "drop", "skip", "disable", "deprecate"):
            return f"{lead}{verb}针对 {where} 的 {core}"
        return f"{lead}为 {where} {verb} {core}"
    if preposition in ("in", "inside", "within", "at"):
        return f"{lead}在 {where} 中{verb} {core}"
    if preposition == "on":
        return f"{lead}在 {where} 上{verb} {core}"
    if preposition in ("when", "if", "during"):
        return f"{lead}在 {where} 时{verb} {core}"
    if preposition in ("via", "through", "using", "by"):
        return f"{lead}通过 {where} {verb} {core}"
    if preposition == "with":
        if base == "replace":
            return f"{lead}用 {where} 替换 {core}"
        if base in ("sync", "align", "merge", "unify"):
            return f"{lead}将 {core} 与 {where} {verb}" if core else f"{lead}与 {where} {verb}"
        if len(_words(phrase)) <= 2 and phrase[:1].isupper():
            return f"{lead}借助 {where} {verb} {core}"
        return f"{lead}{verb}带 {where} 的 {core}"
    if preposition == "to":
        if purpose:
            return f"{lead}{verb} {core}，以{where}"
        if base in _TO_TARGETS:
            return lead + _TO_TARGETS[base].format(o=core, p=where)
    if preposition == "as":
        return f"{lead}将 {core} {verb}为 {where}"
    if preposition == "into" and base in ("merge", "integrate", "move", "consolidate", "fuse"):
        return f"{lead}将 {core} {verb}到 {where}"
    if preposition == "from":
        if base in ("remove", "delete", "drop", "strip", "extract"):
            return f"{lead}从 {where} 中{verb} {core}"
        return f"{lead}{verb} {where} 中的 {core}"
    if preposition == "between":
        return f"{lead}在 {where} 之间{verb} {core}"
    if preposition:
        return f"{lead}{verb} {core} {preposition} {phrase}"
    return f"{lead}{verb} {core}"


def _verb_first(phrase: str) -> bool:
    """Does a phrase start with a verb ("controlling X", "kill X")? Participles used as adjectives
    ("shared memory", "fused MoE") do not count."""
    words = _words(phrase)
    if not words or words[0].lower() in ("test", "cache", "batch", "share"):
        return False
    first = words[0].lower()
    return _verb_at(words, 0) is not None and (first in VERBS_ZH or first.endswith("ing"))


def _purpose(phrase: str) -> str:
    """ "controlling the number of layers" -> "控制 number of layers"."""
    words = _words(phrase)
    found = _verb_at(words, 0)
    if not found:
        return _np(phrase)
    return f"{VERBS_ZH[found[0]]} {_np(' '.join(words[found[1] :]))}"


def _ends_in_failure(obj: str) -> bool:
    words = _words(obj)
    return bool(words) and words[-1].lower() in _FAILURE_NOUNS


def _list(text: str) -> str:
    parts = [p.strip() for p in re.split(r",\s*|\s+and\s+|\s*&\s*", text) if p.strip()]
    return "、".join(_np(p) for p in parts)


_QUANTITY = {"number": "数量", "count": "数量", "size": "大小", "list": "列表", "set": "集合", "order": "顺序"}


def _np(text: str) -> str:
    """A noun phrase with articles dropped and a few generic words translated; names as written.
    "the number of X" reads "X 的数量"; "X in Y" (one "in", nothing else) reads "Y 中的 X"."""
    lowered = [w.lower() for w in _words(text) if w.lower() not in _ARTICLES]
    if len(lowered) > 2 and lowered[0] in _QUANTITY and lowered[1] == "of":
        rest = [w for w in _words(text) if w.lower() not in _ARTICLES][2:]
        return tidy(f"{_np(' '.join(rest))} 的{_QUANTITY[lowered[0]]}")
    if lowered.count("in") == 1 and not set(lowered) & (set(_PREPOSITIONS) - {"in"}) and "in" in lowered[1:-1]:
        words = [w for w in _words(text) if w.lower() not in _ARTICLES]
        at = [w.lower() for w in words].index("in")
        return tidy(f"{_np(' '.join(words[at + 1 :]))} 中的 {_np(' '.join(words[:at]))}")
    words = [w for w in _words(text) if w.lower() not in _ARTICLES]
    if not words:
        return ""
    merged: list[str] = []
    index = 0
    while index < len(words):
        pair = f"{words[index]} {words[index + 1].rstrip(',')}" if index + 1 < len(words) else ""
        if pair in GENERIC_PHRASES_ZH:
            merged.append(GENERIC_PHRASES_ZH[pair] + ("," if words[index + 1].endswith(",") else ""))
            index += 2
            continue
        merged.append(words[index])
        index += 1
    words = merged
    out: list[str] = []
    for index, word in enumerate(words):
        lower = word.lower().rstrip(",")
        comma = word.endswith(",") and not word.startswith("`")
        if word.startswith(("`", '"')):
            out.append(word)
            continue
        if index == 0 and lower.endswith("ing") and len(words) > 1 and (base := _base(lower)) in VERBS_ZH:
            out.append(VERBS_ZH[base])  # "returning tokenids" -> "返回 tokenids"
            continue
        if lower in ADJECTIVES_ZH and index < len(words) - 1:
            out.append(ADJECTIVES_ZH[lower] + ("、" if comma else ""))
            continue
        if lower in NOUNS_ZH and index == len(words) - 1 and (index > 0 or lower in _STANDALONE_NOUNS):
            out.append(NOUNS_ZH[lower])
            continue
        if lower in ("and", "&") and out:
            out.append("和")
            continue
        named = index > 0 and re.match(r"^[A-Z]", words[index - 1]) is not None  # "KV cache", "Cross layers"
        if re.fullmatch(r"[a-z]+", word.rstrip(",")) and lower in GENERIC_ZH and not named:
            out.append(GENERIC_ZH[lower] + ("、" if comma else ""))
            continue
        if lower == "or" and out:
            out.append("或")
            continue
        if re.fullmatch(r"[\w.+-]+['’]s,?", word):  # "Kimi-K2.5's entrypoints" -> "Kimi-K2.5 的 entrypoints"
            out.append(re.sub(r"['’]s,?$", "", word) + " 的" + ("、" if comma else ""))
            continue
        out.append(word.rstrip(",") + ("、" if comma else ""))
    return tidy(" ".join(out))


def _quoted_title(text: str) -> str:
    match = re.match(r'^\w[\w-]*\s+"(?P<title>.+)"\s*$', text)
    return clean_title(match.group("title")) if match else ""
