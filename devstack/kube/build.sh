#!/usr/bin/env bash
# Build (once) the local control plane's Kubernetes binaries, per ARCHITECTURE.md §3:
# kube-apiserver, kube-scheduler and kube-controller-manager, all from one source tree.
#
# The binaries land in a cache dir outside the repository and are reused on every later run:
#   ${SLICEWISE_KUBE_CACHE:-$HOME/.cache/slicewise/kube}/{kube-apiserver,kube-scheduler,kube-controller-manager}
# Whatever is missing is built in one `make` (the three share most of their packages, so one
# build is far cheaper than three). On success the cache dir is the last line printed on stdout;
# progress goes to stderr.
#
# Recipe: Debian's `kubernetes` source package (1.20.x, which carries the whole tree with
# vendor/) is fetched with `apt-get source` through a private sources list derived at run time from
# the machine's own debian.sources (deb-src added), so no registry host name lives in this repo.
# It is built with Debian's Go 1.19 after swapping the vendored modern-go/reflect2 for Debian's
# 1.0.2 copy: the vendored 1.0.1 reads Go runtime internals that changed, and the server crashes
# on the first custom resource. etcd comes from Debian's etcd-server package (/usr/bin/etcd).
#
# Concurrent builders (two test sessions, or `slicewise up` beside a test run) serialise on
# $CACHE_DIR/.build.lock, and every binary is installed by an atomic rename, so a reader never
# sees a half-written file.
set -euo pipefail

CACHE_DIR="${SLICEWISE_KUBE_CACHE:-$HOME/.cache/slicewise/kube}"
DEB_SOURCES="${SLICEWISE_DEB_SOURCES:-/etc/apt/sources.list.d/debian.sources}"
GO_BIN_DIR=/usr/lib/go-1.19/bin
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
PACKAGES=(etcd-server golang-1.19-go golang-github-modern-go-reflect2-dev dpkg-dev make gcc rsync)
COMPONENTS=(kube-apiserver kube-scheduler kube-controller-manager)

log() { printf '[kube-build] %s\n' "$*" >&2; }

etcd_present() { command -v etcd >/dev/null 2>&1 || [[ -x /usr/bin/etcd ]]; }
runs() { [[ -x "$CACHE_DIR/$1" ]] && "$CACHE_DIR/$1" --version >/dev/null 2>&1; }
missing_components() {
    local name
    for name in "${COMPONENTS[@]}"; do runs "$name" || printf '%s\n' "$name"; done
}
all_cached() { etcd_present && [[ -z "$(missing_components)" ]]; }

# Fast path: cached binaries that still run are all the control plane needs.
if all_cached; then
    printf '%s\n' "$CACHE_DIR"
    exit 0
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
can_install() { [[ $(id -u) -eq 0 ]] || sudo -n true 2>/dev/null; }

# `build.sh --check`: exit 0 when a build can run here, else say why (on stderr) and exit 3.
# Whether the package mirrors answer is left to the build itself, which fails saying so.
if [[ "${1:-}" == "--check" ]]; then
    cannot() { log "cannot build: $*"; exit 3; }
    command -v dpkg-query >/dev/null 2>&1 || cannot "no dpkg-query (not a Debian-family system)"
    command -v apt-get >/dev/null 2>&1 || cannot "no apt-get (not a Debian-family system)"
    command -v flock >/dev/null 2>&1 || cannot "no flock (util-linux)"
    for pkg in "${PACKAGES[@]}"; do
        installed "$pkg" && continue
        can_install || cannot "Debian package $pkg is missing and installing it needs root or passwordless sudo"
    done
    [[ -r "$DEB_SOURCES" ]] || cannot "cannot read $DEB_SOURCES to derive a deb-src list"
    log "a build can run here"
    exit 0
fi

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.build.lock"
if ! flock -n 9; then
    log "waiting for the build lock $CACHE_DIR/.build.lock (another build is running)"
    flock 9
fi
if all_cached; then
    log "another process finished the build meanwhile"
    printf '%s\n' "$CACHE_DIR"
    exit 0
fi

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing_pkgs=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing_pkgs+=("$pkg")
done
if ((${#missing_pkgs[@]})); then
    log "installing Debian packages: ${missing_pkgs[*]}"
    # Another apt run (a package install beside this build) holds dpkg's lock for a while:
    # wait for it rather than fail.
    as_root apt-get -o DPkg::Lock::Timeout=600 update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
        "${missing_pkgs[@]}" >&2
fi
etcd_present || { log "etcd not found after installing etcd-server"; exit 1; }

mapfile -t TODO < <(missing_components)
if ((${#TODO[@]} == 0)); then
    printf '%s\n' "$CACHE_DIR"
    exit 0
fi

[[ -r "$DEB_SOURCES" ]] || { log "cannot read $DEB_SOURCES to derive a deb-src list"; exit 1; }
[[ -d "$REFLECT2_SRC" ]] || { log "missing $REFLECT2_SRC"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/slicewise-kube-build.XXXXXX")"
# Keep the build tree when asked, to debug a failed build; remove it otherwise.
if [[ -z "${SLICEWISE_KUBE_KEEP_BUILD:-}" ]]; then
    trap 'rm -rf "$WORK"' EXIT
fi
log "build dir: $WORK"

# Private apt configuration: same repositories as the machine, plus their sources. Only the
# lists and the sources file are private, so the machine's apt state is left untouched.
APT_DIR="$WORK/apt"
mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/lists/partial"
: >"$APT_DIR/sources.list"
sed -E 's/^Types:[[:space:]]*.*$/Types: deb deb-src/' "$DEB_SOURCES" \
    >"$APT_DIR/sources.list.d/private.sources"
APT_OPTS=(
    -o "Dir::Etc::sourcelist=$APT_DIR/sources.list"
    -o "Dir::Etc::sourceparts=$APT_DIR/sources.list.d"
    -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "APT::Sandbox::User=root"
)
log "updating the private package lists (with deb-src)"
apt-get "${APT_OPTS[@]}" update -q >&2

SRC_DIR="$WORK/src"
mkdir -p "$SRC_DIR"
log "fetching the Debian kubernetes source package"
(cd "$SRC_DIR" && apt-get "${APT_OPTS[@]}" source -q kubernetes >&2)
TREE="$(find "$SRC_DIR" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)"
[[ -n "$TREE" && -d "$TREE/vendor" ]] || { log "no kubernetes tree with vendor/ in $SRC_DIR"; exit 1; }
log "source tree: $TREE"

log "replacing vendored modern-go/reflect2 with Debian's copy ($REFLECT2_SRC)"
rm -rf "$TREE/vendor/github.com/modern-go/reflect2"
mkdir -p "$TREE/vendor/github.com/modern-go/reflect2"
# -L: Debian's gocode tree may hold symlinks; the vendor dir needs real files.
cp -rL "$REFLECT2_SRC/." "$TREE/vendor/github.com/modern-go/reflect2/"
find "$TREE/vendor/github.com/modern-go/reflect2" -name '*_test.go' -delete

VERSION="$(cd "$TREE" && dpkg-parsechangelog -S Version)"
UPSTREAM="${VERSION#*really}"
UPSTREAM="${UPSTREAM%%-*}"
WHAT="$(printf 'cmd/%s ' "${TODO[@]}")"
WHAT="${WHAT% }"
log "building $WHAT (upstream $UPSTREAM; about 10 minutes for all three on 2 cores; a line a minute follows)"
started=$SECONDS
(
    cd "$TREE"
    export PATH="$GO_BIN_DIR:$PATH"
    export GOFLAGS=-mod=vendor GO111MODULE=on GOPROXY=off GOTOOLCHAIN=local
    export GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath"
    # Without .git, hack/lib/version.sh takes the version from these variables.
    export KUBE_GIT_VERSION="v$UPSTREAM" KUBE_GIT_TREE_STATE=clean
    export KUBE_GIT_MAJOR="${UPSTREAM%%.*}" KUBE_GIT_MINOR="$(cut -d. -f2 <<<"$UPSTREAM")"
    # A line a minute, so a reader of the progress sees a compile that is still going.
    (while sleep 60; do log "still compiling ($((SECONDS - started))s so far)"; done) &
    ticker=$!
    trap 'kill "$ticker" 2>/dev/null' EXIT
    make WHAT="$WHAT" >&2
)
log "build finished in $((SECONDS - started))s"

for name in "${TODO[@]}"; do
    built="$(find "$TREE/_output" -type f -name "$name" -perm -u+x | head -n 1)"
    [[ -n "$built" ]] || { log "$name binary not found under $TREE/_output"; exit 1; }
    install -m 0755 "$built" "$CACHE_DIR/$name.tmp.$$"
    mv -f "$CACHE_DIR/$name.tmp.$$" "$CACHE_DIR/$name"
    "$CACHE_DIR/$name" --version >&2
    log "cached $CACHE_DIR/$name"
done
printf '%s\n' "$CACHE_DIR"
