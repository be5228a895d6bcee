"""The production set-up in deploy/ stays in step with the code it runs."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def settings_from_environment() -> set[str]:
    source = (ROOT / "circlecare" / "settings.py").read_text()
    return set(re.findall(r'env(?:_bool|_list)?\(\s*"([A-Z][A-Z0-9_]*)"', source))


def test_the_env_template_lists_every_setting_read_from_the_environment() -> None:
    template = (DEPLOY / "circlecare.env.example").read_text()
    listed = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", template, re.MULTILINE))
    names = settings_from_environment()
    assert {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"} <= names
    assert names - listed == set()


def test_every_command_the_units_run_exists() -> None:
    units = "\n".join(p.read_text() for p in sorted((DEPLOY / "systemd").iterdir()))
    scripts = "\n".join(p.read_text() for p in sorted((DEPLOY / "bin").iterdir()))
    used = set(re.findall(r"manage\.py\"? (\w+)", units + scripts))
    assert {
        "db_worker",
        "meeting_reminders",
        "enrollment_sweep",
        "care_nudges",
        "prune_task_history",
        "backup",
    } <= used
    assert used - set(get_commands()) == set()


def test_every_service_without_a_timer_is_started_by_each_release() -> None:
    """The units that start a self-repeating task chain (weekly nudges, daily task pruning) run
    once per release; one the release never starts would leave its chain unstarted."""
    systemd = DEPLOY / "systemd"
    release = (DEPLOY / "bin" / "release.sh").read_text()
    started = set(re.findall(r"systemctl start ([^\n]+)", release))
    started_units = {unit for line in started for unit in line.split()}
    one_shots = {
        unit.name
        for unit in systemd.glob("*.service")
        if "Type=oneshot" in unit.read_text() and not (systemd / f"{unit.stem}.timer").exists()
    }
    assert {"circlecare-care-nudges.service", "circlecare-task-history.service"} <= one_shots
    assert one_shots - started_units == set()


def test_nginx_upgrades_the_path_the_room_websocket_is_routed_on() -> None:
    from circlecare.meetings.live.routing import websocket_urlpatterns

    prefixes = {str(p.pattern).split("/", 1)[0] for p in websocket_urlpatterns}
    conf = (DEPLOY / "nginx" / "circlecare.conf").read_text()
    for prefix in prefixes:
        block = re.search(rf"location /{prefix}/ \{{(.*?)\n    \}}", conf, re.DOTALL)
        assert block, f"no nginx location for /{prefix}/"
        assert "proxy_set_header Upgrade $http_upgrade;" in block.group(1)
        assert "proxy_set_header Connection $connection_upgrade;" in block.group(1)


def test_nginx_balances_over_every_server_unit_the_target_starts() -> None:
    target = (DEPLOY / "systemd" / "circlecare.target").read_text()
    ports = set(re.findall(r"circlecare-asgi@(\d+)\.service", target))
    conf = (DEPLOY / "nginx" / "circlecare.conf").read_text()
    upstream = set(re.findall(r"server 127\.0\.0\.1:(\d+)", conf))
    assert len(ports) >= 2
    assert ports == upstream
