# Shared by bin/run and bin/test: system packages and the project venv.
# Sourced, not executed.  Idempotent and quick when everything is in place.

TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CALDAVD_VENV:-$TOP/.venv}"

say() { printf '%s\n' "caldavd setup: $*" >&2; }

_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
    else return 1
    fi
}

have_pg_server() {
    command -v initdb >/dev/null 2>&1 && return 0
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

# ensure_packages DEB...: install the Debian packages that are not installed yet.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        say "please install: ${missing[*]}"; return 1
    fi
    say "installing ${missing[*]}"
    # slapd asks questions unless noninteractive; policy-rc.d keeps package
    # scripts from starting system services we do not use (tests start their own).
    local policy=/usr/sbin/policy-rc.d created_policy=""
    if [ ! -e "$policy" ]; then
        _as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy" \
            && created_policy=1
    fi
    local rc=0
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || rc=$?
    [ -n "$created_policy" ] && _as_root rm -f "$policy"
    if [ $rc -ne 0 ]; then
        say "could not install ${missing[*]} (need root or passwordless sudo); install them and retry"
        return 1
    fi
}

ensure_pg_server() {
    have_pg_server || ensure_packages postgresql
}

_python() {
    local candidate
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    say "Python 3.11 or newer is required"; return 1
}

# ensure_venv EXTRA: create $VENV and install caldavd (editable) with the given extra.
ensure_venv() {
    local extra="$1" py stamp want
    py="$(_python)" || return 1
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        "$py" -m venv "$VENV" 2>/dev/null || {
            ensure_packages python3-venv && "$py" -m venv "$VENV"
        } || return 1
    fi
    stamp="$VENV/.caldavd-installed"
    want="$(cat "$TOP/pyproject.toml" | sha256sum | cut -d' ' -f1)-$extra"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing Python packages into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
        "$VENV/bin/python" -m pip install -q -e "$TOP[$extra]" || return 1
        echo "$want" > "$stamp"
    fi
}
