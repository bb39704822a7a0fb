#!/bin/bash
# Managed by pyinfra (provisioning/). Activates releases under /opt/refractor on this host.
#
#   refractor-release install ID BUILD        unpack BUILD.tar into releases/ID (venv + UI)
#   refractor-release activate ID FINGERPRINT KEEP PORT...
#       check-config + init-db with the new release, switch `current`, restart the instances one at
#       a time, each must pass /monitoring/health; on any failure switch back and restart again.
#   refractor-release install-ui ID BUILD     unpack only the UI bundle (Nginx hosts without the app)
#   refractor-release switch-ui ID KEEP       point `current` at a UI-only release
#   refractor-release rollback                switch back to the previous release (manual)
set -euo pipefail
root=/opt/refractor
releases=$root/releases
health_timeout=${REFRACTOR_HEALTH_TIMEOUT:-60}
# Nginx stops sending to an instance that refused connections for fail_timeout (roles/nginx):
# wait that long after an instance is healthy again, or the next restart leaves no live upstream.
settle=${REFRACTOR_SETTLE:-6}
bind=${REFRACTOR_BIND:-127.0.0.1}
log() { echo "refractor-release: $*" >&2; }
usage() { sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

as_app() {  # run the new release's CLI with the app's environment and the given config
  local rel=$1; shift
  (set -a; . /etc/refractor/refractor.env; set +a
   REFRACTOR_CONFIG=$releases/$rel/config.json runuser -u refractor -- "$releases/$rel/bin/refractor" "$@")
}

healthy() {  # healthy PORT: wait until the instance reports ok, or time out
  local port=$1 deadline=$((SECONDS + health_timeout))
  while [ $SECONDS -lt $deadline ]; do
    if systemctl is-failed --quiet "refractor@$port.service"; then return 1; fi
    # A crash loop never turns healthy: give up at the second automatic restart.
    if [ "$(systemctl show -p NRestarts --value "refractor@$port.service")" -ge 2 ]; then return 1; fi
    if curl -fsS -m 2 "http://$bind:$port/monitoring/health" 2>/dev/null | grep -q '"ok"'; then return 0; fi
    sleep 0.5
  done
  return 1
}

switch() {  # atomically point current at releases/$1
  ln -sfn "$releases/$1" "$root/current.new" && mv -T "$root/current.new" "$root/current"
}

install_release() {
  local rel=$1 build=$2 dir=$releases/$1
  [ -f "$dir/.installed" ] && return 0
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  tar -xf "$build" -C "$dir.tmp"
  # Build the venv at its final path: virtualenv scripts hard-code their interpreter's path.
  rm -rf "$dir" && mkdir -p "$dir"
  mv "$dir.tmp/wheels" "$dir/.wheels" && { [ ! -d "$dir.tmp/ui" ] || mv "$dir.tmp/ui" "$dir/ui"; }
  cp "$dir.tmp/BUILD_ID" "$dir/BUILD_ID"; rm -rf "$dir.tmp"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --no-index --find-links "$dir/.wheels" "$dir"/.wheels/refractor-*.whl
  rm -rf "$dir/.wheels"
  touch "$dir/.installed"
  log "installed release $rel"
}

install_ui() {
  local dir=$releases/$1
  [ -f "$dir/.installed" ] && return 0
  rm -rf "$dir.tmp" "$dir" && mkdir -p "$dir.tmp"
  tar -xf "$2" -C "$dir.tmp" BUILD_ID ui
  touch "$dir.tmp/.installed" && mv "$dir.tmp" "$dir"
  log "installed UI of release $1"
}

switch_ui() {
  local prev=""
  [ -L "$root/current" ] && prev=$(basename "$(readlink "$root/current")")
  switch "$1"
  echo "$1" >"$root/.active"
  prune "$2" "$1" "$prev"
  log "UI of release $1 is live"
}

restart_all() {  # restart_all PORT...: one at a time, health-gated
  local port
  for port in "$@"; do
    systemctl enable --quiet "refractor@$port.service"
    systemctl restart "refractor@$port.service"
    if ! healthy "$port"; then log "instance $port failed its health check"; return 1; fi
    log "instance $port healthy"
    sleep "$settle"
  done
}

activate() {
  local rel=$1 fp=$2 keep=$3; shift 3
  local ports=("$@") prev=""
  [ -f "$releases/$rel/.installed" ] || { log "release $rel is not installed"; exit 1; }
  as_app "$rel" check-config >&2 || { log "check-config failed for $rel; nothing changed"; exit 1; }
  as_app "$rel" init-db >&2 || { log "init-db failed for $rel; nothing changed"; exit 1; }
  [ -L "$root/current" ] && prev=$(basename "$(readlink "$root/current")")
  switch "$rel"
  if ! restart_all "${ports[@]}"; then
    journalctl -u "refractor@*" -n 20 --no-pager >&2 || true
    if [ -n "$prev" ] && [ "$prev" != "$rel" ]; then
      log "rolling back to $prev"
      switch "$prev"
      restart_all "${ports[@]}" || log "previous release $prev is not healthy either"
      echo "$prev" >"$root/.rolled-back-from-$rel"
    else
      systemctl stop "${ports[@]/#/refractor@}" 2>/dev/null || true
    fi
    log "release $rel FAILED and was rolled back${prev:+ to $prev}"
    exit 1
  fi
  # Instances no longer in the inventory.
  local unit port
  for unit in $(systemctl list-units --plain --no-legend --all 'refractor@*.service' | awk '{print $1}'); do
    port=${unit#refractor@}; port=${port%.service}
    if [[ " ${ports[*]} " != *" $port "* ]]; then systemctl disable --now --quiet "$unit"; log "stopped $unit"; fi
  done
  echo "$fp" >"$root/.active"
  prune "$keep" "$rel" "$prev"
  log "release $rel active on ports ${ports[*]}"
}

prune() {  # keep the newest KEEP releases, never the current or previous one
  local keep=$1 cur=$2 prev=$3 n=0 d
  for d in $(ls -1dt "$releases"/*/ 2>/dev/null); do
    d=$(basename "$d"); n=$((n + 1))
    if [ $n -gt "$keep" ] && [ "$d" != "$cur" ] && [ "$d" != "$prev" ]; then rm -rf "${releases:?}/$d"; log "pruned $d"; fi
  done
  find "$root/builds" -maxdepth 1 -name '*.tar' -mtime +1 -delete 2>/dev/null || true
}

[ $# -ge 1 ] || usage
case "$1" in
  install) [ $# -eq 3 ] || usage; install_release "$2" "$3" ;;
  activate) [ $# -ge 5 ] || usage; shift; activate "$@" ;;
  install-ui) [ $# -eq 3 ] || usage; install_ui "$2" "$3" ;;
  switch-ui) [ $# -eq 3 ] || usage; switch_ui "$2" "$3" ;;
  rollback)
    [ $# -eq 1 ] || usage
    cur=$(basename "$(readlink "$root/current")")
    prev=$(ls -1dt "$releases"/*/ | xargs -n1 basename | grep -vx "$cur" | head -1)
    [ -n "$prev" ] || { log "no previous release"; exit 1; }
    mapfile -t ports < <(systemctl list-units --plain --no-legend 'refractor@*.service' | awk '{print $1}' | sed 's/refractor@//; s/\.service//')
    switch "$prev"; restart_all "${ports[@]}"; rm -f "$root/.active"; log "rolled back to $prev" ;;
  *) usage ;;
esac
