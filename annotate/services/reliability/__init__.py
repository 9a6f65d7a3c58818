"""Reliability of a study's ratings (never needs the allocation) and rater certification
against master scores.

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.reports.reliability import (
    IntervalRow,
    Recommendation,
    ReliabilityTable,
    StatisticRow,
    design_rows,
    recommend,
    reliability_json,
    reliability_rows,
    reliability_text,
)
from annotate.services.reliability.certification import (
    MASTER,
    CalibrationCandidate,
    CalibrationSetInfo,
    CertificationIncomplete,
    CertificationReport,
    CertificationResult,
    Criterion,
    TraineeStatus,
    assign_trainees,
    calibration_candidates,
    calibration_set_info,
    certification_report,
    create_calibration_set,
    get_calibration_set,
    list_calibration_sets,
)
from annotate.services.reliability.masters import (
    master_entered,
    master_from_rater,
)
from annotate.services.reliability.monitoring import RaterMonitoring, rater_monitoring, study_criterion
from annotate.services.reliability.planning import StudyPlan, ready_segments, reliability_plan
from annotate.services.reliability.study import (
    DEFAULT_PURPOSES,
    KOO_LI_BANDS,
    RATING_COLUMNS,
    DimensionInfo,
    KooLiReading,
    ReliabilityOptions,
    ReliabilityReport,
    koo_li_band,
    koo_li_reading,
    recommended_reading,
    reliability_options,
    reliability_ratings,
    reliability_report,
)

__all__ = [
    "DEFAULT_PURPOSES",
    "KOO_LI_BANDS",
    "MASTER",
    "RATING_COLUMNS",
    "CalibrationCandidate",
    "CalibrationSetInfo",
    "CertificationIncomplete",
    "CertificationReport",
    "CertificationResult",
    "Criterion",
    "DimensionInfo",
    "IntervalRow",
    "KooLiReading",
    "RaterMonitoring",
    "Recommendation",
    "ReliabilityOptions",
    "ReliabilityReport",
    "ReliabilityTable",
    "StatisticRow",
    "StudyPlan",
    "TraineeStatus",
    "assign_trainees",
    "calibration_candidates",
    "calibration_set_info",
    "certification_report",
    "create_calibration_set",
    "design_rows",
    "get_calibration_set",
    "koo_li_band",
    "koo_li_reading",
    "list_calibration_sets",
    "master_entered",
    "master_from_rater",
    "rater_monitoring",
    "ready_segments",
    "recommend",
    "recommended_reading",
    "reliability_json",
    "reliability_options",
    "reliability_plan",
    "reliability_ratings",
    "reliability_report",
    "reliability_rows",
    "reliability_text",
    "study_criterion",
]
