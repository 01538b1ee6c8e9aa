"""Hostile uploads, as bytes: each small on the wire and costly or broken once read. The unit
tests feed them to the readers, the service tests to the running registry."""

import io
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image


def png(side: int = 32, colour: tuple[int, int, int] = (200, 20, 20)) -> bytes:
    """A plain RGB PNG of side x side pixels (a 4000-px one compresses to about 46 KiB)."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(buffer, "PNG")
    return buffer.getvalue()


def broken_png() -> bytes:
    """A PNG whose pixel data stream is damaged (Pillow reads the header, fails decoding)."""
    data = png(16)
    start = data.index(b"IDAT") + 4
    return data[:start] + b"\xff" * 8 + data[start + 8 :]


def png_with_bad_chunk() -> bytes:
    """A PNG with a chunk whose type is not a chunk type, before its image data."""
    data = png(16)
    header_end = 8 + 8 + 13 + 4
    chunk = struct.pack(">I", 1) + b"a\x00cd" + b"x" + struct.pack(">I", zlib.crc32(b"a\x00cdx"))
    return data[:header_end] + chunk + data[header_end:]


def eps() -> bytes:
    """An Encapsulated PostScript file: Pillow would hand it to Ghostscript."""
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 32 32\nshowpage\n%%EOF\n"


def npz_header_bomb(claimed: tuple[int, ...] = (300_000, 1000, 1000)) -> bytes:
    """An .npz whose images.npy header claims `claimed` uint8 (279 GiB by default) and holds
    nothing."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": claimed}
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("images.npy", header.getvalue())  # the magic, then the header
    return buffer.getvalue()


def compressed_npz(images: int, side: int = 32) -> bytes:
    """A labeled dataset of blank images, compressed: about 1/2000 of its decoded size."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        images=np.zeros((images, side, side, 3), np.uint8),
        labels=np.arange(images) % 2,
    )
    return buffer.getvalue()


def plain_npy() -> bytes:
    """A single .npy array, not an .npz archive."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 8, 8, 3), np.uint8))
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of these entries, in this order (names written as given)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb_member(decoded_bytes: int) -> bytes:
    """A zip of one image-named member of `decoded_bytes` zeros (compresses ~1000:1)."""
    return zip_of({"a/x.png": b"\x00" * decoded_bytes})
