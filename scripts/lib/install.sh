# What scripts/install puts where, shared with scripts/uninstall. Sourced, not run.
#
# install records every file it writes, and every directory it had to create, in a manifest
# ($PREFIX/share/hermes/installed-files, one "f PATH" or "d PATH" a line, paths as on the target
# system); uninstall removes exactly those, so directories that were there before stay.

EX_USAGE=64

install_usage() {
    cat <<EOF
usage: scripts/$1 [--prefix DIR] [--destdir DIR]$([[ $1 == install ]] && printf ' [--bin-dir DIR]')

  --prefix DIR   where Hermes lives on the target system (default /usr/local)
  --destdir DIR  stage the files under DIR instead of / (packaging; default \$DESTDIR)
EOF
    if [[ $1 == install ]]; then
        cat <<'EOF'
  --bin-dir DIR  take the built tools from DIR instead of running a release build

Installs hermes-measure, hermes-store, hermes-export, hermes-alert and hermes-target, their
manuals, bash/zsh/fish completions, the systemd units (hermes.service, hermes.timer, and the
per-link template hermes@.service with hermes@.timer) with their sysusers.d and tmpfiles.d
files, an example /etc/hermes/hermes.env, the Grafana dashboard and an nginx TLS front for
hermes-target.
EOF
    else
        cat <<'EOF'

Removes exactly what scripts/install put there, as listed in its manifest. Your data
(/var/lib/hermes), configuration (/etc/hermes, /etc/credstore) and the hermes user stay.
EOF
    fi
}

usage_error() {
    printf '%s: %s\n' "$COMMAND" "$1" >&2
    printf "%s: see 'scripts/%s --help'\n" "$COMMAND" "$COMMAND" >&2
    exit "$EX_USAGE"
}

die() {
    printf '%s: %s\n' "$COMMAND" "$*" >&2
    exit 1
}

# Sets PREFIX, DESTDIR, BIN_DIR and MANIFEST from the command line; COMMAND names the script.
parse_install_flags() {
    PREFIX=/usr/local
    DESTDIR=${DESTDIR:-}
    BIN_DIR=
    while (($#)); do
        case $1 in
        --prefix | --destdir | --bin-dir)
            (($# >= 2)) || usage_error "$1 needs a directory"
            set -- "$1=$2" "${@:3}"
            continue
            ;;
        --prefix=*) PREFIX=${1#*=} ;;
        --destdir=*) DESTDIR=${1#*=} ;;
        --bin-dir=*)
            [[ $COMMAND == install ]] || usage_error "unknown option ${1%%=*}"
            BIN_DIR=${1#*=}
            ;;
        -h | --help)
            install_usage "$COMMAND"
            exit 0
            ;;
        *) usage_error "unknown argument $1" ;;
        esac
        shift
    done
    [[ $PREFIX == /* ]] || usage_error "--prefix must be an absolute path, got '$PREFIX'"
    # "/usr/local/" and "/usr/local" are the same prefix; "/" becomes "", so paths stay "/bin/...".
    while [[ $PREFIX == */ ]]; do PREFIX=${PREFIX%/}; done
    if [[ -n $DESTDIR ]]; then
        DESTDIR=$(realpath -m -- "$DESTDIR")
        [[ $DESTDIR != / ]] || DESTDIR=
    fi
    if [[ -n $BIN_DIR ]]; then
        [[ -d $BIN_DIR ]] || usage_error "--bin-dir $BIN_DIR is not a directory"
        BIN_DIR=$(realpath -- "$BIN_DIR")
    fi
    MANIFEST=$PREFIX/share/hermes/installed-files
}

# Whether this run installs onto the running system (not into a staging directory) as root, with
# systemd as the service manager: only then are users, directories and units set up live.
installing_live() {
    [[ -z $DESTDIR && $(id -u) == 0 && -d /run/systemd/system ]]
}
