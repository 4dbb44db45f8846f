# Shared by scripts/run, scripts/test and scripts/tidy (sourced, not run).
# Everything printed here goes to stderr: callers' stdout is their product.

kyoto_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Installs the Debian packages given that are missing (needs root or sudo).
kyoto_install() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "kyoto: need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  echo "kyoto: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q "${missing[@]}" >&2 \
    || { "${sudo[@]}" apt-get update -q >&2 && "${sudo[@]}" apt-get install -y -q "${missing[@]}" >&2; }
}

# The packages every build needs (GCC 12 is Debian 12's default compiler).
kyoto_base_packages=(g++ meson ninja-build pkg-config git liburing-dev libspdlog-dev libgtest-dev clang-format-19)
# redis-cli, for tests/mini_redis/redis_cli_test.cpp (mini-redis against the real client).
kyoto_base_packages+=(redis-tools)
# What a clang-19 build adds (the sanitizer runtimes live in libclang-rt-19-dev);
# clang-tidy-19 (scripts/tidy) parses with the same clang; lld-19 links the
# clang builds (a sanitizer build's ~220 executables link ~3x faster than
# with GNU ld).
kyoto_clang_packages=(clang-19 libclang-rt-19-dev llvm-19 clang-tidy-19 lld-19)

# kyoto_setup BUILDDIR COMPILER BUILDTYPE SANITIZE [MESON_SETUP_ARG...]:
# configures BUILDDIR if it is not configured yet. COMPILER is gcc or clang;
# SANITIZE a b_sanitize value; the rest is passed to meson setup.
kyoto_setup() {
  local builddir="$1" compiler="$2" buildtype="$3" sanitize="$4"
  shift 4
  [ -f "$builddir/build.ninja" ] && return 0
  local cxx=g++ cc=gcc ld=()
  if [ "$compiler" = clang ]; then
    cxx=clang++-19 cc=clang-19
    # clang-19 finds ld.lld-19 in its own directory (-fuse-ld=lld).
    [ -x /usr/lib/llvm-19/bin/ld.lld ] && ld=(CXX_LD=lld CC_LD=lld)
  fi
  local args=(--buildtype="$buildtype" -Dwerror=true "$@")
  if [ "$sanitize" != none ]; then args+=(-Db_sanitize="$sanitize" -Db_lundef=false); fi
  env "${ld[@]}" CXX="$cxx" CC="$cc" meson setup "$builddir" "$kyoto_root" "${args[@]}" >&2
}
