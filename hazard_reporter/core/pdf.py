"""PDF plumbing shared by every printable document: an embedded CJK font and numbered pages.

reportlab's built-in CID font (STSong-Light) is never embedded, so a reader without that font sees
boxes; Noto CJK's ``.ttc`` (PostScript outlines) cannot be loaded by reportlab at all. Documents
therefore embed a TrueType CJK font, found in this order: the ``path`` given, the app's
``CJK_FONT`` setting, the ``HAZARD_CJK_FONT`` environment variable, then the Debian packages below.
A setting may end in ``#N`` to pick the N-th font of a ``.ttc`` collection (default 0).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

ENV_VAR = "HAZARD_CJK_FONT"
CONFIG_KEY = "CJK_FONT"
PROBE = "中文"  # a font without these is no CJK font


@dataclass(frozen=True)
class FontFile:
    """A TrueType file (or one face of a collection) and the Debian package that ships it."""

    path: str
    index: int = 0
    package: str | None = None


KNOWN_FONTS: tuple[FontFile, ...] = (
    FontFile("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "fonts-wqy-microhei"),
    FontFile("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei"),
    FontFile("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0, "fonts-arphic-gbsn00lp"),
    FontFile("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming"),
    FontFile(
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0, "fonts-droid-fallback"
    ),
)


class FontMissing(RuntimeError):
    """No usable TrueType CJK font: PDFs in Chinese cannot be made on this machine."""

    def __init__(self, detail: str = ""):
        message = (
            "No TrueType CJK font for PDFs. Install the Debian package fonts-wqy-microhei "
            "(apt-get install -y fonts-wqy-microhei) or set HAZARD_CJK_FONT to a TrueType "
            ".ttf/.ttc file with Chinese glyphs (Noto CJK .ttc has PostScript outlines and "
            "cannot be used)."
        )
        super().__init__(f"{detail} {message}" if detail else message)


_lock = threading.Lock()
_registered: dict[tuple[str, int], str] = {}


def cjk_font(path: str | os.PathLike[str] | None = None) -> str:
    """Register the CJK font once and return its reportlab name; raises FontMissing."""
    configured = _configured(path)
    candidates = [configured] if configured else list(KNOWN_FONTS)
    with _lock:
        for font in candidates:
            key = (font.path, font.index)
            if key in _registered:
                return _registered[key]
            if not Path(font.path).is_file():
                continue
            name = _load(font, strict=configured is not None)
            if name:
                _registered[key] = name
                return name
    if configured:
        raise FontMissing(f"The configured font {configured.path} does not exist.")
    raise FontMissing("None of the known Debian font files exists.")


def _configured(path: str | os.PathLike[str] | None) -> FontFile | None:
    """The font chosen by argument, app setting or environment, if any."""
    value = os.fspath(path) if path is not None else None
    if value is None:
        value = _app_setting()
    if value is None:
        value = os.environ.get(ENV_VAR) or None
    if not value:
        return None
    file, _, index = value.partition("#")
    return FontFile(file, int(index) if index.isdigit() else 0)


def _app_setting() -> str | None:
    """``CJK_FONT`` of the current Flask app, when there is one."""
    try:
        from flask import current_app, has_app_context
    except ImportError:  # pragma: no cover - flask is always installed with the app
        return None
    if not has_app_context():
        return None
    value = current_app.config.get(CONFIG_KEY)
    return str(value) if value else None


def _load(font: FontFile, *, strict: bool) -> str | None:
    """Register one file under a stable name; a configured file that fails raises FontMissing."""
    name = f"HazardCJK-{Path(font.path).stem}-{font.index}"
    try:
        ttf = TTFont(name, font.path, subfontIndex=font.index)
    except (TTFError, OSError, ValueError) as error:
        if strict:
            raise FontMissing(f"The font {font.path} cannot be used ({error}).") from error
        return None
    if any(ord(ch) not in ttf.face.charToGlyph for ch in PROBE):
        if strict:
            raise FontMissing(f"The font {font.path} has no Chinese glyphs.")
        return None
    pdfmetrics.registerFont(ttf)
    # <b> and <i> in paragraphs map to the same face instead of failing on a missing family.
    pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
    return name


def missing_glyphs(text: str, font_name: str) -> set[str]:
    """The characters of ``text`` the registered font cannot draw (they would print as boxes)."""
    face = pdfmetrics.getFont(font_name).face
    return {ch for ch in text if not ch.isspace() and ord(ch) not in face.charToGlyph}


def numbered_canvas(font: str, footer: str = "") -> type[Canvas]:
    """A canvas class that prints ``footer`` and "第 n 页 / 共 N 页" at the foot of every page."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any):
            kwargs.setdefault("initialFontName", font)
            super().__init__(*args, **kwargs)
            self._page_states: list[dict[str, Any]] = []

        def showPage(self) -> None:
            # The total is known only at the end: keep each page and draw the footers on save.
            self._page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._page_states)
            for state in self._page_states:
                self.__dict__.update(state)
                self._draw_footer(total)
                super().showPage()
            super().save()

        def _draw_footer(self, total: int) -> None:
            width, _height = self._pagesize
            self.saveState()
            self.setFont(font, 8)
            self.setFillGray(0.35)
            if footer:
                self.drawString(15 * mm, 8 * mm, footer)
            self.drawRightString(
                width - 15 * mm, 8 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页"
            )
            self.restoreState()

    return NumberedCanvas
