"""The one Phase type: every spelling the tools use parses to it, and it stays the nbgrader id in JSON."""

import argparse
import json

import pytest

from geoai_ref.phase import Phase, phase_argument


@pytest.mark.parametrize("text", ["4a", "4A", "phase4a", "Phase4A", " 4a ", "phase_4a"])
def test_every_spelling_parses(text):
    assert Phase.parse(text) is Phase.A


def test_spellings_of_each_phase():
    assert [(p.value, p.label, p.short) for p in Phase] == [("phase4a", "4A", "4a"), ("phase4b", "4B", "4b"),
                                                             ("phase4c", "4C", "4c")]


def test_a_phase_is_its_nbgrader_id_in_dicts_and_json():
    assert Phase.B == "phase4b" and {"phase4b": 1}[Phase.B] == 1 and f"{Phase.B}" == "phase4b"
    assert json.loads(json.dumps({Phase.C: Phase.C})) == {"phase4c": "phase4c"}


def test_unknown_phase_names_the_spellings():
    with pytest.raises(ValueError, match="use 4a, 4b or 4c"):
        Phase.parse("4d")


def test_many_phases_from_a_command_line_value():
    assert Phase.parse_many("all") == tuple(Phase) and Phase.parse_many(None) == tuple(Phase)
    assert Phase.parse_many("4c,4A,phase4c") == (Phase.C, Phase.A)
    with pytest.raises(argparse.ArgumentTypeError, match="unknown phase '4x'"):
        phase_argument("4a,4x")
