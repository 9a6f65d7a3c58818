"""AppTest checks of the segment player component (annotate.ui.player).

A components-v2 element appears in AppTest as an UnknownElement of type
``bidi_component``; its ``proto`` is the BidiComponent message, so the data sent to
the browser is ``proto.json``. Its state is set through ``at.session_state[key]``
as ``{"playback": {...}}``, the shape the browser's setStateValue produces.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from annotate.ui.player import COMPONENT_NAME, STATE_NAME, segment_player

SRC = "/api/media/B7K2Q?t=signed-token"


def _player_page(src: str, start_s: float, end_s: float, fps: float | None, label: str) -> None:
    import streamlit as st

    from annotate.ui.player import segment_player

    state = segment_player(src=src, start_s=start_s, end_s=end_s, key="player", fps=fps, label=label)
    st.write(f"state={state!r}")


def _app(start_s: float = 1.0, end_s: float = 4.5, fps: float | None = 25.0, label: str = "Segment 2") -> AppTest:
    return AppTest.from_function(
        _player_page,
        kwargs={"src": SRC, "start_s": start_s, "end_s": end_s, "fps": fps, "label": label},
    )


def _player_element(at: AppTest):
    elements = at.get("bidi_component")
    assert len(elements) == 1
    return elements[0]


def test_component_receives_exactly_the_passed_data() -> None:
    at = _app().run()
    assert not at.exception
    element = _player_element(at)
    assert element.proto.component_name == COMPONENT_NAME
    assert element.key == "player"
    # Blinding: the browser gets these five fields and nothing else.
    assert json.loads(element.proto.json) == {
        "src": SRC,
        "start_s": 1.0,
        "end_s": 4.5,
        "fps": 25.0,
        "label": "Segment 2",
    }
    assert "<video" in element.proto.html_content
    assert "export default function" in element.proto.js_content
    assert ".sp-root" in element.proto.css_content
    assert element.proto.isolate_styles is True


def test_unknown_fps_is_sent_as_null() -> None:
    at = _app(fps=None).run()
    assert json.loads(_player_element(at).proto.json)["fps"] is None


def test_returns_none_until_the_browser_reports() -> None:
    at = _app().run()
    assert at.markdown[0].value == "state=None"


def test_state_set_in_session_state_is_read_back_as_player_state() -> None:
    at = _app().run()
    at.session_state["player"] = {
        STATE_NAME: {
            "current_time": 2.5,
            "playing": False,
            "ended_segment": False,
            "start_s": 1.0,
            "end_s": 4.5,
        }
    }
    at.run()
    assert not at.exception
    assert at.markdown[0].value == ("state=PlayerState(current_time=2.5, playing=False, ended_segment=False)")


def test_segment_end_report_is_read_back() -> None:
    at = _app().run()
    at.session_state["player"] = {
        STATE_NAME: {"current_time": 4.5, "playing": False, "ended_segment": True, "start_s": 1.0, "end_s": 4.5}
    }
    at.run()
    assert at.markdown[0].value == ("state=PlayerState(current_time=4.5, playing=False, ended_segment=True)")


def test_report_for_other_segment_bounds_is_ignored() -> None:
    at = _app().run()
    at.session_state["player"] = {
        STATE_NAME: {"current_time": 9.0, "playing": True, "ended_segment": False, "start_s": 8.0, "end_s": 12.0}
    }
    at.run()
    assert at.markdown[0].value == "state=None"


def test_element_id_is_stable_across_reruns() -> None:
    at = _app().run()
    first_id = _player_element(at).proto.id
    at.run()
    assert _player_element(at).proto.id == first_id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"src": ""}, "non-empty media URL"),
        ({"start_s": -1.0}, "0 or more"),
        ({"end_s": 1.0}, "must be later than"),
        ({"end_s": float("nan")}, "finite number"),
        ({"fps": 0.0}, "positive number"),
        ({"height": 0}, "positive number of pixels"),
    ],
)
def test_invalid_arguments_raise_clear_errors(kwargs: dict, message: str) -> None:
    arguments = {"src": SRC, "start_s": 1.0, "end_s": 4.5, "key": "p"} | kwargs
    with pytest.raises(ValueError, match=message):
        segment_player(**arguments)
