"""Two-way referral (双向转诊): village → township → county and back, with a closed loop.

Up-referral with consent, summary and a held slot (:mod:`.refer`); the receiving side's
decisions and the requesting side's cancellation (:mod:`.decisions`); down-referral at
discharge with a care plan and the follow-up that closes the loop (:mod:`.discharge`);
escalation of referrals not accepted in time (:mod:`.escalation`); worklists
(:mod:`.worklist`). The Task state machine is data (``fhir/data/task_workflows.json``) that the
store enforces on every write, so the FHIR API follows it too. docs/referral.md describes it.
"""

from .decisions import accept, cancel, complete, decline, receive, start
from .discharge import DownReferral, FollowUp, record_follow_up, refer_down
from .escalation import escalate_overdue
from .form_pdf import ReferralForm, render_referral_pdf
from .kpis import ReferralKpis, referral_kpis
from .record import Referral, load, load_by_task
from .refer import UpReferral, refer_up
from .rules import ReferralRules, ReferralRulesError, referral_rules
from .suggestion_rules import SuggestionRulesError, suggestion_rules
from .suggestions import Evidence, ReferralSuggestion, referral_suggestions
from .worklist import WorkItem, incoming, outgoing

__all__ = [
    "DownReferral",
    "Evidence",
    "FollowUp",
    "Referral",
    "ReferralForm",
    "ReferralKpis",
    "ReferralRules",
    "ReferralRulesError",
    "ReferralSuggestion",
    "SuggestionRulesError",
    "UpReferral",
    "WorkItem",
    "accept",
    "cancel",
    "complete",
    "decline",
    "escalate_overdue",
    "incoming",
    "load",
    "load_by_task",
    "outgoing",
    "receive",
    "record_follow_up",
    "refer_down",
    "refer_up",
    "referral_kpis",
    "referral_rules",
    "referral_suggestions",
    "render_referral_pdf",
    "start",
    "suggestion_rules",
]
