"""The domain's exceptions: every error a person can see, with its code, status and message.

Routes and services raise these; ``hazard_reporter.core.http_errors`` turns each into the one JSON
shape ``{"error": {"code", "message", "field"}}``. Messages are written here in Simplified Chinese and
English; ``{name}`` placeholders are filled from the keyword arguments given when raising.
"""

from __future__ import annotations

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
            return template.format(**self.params)
        except (KeyError, IndexError):
            return template


# --- generic request errors ------------------------------------------------------------------


class ValidationFailed(HazardError):
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
