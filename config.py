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

    # production refuses the default secret key; `make run` sets HAZARD_ENV=development.
    ENV = "production"
    SECRET_KEY = DEFAULT_SECRET_KEY
    DATABASE_URL = f"sqlite:///{BASE_DIR / 'instance' / 'hazard_reporter.db'}"

    STORAGE = "local"  # local | s3 | memory
    UPLOAD_DIR = str(BASE_DIR / "uploads")
    S3_BUCKET = "hazard-reporter"
    S3_ENDPOINT_URL: str | None = None
    S3_PUBLIC_ENDPOINT_URL: str | None = None  # for phones' links and uploads (default: the same)
    S3_ADDRESSING_STYLE = "auto"  # auto | path | virtual (Aliyun OSS, COS buckets since 2024)
    S3_REGION = "us-east-1"
    S3_PRESIGN_SECONDS = 900

    # inline: background work runs in this process (renditions right after the commit; the
    # outbox, escalation and missed renditions in a loop of the serving process).
    # celery: a Celery queue on Redis; `celery -A worker worker` and `celery -A worker beat` run it.
    TASK_RUNNER = "inline"
    BACKGROUND_SECONDS = 15  # how often that loop runs, or beat sends due deliveries (0: off)
    CELERY_BROKER_URL = "redis://127.0.0.1:6379/1"
    CELERY_QUEUE = "hazard"
    # A task not acknowledged this long after delivery (its worker died) goes to another worker.
    CELERY_VISIBILITY_SECONDS = 1800
    CELERY_BEAT_SCHEDULE_FILE = str(BASE_DIR / "instance" / "celerybeat-schedule")
    ESCALATE_SECONDS = 60  # beat: overdue reports escalate
    DUTY_CHECK_SECONDS = 60  # beat: the duty report goes out once the day's window closes
    RENDITION_SWEEP_SECONDS = 300  # beat: photos still without renditions are queued again...
    RENDITION_SWEEP_GRACE_SECONDS = 600  # ...once they are this old (their task may be lost)

    MAX_PHOTO_BYTES = 25 * 1024 * 1024
    # Decode every photo in the request (a damaged one is refused at once with 422)? None: only
    # with the inline runner; with a queue the request checks headers and the file's end, and the
    # worker that makes the renditions finds damage inside the image data (status "failed").
    INTAKE_DECODE: bool | None = None
    MAX_PHOTOS = 6
    # Covers 108 MP phones; a 200 MP photo is refused with a clear 413.
    MAX_PHOTO_PIXELS = 120_000_000
    DISPLAY_PX = 1600
    THUMBNAIL_PX = 400

    LOCATION_MISMATCH_M = 500
    STALE_PHOTO_DAYS = 7
    FRAUD_BURST_PER_HOUR = 10  # reports from one account in an hour before "burst" is flagged
    DUPLICATE_SUGGEST_RADIUS_M = 250  # the worker is asked "is this the same hazard?" within this
    DUPLICATE_ME_TOO_RADIUS_M = 1000  # "me too" joins a report at most this far away
    DUPLICATE_DAYS = 30
    DUPLICATE_MIN_SIMILARITY = 0.75  # photo likeness (perceptual hash) needed for a suggestion
    NEAR_DUPLICATE_DISTANCE = 6  # perceptual-hash bits within which two photos count as the same
    LOCAL_TIMEZONE = "Asia/Shanghai"  # camera clocks without an offset are read in this zone
    ORPHAN_GRACE_SECONDS = 3600
    # Direct uploads (S3): a presigned POST lasts S3_PRESIGN_SECONDS; an upload no report claims
    # within UPLOAD_KEEP_HOURS is removed (a phone may upload, go offline, and report later).
    UPLOAD_KEEP_HOURS = 72
    UPLOAD_SWEEP_SECONDS = 3600  # beat or the loop: how often unclaimed uploads are removed

    # Sign-in: short-lived access tokens, rotating refresh tokens, browser session cookies.
    ACCESS_TOKEN_SECONDS = 900
    REFRESH_TOKEN_DAYS = 30
    WEB_SESSION_HOURS = 12
    PHOTO_LINK_SECONDS = 86400  # signed links to photo renditions in API answers
    CORS_ORIGINS: list[str] = []  # e.g. ["https://report.example.org"]
    PROXY_FIX_HOPS = 0  # proxies in front (nginx: 1) whose X-Forwarded-* headers are trusted

    # Abuse limits (flask-limiter); HAZARD_RATELIMIT_ENABLED=false turns them off for load tests.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"  # redis://127.0.0.1:6379/0 to share across workers
    RATELIMIT_KEY_PREFIX = "hazard"
    # Off: flask-limiter would put Retry-After on every answer; a 429 sets its own.
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    SUBMIT_LIMIT_CLIENT = "30 per minute;300 per hour"  # a factory's workers may share one address
    SUBMIT_LIMIT_ACCOUNT = "10 per minute;60 per hour"
    UPLOAD_LIMIT_CLIENT = "180 per minute;1800 per hour"  # direct uploads: up to 6 per report
    LOGIN_LIMIT_CLIENT = "30 per minute"
    LOGIN_LIMIT_PHONE = "5 per minute;20 per hour"

    # Triage, forwarding and deadlines.
    TRIAGE_RULES_FILE: str | None = None  # None: the rules shipped in hazard_reporter/triage
    PUBLIC_URL = "http://127.0.0.1:5000"  # where units' signed links point
    UNIT_LINK_DAYS = 90
    ACKNOWLEDGE_HOURS: dict[str, float] = {}  # per colour, over the defaults (red 1, orange 4 …)
    RECTIFY_HOURS: dict[str, float] = {}  # per colour, over the defaults (red 24, orange 72 …)

    # Outbox deliveries (webhook, e-mail, WeCom, DingTalk) and their SMTP server.
    DELIVERY_MAX_ATTEMPTS = 12
    DELIVERY_RETRY_HOURS = 72  # a delivery is dead only after the attempts AND this long
    DELIVERY_BACKOFF_SECONDS = 30
    DELIVERY_BACKOFF_CAP_SECONDS = 3600
    DELIVERY_LEASE_SECONDS = 300  # a send in progress is retried by another worker after this
    SMTP_HOST = "127.0.0.1"
    SMTP_PORT = 25
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_FROM = "hazard-reporter@localhost"
    SMTP_STARTTLS = False
    SMTP_SSL = False  # implicit TLS on port 465

    # The report page's pin map: no tiles (and no request off the app's origin) unless an operator
    # sets a tile URL template (its origin is then added to the pages' CSP img-src). The pin is in
    # WGS-84: use a WGS-84 tile server. GCJ-02 tiles (AMap, Tencent) would show it a few hundred
    # metres off the roads until the page converts between the two (not done yet).
    MAP_TILE_URL: str | None = None
    MAP_TILE_SUBDOMAINS = "abc"  # Leaflet's {s} values; AMap's webrd0{s} needs "1234"
    MAP_TILE_ATTRIBUTION = ""

    CERTIFICATE_ISSUER = "四川省总工会"  # printed on commendation certificates

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
    ENV = "testing"
    SECRET_KEY = "test-secret-key"
    RATELIMIT_ENABLED = False
    DATABASE_URL = "sqlite://"
    STORAGE = "memory"
