"""Every kind of bad input raises its named error, naming the file, the row and the column."""

from __future__ import annotations

import pytest

from analysis.pages import reproducibility


@pytest.mark.parametrize("scenario", reproducibility.SCENARIOS, ids=lambda s: s.expected)
def test_bad_input_raises_the_named_error(scenario):
    error = reproducibility.run(scenario)
    assert error is not None, f"{scenario.name}: the bad input was accepted"
    assert type(error).__name__ == scenario.expected
    message = str(error)
    assert "sgred_la_t20.csv" in message
    if scenario.expected not in {"ChecksumError", "MissingRawFileError"}:
        assert error.row is not None and f"row {error.row}" in message
        assert error.column is not None and repr(error.column) in message


def test_the_demonstration_table_shows_every_scenario():
    table = reproducibility.demonstrations()
    assert list(table["error raised"]) == [s.expected for s in reproducibility.SCENARIOS]
