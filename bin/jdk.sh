# shellcheck shell=bash
# bin/jdk.sh: finds a JDK 25 or newer. Sourced by ./cellstate and bench/run.sh; defines a constant
# and functions, runs nothing.
#
#   source "$root/bin/jdk.sh"
#   jdk=$(find_jdk) || { no_jdk_message mytool >&2; exit 1; }

if [[ -z ${MIN_JAVA:-} ]]; then
  readonly MIN_JAVA=25
fi

# Prints the feature release of the JDK at $1 (25 for "25.0.3", 8 for "1.8.0_412"), or nothing.
# Reads the JDK's `release` file; asks its java only when that file is missing.
java_major() {
  local home=$1 v=
  if [[ -r $home/release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\(.*\)".*$/\1/p' "$home/release" | head -n 1)
  fi
  if [[ -z $v && -x $home/bin/java ]]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n 's/^.* version "\([^"]*\)".*$/\1/p' | head -n 1)
  fi
  v=${v#1.}
  v=${v%%[!0-9]*}
  if [[ -n $v ]]; then
    echo "$v"
  fi
}

# Whether $1 is a Java installation of release MIN_JAVA or newer.
is_recent_jdk() {
  local home=$1 major
  [[ -n $home && -x $home/bin/java ]] || return 1
  major=$(java_major "$home")
  [[ -n $major ]] && ((major >= MIN_JAVA))
}

# Prints the home of a JDK 25+: JAVA_HOME, else the java on PATH, else the newest in the usual places.
find_jdk() {
  if [[ -n ${JAVA_HOME:-} ]] && is_recent_jdk "$JAVA_HOME"; then
    echo "$JAVA_HOME"
    return 0
  fi
  local java home
  if java=$(command -v java); then
    home=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.home = //p' | head -n 1) || home=
    if is_recent_jdk "$home"; then
      echo "$home"
      return 0
    fi
  fi
  local best= best_major=0 candidate major user_home=${HOME:-/nonexistent}
  for candidate in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/*jdk* \
      "$user_home"/.sdkman/candidates/java/* "$user_home"/.jdks/* \
      /Library/Java/JavaVirtualMachines/*/Contents/Home \
      "$user_home"/Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [[ -x $candidate/bin/java ]] || continue
    major=$(java_major "$candidate")
    if [[ -n $major ]] && ((major >= MIN_JAVA && major > best_major)); then
      best=$candidate
      best_major=$major
    fi
  done
  [[ -n $best ]] || return 1
  echo "$best"
}

# Prints, prefixed with the calling command's name $1, where find_jdk looked and what to install.
no_jdk_message() {
  echo "$1: needs a JDK $MIN_JAVA or newer and found none (looked at JAVA_HOME, java on PATH, /usr/lib/jvm," \
    "/usr/java, /opt, SDKMAN, ~/.jdks, /Library/Java/JavaVirtualMachines): install a JDK $MIN_JAVA, for example" \
    "Eclipse Temurin $MIN_JAVA (https://adoptium.net), and set JAVA_HOME to it."
}
