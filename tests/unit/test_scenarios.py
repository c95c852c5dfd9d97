from pathlib import Path

import pytest

from harness.model import Expectation
from harness.model.errors import ConfigError
from harness.run.scenarios import list_scenarios, load_scenario, parse_scenario

GOOD = """
description = "d"
sketch = "founding_report"
board = "twin-esp8266-axtls"
profile = "do-2016-ssl-params"
[expect]
connected = false
cause = "no_shared_cipher"
"""


def test_catalogue_loads():
    assert {"founding-report", "founding-report-fixed"} <= set(list_scenarios())
    s = load_scenario("founding-report")
    assert s.expectation == Expectation(connected=False, cause="no_shared_cipher")
    assert s.defines == {"HIL_SET_CLOCK": "0"}
    fixed = load_scenario("founding-report-fixed")
    assert fixed.expectation == Expectation(connected=True)
    assert fixed.sketch == s.sketch  # same sketch, both fixes outside it


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('colour = "red"\n' + GOOD, ["unknown key 'colour'"]),
        (GOOD + 'colour = "red"\n', ["[expect]: colour"]),
        (GOOD.replace('sketch = "founding_report"\n', ""), ["missing key 'sketch'"]),
        (GOOD.replace("connected = false", 'connected = "no"'), ["connected must be"]),
        (GOOD.replace('"no_shared_cipher"', '"gremlins"'), ["'gremlins'", "catalogue"]),
        (GOOD + "[defines]\nlower = 1\n", ["[defines]"]),
        ("description = ", ["not valid TOML"]),
    ],
)
def test_bad_scenarios_name_file_and_key(text, words):
    with pytest.raises(ConfigError) as err:
        parse_scenario("x", text, Path("/s/x.toml"))
    message = str(err.value)
    assert "/s/x.toml" in message
    for word in words:
        assert word in message
    assert "fix:" in message or "TOML" in message


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        load_scenario("nope")
    assert "founding-report" in str(err.value)
