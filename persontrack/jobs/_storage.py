"""Where videos come from: local folders as buckets, or S3 (and S3-compatible servers).

``LocalBuckets(root)``: bucket ``B`` is the folder ``root/B`` and object ``N`` the file
``root/B/N``. Names are checked so that no request reaches outside ``root`` (``..``,
absolute names, symlinks that leave the root) when the job is started, and the worker
opens the checked file without following links (:func:`open_source`), so swapping the
file or a folder for a symlink in between cannot redirect it.

``S3Storage``: real S3 through boto3; ``endpoint_url`` points it at an S3-compatible
server (MinIO, Ceph, moto); ``Version`` becomes ``VersionId``.

Both check Rekognition's limits before a job is accepted: more than 10 GB, or (when the
duration can be read without downloading) more than 6 hours, is VideoTooLargeException;
so are local videos whose frames are over the reader's limit
(:data:`persontrack.io.video.MAX_FRAME_PIXELS`).

Examples
--------
>>> import tempfile, pathlib
>>> from persontrack.jobs._storage import LocalBuckets
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "videos").mkdir(); _ = (root / "videos" / "a.mp4").write_bytes(b"x")
>>> LocalBuckets(root).locate({"Bucket": "videos", "Name": "a.mp4"})["size"]
1
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import (
    AccessDeniedException,
    InternalServerError,
    InvalidParameterException,
    InvalidS3ObjectException,
    VideoTooLargeException,
)
from ..io.video import FrameTooLargeError, probe_duration
from ..io.video import check_frame_size as _readers_check

MAX_VIDEO_BYTES = 10 * 1024**3
"""Rekognition Video's size limit for stored videos (10 GB)."""
MAX_VIDEO_SECONDS = 6 * 3600
"""Rekognition Video's duration limit (6 hours)."""

# A local bucket is a single folder name (S3 rules for bucket names, loosened to the model's
# character set so upper case and '_' folders work).
_BUCKET = re.compile(r"[0-9A-Za-z._-]{3,255}", re.ASCII)


def probe_frame_size(path: Path) -> tuple[int, int] | None:
    """The first video stream's ``(width, height)`` from the header, or None."""
    try:
        import av

        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            ctx = container.streams.video[0].codec_context
            return int(ctx.width), int(ctx.height)
    except Exception:  # unreadable videos are reported by the job, not at start
        return None


def check_frame_size(frame: tuple[int, int] | None, *, name: str) -> None:
    """Raise VideoTooLargeException for frames over the reader's limits (8K UHD)."""
    if frame is None:
        return
    try:
        _readers_check(*frame)
    except FrameTooLargeError as exc:
        raise VideoTooLargeException(f"{name}: {exc}", "StartPersonTracking") from None


def check_limits(size: int, duration: float | None, *, name: str) -> None:
    """Raise VideoTooLargeException when the video is over Rekognition's limits."""
    if size > MAX_VIDEO_BYTES:
        raise VideoTooLargeException(
            f"{name} is {size / 1024**3:.2f} GB; the limit is {MAX_VIDEO_BYTES / 1024**3:g} GB",
            "StartPersonTracking",
        )
    if duration is not None and duration > MAX_VIDEO_SECONDS:
        raise VideoTooLargeException(
            f"{name} lasts {duration / 3600:.2f} h; the limit is {MAX_VIDEO_SECONDS / 3600:g} h",
            "StartPersonTracking",
        )


class LocalBuckets:
    """Buckets as sub-folders of ``root``.

    Parameters
    ----------
    root : str or Path
        The folder whose sub-folders are the buckets.
    """

    kind = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def resolve(self, s3_object: dict[str, Any]) -> Path:
        """The file behind ``{"Bucket", "Name"}``, checked to exist inside the root."""
        bucket, name = s3_object["Bucket"], s3_object["Name"]
        if not _BUCKET.fullmatch(bucket) or bucket.strip(".") != bucket or ".." in bucket:
            raise InvalidParameterException(
                f"Bucket {bucket!r} is not a valid local bucket name (a folder name of "
                "3-255 letters, digits, '.', '-' or '_')",
                "StartPersonTracking",
            )
        pure = PurePosixPath(name)
        if (
            "\x00" in name
            or "\\" in name
            or pure.is_absolute()
            or any(part in ("..", ".") for part in name.split("/"))
            or not pure.parts
        ):
            raise InvalidParameterException(
                f"Name {name!r} is not a valid object name for local storage (relative, "
                "'/'-separated, without '.' or '..' segments)",
                "StartPersonTracking",
            )
        if "Version" in s3_object:
            raise InvalidS3ObjectException(
                f"version {s3_object['Version']!r} of s3://{bucket}/{name} not found: local "
                "buckets keep one version per object",
                "StartPersonTracking",
            )
        bucket_dir = self.root / bucket
        if not bucket_dir.is_dir():
            raise InvalidS3ObjectException(
                f"bucket {bucket!r} does not exist (no folder {bucket_dir})", "StartPersonTracking"
            )
        path = bucket_dir.joinpath(*pure.parts)
        try:
            real = path.resolve(strict=True)
        except FileNotFoundError:
            raise InvalidS3ObjectException(
                f"object s3://{bucket}/{name} does not exist (no file {path})",
                "StartPersonTracking",
            ) from None
        except (OSError, RuntimeError) as exc:
            raise InvalidS3ObjectException(
                f"object s3://{bucket}/{name} cannot be read: {exc}", "StartPersonTracking"
            ) from None
        if not real.is_relative_to(self.root):
            raise AccessDeniedException(
                f"s3://{bucket}/{name} points outside the bucket root {self.root}",
                "StartPersonTracking",
            )
        if not real.is_file():
            raise InvalidS3ObjectException(
                f"object s3://{bucket}/{name} is not a file", "StartPersonTracking"
            )
        if not os.access(real, os.R_OK):
            raise AccessDeniedException(
                f"no permission to read s3://{bucket}/{name}", "StartPersonTracking"
            )
        return real

    def locate(self, s3_object: dict[str, Any]) -> dict[str, Any]:
        """Check the object and the limits; return the source description a worker reads."""
        path = self.resolve(s3_object)
        size = path.stat().st_size
        name = f"s3://{s3_object['Bucket']}/{s3_object['Name']}"
        check_limits(size, None, name=name)  # before opening a file that may be huge
        check_limits(size, probe_duration(path), name=name)
        check_frame_size(probe_frame_size(path), name=name)
        return {"kind": "local", "path": str(path), "root": str(self.root), "size": size}


class S3Storage:
    """Videos in S3 or an S3-compatible server, read through boto3.

    Parameters
    ----------
    endpoint_url : str, optional
        An S3-compatible server, e.g. ``"http://127.0.0.1:9000"``.
    region_name : str, optional
        The AWS region of the buckets.
    """

    kind = "s3"

    def __init__(self, endpoint_url: str | None = None, region_name: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.region_name = region_name

    def _client(self) -> Any:
        return s3_client(self.endpoint_url, self.region_name)

    def locate(self, s3_object: dict[str, Any]) -> dict[str, Any]:
        """HEAD the object, check the size limit, and return the source description."""
        from botocore.exceptions import BotoCoreError, ClientError

        args = {"Bucket": s3_object["Bucket"], "Key": s3_object["Name"]}
        if "Version" in s3_object:
            args["VersionId"] = s3_object["Version"]
        where = f"s3://{args['Bucket']}/{args['Key']}"
        try:
            head = self._client().head_object(**args)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("403", "AccessDenied", "Forbidden") or status == 403:
                raise AccessDeniedException(
                    f"access to {where} denied", "StartPersonTracking"
                ) from None
            raise InvalidS3ObjectException(
                f"cannot read {where}"
                + (f" version {s3_object['Version']}" if "Version" in s3_object else "")
                + f": {code or exc}",
                "StartPersonTracking",
            ) from None
        except BotoCoreError as exc:
            raise InvalidS3ObjectException(
                f"cannot reach {where}: {exc}", "StartPersonTracking"
            ) from None
        size = int(head.get("ContentLength", 0))
        check_limits(size, None, name=where)
        return {
            "kind": "s3",
            "bucket": args["Bucket"],
            "key": args["Key"],
            "version_id": args.get("VersionId"),
            "endpoint_url": self.endpoint_url,
            "region_name": self.region_name,
            "size": size,
        }


def s3_client(endpoint_url: str | None, region_name: str | None) -> Any:
    """A boto3 S3 client for the given endpoint."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name)


def open_local(path: str | Path, root: str | Path | None = None) -> int:
    """Open the checked file ``path`` for reading so that nothing can redirect it.

    Every component of the (absolute, already resolved) path is opened relative to its
    parent with ``O_NOFOLLOW``, so a file or folder replaced by a symbolic link after
    StartPersonTracking checked it is refused instead of followed; special files (FIFOs,
    devices) are refused without blocking. The caller owns the returned descriptor.

    Raises
    ------
    AccessDeniedException
        The path is outside ``root``, a component is now a symbolic link, or the file
        may not be read.
    InvalidS3ObjectException
        The file has disappeared or is not a regular file.
    """
    target = Path(path)
    if not target.is_absolute() or ".." in target.parts:
        raise AccessDeniedException(f"{path} is not an absolute, resolved path")
    if root is not None and not target.is_relative_to(Path(root)):
        raise AccessDeniedException(f"{path} is outside the bucket root {root}")
    parts = target.parts[1:]
    if not parts:
        raise InvalidS3ObjectException(f"the video {path} is not a file")
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
    fd = os.open(target.anchor, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            mode = flags | (os.O_NONBLOCK if last else os.O_DIRECTORY)
            try:
                child = os.open(part, mode, dir_fd=fd)
            except FileNotFoundError:
                raise InvalidS3ObjectException(f"the video {path} has disappeared") from None
            except PermissionError:
                raise AccessDeniedException(f"no permission to read {path}") from None
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise AccessDeniedException(
                        f"{path} was replaced by a symbolic link after the job was started "
                        f"({'/'.join(parts[: i + 1])}); links are not followed when reading"
                    ) from None
                if exc.errno == errno.ENXIO:  # a FIFO without a writer, a socket
                    raise InvalidS3ObjectException(f"the video {path} is not a file") from None
                raise InvalidS3ObjectException(f"cannot open the video {path}: {exc}") from None
            os.close(fd)
            fd = child
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidS3ObjectException(f"the video {path} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def _fd_path(fd: int, name: str, workdir: Path) -> Iterator[Path]:
    """A path that opens the file behind ``fd``, ending in the video's own file name.

    FFmpeg and decord take paths: they get ``workdir/open-PID-FD/NAME``, a link of ours to
    ``/proc/self/fd/FD`` (the file already opened), so messages and the file extension
    still name the user's video.
    """
    for folder in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(folder):
            break
    else:
        raise InternalServerError("no /proc/self/fd or /dev/fd to read an opened video through")
    link_dir = workdir / f"open-{os.getpid()}-{fd}"
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(link_dir, ignore_errors=True)
        link_dir.mkdir()
        link = link_dir / name
        link.symlink_to(f"{folder}/{fd}")
    except OSError:  # a read-only or vanished workdir: read through the descriptor itself
        yield Path(f"{folder}/{fd}")
        return
    try:
        yield link
    finally:
        shutil.rmtree(link_dir, ignore_errors=True)


def file_version(path: str | Path) -> dict[str, int]:
    """What tells one version of a local video from another: inode, size, mtime (not the
    device number, which differs between machines mounting one share).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     sorted(file_version(f.name))
    ['ino', 'mtime_ns', 'size']
    """
    st = os.stat(path)
    return {"ino": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def check_version(path: str | Path, version: dict[str, int], *, name: str) -> None:
    """InvalidS3ObjectException when the file at ``path`` is no longer ``version``.

    A video overwritten while its job runs would give each segment what it read before
    the change, silently partial: the job fails instead, naming the change.
    """
    now = file_version(path)
    if now == version:
        return
    changes = []
    if now["ino"] != version["ino"]:
        changes.append("replaced by another file")
    if now["size"] != version["size"]:
        changes.append(f"size {version['size']} -> {now['size']} bytes")
    if now["mtime_ns"] != version["mtime_ns"]:
        changes.append(f"modified {(now['mtime_ns'] - version['mtime_ns']) / 1e9:+.3f} s later")
    raise InvalidS3ObjectException(
        f"{name} changed while the job read it ({', '.join(changes)}): its results would "
        "mix two versions; start the job again once the file is no longer being written"
    )


@contextlib.contextmanager
def open_source(source: dict[str, Any], workdir: Path) -> Iterator[Path]:
    """Make a source readable as a local file for the duration of the ``with`` block.

    A local file is opened here (see :func:`open_local`) and read through its descriptor
    (``/proc/self/fd/N``, by a link named like the video), so the file read is the one that
    was checked; an S3 object is
    downloaded into ``workdir`` and deleted afterwards. A local source with the ``version``
    its job started on (:func:`file_version`) is checked against it when opened and again
    once the block has read it (:func:`check_version`).
    """
    if source["kind"] == "local":
        version = source.get("version")
        name = str(source.get("name") or source["path"])
        fd = open_local(source["path"], source.get("root"))
        try:
            with _fd_path(fd, Path(source["path"]).name, workdir) as path:
                if version:
                    check_version(path, version, name=name)
                yield path
                if version:
                    check_version(path, version, name=name)
        finally:
            os.close(fd)
        return
    workdir.mkdir(parents=True, exist_ok=True)
    suffix = PurePosixPath(source["key"]).suffix[:16]
    target = workdir / f"download-{os.getpid()}{suffix}"
    extra = {"VersionId": source["version_id"]} if source.get("version_id") else None
    client = s3_client(source.get("endpoint_url"), source.get("region_name"))
    try:
        client.download_file(source["bucket"], source["key"], str(target), ExtraArgs=extra)
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise InvalidS3ObjectException(
            f"cannot download s3://{source['bucket']}/{source['key']}: {exc}"
        ) from None
    try:
        yield target
    finally:
        target.unlink(missing_ok=True)
