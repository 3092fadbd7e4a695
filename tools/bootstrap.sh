# Sourced by tools/test-all and tools/demo: set up, on a fresh machine, what
# they need, and say what is installed where. Safe to run again: each step
# does nothing when its part is there already.
#   as root: the system packages of tools/setup-test-host, and a Go >= 1.21
#            (Debian's: golang-go on Ubuntu 24.04; golang-1.23-go from
#            bookworm-backports on Debian 12, whose golang-go is too old)
#   always:  uv (tools/get-uv: from PyPI into ~/.cache/example-blog/), which
#            runs tox and every test environment from uv.lock
# shellcheck shell=bash

# Go 1.21 and later fetch the newer toolchain a module asks for by themselves.
go_is_new_enough() {
    local version
    version=$("$1" env GOVERSION 2>/dev/null) || return 1
    [[ $version =~ ^go1\.([0-9]+) ]] && (( BASH_REMATCH[1] >= 21 ))
}

# Put the newest Go >= 1.21 found on PATH; none is not an error here (the
# tiers that need Go skip, or fail in CI, with the reason).
use_go() {
    local candidate
    if command -v go >/dev/null 2>&1 && go_is_new_enough go; then
        return 0
    fi
    for candidate in $(printf '%s\n' /usr/lib/go-1.* | sort -V -r); do
        if go_is_new_enough "$candidate/bin/go"; then
            export PATH="$candidate/bin:$PATH"
            return 0
        fi
    done
    return 0
}

bootstrap() {
    tools/setup-test-host
    use_go
    local uv_dir
    if ! command -v uv >/dev/null 2>&1; then
        uv_dir=$(python3 tools/get-uv)
        export PATH="$uv_dir:$PATH"
    fi
}

# tox, with the tox-uv plugin, run by uv: nothing to install by hand.
tox() {
    uv tool run --from 'tox>=4.22' --with 'tox-uv>=1.25' tox "$@"
}
