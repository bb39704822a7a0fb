#!/bin/bash
# Managed by pyinfra (provisioning/). Activates releases under /opt/refractor on this host.
#
#   refractor-release install ID BUILD     unpack BUILD.tar into releases/ID (venv from hashed wheels + UI)
#   refractor-release start ID FINGERPRINT KEEP PORT...
#       run `activate` as the transient unit refractor-activate.service (a dropped SSH session does
#       not stop it), follow its log and exit with its outcome
#   refractor-release activate ID FINGERPRINT KEEP PORT...
#       check-config + init-db with the new release, switch `current` and the units it carries,
#       restart the instances one at a time, each must pass /monitoring/health; on any failure
#       switch release and units back and restart again
#   refractor-release install-ui ID BUILD  unpack only the UI bundle (Nginx hosts without the app)
#   refractor-release switch-ui ID KEEP    point `current` at a UI-only release
#   refractor-release rollback             go back to the newest other release that passed its health gate
#   refractor-release status               current release and the outcome history
# Environment: REFRACTOR_WORKER_PORTS=3001,... (split layout: health ports of refractor-worker@),
# REFRACTOR_ALLOW_BREAKING_MIGRATION=1, REFRACTOR_BIND, REFRACTOR_HEALTH_TIMEOUT, REFRACTOR_SETTLE.
set -euo pipefail
root=/opt/refractor
releases=$root/releases
history=$root/history          # "<epoch> <release> healthy|failed|rolled-back", one line per outcome
activation_log=$root/activation.log
activation_unit=refractor-activate.service
unit_dir=/etc/systemd/system
managed_units=(refractor@.service refractor-worker@.service refractor.target)
health_timeout=${REFRACTOR_HEALTH_TIMEOUT:-60}
# Nginx stops sending to an instance that refused connections for fail_timeout (roles/nginx):
# wait that long after an instance is healthy again, or the next restart leaves no live upstream.
settle=${REFRACTOR_SETTLE:-6}
bind=${REFRACTOR_BIND:-127.0.0.1}
worker_list=${REFRACTOR_WORKER_PORTS:-}
read -r -a worker_ports <<<"${worker_list//,/ }"
log() { echo "refractor-release: $*" >&2; }
usage() { sed -n '4,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

record() { echo "$(date +%s) $1 $2" >>"$history"; }

as_app() {  # run the new release's CLI with the app's environment and the given config
  local rel=$1; shift
  (set -a; . /etc/refractor/refractor.env; set +a
   REFRACTOR_CONFIG=$releases/$rel/config.json runuser -u refractor -- "$releases/$rel/bin/refractor" "$@")
}

healthy() {  # healthy UNIT URL: wait until the instance reports ok, or time out
  local unit=$1 url=$2 deadline=$((SECONDS + health_timeout))
  while [ $SECONDS -lt $deadline ]; do
    if systemctl is-failed --quiet "$unit"; then return 1; fi
    # A crash loop never turns healthy: give up at the second automatic restart.
    if [ "$(systemctl show -p NRestarts --value "$unit")" -ge 2 ]; then return 1; fi
    if curl -fsS -m 2 "$url" 2>/dev/null | grep -q '"ok"'; then return 0; fi
    sleep 0.5
  done
  return 1
}

switch() {  # atomically point current at releases/$1
  ln -sfn "$releases/$1" "$root/current.new" && mv -T "$root/current.new" "$root/current"
}

install_units() {  # the unit files of release $1 become the host's (a release without units keeps them)
  local dir=$releases/$1/units name
  [ -d "$dir" ] || return 0
  for name in "${managed_units[@]}"; do
    if [ -f "$dir/$name" ]; then
      cmp -s "$dir/$name" "$unit_dir/$name" || install -m 0644 "$dir/$name" "$unit_dir/$name"
    elif [ -f "$unit_dir/$name" ]; then
      stop_instances "${name%@.service}@*.service"
      rm -f "$unit_dir/$name"
    fi
  done
  systemctl daemon-reload
}

stop_instances() {  # stop_instances PATTERN [KEEP_UNIT...]: disable the matching instances not kept
  local pattern=$1 unit; shift
  for unit in $(systemctl list-units --plain --no-legend --all "$pattern" | awk '{print $1}'); do
    if [[ " $* " != *" $unit "* ]]; then systemctl disable --now --quiet "$unit" || true; log "stopped $unit"; fi
  done
}

instances() {  # the units and health URLs of this host's instances: "UNIT URL" lines
  local port
  for port in "${ports[@]}"; do echo "refractor@$port.service http://$bind:$port/monitoring/health"; done
  for port in "${worker_ports[@]}"; do
    echo "refractor-worker@$port.service http://127.0.0.1:$port/monitoring/health"
  done
}

restart_all() {  # one instance at a time, health-gated
  local unit url
  while read -r unit url; do
    systemctl enable --quiet "$unit"
    # A crash loop of the release just rolled back (or of an earlier attempt) counts towards the
    # unit's start limit; this restart is deliberate and must not be refused for it.
    systemctl reset-failed "$unit" 2>/dev/null || true
    systemctl restart "$unit"
    if ! healthy "$unit" "$url"; then log "instance $unit failed its health check"; return 1; fi
    log "instance $unit healthy"
    # Only Nginx's upstreams need the settle time; the job workers are behind no proxy.
    case $unit in refractor@*) sleep "$settle" ;; esac
  done < <(instances)
}

install_release() {
  local rel=$1 build=$2 dir=$releases/$1
  [ -f "$dir/.installed" ] && return 0
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  tar -xf "$build" -C "$dir.tmp"
  # Build the venv at its final path: virtualenv scripts hard-code their interpreter's path.
  rm -rf "$dir" && mkdir -p "$dir"
  mv "$dir.tmp/wheels" "$dir/.wheels" && { [ ! -d "$dir.tmp/ui" ] || mv "$dir.tmp/ui" "$dir/ui"; }
  cp "$dir.tmp/BUILD_ID" "$dir/BUILD_ID"
  [ ! -f "$dir.tmp/requirements.lock" ] || cp "$dir.tmp/requirements.lock" "$dir/requirements.lock"
  rm -rf "$dir.tmp"
  python3 -m venv "$dir"
  if [ -f "$dir/requirements.lock" ]; then
    # Every dependency must match a hash in the lock file; source distributions (built here when no
    # wheel for this platform exists) are checked the same way.
    # No cache: pip would take a wheel it once built from a source distribution of the same name
    # instead of hash-checking the file that is here now.
    "$dir/bin/pip" install -q --no-cache-dir --no-index --find-links "$dir/.wheels" --require-hashes \
      -r "$dir/requirements.lock"
    "$dir/bin/pip" install -q --no-index --no-deps "$dir"/.wheels/refractor-*.whl
  else
    "$dir/bin/pip" install -q --no-index --find-links "$dir/.wheels" "$dir"/.wheels/refractor-*.whl
  fi
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

current_release() { [ -L "$root/current" ] && basename "$(readlink "$root/current")" || true; }

last_good() {  # newest release (other than $1) whose latest outcome is "healthy" and that is still here
  [ -f "$history" ] || return 0
  local rel
  for rel in $(awk '{state[$2] = $3; seen[$2] = NR} END {for (r in state) if (state[r] == "healthy") print seen[r], r}' \
               "$history" | sort -rn | awk '{print $2}'); do
    if [ "$rel" != "$1" ] && [ -f "$releases/$rel/.installed" ]; then echo "$rel"; return 0; fi
  done
}

activate() {
  local rel=$1 fp=$2 keep=$3; shift 3
  ports=("$@")
  local prev
  [ -f "$releases/$rel/.installed" ] || { log "release $rel is not installed"; outcome "$rel" failed; exit 1; }
  as_app "$rel" check-config >&2 || { log "check-config failed for $rel; nothing changed"; outcome "$rel" failed; exit 1; }
  local init=(init-db)
  [ "${REFRACTOR_ALLOW_BREAKING_MIGRATION:-0}" != 1 ] || init+=(--allow-breaking-migration)
  as_app "$rel" "${init[@]}" >&2 || { log "init-db failed for $rel; nothing changed"; outcome "$rel" failed; exit 1; }
  prev=$(current_release)
  switch "$rel"
  install_units "$rel"
  if ! restart_all; then
    journalctl -u 'refractor@*' -u 'refractor-worker@*' -n 20 --no-pager >&2 || true
    record "$rel" failed
    if [ -n "$prev" ] && [ "$prev" != "$rel" ]; then
      log "rolling back to $prev"
      switch "$prev"
      install_units "$prev"
      restart_all || log "previous release $prev is not healthy either"
    else
      stop_instances 'refractor@*.service'; stop_instances 'refractor-worker@*.service'
    fi
    log "release $rel FAILED and was rolled back${prev:+ to $prev}"
    outcome "$rel" failed
    exit 1
  fi
  # Instances no longer in the inventory.
  local keep_units; keep_units=$(instances | awk '{print $1}' | tr '\n' ' ')
  # shellcheck disable=SC2086
  stop_instances 'refractor@*.service' $keep_units
  # shellcheck disable=SC2086
  stop_instances 'refractor-worker@*.service' $keep_units
  echo "$fp" >"$root/.active"
  # What a later `rollback` restarts and health-checks (it gets none of the deploy's settings).
  printf '%s\n' "${ports[*]}" "${worker_ports[*]}" "$bind" >"$root/.instances"
  record "$rel" healthy
  prune "$keep" "$rel" "$prev"
  log "release $rel active on ${keep_units% }"
  outcome "$rel" ok
}

outcome() { echo "$1 $2" >"$root/.last-activation"; }

start() {  # run activate detached from this session, follow it, exit with its outcome
  local rel=$1 fp=$2
  local waited=0
  while systemctl is-active --quiet "$activation_unit"; do
    [ $waited = 1 ] || log "an activation is already running on this host; waiting for it"
    waited=1; sleep 1
  done
  if [ -f "$root/.active" ] && [ "$(head -1 "$root/.active")" = "$fp" ]; then
    log "release $rel is already active"; return 0
  fi
  : >"$activation_log"
  rm -f "$root/.last-activation"
  systemd-run --quiet --collect --unit="$activation_unit" -p Type=exec \
    -p StandardOutput="append:$activation_log" -p StandardError="append:$activation_log" \
    --setenv=REFRACTOR_WORKER_PORTS="$(IFS=,; echo "${worker_ports[*]}")" --setenv=REFRACTOR_BIND="$bind" \
    --setenv=REFRACTOR_HEALTH_TIMEOUT="$health_timeout" --setenv=REFRACTOR_SETTLE="$settle" \
    --setenv=REFRACTOR_ALLOW_BREAKING_MIGRATION="${REFRACTOR_ALLOW_BREAKING_MIGRATION:-0}" \
    "$0" activate "$@"
  # Not `tail -f`: on file systems it cannot watch (overlayfs among them) it polls once a second,
  # and killing it when the unit ends lost the last lines, the verdict among them.
  local shown=0
  while systemctl is-active --quiet "$activation_unit"; do show_log_from "$shown"; sleep 0.5; done
  show_log_from "$shown"  # the unit has ended: everything it wrote is in the file
  [ "$(cat "$root/.last-activation" 2>/dev/null)" = "$rel ok" ]
}

show_log_from() {  # print the activation log past byte $1; the caller's `shown` becomes its size
  local size
  size=$(stat -c %s "$activation_log")
  [ "$size" -gt "$1" ] || return 0
  dd if="$activation_log" iflag=skip_bytes,count_bytes skip="$1" count=$((size - $1)) status=none >&2
  shown=$size
}

rollback() {
  local cur target recorded_bind=""
  cur=$(current_release)
  target=$(last_good "$cur")
  [ -n "$target" ] || { log "no other release passed its health gate; nothing to roll back to"; exit 1; }
  if [ -f "$root/.instances" ]; then
    { read -r -a ports; read -r -a worker_ports || true; read -r recorded_bind || true; } <"$root/.instances"
    # Instances bound to a private address answer their health check there, not on 127.0.0.1.
    [ -z "$recorded_bind" ] || bind=$recorded_bind
  else  # activated by an older release tool
    mapfile -t ports < <(systemctl list-units --plain --no-legend 'refractor@*.service' | awk '{print $1}' \
                         | sed 's/refractor@//; s/\.service//')
  fi
  log "rolling back from $cur to $target (the newest other release that passed its health gate)"
  switch "$target"
  install_units "$target"
  if ! restart_all; then log "release $target is not healthy either"; exit 1; fi
  [ -z "$cur" ] || record "$cur" rolled-back
  record "$target" healthy
  # .active now names the release that runs, on the instances .instances lists (the fingerprint's
  # second word hashes those; see provisioning/refractor_deploy/render.py): a later deploy of the
  # release rolled back from activates it again, one of the target changes nothing.
  local layout_digest=""
  [ ! -f "$root/.active" ] || layout_digest=$(awk 'NR == 1 {print $2}' "$root/.active")
  if [ -n "$layout_digest" ]; then echo "$target $layout_digest" >"$root/.active"; else rm -f "$root/.active"; fi
  log "rolled back to $target"
}

prune() {  # keep the newest KEEP releases, never the current, previous or last good one
  local keep=$1 cur=$2 prev=$3 good n=0 d
  good=$(last_good "$cur")
  for d in $(ls -1dt "$releases"/*/ 2>/dev/null); do
    d=$(basename "$d"); n=$((n + 1))
    if [ $n -gt "$keep" ] && [ "$d" != "$cur" ] && [ "$d" != "$prev" ] && [ "$d" != "$good" ]; then
      rm -rf "${releases:?}/$d"; log "pruned $d"
    fi
  done
  find "$root/builds" -maxdepth 1 -name '*.tar' -mtime +1 -delete 2>/dev/null || true
}

[ $# -ge 1 ] || usage
case "$1" in
  install) [ $# -eq 3 ] || usage; install_release "$2" "$3" ;;
  start) [ $# -ge 5 ] || usage; shift; start "$@" ;;
  activate) [ $# -ge 5 ] || usage; shift; activate "$@" ;;
  install-ui) [ $# -eq 3 ] || usage; install_ui "$2" "$3" ;;
  switch-ui) [ $# -eq 3 ] || usage; switch_ui "$2" "$3" ;;
  rollback) [ $# -eq 1 ] || usage; rollback ;;
  status) [ $# -eq 1 ] || usage; echo "current: $(current_release)"; cat "$history" 2>/dev/null || true ;;
  *) usage ;;
esac
