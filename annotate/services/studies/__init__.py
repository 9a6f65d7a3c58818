"""Studies and their gate: creating a study (arms, time points, a pinned rating scheme),
participants and allocation, the status gate setup -> rating -> locked -> unblinded with
settings and arm masking, and the researcher's progress view.

The names below are the capability's public API; callers import the package, not its modules.
"""

from __future__ import annotations

from annotate.services.studies.gate import (
    StudyGate,
    allocation_visible,
    arm_labels,
    arm_mask,
    correct_locked_rating,
    gate,
    operations,
    pseudonymizer,
    require_operation,
    require_unblinded,
    set_status,
    settings_of,
    status_of,
    study_settings,
    update_settings,
)
from annotate.services.studies.progress import (
    LockChecklist,
    StudyProgress,
    lock_checklist,
    study_progress,
)
from annotate.services.studies.setup import (
    KEY_RE,
    ImportSummary,
    StudyInfo,
    available_schemes,
    create_study,
    get_study,
    import_participants,
    list_studies,
    participant_ids,
    pick_dimension,
    pin_scheme,
    scheme_model,
    study_info,
    study_scheme,
)

__all__ = [
    "KEY_RE",
    "ImportSummary",
    "LockChecklist",
    "StudyGate",
    "StudyInfo",
    "StudyProgress",
    "allocation_visible",
    "arm_labels",
    "arm_mask",
    "available_schemes",
    "correct_locked_rating",
    "create_study",
    "gate",
    "get_study",
    "import_participants",
    "list_studies",
    "lock_checklist",
    "operations",
    "participant_ids",
    "pick_dimension",
    "pin_scheme",
    "pseudonymizer",
    "require_operation",
    "require_unblinded",
    "scheme_model",
    "set_status",
    "settings_of",
    "status_of",
    "study_info",
    "study_progress",
    "study_scheme",
    "study_settings",
    "update_settings",
]
