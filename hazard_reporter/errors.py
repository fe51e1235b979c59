"""The domain's exceptions: every error a person can see, with its code, status and message.

Routes and services raise these; ``hazard_reporter.core.http_errors`` turns each into the one JSON
shape ``{"error": {"code", "message", "field"}}``. Messages are written here in Simplified Chinese and
English; ``{name}`` placeholders are filled from the keyword arguments given when raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar


class HazardError(Exception):
    """Base of every error the API reports on purpose."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    messages: ClassVar[dict[str, str]] = {"zh": "请求有误。", "en": "The request is not valid."}

    def __init__(self, *, field: str | None = None, retry_after: int | None = None, **params: Any):
        self.field = field
        self.retry_after = retry_after
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        """The message in ``lang`` (``zh`` or ``en``), placeholders filled."""
        template = self.messages.get(lang) or self.messages["zh"]
        try:
            return template.format(**{"field": self.field, **self.message_params(lang)})
        except (KeyError, IndexError):
            return template

    def message_params(self, lang: str) -> dict[str, Any]:
        """The placeholders' values for a message in ``lang``; a subclass may name values there."""
        return self.params


# --- what is wrong with a field, in the reader's language ------------------------------------


@dataclass(frozen=True)
class Words:
    """A detail said in both languages."""

    zh: str
    en: str

    def message(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def __str__(self) -> str:
        return self.en


@dataclass(frozen=True)
class AtLine:
    """What is wrong with one line of an uploaded file."""

    line: int
    detail: Any

    def message(self, lang: str) -> str:
        said = detail_in(self.detail, lang)
        return f"line {self.line}: {said}" if lang == "en" else f"第 {self.line} 行：{said}"

    def __str__(self) -> str:
        return self.message("en")


_COMPARISONS = {
    "greater than or equal to": "≥",
    "greater than": ">",
    "less than or equal to": "≤",
    "less than": "<",
}
_COMPARISON = "(" + "|".join(_COMPARISONS) + ") (.+?)"
# marshmallow's own messages (its fields' and validators' defaults), in Chinese.
_MARSHMALLOW_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^{pattern}$"), zh)
    for pattern, zh in [
        (r"Not a valid string\.", "不是文本"),
        (r"Not a valid utf-8 string\.", "不是有效的 UTF-8 文本"),
        (r"Not a valid integer\.", "不是整数"),
        (r"Not a valid number\.", "不是数字"),
        (r"Not a valid boolean\.", "不是布尔值（true 或 false）"),
        (r"Not a valid (?:aware |naive )?datetime\.", "不是有效的日期时间"),
        (r"Not a valid date\.", "不是有效的日期"),
        (r"Not a valid period of time\.", "不是有效的时长"),
        (r"Not a valid email address\.", "不是有效的电子邮件地址"),
        (r"Not a valid URL\.", "不是有效的网址"),
        (r"Not a valid UUID\.", "不是有效的 UUID"),
        (r"Not a valid list\.", "不是列表"),
        (r"Not a valid tuple\.", "不是有效的元组"),
        (r"Not a valid mapping type\.", "不是对象（键值对）"),
        (r"Field may not be null\.", "不能为 null"),
        (r"Invalid value\.", "值无效"),
        (r"Invalid (?:input )?type\.", "类型不对"),
        (r"Unknown field\.", "不是可接受的字段"),
        (r"Number too large\.", "数值过大"),
        (r"Special numeric values \(nan or infinity\) are not permitted\.", "不能是 NaN 或无穷大"),
        (r"String does not match expected pattern\.", "格式不对"),
        (r"Longer than maximum length (\d+)\.", "长度超过上限 {0}"),
        (r"Shorter than minimum length (\d+)\.", "长度少于 {0}"),
        (r"Length must be between (\d+) and (\d+)\.", "长度须在 {0} 到 {1} 之间"),
        (r"Length must be (\d+)\.", "长度须为 {0}"),
        (r"Must be one of: (.*)\.", "须为其中之一：{0}"),
        (rf"Must be {_COMPARISON} and {_COMPARISON}\.", "须 {0} {1} 且 {2} {3}"),
        (rf"Must be {_COMPARISON}\.", "须 {0} {1}"),
    ]
]
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def detail_in(detail: Any, lang: str) -> str:
    """A field's detail (ours, or marshmallow's English) in ``lang``: a detail that knows both
    languages says its own; ours written ``中文 / English`` gives the side asked for; marshmallow's
    messages are put into Chinese. Anything else (a value, a name) is shown as it is."""
    if hasattr(detail, "message"):
        return detail.message(lang)
    text = str(detail)
    zh, slash, en = text.partition(" / ")
    if slash and _CJK.search(zh) and not _CJK.search(en):
        return en if lang == "en" else zh
    if lang == "en":
        return text
    for pattern, words in _MARSHMALLOW_ZH:
        if matched := pattern.match(text):
            values = [_COMPARISONS.get(v, v) for v in matched.groups()]
            return words.format(*values)
    return text


class _SaysDetail(HazardError):
    """An error whose ``{detail}`` is said in the message's language (``detail_in``)."""

    def message_params(self, lang: str) -> dict[str, Any]:
        return {**self.params, "detail": detail_in(self.params.get("detail", ""), lang)}


# --- generic request errors ------------------------------------------------------------------


class ValidationFailed(_SaysDetail):
    status = 422
    code = "validation_error"
    messages = {"zh": "字段“{field}”无效：{detail}", "en": "Field '{field}' is not valid: {detail}"}


class MissingField(HazardError):
    status = 422
    code = "missing_field"
    messages = {"zh": "缺少必填字段“{field}”。", "en": "The field '{field}' is required."}


class NotFound(HazardError):
    status = 404
    code = "not_found"
    messages = {"zh": "找不到{what}。", "en": "No such {what_en}."}


class IdempotencyKeyInvalid(HazardError):
    status = 400
    code = "idempotency_key_invalid"
    messages = {
        "zh": "Idempotency-Key 请求头须为 1–200 个可见 ASCII 字符。",
        "en": "The Idempotency-Key header must be 1-200 visible ASCII characters.",
    }


class IdempotencyKeyReused(HazardError):
    status = 422
    code = "idempotency_key_reused"
    messages = {
        "zh": "该 Idempotency-Key 已用于内容不同的另一次提交，请为新的隐患报告使用新的键。",
        "en": "This Idempotency-Key was already used for a different submission; "
        "use a new key for a new report.",
    }


class ServiceUnavailable(HazardError):
    status = 503
    code = "service_unavailable"
    messages = {
        "zh": "服务暂时不可用，报告未保存，请稍后重试。",
        "en": "The service is temporarily unavailable; the report was not saved. Please retry.",
    }


class StorageUnavailable(ServiceUnavailable):
    code = "storage_unavailable"
    messages = {
        "zh": "照片存储暂时不可用，报告未保存，请稍后用同一 Idempotency-Key 重试。",
        "en": "Photo storage is temporarily unavailable; the report was not saved. "
        "Retry later with the same Idempotency-Key.",
    }


class StorageFull(StorageUnavailable):
    """The medium has no space left (ENOSPC, a quota, MinIO's 507): 503 too, because the client
    can do nothing but retry the same request later, while an operator frees space."""

    code = "storage_full"
    messages = {
        "zh": "服务器存储空间不足，报告未保存，请稍后用同一 Idempotency-Key 重试。",
        "en": "The server is out of storage space; the report was not saved. "
        "Retry later with the same Idempotency-Key.",
    }


# --- photos ----------------------------------------------------------------------------------


class PhotoError(HazardError):
    """A photo was refused; ``field`` names the form field (``photos``)."""

    code = "photo_invalid"


class PhotoCountInvalid(PhotoError):
    status = 422
    code = "photo_count"
    messages = {
        "zh": "请附上 {min}–{max} 张照片（收到 {count} 张）。",
        "en": "Attach {min} to {max} photos (got {count}).",
    }


class EmptyPhoto(PhotoError):
    status = 400
    code = "photo_empty"
    messages = {
        "zh": "照片“{filename}”是空文件。",
        "en": "The photo '{filename}' is an empty file.",
    }


class PhotoTooLarge(PhotoError):
    status = 413
    code = "photo_too_large"
    messages = {
        "zh": "照片“{filename}”超过 {limit_mb} MB 的大小上限。",
        "en": "The photo '{filename}' exceeds the {limit_mb} MB size limit.",
    }


class RequestTooLarge(HazardError):
    status = 413
    code = "request_too_large"
    messages = {
        "zh": "请求体超过 {limit_mb} MB 的上限。",
        "en": "The request body exceeds the {limit_mb} MB limit.",
    }


class ImageDimensionsTooLarge(PhotoError):
    status = 413
    code = "image_too_large"
    messages = {
        "zh": "照片“{filename}”像素过大（{width}×{height}，上限 {limit_mp} 百万像素），"
        "请用相机的常规分辨率重拍或压缩后再上传。",
        "en": "The photo '{filename}' has too many pixels ({width}x{height}; the limit is "
        "{limit_mp} megapixels). Retake it at a normal resolution or reduce it before uploading.",
    }


class UnsupportedPhotoFormat(PhotoError):
    status = 415
    code = "unsupported_media_type"
    messages = {
        "zh": "照片“{filename}”的格式不受支持（{detected}）。可接受的格式：JPEG、PNG、WebP、HEIC/HEIF。",
        "en": "The photo '{filename}' is in an unsupported format ({detected}). "
        "Accepted formats: JPEG, PNG, WebP, HEIC/HEIF.",
    }


class UnreadablePhoto(PhotoError):
    status = 422
    code = "photo_unreadable"
    messages = {
        "zh": "照片“{filename}”已损坏或不完整，无法读取，请重新拍摄或选择原图。",
        "en": "The photo '{filename}' is damaged or incomplete and cannot be read; "
        "retake it or pick the original.",
    }


# --- locations and regions -------------------------------------------------------------------


class LocationRequired(HazardError):
    status = 422
    code = "location_required"
    messages = {
        "zh": "无法确定隐患位置：请允许手机定位，或附上带 GPS 的照片，或选择所在地区（region_code）。",
        "en": "The hazard's location is unknown: allow the phone's location, attach a photo with "
        "GPS, or choose a region (region_code).",
    }


class UnknownRegion(HazardError):
    status = 422
    code = "unknown_region"
    messages = {
        "zh": "未知的地区代码“{region_code}”。",
        "en": "Unknown region code '{region_code}'.",
    }


class PhotoProcessing(HazardError):
    status = 404
    code = "photo_processing"
    messages = {
        "zh": "照片仍在处理中，请稍后再试。",
        "en": "The photo is still being processed; try again shortly.",
    }


class PhotoNotRendered(HazardError):
    status = 404
    code = "photo_not_rendered"
    messages = {
        "zh": "这张照片无法生成预览图（文件已损坏或格式异常）；检查员可查看原图。",
        "en": "No preview can be made of this photo (the file is damaged or unusual); "
        "inspectors can open the original.",
    }


class PhotoFileMissing(HazardError):
    status = 404
    code = "photo_file_missing"
    messages = {
        "zh": "照片文件在存储中缺失，已记录，请联系管理员从备份恢复。",
        "en": "The photo's file is missing from storage; this was logged. Ask an administrator "
        "to restore it from the backup.",
    }


class PhotoStorageUnavailable(StorageUnavailable):
    """Reading a photo failed for the moment (storage is away): nothing is lost."""

    messages = {
        "zh": "照片存储暂时不可用，请稍后再试。",
        "en": "Photo storage is temporarily unavailable; try again shortly.",
    }


class DirectUploadUnavailable(HazardError):
    status = 501
    code = "direct_upload_unavailable"
    messages = {
        "zh": "本系统的照片不存放在对象存储中，不能直传；请随报告一起上传照片。",
        "en": "This deployment does not store photos in a bucket; send the photos with the report.",
    }


class UploadKeyInvalid(PhotoError):
    status = 422
    code = "upload_key_invalid"
    messages = {
        "zh": "上传标识 {key} 无效，请使用 POST /api/v1/uploads 返回的 key。",
        "en": "Upload key {key} is not valid; use a key answered by POST /api/v1/uploads.",
    }


class UploadMissing(PhotoError):
    status = 422
    code = "upload_missing"
    messages = {
        "zh": "没有找到已上传的照片 {key}：上传可能未完成或已过期，请重新上传。",
        "en": "No uploaded photo {key}: the upload did not finish or has expired; upload it again.",
    }


class UploadExpired(PhotoError):
    status = 422
    code = "upload_expired"
    messages = {
        "zh": "已上传的照片 {key} 已超过保留期限（{hours} 小时），请重新上传。",
        "en": "The uploaded photo {key} is past its keep period ({hours} h); upload it again.",
    }


class UploadAlreadyUsed(PhotoError):
    status = 409
    code = "upload_already_used"
    messages = {
        "zh": "照片 {key} 已用于另一份报告。",
        "en": "Photo {key} already belongs to another report.",
    }


# --- accounts and access ---------------------------------------------------------------------


class AuthRequired(HazardError):
    status = 401
    code = "auth_required"
    messages = {"zh": "请先登录。", "en": "Sign in first."}


class TokenInvalid(HazardError):
    status = 401
    code = "token_invalid"
    messages = {
        "zh": "登录凭证无效或已过期，请刷新或重新登录。",
        "en": "The access token is invalid or expired; refresh it or sign in again.",
    }


class InvalidCredentials(HazardError):
    status = 401
    code = "invalid_credentials"
    messages = {"zh": "手机号或密码不正确。", "en": "Wrong phone number or password."}


class AccountDisabled(HazardError):
    status = 403
    code = "account_disabled"
    messages = {"zh": "该账号已停用，请联系管理员。", "en": "This account is disabled."}


class Forbidden(HazardError):
    status = 403
    code = "forbidden"
    messages = {"zh": "您的角色无权进行此操作。", "en": "Your role may not do this."}


class OwnReport(HazardError):
    status = 403
    code = "own_report"
    messages = {
        "zh": "不能验收、认定或表彰自己上报的隐患，请由其他检查员处理。",
        "en": "You cannot verify, judge or commend a hazard you reported yourself; "
        "another inspector must.",
    }


class AlreadyCommended(HazardError):
    status = 409
    code = "already_commended"
    messages = {
        "zh": "报告 #{report_id} 已有同级别的表彰（第 {commendation_id} 号），不再重复提名。",
        "en": "Report #{report_id} is already behind a commendation of this level "
        "(no. {commendation_id}); it is not proposed twice.",
    }


class NotCredited(HazardError):
    status = 422
    code = "not_credited"
    messages = {
        "zh": "表彰只能依据已验收、未被防作弊标记暂扣、记在该职工名下的隐患"
        "（匿名上报须先由上报人认领）。",
        "en": "A commendation stands only on verified hazards credited to the reporter and not "
        "held by anti-fraud checks (an anonymous report must first be claimed by its reporter).",
    }


class CommendationStale(HazardError):
    status = 409
    code = "commendation_stale"
    messages = {
        "zh": "提名后报告 #{report_id} 已不再记在该职工名下（被重新整改、被防作弊标记暂扣或被合并），"
        "本表彰未授予；如仍应表彰，请重新提名。",
        "en": "Since the proposal, report #{report_id} is no longer credited to this reporter "
        "(reopened, held by anti-fraud flags or merged); the commendation was not granted. "
        "Propose it again if it is still due.",
    }


class ClaimByHandler(HazardError):
    status = 403
    code = "claim_by_handler"
    messages = {
        "zh": "您处理过这份报告（研判、转交、验收或认定），不能再认领为自己的上报。",
        "en": "You handled this report (triage, forwarding, verification or judgement); "
        "you cannot claim it as your own.",
    }


class CsrfFailed(HazardError):
    status = 403
    code = "csrf_failed"
    messages = {
        "zh": "页面已过期（CSRF 校验失败），请刷新页面后重试。",
        "en": "The page has expired (CSRF check failed); reload it and try again.",
    }


class PhoneTaken(HazardError):
    status = 409
    code = "phone_taken"
    messages = {
        "zh": "该手机号已注册，请直接登录。",
        "en": "This phone number is already registered; sign in instead.",
    }


class InvalidPhone(HazardError):
    status = 422
    code = "invalid_phone"
    messages = {
        "zh": "请输入有效的 11 位手机号码。",
        "en": "Enter a valid 11-digit mainland China mobile number.",
    }


class WeakPassword(HazardError):
    status = 422
    code = "weak_password"
    messages = {
        "zh": "密码至少 {min} 个字符，且不能全是数字。",
        "en": "The password needs at least {min} characters and not only digits.",
    }


class FollowupTokenInvalid(HazardError):
    status = 404
    code = "not_found"
    messages = {
        "zh": "找不到该报告，或跟进码不正确。",
        "en": "No such report, or a wrong follow-up token.",
    }


class RateLimited(HazardError):
    status = 429
    code = "rate_limited"
    messages = {
        "zh": "操作过于频繁（{limit}），请 {retry_after} 秒后再试。",
        "en": "Too many requests ({limit}); try again in {retry_after} s.",
    }


# --- workflow ------------------------------------------------------------------------------


# A report's statuses as the pages name them (pages/static/pages/i18n.js), for messages.
STATUS_NAMES = {
    "submitted": ("已提交", "submitted"),
    "triaged": ("已研判", "assessed"),
    "forwarded": ("已转交责任单位", "forwarded to the responsible unit"),
    "acknowledged": ("责任单位已签收", "acknowledged by the unit"),
    "rectifying": ("整改中", "being fixed"),
    "rectified": ("已整改", "fixed"),
    "verified": ("已验证", "verified"),
    "rejected": ("未受理", "not accepted"),
    "duplicate": ("重复上报（已合并）", "a duplicate (merged)"),
}


class IllegalTransition(HazardError):
    status = 409
    code = "illegal_transition"
    messages = {
        "zh": "报告当前状态为“{current}”，不能变为“{target}”。允许的下一步：{allowed}。",
        "en": "The report is '{current}' and cannot become '{target}'. Allowed next: {allowed}.",
    }

    def message_params(self, lang: str) -> dict[str, Any]:
        """The statuses by their names in ``lang`` (the codes are only for programs)."""
        index = 1 if lang == "en" else 0
        separator = ", " if lang == "en" else "、"

        def named(value: object) -> str:
            parts = [p.strip() for p in str(value).split(",")]
            if all(p in STATUS_NAMES for p in parts):
                return separator.join(STATUS_NAMES[p][index] for p in parts)
            return str(value)

        return {
            k: named(v) if k in ("current", "target", "allowed") else v
            for k, v in self.params.items()
        }


class TooLateToDecline(IllegalTransition):
    """A unit's "not ours" once the work has begun: said in the unit's terms, not the workflow's."""

    messages = {
        "zh": "报告当前状态为“{current}”，不能再退回。如确非本单位负责，请联系工会检查员。",
        "en": "The report is '{current}' and can no longer be declined. If it is not yours, "
        "call the union inspector.",
    }


class AlreadyWithThisUnit(IllegalTransition):
    """Forwarding a report to the unit that already holds it (a re-route names another unit)."""

    messages = {
        "zh": "报告当前状态为“{current}”，已在该责任单位处理中；改派请选择其他单位。",
        "en": "The report is '{current}' and already with this unit; to re-route, choose another unit.",
    }


class NoUnitHolds(IllegalTransition):
    """A unit's link asked of a report no unit holds now."""

    code = "no_unit_holds"
    messages = {
        "zh": "报告当前状态为“{current}”，没有在办的责任单位，没有可转交的链接。",
        "en": "The report is '{current}'; no unit holds it, so there is no link to pass on.",
    }


class UnitHasChannels(HazardError):
    status = 409
    code = "unit_has_channels"
    messages = {
        "zh": "该单位有通知渠道，转办通知已经由渠道发出，不必另行转交链接。",
        "en": "The unit has channels and is told through them; its link is not handed out.",
    }


class NotWithUnit(IllegalTransition):
    """A unit's action on a report the unit does not hold now."""

    messages = {
        "zh": "报告当前状态为“{current}”，责任单位现在不能对其操作。",
        "en": "The report is '{current}'; the unit cannot act on it now.",
    }


class ImportConflict(HazardError):
    status = 409
    code = "import_conflict"
    messages = {
        "zh": "另一次导入同时修改了{what}，本次未导入任何内容，请重试。",
        "en": "Another import changed the {what_en} at the same time; nothing was imported. Try again.",
    }


class ReportChanged(HazardError):
    status = 409
    code = "report_changed"
    messages = {
        "zh": "该报告刚被他人处理，状态已变化，请刷新后再操作。",
        "en": "Someone else just acted on this report; reload it and try again.",
    }


class UnitSlugTaken(HazardError):
    status = 409
    code = "unit_slug_taken"
    messages = {
        "zh": "已有标识为“{slug}”的责任单位。",
        "en": "A unit with the slug '{slug}' exists already.",
    }


class NoUnitForReport(HazardError):
    status = 422
    code = "no_unit"
    messages = {
        "zh": "找不到负责该行业和地区的责任单位，请指定 unit_id 或先配置路由规则。",
        "en": "No unit handles this sector and region; give unit_id or add a routing rule.",
    }


class UnitLinkInvalid(HazardError):
    status = 404
    code = "unit_link_invalid"
    messages = {
        "zh": "链接无效或已过期，请联系转办的工会检查员。",
        "en": "This link is invalid or has expired; contact the inspector who forwarded it.",
    }


# --- deliveries ------------------------------------------------------------------------------


class DeliveryNotDead(HazardError):
    status = 409
    code = "delivery_not_dead"
    messages = {
        "zh": "只有投递失败（dead）的记录才能重试，该记录当前为“{status}”。",
        "en": "Only a dead delivery can be retried; this one is '{status}'.",
    }


# --- exports ---------------------------------------------------------------------------------


class ExportTooLarge(HazardError):
    status = 422
    code = "export_too_large"
    messages = {
        "zh": "导出超过 Excel 单个工作表的上限（{limit} 行），请缩小时段或地区，或改用 CSV 导出。",
        "en": "The export exceeds an Excel sheet's limit ({limit} rows); narrow the period or "
        "region, or export CSV instead.",
    }


# --- Open311's terms (input errors are 400, as the spec's clients expect) ------------


class Open311ParameterInvalid(_SaysDetail):
    status = 400
    code = "parameter_invalid"
    messages = {
        "zh": "参数“{field}”无效：{detail}",
        "en": "The parameter '{field}' is not valid: {detail}",
    }


class Open311ParameterMissing(HazardError):
    status = 400
    code = "parameter_missing"
    messages = {"zh": "缺少必填参数“{field}”。", "en": "The parameter '{field}' is required."}


class UnknownServiceCode(HazardError):
    status = 400
    code = "unknown_service_code"
    messages = {
        "zh": "未知的 service_code“{service_code}”，可用的有：{codes}。",
        "en": "Unknown service_code '{service_code}'; the codes are: {codes}.",
    }


class MediaRequired(HazardError):
    status = 400
    code = "media_required"
    messages = {
        "zh": "请以 multipart/form-data 文件字段 media 附上至少一张现场照片。",
        "en": "Attach at least one photo of the hazard as the multipart/form-data file 'media'.",
    }


class MediaUrlNotFetched(HazardError):
    status = 400
    code = "media_url_not_supported"
    messages = {
        "zh": "本服务不会下载 media_url 指向的文件，请把照片作为 multipart/form-data 文件字段 "
        "media 直接上传。",
        "en": "This server never fetches media_url; upload the photo itself as the "
        "multipart/form-data file 'media'.",
    }


class DateRangeTooLong(HazardError):
    status = 400
    code = "date_range_too_long"
    messages = {
        "zh": "start_date 与 end_date 的间隔不能超过 {days} 天。",
        "en": "start_date and end_date may be at most {days} days apart.",
    }


class FormatNotSupported(HazardError):
    status = 404
    code = "format_not_supported"
    messages = {
        "zh": "只支持 JSON 格式：请使用以 .json 结尾的地址（不支持 .{format}）。",
        "en": "Only JSON is supported: use the .json address (.{format} is not available).",
    }
