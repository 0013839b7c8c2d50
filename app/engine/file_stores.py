"""Where attachments' bytes are kept, each under its SHA-256 (stored once, however often it is attached):
a local directory, the embedded default, or an S3-compatible object store that every node reaches.

Both check on read that the bytes still hash to their name; S3 also checks them on the way in (the
SHA-256 sent with the upload) and on the way out (the checksum the server kept, `ChecksumMode`).
Neither is called inside a database transaction: the network (or a slow disk) must not hold locks.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from pathlib import Path
from typing import Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from app.errors import StorageFault
from app.i18n import _l

log = logging.getLogger(__name__)


class FileStore(Protocol):
    def store(self, content: bytes) -> str:
        """Keep the bytes under their SHA-256; return it."""

    def read(self, sha256: str) -> bytes | None:
        """The bytes stored under `sha256` (None: there are none); StorageFault when they are damaged
        or the store cannot be reached."""

    def check(self) -> None:
        """Raise when the store cannot be used (for the readiness probe)."""


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _damaged(sha256: str) -> StorageFault:
    log.error("stored file %s does not match its checksum", sha256)
    return StorageFault(_l("The stored file is damaged; the administrators must restore it from a backup."))


class LocalFiles:
    """A directory outside the web root: one machine, or a directory every node mounts."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / sha256

    def store(self, content: bytes) -> str:
        sha256 = _digest(content)
        path = self._path(sha256)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_bytes(content)
            partial.replace(path)  # atomic: a reader never sees half a file
        return sha256

    def read(self, sha256: str) -> bytes | None:
        try:
            content = self._path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        if _digest(content) != sha256:
            raise _damaged(sha256)
        return content

    def check(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        probe = self.directory / ".ready"
        probe.write_bytes(b"")
        probe.unlink()


class S3Files:
    """A bucket of an S3-compatible object store (AWS, MinIO, Ceph …), keys `<prefix><sha256>`."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str = "us-east-1",
                 client=None):
        self.bucket, self.prefix = bucket, prefix
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}))

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def store(self, content: bytes) -> str:
        sha256 = _digest(content)
        try:
            if not self._exists(sha256):
                # The server refuses the upload unless the bytes it received hash to this.
                self.client.put_object(Bucket=self.bucket, Key=self._key(sha256), Body=content,
                                       ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode())
        except (BotoCoreError, ClientError) as exc:
            raise _unreachable(exc) from None
        return sha256

    def _exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise

    def read(self, sha256: str) -> bytes | None:
        try:
            # ChecksumMode: botocore checks the body against the checksum the server kept at upload.
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256), ChecksumMode="ENABLED")
            content = answer["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise _unreachable(exc) from None
        except FlexibleChecksumError:
            raise _damaged(sha256) from None
        except BotoCoreError as exc:
            raise _unreachable(exc) from None
        if _digest(content) != sha256:
            raise _damaged(sha256)
        return content

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def _unreachable(exc: Exception) -> StorageFault:
    log.error("the object store failed: %s", exc)
    return StorageFault(_l("The file store cannot be reached. Nothing was saved; please try again later."))


def from_config(config) -> FileStore:
    """The object store when S3_BUCKET is set, else the local directory."""
    if config["S3_BUCKET"]:
        return S3Files(config["S3_BUCKET"], config["S3_PREFIX"], config["S3_ENDPOINT_URL"], config["S3_REGION"])
    return LocalFiles(config["ATTACHMENTS_DIR"])
