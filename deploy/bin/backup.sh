#!/bin/sh
# Nightly database backup (circlecare-backup.timer): `manage.py backup` writes pg_dump's custom
# format; backups older than BACKUP_KEEP_DAYS are removed. Encrypted fields stay encrypted in the
# file: keep FIELD_ENCRYPTION_KEY somewhere else (a password manager, not next to the backups).
# Copy the folder off the machine (e.g. restic or rclone to object storage) from a separate timer.
set -eu
BACKUP_DIR="${BACKUP_DIR:-/var/backups/circlecare}"
BACKUP_KEEP_DAYS="${BACKUP_KEEP_DAYS:-14}"
APP="${APP:-/srv/circlecare}"
umask 077
mkdir -p "$BACKUP_DIR"
target="$BACKUP_DIR/circlecare-$(date -u +%Y%m%dT%H%MZ).dump"
"$APP/.venv/bin/python" "$APP/manage.py" backup "$target"
find "$BACKUP_DIR" -name 'circlecare-*.dump' -type f -mtime +"$BACKUP_KEEP_DAYS" -delete
echo "backup written: $target"
