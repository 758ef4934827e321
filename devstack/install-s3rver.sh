#!/usr/bin/env bash
# Install the pinned s3rver (a local S3-compatible server) into a cache outside the repository
# and print the path of its executable.
#
# The embedded Kafka-API broker of the local stack keeps its log in S3 (its only durable storage
# engine here), and s3rver keeps the objects in a directory on disk. Every npm package is pinned
# by version and sha512 integrity in devstack/s3rver/package-lock.json, and `npm ci` refuses a
# package whose digest differs. The install directory is named after the lock's digest, so a
# changed lock is installed afresh and never mixed with an older tree.
#
# Environment: SLICEWISE_S3RVER_CACHE overrides the cache directory
# (default ~/.cache/slicewise/s3rver).
set -euo pipefail

readonly SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/s3rver" && pwd)"
readonly S3RVER_VERSION="3.7.1"

cache="${SLICEWISE_S3RVER_CACHE:-${HOME}/.cache/slicewise/s3rver}"
digest="$(cat "${SOURCE}/package.json" "${SOURCE}/package-lock.json" | sha256sum | cut -c1-16)"
target="${cache}/${S3RVER_VERSION}-${digest}"
binary="${target}/node_modules/.bin/s3rver"

if [[ -x "${binary}" ]]; then
    echo "${binary}"
    exit 0
fi

command -v npm >/dev/null || { echo "install-s3rver.sh: npm is required to fetch s3rver" >&2; exit 1; }

mkdir -p "${cache}"
work="$(mktemp -d "${cache}/.partial.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

echo "install-s3rver.sh: installing s3rver@${S3RVER_VERSION} from the pinned lock" >&2
cp "${SOURCE}/package.json" "${SOURCE}/package-lock.json" "${work}/"
# --ignore-scripts: no package runs code at install time; s3rver needs no build step.
(cd "${work}" && npm ci --silent --ignore-scripts --no-audit --no-fund >/dev/null)

reported="$("${work}/node_modules/.bin/s3rver" --version)"
if [[ "${reported}" != "${S3RVER_VERSION}" ]]; then
    echo "install-s3rver.sh: the installed s3rver reports ${reported}, expected ${S3RVER_VERSION}" >&2
    exit 1
fi

# Rename into place, so a concurrent run never sees half a tree.
if ! mv -T "${work}" "${target}" 2>/dev/null; then
    [[ -x "${binary}" ]] || { echo "install-s3rver.sh: could not install into ${target}" >&2; exit 1; }
fi
trap - EXIT
rm -rf "${work}"
echo "${binary}"
