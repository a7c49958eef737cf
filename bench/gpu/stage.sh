#!/usr/bin/env bash
# Stages, in .gpu/ (ignored by git), what the GPU run of the cudnn backend needs on the lent GPU
# machine, which has no Java and no Maven: ../shared/gpu/stage.sh's JDK 25 image, the cuda module's
# jars and test classes, plus the bench jar (CudnnBench, RawCudnnLstm), gson, and the ONNX
# conformance data. Then, with the device tool: run with carry [".gpu"] and the command
#     bash bench/gpu/device-run.sh
# (see cuda/GPU.md).
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
shared=${CELLSTATE_SHARED:-$root/../shared}
"$shared/gpu/stage.sh" cuda
./mvnw -q -B -o -pl bench -am package -DskipTests
cp bench/target/cellstate-bench-*[0-9T].jar .gpu/lib/
cp bench/target/lib/gson-*.jar .gpu/lib/
rm -rf .gpu/conformance
if [ -d "$shared/conformance" ]; then cp -r "$shared/conformance" .gpu/conformance; fi
du -sh .gpu | sed 's/^/staged: /'
