"""The application state machine: explicit states, and who may take which transition."""

from __future__ import annotations

STATES = (
    "draft", "submitted", "eligibility", "feasibility", "committee", "approved", "revise", "rejected",
    "running", "final-report", "closed",
)  # fmt: skip

LABELS = {
    "draft": "Draft", "submitted": "Submitted", "eligibility": "Eligibility check",
    "feasibility": "Feasibility review", "committee": "Committee review", "approved": "Approved",
    "revise": "Revise and resubmit", "rejected": "Rejected", "running": "Running",
    "final-report": "Final report submitted", "closed": "Closed",
}  # fmt: skip

# what the button that takes a transition says: a verb for the person pressing it
ACTIONS = {
    "submitted": "Submit application", "eligibility": "Start the eligibility check",
    "feasibility": "Send to feasibility review", "committee": "Send to the committee", "approved": "Approve",
    "revise": "Ask for a revision", "rejected": "Reject", "draft": "Reopen as a draft to revise",
    "running": "Start the project", "final-report": "Submit the final report", "closed": "Close the project",
}  # fmt: skip
ACTIONS_FROM = {("final-report", "running"): "Send the final report back for completion"}


def action_label(current: str, target: str) -> str:
    """The button label for moving an application from ``current`` to ``target``."""
    return ACTIONS_FROM.get((current, target)) or ACTIONS.get(target, f"Move to {LABELS.get(target, target)}")


# (from, to) -> who may do it: "applicant" (owner or accepted co-applicant), "coordinator", "system"
TRANSITIONS: dict[tuple[str, str], set[str]] = {
    ("draft", "submitted"): {"applicant"},
    ("submitted", "eligibility"): {"system", "coordinator"},
    ("eligibility", "feasibility"): {"coordinator"},
    ("eligibility", "rejected"): {"coordinator"},
    ("eligibility", "revise"): {"coordinator"},
    ("feasibility", "committee"): {"coordinator"},
    ("feasibility", "revise"): {"coordinator"},
    ("committee", "approved"): {"coordinator"},
    ("committee", "revise"): {"coordinator"},
    ("committee", "rejected"): {"coordinator"},
    ("revise", "draft"): {"applicant"},
    ("approved", "running"): {"coordinator", "applicant"},
    ("running", "final-report"): {"applicant"},
    ("final-report", "closed"): {"coordinator"},
    ("final-report", "running"): {"coordinator"},  # report sent back for completion
}

DECIDED = {"approved", "revise", "rejected"}
FUNDED = {"approved", "running", "final-report", "closed"}


class TransitionError(ValueError):
    pass


def check(current: str, target: str, as_: set[str]) -> None:
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        nexts = sorted(t for (f, t) in TRANSITIONS if f == current)
        raise TransitionError(
            f"An application in state '{LABELS.get(current, current)}' cannot move to "
            f"'{LABELS.get(target, target)}'; possible next states: {', '.join(LABELS[n] for n in nexts) or 'none'}."
        )
    if not allowed & as_:
        raise TransitionError(
            f"Only {' or '.join(sorted(allowed))} may move an application to '{LABELS[target]}'."
        )


def next_states(current: str, as_: set[str]) -> list[str]:
    return [t for (f, t), who in TRANSITIONS.items() if f == current and who & as_]
