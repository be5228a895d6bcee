"""Running a data migration's function on the models as they were at that migration."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from django.apps import apps as django_apps
from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext


def historical_apps(app_label: str, migration: str) -> Apps:
    """The app registry as it stands once ``app_label.migration`` has run."""
    return MigrationExecutor(connection).loader.project_state((app_label, migration)).apps


def run_python(app_label: str, migration: str, name: str) -> list[str]:
    """Run the function ``name`` of that migration on its historical models, as ``migrate``
    would (the data migrations here make no use of the schema editor); returns the SQL it ran."""
    package = django_apps.get_app_config(app_label).name
    module = importlib.import_module(f"{package}.migrations.{migration}")
    function: Callable[[Apps, Any], None] = getattr(module, name)
    apps = historical_apps(app_label, migration)
    with CaptureQueriesContext(connection) as queries:
        function(apps, None)
    return [q["sql"] for q in queries.captured_queries]


def writes(sql: list[str]) -> list[str]:
    return [s for s in sql if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
