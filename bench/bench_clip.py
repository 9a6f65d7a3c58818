"""Time ``annotate.media.cut_clip`` against the ffmpeg CLI: full re-encode and span re-encode.

Usage: ``python bench/bench_clip.py [--seconds 600] [--clip 15] [--in-point 123.4] [--skip-full]
[--activity]``

The source is a 10-minute 1080p30 H.264/AAC film with a 1 s GOP, like a proxy
(``testsrc2`` + ``sine`` made with the imageio-ffmpeg binary, ``-preset veryfast
-crf 23 -g 30``), cached in ``/tmp/annotate-bench-films`` (delete it to make the
film again). The clip's in point is not on a keyframe. Rows:

* ``cut_clip`` -- smart cut (head and tail re-encoded, whole GOPs copied);
* ``cut_clip (forced re-encode)`` -- the fallback path: seek, re-encode the span;
* ``ffmpeg -ss IN -i film -t CLIP`` -- fast-seek re-encode of just the span (the fair peer);
* ``ffmpeg full re-encode`` -- the whole film re-encoded (the issue's yardstick).

With ``--activity`` it also times ``activity_curve`` (motion + loudness, step 0.5 s)
on a 720p copy of the film (the proxies' maximum height), cached next to it.

All encodes use libx264 ``veryfast`` CRF 23 and AAC, as the proxies do. For each
output the first picture is compared with the source picture at the in point
(mean absolute difference of RGB values, 0..255) to show it is frame-exact.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

from annotate.media.activity import activity_curve
from annotate.media.clips import cut_clip
from annotate.media.probe import probe
from annotate.media.thumbs import frame_at

CACHE = Path("/tmp/annotate-bench-films")
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "128k", "-ar", "48000"]


def make_film(ffmpeg: str, seconds: float) -> Path:
    film = CACHE / f"film_{seconds:g}s_1080p30_gop30.mp4"
    if film.exists():
        return film
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = film.with_suffix(".partial.mp4")
    started = time.perf_counter()
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:beep_factor=4",
            "-t",
            str(seconds),
            *X264,
            "-g",
            "30",
            *AAC,
            "-movflags",
            "+faststart",
            "-map_metadata",
            "-1",
            str(partial),
        ],
        check=True,
    )
    partial.rename(film)
    print(f"made {film} in {time.perf_counter() - started:.0f} s")
    return film


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def run_ffmpeg(ffmpeg: str, args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="film length (600)")
    parser.add_argument("--clip", type=float, default=15.0, help="clip length (15)")
    parser.add_argument("--in-point", type=float, default=123.4, help="in point, s (123.4)")
    parser.add_argument("--skip-full", action="store_true", help="skip the full re-encode")
    parser.add_argument("--activity", action="store_true", help="also time activity_curve")
    args = parser.parse_args()
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    film = make_film(ffmpeg, args.seconds)
    info = probe(film)
    in_s, out_s = args.in_point, args.in_point + args.clip
    print(
        f"source: {info.width}x{info.height} {info.fps:g} fps {info.video_codec}+"
        f"{info.audio_codec}, {info.duration_s:.1f} s, {info.size_bytes / 1e6:.0f} MB; "
        f"clip {in_s:g}-{out_s:g} s (frame {round(in_s * info.fps)}, keyframes every 30)"
    )
    reference = frame_at(film, round(in_s * info.fps) / info.fps)

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_clip_") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        smart = cut_clip(film, folder / "smart.mp4", in_s, out_s)
        rows.append((f"cut_clip ({smart.method})", time.perf_counter() - started, smart.path))

        started = time.perf_counter()
        forced = folder / "forced.mp4"
        cut_clip(film, forced, in_s, out_s, smart=False)
        rows.append(("cut_clip (forced re-encode)", time.perf_counter() - started, forced))

        span = folder / "ffmpeg_span.mp4"
        seconds = run_ffmpeg(
            ffmpeg,
            [
                "-ss",
                str(in_s),
                "-i",
                str(film),
                "-t",
                str(args.clip),
                *X264,
                "-g",
                "30",
                *AAC,
                "-movflags",
                "+faststart",
                str(span),
            ],
        )
        rows.append(("ffmpeg -ss IN -i film -t 15", seconds, span))

        if not args.skip_full:
            full = folder / "ffmpeg_full.mp4"
            seconds = run_ffmpeg(
                ffmpeg, ["-i", str(film), *X264, "-g", "30", *AAC, "-movflags", "+faststart", str(full)]
            )
            rows.append(("ffmpeg full re-encode", seconds, full))

        base = rows[0][1]
        print(f"\n{'method':<30} {'seconds':>8} {'x cut_clip':>11} {'frames':>7} {'first-frame diff':>17}")
        for name, seconds, path in rows:
            frames = "-"
            diff = "-"
            if "full" not in name:
                with av.open(str(path)) as container:
                    frames = str(sum(1 for p in container.demux(video=0) if p.size))
                diff = f"{np.abs(first_frame(path).astype(int) - reference.astype(int)).mean():.2f}"
            print(f"{name:<30} {seconds:>8.2f} {seconds / base:>10.1f}x {frames:>7} {diff:>17}")
    if args.activity:
        time_activity(ffmpeg, film, info.duration_s)
    return 0


def time_activity(ffmpeg: str, film: Path, duration_s: float) -> None:
    small = film.with_name(film.stem + "_720p.mp4")
    if not small.exists():
        run_ffmpeg(
            ffmpeg,
            [
                "-i",
                str(film),
                "-vf",
                "scale=-2:720",
                *X264,
                "-g",
                "30",
                "-c:a",
                "copy",
                "-movflags",
                "+faststart",
                str(small.with_suffix(".tmp.mp4")),
            ],
        )
        small.with_suffix(".tmp.mp4").rename(small)
    for path in (small, film):
        info = probe(path)
        started = time.perf_counter()
        curve = activity_curve(path, step_s=0.5)
        seconds = time.perf_counter() - started
        print(
            f"activity_curve {info.height}p: {seconds:.1f} s for {duration_s:.0f} s of film = "
            f"{duration_s / seconds:.1f}x real time ({len(curve.times)} steps)"
        )


if __name__ == "__main__":
    sys.exit(main())
