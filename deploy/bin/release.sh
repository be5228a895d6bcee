#!/bin/sh
# Deploy a new version on one machine, as root, from the checked-out code in /srv/circlecare.
# With several machines: run the migrate step on one of them only, then the rest on each.
set -eu
APP="${APP:-/srv/circlecare}"
ENV_FILE="${ENV_FILE:-/etc/circlecare/circlecare.env}"
as_app() {
    # Runs as the services do: same user, same environment file parsed by systemd itself.
    systemd-run --quiet --wait --pipe --collect --uid=circlecare --gid=circlecare \
        -p EnvironmentFile="$ENV_FILE" -p WorkingDirectory="$APP" \
        "$APP/.venv/bin/python" manage.py "$@"
}
cd "$APP"
runuser -u circlecare -- "$APP/.venv/bin/pip" install --quiet -r requirements.lock
runuser -u circlecare -- "$APP/.venv/bin/pip" install --quiet --no-deps -e .
as_app check --deploy --fail-level WARNING
as_app migrate --no-input
as_app collectstatic --no-input
# Restart one server at a time, so nginx always has live upstreams and open rooms reconnect.
for unit in $(systemctl list-units --plain --no-legend 'circlecare-asgi@*.service' | awk '{print $1}'); do
    systemctl restart "$unit"
    sleep 2
done
systemctl restart 'circlecare-worker@*.service'
systemctl start circlecare-care-nudges.service circlecare-task-history.service
echo "released: $(git -C "$APP" rev-parse --short HEAD 2>/dev/null || echo unknown)"
