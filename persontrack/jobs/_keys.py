"""The access keys ``persontrack serve`` accepts: from the environment, an AWS
shared-credentials file, or one generated into the data dir (mode 0600), and the lines the
server prints about them when it starts."""

from __future__ import annotations

import configparser
import os
import secrets
import stat
import string
import sys
from collections.abc import Mapping
from pathlib import Path

from ..errors import InvalidParameterException

__all__ = ["CREDENTIALS_FILE", "PROFILE", "announce", "load_access_keys"]

CREDENTIALS_FILE = "credentials"
"""Name of the generated key file in the data dir (AWS shared-credentials INI format)."""
PROFILE = "persontrack"
"""Section (AWS profile) name of the generated key."""


_KEY_CHARS = string.ascii_uppercase + string.digits


def _read_key_file(path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise InvalidParameterException(f"cannot read credentials file {path}: {e}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidParameterException(
            f"credentials file {path} is readable by other users (mode {stat.filemode(mode)}); "
            f"run `chmod 600 {path}`"
        )
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as e:
        raise InvalidParameterException(f"credentials file {path} is not valid: {e}") from e
    keys = {}
    for section in parser.sections():
        key_id = parser[section].get("aws_access_key_id", "").strip()
        secret = parser[section].get("aws_secret_access_key", "").strip()
        if not key_id or not secret:
            raise InvalidParameterException(
                f"credentials file {path}: [{section}] needs aws_access_key_id and "
                "aws_secret_access_key"
            )
        keys[_checked_key_id(key_id, str(path))] = secret
    if not keys:
        raise InvalidParameterException(f"credentials file {path} holds no keys")
    return keys


def _checked_key_id(key_id: str, where: str) -> str:
    if not (key_id.isascii() and key_id.isalnum() and 3 <= len(key_id) <= 128):
        raise InvalidParameterException(
            f"{where}: an access key id is 3-128 ASCII letters and digits, got {key_id[:40]!r}"
        )
    return key_id


def _generate(path: Path) -> dict[str, str]:
    key_id = "PT" + "".join(secrets.choice(_KEY_CHARS) for _ in range(18))
    secret = secrets.token_urlsafe(30)
    text = (
        "# Access keys accepted by `persontrack serve` (AWS shared-credentials format).\n"
        "# Add sections to accept more keys; keep this file private (mode 0600).\n"
        f"[{PROFILE}]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return {key_id: secret}


def load_access_keys(
    data_dir: str | os.PathLike[str],
    *,
    credentials_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], Path | None, bool]:
    """The access keys the server accepts, from the environment, a file or the data dir.

    ``PERSONTRACK_ACCESS_KEY_ID`` / ``PERSONTRACK_SECRET_ACCESS_KEY`` give one key;
    ``credentials_file`` (or ``$PERSONTRACK_CREDENTIALS_FILE``) gives any number, in the
    AWS shared-credentials format (one ``[section]`` per key with ``aws_access_key_id`` and
    ``aws_secret_access_key``). With neither, ``data_dir/credentials`` is used, and
    generated (mode 0600, one key in section ``[persontrack]``) when missing.

    Returns
    -------
    (dict, Path or None, bool)
        Secret by key id, the file read (if any), and whether it was just generated.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> keys, path, new = load_access_keys(d, environ={})
    >>> new, path.name, oct(path.stat().st_mode & 0o777), len(keys)
    (True, 'credentials', '0o600', 1)
    >>> load_access_keys(d, environ={})[0] == keys
    True
    """
    env = os.environ if environ is None else environ
    keys: dict[str, str] = {}
    key_id = env.get("PERSONTRACK_ACCESS_KEY_ID", "")
    secret = env.get("PERSONTRACK_SECRET_ACCESS_KEY", "")
    if bool(key_id) != bool(secret):
        raise InvalidParameterException(
            "set both PERSONTRACK_ACCESS_KEY_ID and PERSONTRACK_SECRET_ACCESS_KEY, or neither"
        )
    if key_id:
        keys[_checked_key_id(key_id, "PERSONTRACK_ACCESS_KEY_ID")] = secret
    file = credentials_file or env.get("PERSONTRACK_CREDENTIALS_FILE") or None
    if file:
        path = Path(file).expanduser()
        keys.update(_read_key_file(path))
        return keys, path, False
    if keys:
        return keys, None, False
    path = Path(data_dir).expanduser() / CREDENTIALS_FILE
    if path.exists():
        return _read_key_file(path), path, False
    return _generate(path), path, True


def announce(url: str, keys_path: Path | None, generated: bool, key_ids: list[str]) -> None:
    """Print where the service listens and how to reach it (stdout: the URL line first)."""
    print(f"persontrack serve: listening on {url}", flush=True)
    err = sys.stderr
    if generated and keys_path is not None:
        print(
            f"persontrack serve: no access keys were configured; generated key {key_ids[0]} "
            f"into {keys_path} (mode 0600).",
            file=err,
        )
    where = f" from {keys_path}" if keys_path else " from PERSONTRACK_ACCESS_KEY_ID"
    print(f"persontrack serve: accepting {len(key_ids)} access key(s){where}.", file=err)
    if keys_path is not None:
        print(
            "  Use it with any AWS SDK or the AWS CLI, e.g.\n"
            f"    AWS_SHARED_CREDENTIALS_FILE={keys_path} AWS_PROFILE={PROFILE} \\\n"
            f"      aws rekognition get-person-tracking --endpoint-url {url} "
            "--region us-east-1 --job-id JOB_ID\n"
            f'    boto3.Session(profile_name="{PROFILE}").client("rekognition", '
            f'endpoint_url="{url}", region_name="us-east-1")  # with that environment',
            file=err,
            flush=True,
        )
