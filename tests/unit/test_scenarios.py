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


PER_CORE = GOOD.replace(
    '[expect]\nconnected = false\ncause = "no_shared_cipher"\n',
    '[expect."esp8266-2.4.2"]\nconnected = false\ncause = "no_shared_cipher"\n'
    '[expect."esp8266-2.5.2"]\nconnected = true\n',
)


def test_per_core_expectations():
    s = parse_scenario("x", 'group = "regressions"\n' + PER_CORE, Path("/s/x.toml"))
    assert s.group == "regressions"
    assert s.cores == ("esp8266-2.4.2", "esp8266-2.5.2")
    assert s.expectation == Expectation(connected=False, cause="no_shared_cipher")
    on = s.on_core("esp8266-2.5.2", "twin-esp8266-2.5.2")
    assert (on.name, on.board, on.expectation) == (
        "x@esp8266-2.5.2",
        "twin-esp8266-2.5.2",
        Expectation(connected=True),
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            PER_CORE.replace('"esp8266-2.5.2"', '"esp8266-9.9.9"'),
            ["esp8266-9.9.9", "esp8266-2.4.2"],
        ),
        ('group = "misc"\n' + GOOD, ["group 'misc'", "regressions"]),
    ],
)
def test_bad_per_core_tables(text, words):
    with pytest.raises(ConfigError) as err:
        parse_scenario("x", text, Path("/s/x.toml"))
    for word in words:
        assert word in str(err.value)


def test_name_at_core_loads_the_twin_of_that_core():
    s = load_scenario("ip-san-name-check-2.5@esp8266-2.5.2")
    assert s.board == "twin-esp8266-2.5.2"
    assert s.expectation == Expectation(connected=False, cause="hostname_mismatch")
    with pytest.raises(ConfigError) as err:
        load_scenario("ip-san-name-check-2.5@esp32-1.0.6")
    assert "esp8266-2.4.2" in str(err.value)


def test_groups_keep_the_founding_report_apart():
    from harness.run.scenarios import scenario_groups

    groups = scenario_groups()
    assert "founding-report" in groups["founding report"]
    assert len(groups["regressions"]) >= 12
    assert not set(groups["founding report"]) & set(groups["regressions"])
