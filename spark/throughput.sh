#!/usr/bin/env bash
# spark/throughput.sh: sequences per second, the plain library in one JVM against RnnScorer on a local
# Spark at local[1] and local[2], on the same data, and the cost of Spark's row conversion
# (io.cellstate.spark.SparkThroughput, in the spark module's test sources). Prints Markdown.
#
#   spark/throughput.sh [--sequences 4096] [--input 32] [--hidden 128] [--min-steps 20] [--max-steps 80]
#                       [--batch 64] [--partitions 8] [--warmups 2] [--repeats 5]
#
# Builds the spark module and what it depends on (test-compile, no tests), then runs the measurement
# with the JVM options Spark's launcher gives a driver (as the module's tests do). A few minutes on 2 cores.
# Environment: JAVA_HOME as for ./cellstate (bin/jdk.sh finds a JDK 25 otherwise); MAVEN_ARGS, e.g. -o.
set -euo pipefail

root=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=../bin/jdk.sh
source bin/jdk.sh
jdk=$(find_jdk) || {
  no_jdk_message spark/throughput.sh >&2
  exit 1
}

# The reactor (-am) resolves the sibling modules to their target/classes, never to a stale local repository.
./mvnw -B -q ${MAVEN_ARGS:-} -pl spark -am test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test >&2
cp="spark/target/test-classes:spark/target/classes:$(cat spark/target/test-classpath.txt)"

# Cellstate's options, then the list of Spark's launcher (spark-launcher's JavaModuleOptions, 4.2.0);
# the same as the module's Surefire argLine.
opts=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  -XX:+IgnoreUnrecognizedVMOptions
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  -Dio.netty.tryReflectionSetAccessible=true
  -Dio.netty.allocator.type=pooled
  -Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE
  --sun-misc-unsafe-memory-access=allow
  -Xmx4g)

echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) logical processors;" \
  "avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no), avx2: $(grep -qw avx2 /proc/cpuinfo && echo yes || echo no);" \
  "$("$jdk/bin/java" -version 2>&1 | sed -n 2p)"
echo
exec "$jdk/bin/java" "${opts[@]}" \
  -cp "$cp" io.cellstate.spark.SparkThroughput "$@"
