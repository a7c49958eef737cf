package io.cellstate.bench.gpu;

import com.google.gson.GsonBuilder;
import io.cellstate.Backends;
import io.cellstate.Tensor;
import io.cellstate.cuda.CudnnBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What the GPU benchmarks' command lines do alike ({@link CudnnBench}, {@link CudnnTrainBench}): the
 * {@code --shapes} list, the cudnn backend or the reason it is missing, seeded inputs, the median
 * over rounds, and the JSON document ({@code meta} then {@code results}) on stdout or in a file.
 */
final class CudnnBenchIo {
    private CudnnBenchIo() {
    }

    /** {@code "AxB,CxD,..."} as {@code {A, B}, {C, D}, ...}. */
    static List<int[]> shapes(String arg) {
        return Arrays.stream(arg.split(",")).map(s -> Arrays.stream(s.split("x")).mapToInt(Integer::parseInt).toArray())
                .toList();
    }

    /** The cudnn backend; where it is unavailable, says why on stderr and exits with status 1. */
    static CudnnBackend cudnnOrExit(String tool) {
        CudnnBackend cudnn = (CudnnBackend) Backends.byName("cudnn");
        if (!cudnn.availability().available()) {
            System.err.println(tool + ": backend 'cudnn' is unavailable: " + cudnn.availability().reason());
            System.exit(1);
        }
        return cudnn;
    }

    /**
     * The run's {@code meta} block: date, the GPU's name (where given), cuDNN's version, Java's,
     * how it timed, the command line; a caller may add more after.
     */
    static Map<String, Object> meta(String tool, String[] args, CudnnBackend cudnn, String gpu, String timing) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("date", Instant.now().toString());
        if (gpu != null) {
            meta.put("gpu", gpu);
        }
        meta.put("cudnn", cudnn.description().replaceFirst("^.*: ", ""));
        meta.put("java", Runtime.version().toString());
        meta.put("timing", timing);
        meta.put("command", tool + " " + String.join(" ", args));
        return meta;
    }

    /** {@code {"meta": meta, "results": rows}} as pretty JSON, to {@code out} or, if null, to stdout. */
    static void write(String tool, Path out, Map<String, Object> meta, List<?> rows) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("meta", meta);
        doc.put("results", rows);
        String json = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(doc);
        if (out == null) {
            System.out.println(json);
        } else {
            Files.writeString(out, json, StandardCharsets.UTF_8);
            System.err.println(tool + ": " + rows.size() + " rows -> " + out);
        }
    }

    /** A heap tensor filled in flat order with uniform draws from [-1, 1) of {@code r}. */
    static Tensor random(SplittableRandom r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (long i = 0; i < t.size(); i++) {
            t.setFlat(i, (float) r.nextDouble(-1, 1));
        }
        return t;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
