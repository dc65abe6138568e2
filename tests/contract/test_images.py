"""The one image decoder: every accepted format and colour mode becomes the same RGB image.

Each image is generated with Pillow (see image_samples.py), and the expected pixels are computed
independently of the decoder.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from asen_contract.errors import ImageError, LimitExceeded
from asen_contract.images import (
    FORMATS,
    ImageLimits,
    decode_image,
    inspect_image,
    read_image_file,
)
from asen_contract.preprocess import resize_shorter_side

from .image_samples import encode, format_samples, png_16bit, png_bomb

WHITE = np.array([255, 255, 255], dtype=np.float64)


def gradient(width: int = 48, height: int = 32) -> np.ndarray:
    """An RGB uint8 array with distinct values everywhere (so channel or axis mix-ups show)."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs * 5 % 256, ys * 7 % 256, (xs + ys) * 3 % 256], axis=-1).astype(np.uint8)


def over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha compositing onto white, computed independently of Pillow."""
    a = alpha.astype(np.float64)[..., None] / 255.0
    return rgb.astype(np.float64) * a + WHITE * (1 - a)


def decoded(data: bytes) -> np.ndarray:
    image = decode_image(data)
    assert image.mode == "RGB"
    return np.asarray(image)


# -- formats --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_rgb_formats_keep_every_pixel(fmt: str) -> None:
    pixels = gradient()
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(Image.fromarray(pixels), fmt, **options)
    assert inspect_image(data).format == fmt
    np.testing.assert_array_equal(decoded(data), pixels)


def test_jpeg_is_decoded_like_pillow_opens_it() -> None:
    data = encode(Image.fromarray(gradient()), "JPEG", quality=95)
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(decoded(data), expected)
    assert np.abs(decoded(data).astype(int) - gradient()).mean() < 3


def test_mpo_from_cameras_uses_the_primary_picture() -> None:
    primary, second = gradient(), 255 - gradient()
    data = encode(
        Image.fromarray(primary), "MPO", save_all=True, append_images=[Image.fromarray(second)]
    )
    assert inspect_image(data).format == "MPO"
    image = Image.open(io.BytesIO(data))
    assert image.n_frames == 2
    expected = np.asarray(image.convert("RGB"))  # frame 0
    np.testing.assert_array_equal(decoded(data), expected)
    assert np.abs(decoded(data).astype(int) - primary).mean() < 5


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.fromarray(gradient()).convert("CMYK")
    data = encode(cmyk, "JPEG", quality=100)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(decoded(data), expected)
    assert np.abs(decoded(data).astype(int) - gradient()).mean() < 6


def test_grayscale_and_bilevel_become_three_equal_channels() -> None:
    gray = gradient()[..., 0]
    for fmt in ("PNG", "JPEG"):
        rgb = decoded(encode(Image.fromarray(gray), fmt))
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    np.testing.assert_array_equal(decoded(encode(Image.fromarray(gray), "PNG"))[..., 0], gray)
    bilevel = Image.fromarray(gray > 100)
    np.testing.assert_array_equal(decoded(encode(bilevel, "PNG"))[..., 0], (gray > 100) * 255)


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    gray16 = np.arange(48 * 32, dtype=np.uint32).reshape(32, 48) * 42 % 65536
    got = decoded(png_16bit(gray16, 0))
    np.testing.assert_array_equal(got[..., 0], (gray16 >> 8).astype(np.uint8))
    assert got.max() > 200 and got.min() < 50  # Pillow's plain convert would clip to 255
    rgb16 = gradient().astype(np.uint32) * 257 + 11  # high byte = the 8-bit value
    np.testing.assert_array_equal(decoded(png_16bit(rgb16, 2)), gradient())


def test_transparency_is_composited_onto_white() -> None:
    rgb = gradient()
    alpha = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (32, 1))
    rgba = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    for fmt, options in (("PNG", {}), ("WEBP", {"lossless": True}), ("TIFF", {})):
        got = decoded(encode(rgba, fmt, **options)).astype(np.float64)
        np.testing.assert_allclose(got, over_white(rgb, alpha), atol=1.0)
    gray_alpha = Image.fromarray(np.dstack([rgb[..., 0], alpha]), "LA")
    got = decoded(encode(gray_alpha, "PNG")).astype(np.float64)
    np.testing.assert_allclose(got[..., 1], over_white(rgb[..., :1], alpha)[..., 0], atol=1.0)
    rgba16 = np.dstack([rgb, alpha]).astype(np.uint32) * 257
    got = decoded(png_16bit(rgba16, 6)).astype(np.float64)
    np.testing.assert_allclose(got, over_white(rgb, alpha), atol=1.0)


def test_palette_images_with_and_without_transparency() -> None:
    palette = Image.fromarray(gradient()).quantize(colors=16)
    expected = np.asarray(palette.convert("RGB"))
    for fmt in ("PNG", "GIF", "BMP", "TIFF"):
        np.testing.assert_array_equal(decoded(encode(palette, fmt)), expected, err_msg=fmt)
    indices = np.asarray(palette)
    hidden = int(indices[0, 0])  # this palette entry becomes transparent
    for fmt in ("PNG", "GIF"):
        got = decoded(encode(palette, fmt, transparency=hidden))
        mask = indices == hidden
        np.testing.assert_array_equal(got[mask], 255, err_msg=fmt)
        np.testing.assert_array_equal(got[~mask], expected[~mask], err_msg=fmt)


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [Image.fromarray(gradient()).quantize(colors=8), Image.new("P", (48, 32), 3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    np.testing.assert_array_equal(decoded(data), np.asarray(frames[0].convert("RGB")))


def test_exif_orientation_is_not_applied() -> None:
    """Like the official code: an orientation tag does not rotate the pixels."""
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = encode(Image.fromarray(gradient(48, 32)), "JPEG", quality=95, exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == 6
    assert decode_image(data).size == (48, 32)


def test_float_images_are_refused_clearly() -> None:
    data = encode(Image.fromarray(np.ones((8, 8), dtype=np.float32)), "TIFF")
    with pytest.raises(ImageError, match="floating-point"):
        decode_image(data)


# -- refusals -------------------------------------------------------------------------------------
def test_limits_are_checked_from_the_header() -> None:
    with pytest.raises(LimitExceeded, match="over the limit of 100 pixels"):
        inspect_image(encode(Image.new("RGB", (20, 20)), "PNG"), ImageLimits(max_pixels=100))
    with pytest.raises(LimitExceeded):
        decode_image(png_bomb(30_000, 30_000))  # 900 MP: refused before any decoding
    with pytest.raises(LimitExceeded, match="decompression bomb"):
        decode_image(png_bomb(30_000, 30_000), ImageLimits(max_pixels=10**9))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty image"),
        (b"certainly not an image", "cannot decode"),
        (b"%PDF-1.4 a document", "cannot decode"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", "cannot decode"),  # Pillow's EPS parser is never tried
    ],
)
def test_unsupported_or_corrupt_input_is_an_image_error(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        decode_image(data)
    if data:
        with pytest.raises(ImageError):
            inspect_image(data)


def test_truncated_and_unlisted_formats() -> None:
    good = encode(Image.fromarray(gradient()), "PNG")
    with pytest.raises(ImageError, match="cannot decode"):
        decode_image(good[: len(good) // 2])
    for fmt in ("ICO", "PPM", "TGA"):
        assert fmt not in FORMATS
        with pytest.raises(ImageError, match="cannot decode"):
            decode_image(encode(Image.fromarray(gradient()), fmt))


def test_files_are_named_in_errors(tmp_path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"nope")
    with pytest.raises(ImageError, match="broken.png: cannot decode"):
        read_image_file(path)
    with pytest.raises(ImageError, match="missing.png: cannot read"):
        read_image_file(tmp_path / "missing.png")
    big = tmp_path / "big.png"
    big.write_bytes(encode(Image.new("RGB", (20, 20)), "PNG"))
    with pytest.raises(LimitExceeded, match="big.png: image of 20x20"):
        read_image_file(big, ImageLimits(max_pixels=100))


def test_every_sample_format_is_accepted() -> None:
    """The samples the Triton and gateway tests send: all decode, all pass the header check."""
    image = Image.fromarray(gradient(64, 40))
    for name, data in format_samples(image).items():
        header = inspect_image(data)
        assert header.format in FORMATS and (header.width, header.height) == (64, 40), name
        assert decode_image(data).size == (64, 40), name


def test_extreme_aspect_ratios_are_refused_from_the_header() -> None:
    """Issue 10: a 1.3 KB PNG of 100000 x 4 passed the pixel limit, and resizing its short side to
    224 made a 224 x 5,600,000 image (gigabytes). The aspect ratio is now bounded."""
    strip = encode(Image.new("RGB", (100_000, 4)), "PNG")
    assert len(strip) < 2000
    limits = ImageLimits(max_pixels=400_000, max_aspect_ratio=20)
    for check in (inspect_image, decode_image):
        with pytest.raises(LimitExceeded, match="aspect ratio of 25000.0, over the limit of 20"):
            check(strip, limits)
    tall = encode(Image.new("RGB", (3, 61)), "PNG")  # 20.3 : 1, portrait
    with pytest.raises(LimitExceeded, match="aspect ratio"):
        decode_image(tall, limits)
    widest = decode_image(encode(Image.new("RGB", (200, 10)), "PNG"), limits)  # 20 : 1 passes
    assert widest.size == (200, 10)
    resized = resize_shorter_side(widest, 224)
    assert resized.size == (4480, 224)  # after resizing: at most S x S * max_aspect_ratio
