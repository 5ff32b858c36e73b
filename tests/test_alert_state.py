import pytest

from orchestration.lib.alert_state import next_state


@pytest.mark.parametrize(
    ("previous", "previous_severity", "firing", "severity", "expected"),
    [
        (None, None, True, "warning", "new"),
        ("recovered", "warning", True, "warning", "new"),
        ("new", "warning", True, "warning", "ongoing"),
        ("ongoing", "warning", True, "critical", "escalated"),
        ("escalated", "critical", True, "critical", "ongoing"),
        ("escalated", "critical", True, "warning", "ongoing"),
        ("ongoing", "warning", False, None, "recovered"),
        ("recovered", "warning", False, None, None),
        (None, None, False, None, None),
    ],
)
def test_an_alert_moves_through_new_ongoing_escalated_and_recovered(
    previous, previous_severity, firing, severity, expected
):
    assert next_state(previous, previous_severity, firing, severity) == expected
