# Sourced by the deploy scripts that install what the tests need (browser.sh, pdf.sh, asyncapi.sh,
# axe.sh): one way to install without prompts (CI=true, no stdin), or to say why not and what to do.
#   apt_install SUBJECT SAYING PACKAGE...
#                                      Debian packages, as root or through `sudo -n`; SUBJECT names
#                                      them in "… so SUBJECT cannot be installed here", SAYING is
#                                      printed once the install is under way
#   npm_install DIR SOURCE READY TOOL  `npm ci` of SOURCE's package.json and lock into DIR, unless
#                                      READY exists and DIR holds the same lock; TOOL names it
# Before apt_install, a script sets NEEDS: what it needs and how to install that by hand, the
# explanation `fail` prints after its reason.

SELF="deploy/$(basename "$0")"

fail() {
  echo "$SELF: $1" >&2
  echo "$SELF: $NEEDS" >&2
  exit 1
}

apt_install() {
  local subject="$1" saying="$2" sudo=()
  shift 2
  if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || fail "not root and no sudo, so $subject cannot be installed here"
    sudo=(sudo -n)
  fi
  echo "$saying" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >&2 || fail "apt-get update failed"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" >&2 || fail "apt-get install $* failed"
}

npm_install() {
  local dir="$1" source="$2" ready="$3" tool="$4"
  if [ -e "$ready" ] && cmp -s "$source/package-lock.json" "$dir/package-lock.json"; then
    return
  fi
  command -v npm >/dev/null || { echo "npm is needed for $tool (apt-get install nodejs npm)" >&2; exit 1; }
  mkdir -p "$dir"
  cp "$source/package.json" "$source/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
}
