"""Settings, read from the environment with the prefix ``HAZARD_`` (e.g. ``HAZARD_DATABASE_URL``).

Defaults run the embedded setup: SQLite in ``instance/``, photos under ``uploads/``, background work
in-process. Values in the environment are parsed as JSON where they can be (numbers, booleans).
"""

from __future__ import annotations

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

# A key that is public on purpose: it only marks "no key configured". Issue on accounts makes the
# app refuse to start with it outside debug and testing.
DEFAULT_SECRET_KEY = "dev-only-insecure-key"


class Config:
    """Defaults for the embedded, single-machine setup."""

    SECRET_KEY = DEFAULT_SECRET_KEY
    DATABASE_URL = f"sqlite:///{BASE_DIR / 'instance' / 'hazard_reporter.db'}"

    STORAGE = "local"  # local | s3 | memory
    UPLOAD_DIR = str(BASE_DIR / "uploads")
    S3_BUCKET = "hazard-reporter"
    S3_ENDPOINT_URL: str | None = None
    S3_REGION = "us-east-1"
    S3_PRESIGN_SECONDS = 900

    TASK_RUNNER = (
        "inline"  # inline: background work runs in this process after the response is ready
    )

    MAX_PHOTO_BYTES = 25 * 1024 * 1024
    MAX_PHOTOS = 6
    MAX_PHOTO_PIXELS = (
        120_000_000  # covers 108 MP phones; a 200 MP photo is refused with a clear 413
    )
    DISPLAY_PX = 1600
    THUMBNAIL_PX = 400

    LOCATION_MISMATCH_M = 500
    STALE_PHOTO_DAYS = 7
    LOCAL_TIMEZONE = "Asia/Shanghai"  # camera clocks without an offset are read in this zone
    ORPHAN_GRACE_SECONDS = 3600

    PAGE_SIZE = 20
    MAX_PAGE_SIZE = 100

    # flask-smorest / OpenAPI
    API_TITLE = "hazard_reporter 隐患随手拍 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui/"


class TestConfig(Config):
    """Settings the test-suite passes to the factory (it overrides storage and paths per test)."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    DATABASE_URL = "sqlite://"
    STORAGE = "memory"
