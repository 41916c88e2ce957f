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


class MaskValueError(ImageReadError):
    """A readable image that is not a binary label mask (e.g. values 1 and 128): using it
    would label the wrong pixels, so callers skip it with this reason."""


TRANSPARENT_FILL = (128, 128, 128)  # a wholly transparent image: neutral grey


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

    Transparent pixels take the colour of the nearest opaque pixel (the photo continued
    outwards, as tiles are padded at a photo's edge), semi-transparent ones are blended
    onto that: on black a cut-out photo's border looks like a crack, and on white or any
    flat colour the model finds "cracks" along the edge of the cut-out.
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
            return _flatten_alpha(np.asarray(img.convert("RGBA")))
        elif img.mode == "LAB":
            img = _lab_to_rgb(img)
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """RGB of an RGBA array whose transparent parts continue the nearest opaque pixels."""
    rgb, alpha = rgba[..., :3], rgba[..., 3]
    if alpha.min(initial=255) == 255:
        return np.ascontiguousarray(rgb)
    opaque = alpha == 255
    if not opaque.any():
        opaque = alpha > 0
    if not opaque.any():
        return np.full(rgb.shape, TRANSPARENT_FILL, np.uint8)
    import cv2

    # label of the nearest opaque pixel for every pixel; opaque pixels are numbered from 1
    # in raster order (OpenCV's DIST_LABEL_PIXEL)
    _, labels = cv2.distanceTransformWithLabels(
        (~opaque).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    sources = np.flatnonzero(opaque.ravel())
    background = rgb.reshape(-1, 3)[sources[labels.ravel() - 1]].reshape(rgb.shape)
    a = alpha[..., None].astype(np.float32) / 255.0
    out = rgb.astype(np.float32) * a + background.astype(np.float32) * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _lab_to_rgb(img: Image.Image) -> Image.Image:
    """Pillow cannot `convert` LAB to RGB directly; go through a colour transform."""
    from PIL import ImageCms

    transform = ImageCms.buildTransform(
        ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
    )
    converted = ImageCms.applyTransform(img, transform)
    if converted is None:  # only when applied in place, which we do not ask for
        raise ValueError("colour transform returned nothing")
    return converted


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
    """A label mask as booleans (H, W), True = crack.

    Accepted: 0/255 and 0/1 masks (gray, 16-bit, float or a gray RGB), two-colour palette
    and RGB masks (the non-black colour is crack), and JPEG 0/255 masks with their ringing
    around edges (thresholded at half). Anything else, e.g. values {1, 128} or a photo
    saved under a mask's name, raises MaskValueError naming the file and its values: used
    as it is, it would label every pixel as crack.
    """
    path = Path(path)
    img = _open(path)
    try:
        jpeg, mode = _is_jpeg(img), img.mode
        if img.mode == "1":
            return np.asarray(img, dtype=bool).copy()
        if img.mode == "P":
            arr = np.asarray(img)  # palette indices, 0 = background
        elif img.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "LA", "PA"):
            arr = _colour_mask(path, img, jpeg)
        else:
            arr = np.asarray(img)
    finally:
        img.close()
    return _binary(path, arr, jpeg, palette=mode == "P")


def _colour_mask(path: Path, img: Image.Image, jpeg: bool) -> np.ndarray:
    """A colour mask as one channel: its gray value when R = G = B (or JPEG), else one
    label per distinct colour so that `_binary` can demand exactly two of them."""
    rgb = np.asarray(img.convert("RGB"))
    gray = np.asarray(img.convert("L"))
    if jpeg or (
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    ):
        return gray
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
    packed |= rgb[..., 2]
    colours = np.unique(packed)
    if len(colours) > 2 or colours[0] != 0:
        shown = ", ".join(f"#{int(c):06x}" for c in colours[:4])
        more = ", ..." if len(colours) > 4 else ""
        raise MaskValueError(
            path,
            f"not a binary mask: {len(colours)} colours ({shown}{more}); expected black "
            "background and one crack colour",
        )
    return (packed != 0).astype(np.uint8)


def _value_counts(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of `arr` and how often each occurs (bincount for 8/16-bit: O(n))."""
    if arr.dtype in (np.uint8, np.uint16):
        counts = np.bincount(arr.ravel(), minlength=1)
        values = np.flatnonzero(counts)
        return values, counts[values]
    return np.unique(arr, return_counts=True)


def _binary(path: Path, arr: np.ndarray, jpeg: bool, palette: bool = False) -> np.ndarray:
    if arr.ndim == 3:
        arr = arr.max(axis=2)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise MaskValueError(path, "not a binary mask: it holds NaN or infinite values")
    elif arr.dtype.kind not in "iub":
        raise MaskValueError(path, f"not a binary mask: {arr.dtype} values")
    values, counts = _value_counts(arr)
    found = {float(v) for v in values}
    if found <= {0.0, 1.0} or found <= {0.0, 255.0} or found <= {0.0, 65535.0}:
        return arr > 0
    if palette and len(found) == 2 and 0.0 in found:
        return arr > 0  # a palette mask: index 0 is background, the one other index crack
    if jpeg and arr.dtype == np.uint8:
        # JPEG rings around edges: most pixels stay near 0 and 255, a few fall between
        low = int(counts[values < 48].sum())
        high = int(counts[values >= 208].sum())
        middle = arr.size - low - high
        if high and middle <= max(0.5 * high, 0.0005 * arr.size):
            return arr > 127
    shown = ", ".join(_short(v) for v in values[:4])
    more = f", ... ({len(values)} values)" if len(values) > 4 else ""
    raise MaskValueError(
        path,
        f"not a binary mask: values {shown}{more}; expected 0/255, 0/1 or a two-colour palette",
    )


def _short(v: float | np.generic) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"


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
