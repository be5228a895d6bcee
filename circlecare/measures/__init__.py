"""Measurement-based care: validated questionnaires, risk alerts, progress and outcome reports.

Where each rule lives
---------------------
* ``instruments/`` — PHQ-9, GAD-7, WHO-5, UCLA-3 (exact wording, attribution, scoring, bands)
  and our own after-meeting check-in, which is labelled unvalidated and never used in outcomes.
* ``plans.py`` — when instruments are asked. Intake before a seat: PHQ-9 + GAD-7 for therapy,
  WHO-5 + UCLA-3 for skills groups and care circles; the member may share answers to the same
  questionnaires given for another group in the last 30 days instead of answering again. Weekly from week 2, due from 48 hours before each meeting;
  the final questionnaire at the last meeting; a check-in after every meeting. A program's
  ``MeasurementPlan`` overrides the weekly instruments.
* ``steps.py`` — the "intake" step of the join flow (order 30).
* ``services.py`` — submitting answers once (a risk answer cannot be withdrawn by resubmitting),
  risk alerts (raised in the same transaction; e-mail and escalation timer after commit),
  acknowledgement with a note, escalation to coordinators after ``RISK_ALERT_ESCALATE_AFTER``
  (default one hour; a delayed task per alert plus an idempotent sweep), scheduling of due
  questionnaires and reminders. ``manage.py measures_sweep`` runs the periodic parts.
* ``tracking.py`` — one member's change from baseline and the documented not-on-track rule.
* ``outcomes.py`` — program and cohort reports (ITT and completers, Wilson 95 % intervals).
* ``fhir.py`` — a member's results as a FHIR Bundle (R4, validated with the R4B models).
* ``demo.py`` — made-up history for the demo practice, marked ``synthetic``.
"""
