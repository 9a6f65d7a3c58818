"""Session package for a video-feedback visit: clips, captions, stills, playlist, script.

The zip holds ``clips/NN.mp4`` (``cut_clip``), ``clips/NN.vtt`` (the caption as
WebVTT, for players such as VLC that load subtitles next to the film),
``stills/NN.jpg`` (the in-point picture), ``index.html`` (an offline playlist:
plain HTML and JavaScript with relative links only) and ``script.html`` (a
printable session script), plus ``script.pdf`` when matplotlib is installed
(its PDF backend; no extra dependency is added). ``index.html`` is what the
family sees: the clips and their captions only; tags, growth points and every
note of the clinician are in the script. Captions are subtitles (``<track>``
from the clip's ``.vtt``, shown by browsers that load tracks from files) and are
also written under the video by the playlist itself, because Chromium refuses
to load ``<track>`` files from ``file://`` pages.

Nothing in the package names anything but what the caller passes in: clips are
numbered, source file names and paths are not written, no date is written
(zip entries carry the fixed time 1980-01-01 00:00, the PDF has no creation
date). Timecodes are ``mm:ss.ff`` with ``ff`` the frame within the second
(SMPTE ST 12-1 style, at the film's frame rate).
"""

from __future__ import annotations

import html
import json
import math
import os
import secrets
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from annotate.media.clips import ClipResult, cut_clip, write_webvtt
from annotate.media.errors import MediaError
from annotate.media.thumbs import frame_at

__all__ = ["PackageClip", "build_session_package", "timecode"]

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_STILL_WIDTH = 480


@dataclass(frozen=True)
class PackageClip:
    """One clip of a feedback session, as the clinician prepared it.

    Attributes
    ----------
    src : pathlib.Path
        The proxy film to cut from.
    in_s, out_s : float
        In and out point in seconds.
    labels : tuple of str
        Theme and tag labels to show (e.g. ``"Speaking for the child"``).
    polarity : str
        How the moment is used, e.g. ``"Strength"`` or ``"Growth point"``; may be empty.
    caption : str
        Words shown under (or burnt into) the clip; may be empty.
    notes : str
        What to say and ask; may be empty.
    order : int
        Position in the session (clips are sorted by it).

    Examples
    --------
    >>> PackageClip(Path("p.mp4"), 1.0, 5.0, labels=["Sharing emotions"]).labels
    ('Sharing emotions',)
    """

    src: Path
    in_s: float
    out_s: float
    labels: tuple[str, ...] = field(default_factory=tuple)
    polarity: str = ""
    caption: str = ""
    notes: str = ""
    order: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "src", Path(self.src))
        if isinstance(self.labels, str):
            raise ValueError("labels must be a list of labels, not one string.")
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))


def timecode(t_s: float, fps: float) -> str:
    """Format seconds as ``mm:ss.ff`` (minutes, seconds, frame within the second).

    Examples
    --------
    >>> timecode(75.52, 25), timecode(3600.0, 30), timecode(1.001, 30000 / 1001)
    ('01:15.13', '60:00.00', '00:01.00')
    """
    if not t_s >= 0 or not fps > 0:
        raise ValueError(f"Need t_s >= 0 and fps > 0, got {t_s!r} and {fps!r}.")
    frames = int(round(t_s * fps))
    seconds = int(frames / fps + 1e-9)
    frame = frames - math.ceil(seconds * fps - 1e-9)  # frames before this second started
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes:02d}:{seconds:02d}.{frame:02d}"


@dataclass(frozen=True)
class _Exported:
    number: str
    clip: PackageClip
    result: ClipResult
    fps: float
    has_vtt: bool


def build_session_package(
    out_zip: str | os.PathLike,
    clips: Sequence[PackageClip],
    *,
    title: str,
    opening_note: str,
    closing_note: str,
    family_label: str,
    session_no: int,
    burn_captions: bool,
    progress: Callable[[float], None] | None = None,
) -> Path:
    """Write the zip a clinician takes to a family's home.

    Parameters
    ----------
    out_zip : str or os.PathLike
        Zip file to write; its folder must exist. Replaced if present.
    clips : sequence of PackageClip
        The session's clips, in any order (sorted by ``order``).
    title, opening_note, closing_note : str
        Shown in the playlist and the script.
    family_label : str
        How the family is named in the script (e.g. first names); the caller
        decides what may appear.
    session_no : int
        Number of the feedback session (>= 1).
    burn_captions : bool
        Also draw each caption into the picture of its clip.
    progress : callable, optional
        Called with fractions from 0.0 to 1.0.

    Returns
    -------
    pathlib.Path
        The zip file.

    Raises
    ------
    ValueError
        If there are no clips or the session number is not a whole number >= 1.
    ClipRangeError
        If a clip's in/out points do not lie inside its film.
    MediaError
        If a film cannot be read or the zip cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib, zipfile
    >>> from tests.support.synthetic import make_synthetic_film
    >>> with tempfile.TemporaryDirectory() as d:
    ...     film = make_synthetic_film(pathlib.Path(d) / "f.mp4", 1.0, 64, 48, fps=10)
    ...     z = build_session_package(pathlib.Path(d) / "s.zip",
    ...             [PackageClip(film, 0.2, 0.8, caption="Hello!")], title="Visit 2",
    ...             opening_note="", closing_note="", family_label="Sam", session_no=2,
    ...             burn_captions=False)
    ...     names = zipfile.ZipFile(z).namelist()
    >>> [n for n in names if not n.endswith(".pdf")]
    ['clips/01.mp4', 'clips/01.vtt', 'stills/01.jpg', 'index.html', 'script.html']
    """
    if not clips:
        raise ValueError("The session has no clips; add at least one clip before exporting.")
    if not isinstance(session_no, int) or isinstance(session_no, bool) or session_no < 1:
        raise ValueError(f"session_no must be a whole number >= 1, got {session_no!r}.")
    target = Path(out_zip)
    if not target.parent.is_dir():
        raise MediaError(f"Cannot write the package: folder '{target.parent}' does not exist.")
    report = progress or (lambda _fraction: None)
    report(0.0)
    ordered = sorted(clips, key=lambda c: c.order)
    texts = dict(
        title=title,
        opening_note=opening_note,
        closing_note=closing_note,
        family_label=family_label,
        session_no=session_no,
    )
    with tempfile.TemporaryDirectory(prefix="session_package_") as tmp:
        folder = Path(tmp)
        (folder / "clips").mkdir()
        (folder / "stills").mkdir()
        exported = []
        for position, clip in enumerate(ordered):
            exported.append(_export_clip(folder, position, len(ordered), clip, burn_captions, report))
        (folder / "index.html").write_text(_index_html(exported, texts), encoding="utf-8")
        (folder / "script.html").write_text(_script_html(exported, texts), encoding="utf-8")
        pdf = _script_pdf(folder, exported, texts)
        members = []
        for item in exported:
            members.append(f"clips/{item.number}.mp4")
            if item.has_vtt:
                members.append(f"clips/{item.number}.vtt")
        members += [f"stills/{item.number}.jpg" for item in exported]
        members += ["index.html", "script.html"] + (["script.pdf"] if pdf else [])
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        try:
            with zipfile.ZipFile(partial, "w") as archive:
                for name in members:
                    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                    compressed = name.endswith((".html", ".vtt"))
                    info.compress_type = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
                    info.external_attr = 0o644 << 16
                    archive.writestr(info, (folder / name).read_bytes())
            os.replace(partial, target)
        except OSError as exc:
            raise MediaError(f"Cannot write the package '{target.name}': {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
    report(1.0)
    return target


def _export_clip(
    folder: Path, position: int, total: int, clip: PackageClip, burn_captions: bool, report: Callable[[float], None]
) -> _Exported:
    number = f"{position + 1:02d}"
    caption = clip.caption.strip()

    def clip_progress(fraction: float) -> None:
        report(0.9 * (position + fraction) / total)

    result = cut_clip(
        clip.src,
        folder / "clips" / f"{number}.mp4",
        clip.in_s,
        clip.out_s,
        caption=caption or None,
        burn_caption=burn_captions and bool(caption),
        progress=clip_progress,
    )
    if caption:
        write_webvtt(folder / "clips" / f"{number}.vtt", [(0.0, result.duration_s, caption)])
    still = frame_at(clip.src, result.in_s)
    height = round(still.shape[0] * _STILL_WIDTH / still.shape[1])
    if still.shape[1] > _STILL_WIDTH:
        still = cv2.resize(still, (_STILL_WIDTH, height), interpolation=cv2.INTER_AREA)
    if not cv2.imwrite(
        str(folder / "stills" / f"{number}.jpg"), cv2.cvtColor(still, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88]
    ):
        raise MediaError(f"Could not write the still of clip {number}.")
    fps = result.n_frames / result.duration_s
    return _Exported(number, clip, result, fps, bool(caption))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _paragraphs(text: str) -> str:
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return "".join(f"<p>{_e(b).replace(chr(10), '<br>')}</p>" for b in blocks)


def _span_text(item: _Exported) -> str:
    r = item.result
    return f"{timecode(r.in_s, item.fps)} – {timecode(r.out_s, item.fps)} ({r.duration_s:.1f} s)"


_INDEX_CSS = """
body{font-family:system-ui,sans-serif;margin:0;background:#1d1f21;color:#eee}
header,main{max-width:1000px;margin:0 auto;padding:12px 16px}
h1{font-size:1.4em;margin:.3em 0}
.unzip{background:#fff3cd;color:#5c4400;padding:8px 12px;border-radius:6px}
video{width:100%;max-height:70vh;background:#000;display:block}
#caption{font-size:1.5em;text-align:center;min-height:1.6em;margin:.4em 0}
#meta{color:#bbb}
ol{padding-left:1.4em} li{margin:.4em 0;cursor:pointer} li.current{font-weight:bold;color:#fff}
li span{color:#aaa;font-weight:normal}
button{font-size:1em;margin-right:.5em;padding:.3em .8em}
.note{color:#ccc}
"""

_INDEX_JS = """
const clips = JSON.parse(document.getElementById('clip-data').textContent);
const video = document.getElementById('player');
const caption = document.getElementById('caption');
const track = document.getElementById('subtitles');
const items = document.querySelectorAll('#playlist li');
let current = 0;
function show(i, play) {
  current = i;
  const c = clips[i];
  video.src = c.src;
  video.poster = c.still;
  track.src = c.vtt || '';
  track.track.mode = c.vtt ? 'showing' : 'disabled';
  caption.textContent = c.caption;
  items.forEach((li, k) => li.classList.toggle('current', k === i));
  if (play) { video.play().catch(() => {}); }
}
video.addEventListener('ended', () => { if (current + 1 < clips.length) show(current + 1, true); });
items.forEach((li, k) => li.addEventListener('click', () => show(k, true)));
document.getElementById('prev').addEventListener('click', () => show(Math.max(0, current - 1), true));
document.getElementById('next').addEventListener('click',
  () => show(Math.min(clips.length - 1, current + 1), true));
document.getElementById('play-all').addEventListener('click', () => show(0, true));
show(0, false);
"""


def _index_html(exported: list[_Exported], texts: dict) -> str:
    data = [
        {
            "src": f"clips/{item.number}.mp4",
            "still": f"stills/{item.number}.jpg",
            "vtt": f"clips/{item.number}.vtt" if item.has_vtt else "",
            "caption": item.clip.caption.strip(),
        }
        for item in exported
    ]
    # "</" inside a script block would end it early; JSON allows "<\/".
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    # The family's page: the clips and their captions only. Tags, growth points, the clinician's
    # notes ("what to say and ask") and the session notes are in script.html, the clinician's copy.
    rows = "".join(
        f"<li>{_e(item.clip.caption.strip() or 'Clip ' + item.number)} <span>{item.result.duration_s:.0f} s</span></li>"
        for item in exported
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(texts["title"])}</title><style>{_INDEX_CSS}</style></head>
<body><header>
<h1>{_e(texts["title"])}</h1>
<p class="unzip">Unzip (extract) this package to a folder first, then open <b>index.html</b>
from that folder. Browsers cannot play the clips from inside a zip file. No internet is needed.</p>
<noscript><p class="unzip">JavaScript is off: open the files in the <b>clips</b> folder one by
one instead.</p></noscript>
</header><main>
<video id="player" controls playsinline preload="metadata">
<track id="subtitles" kind="subtitles" srclang="en" label="Captions" default></video>
<div id="caption"></div>
<p><button id="prev">Previous</button><button id="play-all">Play all</button>
<button id="next">Next</button></p>
<ol id="playlist">{rows}</ol>
</main>
<script type="application/json" id="clip-data">{payload}</script>
<script>{_INDEX_JS}</script>
</body></html>
"""


_SCRIPT_CSS = """
body{font-family:Georgia,serif;max-width:800px;margin:24px auto;padding:0 16px;color:#111}
h1{font-size:1.6em;margin-bottom:.1em} .sub{color:#444;margin-top:0}
.clip{display:flex;gap:16px;border-top:1px solid #999;padding:12px 0;page-break-inside:avoid;
break-inside:avoid}
.clip img{width:240px;height:auto;border:1px solid #ccc;flex:none}
.clip h2{font-size:1.1em;margin:0 0 .3em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
dt{font-weight:bold} dd{margin:0} dd p{margin:0 0 .4em}
.caption{font-style:italic}
@media print{body{margin:0;max-width:none} @page{size:A4;margin:15mm} a{color:inherit}}
"""


def _script_html(exported: list[_Exported], texts: dict) -> str:
    blocks = []
    for item in exported:
        clip = item.clip
        rows = [("Time", f"{_span_text(item)} · clips/{item.number}.mp4")]
        rows.append(("Theme", ", ".join(clip.labels) or "—"))
        if clip.polarity:
            rows.append(("Polarity", clip.polarity))
        cells = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
        if clip.caption.strip():
            cells += f'<dt>Caption</dt><dd class="caption">“{_e(clip.caption.strip())}”</dd>'
        if clip.notes.strip():
            cells += f"<dt>Notes</dt><dd>{_paragraphs(clip.notes)}</dd>"
        blocks.append(
            f'<section class="clip"><img src="stills/{item.number}.jpg" '
            f'alt="Still of clip {item.number}"><div><h2>Clip {item.number}</h2>'
            f"<dl>{cells}</dl></div></section>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(texts["title"])} – script</title>
<style>{_SCRIPT_CSS}</style></head><body>
<h1>{_e(texts["title"])}</h1>
<p class="sub">{_e(texts["family_label"])} · Session {_e(texts["session_no"])}</p>
<h2>Opening</h2>{_paragraphs(texts["opening_note"]) or "<p>—</p>"}
{"".join(blocks)}
<h2>Closing</h2>{_paragraphs(texts["closing_note"]) or "<p>—</p>"}
<p class="sub">Timecodes are minutes:seconds.frames.</p>
</body></html>
"""


def _script_pdf(folder: Path, exported: list[_Exported], texts: dict) -> bool:
    """Write script.pdf with matplotlib's PDF backend if matplotlib is installed."""
    try:
        from matplotlib.backends.backend_pdf import PdfPages
        from matplotlib.figure import Figure
    except ImportError:
        return False
    a4 = (8.27, 11.69)
    per_page = 3
    metadata = {"Title": str(texts["title"]), "Creator": None, "Producer": None, "CreationDate": None}

    def lines_of(text: object, width: int) -> list[str]:
        return [w for p in str(text).splitlines() or [""] for w in (textwrap.wrap(p, width) or [""])]

    with PdfPages(folder / "script.pdf", metadata=metadata) as pdf:
        pages = [exported[i : i + per_page] for i in range(0, len(exported), per_page)] or [[]]
        for page_no, page in enumerate(pages):
            fig = Figure(figsize=a4)
            y = 0.95
            if page_no == 0:
                fig.text(0.08, y, str(texts["title"]), fontsize=16, weight="bold", va="top", parse_math=False)
                y -= 0.035
                fig.text(
                    0.08,
                    y,
                    f"{texts['family_label']} · Session {texts['session_no']}",
                    fontsize=10,
                    va="top",
                    parse_math=False,
                    color="#444444",
                )
                y -= 0.03
                for line in lines_of(texts["opening_note"], 95)[:8]:
                    fig.text(0.08, y, line, fontsize=9, va="top", parse_math=False)
                    y -= 0.016
                y -= 0.01
            for item in page:
                picture = cv2.imread(str(folder / "stills" / f"{item.number}.jpg"))
                if picture is None:
                    raise MediaError(f"The still of clip {item.number} could not be read back for the script.")
                still = picture[:, :, ::-1]
                box_h = 0.26
                ax = fig.add_axes((0.08, y - box_h * 0.62, 0.3, box_h * 0.6))
                ax.imshow(still)
                ax.set_axis_off()
                text_lines = [
                    f"Clip {item.number}   {_span_text(item)}",
                    "Theme: " + (", ".join(item.clip.labels) or "—"),
                ]
                if item.clip.polarity:
                    text_lines.append(f"Polarity: {item.clip.polarity}")
                if item.clip.caption.strip():
                    text_lines += lines_of(f"Caption: “{item.clip.caption.strip()}”", 55)
                text_lines += lines_of(f"Notes: {item.clip.notes}", 55) if item.clip.notes else []
                for k, line in enumerate(text_lines[:14]):
                    fig.text(
                        0.41,
                        y - 0.017 * k,
                        line,
                        fontsize=9,
                        va="top",
                        parse_math=False,
                        weight="bold" if k == 0 else "normal",
                    )
                y -= box_h
            if page_no == len(pages) - 1:
                for line in lines_of(texts["closing_note"], 95)[:8]:
                    fig.text(0.08, y, line, fontsize=9, va="top", parse_math=False)
                    y -= 0.016
            pdf.savefig(fig)
    return True
