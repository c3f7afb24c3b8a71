"""The command line: which scenarios run, in which OCPP version."""

from __future__ import annotations

from bench import cli


def test_make_bench_runs_the_201_closed_loop_beside_the_16_one() -> None:
    assert cli.parse([]).scenarios == ["closed", "closed-v201", "closed-amqp", "open", "storm"]
    options = cli.parse(["--scenario", "compare", "--rounds", "3"])
    assert options.scenarios == ["closed", "closed-v201"] and options.rounds == 3
    options.scenarios.remove("closed")  # check_versions drops a version's scenarios from a run's list
    assert cli.GROUPS["compare"] == ["closed", "closed-v201"]
    assert {name: s.version for name, s in cli.SCENARIOS.items() if s.load == "closed"} == {
        "closed": "1.6",
        "closed-v201": "2.0.1",
        "closed-amqp": "1.6",
    }
    assert len({s.letter for s in cli.SCENARIOS.values()}) == len(cli.SCENARIOS)  # charger ids never shared
