"""Triage: a report's colour on the four-colour scale, a pure function of its facts and the rules.

The rules live in a TOML file an admin can edit (the shipped one is ``rules.toml`` next to this
module, which also explains each setting). ``load_rules`` parses and validates it once and
precompiles the keywords of each sector, so ``assess`` only scans the text: well under a
millisecond for a 2000-character description.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hazard_reporter.sectors.models import Sector

LEVELS: tuple[str, ...] = ("blue", "yellow", "orange", "red")
SECTORS: tuple[str, ...] = tuple(s.value for s in Sector)
FALLBACK_SECTOR = "other"
ANY_SECTOR = "*"

_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_LEVEL_NAMES = {
    "red": ("红色（重大风险）", "red (major risk)"),
    "orange": ("橙色（较大风险）", "orange (considerable risk)"),
    "yellow": ("黄色（一般风险）", "yellow (general risk)"),
    "blue": ("蓝色（低风险）", "blue (low risk)"),
}
# What an indicator at each level stands for, after the national hazard-grading language.
_INDICATOR_KIND = {
    "red": ("重大事故隐患判定标准之一", "one of the major-accident-hazard criteria"),
    "orange": ("较大隐患情形之一", "a serious-hazard case"),
    "yellow": ("一般隐患情形之一", "a general-hazard case"),
    "blue": ("低风险情形之一", "a low-risk case"),
}
# Scores sit in one band per colour, so a higher colour always has the higher score.
_SCORE_BAND = {"blue": 0, "yellow": 25, "orange": 50, "red": 75}
_SCORE_BAND_WIDTH = 25

# Full-width letters and digits (ａｂｃ１２３) and CJK compatibility ideographs need NFKC; the
# full-width punctuation every Chinese keyboard types does not, and NFKC over it costs more than
# the whole matching, so only texts with the former are normalised.
_NEEDS_NFKC = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uf900-\ufaff]")
_CLAUSE_BREAK = re.compile(r"[,.;:!?，。；：！？、…\n\r]")
_NEGATION_WINDOW = 32  # characters before a keyword searched for a negation
_EN_KEYWORD = re.compile(r"[a-z0-9*' -]+")
_EN_TOKEN_SPLIT = re.compile(r"[\s-]+")
_HAS_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ID = re.compile(r"[a-z][a-z0-9_]*")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_EDGE_BEFORE = r"(?<![a-z0-9])"
_EDGE_AFTER = r"(?![a-z0-9])"


class RulesError(ValueError):
    """The rules file is not valid; the message names the bad entry."""


@dataclass(frozen=True)
class Facts:
    """What triage looks at in a report."""

    sector: str
    description: str
    immediate_danger: bool = False
    independent_reports: int = 1
    local_time: datetime | None = None


@dataclass(frozen=True)
class Reason:
    """One step of an assessment, with a stable code and a sentence in Chinese and in English."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Assessment:
    """A colour, a 0–100 score within the colour's band, and the reasons (deciding one first)."""

    severity: str
    score: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Indicator:
    """A sector's indicator of a hazard: keywords that raise a report to ``level``."""

    sector: str
    id: str
    level: str
    label_zh: str
    label_en: str
    keywords: tuple[str, ...]
    with_keywords: tuple[str, ...] = ()
    also_in: frozenset[str] = frozenset()
    off_hours_level: str | None = None
    keyword_ids: frozenset[int] = field(default=frozenset(), repr=False, compare=False)
    with_ids: frozenset[int] = field(default=frozenset(), repr=False, compare=False)

    @property
    def code(self) -> str:
        """The stable reason code, e.g. ``indicator:gas_network.leak``."""
        return f"indicator:{self.sector}.{self.id}"

    def applies_to(self, sector: str) -> bool:
        """Whether reports filed under ``sector`` are checked for this indicator."""
        return sector == self.sector or sector in self.also_in or ANY_SECTOR in self.also_in


@dataclass(frozen=True)
class ClusterStep:
    """From ``min_reports`` independent reporters on, raise the colour by ``raise_by`` levels."""

    min_reports: int
    raise_by: int


@dataclass(frozen=True)
class BusyHours:
    """Opening and peak hours of crowded venues (minutes after local midnight, end exclusive)."""

    sectors: frozenset[str]
    windows: tuple[tuple[int, int], ...]
    floor: str

    def covers(self, when: datetime) -> bool:
        """Whether the local time ``when`` falls in one of the windows."""
        minute = when.hour * 60 + when.minute
        for start, end in self.windows:
            if start < end and start <= minute < end:
                return True
            if start > end and (minute >= start or minute < end):
                return True
        return False

    def describe(self, dash: str) -> str:
        """The windows as text, e.g. ``10:00–22:00``."""
        return ", ".join(f"{_hhmm(start)}{dash}{_hhmm(end)}" for start, end in self.windows)


@dataclass(frozen=True)
class Rules:
    """Parsed, validated and precompiled triage rules."""

    base: Mapping[str, str]
    indicators: tuple[Indicator, ...]
    immediate_danger_level: str = "red"
    cluster_steps: tuple[ClusterStep, ...] = ()
    busy_hours: BusyHours | None = None
    negation: re.Pattern[str] | None = field(default=None, compare=False)
    by_sector: Mapping[str, tuple[Indicator, ...]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    matchers: Mapping[str, _Matcher] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    def cluster_raise(self, reports: int) -> int:
        """How many levels ``reports`` independent reporters raise the colour."""
        return max((s.raise_by for s in self.cluster_steps if reports >= s.min_reports), default=0)


@dataclass(frozen=True)
class _Matcher:
    """Every keyword a sector's reports are checked for, precompiled.

    Python's ``re`` tries the branches of an alternation one by one, so one regex per keyword list
    costs a scan of the text each. Instead a sector has two *locators* (tries of all its Chinese
    and of all its English keywords) that find every position where some keyword may start; only
    there are the keywords beginning with that character checked exactly.
    """

    chinese: re.Pattern[str] | None
    english: re.Pattern[str] | None
    chinese_at: Mapping[str, tuple[tuple[int, str], ...]]
    english_at: Mapping[str, tuple[tuple[int, re.Pattern[str]], ...]]


# --- assessing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    indicator: Indicator
    level: str
    words: tuple[str, ...]
    demoted: bool
    foreign: bool
    order: int


def normalise(text: str) -> str:
    """The text as matched: full-width letters to ASCII (NFKC), straight apostrophes, lower case."""
    if _NEEDS_NFKC.search(text):
        text = unicodedata.normalize("NFKC", text)
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


def assess(facts: Facts, rules: Rules) -> Assessment:
    """The colour of a report, its score and the reasons, deciding reason first."""
    sector = facts.sector if isinstance(facts.sector, str) else ""
    known = sector in rules.base
    if not known:
        sector = FALLBACK_SECTOR
    text = normalise(facts.description) if isinstance(facts.description, str) else ""
    busy = _busy(rules.busy_hours, sector, facts.local_time)
    hits = _indicator_hits(text, sector, rules, busy)

    base = rules.base[sector]
    evidence = max([_RANK[base], *(_RANK[h.level] for h in hits)])
    if busy is True and rules.busy_hours is not None:
        evidence = max(evidence, _RANK[rules.busy_hours.floor])
    reporters = max(1, int(facts.independent_reports))
    step = rules.cluster_raise(reporters)
    raised = min(len(LEVELS) - 1, evidence + step)
    final = raised
    if facts.immediate_danger:
        final = max(final, _RANK[rules.immediate_danger_level])
    severity = LEVELS[final]

    # Candidates for the deciding reason, in order of preference when several reach the colour
    # alone; the cluster decides only when none does (it raised the colour above all of them).
    ranked: list[tuple[int, Reason]] = [(_RANK[h.level], _indicator_reason(h)) for h in hits]
    if busy and rules.busy_hours is not None and facts.local_time is not None:
        busy_reason = _busy_reason(rules.busy_hours, sector, facts.local_time)
        ranked.append((_RANK[rules.busy_hours.floor], busy_reason))
    if facts.immediate_danger:
        ranked.append((_RANK[rules.immediate_danger_level], _danger_reason(rules)))
    cluster = _cluster_reason(reporters, raised - evidence) if step else None
    base_reason = _base_reason(sector, base, known=known)
    ranked.append((_RANK[base], base_reason))

    deciding = next((reason for level, reason in ranked if level == final), cluster)
    rest = [reason for _, reason in ranked if reason is not deciding and reason is not base_reason]
    if cluster is not None and cluster is not deciding:
        rest.append(cluster)
    if base_reason is not deciding:
        rest.append(base_reason)
    reasons = (deciding or base_reason, *rest)

    bonus = 4 * sum(1 for h in hits if _RANK[h.level] == final)
    bonus += 2 * bool(facts.immediate_danger) + min(4, reporters - 1)
    score = _SCORE_BAND[severity] + 10 + min(_SCORE_BAND_WIDTH - 10, bonus)
    return Assessment(severity=severity, score=score, reasons=reasons)


def _busy(hours: BusyHours | None, sector: str, when: datetime | None) -> bool | None:
    """True in busy hours, False outside them, None when they do not apply or the time is unknown."""
    if hours is None or sector not in hours.sectors or not isinstance(when, datetime):
        return None
    return hours.covers(when)


def _indicator_hits(text: str, sector: str, rules: Rules, busy: bool | None) -> list[_Hit]:
    """The indicators the text matches, highest level first, home sector before borrowed ones."""
    if not text:
        return []
    found = _scan(text, rules.matchers[sector], rules.negation)
    if not found:
        return []

    def words(ids: frozenset[int]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(word for kid, word in found if kid in ids))

    hits = []
    for order, indicator in enumerate(rules.by_sector[sector]):
        matched = words(indicator.keyword_ids)
        if not matched:
            continue
        if indicator.with_ids:
            also = words(indicator.with_ids)
            if not also:
                continue
            matched = tuple(dict.fromkeys(matched + also))
        level, demoted = indicator.level, False
        if busy is False and indicator.off_hours_level is not None:
            level, demoted = indicator.off_hours_level, True
        foreign = indicator.sector != sector
        hits.append(_Hit(indicator, level, matched, demoted, foreign, order))
    hits.sort(key=lambda h: (-_RANK[h.level], h.foreign, h.order))
    return hits


def _scan(text: str, matcher: _Matcher, negation: re.Pattern[str] | None) -> list[tuple[int, str]]:
    """Each keyword found in ``text`` and not negated, as (keyword id, words), in text order."""
    found: dict[int, tuple[int, str]] = {}
    if matcher.chinese is not None:
        for at in _starts(matcher.chinese, text):
            words = [
                (kid, keyword)
                for kid, keyword in matcher.chinese_at.get(text[at], ())
                if kid not in found and text.startswith(keyword, at)
            ]
            if words and not _negated(text, at, negation):
                found.update((kid, (at, word)) for kid, word in words)
    if matcher.english is not None:
        for at in _starts(matcher.english, text):
            matches = [
                (kid, match.group())
                for kid, pattern in matcher.english_at.get(text[at], ())
                if kid not in found and (match := pattern.match(text, at)) is not None
            ]
            if matches and not _negated(text, at, negation):
                found.update((kid, (at, word)) for kid, word in matches)
    return [(kid, word) for kid, (_, word) in sorted(found.items(), key=lambda item: item[1][0])]


def _starts(locator: re.Pattern[str], text: str) -> Iterator[int]:
    """Every position where the locator matches, overlapping ones included."""
    at = 0
    while (match := locator.search(text, at)) is not None:
        yield match.start()
        at = match.start() + 1


def _negated(text: str, at: int, negation: re.Pattern[str] | None) -> bool:
    """Whether a negation ends the clause right before position ``at``."""
    if negation is None or not at:
        return False
    clause = _CLAUSE_BREAK.split(text[max(0, at - _NEGATION_WINDOW) : at])[-1]
    return negation.search(clause) is not None


def _indicator_reason(hit: _Hit) -> Reason:
    ind = hit.indicator
    home = Sector(ind.sector)
    kind_zh, kind_en = _INDICATOR_KIND[ind.level]
    colour_zh, colour_en = _LEVEL_NAMES[hit.level]
    # The English sentence quotes the English words matched; Chinese ones it can only name.
    english = [w for w in hit.words if w.isascii()][:4]
    quoted_en = ", ".join(f'"{w}"' for w in english) if english else "in Chinese"
    when_zh, when_en = ("营业高峰时段外", " outside busy hours") if hit.demoted else ("", "")
    return Reason(
        ind.code,
        f"描述中提到{''.join(f'“{w}”' for w in hit.words[:4])}：{home.label_zh}的{kind_zh}"
        f"（{ind.label_zh}），{when_zh}按{colour_zh}处理。",
        f"The description mentions {ind.label_en} ({quoted_en}): {kind_en} "
        f"({home.label_en.lower()}), treated as {colour_en}{when_en}.",
    )


def _busy_reason(hours: BusyHours, sector: str, when: datetime) -> Reason:
    at = when.strftime("%H:%M")
    label = Sector(sector)
    colour_zh, colour_en = _LEVEL_NAMES[hours.floor]
    return Reason(
        "crowded_hours",
        f"报告时间{at}处于{label.label_zh}的营业高峰时段（{hours.describe('–')}），人员密集，"
        f"至少按{colour_zh}处理，相关隐患维持原等级。",
        f"Reported at {at}, within the busy hours of a {label.label_en.lower()} "
        f"({hours.describe('-')}): at least {colour_en}, hazard indicators keep their full level.",
    )


def _danger_reason(rules: Rules) -> Reason:
    colour_zh, colour_en = _LEVEL_NAMES[rules.immediate_danger_level]
    alert = rules.immediate_danger_level == "red"
    return Reason(
        "immediate_danger",
        f"报告人标记“人员处于紧急危险”：至少按{colour_zh}处理"
        + ("，立即通知值班检查员。" if alert else "。"),
        f'The reporter marked "people in immediate danger": at least {colour_en}'
        + (", the inspectors on duty are alerted at once." if alert else "."),
    )


def _cluster_reason(reporters: int, raised: int) -> Reason:
    if raised:
        zh_tail, en_tail = f"上调{raised}级", f"raised by {raised} level{'s' * (raised > 1)}"
    else:
        zh_tail, en_tail = "已是最高等级", "already at the highest level"
    return Reason(
        "cluster",
        f"{reporters}名报告人独立报告了同一隐患：{zh_tail}。",
        f"{reporters} people reported the same hazard independently: {en_tail}.",
    )


def _base_reason(sector: str, level: str, *, known: bool) -> Reason:
    label = Sector(sector)
    colour_zh, colour_en = _LEVEL_NAMES[level]
    if not known:
        return Reason(
            f"base:{sector}",
            f"行业领域不在名录中，按“{label.label_zh}”处理，基础等级为{colour_zh}。",
            f"Unknown sector, treated as {label.label_en.lower()}: base level {colour_en}.",
        )
    return Reason(
        f"base:{sector}",
        f"{label.label_zh}的基础风险等级为{colour_zh}。",
        f"Base level for {label.label_en.lower()}: {colour_en}.",
    )


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- loading -----------------------------------------------------------------------------------

_TOP_KEYS = {"version", "immediate_danger", "cluster", "busy_hours", "negation", "sectors"}
_SECTOR_KEYS = {"base", "indicators"}
_INDICATOR_KEYS = {
    "id", "level", "off_hours_level", "label_zh", "label_en", "zh", "en", "with_zh", "with_en",
    "also_in",
}  # fmt: skip
_NEGATION_KEYS = {"zh", "en", "zh_fillers", "en_fillers"}


def load_rules(source: str | os.PathLike[str]) -> Rules:
    """Parse and validate rules from a path (``PathLike`` or ``*.toml``) or from TOML text."""
    if isinstance(source, os.PathLike) or (
        isinstance(source, str) and "\n" not in source and source.strip().endswith(".toml")
    ):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesError(f"cannot read the rules file {path}: {exc}") from exc
    elif isinstance(source, str):
        text = source
    else:
        raise RulesError(f"rules must be TOML text or a path, not {type(source).__name__}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"the rules file is not valid TOML: {exc}") from exc
    return _parse(data)


@cache
def default_rules() -> Rules:
    """The shipped rules (``rules.toml`` next to this module), parsed once."""
    text = (
        resources.files("hazard_reporter.triage").joinpath("rules.toml").read_text(encoding="utf-8")
    )
    return load_rules(text)


def _parse(data: dict[str, Any]) -> Rules:
    _known_keys(data, _TOP_KEYS, "the top level")
    version = data.get("version", 1)
    if version != 1:
        raise RulesError(f"version = {version!r} is not supported (expected 1)")

    sectors = _table(data.get("sectors"), "[sectors]")
    for key in sectors:
        if key not in SECTORS:
            raise RulesError(
                f"unknown sector {key!r} in [sectors.{key}]; expected one of: {', '.join(SECTORS)}"
            )
    base: dict[str, str] = {}
    indicators: list[Indicator] = []
    ids: dict[str, int] = {}  # keyword → id, shared by the indicators that list it
    for sector in SECTORS:
        if sector not in sectors:
            raise RulesError(
                f"sector {sector!r} is missing: add [sectors.{sector}] with a base level"
            )
        where = f"[sectors.{sector}]"
        table = _table(sectors[sector], where)
        _known_keys(table, _SECTOR_KEYS, where)
        base[sector] = _level(table.get("base"), f"{where} base")
        entries = table.get("indicators", [])
        if not isinstance(entries, list):
            raise RulesError(f"{where} indicators must be an array of tables ([[...indicators]])")
        seen: set[str] = set()
        for number, entry in enumerate(entries, start=1):
            indicator = _indicator(sector, number, entry, ids)
            if indicator.id in seen:
                raise RulesError(f"indicator {indicator.code!r} is defined twice")
            seen.add(indicator.id)
            indicators.append(indicator)

    danger = _table(data.get("immediate_danger", {}), "[immediate_danger]")
    _known_keys(danger, {"level"}, "[immediate_danger]")
    by_sector = {
        s: tuple(sorted((i for i in indicators if i.applies_to(s)), key=lambda i: i.sector != s))
        for s in SECTORS
    }
    matchers = {
        s: _matcher({w for i in by_sector[s] for w in i.keywords + i.with_keywords}, ids)
        for s in SECTORS
    }
    return Rules(
        base=MappingProxyType(base),
        indicators=tuple(indicators),
        immediate_danger_level=_level(danger.get("level", "red"), "[immediate_danger] level"),
        cluster_steps=_cluster(data.get("cluster", {})),
        busy_hours=_busy_hours(data.get("busy_hours")),
        negation=_negation(data.get("negation")),
        by_sector=MappingProxyType(by_sector),
        matchers=MappingProxyType(matchers),
    )


def _indicator(sector: str, number: int, entry: Any, ids: dict[str, int]) -> Indicator:
    where = f"[[sectors.{sector}.indicators]] #{number}"
    entry = _table(entry, where)
    ident = entry.get("id")
    if not isinstance(ident, str) or not _ID.fullmatch(ident):
        raise RulesError(f"{where}: id must be lower-case letters, digits and _ (got {ident!r})")
    where = f"indicator {sector}.{ident}"
    _known_keys(entry, _INDICATOR_KEYS, where)
    level = _level(entry.get("level"), f"{where} level")
    off_hours = entry.get("off_hours_level")
    if off_hours is not None:
        off_hours = _level(off_hours, f"{where} off_hours_level")
        if _RANK[off_hours] > _RANK[level]:
            raise RulesError(f"{where}: off_hours_level {off_hours!r} is above level {level!r}")
    label_zh = _text(entry.get("label_zh"), f"{where} label_zh")
    label_en = _text(entry.get("label_en"), f"{where} label_en")
    if not _HAS_CJK.search(label_zh):
        raise RulesError(f"{where}: label_zh must be Chinese (got {label_zh!r})")
    if not label_en.isascii():
        raise RulesError(f"{where}: label_en must be plain English (got {label_en!r})")
    zh = _keywords(entry.get("zh", []), chinese=True, where=f"{where} zh")
    en = _keywords(entry.get("en", []), chinese=False, where=f"{where} en")
    if not zh and not en:
        raise RulesError(f"{where} has no keywords: give at least one in zh or en")
    with_zh = _keywords(entry.get("with_zh", []), chinese=True, where=f"{where} with_zh")
    with_en = _keywords(entry.get("with_en", []), chinese=False, where=f"{where} with_en")
    if ("with_zh" in entry or "with_en" in entry) and not (with_zh or with_en):
        raise RulesError(f"{where} has empty with_zh/with_en: list words or remove both keys")
    also_in = entry.get("also_in", [])
    if not isinstance(also_in, list):
        raise RulesError(f"{where} also_in must be a list of sectors")
    for other in also_in:
        if other != ANY_SECTOR and other not in SECTORS:
            raise RulesError(
                f'{where} also_in: unknown sector {other!r}; expected "*" or one of: '
                f"{', '.join(SECTORS)}"
            )
    return Indicator(
        sector=sector,
        id=ident,
        level=level,
        label_zh=label_zh,
        label_en=label_en,
        keywords=zh + en,
        with_keywords=with_zh + with_en,
        also_in=frozenset(also_in),
        off_hours_level=off_hours,
        keyword_ids=frozenset(ids.setdefault(w, len(ids)) for w in zh + en),
        with_ids=frozenset(ids.setdefault(w, len(ids)) for w in with_zh + with_en),
    )


def _keywords(value: Any, *, chinese: bool, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise RulesError(f"{where} must be a list of strings")
    words: list[str] = []
    for number, word in enumerate(value, start=1):
        if not isinstance(word, str) or not word.strip():
            raise RulesError(f"{where}: keyword #{number} is empty or not a string ({word!r})")
        word = normalise(word.strip())
        if chinese and word.isascii():
            raise RulesError(f"{where}: {word!r} has no Chinese characters; put it in the en list")
        if not chinese and not (_EN_KEYWORD.fullmatch(word) and word[0].isalnum()):
            raise RulesError(
                f"{where}: {word!r} must be English letters, digits, spaces, - ' and *,"
                " starting with a letter or digit"
            )
        if word not in words:
            words.append(word)
    return tuple(words)


def _english_atoms(word: str) -> list[str]:
    """An English keyword as regex atoms: its letters, ``*`` as any letters, optional gaps."""
    atoms: list[str] = []
    for token in _EN_TOKEN_SPLIT.split(word.strip()):
        if token:
            if atoms:
                atoms.append(r"[\s\-]*")
            atoms.extend("[a-z0-9]*" if c == "*" else re.escape(c) for c in token)
    return atoms


def _english(words: Sequence[str]) -> str:
    """English keywords as one regex on word boundaries (ASCII letters and digits only, so that
    "lpg" is found in "地下室有lpg钢瓶")."""
    return f"{_EDGE_BEFORE}(?:{_trie([_english_atoms(w) for w in words])}){_EDGE_AFTER}"


def _trie(words: Sequence[Sequence[str]]) -> str:
    """An alternation of atom sequences as a trie, so a regex tries one branch per character."""
    root: dict[str, Any] = {}
    for atoms in words:
        node = root
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[""] = {}  # the end of a word

    def emit(node: dict[str, Any]) -> str:
        branches = [atom + emit(child) for atom, child in node.items() if atom]
        if not branches:
            return ""
        if len(branches) == 1 and "" not in node:
            return branches[0]
        return "(?:" + "|".join(branches) + ")" + ("?" if "" in node else "")

    return emit(root)


def _matcher(keywords: set[str], ids: Mapping[str, int]) -> _Matcher:
    """The locators and the per-first-character keyword tables for one sector's keywords."""
    chinese = sorted((w for w in keywords if not w.isascii()), key=len, reverse=True)
    english = sorted((w for w in keywords if w.isascii()), key=len, reverse=True)
    chinese_at: dict[str, list[tuple[int, str]]] = {}
    for word in chinese:
        chinese_at.setdefault(word[0], []).append((ids[word], word))
    english_at: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
    for word in english:
        english_at.setdefault(word[0], []).append((ids[word], re.compile(_english([word]))))
    # The English locator leaves out the end boundary: it only has to stop wherever a word may
    # start; the exact check above has both boundaries.
    english_locator = f"{_EDGE_BEFORE}(?=[a-z0-9])(?:{_trie([_english_atoms(w) for w in english])})"
    return _Matcher(
        chinese=re.compile(_trie([[re.escape(c) for c in w] for w in chinese]))
        if chinese
        else None,
        english=re.compile(english_locator) if english else None,
        chinese_at=MappingProxyType({c: tuple(v) for c, v in chinese_at.items()}),
        english_at=MappingProxyType({c: tuple(v) for c, v in english_at.items()}),
    )


def _negation(value: Any) -> re.Pattern[str] | None:
    if value is None:
        return None
    table = _table(value, "[negation]")
    _known_keys(table, _NEGATION_KEYS, "[negation]")
    lists = {
        key: _keywords(table.get(key, []), chinese=key.startswith("zh"), where=f"[negation] {key}")
        for key in _NEGATION_KEYS
    }
    if not lists["zh"] and not lists["en"]:
        return None

    def either(zh: Sequence[str], en: Sequence[str]) -> str:
        branches = [re.escape(w) for w in sorted(zh, key=len, reverse=True)]
        if en:
            branches.append(_english(en))
        return "|".join(branches)

    negations = either(lists["zh"], lists["en"])
    fillers = either(lists["zh_fillers"], lists["en_fillers"])
    filler = rf"(?:\s*(?:{fillers}))*" if fillers else ""
    return re.compile(rf"(?:{negations}){filler}\s*$")


def _cluster(value: Any) -> tuple[ClusterStep, ...]:
    table = _table(value, "[cluster]")
    _known_keys(table, {"steps"}, "[cluster]")
    steps_in = table.get("steps", [])
    if not isinstance(steps_in, list):
        raise RulesError("[cluster] steps must be a list of { min_reports, raise } tables")
    steps: list[ClusterStep] = []
    for number, entry in enumerate(steps_in, start=1):
        where = f"[cluster] step #{number}"
        entry = _table(entry, where)
        _known_keys(entry, {"min_reports", "raise"}, where)
        minimum, raise_by = entry.get("min_reports"), entry.get("raise")
        if not _is_int(minimum) or minimum < 2:
            raise RulesError(f"{where}: min_reports must be a whole number >= 2 (got {minimum!r})")
        if not _is_int(raise_by) or not 1 <= raise_by <= len(LEVELS) - 1:
            raise RulesError(f"{where}: raise must be 1, 2 or 3 levels (got {raise_by!r})")
        if steps and minimum <= steps[-1].min_reports:
            raise RulesError(f"{where}: min_reports must grow from one step to the next")
        if steps and raise_by < steps[-1].raise_by:
            raise RulesError(f"{where}: raise must not shrink as min_reports grows")
        steps.append(ClusterStep(minimum, raise_by))
    return tuple(steps)


def _busy_hours(value: Any) -> BusyHours | None:
    if value is None:
        return None
    table = _table(value, "[busy_hours]")
    _known_keys(table, {"sectors", "windows", "floor"}, "[busy_hours]")
    sectors = table.get("sectors", [])
    if not isinstance(sectors, list) or any(s not in SECTORS for s in sectors):
        raise RulesError(f"[busy_hours] sectors must list sectors among: {', '.join(SECTORS)}")
    windows = []
    for number, window in enumerate(table.get("windows", []), start=1):
        where = f"[busy_hours] window #{number}"
        if not (isinstance(window, list) and len(window) == 2):
            raise RulesError(f'{where} must be ["HH:MM", "HH:MM"] (got {window!r})')
        start, end = (_minutes(t, where) for t in window)
        if start == end:
            raise RulesError(f"{where} starts and ends at the same time")
        windows.append((start, end))
    return BusyHours(
        frozenset(sectors), tuple(windows), _level(table.get("floor", "blue"), "[busy_hours] floor")
    )


def _minutes(value: Any, where: str) -> int:
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise RulesError(f'{where}: {value!r} is not a time "HH:MM" (00:00-24:00)')
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _level(value: Any, where: str) -> str:
    if value not in LEVELS:
        raise RulesError(f"{where}: {value!r} is not a level; expected one of: {', '.join(LEVELS)}")
    return str(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesError(f"{where} must be a non-empty string")
    return value.strip()


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RulesError(f"{where} must be a table")
    return value


def _known_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RulesError(
            f"{where}: unknown key {unknown[0]!r}; expected one of: {', '.join(sorted(allowed))}"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
