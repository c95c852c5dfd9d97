import json

import pytest

from harness.cli import main
from harness.model.errors import ConfigError
from harness.run.benchmarks import Figure, discover, select


def test_figure_json_has_the_designed_keys():
    fig = Figure("x", 2.0, "s", "base", 0.5, 7)
    doc = fig.to_json()
    assert set(doc) == {"name", "value", "unit", "baseline", "baseline_value", "ratio", "runs"}
    assert doc["ratio"] == 4.0


def test_bench_modules_are_discovered():
    assert {"warm_run", "server_ready", "log_diagnosis"} <= set(discover())


def test_unknown_benchmark_is_a_clear_error():
    with pytest.raises(ConfigError) as err:
        select(["nope"])
    assert "warm_run" in str(err.value)


def test_hil_bench_runs_one_figure_as_json(capsys):
    assert main(["bench", "server_ready", "--runs", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["name"].startswith("builtin server") and doc["runs"] == 1
    assert doc["value"] > 0 and doc["baseline_value"] > 0


def test_hil_bench_diagnosis_counts_right_unknown_and_wrong(capsys):
    assert main(["bench", "diagnosis", "--runs", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["unit"] == "%" and 0 < doc["value"] <= 100
    # No log whose thread settled a cause is named wrong; the keyword reading is.
    assert "wrong 0 (confidently 0);" in doc["name"]
    assert "keyword reading" in doc["baseline"] and doc["baseline_value"] < doc["value"]
