"""A check made of several rules: it passes if every rule passes, with the worst failure's severity."""

from jobforge_dagster.orchestration.checks import rules_table
from jobforge_dagster.quality.outcome import CheckOutcome, GroupOutcome, RuleOutcome, Severity


def test_rules_combine_into_one_check_with_the_worst_severity() -> None:
    def group(**outcomes: CheckOutcome) -> GroupOutcome:
        return GroupOutcome("check", tuple(RuleOutcome(name, name, name, result) for name, result in outcomes.items()))

    passing = CheckOutcome(True, "ok", {"rows": 3})
    warned = CheckOutcome(False, "source repeated a key", {"duplicates": 1}, Severity.WARN)
    failed = CheckOutcome(False, "2 codes do not resolve", {"unresolved": 2})
    assert group(a=passing).passed
    only_warned = group(a=passing, key_unique=warned)
    assert not only_warned.passed and only_warned.severity is Severity.WARN and not only_warned.blocking
    both = group(key_unique=warned, a=passing, foreign_key=failed)
    assert not both.passed and both.severity is Severity.ERROR and both.blocking
    assert both.failed_rules == ["key_unique", "foreign_key"]
    assert both.figures["foreign_key"] == {"unresolved": 2} and both.figures["a"] == {"rows": 3}
    assert both.description == "key_unique: source repeated a key; foreign_key: 2 codes do not resolve"
    assert "| foreign_key | ERROR | 2 codes do not resolve |" in rules_table(both).value
