"""Time ``annotate.media.make_proxy`` against the ffmpeg CLI with the same settings.

Usage: ``python bench/bench_proxy.py [--seconds 60]``

Generates (in a temporary folder, deleted afterwards) a synthetic 1080p30 film
with audio, then makes a 720p proxy twice: with ``make_proxy`` (PyAV) and with the
ffmpeg binary shipped by imageio-ffmpeg (dev dependency) using
``-c:v libx264 -preset veryfast -crf 23 -g 30 -vf scale=-2:720 -pix_fmt yuv420p
-c:a aac -b:a 128k -ar 48000 -movflags +faststart -map_metadata -1``.
Prints: tool, wall seconds, CPU seconds, times real time, output size.
The synthetic picture is smoother than camera footage, so absolute speeds are
optimistic; the ratio between the two tools is the point.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import imageio_ffmpeg

from annotate.media.probe import probe
from annotate.media.proxy import ProxySettings, make_proxy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the synthetic films live beside the tests
from tests.support.synthetic import make_synthetic_film


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="source length (default 60)")
    args = parser.parse_args()
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()

    with tempfile.TemporaryDirectory(prefix="bench_proxy_") as tmp:
        folder = Path(tmp)
        source = folder / "source_1080p30.mp4"
        started = time.perf_counter()
        make_synthetic_film(source, args.seconds, 1920, 1080, fps=30, seed=1, audio=True, crf=23)
        info = probe(source)
        print(
            f"source: {info.width}x{info.height} {info.fps:g} fps {info.video_codec}+"
            f"{info.audio_codec}, {info.duration_s:.1f} s, {info.size_bytes / 1e6:.1f} MB "
            f"(generated in {time.perf_counter() - started:.0f} s)"
        )

        rows = []
        out_pyav = folder / "proxy_pyav.mp4"
        cpu0, wall0 = _cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
        make_proxy(source, out_pyav, ProxySettings())
        rows.append(
            (
                "make_proxy (PyAV " + av.__version__ + ")",
                time.perf_counter() - wall0,
                _cpu_seconds(resource.RUSAGE_SELF) - cpu0,
                out_pyav,
            )
        )

        out_cli = folder / "proxy_cli.mp4"
        command = [
            ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(source),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-g",
            "30",
            "-vf",
            "scale=-2:720",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-ar",
            "48000",
            "-movflags",
            "+faststart",
            "-map_metadata",
            "-1",
            str(out_cli),
        ]
        cpu0, wall0 = _cpu_seconds(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(command, check=True)
        rows.append(
            (
                "ffmpeg CLI (imageio-ffmpeg)",
                time.perf_counter() - wall0,
                _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0,
                out_cli,
            )
        )

        print(f"\n{'tool':<30} {'seconds':>8} {'cpu s':>8} {'x real time':>12} {'output':>10}")
        for tool, wall, cpu, path in rows:
            result = probe(path)
            print(
                f"{tool:<30} {wall:>8.1f} {cpu:>8.1f} {info.duration_s / wall:>11.2f}x "
                f"{path.stat().st_size / 1e6:>8.2f} MB   "
                f"({result.width}x{result.height}, {result.fps:g} fps)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
