"""Synthetic films for tests and the demo trial (no real families are filmed).

Films are drawn frame by frame (see ``annotate.media._scene``) and encoded with
PyAV. Rotated films carry a display matrix (``VideoStream.set_display_rotation``,
PyAV >= 17) whose pixels are stored turned the other way, like a phone held
upright. Variable-frame-rate films get ragged millisecond timestamps with
occasional dropped frames, like phone cameras in low light. ``generate_sample_media``
writes the committed demo set: two arms, two time points, intervention sessions,
with file names that reveal neither arm nor time point (blinding).
"""

from __future__ import annotations

import csv
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.support.scene import SceneParams, render_audio, render_frame

__all__ = ["VIDEO_CODECS", "generate_sample_media", "make_broken_files", "make_synthetic_film"]

VIDEO_CODECS = ("libx264", "libx265", "mpeg4")
_AUDIO_RATE = 32_000
_AUDIO_BITRATE = 32_000
_AUDIO_CHUNK = 1024
_VFR_TIME_BASE = Fraction(1, 1000)
_MANIFEST_COLUMNS = ["file", "participant", "arm", "timepoint", "purpose", "session"]


def make_synthetic_film(
    path: str | os.PathLike,
    seconds: float,
    width: int = 320,
    height: int = 240,
    fps: float = 15,
    seed: int = 0,
    audio: bool = True,
    codec: str = "libx264",
    rotation: int = 0,
    vfr: bool = False,
    *,
    responsiveness: float | None = None,
    crf: int = 28,
    faststart: bool = False,
) -> Path:
    """Write a synthetic parent–infant play film.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (MP4).
    seconds : float
        Duration in seconds (> 0).
    width, height : int
        Coded picture size, even numbers >= 16. With ``rotation`` 90 or 270 the
        film displays as ``height`` x ``width``.
    fps : float
        Nominal frame rate (> 0).
    seed : int
        Varies colours, motion, activity and the babble.
    audio : bool
        Add a mono AAC babble track.
    codec : {"libx264", "libx265", "mpeg4"}
        H.264, HEVC, or MPEG-4 Part 2 (what OpenCV's ``mp4v`` writes).
    rotation : {0, 90, 180, 270}
        Clockwise degrees a player must turn the picture (display-matrix side
        data), i.e. what ``probe(path).rotation`` reports.
    vfr : bool
        Use irregular frame timestamps (variable frame rate) with some dropped frames.
    responsiveness : float, optional
        0..1, how closely the parent figure follows the infant; drawn from the seed
        if omitted.
    crf : int
        Quality for libx264/libx265 (higher is smaller).
    faststart : bool
        Put the MP4 index before the media data.

    Returns
    -------
    pathlib.Path
        The written film.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from annotate.media.probe import probe
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 1.0, 64, 48, fps=10,
    ...                                rotation=90)
    ...     r = probe(film)
    >>> (r.rotation, r.display_width, r.display_height)
    (90, 48, 64)
    """
    _validate_film_args(seconds, width, height, fps, codec, rotation)
    out_path = Path(path)
    rng = np.random.default_rng(seed + 7919)
    scene = SceneParams.from_seed(seed, responsiveness, horizon_s=seconds + 10)
    rate = Fraction(fps).limit_denominator(1001)
    frame_times = _frame_times(seconds, float(rate), vfr, rng)
    display_w, display_h = (height, width) if rotation in (90, 270) else (width, height)

    options = {"movflags": "+faststart"} if faststart else {}
    options["fflags"] = "+bitexact"  # no encoder tag; byte-identical reruns
    with av.open(str(out_path), mode="w", format="mp4", options=options) as container:
        video = container.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.thread_count = 1  # deterministic output on any machine
        if codec == "mpeg4":
            video.codec_context.bit_rate = max(100_000, width * height * 4)
        else:
            video.codec_context.options = _quality_options(codec, crf)
        if vfr:
            video.time_base = _VFR_TIME_BASE
            video.codec_context.time_base = _VFR_TIME_BASE
        if rotation:
            video.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
        audio_stream = None
        samples = None
        if audio:
            audio_stream = container.add_stream("aac", rate=_AUDIO_RATE, layout="mono")
            audio_stream.codec_context.bit_rate = _AUDIO_BITRATE
            samples = render_audio(scene, seconds, _AUDIO_RATE)
        audio_written = 0

        for index, t in enumerate(frame_times):
            picture = render_frame(scene, t, display_w, display_h)
            if rotation:
                picture = np.ascontiguousarray(np.rot90(picture, k=rotation // 90))
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            if vfr:
                frame.pts = int(round(t * 1000))
                frame.time_base = _VFR_TIME_BASE
            else:
                frame.pts = index
            container.mux(video.encode(frame))
            if samples is not None:
                audio_written = _write_audio(
                    container, audio_stream, samples, audio_written, int((t + 0.5) * _AUDIO_RATE)
                )
        container.mux(video.encode(None))
        if samples is not None:
            _write_audio(container, audio_stream, samples, audio_written, len(samples))
            container.mux(audio_stream.encode(None))
    return out_path


def _validate_film_args(seconds, width, height, fps, codec, rotation) -> None:
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}.")
    for name, value in (("width", width), ("height", height)):
        if int(value) != value or value < 16 or value % 2:
            raise ValueError(f"{name} must be an even whole number >= 16, got {value!r}.")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps!r}.")
    if codec not in VIDEO_CODECS:
        raise ValueError(f"codec must be one of {', '.join(VIDEO_CODECS)}; got {codec!r}.")
    if rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation!r}.")


def _quality_options(codec: str, crf: int) -> dict[str, str]:
    if codec == "libx265":
        return {"crf": str(crf), "preset": "fast", "x265-params": "log-level=error:pools=1"}
    return {"crf": str(crf), "preset": "fast"}


def _frame_times(seconds: float, fps: float, vfr: bool, rng: np.random.Generator) -> list[float]:
    step = 1.0 / fps
    if not vfr:
        return [i * step for i in range(max(1, int(round(seconds * fps))))]
    times, t = [], 0.0
    while t < seconds - 0.25 * step:
        times.append(t)
        jitter = float(rng.uniform(0.6, 1.4))
        skipped = 2 if rng.random() < 0.08 else 1  # an occasional dropped frame
        t = round(t + step * jitter * skipped, 3)
    return times


def _write_audio(container, stream, samples: np.ndarray, written: int, until: int) -> int:
    until = min(until, len(samples))
    while written < until:
        chunk = samples[written : min(written + _AUDIO_CHUNK, until)]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
        frame.sample_rate = _AUDIO_RATE
        frame.pts = written
        container.mux(stream.encode(frame))
        written += len(chunk)
    return written


def make_broken_files(out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write files that must be rejected by ``probe``, one per failure kind.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Existing folder to write into.

    Returns
    -------
    dict of str to pathlib.Path
        ``"zero_bytes"`` (empty file), ``"truncated"`` (MP4 cut in half, index at
        the end so it is lost), ``"truncated_faststart"`` (index at the start but
        the media data cut off), ``"text_as_mp4"`` (a text file named .mp4) and
        ``"audio_only"`` (an MP4 with only an AAC track).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     sorted(make_broken_files(d))
    ['audio_only', 'text_as_mp4', 'truncated', 'truncated_faststart', 'zero_bytes']
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise ValueError(f"Folder {folder} does not exist; create it first.")
    files = {
        "zero_bytes": folder / "zero_bytes.mp4",
        "truncated": folder / "truncated.mp4",
        "truncated_faststart": folder / "truncated_faststart.mp4",
        "text_as_mp4": folder / "text_as_mp4.mp4",
        "audio_only": folder / "audio_only.mp4",
    }
    files["zero_bytes"].write_bytes(b"")
    files["text_as_mp4"].write_text("Session notes, family 3\nBaseline visit went well.\n", encoding="utf-8")
    for key, faststart, keep in (("truncated", False, 0.5), ("truncated_faststart", True, 0.6)):
        make_synthetic_film(files[key], 2.0, 96, 64, fps=10, seed=3, faststart=faststart)
        data = files[key].read_bytes()
        files[key].write_bytes(data[: int(len(data) * keep)])
    with av.open(str(files["audio_only"]), mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("aac", rate=_AUDIO_RATE, layout="mono")
        samples = render_audio(SceneParams.from_seed(1, horizon_s=5), 1.0, _AUDIO_RATE)
        _write_audio(container, stream, samples, 0, len(samples))
        container.mux(stream.encode(None))
    return files


def generate_sample_media(
    out_dir: str | os.PathLike,
    *,
    families_per_arm: int = 3,
    seconds: tuple[float, float] = (20, 40),
    width: int = 320,
    height: int = 240,
    fps: float = 15,
    seed: int = 2026,
) -> Path:
    """Write the synthetic demo trial's films and ``manifest.csv``.

    Two arms ("VIPP", "Usual care") of ``families_per_arm`` families (F01, F02,
    ...), each with an assessment film at "baseline" and "month5", plus two
    intervention films (session 1) of two VIPP families. Files are called
    ``film_01.mp4``, ... in shuffled order so names reveal neither arm nor time
    point. The parent figure follows the infant a little more closely in VIPP
    month-5 films, so the demo has an effect to find.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to write into (created if missing). Existing ``film_*.mp4`` files
        there are replaced.
    families_per_arm : int
        Families per arm (>= 1; 2 or more when intervention films are wanted).
    seconds : tuple of float
        Range (min, max) of film durations in seconds.
    width, height, fps : int, int, float
        Picture size and frame rate of the films.
    seed : int
        Seed for assignment, durations and film content.

    Returns
    -------
    pathlib.Path
        Path of ``manifest.csv`` with columns file, participant, arm, timepoint,
        purpose, session.

    Examples
    --------
    >>> import tempfile, csv
    >>> with tempfile.TemporaryDirectory() as d:
    ...     manifest = generate_sample_media(d, families_per_arm=1, seconds=(0.5, 0.5),
    ...                                      width=64, height=48, fps=5)
    ...     rows = list(csv.DictReader(manifest.open()))
    >>> len(rows), sorted({r["arm"] for r in rows}), rows[0]["file"]
    (5, ['Usual care', 'VIPP'], 'film_01.mp4')
    """
    if families_per_arm < 1:
        raise ValueError(f"families_per_arm must be at least 1, got {families_per_arm!r}.")
    low, high = seconds
    if not 0 < low <= high:
        raise ValueError(f"seconds must be (min, max) with 0 < min <= max, got {seconds!r}.")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    family_ids = [f"F{i + 1:02d}" for i in range(2 * families_per_arm)]
    shuffled = list(rng.permutation(family_ids))
    arm_of = {f: ("VIPP" if i < families_per_arm else "Usual care") for i, f in enumerate(shuffled)}
    trait = {f: float(rng.uniform(0.25, 0.6)) for f in family_ids}

    plans = []  # (participant, arm, timepoint, purpose, session, responsiveness)
    for family in family_ids:
        for timepoint in ("baseline", "month5"):
            boost = 0.3 if (arm_of[family] == "VIPP" and timepoint == "month5") else 0.0
            plans.append((family, arm_of[family], timepoint, "assessment", "", min(1.0, trait[family] + boost)))
    vipp = sorted(f for f in family_ids if arm_of[f] == "VIPP")
    for family in vipp[:2]:
        plans.append((family, "VIPP", "", "intervention", "1", trait[family] + 0.15))

    order = rng.permutation(len(plans))
    for old in folder.glob("film_*.mp4"):
        old.unlink()
    rows = []
    for number, plan_index in enumerate(order, start=1):
        participant, arm, timepoint, purpose, session, responsiveness = plans[plan_index]
        name = f"film_{number:02d}.mp4"
        make_synthetic_film(
            folder / name,
            float(rng.uniform(low, high)),
            width,
            height,
            fps,
            seed=int(rng.integers(0, 2**31 - 1)),
            responsiveness=responsiveness,
        )
        rows.append(
            {
                "file": name,
                "participant": participant,
                "arm": arm,
                "timepoint": timepoint,
                "purpose": purpose,
                "session": session,
            }
        )
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=_MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.support.synthetic [--out DIR] ...``: regenerate the demo films (``make sample-media``)."""
    import argparse

    from annotate.config import REPO_ROOT

    parser = argparse.ArgumentParser(description="(Re)generate the synthetic demo films and their manifest.")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "sample_media", help="folder to write to")
    parser.add_argument("--families-per-arm", type=int, default=3)
    parser.add_argument("--seconds", type=float, nargs=2, default=(20.0, 40.0), help="shortest and longest film")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=float, default=15.0)
    args = parser.parse_args(argv)
    manifest = generate_sample_media(
        args.out,
        families_per_arm=args.families_per_arm,
        seconds=tuple(args.seconds),
        width=args.width,
        height=args.height,
        fps=args.fps,
    )
    print(f"Wrote films and {manifest}")


if __name__ == "__main__":
    main()
