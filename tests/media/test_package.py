"""Tests for annotate.media.package: the session zip, its playlist and script."""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from annotate.media.clips import ClipRangeError
from annotate.media.package import PackageClip, build_session_package, timecode
from annotate.media.proxy import make_proxy
from annotate.media.thumbs import frame_at
from tests.media.test_clips import make_counter_film

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("package")
    original = make_counter_film(folder / "zebrafamily_original.mp4")
    target = folder / "zebrafamily_proxy.mp4"
    make_proxy(original, target)
    return target


def session_clips(proxy: Path) -> list[PackageClip]:
    return [
        PackageClip(
            proxy,
            3.0,
            4.4,
            labels=["Sharing emotions"],
            polarity="Growth point",
            caption="",
            notes="Ask: what was she telling you?",
            order=5,
        ),
        PackageClip(
            proxy,
            1.32,
            4.6,
            labels=["Speaking for the child", "Now moment"],
            polarity="Strength",
            caption="Mummy, look — I can do it! <3",
            notes="Point out how she waited.\n\nThen ask how it felt.",
            order=1,
        ),
    ]


def build(proxy: Path, out: Path, burn: bool = False) -> Path:
    return build_session_package(
        out,
        session_clips(proxy),
        title="Feedback visit",
        opening_note="Welcome back.",
        closing_note="See you in two weeks.",
        family_label="Mira & Jonas",
        session_no=3,
        burn_captions=burn,
    )


@pytest.fixture(scope="module")
def package(proxy, tmp_path_factory) -> Path:
    return build(proxy, tmp_path_factory.mktemp("zip") / "session.zip")


def test_members_in_session_order(package):
    names = zipfile.ZipFile(package).namelist()
    expected = [
        "clips/01.mp4",
        "clips/01.vtt",
        "clips/02.mp4",
        "stills/01.jpg",
        "stills/02.jpg",
        "index.html",
        "script.html",
    ]
    assert names[: len(expected)] == expected
    assert names[len(expected) :] in ([], ["script.pdf"])


def test_clips_follow_order_field(package, proxy, tmp_path):
    with zipfile.ZipFile(package) as archive:
        archive.extractall(tmp_path)
    # Clip 01 is the one with order=1 (in 1.32 s): its still is the in frame.
    still = cv2.imread(str(tmp_path / "stills" / "01.jpg"))[:, :, ::-1].astype(int)
    source = frame_at(proxy, 33 / 25).astype(int)
    neighbour = frame_at(proxy, 34 / 25).astype(int)
    assert np.abs(still - source).mean() * 3 < np.abs(still - neighbour).mean()
    vtt = (tmp_path / "clips" / "01.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and "00:00:00.000 --> 00:00:03.280" in vtt
    assert "Mummy, look — I can do it! &lt;3" in vtt


def test_index_html_references_existing_files_only(package, tmp_path):
    with zipfile.ZipFile(package) as archive:
        archive.extractall(tmp_path)
        names = set(archive.namelist())
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    refs = set(re.findall(r'"((?:clips|stills)/[^"]+)"', page))
    assert refs == {"clips/01.mp4", "clips/02.mp4", "clips/01.vtt", "stills/01.jpg", "stills/02.jpg"}
    assert refs <= names
    assert '<track id="subtitles" kind="subtitles"' in page  # captions as subtitles of the player
    assert "http://" not in page and "https://" not in page and "file:" not in page
    assert "Unzip (extract) this package" in page
    block = re.search(r'<script type="application/json" id="clip-data">(.*?)</script>', page, re.S)
    data = json.loads(block.group(1))
    assert [c["caption"] for c in data] == ["Mummy, look — I can do it! <3", ""]
    assert [c["vtt"] for c in data] == ["clips/01.vtt", ""]
    # The family's page shows clips and captions only: no tag, growth point or clinician's note.
    for private in ("Speaking for the child", "Now moment", "Growth point", "Ask: what was she", "Point out how"):
        assert private not in page, private
    assert set(data[0]) == {"src", "still", "vtt", "caption"}


def test_script_html_content(package, tmp_path):
    with zipfile.ZipFile(package) as archive:
        page = archive.read("script.html").decode("utf-8")
    for text in (
        "Feedback visit",
        "Mira &amp; Jonas",
        "Session 3",
        "Welcome back.",
        "See you in two weeks.",
        "00:01.08 – 00:04.15 (3.3 s)",
        "Speaking for the child, Now moment",
        "Strength",
        "Growth point",
        "Point out how she waited.",
        "Then ask how it felt.",
        "@media print",
        'src="stills/02.jpg"',
    ):
        assert text in page, text
    assert page.index("Clip 01") < page.index("Clip 02")


def test_package_names_nothing_but_what_was_passed(package, proxy):
    with zipfile.ZipFile(package) as archive:
        infos = archive.infolist()
        blobs = {i.filename: archive.read(i) for i in infos}
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    for name, blob in blobs.items():
        lowered = blob.lower()
        assert b"zebrafamily" not in lowered, name
        assert str(proxy.parent).encode() not in blob, name
        assert not re.search(rb"20\d\d-\d\d-\d\d", blob), name
        assert b"creationdate" not in lowered, name


def test_burnt_captions_package(proxy, tmp_path):
    zipped = build(proxy, tmp_path / "burnt.zip", burn=True)
    assert "clips/01.mp4" in zipfile.ZipFile(zipped).namelist()


def test_bad_input(proxy, tmp_path):
    with pytest.raises(ValueError, match="no clips"):
        build_session_package(
            tmp_path / "s.zip",
            [],
            title="t",
            opening_note="",
            closing_note="",
            family_label="f",
            session_no=1,
            burn_captions=False,
        )
    with pytest.raises(ValueError, match="session_no"):
        build_session_package(
            tmp_path / "s.zip",
            session_clips(proxy),
            title="t",
            opening_note="",
            closing_note="",
            family_label="f",
            session_no=0,
            burn_captions=False,
        )
    with pytest.raises(ClipRangeError, match="past the end"):
        build_session_package(
            tmp_path / "s.zip",
            [PackageClip(proxy, 1.0, 60.0)],
            title="t",
            opening_note="",
            closing_note="",
            family_label="f",
            session_no=1,
            burn_captions=False,
        )
    assert not (tmp_path / "s.zip").exists()
    with pytest.raises(ValueError, match="list of labels"):
        PackageClip(proxy, 1.0, 2.0, labels="Sharing emotions")


def test_timecode():
    assert timecode(0, 25) == "00:00.00"
    assert timecode(59.96, 25) == "00:59.24"
    assert timecode(60.0, 25) == "01:00.00"
    with pytest.raises(ValueError):
        timecode(-1, 25)


@pytest.mark.e2e
def test_index_html_plays_first_clip_in_chromium(package, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with zipfile.ZipFile(package) as archive:
        archive.extractall(tmp_path / "session")
    url = (tmp_path / "session" / "index.html").as_uri()
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = context.new_page()
            page.goto(url)
            assert page.inner_text("#caption") == "Mummy, look — I can do it! <3"
            page.click("#play-all")
            page.wait_for_function(
                "() => { const v = document.getElementById('player');"
                " return v.videoWidth > 0 && v.currentTime > 0.5; }",
                timeout=20_000,
            )
            state = page.evaluate(
                "() => { const v = document.getElementById('player');"
                " return [v.videoWidth, v.videoHeight, v.error, v.src.endsWith('clips/01.mp4')]; }"
            )
            assert state == [160, 120, None, True]
            # At the end of clip 1 the playlist moves on to clip 2 by itself.
            page.evaluate("() => { const v = document.getElementById('player'); v.currentTime = v.duration - 0.2; }")
            page.wait_for_function(
                "() => document.getElementById('player').src.endsWith('clips/02.mp4')"
                " && document.getElementById('player').currentTime > 0.2",
                timeout=20_000,
            )
        finally:
            context.close()


def test_caption_cannot_break_out_of_the_page(proxy, tmp_path):
    evil = '</script><script>alert("x")</script> & <b>'
    zipped = build_session_package(
        tmp_path / "s.zip",
        [PackageClip(proxy, 1.0, 2.0, caption=evil, notes=evil)],
        title=evil,
        opening_note=evil,
        closing_note="",
        family_label=evil,
        session_no=1,
        burn_captions=False,
    )
    with zipfile.ZipFile(zipped) as archive:
        index = archive.read("index.html").decode("utf-8")
        script = archive.read("script.html").decode("utf-8")
    assert index.count("</script>") == 2 and script.count("<script") == 0
    block = re.search(r'id="clip-data">(.*?)</script>', index, re.S)
    assert json.loads(block.group(1))[0]["caption"] == evil
