"""Reading every photo a user may have, and refusing, by name, everything that is not one.

Each case is made from a real CrackForest photo so the decoders see real image content.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from crackinspector.core.io.atomic import atomic_open
from crackinspector.core.io.imageio import (
    ImageReadError,
    MaskValueError,
    encode_image,
    find_images,
    image_size,
    read_image,
    read_mask,
    write_image,
)


@pytest.fixture(scope="module")
def photo_path(crackforest: Path) -> Path:
    return crackforest / "images" / "001.jpg"


@pytest.fixture(scope="module")
def photo(photo_path: Path) -> np.ndarray:
    with Image.open(photo_path) as img:
        return np.asarray(img.convert("RGB")).copy()


def _save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


def test_reads_the_real_photo(photo_path: Path, photo: np.ndarray) -> None:
    arr = read_image(photo_path)
    assert arr.dtype == np.uint8 and arr.shape == (320, 480, 3)
    assert np.array_equal(arr, photo)
    assert image_size(photo_path) == (480, 320)


@pytest.mark.parametrize(
    ("suffix", "kwargs", "lossless"),
    [
        (".png", {}, True),
        (".tif", {}, True),
        (".tiff", {"compression": "tiff_lzw"}, True),
        (".bmp", {}, True),
        (".webp", {"lossless": True}, True),
        (".webp", {"quality": 90}, False),
        (".jpeg", {"quality": 95}, False),
    ],
)
def test_every_format(tmp_path: Path, photo: np.ndarray, suffix, kwargs, lossless) -> None:
    path = _save(Image.fromarray(photo), tmp_path / f"photo{suffix}", **kwargs)
    arr = read_image(path)
    assert arr.shape == photo.shape and arr.dtype == np.uint8
    diff = np.abs(arr.astype(int) - photo.astype(int))
    if lossless:
        assert diff.max() == 0
    else:
        assert diff.mean() < 3


@pytest.mark.parametrize(("orientation", "k"), [(3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_applied(tmp_path: Path, photo: np.ndarray, orientation, k) -> None:
    img = Image.fromarray(photo)
    plain = read_image(_save(img, tmp_path / "plain.jpg", quality=92))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    tagged = read_image(_save(img, tmp_path / "tagged.jpg", quality=92, exif=exif.tobytes()))
    expected = np.rot90(plain, k=k)  # 6: shown rotated 90 degrees clockwise, 8: anticlockwise
    assert tagged.shape == expected.shape
    assert np.array_equal(tagged, expected)


def test_grayscale(tmp_path: Path, photo: np.ndarray) -> None:
    gray = Image.fromarray(photo).convert("L")
    arr = read_image(_save(gray, tmp_path / "gray.png"))
    assert arr.shape == (320, 480, 3)
    for c in range(3):
        assert np.array_equal(arr[..., c], np.asarray(gray))


def test_rgba_transparent_parts_continue_the_photo(tmp_path: Path, photo: np.ndarray) -> None:
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :100] = 0  # transparent strip
    alpha[:, 100:104] = 128  # half-transparent edge
    rgba = np.dstack([photo, alpha])
    arr = read_image(_save(Image.fromarray(rgba), tmp_path / "rgba.png"))
    assert arr.shape == photo.shape
    assert np.array_equal(arr[:, 104:], photo[:, 104:])
    # neither white (edge detections) nor black (a crack): the nearest opaque pixel's colour
    # (column 104 here; the distance transform is approximate, so within a pixel or two)
    nearest = photo[:, 104:106].astype(int)
    err = np.abs(arr[:, :100, None].astype(int) - nearest[:, None]).min(axis=2)
    assert (err <= 2).mean() > 0.97
    blend = photo[:, 100:104].astype(int) * 128 / 255 + photo[:, 104:105].astype(int) * 127 / 255
    assert np.abs(arr[:, 100:104].astype(int) - blend).mean() < 8
    clear = np.zeros((40, 60, 4), np.uint8)
    assert (read_image(_save(Image.fromarray(clear), tmp_path / "clear.png")) == 128).all()


def test_palette(tmp_path: Path, photo: np.ndarray) -> None:
    pal = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    arr = read_image(_save(pal, tmp_path / "palette.png"))
    assert np.array_equal(arr, np.asarray(pal.convert("RGB")))
    assert np.abs(arr.astype(int) - photo.astype(int)).mean() < 10


def test_16_bit_gray(tmp_path: Path, photo: np.ndarray) -> None:
    gray8 = np.asarray(Image.fromarray(photo).convert("L"))
    gray16 = gray8.astype(np.uint16) * 257
    path = tmp_path / "gray16.png"
    path.write_bytes(encode_image(gray16, ".png"))
    with Image.open(path) as check:
        assert check.mode.startswith("I;16")  # really a 16-bit file
    arr = read_image(path)
    assert np.array_equal(arr[..., 0], gray8)


def test_16_bit_dark_gray_is_not_mistaken_for_8_bit(tmp_path: Path) -> None:
    dark = np.full((40, 60), 200, np.uint16)  # nearly black in 16 bits
    path = tmp_path / "dark16.png"
    path.write_bytes(encode_image(dark, ".png"))
    assert read_image(path).max() <= 1


def test_16_bit_rgb(tmp_path: Path, photo: np.ndarray) -> None:
    import cv2

    rgb16 = photo.astype(np.uint16) * 257
    path = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(path), rgb16[..., ::-1])  # cv2 writes real 48-bit PNGs (BGR)
    arr = read_image(path)
    assert np.abs(arr.astype(int) - photo.astype(int)).max() <= 1


@pytest.mark.parametrize(("suffix", "tol"), [(".tif", 0), (".jpg", 4)])
def test_cmyk(tmp_path: Path, photo: np.ndarray, suffix, tol) -> None:
    cmyk = Image.fromarray(photo).convert("CMYK")
    arr = read_image(_save(cmyk, tmp_path / f"cmyk{suffix}"))
    assert arr.shape == photo.shape
    assert np.abs(arr.astype(int) - photo.astype(int)).mean() <= tol


def test_non_ascii_path(tmp_path: Path, photo_path: Path, photo: np.ndarray) -> None:
    folder = tmp_path / "Prüfung 裂缝"
    folder.mkdir()
    path = folder / "fissure_été_ひび.jpg"
    path.write_bytes(photo_path.read_bytes())
    assert np.array_equal(read_image(path), photo)
    assert find_images([tmp_path]) == [path]


def _expect_error(path: Path, *words: str) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message.lower()
    return info.value


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    _expect_error(path, "empty")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope.jpg", "not found")
    _expect_error(tmp_path, "folder")


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file(tmp_path: Path, photo: np.ndarray, suffix) -> None:
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="JPEG" if suffix == ".jpg" else "PNG")
    data = buf.getvalue()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with Image.open(path) as img:  # the header is intact: Pillow opens it happily...
        assert img.size == (480, 320)
    _expect_error(path, "truncated")  # ...but we refuse half a photo


def test_truncated_file_refused_even_if_pillow_was_told_to_accept_it(
    tmp_path: Path, photo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = photo_path.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) * 2 // 3])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    _expect_error(path, "truncated")


def test_random_bytes_with_image_extension(tmp_path: Path) -> None:
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _expect_error(path, "not an image")


def test_text_file_with_image_extension(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("crack at pier 3, 0.3 mm wide\n", encoding="utf-8")
    _expect_error(path, "not an image")
    with pytest.raises(ImageReadError):
        read_mask(path)
    with pytest.raises(ImageReadError):
        image_size(path)


def test_corrupt_body(tmp_path: Path, photo_path: Path) -> None:
    data = bytearray(photo_path.read_bytes())
    data[600:] = bytes(len(data) - 600)  # keep the header, zero out the scan data
    path = tmp_path / "zeroed.jpg"
    path.write_bytes(bytes(data))
    # Pillow may or may not decode zeroed scan data; it must never crash with another error
    try:
        arr = read_image(path)
    except ImageReadError as exc:
        assert str(path) in str(exc)
    else:
        assert arr.shape == (320, 480, 3)


def test_real_mask(crackforest: Path) -> None:
    mask = read_mask(crackforest / "masks" / "001.png")
    assert mask.dtype == np.bool_ and mask.shape == (320, 480)
    assert 0 < mask.mean() < 0.2


def test_find_images(tmp_path: Path, photo_path: Path) -> None:
    (tmp_path / "a" / "deep").mkdir(parents=True)
    files = [tmp_path / "a" / "x.JPG", tmp_path / "a" / "deep" / "y.png", tmp_path / "z.tif"]
    for f in files:
        f.write_bytes(photo_path.read_bytes())
    (tmp_path / "a" / "readme.txt").write_text("x")
    found = find_images([tmp_path, files[0]])
    assert sorted(found) == sorted(files)
    assert len(found) == 3  # a file also found through its folder is listed once


def test_16_bit_png_round_trip(tmp_path: Path) -> None:
    prob = np.linspace(0, 65535, 64 * 48).astype(np.uint16).reshape(48, 64)
    path = tmp_path / "prob.png"
    write_image(path, prob)
    with Image.open(path) as img:
        assert np.array_equal(np.asarray(img), prob)


def test_atomic_write_replaces_only_on_success(tmp_path: Path, photo: np.ndarray) -> None:
    path = tmp_path / "out.png"
    write_image(path, photo)
    before = path.read_bytes()
    assert os.listdir(tmp_path) == ["out.png"]

    with pytest.raises(ValueError):  # 16-bit colour cannot be written: nothing changes
        write_image(path, photo.astype(np.uint16))
    with pytest.raises(RuntimeError), atomic_open(path) as fh:  # failure mid-write
        fh.write(b"half a file")
        raise RuntimeError("disk full")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.png"]

    write_image(path, photo[::2, ::2])
    assert read_image(path).shape == (160, 240, 3)
    assert os.listdir(tmp_path) == ["out.png"]


def test_atomic_writes_get_normal_file_permissions(tmp_path):
    import os
    import stat

    from crackinspector.core.io.atomic import atomic_path, atomic_write_text

    mask = os.umask(0o022)
    os.umask(mask)
    atomic_write_text(tmp_path / "report.csv", "a,b\n")
    with atomic_path(tmp_path / "report.pdf") as tmp:
        tmp.write_bytes(b"%PDF")
    for name in ("report.csv", "report.pdf"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o666 & ~mask, oct(mode)


# ---------------------------------------------------------------- masks: binary or refused


@pytest.fixture(scope="module")
def truth(crackforest: Path) -> np.ndarray:
    with Image.open(crackforest / "masks" / "001.png") as img:
        return np.asarray(img) > 0


def _mask_file(tmp_path: Path, name: str, arr: np.ndarray, mode: str | None = None, **kw) -> Path:
    img = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    return _save(img, tmp_path / name, **kw)


@pytest.mark.parametrize(
    ("name", "scale", "dtype"),
    [
        ("m255.png", 255, np.uint8),
        ("m01.png", 1, np.uint8),
        ("m16.png", 65535, np.uint16),
        ("m01.tif", 1, np.uint8),
        ("m255.bmp", 255, np.uint8),
    ],
)
def test_binary_masks_are_read(tmp_path: Path, truth: np.ndarray, name, scale, dtype) -> None:
    arr = truth.astype(dtype) * dtype(scale)
    assert np.array_equal(read_mask(_mask_file(tmp_path, name, arr)), truth)


def test_palette_and_two_colour_masks(tmp_path: Path, truth: np.ndarray) -> None:
    pal = Image.fromarray(truth.astype(np.uint8) * 3, mode="L").convert("P")
    pal.putpalette([0, 0, 0] * 3 + [200, 30, 30] + [0, 0, 0] * 252)  # index 3 = red crack
    assert np.array_equal(read_mask(_save(pal, tmp_path / "pal.png")), truth)
    red = np.zeros((*truth.shape, 3), np.uint8)
    red[truth] = (220, 20, 60)
    assert np.array_equal(read_mask(_mask_file(tmp_path, "red.png", red)), truth)
    gray_rgb = np.repeat((truth * 255).astype(np.uint8)[..., None], 3, axis=2)
    assert np.array_equal(read_mask(_mask_file(tmp_path, "gray_rgb.png", gray_rgb)), truth)
    one_bit = Image.fromarray(truth)
    assert np.array_equal(read_mask(_save(one_bit, tmp_path / "bits.png")), truth)


@pytest.mark.parametrize("quality", [50, 75, 95])
def test_jpeg_masks_tolerate_ringing(tmp_path: Path, truth: np.ndarray, quality) -> None:
    path = _mask_file(tmp_path, "m.jpg", truth.astype(np.uint8) * 255, quality=quality)
    with Image.open(path) as img:
        assert len(np.unique(np.asarray(img))) > 2  # really rings
    mask = read_mask(path)
    assert (mask != truth).mean() < 0.002


@pytest.mark.parametrize(
    ("values", "suffix"),
    [
        ((1, 128), ".png"),
        ((0, 128), ".png"),
        ((0, 1, 255), ".png"),
        ((1, 128), ".jpg"),
        ((0, 0.5), ".tif"),
    ],
)
def test_non_binary_masks_are_refused_by_name(tmp_path: Path, truth, values, suffix) -> None:
    lo, hi = values[0], values[-1]
    arr = np.where(truth, hi, lo).astype(np.float32 if isinstance(hi, float) else np.uint8)
    if len(values) == 3:
        arr[:10, :10] = values[1]
    path = _mask_file(tmp_path, f"odd{suffix}", arr)
    with pytest.raises(MaskValueError) as err:
        read_mask(path)
    message = str(err.value)
    assert str(path) in message and "not a binary mask" in message and "\n" not in message
    assert isinstance(err.value, ImageReadError)


def test_photo_saved_as_a_mask_is_refused(tmp_path: Path, photo: np.ndarray) -> None:
    for name in ("photo_mask.png", "photo_mask.jpg"):
        with pytest.raises(MaskValueError, match="not a binary mask"):
            read_mask(_save(Image.fromarray(photo), tmp_path / name))
    many = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    with pytest.raises(MaskValueError, match="not a binary mask"):
        read_mask(_save(many, tmp_path / "photo_palette.png"))


def test_every_real_mask_set_is_accepted(shared_data: Path) -> None:
    for name in ("crackforest", "masonry", "uav75"):
        for path in sorted((shared_data / name / "masks").glob("*.png"))[:20]:
            assert read_mask(path).any() or name == "uav75", path


def test_transparent_border_gives_no_edge_detections(tmp_path: Path, photo: np.ndarray) -> None:
    """A real RGBA PNG (a photo with a 48 px transparent border) through the bundled model:
    the photo's edge is marked as on the bare photo (on white: 80 % of a 12 px ring)."""
    from crackinspector.core.infer.predictor import Predictor

    h, w = photo.shape[:2]
    b = 48
    canvas = np.zeros((h + 2 * b, w + 2 * b, 4), np.uint8)
    canvas[b : b + h, b : b + w, :3] = photo
    canvas[b : b + h, b : b + w, 3] = 255
    path = _save(Image.fromarray(canvas), tmp_path / "cutout.png")
    predictor = Predictor("unet-resnet34", device="cpu", backend="onnx")
    bare = predictor.predict(photo) >= predictor.threshold
    cut = predictor.predict(read_image(path))[b : b + h, b : b + w] >= predictor.threshold
    ring = np.zeros((h, w), bool)
    ring[:12], ring[-12:], ring[:, :12], ring[:, -12:] = True, True, True, True
    assert cut[ring].mean() <= bare[ring].mean() + 0.02
    assert (cut == bare).mean() > 0.99


def test_pair_check_skips_a_non_binary_mask_by_name(tmp_path: Path, crackforest: Path) -> None:
    """What training and evaluation see: the pair is refused with the mask's name and why."""
    from crackinspector.core.io.pairing import pair_folders

    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for stem in ("001", "002"):
        (images / f"{stem}.jpg").write_bytes((crackforest / "images" / f"{stem}.jpg").read_bytes())
        (masks / f"{stem}.png").write_bytes((crackforest / "masks" / f"{stem}.png").read_bytes())
    with Image.open(masks / "002.png") as img:
        odd = np.where(np.asarray(img) > 0, 128, 1).astype(np.uint8)
    Image.fromarray(odd).save(masks / "002.png")
    report = pair_folders(images, masks, check=True)
    assert [p.stem for p in report.pairs] == ["001"]
    (problem,) = report.problems
    assert str(masks / "002.png") in problem and "not a binary mask" in problem
