package io.cellstate.bench.gpu;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.cellstate.bench.MarkerBlock;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Renders a GPU run ({@link CudnnBench}'s JSON and {@code bench/gpu/pytorch_lstm.py}'s) as the GPU
 * section of docs/benchmarks.md, between the lines {@code <!-- gpu:start -->} and
 * {@code <!-- gpu:end -->} (appended if they are missing; {@code io.cellstate.bench.Report} keeps
 * the section when it rewrites the rest of the file).
 *
 * <pre>
 *   java -cp "bench/target/classes:bench/target/lib/*" io.cellstate.bench.gpu.GpuReport \
 *        bench/results/STAMP-gpu-cudnn.json bench/results/STAMP-gpu-pytorch.json \
 *        [--train bench/results/STAMP-gpu-cudnn-train.json bench/results/STAMP-gpu-pytorch-train.json] \
 *        --doc docs/benchmarks.md
 * </pre>
 * With {@code --train}, a table of the training step ({@link CudnnTrainBench},
 * {@code bench/gpu/pytorch_lstm.py --train}) follows the forward tables.
 */
public final class GpuReport {
    static final String START = "<!-- gpu:start -->";
    static final String END = "<!-- gpu:end -->";
    private static final String[] SINGLE = {"STANDARD", "PERSIST_STATIC", "PERSIST_STATIC_SMALL_H", "PERSIST_DYNAMIC"};

    private GpuReport() {
    }

    public static void main(String[] args) throws IOException {
        boolean train = args.length == 7 && args[2].equals("--train") && args[5].equals("--doc");
        if (!train && (args.length != 4 || !args[2].equals("--doc"))) {
            System.err.println("usage: GpuReport CUDNN.json PYTORCH.json [--train CUDNN_TRAIN.json PYTORCH_TRAIN.json]"
                    + " --doc docs/benchmarks.md");
            System.exit(2);
        }
        Path cudnn = Path.of(args[0]);
        Path torch = Path.of(args[1]);
        Path doc = Path.of(args[args.length - 1]);
        String block = render(read(cudnn), read(torch), cudnn.toString(), torch.toString());
        if (train) {
            block += renderTraining(read(Path.of(args[3])), read(Path.of(args[4])), args[3], args[4]);
        }
        String text = Files.exists(doc) ? Files.readString(doc, StandardCharsets.UTF_8) : "";
        Files.writeString(doc, withBlock(text, block), StandardCharsets.UTF_8);
        System.out.println("GpuReport: GPU section of " + doc + " written");
    }

    private static JsonObject read(Path p) throws IOException {
        return JsonParser.parseString(Files.readString(p, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    /** {@code text} with its GPU block replaced by {@code block}, or with the block appended. */
    static String withBlock(String text, String block) {
        if (!blockOf(text).isEmpty()) {
            return MarkerBlock.replace(text, START, END, "docs/benchmarks.md", block);
        }
        String wrapped = START + "\n" + block + END;
        return text + (text.isEmpty() || text.endsWith("\n\n") ? "" : text.endsWith("\n") ? "\n" : "\n\n") + wrapped + "\n";
    }

    /** The GPU block of {@code text} with its markers, or "" if it has none. */
    public static String blockOf(String text) {
        return MarkerBlock.blockOf(text, START, END, "docs/benchmarks.md");
    }

    record Key(int batch, int hidden) {
    }

    static String render(JsonObject cudnn, JsonObject torch, String cudnnFile, String torchFile) {
        JsonObject meta = cudnn.getAsJsonObject("meta");
        JsonObject tmeta = torch.getAsJsonObject("meta");
        Map<Key, Map<String, JsonObject>> rows = new LinkedHashMap<>();
        for (JsonElement e : cudnn.getAsJsonArray("results")) {
            JsonObject r = e.getAsJsonObject();
            rows.computeIfAbsent(new Key(r.get("batch").getAsInt(), r.get("hidden").getAsInt()), k -> new LinkedHashMap<>())
                    .put(r.get("variant").getAsString() + "/" + r.get("algorithm").getAsString(), r);
        }
        Map<Key, JsonObject> peer = new LinkedHashMap<>();
        for (JsonElement e : torch.getAsJsonArray("results")) {
            JsonObject r = e.getAsJsonObject();
            peer.put(new Key(r.get("batch").getAsInt(), r.get("hidden").getAsInt()), r);
        }
        int steps = cudnn.getAsJsonArray("results").get(0).getAsJsonObject().get("steps").getAsInt();
        StringBuilder md = new StringBuilder();
        md.append("## GPU: the cudnn backend against raw cuDNN and PyTorch\n\n");
        md.append(String.format(Locale.ROOT, "%s, %s; %s; PyTorch %s (cuDNN %s, CUDA %s). Run on %s. Written by"
                        + " `io.cellstate.bench.gpu.GpuReport` from `%s` and `%s`; do not edit by hand.%n%n",
                str(meta, "gpu"), str(meta, "cudnn"), "Java " + str(meta, "java"), str(tmeta, "torch"),
                str(tmeta, "cudnn"), str(tmeta, "cuda"), str(meta, "date"), cudnnFile, torchFile));
        md.append(String.format(Locale.ROOT, "T = %d, one layer, unidirectional, I = H, float32 with TF32 off"
                + " (`CUDNN_FMA_MATH`; PyTorch with `allow_tf32 = False`), inference, x, y, hN and cN already on the"
                + " GPU, zero initial state. An event-timed harness, not JMH (`io.cellstate.bench.gpu.CudnnBench`,"
                + " `bench/gpu/pytorch_lstm.py`): each figure is the median over rounds of the time between two CUDA"
                + " events around a run of queued calls, divided by the calls; min and max over rounds in the JSON."
                + " Every variant's output was checked against the scalar oracle before it was timed.%n%n", steps));

        boolean graphs = rows.values().stream().anyMatch(v -> v.keySet().stream().anyMatch(k -> k.startsWith("plan-graph/")));
        String single = graphs ? "plan-graph/" : "plan/";
        md.append("### AUTO against each algorithm and against PyTorch (ms per forward)\n\n");
        if (graphs) {
            md.append("The algorithm columns are our plan with that algorithm and CUDA graphs (the default: a call"
                    + " replays a captured `cudnnRNNForward`); \"STANDARD, direct\" calls cuDNN each time, as PyTorch"
                    + " does. AUTO runs with the defaults (graphs on) and is compared with the best algorithm column.\n\n");
            md.append("| B×H | PyTorch nn.LSTM | STANDARD, direct | STANDARD | PERSIST_STATIC | PERSIST_STATIC_SMALL_H"
                    + " | PERSIST_DYNAMIC | AUTO (chose) | AUTO vs best | AUTO speed-up over PyTorch | AUTO, host tensors |\n");
            md.append("| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        } else {
            md.append("| B×H | PyTorch nn.LSTM | STANDARD | PERSIST_STATIC | PERSIST_STATIC_SMALL_H | PERSIST_DYNAMIC"
                    + " | AUTO (chose) | AUTO vs best | AUTO speed-up over PyTorch | AUTO, host tensors |\n");
            md.append("| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        }
        List<String> autoMisses = new ArrayList<>();
        List<String> peerMisses = new ArrayList<>();
        List<String> batchOne = new ArrayList<>();
        for (Map.Entry<Key, Map<String, JsonObject>> e : rows.entrySet()) {
            Key k = e.getKey();
            Map<String, JsonObject> v = e.getValue();
            JsonObject p = peer.get(k);
            double best = Double.POSITIVE_INFINITY;
            String bestName = "";
            StringBuilder line = new StringBuilder("| " + k.batch() + "×" + k.hidden() + " | " + (p == null ? "-" : ms(p.get("ms").getAsDouble())));
            if (graphs) {
                Double direct = msOf(v.get("plan/STANDARD"));
                line.append(" | ").append(direct == null ? "-" : ms(direct));
            }
            for (String a : SINGLE) {
                JsonObject r = v.get(single + a);
                Double t = msOf(r);
                line.append(" | ").append(t == null ? "not supported" : ms(t));
                if (t != null && t < best) {
                    best = t;
                    bestName = a;
                }
            }
            JsonObject auto = v.get("plan/AUTO");
            Double at = msOf(auto);
            JsonObject host = v.get("plan-host/AUTO");
            double vsBest = at == null ? Double.NaN : at / best - 1;
            double speedUp = p == null || at == null ? Double.NaN : p.get("ms").getAsDouble() / at;
            line.append(" | ").append(at == null ? "-" : ms(at) + " (" + str(auto, "ran") + ")");
            line.append(" | ").append(Double.isNaN(vsBest) ? "-" : pct(vsBest) + " (best: " + bestName + ")");
            line.append(" | ").append(Double.isNaN(speedUp) ? "-" : String.format(Locale.ROOT, "%.2f×", speedUp));
            line.append(" | ").append(msOf(host) == null ? "-" : ms(msOf(host))).append(" |\n");
            md.append(line);
            if (!(vsBest <= 0.05)) {
                autoMisses.add(k.batch() + "×" + k.hidden() + " (" + pct(vsBest) + ")");
            }
            if (!(speedUp >= 1.0)) {
                peerMisses.add(String.format(Locale.ROOT, "%d×%d (%.3f×)", k.batch(), k.hidden(), speedUp));
            }
            if (k.batch() == 1) {
                batchOne.add(String.format(Locale.ROOT, "%d×%d %.1f×", k.batch(), k.hidden(), speedUp));
            }
        }
        md.append("\n");
        md.append("Targets: AUTO within 5% of the best single algorithm on every shape: ")
                .append(autoMisses.isEmpty() ? "met" : "missed on " + String.join(", ", autoMisses))
                .append(". At least 1.0× PyTorch everywhere: ")
                .append(peerMisses.isEmpty() ? "met" : "missed on " + String.join(", ", peerMisses))
                .append(". At least 5× at batch 1: ").append(String.join(", ", batchOne)).append(".\n\n");

        md.append("### The plan's overhead over raw cuDNN calls (device-resident data)\n\n");
        md.append("`raw`: `cudnnRNNForward` on buffers set up once by hand (`RawCudnnLstm`); `plan`: our `CudnnPlan`"
                + " device path, same algorithm. Overhead = plan / raw - 1, of the medians and of the minima."
                + " Host µs per call: the host's time to queue one call (median over rounds); where it is well below"
                + " the GPU time, the host is not what the GPU waits for.");
        if (meta.has("dynamicSentinel") && meta.get("dynamicSentinel").getAsBoolean()) {
            md.append(" Every PERSIST_DYNAMIC network measured was built while another one of the shape (untimed)"
                    + " existed: cuDNN runs the one built while no other exists faster (at 1×256 about 0.093 against"
                    + " 0.105 ms), which, without that, went to whichever variant was built first (see `CudnnBench`).");
        }
        md.append("\n\n");
        md.append("| B×H | algorithm | raw ms | plan ms | overhead (median) | overhead (min) | host µs/call raw | host µs/call plan |\n");
        md.append("| :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        double worst = Double.NEGATIVE_INFINITY;
        String worstAt = "";
        List<String> over = new ArrayList<>();
        for (Map.Entry<Key, Map<String, JsonObject>> e : rows.entrySet()) {
            Key k = e.getKey();
            for (String a : SINGLE) {
                JsonObject raw = e.getValue().get("raw/" + a);
                JsonObject plan = e.getValue().get("plan/" + a);
                if (msOf(raw) == null || msOf(plan) == null) {
                    continue;
                }
                double med = msOf(plan) / msOf(raw) - 1;
                double min = plan.get("msMin").getAsDouble() / raw.get("msMin").getAsDouble() - 1;
                md.append(String.format(Locale.ROOT, "| %d×%d | %s | %s | %s | %s | %s | %s | %s |%n", k.batch(), k.hidden(),
                        a, ms(msOf(raw)), ms(msOf(plan)), pct(med), pct(min), us(raw), us(plan)));
                if (med > worst) {
                    worst = med;
                    worstAt = k.batch() + "×" + k.hidden() + " " + a;
                }
                if (med > 0.05) {
                    over.add(k.batch() + "×" + k.hidden() + " " + a + " (" + pct(med) + " median, " + pct(min) + " min)");
                }
            }
        }
        md.append("\nTarget: at most 5% overhead: ").append(over.isEmpty() ? "met on every shape and algorithm"
                : "over it on " + String.join(", ", over)).append(String.format(Locale.ROOT,
                "; the largest median overhead is %s (%s).%n%n", pct(worst), worstAt));
        return md.toString();
    }

    record Shape(int steps, int batch, int hidden) {
    }

    /** The training-step table: our variants beside PyTorch's two, per (T, B, H). */
    static String renderTraining(JsonObject cudnn, JsonObject torch, String cudnnFile, String torchFile) {
        Map<Shape, Map<String, JsonObject>> ours = new LinkedHashMap<>();
        for (JsonElement e : cudnn.getAsJsonArray("results")) {
            JsonObject r = e.getAsJsonObject();
            ours.computeIfAbsent(shape(r), k -> new LinkedHashMap<>())
                    .put(r.get("variant").getAsString() + "/" + r.get("algorithm").getAsString(), r);
        }
        Map<Shape, Map<String, JsonObject>> peer = new LinkedHashMap<>();
        for (JsonElement e : torch.getAsJsonArray("results")) {
            JsonObject r = e.getAsJsonObject();
            peer.computeIfAbsent(shape(r), k -> new LinkedHashMap<>()).put(r.get("variant").getAsString(), r);
        }
        StringBuilder md = new StringBuilder();
        md.append("### Training step: forward in training mode + backward, data and weights (ms per step)\n\n");
        md.append(String.format(Locale.ROOT, "LSTM, one layer, unidirectional, I = H, float32 without TF32, h0 and c0"
                + " given and their gradients computed, loss gradients dy, dhN, dcN given. Ours: `CudnnTrainBench` (%s,"
                + " run %s), a training forward into a workspace then `backward` on device tensors, the weight"
                + " gradients mapped into `RnnWeightGrads` on the host (the step waits for them); \"data only\" leaves"
                + " the weight gradients out; \"host tensors\" stages everything through the host. PyTorch:"
                + " `pytorch_lstm.py --train` (%s), `nn.LSTM` forward + `autograd.backward`, its `.grad` left on the GPU,"
                + " and with the parameter gradients copied to the host each step (like for like with ours). Host"
                + " clock around a run of steps and one synchronisation (ours), CUDA events (PyTorch); medians over"
                + " rounds. From `%s` and `%s`.%n%n", str(cudnn.getAsJsonObject("meta"), "cudnn"),
                str(cudnn.getAsJsonObject("meta"), "date"), str(torch.getAsJsonObject("meta"), "torch"), cudnnFile, torchFile));
        md.append("| T, B×H | PyTorch | PyTorch, grads to host | STANDARD | best persistent | data only (STANDARD)"
                + " | host tensors | speed-up over PyTorch, grads to host |\n");
        md.append("| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Map.Entry<Shape, Map<String, JsonObject>> e : ours.entrySet()) {
            Shape k = e.getKey();
            Map<String, JsonObject> v = e.getValue();
            Map<String, JsonObject> p = peer.getOrDefault(k, Map.of());
            Double standard = msOf(v.get("train-device/STANDARD"));
            Double best = null;
            String bestName = "";
            for (String a : new String[] {"PERSIST_STATIC", "PERSIST_DYNAMIC", "PERSIST_STATIC_SMALL_H"}) {
                Double t = msOf(v.get("train-device/" + a));
                if (t != null && (best == null || t < best)) {
                    best = t;
                    bestName = a;
                }
            }
            Double torchHost = msOf(p.get("train-host-grads"));
            md.append(String.format(Locale.ROOT, "| %d, %d×%d | %s | %s | %s | %s | %s | %s | %s |%n", k.steps(), k.batch(),
                    k.hidden(), msOrDash(msOf(p.get("train"))), msOrDash(torchHost), msOrDash(standard),
                    best == null ? "not supported" : ms(best) + " (" + bestName + ")",
                    msOrDash(msOf(v.get("train-device-data/STANDARD"))), msOrDash(msOf(v.get("train-host/STANDARD"))),
                    torchHost == null || standard == null ? "-" : String.format(Locale.ROOT, "%.2f×", torchHost / standard)));
        }
        md.append("\nTraining passes run STANDARD unless an algorithm is fixed in `CudnnOptions` (AUTO does not measure"
                + " training); the persistent column shows what fixing one would give.\n\n");
        return md.toString();
    }

    private static Shape shape(JsonObject r) {
        return new Shape(r.get("steps").getAsInt(), r.get("batch").getAsInt(), r.get("hidden").getAsInt());
    }

    private static String msOrDash(Double v) {
        return v == null ? "-" : ms(v);
    }

    private static Double msOf(JsonObject r) {
        return r == null || r.get("ms") == null || r.get("ms").isJsonNull() ? null : r.get("ms").getAsDouble();
    }

    private static String us(JsonObject r) {
        return r.get("hostUs") == null || r.get("hostUs").isJsonNull() ? "-"
                : String.format(Locale.ROOT, "%.1f", r.get("hostUs").getAsDouble());
    }

    private static String str(JsonObject o, String key) {
        return o == null || o.get(key) == null || o.get(key).isJsonNull() ? "?" : o.get(key).getAsString();
    }

    private static String ms(double v) {
        return v >= 10 ? String.format(Locale.ROOT, "%.2f", v) : v >= 1 ? String.format(Locale.ROOT, "%.3f", v)
                : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%+.1f%%", v * 100);
    }
}
