"""Reading photos and masks into plain arrays; writing images atomically.

Every reader returns RGB uint8 (H, W, 3) or a boolean mask (H, W), whatever the file holds,
and raises `ImageReadError` naming the file and the reason for anything it cannot read.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from crackinspector.core.errors import FileProblem
from crackinspector.core.io.atomic import atomic_write_bytes

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")
Image.MAX_IMAGE_PIXELS = 1_000_000_000  # inspection photos can be huge; 1 gigapixel cap


class ImageReadError(FileProblem):
    """A file that is not a readable image: empty, truncated, corrupt, or another format."""


def _open(path: Path) -> Image.Image:
    """Open and fully decode `path`, or raise ImageReadError saying why not.

    Decoding happens here (not lazily later) so that a truncated or corrupt file fails at
    the read, with its name, instead of deep inside inference or a GUI paint.
    """
    try:
        if not path.exists():
            raise ImageReadError(path, "file not found")
        if path.is_dir():
            raise ImageReadError(path, "is a folder, not an image")
        if path.stat().st_size == 0:
            raise ImageReadError(path, "file is empty (0 bytes)")
    except OSError as exc:  # e.g. a path too long, or a dead network share
        raise ImageReadError(path, f"cannot access file ({exc.strerror or exc})") from None
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Some library switched Pillow to silently grey-fill truncated files; we never want
        # half a photo analysed as if it were whole.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    img = None
    try:
        img = Image.open(path)
        img.load()
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file, or a format that cannot be read") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"image too large ({exc})") from None
    except MemoryError:
        raise ImageReadError(path, "not enough memory to decode this image") from None
    except Exception as exc:  # Pillow's plugins raise OSError, SyntaxError, struct.error, ...
        if img is not None:
            img.close()
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ImageReadError(path, f"corrupt or truncated image ({reason})") from None
    return img


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        top = 65535 if arr.max(initial=0) > 255 else 255
        return (arr.astype(np.float32) * (255.0 / top) + 0.5).astype(np.uint8)
    arr = arr.astype(np.float32)
    if arr.max(initial=0) <= 1.0:
        arr = arr * 255.0
    return np.clip(arr + 0.5, 0, 255).astype(np.uint8)


_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def to_rgb8(img: Image.Image) -> np.ndarray:
    """Any Pillow image as RGB uint8 (H, W, 3): gray, 16-bit, float, palette, alpha, CMYK.

    Transparent pixels are laid on white (how a viewer shows them), so a cut-out crack photo
    does not turn into black background that looks like a crack.
    """
    if img.mode in _SIXTEEN_BIT_MODES:
        arr = np.asarray(img).astype(np.float32) * (255.0 / 65535.0) + 0.5
        return np.repeat(arr.astype(np.uint8)[..., None], 3, axis=2)
    if img.mode in ("I", "F"):
        arr = _to_uint8(np.asarray(img))
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            img.mode == "P" and "transparency" in img.info
        ):
            img = img.convert("RGBA")
            background = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, img)
        elif img.mode == "LAB":
            img = _lab_to_rgb(img)
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _lab_to_rgb(img: Image.Image) -> Image.Image:
    """Pillow cannot `convert` LAB to RGB directly; go through a colour transform."""
    from PIL import ImageCms

    transform = ImageCms.buildTransform(
        ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
    )
    return ImageCms.applyTransform(img, transform)


def read_image(path: str | Path) -> np.ndarray:
    """The photo at `path` as RGB uint8 (H, W, 3), EXIF orientation applied.

    Raises ImageReadError (with the file name and the reason) for anything that is not a
    whole, readable image; never returns a partly decoded photo. The array may be read-only
    (it shares Pillow's buffer, saving a copy of large photos): copy it before drawing on it.
    """
    path = Path(path)
    img = _open(path)
    try:
        try:
            rotated = ImageOps.exif_transpose(img)
        except Exception:  # a broken EXIF block should not lose the photo
            rotated = img
        try:
            return to_rgb8(rotated)
        except MemoryError:
            raise ImageReadError(path, "not enough memory to convert this image") from None
        except Exception as exc:  # exotic modes (LAB without a colour engine, ...)
            raise ImageReadError(path, f"cannot convert {img.mode} image to RGB ({exc})") from None
    finally:
        img.close()


def read_mask(path: str | Path) -> np.ndarray:
    """A label mask as booleans (H, W): any non-zero value (255, 1, a palette index) is crack."""
    path = Path(path)
    img = _open(path)
    try:
        if img.mode == "P":
            arr = np.asarray(img)  # palette indices: 0 is background
        elif img.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
            arr = np.asarray(img.convert("L"))
        else:
            arr = np.asarray(img)
        jpeg = _is_jpeg(img)
    finally:
        img.close()
    if arr.ndim == 3:
        arr = arr.max(axis=2)
    if np.issubdtype(arr.dtype, np.floating):
        return arr > 0.5 * float(arr.max(initial=0) or 1)
    # JPEG masks have ringing around edges: threshold at half instead of "non-zero"
    return arr > (127 if arr.max(initial=0) > 1 and arr.dtype == np.uint8 and jpeg else 0)


def _is_jpeg(img: Image.Image) -> bool:
    return (img.format or "").upper() == "JPEG"


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) without decoding the pixels."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            return img.size
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"not a readable image ({exc})") from None


def find_images(inputs: Iterable[str | Path]) -> list[Path]:
    """Files given directly, plus images found recursively in folders, sorted, no repeats."""
    found: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            candidates = sorted(
                q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in IMAGE_EXTENSIONS
            )
        else:
            candidates = [p]
        for q in candidates:
            key = q.resolve() if q.exists() else q
            if key not in seen:
                seen.add(key)
                found.append(q)
    return found


def encode_image(array: np.ndarray, suffix: str, quality: int = 92) -> bytes:
    """PNG (8 or 16 bit, gray or RGB) or JPEG bytes of an array."""
    suffix = suffix.lower()
    buf = io.BytesIO()
    if array.dtype == np.uint16:
        if suffix != ".png":
            raise ValueError("16-bit images can only be written as PNG")
        if array.ndim != 2:
            raise ValueError("16-bit images must be single-channel (H, W)")
        Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG")
    else:
        img = Image.fromarray(_to_uint8(array))
        if suffix in (".jpg", ".jpeg"):
            img.convert("RGB").save(buf, format="JPEG", quality=quality)
        elif suffix == ".png":
            img.save(buf, format="PNG", compress_level=3)
        elif suffix in (".tif", ".tiff"):
            img.save(buf, format="TIFF")
        elif suffix == ".webp":
            img.save(buf, format="WEBP", quality=quality)
        else:
            raise ValueError(f"cannot write images with extension {suffix!r}")
    return buf.getvalue()


def write_image(path: str | Path, array: np.ndarray, quality: int = 92) -> None:
    """Write an array as an image file, atomically; the format follows the extension."""
    path = Path(path)
    atomic_write_bytes(path, encode_image(array, path.suffix, quality))
