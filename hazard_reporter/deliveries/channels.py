"""Building and sending one delivery's message on each channel; no database in here.

Channel configurations (the entries of ``Unit.channels``, or ``targets`` given for alerts) are dicts
with a ``type``; the rest of the dict is stored as the delivery's ``target``::

    {"type": "webhook", "url": "https://unit.example.cn/hooks/hazard", "secret": "…"}
    {"type": "email", "to": ["duty@unit.example.cn"]}
    {"type": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"}
    {"type": "wecom", "key": "…"}                        # the same, by the robot's key
    {"type": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=…",
     "secret": "SEC…"}                                     # secret only when the robot uses 加签
    {"type": "link", "to": ["office@unit.example.cn"]}   # "to" optional

Signed webhook (for receivers)
------------------------------
Every attempt is an HTTP ``POST`` of the UTF-8 JSON body::

    {"id": "<idempotency id>", "event": "<kind>", "created_at": "<ISO 8601, UTC>", "data": {…}}

with the headers::

    Content-Type: application/json; charset=utf-8
    X-Hazard-Delivery: <idempotency id>     the same on every retry of one message: dedupe on it
    X-Hazard-Event: <kind>                  report.forwarded | alert.red | report.escalated | …
    X-Hazard-Timestamp: <unix seconds of this attempt>
    X-Hazard-Signature: sha256=<hex>

``<hex>`` is the lowercase hexadecimal HMAC-SHA256, keyed with the unit's secret (UTF-8 bytes), of
the bytes ``timestamp + "." + body``, where ``timestamp`` is the X-Hazard-Timestamp header exactly
as sent and ``body`` the raw request body exactly as received (do not re-serialise the JSON).
A receiver recomputes it, compares in constant time, refuses a timestamp more than 300 s away from
its own clock (a replay), and answers any 2xx status to accept. Anything else, a redirect, or no
answer within 5 s (connect) + 10 s (read) is retried later, with back-off, under the same
X-Hazard-Delivery id. ``verify_signature`` is the reference implementation.

The 企业微信 and 钉钉 group robots get their documented ``markdown`` messages; a robot accepts only
when its JSON answer has ``errcode`` 0 (钉钉's 自定义关键词 security setting can use "隐患", which
every title contains).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import json
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Protocol
from urllib.parse import quote_plus, urlsplit
from zoneinfo import ZoneInfo

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from hazard_reporter.deliveries.models import Channel
from hazard_reporter.sectors.models import Sector

HTTP_TIMEOUT = (5, 10)  # seconds: connect, read
ANSWER_SECONDS = 15  # an answer still coming this long after the request is cut off there
ANSWER_BYTES = 64 * 1024  # of an answer, more than a robot's JSON ever is
SMTP_TIMEOUT_S = 15
SIGNATURE_TOLERANCE_S = 300
WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token={token}"
WECOM_MAX_BYTES = 4096  # the robot API's limit on markdown.content
DINGTALK_MAX_BYTES = 20000  # the robot API's limit on the message
DESCRIPTION_MAX_CHARS = 1000  # in robot messages; e-mail and webhooks carry the whole text
USER_AGENT = "hazard-reporter-delivery/1"

KIND_TITLES: dict[str, tuple[str, str]] = {
    "report.forwarded": ("隐患转办", "Hazard report forwarded"),
    "alert.red": ("重大隐患警报", "Major hazard alert"),
    "report.escalated": ("隐患超期升级", "Overdue hazard escalated"),
    "report.severity_changed": ("隐患风险等级调整", "Hazard severity changed"),
}
SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    "red": ("红色（重大风险）", "red (major risk)"),
    "orange": ("橙色（较大风险）", "orange (considerable risk)"),
    "yellow": ("黄色（一般风险）", "yellow (general risk)"),
    "blue": ("蓝色（低风险）", "blue (low risk)"),
}
DEADLINE_LABELS = {"acknowledge": "签收", "rectify": "整改"}


class DeliveryFailed(Exception):
    """One attempt failed; the message is short and safe to store (no secrets, no tokened URLs)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message[:500])
        # Permanent failures (a channel with no URL, e-mail not configured) are not retried.
        self.permanent = permanent


class NobodyToSend(Exception):
    """The channel has nobody to send to (a link without an address): a person must pass it on."""


@dataclass(frozen=True)
class Outgoing:
    """What a sender needs of one delivery."""

    idempotency_id: str
    kind: str
    payload: Mapping[str, Any]
    target: Mapping[str, Any]
    created_at: datetime


# --- the text of a message -------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A message's title, its labelled lines (Chinese), its link and a line of English."""

    title: str
    lines: tuple[tuple[str, str], ...]
    link: str | None
    summary_en: str
    urgent: bool = False  # a red report: robots show the colour in their warning style


def _local(value: Any, tz: ZoneInfo) -> str | None:
    """An ISO timestamp shown in ``tz`` to the minute, e.g. ``2026-05-01 15:30（北京时间）``."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = "北京时间" if tz.key == "Asia/Shanghai" else tz.key
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}（{zone}）"


def _sector(payload: Mapping[str, Any]) -> tuple[str, str]:
    key = str(payload.get("sector") or "")
    if key in Sector._value2member_map_:
        sector = Sector(key)
        return str(payload.get("sector_name") or sector.label_zh), sector.label_en
    return str(payload.get("sector_name") or key), key


def _region(payload: Mapping[str, Any]) -> str | None:
    region = payload.get("region")
    if isinstance(region, Mapping):
        return region.get("name") or region.get("code")
    return str(region) if region else None


def _location(payload: Mapping[str, Any]) -> str | None:
    location = payload.get("location")
    if not isinstance(location, Mapping):
        return None
    lat, lon = location.get("lat"), location.get("lon")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    system = str(location.get("coord_system") or "wgs84").upper().replace("WGS84", "WGS-84")
    return f"纬度 {lat:.6f}，经度 {lon:.6f}（{system}）"


def _http_link(value: Any) -> str | None:
    """A link only if it is http(s): it becomes an ``href`` in mail and robot messages."""
    text = str(value or "")
    return text if text.startswith(("https://", "http://")) else None


def compose(kind: str, payload: Mapping[str, Any], *, tz: ZoneInfo | None = None) -> Message:
    """The Chinese-first text of a message, from its kind and payload."""
    tz = tz or ZoneInfo("Asia/Shanghai")
    if kind == "duty.report":
        # A ready-made report (the daily duty report): its own title and labelled lines.
        return Message(
            title=str(payload.get("title") or "【隐患随手拍值班日报】"),
            lines=tuple((str(label), str(value)) for label, value in payload.get("lines") or []),
            link=None,
            summary_en=str(payload.get("summary_en") or "Daily duty report."),
        )
    kind_zh, kind_en = KIND_TITLES.get(kind, ("隐患通知", "Hazard notice"))
    report_id = payload.get("report_id")
    severity = str(payload.get("severity") or "")
    severity_zh, severity_en = SEVERITY_LABELS.get(severity, (severity, severity))
    severity_zh = str(payload.get("severity_name") or severity_zh)
    sector_zh, sector_en = _sector(payload)
    number = f" — 报告 #{report_id}" if report_id is not None else ""
    title = f"【{kind_zh}】{severity_zh}{sector_zh}{number}"

    lines: list[tuple[str, str]] = [("风险等级", severity_zh), ("行业领域", sector_zh)]
    previous = str(payload.get("previous_severity") or "")
    if previous:
        lines.insert(1, ("原风险等级", SEVERITY_LABELS.get(previous, (previous, previous))[0]))
    if payload.get("description"):
        lines.append(("隐患描述", str(payload["description"])))
    if region := _region(payload):
        lines.append(("所在地区", str(region)))
    if location := _location(payload):
        lines.append(("位置坐标", location))
    if payload.get("immediate_danger"):
        lines.append(("紧急情况", "报告人称现场人员正面临危险"))
    reasons = payload.get("reasons")
    if isinstance(reasons, list) and reasons:
        lines.append(("研判依据", "；".join(str(r) for r in reasons)))
    if submitted := _local(payload.get("submitted_at"), tz):
        lines.append(("上报时间", submitted))
    unit = payload.get("unit")
    if isinstance(unit, Mapping) and unit.get("name"):
        lines.append(("责任单位", str(unit["name"])))
    if acknowledge := _local(payload.get("acknowledge_due_at"), tz):
        lines.append(("签收时限", acknowledge))
    if rectify := _local(payload.get("rectify_due_at"), tz):
        lines.append(("整改时限", rectify))
    if missed := _local(payload.get("due_at"), tz):
        deadline = DEADLINE_LABELS.get(str(payload.get("deadline")), "处理")
        lines.append(("已超期", f"{deadline}时限 {missed}"))

    link = _http_link(payload.get("unit_link"))
    summary = f"{kind_en}: report #{report_id}, severity {severity_en}, sector {sector_en}."
    return Message(
        title=title,
        lines=tuple(lines),
        link=link,
        summary_en=summary,
        urgent=severity == "red",
    )


def _one_line(text: str, limit: int | None = None) -> str:
    """Text on one line; markdown link and tag characters made inert (the text is a reporter's)."""
    text = " ".join(text.split())
    text = text.translate(str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］"}))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _cut_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary, marked with …"""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max(0, max_bytes - 3)].decode("utf-8", "ignore") + "…"


def to_markdown(
    message: Message, *, max_bytes: int, line_break: str = "\n", warning_font: bool = False
) -> str:
    """Robot markdown within ``max_bytes`` of UTF-8: the description is shortened to fit, and
    then, if it still does not (a duty report of a busy day), the last lines are left out with
    a line saying how many, so that the link and the summary stay."""

    def render(description_limit: int | None, lines, left_out: int = 0) -> str:
        parts = [f"### {_one_line(message.title)}"]
        for label, value in lines:
            limit = description_limit if label == "隐患描述" else None
            shown = _one_line(value, limit)
            if label == "风险等级" and message.urgent and warning_font:  # 企业微信's own tag
                shown = f'<font color="warning">{shown}</font>'
            parts.append(f"> **{label}**：{shown}")
        if left_out:
            parts.append(f"> ……另有 {left_out} 项未列出，详见系统 ({left_out} more in the system)")
        if message.link:
            parts.append(f"[查看详情并签收]({message.link})")
        parts.append(_one_line(message.summary_en))
        return line_break.join(parts)

    def fits(text: str) -> bool:
        return len(text.encode()) <= max_bytes

    lines = list(message.lines)
    text = render(DESCRIPTION_MAX_CHARS, lines)
    if not fits(text):
        description = next((v for label, v in lines if label == "隐患描述"), "")
        excess = len(text.encode()) - max_bytes
        keep = max(1, len(_one_line(description, DESCRIPTION_MAX_CHARS)) - excess)
        text = render(keep, lines)
        while not fits(text) and len(lines) > 1:
            lines.pop()
            text = render(keep, lines, len(message.lines) - len(lines))
    return _cut_utf8(text, max_bytes)


def to_plain(message: Message) -> str:
    """The plain-text body of an e-mail."""
    lines = [message.title, ""]
    lines += [f"{label}：{value}" for label, value in message.lines]
    if message.link:
        lines += ["", f"查看详情并签收：{message.link}"]
    lines += ["", message.summary_en, "", "本邮件由隐患随手拍系统自动发送，请勿直接回复。"]
    return "\n".join(lines) + "\n"


def to_html(message: Message) -> str:
    """The HTML body of an e-mail (every value escaped)."""
    esc = html.escape
    rows = "".join(
        f'<tr><th align="left" valign="top" style="padding:2px 12px 2px 0">{esc(label)}</th>'
        f"<td>{esc(value)}</td></tr>"
        for label, value in message.lines
    )
    link = (
        f'<p><a href="{esc(message.link, quote=True)}">查看详情并签收</a></p>'
        if message.link
        else ""
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{esc(message.title)}</title></head><body>"
        f"<h2>{esc(message.title)}</h2><table>{rows}</table>{link}"
        f'<p lang="en">{esc(message.summary_en)}</p>'
        "<p><small>本邮件由隐患随手拍系统自动发送，请勿直接回复。</small></p></body></html>"
    )


# --- signatures ------------------------------------------------------------------------------


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp + "." + body`` keyed with ``secret``."""
    signed = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes | str,
    signature: str,
    now: datetime | float,
    tolerance: int = SIGNATURE_TOLERANCE_S,
) -> bool:
    """Whether a webhook's X-Hazard-Signature is ours and its X-Hazard-Timestamp recent."""
    stamp = str(timestamp).strip()
    if not (stamp.isascii() and stamp.isdigit()):
        return False
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - int(stamp)) > tolerance:
        return False
    raw = body.encode() if isinstance(body, str) else body
    expected = "sha256=" + sign_webhook(secret, stamp, raw)
    return hmac.compare_digest(expected.encode(), str(signature).strip().encode())


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """钉钉 加签: url-encoded base64 HMAC-SHA256 of ``timestamp + "\\n" + secret``, keyed with it."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest))


# --- sending ---------------------------------------------------------------------------------


def _host(url: str) -> str:
    """The host (and port) of a URL, safe to log: no path, no query, no token."""
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or "?"


# The sockets of the request this thread is sending, for its deadline to cut (see _post).
_sending = threading.local()


def _noted(sock: socket.socket) -> socket.socket:
    """Note a second handle on ``sock`` (the same connection): TLS wraps the socket by detaching
    it, so the object urllib3 made stops naming the connection; the copy still does."""
    sockets = getattr(_sending, "sockets", None)
    if sockets is not None:
        sockets.append(socket.socket(fileno=os.dup(sock.fileno())))
    return sock


class _NotedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _noted(super()._new_conn())


class _NotedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _noted(super()._new_conn())


class _NotedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _NotedHTTPConnection


class _NotedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _NotedHTTPSConnection


_NOTED_POOLS = {"http": _NotedHTTPPool, "https": _NotedHTTPSPool}


class _NotingAdapter(HTTPAdapter):
    """requests' adapter, its connections (direct or through an HTTP proxy) noting their
    sockets in ``_sending``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _NOTED_POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any):
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has connection classes of its own
            manager.pool_classes_by_scheme = _NOTED_POOLS
        return manager


class _Deadline:
    """Shut the noted sockets ANSWER_SECONDS after the start, whatever the request is waiting
    for once connected: requests' timeouts are per read, so an endpoint sending its TLS
    handshake, status line or headers a byte at a time, each within the read timeout, held the
    worker as long as it liked. (Resolving the name and connecting have their own timeout.)"""

    def __init__(self, seconds: float):
        self.sockets: list[socket.socket] = []
        self.passed = threading.Event()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self) -> None:
        self.passed.set()
        for sock in list(self.sockets):
            with contextlib.suppress(OSError):  # closed already
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Deadline:
        _sending.sockets = self.sockets
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _sending.sockets = None
        for sock in self.sockets:
            sock.close()  # the noted handle only: the connection is requests' to close


def _post(url: str, what: str, **kwargs: Any) -> requests.Response:
    """POST once, all of it within ANSWER_SECONDS: the request, the answer's status and headers,
    and as much of its body (up to ANSWER_BYTES) as has come by then. An answer whose status
    came in time stands, its body cut where the deadline found it."""
    if not url.startswith(("https://", "http://")):
        raise DeliveryFailed(f"{what}: the URL must be http(s)", permanent=True)
    try:
        with requests.Session() as session, _Deadline(ANSWER_SECONDS) as deadline:
            session.mount("http://", _NotingAdapter())
            session.mount("https://", _NotingAdapter())
            response = session.post(
                url, timeout=HTTP_TIMEOUT, allow_redirects=False, stream=True, **kwargs
            )
            try:
                body = bytearray()
                while len(body) < ANSWER_BYTES and not deadline.passed.is_set():
                    try:
                        piece = response.raw.read1(ANSWER_BYTES - len(body), decode_content=True)
                    except (OSError, urllib3.exceptions.HTTPError):
                        if deadline.passed.is_set():
                            break  # cut off by the deadline: the status stands
                        raise
                    if not piece:
                        break
                    body += piece
                response._content = bytes(body)  # what .json() and .text read
            finally:
                response.close()
            return response
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        # The exception's text repeats the URL (and its token): only its class is kept.
        raise DeliveryFailed(f"{what} {_host(url)}: {type(exc).__name__}") from None


def _require(target: Mapping[str, Any], key: str, what: str) -> str:
    value = target.get(key)
    if not value or not isinstance(value, str):
        raise DeliveryFailed(f"{what}: the channel has no {key}", permanent=True)
    return value


def _robot_answer(response: requests.Response, what: str) -> None:
    """Accept a robot's answer only when it is HTTP 2xx with ``errcode`` 0."""
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{what}: HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise DeliveryFailed(f"{what}: the answer is not JSON") from None
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code != 0:
        errmsg = _one_line(str(answer.get("errmsg", "")) if isinstance(answer, dict) else "", 120)
        raise DeliveryFailed(f"{what}: errcode {code} {errmsg}".rstrip())


class Sender(Protocol):
    def send(self, message: Outgoing) -> None:
        """Deliver the message once, or raise DeliveryFailed."""


def webhook_body(message: Outgoing) -> bytes:
    """The exact bytes POSTed to a unit's webhook."""
    envelope = {
        "id": message.idempotency_id,
        "event": message.kind,
        "created_at": message.created_at.astimezone(UTC).isoformat(timespec="seconds"),
        "data": dict(message.payload),
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSender:
    """The unit's own system: a signed JSON POST (see the module's docstring)."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock

    def send(self, message: Outgoing) -> None:
        url = _require(message.target, "url", "webhook")
        secret = _require(message.target, "secret", "webhook")
        body = webhook_body(message)
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Hazard-Delivery": message.idempotency_id,
            "X-Hazard-Event": message.kind,
            "X-Hazard-Timestamp": timestamp,
            "X-Hazard-Signature": "sha256=" + sign_webhook(secret, timestamp, body),
        }
        response = _post(url, "webhook", data=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"webhook {_host(url)}: HTTP {response.status_code}")


class WeComSender:
    """企业微信 group robot: a ``markdown`` message, content ≤ 4096 bytes."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz

    def send(self, message: Outgoing) -> None:
        url = message.target.get("url") or WECOM_URL.format(
            key=quote_plus(_require(message.target, "key", "wecom"))
        )
        text = compose(message.kind, message.payload, tz=self.tz)
        body = {
            "msgtype": "markdown",
            "markdown": {
                "content": to_markdown(text, max_bytes=WECOM_MAX_BYTES, warning_font=True)
            },
        }
        _robot_answer(_post(str(url), "wecom", json=body, headers=_json_headers()), "wecom")


class DingTalkSender:
    """钉钉 group robot: a ``markdown`` message; signed (加签) when the channel has a secret."""

    def __init__(self, tz: ZoneInfo, clock: Callable[[], float] = time.time):
        self.tz = tz
        self.clock = clock

    def send(self, message: Outgoing) -> None:
        url = str(
            message.target.get("url")
            or DINGTALK_URL.format(
                token=quote_plus(_require(message.target, "access_token", "dingtalk"))
            )
        )
        secret = message.target.get("secret")
        if secret:
            timestamp = str(round(self.clock() * 1000))
            joiner = "&" if "?" in url else "?"
            url = f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(str(secret), timestamp)}"
        text = compose(message.kind, message.payload, tz=self.tz)
        body = {
            "msgtype": "markdown",
            # 钉钉's markdown needs a blank line to break a line.
            "markdown": {
                "title": text.title,
                "text": to_markdown(text, max_bytes=DINGTALK_MAX_BYTES, line_break="\n\n"),
            },
        }
        _robot_answer(_post(url, "dingtalk", json=body, headers=_json_headers()), "dingtalk")


def _json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how e-mail is sent, from ``SMTP_*`` settings."""

    host: str | None = None
    port: int = 25
    username: str | None = None
    password: str | None = None
    sender: str | None = None
    starttls: bool = False
    ssl: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        """The settings from the app's ``SMTP_*`` keys."""
        use_ssl = bool(config.get("SMTP_SSL", False))
        return cls(
            host=config.get("SMTP_HOST") or None,
            port=int(config.get("SMTP_PORT") or (465 if use_ssl else 25)),
            username=config.get("SMTP_USERNAME") or None,
            password=config.get("SMTP_PASSWORD") or None,
            sender=config.get("SMTP_FROM") or None,
            starttls=bool(config.get("SMTP_STARTTLS", False)),
            ssl=use_ssl,
        )


def message_id(idempotency_id: str, sender: str) -> str:
    """The Message-ID of a delivery's e-mail: the same on every retry, so mail clients dedupe."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "hazard-reporter.invalid"
    return f"<{idempotency_id}@{domain}>"


def recipients(target: Mapping[str, Any]) -> list[str]:
    """The addresses in a channel's ``to`` (a list or one string)."""
    to = target.get("to") or []
    if isinstance(to, str):
        to = [to]
    return [str(a).strip() for a in to if str(a).strip()]


def build_email(
    message: Outgoing, *, sender: str, tz: ZoneInfo, to: list[str], now: datetime
) -> EmailMessage:
    """A UTF-8 plain-text and HTML e-mail for one delivery."""
    text = compose(message.kind, message.payload, tz=tz)
    mail = EmailMessage()
    mail["Subject"] = text.title
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = format_datetime(now.astimezone(UTC))
    mail["Message-ID"] = message_id(message.idempotency_id, sender)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    mail["X-Hazard-Delivery"] = message.idempotency_id
    mail["X-Hazard-Event"] = message.kind
    mail.set_content(to_plain(text), charset="utf-8")
    mail.add_alternative(to_html(text), subtype="html", charset="utf-8")
    return mail


class EmailSender:
    """E-mail over SMTP (stdlib ``smtplib``), optionally with STARTTLS or implicit TLS."""

    def __init__(
        self, settings: SmtpSettings, tz: ZoneInfo, clock: Callable[[], float] = time.time
    ):
        self.settings = settings
        self.tz = tz
        self.clock = clock

    def send(self, message: Outgoing) -> None:
        to = recipients(message.target)
        if not to:
            raise DeliveryFailed("email: the channel has no address", permanent=True)
        self.send_to(message, to)

    def send_to(self, message: Outgoing, to: list[str]) -> None:
        """Send the delivery's e-mail to ``to``."""
        s = self.settings
        if not s.host or not s.sender:
            raise DeliveryFailed("email: SMTP_HOST and SMTP_FROM are not set", permanent=True)
        now = datetime.fromtimestamp(self.clock(), UTC)
        mail = build_email(message, sender=s.sender, tz=self.tz, to=to, now=now)
        where = f"smtp {s.host}:{s.port}"
        try:
            if s.ssl:
                client = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT_S)
            with client:
                if s.starttls and not s.ssl:
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"{where}: {exc.smtp_code} {type(exc).__name__}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"{where}: {type(exc).__name__}") from None


class LinkSender:
    """A unit with no system: the signed link by e-mail if it has an address; without one,
    NobodyToSend (an inspector passes the link on by phone or SMS)."""

    def __init__(self, email: EmailSender):
        self.email = email

    def send(self, message: Outgoing) -> None:
        to = recipients(message.target)
        if not to:
            raise NobodyToSend()
        self.email.send_to(message, to)


class Senders:
    """The sender of each channel."""

    def __init__(self, senders: Mapping[str, Sender]):
        self.senders = dict(senders)

    def send(self, channel: str, message: Outgoing) -> None:
        """Send ``message`` on ``channel``, or raise DeliveryFailed."""
        sender = self.senders.get(channel)
        if sender is None:
            raise DeliveryFailed(f"unknown channel {channel[:16]!r}", permanent=True)
        sender.send(message)


def build_senders(config: Mapping[str, Any], clock: Callable[[], float] = time.time) -> Senders:
    """Every channel's sender, set up from the app's config."""
    tz = ZoneInfo(config.get("LOCAL_TIMEZONE") or "Asia/Shanghai")
    email = EmailSender(SmtpSettings.from_config(config), tz, clock)
    return Senders(
        {
            Channel.WEBHOOK: WebhookSender(clock),
            Channel.EMAIL: email,
            Channel.WECOM: WeComSender(tz),
            Channel.DINGTALK: DingTalkSender(tz, clock),
            Channel.LINK: LinkSender(email),
        }
    )
