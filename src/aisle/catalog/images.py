"""Image verification: every image a product names must exist and decode completely."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

# Small thumbnails are enough to prove a JPEG decodes: draft mode decodes at 1/8 scale yet still reads
# every entropy-coded byte, so a truncated file still fails.
_DRAFT_SIZE = (32, 32)
# A file that starts like an image but cannot be parsed is a broken image, not some other kind of file.
_IMAGE_MAGIC = (b"\xff\xd8", b"\x89PNG", b"GIF8", b"RIFF", b"BM", b"II*\x00", b"MM\x00*")


@dataclass(frozen=True, slots=True)
class ImageCheck:
    problem: str | None  # the quarantine reason, None for a good image
    digest: str | None = None  # content hash of a readable file, to spot the same photo under two ids


def is_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


def check_image(path: Path) -> ImageCheck:
    """Read `path` once: hash it and decode it completely."""
    try:
        data = path.read_bytes()
    except OSError:
        return ImageCheck("image_missing")
    if not data:
        return ImageCheck("image_empty")
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", _DRAFT_SIZE)
            im.load()
    except UnidentifiedImageError:
        return ImageCheck("image_corrupt" if data.startswith(_IMAGE_MAGIC) else "image_not_an_image", digest)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return ImageCheck("image_corrupt", digest)
    return ImageCheck(None, digest)


def image_problem(path: Path) -> str | None:
    """None when `path` is a complete, decodable image, else the quarantine reason."""
    return check_image(path).problem


def check_images(paths: Iterable[Path], workers: int = 4) -> list[ImageCheck]:
    """`check_image` for many files, in worker processes (threads gain little: the GIL binds)."""
    items = list(paths)
    if workers <= 1 or len(items) < 256:
        return [check_image(p) for p in items]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(check_image, items, chunksize=max(16, len(items) // (workers * 8))))
