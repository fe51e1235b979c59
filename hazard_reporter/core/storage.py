"""Where photo bytes live, behind one small interface.

A backend stores opaque keys such as ``originals/2026/11/28/<uuid>.jpg``:

- ``put(key, fp, content_type)`` stores durably and returns only once the bytes are safe;
- ``open(key)`` returns a readable binary file; ``read(key)`` its bytes;
- ``delete(key)`` removes (missing keys are fine); ``exists(key)``;
- ``list(prefix)`` yields ``StoredObject(key, size, modified)``; ``modified(key)`` one's time;
- ``url(key, seconds)`` a direct, time-limited URL where the backend has one (S3), else ``None``;
- ``incoming_file(prefix)`` a new ``IncomingFile`` to receive an upload in that will be stored
  under ``prefix``: it is hashed as it is written, and the local backend's ``put`` keeps it by
  renaming it rather than by copying it.

Every failure of the medium (endpoint down, I/O error) is raised as ``StorageUnavailable``, and a
full medium as its subclass ``StorageFull``, so the request that caused it answers 503 with
``Retry-After`` and keeps nothing half-made.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from hazard_reporter.errors import StorageFull, StorageUnavailable

log = logging.getLogger(__name__)

# Segments of letters, digits, ".", "_" and "-" (a leading dot only for the local backend's
# half-written ".incoming-" temporaries, which the orphan clean-up must be able to remove).
KEY_PATTERN = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9._-]*(/[A-Za-z0-9.][A-Za-z0-9._-]*)*$")
RETRY_AFTER_SECONDS = 30
# A full disk waits for an operator, not for a restart: clients need not come back as soon.
FULL_RETRY_AFTER_SECONDS = 300
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# MinIO answers 507 XMinioStorageFull when its drives are full.
FULL_S3_CODES = frozenset({"XMinioStorageFull", "InsufficientStorage"})
CHUNK = 1024 * 1024
# fsync releases the GIL: an upload's bytes are written to the disk by one of these threads while
# the request goes on checking the photo and preparing the report (``IncomingFile.sync_soon``).
_SYNCING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fsync")


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime


def medium_error(exc: OSError, where: str) -> StorageUnavailable:
    """The error to raise for a failure of the medium at ``where``."""
    # ENOSPC may come from write() or only from fsync() (delayed allocation, NFS).
    return full(where) if exc.errno in NO_SPACE_ERRNOS else unavailable()


class IncomingFile(io.BufferedRandom):
    """A temporary file an upload is spooled into, hashed (sha256) as it is written so that the
    hash needs no second pass over the bytes. One with a ``path`` (on the local backend's disk)
    may be moved into place by that backend's ``put``; ``close()`` removes it otherwise, and
    failures to write it are the storage's (``StorageFull``, ``StorageUnavailable``).

    Only bytes written in one run from the start are hashed: a write after a seek or a truncate
    forgets the hash (``sha256`` is then None, and the caller hashes the file itself)."""

    def __init__(self, raw: io.FileIO, path: str | None = None):
        super().__init__(raw)
        self.path = path
        self._digest = hashlib.sha256()
        self._appending = True  # no seek yet: every write continues the previous one
        self._syncing: Future | None = None
        self._written_since_sync = False

    @classmethod
    def anonymous(cls) -> IncomingFile:
        """One without a name, gone once closed."""
        return cls(tempfile.TemporaryFile(buffering=0))

    @classmethod
    def create_in(cls, directory: str | os.PathLike) -> IncomingFile:
        """One named ``.incoming-*`` in ``directory``, which must exist."""
        try:
            fd, path = tempfile.mkstemp(dir=directory, prefix=".incoming-")
        except OSError as exc:
            raise medium_error(exc, str(directory)) from exc
        try:
            return cls(io.FileIO(fd, "r+"), path)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise

    @contextlib.contextmanager
    def _medium(self):
        try:
            yield
        except OSError as exc:
            if self.path is None:
                raise
            raise medium_error(exc, os.path.dirname(self.path)) from exc

    def write(self, data) -> int:
        self._written_since_sync = True
        if self._digest is not None:
            if self._appending:
                self._digest.update(data)
            else:
                self._digest = None
        with self._medium():
            return super().write(data)

    def flush(self) -> None:
        with self._medium():
            super().flush()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._appending = False
        with self._medium():  # writes still buffered are made now
            return super().seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        self._digest = None
        self._written_since_sync = True
        return super().truncate(size)

    @property
    def sha256(self) -> str | None:
        """The hex sha256 of the file's bytes, when each of them was hashed on its way in."""
        return None if self._digest is None else self._digest.hexdigest()

    def sync_soon(self) -> None:
        """Start writing what was written so far to the disk (fsync) in a background thread, so
        that the ``put`` that keeps this file need hardly wait. Only for a file with a name: an
        anonymous one is copied, not kept."""
        if self.path is None or self._syncing is not None:
            return
        with self._medium():
            self.flush()
        self._written_since_sync = False
        self._syncing = _SYNCING.submit(os.fsync, self.fileno())

    def synced(self) -> bool:
        """Wait for the fsync ``sync_soon`` started; whether it made every byte written durable
        (False: none was started, or bytes came after it). Its failure is raised here, as the
        medium's: Linux reports a failed write-back to one fsync only, so another fsync now
        could succeed over the lost bytes."""
        if self._syncing is None:
            return False
        syncing, self._syncing = self._syncing, None
        with self._medium():
            syncing.result()
        return not self._written_since_sync

    def wait_synced(self) -> None:
        """Wait for the fsync ``sync_soon`` started, if any, whatever its outcome."""
        with contextlib.suppress(OSError, StorageUnavailable):
            self.synced()

    def take_path(self) -> str | None:
        """The file's name, for whoever moves the file: ``close()`` then leaves it alone."""
        path, self.path = self.path, None
        return path

    def close(self) -> None:
        self.wait_synced()  # not closing the descriptor under a running fsync
        try:
            with contextlib.suppress(OSError, StorageUnavailable):
                super().close()  # a buffered write that fails now is of no use to anyone
        finally:
            if self.path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
                self.path = None


def check_key(key: str) -> str:
    """Refuse keys that could leave the storage root (``..``, absolute paths, odd characters)."""
    if not KEY_PATTERN.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def unavailable() -> StorageUnavailable:
    return StorageUnavailable(retry_after=RETRY_AFTER_SECONDS)


def full(where: str) -> StorageFull:
    """The error for a medium with no space left; logged as an error, since people must act."""
    log.error("photo storage is full (%s): reports are refused until space is freed", where)
    return StorageFull(retry_after=FULL_RETRY_AFTER_SECONDS)


class Storage(ABC):
    """The interface every backend implements."""

    name: str

    @abstractmethod
    def put(self, key: str, fp: BinaryIO, content_type: str) -> None: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[StoredObject]: ...

    def modified(self, key: str) -> datetime:
        """When ``key`` was stored (UTC); FileNotFoundError if it is not."""
        for item in self.list(key):
            if item.key == key:
                return item.modified
        raise FileNotFoundError(key)

    def url(self, key: str, seconds: int) -> str | None:
        """A direct URL for ``key`` valid ``seconds``, or None to stream it through the app."""
        return None

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, seconds: int
    ) -> dict | None:
        """A form (``url`` and ``fields``) a client POSTs one file of ``content_type`` and at
        most ``max_bytes`` to, straight into ``key``; None where clients cannot upload directly."""
        return None

    def incoming_file(self, prefix: str) -> IncomingFile:
        """A temporary file to receive an upload that will be stored under ``prefix``."""
        return IncomingFile.anonymous()

    def read(self, key: str) -> bytes:
        """The whole object's bytes."""
        with self.open(key) as fp:
            return fp.read()

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``."""
        self.put(key, io.BytesIO(data), content_type)


class LocalStorage(Storage):
    """Files under one root directory, written atomically and fsynced."""

    name = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        # A checked key has no "..", no leading "/" and no odd characters, so the path is under
        # the root as written; it is not resolved (an lstat per folder, twice per report), which
        # also lets an operator link a folder of old years to another disk.
        return self.root / check_key(key)

    def incoming_file(self, prefix: str) -> IncomingFile:
        """A named file in the folder of ``prefix``, on the same disk as the stored files, so that
        ``put`` can keep it by renaming it; if a crash leaves it, it is an ``.incoming-`` orphan
        the clean-up command removes."""
        directory = self._path(prefix.strip("/") + "/.incoming").parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise medium_error(exc, str(self.root)) from exc
        return IncomingFile.create_in(directory)

    def _movable(self, fp: BinaryIO) -> str | None:
        """The name of ``fp`` if it is an incoming file of this storage, unread, to be moved."""
        if not isinstance(fp, IncomingFile) or fp.path is None or fp.tell() != 0:
            return None
        return fp.path if os.path.dirname(fp.path).startswith(f"{self.root}{os.sep}") else None

    def put(self, key: str, fp: BinaryIO, content_type: str) -> None:
        path = self._path(key)
        tmp_name, placed = None, False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            incoming = self._movable(fp)
            if incoming is not None:
                # The upload is already on this disk: made durable and renamed, not copied.
                fp.flush()
                if not fp.synced():  # (a background fsync that covered it all is enough)
                    os.fsync(fp.fileno())
                os.replace(incoming, path)
                placed = True
                fp.take_path()
            else:
                with tempfile.NamedTemporaryFile(
                    dir=path.parent, prefix=".incoming-", delete=False
                ) as tmp:
                    tmp_name = tmp.name
                    while chunk := fp.read(CHUNK):
                        tmp.write(chunk)
                    tmp.flush()
                    os.fsync(tmp.fileno())
                os.replace(tmp_name, path)
                tmp_name, placed = None, True
            # The rename itself must survive a power cut before we answer 201.
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            if placed:  # renamed, but not durably: the caller keeps nothing of a failed put
                with contextlib.suppress(OSError):
                    path.unlink()
            raise medium_error(exc, str(self.root)) from exc
        finally:
            if tmp_name:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise unavailable() from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise unavailable() from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def modified(self, key: str) -> datetime:
        try:
            return datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise unavailable() from exc

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        base = self.root / prefix if prefix else self.root
        if not base.exists():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in sorted(files):
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                try:
                    stat = path.stat()
                except FileNotFoundError:  # removed since the folder was read (a failed report)
                    continue
                # Half-written temporaries carry a leading dot; they are listed so that the
                # clean-up command can remove ones left by a crash.
                yield StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))


class MemoryStorage(Storage):
    """A dict, for tests; ``fail`` makes every call raise as a dead medium would."""

    name = "memory"

    def __init__(self):
        self.objects: dict[str, tuple[bytes, str, datetime]] = {}
        self.fail = False
        self._lock = threading.Lock()

    def _check(self):
        if self.fail:
            raise unavailable()

    def put(self, key: str, fp: BinaryIO, content_type: str) -> None:
        self._check()
        data = fp.read()
        with self._lock:
            self.objects[check_key(key)] = (data, content_type, datetime.now(UTC))

    def open(self, key: str) -> BinaryIO:
        self._check()
        try:
            return io.BytesIO(self.objects[key][0])
        except KeyError:
            raise FileNotFoundError(key) from None

    def delete(self, key: str) -> None:
        self._check()
        with self._lock:
            self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        self._check()
        return key in self.objects

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        self._check()
        with self._lock:
            items = sorted(self.objects.items())
        for key, (data, _type, modified) in items:
            if key.startswith(prefix):
                yield StoredObject(key, len(data), modified)


class S3Storage(Storage):
    """An S3 bucket through boto3: AWS, MinIO, Aliyun OSS or Tencent COS by endpoint URL."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        public_endpoint_url: str | None = None,
        addressing_style: str = "auto",
    ):
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        config = BotoConfig(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},  # virtual: Aliyun OSS, newer COS buckets
        )
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )
        # Links and upload forms for phones may need another address than the app's own (an
        # internal, traffic-free endpoint for the app, the public one for phones).
        self.signer = (
            boto3.client("s3", endpoint_url=public_endpoint_url, region_name=region, config=config)
            if public_endpoint_url
            else self.client
        )

    def _call(self, method, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(kwargs.get("Key")) from exc
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in FULL_S3_CODES or status == 507:
                raise full(f"bucket {self.bucket}") from exc
            raise unavailable() from exc
        except BotoCoreError as exc:
            raise unavailable() from exc

    def put(self, key: str, fp: BinaryIO, content_type: str) -> None:
        # PutObject returns only after the store has the whole object: durable enough to answer 201.
        self._call("put_object", Key=check_key(key), Body=fp, ContentType=content_type)

    def open(self, key: str) -> BinaryIO:
        """The object read through into a temporary file (in memory up to 1 MiB, so a 25 MB
        original is not held in a worker's memory): a connection dropped midway is a
        ``StorageUnavailable`` here, not a short read later."""
        from botocore.exceptions import BotoCoreError

        body = self._call("get_object", Key=key)["Body"]
        spooled = tempfile.SpooledTemporaryFile(max_size=CHUNK)  # noqa: SIM115 (returned open)
        try:
            for chunk in body.iter_chunks(CHUNK):
                spooled.write(chunk)
        except (BotoCoreError, OSError) as exc:
            spooled.close()
            raise unavailable() from exc
        finally:
            body.close()
        spooled.seek(0)
        return spooled

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=key)
        except FileNotFoundError:
            return False
        return True

    def modified(self, key: str) -> datetime:
        return self._call("head_object", Key=key)["LastModified"]

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"], item["Size"], item["LastModified"])
        except (BotoCoreError, ClientError) as exc:
            raise unavailable() from exc

    def url(self, key: str, seconds: int) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.signer.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
            )
        except (BotoCoreError, ClientError) as exc:  # no credentials to sign with
            raise unavailable() from exc

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, seconds: int
    ) -> dict | None:
        # The bucket enforces the policy: this key only, this type only, 1 byte to max_bytes.
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.signer.generate_presigned_post(
                Bucket=self.bucket,
                Key=check_key(key),
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, max_bytes],
                ],
                ExpiresIn=seconds,
            )
        except (BotoCoreError, ClientError) as exc:
            raise unavailable() from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (for development and tests)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)


def create_storage(config) -> Storage:
    """The backend named by ``HAZARD_STORAGE``."""
    kind = config.get("STORAGE", "local")
    if kind == "local":
        return LocalStorage(config["UPLOAD_DIR"])
    if kind == "s3":
        return S3Storage(
            config["S3_BUCKET"],
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION", "us-east-1"),
            public_endpoint_url=config.get("S3_PUBLIC_ENDPOINT_URL"),
            addressing_style=config.get("S3_ADDRESSING_STYLE") or "auto",
        )
    if kind == "memory":
        return MemoryStorage()
    raise ValueError(f"HAZARD_STORAGE must be local, s3 or memory, not {kind!r}")
