"""Which language a person reads: Simplified Chinese first, English on request."""

from __future__ import annotations

from flask import has_request_context, request

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def request_language() -> str:
    """``zh`` or ``en`` from ``?lang=`` or ``Accept-Language``; Chinese when neither says."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    explicit = (request.args.get("lang") or "").lower()[:2]
    if explicit in LANGUAGES:
        return explicit
    best = request.accept_languages.best_match(["zh", "zh-CN", "en", "en-US"])
    return best[:2] if best else DEFAULT_LANGUAGE


def pick(zh: str, en: str, lang: str | None = None) -> str:
    """The Chinese or English wording of one text."""
    return en if (lang or request_language()) == "en" else zh
