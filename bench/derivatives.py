"""Benchmark: display and thumbnail renditions per photo, the project's own code against bare Pillow.

    .venv/bin/python bench/derivatives.py [--photos 6] [--rounds 5] [--clock wall|cpu]
        [--corpus-dir DIR] [--no-corpus]

Prints a markdown table: milliseconds per photo (median and p95) for ``make_derivatives`` ("ours")
and for a bare Pillow pipeline, and ours ÷ bare. The bare pipeline is what a minimal thumbnailer
does: open, ``draft("RGB", display size)``, Lanczos resize to the display size, Lanczos resize of
that to the thumbnail size, save both as baseline JPEG at the same quality; no orientation, colour
management, metadata stripping or perceptual hash. Ours also makes the picture upright, converts a
non-sRGB ICC profile to sRGB, flattens alpha, drops every piece of metadata and hashes the picture;
it resizes with a bicubic filter, as Pillow's ``Image.thumbnail`` does (``--bare-filter bicubic``
makes the bare pipeline do the same, to see what the rest of ours costs).

The photos: 12 MP phone-like JPEGs made here (noise and gradients, quality 92, ~4 MB, EXIF with
orientation 6, Make/Model and GPS) without an ICC profile, with an sRGB one (many Android phones,
older iPhones) and with a Display P3 one (iPhones), and the real photos of
``$HAZARD_CORPUS_DIR/real`` (default ``../shared/corpus``) when that folder exists, in two rows:
from 2 MP up, and smaller. Both sides run on each photo in turn, in alternating order, so that load
from other processes hits both alike; "paired" is the median over photos and rounds of ours ÷ bare
timed back to back. ``--clock cpu`` times with the thread's CPU clock instead of the wall clock
(both pipelines are single-threaded): steadier on a busy machine.
"""

from __future__ import annotations

import argparse
import gc
import io
import math
import os
import statistics
import struct
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.2
DISPLAY_PX = 1600
THUMBNAIL_PX = 400
QUALITY = 82

# A pipeline takes a photo's bytes and returns its display and thumbnail JPEGs.
Pipeline = Callable[[bytes], tuple[bytes, bytes]]


@dataclass(frozen=True)
class Photo:
    group: str  # the table row it counts towards
    name: str
    data: bytes
    megapixels: float


@dataclass
class Timings:
    ms: dict[str, list[float]] = field(default_factory=dict)  # per pipeline, every call
    paired: list[float] = field(default_factory=list)  # ours ÷ bare, timed back to back
    out_bytes: dict[str, list[int]] = field(default_factory=dict)  # display JPEG sizes


# --- photos -------------------------------------------------------------------------------------


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def matrix_shaper_icc(colorants: Sequence[Sequence[float]], description: str) -> bytes:
    """A minimal ICC v2 RGB display profile: D50-adapted primaries and the sRGB tone curve."""
    xyz = [b"XYZ \0\0\0\0" + b"".join(_s15f16(v) for v in c) for c in colorants]
    white = b"XYZ \0\0\0\0" + b"".join(_s15f16(v) for v in (0.9642, 1.0, 0.8249))
    # parametric curve type 3: the sRGB transfer function
    curve = b"para\0\0\0\0" + struct.pack(">HH", 3, 0)
    curve += b"".join(_s15f16(v) for v in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
    text = description.encode("ascii")
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0" + b"\0" * 79
    tags = [
        (b"desc", desc),
        (b"wtpt", white),
        (b"rXYZ", xyz[0]),
        (b"gXYZ", xyz[1]),
        (b"bXYZ", xyz[2]),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I4sI4s4s4s", size, b"\0\0\0\0", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)  # date, flags, intent
    header += white[8:] + b"\0" * 48
    return header + struct.pack(">I", len(tags)) + table + data


DISPLAY_P3_ICC = matrix_shaper_icc(
    [(0.5151, 0.2412, -0.0011), (0.2919, 0.6922, 0.0419), (0.1572, 0.0666, 0.7841)],
    "Display P3 (bench)",
)
SRGB_ICC = matrix_shaper_icc(
    [(0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)],
    "sRGB IEC61966-2.1 (bench)",
)


def phone_jpeg(
    seed: int,
    *,
    width: int = 4032,
    height: int = 3024,
    noise: float = 5.0,
    quality: int = 92,
    orientation: int = 6,
    icc_profile: bytes | None = None,
) -> bytes:
    """A photo-like JPEG as a phone writes it: a smooth scene with texture and sensor noise,
    4:2:0, EXIF with orientation, make, model and GPS. 12 MP at the defaults is ~4 MB."""
    rng = np.random.default_rng(seed)

    def upscaled_noise(step: int, resample: Image.Resampling) -> np.ndarray:
        cells = rng.integers(0, 256, (height // step + 1, width // step + 1, 3), dtype=np.uint8)
        return np.asarray(Image.fromarray(cells).resize((width, height), resample), np.int16)

    pixels = upscaled_noise(64, Image.Resampling.BICUBIC) * 3 // 4  # the scene
    pixels += upscaled_noise(8, Image.Resampling.BILINEAR) // 4  # texture
    pixels += np.linspace(-30, 30, height, dtype=np.int16)[:, None, None]  # light from above
    pixels += rng.normal(0, noise, (height, width, 1)).astype(np.int16)  # luminance noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Xiaomi"
    exif[0x0110] = "Mi 9T"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (31.0, 28.0, 3.12), 3: "E", 4: (104.0, 40.0, 46.56)})
    buffer = io.BytesIO()
    options = {"icc_profile": icc_profile} if icc_profile else {}
    image.save(buffer, "JPEG", quality=quality, subsampling=2, exif=exif.tobytes(), **options)
    return buffer.getvalue()


SYNTHETIC_KINDS = (
    ("12 MP phone JPEG, no ICC", None),
    ("12 MP phone JPEG, sRGB ICC", SRGB_ICC),
    ("12 MP phone JPEG, Display P3 ICC", DISPLAY_P3_ICC),
)


def synthetic_photos(count: int) -> list[Photo]:
    """``count`` photos of each kind (no profile, sRGB, Display P3), each a different picture."""
    photos = []
    for index in range(count):
        group, icc = SYNTHETIC_KINDS[index % len(SYNTHETIC_KINDS)]
        data = phone_jpeg(index, icc_profile=icc)
        photos.append(Photo(group, f"synthetic-{index}", data, 4032 * 3024 / 1e6))
    return photos


def corpus_photos(corpus_dir: Path, accepts: Callable[[bytes], bool]) -> list[Photo]:
    """The real photos of ``corpus_dir/real`` in a format the app accepts (TIFF is not)."""
    folder = corpus_dir / "real"
    if not folder.is_dir():
        return []
    photos = []
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        if not accepts(data):
            continue
        with Image.open(io.BytesIO(data)) as image:
            megapixels = image.width * image.height / 1e6
        group = "corpus real/, >= 2 MP" if megapixels >= 2 else "corpus real/, < 2 MP"
        photos.append(Photo(group, path.name, data, megapixels))
    return photos


# --- the two pipelines --------------------------------------------------------------------------


def fitted(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` scaled so that its longest side is at most ``longest``."""
    scale = min(1.0, longest / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def bare_pipeline(
    data: bytes,
    *,
    display_px: int = DISPLAY_PX,
    thumbnail_px: int = THUMBNAIL_PX,
    quality: int = QUALITY,
    resample: Image.Resampling = Image.Resampling.LANCZOS,
) -> tuple[bytes, bytes]:
    """Open, draft-decode at the smallest DCT scale still >= the display size, resize twice, save."""
    with Image.open(io.BytesIO(data)) as image:
        size = fitted(image.size, display_px)
        image.draft("RGB", size)
        display = image if image.mode == "RGB" else image.convert("RGB")
        if display.size != size:
            display = display.resize(size, resample)
        thumbnail = display.resize(fitted(size, thumbnail_px), resample)
        return _jpeg(display, quality), _jpeg(thumbnail, quality)


def project_pipeline(
    *, display_px: int = DISPLAY_PX, thumbnail_px: int = THUMBNAIL_PX, quality: int = QUALITY
) -> Pipeline:
    """The project's ``make_derivatives`` with these settings (imported on first use)."""
    from hazard_reporter.photos.imaging import make_derivatives

    def ours(data: bytes) -> tuple[bytes, bytes]:
        result = make_derivatives(
            io.BytesIO(data), display_px=display_px, thumbnail_px=thumbnail_px, quality=quality
        )
        return result.display.data, result.thumbnail.data

    return ours


# --- measuring ----------------------------------------------------------------------------------


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
BARE_FILTERS = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC}


def measure(
    photos: Iterable[Photo],
    pipelines: dict[str, Pipeline],
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, Timings]:
    """Time every pipeline on every photo, ``rounds`` times, in rotating order; per group."""
    photos = list(photos)
    names = list(pipelines)
    for name in names:  # warm-up: imports, codec and lcms initialisation
        pipelines[name](photos[0].data)
    results: dict[str, Timings] = {}
    for round_ in range(rounds):
        for index, photo in enumerate(photos):
            timings = results.setdefault(photo.group, Timings())
            shift = (round_ + index) % len(names)
            taken: dict[str, float] = {}
            gc.collect()
            for name in names[shift:] + names[:shift]:
                started = clock()
                display, _ = pipelines[name](photo.data)
                taken[name] = (clock() - started) * 1000
                timings.ms.setdefault(name, []).append(taken[name])
                if round_ == 0:
                    timings.out_bytes.setdefault(name, []).append(len(display))
            if {"ours", "bare"} <= taken.keys():
                timings.paired.append(taken["ours"] / taken["bare"])
    return results


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def table(photos: Sequence[Photo], results: dict[str, Timings]) -> str:
    """The markdown table: one row per group of photos."""
    lines = [
        "| photos | n | MP | MB | ours median ms | ours p95 ms | bare median ms | bare p95 ms "
        "| ours ÷ bare (medians) | paired | display KB ours / bare |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for group, timings in results.items():
        members = [p for p in photos if p.group == group]
        ours, bare = timings.ms["ours"], timings.ms["bare"]
        ratio = statistics.median(ours) / statistics.median(bare)
        mark = "" if ratio <= TARGET_RATIO else " ✗"
        lines.append(
            f"| {group} | {len(members)} "
            f"| {statistics.mean(p.megapixels for p in members):.1f} "
            f"| {statistics.mean(len(p.data) for p in members) / 1e6:.2f} "
            f"| {statistics.median(ours):.0f} | {p95(ours):.0f} "
            f"| {statistics.median(bare):.0f} | {p95(bare):.0f} "
            f"| {ratio:.2f}{mark} | {statistics.median(timings.paired):.2f} "
            f"| {statistics.mean(timings.out_bytes['ours']) / 1e3:.0f} / "
            f"{statistics.mean(timings.out_bytes['bare']) / 1e3:.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--photos", type=int, default=6, help="synthetic 12 MP photos, spread over the 3 kinds"
    )
    parser.add_argument("--rounds", type=int, default=5, help="times each photo is processed")
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="wall", help="cpu: the thread's CPU time"
    )
    parser.add_argument(
        "--corpus-dir",
        type=Path,
        default=Path(os.environ.get("HAZARD_CORPUS_DIR", ROOT.parent / "shared" / "corpus")),
        help="the real-photo corpus (its real/ folder is used); default $HAZARD_CORPUS_DIR",
    )
    parser.add_argument("--no-corpus", action="store_true", help="synthetic photos only")
    parser.add_argument(
        "--bare-filter",
        choices=sorted(BARE_FILTERS),
        default="lanczos",
        help="the bare pipeline's resize filter (ours is bicubic)",
    )
    parser.add_argument("--display-px", type=int, default=DISPLAY_PX)
    parser.add_argument("--thumbnail-px", type=int, default=THUMBNAIL_PX)
    parser.add_argument("--quality", type=int, default=QUALITY)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is bench/
        sys.path.insert(0, str(ROOT))
    from hazard_reporter.photos.imaging import HEAD_BYTES, sniff_format

    sizes = {"display_px": args.display_px, "thumbnail_px": args.thumbnail_px}
    pipelines: dict[str, Pipeline] = {
        "ours": project_pipeline(**sizes, quality=args.quality),
        "bare": lambda data: bare_pipeline(
            data, **sizes, quality=args.quality, resample=BARE_FILTERS[args.bare_filter]
        ),
    }
    photos = synthetic_photos(args.photos)
    if not args.no_corpus:
        photos += corpus_photos(
            args.corpus_dir, lambda data: sniff_format(data[:HEAD_BYTES]) is not None
        )
    if not photos:
        sys.exit("no photos: use --photos N or a corpus directory")
    results = measure(photos, pipelines, args.rounds, CLOCKS[args.clock])
    print(
        f"{args.rounds} rounds, {args.clock} clock; display {args.display_px} px, "
        f"thumbnail {args.thumbnail_px} px, "
        f"quality {args.quality}; bare resizes with {args.bare_filter}; "
        f"target ours ÷ bare <= {TARGET_RATIO}\n"
    )
    print(table(photos, results))


if __name__ == "__main__":
    main()
