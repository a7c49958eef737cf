#!/usr/bin/env bash
# bench/run.sh: runs the JMH benchmarks and renders their report. `./cellstate bench` runs this.
#
#   bench/run.sh [quick|full] [--dry-run]
#
#   quick (default)  LSTM: vector, blas, blas-gemms (bare OpenBLAS calls), oneDNN and ONNX Runtime on six
#                    shapes at 1 and 2 threads, the scalar oracle on the two smallest at 1 thread; GRU (both
#                    formulas) and RNN: vector, blas, oneDNN and ONNX Runtime on four shapes; 1 fork, 2
#                    warmups x 1 s, 3 measurements x 2 s. Training: vector, blas and oneDNN, the LSTM on
#                    four shapes at T = 100 and benchdnn's 64x500 at T = 50, GRU (both formulas) and RNN on
#                    two shapes, at 1 and 2 threads; 4 warmups x 3 s (see training_timing). About 30 minutes on 2 cores for the forward part (the
#                    oracle checks at 256x1024 take a minute or two), about 20 more for training.
#   full             every backend on every shape at 1 and 2 threads; 2 forks, 3 warmups, 5 measurements
#                    (the benchmarks' own 2 s and 1 s). Hours: the scalar oracle needs about two minutes
#                    per call at 256x1024 (it trains at 1x256 only).
#   --dry-run        print the commands instead of running them
#
# Both run ForwardBenchmark (one call = T steps of one layer of a cell; T = 100, 50 at 256x1024 to bound the time;
# the peers oneDNN and ONNX Runtime, the latter on the model Onnx.write writes, forward only),
# StepBenchmark (one call = one streaming step at B = 1, H = 512), ConcurrentPlansBenchmark (four
# threads at once, a plan each: the common worker group against a pool per plan, and oneDNN) and
# TrainingBenchmark (one call = a training step, forward + backward to every gradient, against oneDNN's
# forward_training + backward; 64x512 at T = 100 is PyTorch's RNN benchmark default, 64x500 at T = 50
# benchdnn's l1t50mb64sic500). JMH writes one JSON file per
# invocation (bench/results/*.tmp); when all are done they are merged into
# bench/results/<UTC yyyymmddThhmmssZ>-<profile>.json, which is kept (and committed), and
# io.cellstate.bench.Report renders docs/benchmarks.md, docs/benchmarks.svg and the README's block
# between <!-- bench:start --> and <!-- bench:end -->.
#
# Environment:
#   JAVA_HOME                            as for ./cellstate (bin/jdk.sh finds a JDK 25 otherwise)
#   OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE  passed on to the benchmarks and recorded in the report
set -euo pipefail

root=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=../bin/jdk.sh
source bin/jdk.sh

# What a profile runs: each invocation line starts with the benchmark class, then its JMH params.
readonly SHAPES_T100=1x256,1x512,1x1024,16x512,64x512
readonly SHAPES_T50=256x1024
readonly SHAPES_CELLS=1x256,1x512,16x512,64x512
readonly SHAPES_TRAIN=1x256,1x512,16x512,64x512
# benchdnn's RNN training shape l1t50mb64sic500: T = 50, B = 64, I = H = 500
readonly SHAPE_BENCHDNN=64x500
readonly ALL_BACKENDS=vector,blas,blas-gemms,scalar,onednn,onnxruntime
# blas-gemms: the OpenBLAS calls of a blas pass alone, the yardstick for the blas backend's glue
readonly FAST_BACKENDS=vector,blas,blas-gemms,onednn,onnxruntime
readonly CP='bench/target/classes:bench/target/lib/*'

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

profile=quick
dry_run=false
for arg in "$@"; do
  case $arg in
    quick | full) profile=$arg ;;
    -n | --dry-run) dry_run=true ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "bench/run.sh: unknown argument '$arg' (expected quick, full or --dry-run)" >&2
      exit 2
      ;;
  esac
done

# One JMH invocation per line: JMH runs the cross product of its params, and the profiles are not one.
case $profile in
  quick)
    timing=(-f 1 -wi 2 -i 3 -w 1s -r 2s)
    # A training call of `vector` reaches its compiled speed only after some 10 s of calls: C2 compiles the
    # engine's long loops, then again as their branches first run (-Xlog:jit+compilation showed the engine's
    # forward and backward recompiled until 11 s after the set-up; on a Zen 4 at 64x512, one thread, the first
    # five calls ran 12 to 19% slower than the steady 890 ms and the next eight 2 to 7%). 2 x 1 s measured them.
    training_timing=(-f 1 -wi 4 -i 3 -w 3s -r 2s)
    invocations=(
      "ForwardBenchmark -p backend=$FAST_BACKENDS -p shape=$SHAPES_T100 -p steps=100 -p threads=1,2"
      "ForwardBenchmark -p backend=$FAST_BACKENDS -p shape=$SHAPES_T50 -p steps=50 -p threads=1,2"
      "ForwardBenchmark -p backend=scalar -p shape=1x256,1x512 -p steps=100 -p threads=1"
      "ForwardBenchmark -p backend=vector,blas,onednn,onnxruntime -p cell=gru,gru-original,rnn-tanh -p shape=$SHAPES_CELLS -p steps=100 -p threads=1,2"
      "StepBenchmark -p backend=vector,blas,onednn -p shape=1x512 -p threads=1,2"
      "StepBenchmark -p backend=scalar -p shape=1x512 -p threads=1"
      "ConcurrentPlansBenchmark -p shape=1x256,16x256 -p steps=50 -p threads=0,1"
      "TrainingBenchmark -p backend=vector,blas,onednn -p shape=$SHAPES_TRAIN -p steps=100 -p threads=1,2"
      "TrainingBenchmark -p backend=vector,blas,onednn -p shape=$SHAPE_BENCHDNN -p steps=50 -p threads=1,2"
      "TrainingBenchmark -p backend=vector,blas,onednn -p cell=gru,gru-original,rnn-tanh -p shape=1x512,64x512 -p steps=100 -p threads=1,2"
    )
    ;;
  full)
    timing=(-f 2 -wi 3 -i 5)
    training_timing=(-f 2 -wi 6 -i 5)
    invocations=(
      "ForwardBenchmark -p backend=$ALL_BACKENDS -p shape=$SHAPES_T100 -p steps=100 -p threads=1,2"
      "ForwardBenchmark -p backend=$ALL_BACKENDS -p shape=$SHAPES_T50 -p steps=50 -p threads=1,2"
      "ForwardBenchmark -p backend=vector,blas,scalar,onednn,onnxruntime -p cell=gru,gru-original,rnn-tanh,rnn-relu -p shape=$SHAPES_T100 -p steps=100 -p threads=1,2"
      "StepBenchmark -p backend=vector,blas,scalar,onednn -p shape=1x512 -p threads=1,2"
      "ConcurrentPlansBenchmark -p shape=1x256,16x256,64x512 -p steps=50 -p threads=0,1"
      "TrainingBenchmark -p backend=vector,blas,onednn -p shape=$SHAPES_T100 -p steps=100 -p threads=1,2"
      "TrainingBenchmark -p backend=vector,blas,onednn -p shape=$SHAPES_T50,$SHAPE_BENCHDNN -p steps=50 -p threads=1,2"
      "TrainingBenchmark -p backend=scalar -p shape=1x256 -p steps=100 -p threads=1"
      "TrainingBenchmark -p backend=vector,blas,onednn -p cell=gru,gru-original,rnn-tanh,rnn-relu -p shape=$SHAPES_T100 -p steps=100 -p threads=1,2"
    )
    ;;
esac

# $1 as a shell word: unchanged when plain, else in single quotes.
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# Its arguments as one command line, `java` for the JDK's full path (the report names the JDK).
show() {
  local word line=
  for word in "$@"; do
    [[ $word == "$java" ]] && word=java
    line+="${line:+ }$(quote "$word")"
  done
  printf '%s' "$line"
}

# Runs its arguments, or prints them under --dry-run.
run() {
  if $dry_run; then
    echo "+ $(show "$@")"
  else
    "$@"
  fi
}

if ! jdk=$(find_jdk); then
  if ! $dry_run; then
    no_jdk_message bench/run.sh >&2
    exit 1
  fi
  jdk=/path/to/jdk-$MIN_JAVA
fi
java=$jdk/bin/java

echo "bench/run.sh: building with the JDK in $jdk: ./mvnw -B -q -pl bench -am package -DskipTests" >&2
if $dry_run; then
  echo "+ JAVA_HOME=$jdk ./mvnw -B -q -pl bench -am package -DskipTests"
elif ! JAVA_HOME=$jdk ./mvnw -B -q -pl bench -am package -DskipTests; then
  echo "bench/run.sh: the build failed (see above)" >&2
  exit 1
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
result=bench/results/$stamp-$profile.json
mkdir -p bench/results
commands=(--command "bench/run.sh $profile")
parts=()
for i in "${!invocations[@]}"; do
  read -r -a params <<<"${invocations[i]}"
  part=bench/results/$stamp-$profile.$((i + 1)).json.tmp
  if [[ ${params[0]} == TrainingBenchmark ]]; then
    run_timing=("${training_timing[@]}")
  else
    run_timing=("${timing[@]}")
  fi
  cmd=("$java" -cp "$CP" org.openjdk.jmh.Main "${params[0]}\." "${run_timing[@]}" "${params[@]:1}" -rf json -rff "$part")
  commands+=(--command "$(show "${cmd[@]}")")
  echo "bench/run.sh: JMH run $((i + 1)) of ${#invocations[@]} ($profile)" >&2
  if ! run "${cmd[@]}"; then
    echo "bench/run.sh: JMH failed; the finished runs are in bench/results/$stamp-$profile.*.json.tmp" >&2
    exit 1
  fi
  parts+=("$part")
done
run "$java" -cp "$CP" io.cellstate.bench.MergeResults "$result.tmp" "${parts[@]}"
run mv "$result.tmp" "$result"
run rm -f "${parts[@]}"

# What JMH cannot know: the peers' versions, the CPU's caches, the OpenBLAS settings, the commit.
notes=()
if ! $dry_run; then
  while IFS= read -r line; do
    [[ -n $line ]] && notes+=(--note "$line")
  done < <("$java" --enable-native-access=ALL-UNNAMED -cp "$CP" io.cellstate.bench.PeerVersions || true)
fi
if command -v lscpu >/dev/null; then
  caches=$(LC_ALL=C lscpu | sed -n 's/^\(L[123][di]\{0,1\}\) cache: *\(.*\)$/\1 \2/p' | paste -sd ';' - | sed 's/;/; /g')
  hypervisor=$(LC_ALL=C lscpu | sed -n 's/^Hypervisor vendor: *//p')
  [[ -n $caches ]] && notes+=(--note "CPU caches (lscpu): $caches")
  [[ -n $hypervisor ]] && notes+=(--note "Virtual machine: $hypervisor hypervisor")
fi
notes+=(--note "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset: OpenBLAS picks its core by CPUID)}")
notes+=(--note "OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-(unset: OpenBLAS reads the L2 size from the CPU)}")
if commit=$(git rev-parse --short HEAD 2>/dev/null); then
  git diff --quiet HEAD 2>/dev/null || commit+=" with uncommitted changes"
  notes+=(--note "Cellstate commit $commit")
fi

run "$java" -cp "$CP" io.cellstate.bench.Report "$result" --out docs --readme README.md "${notes[@]}" "${commands[@]}"
if ! $dry_run; then
  echo "bench/run.sh: results in $result; report in docs/benchmarks.md, docs/benchmarks.svg and README.md" >&2
fi
