"""S3 `Storage` backend on boto3: AWS, MinIO, moto or any S3-compatible endpoint (`storage.s3_endpoint_url`).

Every upload carries its SHA-256 checksum (`ChecksumSHA256`, per part for multipart uploads) and
Content-MD5, which S3 verifies before it accepts the bytes; the reply's checksum/ETag is checked against
the bytes sent too (a server that does not verify, like moto, is still caught), and the object keeps the whole file's hex sha256 in its
metadata so `stat` (one HEAD) answers "is the remote copy this file". Downloads are checked against it.
botocore's own retries are off: `with_retries` retries throttling/5xx/dropped connections with bounded,
Retry-After-honouring backoff, the same policy as the other backends, behind the same circuit breaker
(storage/breaker.py): once the endpoint is considered down, calls are refused without network.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from huracan_core import atomic
from huracan_core.config import StorageSettings
from huracan_core.storage.base import RemoteFile, StorageError, TransientStorageError, check_key
from huracan_core.storage.breaker import breaker_for
from huracan_core.storage.retry import with_retries

T = TypeVar("T")
MULTIPART_ABOVE = 8 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024  # S3 parts are at least 5 MiB (except the last)
TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
    "502",
    "504",
    "429",
}


def _b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324 - S3's Content-MD5, not security


def _check_reply(what: str, reply: dict[str, Any], data: bytes) -> None:
    """The server's own view of the bytes it stored must match what was sent: its SHA-256 checksum when
    it echoes one, and the ETag (the MD5 of a plain single PUT or part; not for SSE-KMS objects)."""
    echoed = reply.get("ChecksumSHA256")
    if echoed and echoed != _b64sha(data):
        raise StorageError(f"{what}: S3 stored SHA-256 {echoed}, not the {_b64sha(data)} sent")
    etag = str(reply.get("ETag", "")).strip('"')
    if len(etag) == 32 and "-" not in etag and etag != hashlib.md5(data).hexdigest():  # noqa: S324
        raise StorageError(f"{what}: S3 stored bytes with ETag {etag}, not the MD5 of the bytes sent")


class S3Storage:
    """`Storage` in one bucket; keys are object keys."""

    name = "s3"

    def __init__(self, settings: StorageSettings) -> None:
        import boto3
        from botocore.config import Config

        if not settings.s3_bucket:
            raise StorageError("storage.backend 's3' needs storage.s3_bucket")
        self._settings = settings
        self.bucket = settings.s3_bucket
        self.breaker = breaker_for(settings)  # shared by every Storage of this remote in the process
        self._client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region or "us-east-1",
            aws_access_key_id=settings.s3_access_key_id.get_secret_value()
            if settings.s3_access_key_id
            else None,
            aws_secret_access_key=(
                settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
            ),
            config=Config(
                retries={"total_max_attempts": 1},
                connect_timeout=settings.request_timeout_s,
                read_timeout=settings.request_timeout_s,
                s3={"addressing_style": "path"},
            ),
        )

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r})"

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

        def once() -> T:
            try:
                return fn()
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                meta = exc.response.get("ResponseMetadata", {})
                status = int(meta.get("HTTPStatusCode") or 0)
                if code in TRANSIENT_CODES or status == 429 or status >= 500:
                    after = meta.get("HTTPHeaders", {}).get("retry-after")
                    raise TransientStorageError(
                        f"{what}: S3 {code or status}", float(after) if after and after.isdigit() else None
                    ) from exc
                raise
            except (ConnectionError, HTTPClientError) as exc:
                raise TransientStorageError(
                    f"{what}: connection to S3 failed ({type(exc).__name__})"
                ) from exc
            except BotoCoreError as exc:
                raise StorageError(f"{what}: {exc}") from exc

        return with_retries(
            what,
            once,
            max_retries=self._settings.max_retries,
            max_wait_s=self._settings.max_retry_wait_s,
            breaker=self.breaker,
        )

    @staticmethod
    def _missing(exc: Exception) -> bool:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def hash_file(self, path: Path) -> str:
        return atomic.sha256_file(path)

    def put(self, key: str, source: Path) -> RemoteFile:
        from botocore.exceptions import ClientError

        source = Path(source)
        if not source.is_file():
            raise StorageError(f"cannot upload {source}: not a file")
        key = check_key(key)
        data = source.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        what = f"upload {key} to s3://{self.bucket}"
        try:
            if len(data) <= MULTIPART_ABOVE:
                reply = self._call(
                    what,
                    lambda: self._client.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=data,
                        ContentMD5=_b64md5(data),
                        ChecksumSHA256=_b64sha(data),
                        Metadata={"sha256": digest},
                    ),
                )
                try:
                    _check_reply(what, reply, data)
                except StorageError:
                    # its metadata claims the right sha256: never leave it to pass for a good copy
                    with contextlib.suppress(Exception):
                        self._client.delete_object(Bucket=self.bucket, Key=key)
                    raise
            else:
                self._multipart(what, key, data, digest)
        except ClientError as exc:
            raise StorageError(f"{what}: {exc}") from exc
        stored = self.stat(key)
        if stored is None or stored.hash != digest or stored.size != len(data):
            raise StorageError(f"{what}: the stored object does not match {source} (sha256 {digest[:12]}…)")
        return stored

    def _multipart(self, what: str, key: str, data: bytes, digest: str) -> None:
        upload = self._call(
            what,
            lambda: self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256", Metadata={"sha256": digest}
            ),
        )
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            for number, start in enumerate(range(0, len(data), PART_SIZE), start=1):
                chunk = data[start : start + PART_SIZE]
                checksum = _b64sha(chunk)
                reply = self._call(
                    what,
                    lambda number=number, chunk=chunk, checksum=checksum: self._client.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                        ChecksumAlgorithm="SHA256",
                        ChecksumSHA256=checksum,
                    ),
                )
                _check_reply(f"{what} (part {number})", reply, chunk)
                parts.append({"PartNumber": number, "ETag": reply["ETag"], "ChecksumSHA256": checksum})
            self._call(
                what,
                lambda: self._client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                ),
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the original error is the one to report
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def get(self, key: str, dest: Path) -> bool:
        from botocore.exceptions import ClientError

        key = check_key(key)
        what = f"download {key} from s3://{self.bucket}"

        def fetch() -> tuple[dict[str, Any], bytes]:
            reply = self._client.get_object(Bucket=self.bucket, Key=key)
            return reply, reply["Body"].read()

        try:
            reply, body = self._call(what, fetch)
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise StorageError(f"{what}: {exc}") from exc
        expected = reply.get("Metadata", {}).get("sha256")
        if expected and hashlib.sha256(body).hexdigest() != expected:
            raise StorageError(f"{what}: the bytes received do not match the object's sha256")
        atomic.write_bytes(Path(dest), body)
        return True

    def stat(self, key: str) -> RemoteFile | None:
        from botocore.exceptions import ClientError

        key = check_key(key)
        try:
            head = self._call(
                f"stat {key} on s3://{self.bucket}",
                lambda: self._client.head_object(Bucket=self.bucket, Key=key),
            )
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise StorageError(f"stat {key} on s3://{self.bucket}: {exc}") from exc
        rev = head.get("VersionId") or str(head.get("ETag", "")).strip('"')
        return RemoteFile(key, int(head["ContentLength"]), head.get("Metadata", {}).get("sha256", ""), rev)

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def delete(self, key: str) -> bool:
        if not self.exists(key):
            return False
        self._call(
            f"delete {key} on s3://{self.bucket}",
            lambda: self._client.delete_object(Bucket=self.bucket, Key=check_key(key)),
        )
        return True

    def make_folder(self, prefix: str) -> None:
        marker = check_key(prefix) + "/"
        self._call(
            f"create folder {prefix} on s3://{self.bucket}",
            lambda: self._client.put_object(Bucket=self.bucket, Key=marker, Body=b""),
        )

    def list(self, prefix: str = "") -> list[str]:
        what = f"list {prefix or '/'} on s3://{self.bucket}"
        base = check_key(prefix) + "/" if prefix else ""
        keys: list[str] = []
        token: str | None = None
        for _ in range(100_000):  # bounded: 1000 keys a page
            args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": base}
            if token:
                args["ContinuationToken"] = token
            page = self._call(what, lambda: self._client.list_objects_v2(**args))  # noqa: B023
            keys += [o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/")]
            if not page.get("IsTruncated"):
                break
            token = page.get("NextContinuationToken")
        return sorted(keys)
