"""What a check found: one rule's outcome, and a group of rules reported as one check. The one model the catalog,
OpenLineage and Dagster each read their own shape from."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class Severity(StrEnum):
    """How grave a failed rule is: an ERROR blocks gold from being published, a WARN is reported."""

    ERROR = "ERROR"
    WARN = "WARN"


@dataclass(frozen=True)
class CheckOutcome:
    """One rule's result: whether it passed, why, what it measured, and (for a rule that reads another gold
    table) the batch of that table it compared with."""

    passed: bool
    description: str
    figures: dict[str, Any] = field(default_factory=dict)
    severity: Severity = Severity.ERROR
    compared_with_batch: str | None = None


@dataclass(frozen=True)
class RuleOutcome:
    """A rule's outcome with what the rule is: its name, the assertion it makes, the column it tests."""

    name: str
    assertion: str
    description: str
    outcome: CheckOutcome
    column: str | None = None
    compares_batches: bool = False

    @property
    def blocking(self) -> bool:
        return not self.outcome.passed and self.outcome.severity is Severity.ERROR


@dataclass(frozen=True)
class GroupOutcome:
    """Several rules reported as one check: it passes if every rule passes; its severity is the worst failure's."""

    name: str
    rules: tuple[RuleOutcome, ...]

    @property
    def passed(self) -> bool:
        return all(rule.outcome.passed for rule in self.rules)

    @property
    def failed_rules(self) -> list[str]:
        return [rule.name for rule in self.rules if not rule.outcome.passed]

    @property
    def severity(self) -> Severity:
        return Severity.ERROR if self.passed or self.blocking else Severity.WARN

    @property
    def blocking(self) -> bool:
        """Whether a rule failed with ERROR severity (every JobForge check is blocking)."""
        return any(rule.blocking for rule in self.rules)

    @property
    def description(self) -> str:
        if self.passed:
            return f"all {len(self.rules)} rules pass: {', '.join(rule.name for rule in self.rules)}"
        return "; ".join(f"{rule.name}: {rule.outcome.description}" for rule in self.rules if not rule.outcome.passed)

    @property
    def compared_with(self) -> dict[str, str | None]:
        """Rule -> the referenced gold batch it compared with, for the rules that compare with another table."""
        return {rule.name: rule.outcome.compared_with_batch for rule in self.rules if rule.compares_batches}

    @property
    def figures(self) -> dict[str, dict[str, Any]]:
        """Each rule's figures, by rule name."""
        return {rule.name: rule.outcome.figures for rule in self.rules}


@dataclass(frozen=True)
class ChecksRun:
    """One evaluation of a gold table's rules: the table, its file and batch, the Dagster run, when it began."""

    table: str
    gold_file: str
    batch_id: str
    source_sha256: str
    dagster_run_id: str | None
    started_at: datetime
    results: list[RuleOutcome]


class ChecksSink(Protocol):
    """Where an evaluation of checks is announced (OpenLineage `dataQualityAssertions`)."""

    def checked(self, checks: Callable[[], ChecksRun]) -> None: ...
