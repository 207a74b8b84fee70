# Shared by scripts/test, scripts/run and scripts/bench. Sourced, not run.

# Debian packages the build, the tests and the scripts need.
# systemd brings systemd-analyze, systemd-sysusers and systemd-tmpfiles for the unit tests, and
# man-db the man(1) that systemd-analyze verify checks Documentation= pages with. chromium renders
# hermes-report's page in the tests, inside an empty network namespace (unshare, from util-linux).
# debhelper and lintian make and check the Debian package (scripts/package); mmdebstrap and
# systemd-container make and boot the Debian 12 container it is tested in. python3-requests and
# python3-pip run and fetch the third-party Cloudflare client of ThirdPartyClientTests.
HERMES_APT_PACKAGES=(pkg-config libsqlite3-dev libcurl4-openssl-dev zlib1g-dev libsnappy-dev sqlite3 mandoc curl prometheus prometheus-node-exporter openssl systemd man-db iperf3 faketime iproute2 chromium util-linux debhelper lintian mmdebstrap systemd-container time nginx-light php8.2-fpm python3-requests python3-pip iputils-ping)

# The Debian 12 root the package test boots: what the package depends on and recommends, so that
# apt installs the .deb offline, and the tools the test looks with.
HERMES_CONTAINER_PACKAGES=(systemd systemd-sysv dbus apt libcurl4 libsqlite3-0 zlib1g libsnappy1v5 prometheus-node-exporter sqlite3 curl procps iproute2)
# And a root without systemd, as in a Docker image: what the package needs there (apt would fetch
# systemd-standalone-sysusers, the alternative to systemd the package depends on).
HERMES_PLAIN_ROOT_PACKAGES=(apt libcurl4 libsqlite3-0 zlib1g libsnappy1v5 systemd-standalone-sysusers)

# Release builds link the Swift runtime statically: an installed tool keeps working when the
# toolchain it was built with moves or is removed, and starts without loading the runtime's
# shared libraries. The C libraries (libcurl, libsqlite3, zlib) stay shared, from the system.
HERMES_RELEASE_BUILD=(-c release --static-swift-stdlib)

# The tools scripts/install installs (hermes-bench is a development tool and stays out).
HERMES_TOOLS=(hermes-measure hermes-store hermes-export hermes-alert hermes-target hermes-report)

step() { printf '==> %s\n' "$*" >&2; }

missing_packages() {
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' \
            || printf '%s\n' "$package"
    done
}

# Installs the packages that are not installed yet (apt-get as root, else through sudo).
ensure_packages() {
    local -a wanted=("${HERMES_APT_PACKAGES[@]}" "$@")
    local -a missing
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    ((${#missing[@]} == 0)) && return 0
    step "installing ${missing[*]}"
    local -a sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Every manual must lint without warnings or errors.
lint_manuals() {
    local page status=0
    for page in man/*.[1-9]; do
        if ! mandoc -Tlint -W warning "$page"; then
            printf 'manual %s does not lint clean\n' "$page" >&2
            status=1
        fi
    done
    return "$status"
}

# Prints the path of a tarball of a Debian 12 root with the packages given after DIR, made by
# mmdebstrap from the Debian archive the first time and kept in DIR (named after the package list,
# so a change to it makes a new one).
container_root() {
    local cache=$1 key tarball
    shift
    key=$(printf '%s\n' bookworm "$@" | sha256sum | cut -c1-16)
    tarball=$cache/debian-bookworm-$key.tar
    # An earlier version of this function left a directory under the tarball's name (mmdebstrap
    # reads the format from the output's extension, and ".tmp" is none).
    if [[ -d $tarball ]]; then rm -rf "$tarball"; fi
    if [[ ! -s $tarball ]]; then
        mkdir -p "$cache"
        rm -rf "$tarball.tmp"
        step "making a Debian 12 root (mmdebstrap, once; kept in $cache)"
        local packages
        packages=$(IFS=,; echo "$*")
        mmdebstrap --quiet --variant=minbase --format=tar --include="$packages" bookworm "$tarball.tmp" \
            "deb http://deb.debian.org/debian bookworm main" \
            "deb http://deb.debian.org/debian bookworm-updates main" \
            "deb http://deb.debian.org/debian-security bookworm-security main" >&2 ||
            { rm -rf "$tarball.tmp"; step "mmdebstrap failed"; return 1; }
        mv "$tarball.tmp" "$tarball" || return 1
    fi
    printf '%s\n' "$tarball"
}

# Prints the path of cloudflarepycli's wheel (a third-party Cloudflare client ThirdPartyClientTests
# runs against hermes-target), downloaded from PyPI into DIR the first time and checked against
# the hash it was reviewed at. Pure Python: the test imports it from the wheel, with Debian's
# python3-requests.
cloudflare_client_wheel() {
    local dir=$1/pypi
    local wheel=$dir/cloudflarepycli-2.0.2-py3-none-any.whl
    local sha256=928e020cd0174d6e00bab930f5362af8d4027c5b623aeaab2b3feac1f1712a28
    if [[ ! -s $wheel ]]; then
        mkdir -p "$dir"
        step "downloading cloudflarepycli 2.0.2 from PyPI (once; kept in $dir)"
        /usr/bin/python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --dest "$dir" cloudflarepycli==2.0.2 >&2 || { step "pip download failed"; return 1; }
    fi
    if ! printf '%s  %s\n' "$sha256" "$wheel" | sha256sum --check --quiet >&2; then
        rm -f "$wheel"
        step "$wheel does not have the expected SHA-256"
        return 1
    fi
    printf '%s\n' "$wheel"
}
