"""The data-quality report and the quarantine: what was rejected, what was repaired, and why."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aisle.catalog.text import show_raw

EXAMPLES_PER_REASON = 5


@dataclass(frozen=True, slots=True)
class QuarantinedRow:
    row: int
    id: str | None
    reasons: tuple[str, ...]
    detail: str
    record: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "id": self.id,
            "reasons": list(self.reasons),
            "detail": self.detail,
            "record": printable(self.record),
        }


def printable(value: Any) -> Any:
    """A JSON-safe copy of a raw value (undecodable bytes shown as \\xNN)."""
    if isinstance(value, str):
        return show_raw(value)
    if isinstance(value, Mapping):
        return {str(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN
        return None
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


@dataclass(slots=True)
class QualityTally:
    """Counts collected while validating; turned into the report at the end."""

    repairs: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    warning_examples: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def warn(self, kind: str, example: dict[str, Any]) -> None:
        self.warnings[kind] += 1
        if len(self.warning_examples[kind]) < EXAMPLES_PER_REASON:
            self.warning_examples[kind].append(example)


@dataclass(frozen=True, slots=True)
class QualityReport:
    source: str
    kind: str
    total_rows: int
    valid_rows: int
    quarantined_rows: int
    with_verified_image: int
    quarantine_reasons: dict[str, int]
    quarantine_examples: dict[str, list[dict[str, Any]]]
    repairs: dict[str, int]
    warnings: dict[str, int]
    warning_examples: dict[str, list[dict[str, Any]]]
    elapsed_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build_report(
    *,
    source: str,
    kind: str,
    total_rows: int,
    valid_rows: int,
    with_verified_image: int,
    quarantine: Iterable[QuarantinedRow],
    tally: QualityTally,
    elapsed_s: float,
    extra: Mapping[str, Any] | None = None,
) -> QualityReport:
    reasons: Counter[str] = Counter()
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    quarantined = 0
    for item in quarantine:
        quarantined += 1
        for reason in item.reasons:
            reasons[reason] += 1
            if len(examples[reason]) < EXAMPLES_PER_REASON:
                examples[reason].append({"row": item.row, "id": printable(item.id), "detail": item.detail})
    return QualityReport(
        source=source,
        kind=kind,
        total_rows=total_rows,
        valid_rows=valid_rows,
        quarantined_rows=quarantined,
        with_verified_image=with_verified_image,
        quarantine_reasons=dict(reasons.most_common()),
        quarantine_examples=dict(examples),
        repairs=dict(tally.repairs.most_common()),
        warnings=dict(tally.warnings.most_common()),
        warning_examples=dict(tally.warning_examples),
        elapsed_s=round(elapsed_s, 3),
        extra=dict(extra or {}),
    )


def write_report(report: QualityReport, quarantine: Iterable[QuarantinedRow], out_dir: Path) -> Path:
    """Write `quality_report.json` and `quarantine.jsonl` (every rejected row, raw) into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report_path = out_dir / "quality_report.json"
    report_path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with (out_dir / "quarantine.jsonl").open("w", encoding="utf-8") as handle:
        for item in quarantine:
            handle.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
    return report_path
