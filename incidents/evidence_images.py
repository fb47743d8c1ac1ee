"""Recognising an uploaded screenshot without an imaging library: the magic bytes say PNG, JPEG or
WebP, and the header must parse far enough to give the picture's width and height."""

from __future__ import annotations

import struct
from dataclasses import dataclass


class NotAnImage(ValueError):
    """The bytes are not a PNG, JPEG or WebP image with a readable header; the message says why."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    extension: str
    width: int
    height: int


ALLOWED_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def image_inspect(data: bytes) -> ImageInfo:
    if data.startswith(_PNG_SIGNATURE):
        info = _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        info = _jpeg(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        info = _webp(data)
    else:
        raise NotAnImage("is not a PNG, JPEG or WebP image.")
    if info.width <= 0 or info.height <= 0:
        raise NotAnImage("has no width or height.")
    return info


def _png(data: bytes) -> ImageInfo:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise NotAnImage("is a truncated PNG (no IHDR header).")
    width, height = struct.unpack(">II", data[16:24])
    return ImageInfo("image/png", "png", width, height)


def _jpeg(data: bytes) -> ImageInfo:
    offset = 2
    while offset < len(data):
        if data[offset] != 0xFF:
            raise NotAnImage("is a damaged JPEG (bad segment marker).")
        while offset < len(data) and data[offset] == 0xFF:
            offset += 1  # fill bytes
        if offset >= len(data):
            break
        marker = data[offset]
        offset += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):
            break  # end of image, or the scan began before any frame header
        if offset + 2 > len(data):
            break
        (length,) = struct.unpack(">H", data[offset : offset + 2])
        if marker in _JPEG_SOF:
            if offset + 7 > len(data):
                break
            height, width = struct.unpack(">HH", data[offset + 3 : offset + 7])
            return ImageInfo("image/jpeg", "jpg", width, height)
        if length < 2:
            raise NotAnImage("is a damaged JPEG (bad segment length).")
        offset += length
    raise NotAnImage("is a truncated JPEG (no frame header with its size).")


def _webp(data: bytes) -> ImageInfo:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageInfo("image/webp", "webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return ImageInfo("image/webp", "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageInfo("image/webp", "webp", width, height)
    raise NotAnImage("is a truncated or unsupported WebP (no VP8, VP8L or VP8X header).")
