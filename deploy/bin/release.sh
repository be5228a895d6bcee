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
SERVERS=$(systemctl list-units --plain --no-legend 'circlecare-asgi@*.service' | awk '{print $1}')
WORKERS=$(systemctl list-units --plain --no-legend 'circlecare-worker@*.service' | awk '{print $1}')
if [ "${STOP_FOR_MIGRATE:-0}" = "1" ]; then
    # A release that changes how stored values are written (see deploy/README.md, "Releases
    # that stop the servers"): nothing on the old code may read or write while it migrates.
    if [ -n "$SERVERS$WORKERS" ]; then systemctl stop $SERVERS $WORKERS; fi
fi
as_app migrate --no-input
as_app collectstatic --no-input
# Restart one server at a time, so nginx always has live upstreams and open rooms reconnect.
for unit in $SERVERS; do
    systemctl restart "$unit"
    sleep 2
done
if [ -n "$WORKERS" ]; then systemctl restart $WORKERS; fi
systemctl start circlecare-care-nudges.service circlecare-task-history.service
echo "released: $(git -C "$APP" rev-parse --short HEAD 2>/dev/null || echo unknown)"
