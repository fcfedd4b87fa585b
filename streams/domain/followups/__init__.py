"""Follow-ups after resolution (surveys, callbacks, bad-rating recovery) and customer care.

Pure: policy files, contact budget, scheduling, fire-time checks and CloudEvent builders;
the worker stage keeps the state in tables and produces what these functions return
(docs/followups.md).
"""

from streams.domain.followups.care import (
    CareCalendar,
    CareDecision,
    CareDue,
    CareMarks,
    check_care,
    marks_of,
    occasion_key,
    occasions_on,
    today_in,
)
from streams.domain.followups.contacts import ContactLog, record_contact, record_occasion_skipped
from streams.domain.followups.events import (
    care_due,
    care_suppressed,
    followup_cancelled,
    followup_due,
    followup_escalated,
)
from streams.domain.followups.feedback import (
    FeedbackOutcome,
    TicketFeedback,
    feedback_id,
    fire_facts,
    receive_feedback,
    recovery_notify,
    second_followup_done,
)
from streams.domain.followups.files import CareFile, FollowupFile, load_care_file, load_followup_file
from streams.domain.followups.surveys import (
    FireDecision,
    ScheduledFollowup,
    Skipped,
    TicketFacts,
    check_at_fire,
    held,
    plan_survey,
)

__all__ = [
    "CareCalendar",
    "CareDecision",
    "CareDue",
    "CareFile",
    "CareMarks",
    "ContactLog",
    "FeedbackOutcome",
    "FireDecision",
    "FollowupFile",
    "ScheduledFollowup",
    "Skipped",
    "TicketFacts",
    "TicketFeedback",
    "care_due",
    "care_suppressed",
    "check_at_fire",
    "check_care",
    "feedback_id",
    "fire_facts",
    "followup_cancelled",
    "followup_due",
    "followup_escalated",
    "held",
    "load_care_file",
    "load_followup_file",
    "marks_of",
    "occasion_key",
    "occasions_on",
    "plan_survey",
    "receive_feedback",
    "record_contact",
    "record_occasion_skipped",
    "recovery_notify",
    "second_followup_done",
    "today_in",
]
