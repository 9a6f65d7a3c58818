"""Use cases, grouped by capability. Every call takes a database session and the acting user
(:class:`annotate.services.actor.Actor`), checks permission and blinding, and returns typed
results (dataclasses, DataFrames) — never ORM rows.

=============  =====================================================================
accounts       users, roles, login sessions; ``audit.record``
studies        study set-up, participants and allocation, the status gate, progress
films          ingest, the film list, signed media URLs and the media-request check
assignments    the planning engine and manual assignment
rating         the rater's queue, scores and notes, consensus, blinding reports
reliability    a study's inter-rater reliability, rater certification
outcomes       scores per family and time point, the per-arm outcome table
exchange       exports, imports, ELAN, the study package, backups
clips          the clinician's caseload, clips and feedback-session packages
demo           the bundled demo study
=============  =====================================================================

Shared by all: ``actor`` (who acts), ``errors`` (the service errors), ``policy`` (the rules
pages and services read: study status, settings, export modes, who may see which film) and
``session`` (units of work). Packages depend on each other in one direction only (see the
import-linter contracts in pyproject.toml); ``clips``/``exchange``/``outcomes`` are at the top,
``accounts`` at the bottom.
"""
