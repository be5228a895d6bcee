"""US states (and DC) as two-letter codes, plus a choice for members who live outside the US."""

from __future__ import annotations

OUTSIDE_US = "XX"

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip

STATE_CHOICES: list[tuple[str, str]] = sorted(US_STATES.items(), key=lambda item: item[1])
HOME_STATE_CHOICES: list[tuple[str, str]] = [*STATE_CHOICES, (OUTSIDE_US, "I live outside the US")]


def state_name(code: str) -> str:
    if code == OUTSIDE_US:
        return "outside the US"
    return US_STATES.get(code, code)


def where(code: str) -> str:
    """'in Texas', or 'outside the US': where someone is, as a sentence says it."""
    return state_name(code) if code == OUTSIDE_US else f"in {state_name(code)}"


def join_names(codes: list[str] | set[str] | tuple[str, ...]) -> str:
    """'Florida, New Jersey and New York' — the list a member reads in a message."""
    names = sorted(state_name(code) for code in codes)
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
