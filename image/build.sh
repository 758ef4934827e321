#!/usr/bin/env bash
# `make image`: build the Slicewise OCI image on this machine without a container engine, check
# that each entrypoint starts from it, and report its size.
#
# It assembles the layers the Dockerfile describes, from what Debian and PyPI give:
#   1. base: Debian bookworm (minbase, python3, ca-certificates), made by mmdebstrap from the
#      machine's own apt sources (/etc/apt/sources.list.d/debian.sources; no mirror is named
#      here), documentation and apt lists left out as in Debian's slim images; cached;
#   2. app: a virtual environment at /opt/slicewise holding exactly requirements/image.lock
#      (hash-checked, no index: the wheels are downloaded first) and the project's own wheel,
#      plus the non-root user slicewise (uid/gid 10001, as the charts' securityContext).
# The layers are written as an OCI archive by image/oci_archive.py. Then the archive is unpacked
# into a fresh directory (digests checked) and every entrypoint is run there with --help, as
# uid 10001 under chroot, and every module of the deployed packages is imported there.
#
# Needs root (mmdebstrap --mode=root and chroot), mmdebstrap (the Debian package, installed with
# apt-get when missing) and the project's .venv. Environment: IMAGE_OUT (default build/image),
# SLICEWISE_IMAGE_CACHE (default ~/.cache/slicewise/image).
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly PYTHON="${ROOT}/.venv/bin/python"
readonly SOURCES="/etc/apt/sources.list.d/debian.sources"
readonly SUITE="bookworm"
readonly PACKAGES="python3,ca-certificates"
readonly APP_UID=10001
readonly VENV="/opt/slicewise"
readonly NAME="slicewise"
# What the gateway, workers, agent, executor and `slicewise migrate|admin` are made of.
readonly DEPLOYED_PACKAGES="protocol recommender auth store gateway workers agent executor cli"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "${ROOT}/pyproject.toml" | head -n1)"
readonly VERSION
readonly OUT="${IMAGE_OUT:-${ROOT}/build/image}"
readonly CACHE="${SLICEWISE_IMAGE_CACHE:-${HOME}/.cache/slicewise/image}"
readonly ARCHIVE="${OUT}/${NAME}-${VERSION}.oci.tar"

say() { echo "make image: $*" >&2; }

[[ "$(id -u)" == 0 ]] || { say "needs root (mmdebstrap --mode=root, chroot)"; exit 1; }
if ! command -v mmdebstrap >/dev/null; then
    say "installing Debian's mmdebstrap"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; } ||
        { say "needs mmdebstrap: apt-get install mmdebstrap"; exit 1; }
fi
[[ -x "${PYTHON}" ]] || { say "needs the project's .venv: make install"; exit 1; }
[[ -r "${SOURCES}" ]] || { say "needs the machine's apt sources at ${SOURCES}"; exit 1; }

mkdir -p "${OUT}" "${CACHE}"
work="$(mktemp -d "${OUT}/.work.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# 1. Base layer, cached by what decides its content: the apt sources, suite and packages.
base_key="$(printf '%s\n%s\n%s\n' "$(cat "${SOURCES}")" "${SUITE}" "${PACKAGES}" | sha256sum | cut -c1-16)"
base="${CACHE}/base-${SUITE}-${base_key}.tar"
if [[ ! -f "${base}" ]]; then
    say "base layer: Debian ${SUITE} (${PACKAGES}) with mmdebstrap"
    mmdebstrap --quiet --variant=minbase --mode=root --format=tar --include="${PACKAGES}" \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
        "${SUITE}" "${base}.partial" "${SOURCES}"
    mv "${base}.partial" "${base}"
else
    say "base layer: cached ${base}"
fi

# 2. App layer: the locked wheels into a venv inside the base, then only what changed is kept.
rootfs="${work}/rootfs"
mkdir "${rootfs}"
tar -xf "${base}" -C "${rootfs}"
wheels="${rootfs}/tmp/wheels"
say "app layer: downloading the wheels of requirements/image.lock (hash-checked)"
"${PYTHON}" -m pip download --quiet --disable-pip-version-check --require-hashes --no-deps \
    --only-binary=:all: -r "${ROOT}/requirements/image.lock" -d "${wheels}"
"${PYTHON}" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
    --no-index -w "${wheels}" "${ROOT}"
cp "${ROOT}/requirements/image.lock" "${rootfs}/tmp/image.lock"
pip_wheel="$(cd "${wheels}" && ls pip-*.whl)"
project_wheel="$(cd "${wheels}" && ls "${NAME}"-*.whl)"
in_rootfs() { chroot "${rootfs}" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
in_rootfs /usr/bin/python3 -m venv --without-pip "${VENV}"
# pip runs from its own locked wheel (python3-venv's ensurepip is not in the base); the lock
# names pip too, so the venv ends up with the locked pip and nothing unlocked.
in_rootfs "${VENV}/bin/python" "/tmp/wheels/${pip_wheel}/pip" install --quiet --no-index \
    --no-cache-dir --disable-pip-version-check --find-links /tmp/wheels --require-hashes \
    --no-deps -r /tmp/image.lock
in_rootfs "${VENV}/bin/python" -m pip install --quiet --no-index --no-cache-dir \
    --disable-pip-version-check --no-deps "/tmp/wheels/${project_wheel}"
echo "${NAME}:x:${APP_UID}:${APP_UID}:Slicewise:/nonexistent:/usr/sbin/nologin" >>"${rootfs}/etc/passwd"
echo "${NAME}:x:${APP_UID}:" >>"${rootfs}/etc/group"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "${rootfs}" \
    -cf "${work}/app.tar" "${VENV#/}" etc/passwd etc/group

# 3. The OCI archive.
cat >"${work}/config.json" <<EOF
{
  "architecture": "amd64",
  "os": "linux",
  "config": {
    "User": "${APP_UID}:${APP_UID}",
    "Env": [
      "PATH=${VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "PYTHONUNBUFFERED=1",
      "PYTHONDONTWRITEBYTECODE=1"
    ],
    "Cmd": ["slicewise", "--help"],
    "WorkingDir": "/",
    "Labels": {
      "org.opencontainers.image.title": "${NAME}",
      "org.opencontainers.image.version": "${VERSION}",
      "org.opencontainers.image.description": "Slicewise: gateway, workers, agent, executor and the slicewise command"
    }
  },
  "history": [
    {"created_by": "mmdebstrap --variant=minbase ${SUITE} (${PACKAGES}), docs excluded"},
    {"created_by": "venv ${VENV} from requirements/image.lock and the ${NAME} wheel; user ${APP_UID}"}
  ]
}
EOF
say "writing ${ARCHIVE}"
summary="$("${PYTHON}" "${ROOT}/image/oci_archive.py" write "${ARCHIVE}" "${base}" "${work}/app.tar" \
    --tag "${VERSION}" --config "${work}/config.json")"

# 4. Every entrypoint starts from the unpacked image, as the non-root user.
check="${work}/check"
"${PYTHON}" "${ROOT}/image/oci_archive.py" unpack "${ARCHIVE}" "${check}"
for entrypoint in "slicewise --help" "python -m gateway --help" "python -m workers --help" \
    "python -m agent --help" "python -m executor --help"; do
    # shellcheck disable=SC2086  # the entrypoint is split into its words on purpose
    if ! chroot --userspec="${APP_UID}:${APP_UID}" "${check}" /usr/bin/env -i \
        "PATH=${VENV}/bin:/usr/bin:/bin" HOME=/nonexistent ${entrypoint} >"${work}/help.txt" 2>&1; then
        say "entrypoint '${entrypoint}' failed in the image:"
        cat "${work}/help.txt" >&2
        exit 1
    fi
    say "entrypoint ok as uid ${APP_UID}: ${entrypoint}"
done
# Every module the deployables may load imports in the image (a distribution missing from the
# image lock shows here, not at the first request); Alembic's env script runs only inside Alembic.
cp "${ROOT}/image/import_all.py" "${check}/tmp/import_all.py"
# shellcheck disable=SC2086  # the package list is split into its words on purpose
if ! chroot --userspec="${APP_UID}:${APP_UID}" "${check}" /usr/bin/env -i \
    "PATH=${VENV}/bin:/usr/bin:/bin" HOME=/nonexistent python /tmp/import_all.py \
    --skip store.migrations.env ${DEPLOYED_PACKAGES} >"${work}/imports.txt" 2>&1; then
    say "modules that do not import in the image:"
    cat "${work}/imports.txt" >&2
    exit 1
fi
say "every module of ${DEPLOYED_PACKAGES} imports as uid ${APP_UID}"

say "built ${NAME}:${VERSION} in ${SECONDS} s"
echo "${summary}"
