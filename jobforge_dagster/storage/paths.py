"""Data paths: a local folder is a `pathlib.Path`; an object-store prefix (`s3://bucket/prefix`) a `upath.UPath`."""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from upath import UPath

#: What a data path is: a local path, or an object-store path (`upath.UPath`).
DataPath = Union[Path, "UPath"]  # noqa: UP007 - a forward reference: upath is imported only when needed
ENDPOINT_ENV = "AWS_ENDPOINT_URL"
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")


def is_url(value: str) -> bool:
    """Whether a configured root names object storage (`s3://...`) rather than a local folder."""
    return "://" in value and not value.startswith("file://")


def is_remote(path: object) -> bool:
    """Whether a data path lives on object storage."""
    return not isinstance(path, os.PathLike) and hasattr(path, "protocol")


def is_s3(value: str) -> bool:
    """Whether a URL is on S3 (or an S3-compatible endpoint), the object storage the AWS variables configure."""
    return value.startswith(("s3://", "s3a://"))


def region_from_env() -> str | None:
    """`$AWS_REGION`, else `$AWS_DEFAULT_REGION`."""
    return next((os.environ[name] for name in REGION_ENVS if os.environ.get(name)), None)


def s3fs_options() -> dict[str, Any]:
    """s3fs's options from the standard AWS variables (so that a filesystem is reused only for the same endpoint
    and credentials); listings are never cached, since other processes write too."""
    options: dict[str, Any] = {"use_listings_cache": False}
    if endpoint := os.environ.get(ENDPOINT_ENV):
        options["endpoint_url"] = endpoint
    if key := os.environ.get("AWS_ACCESS_KEY_ID"):
        options |= {"key": key, "secret": os.environ.get("AWS_SECRET_ACCESS_KEY")}
    if region := region_from_env():
        options["client_kwargs"] = {"region_name": region}
    return options


def as_path(value: str | DataPath) -> DataPath:
    """A configured root or a path as a data path: `UPath` for a URL (listings never cached: other processes write
    too), else a local `Path`; a data path is returned as it is."""
    if not isinstance(value, str):
        return value if is_remote(value) else Path(value)
    if not is_url(value):
        return Path(value)
    try:
        from upath import UPath
    except ImportError as missing:
        extra = "pip install 'jobforge_dagster[s3]'"
        raise ImportError(f"{value}: object storage needs the s3 extra ({extra})") from missing
    return UPath(value.rstrip("/"), **(s3fs_options() if is_s3(value) else {}))


def relative_part(path: DataPath, folder: DataPath) -> str | None:
    """`path` relative to `folder` as a POSIX string, or None when it is not inside it."""
    if is_remote(path) != is_remote(folder):
        return None
    if is_remote(path):
        inner, outer = str(path).rstrip("/"), str(folder).rstrip("/") + "/"
        return inner[len(outer) :] if inner.startswith(outer) else None
    path, folder = Path(path), Path(folder)
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else None
