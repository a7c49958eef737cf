package io.cellstate.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.ForwardMode;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example trains through a backend's backward pass: gradients of the whole model (two LSTM layers,
 * the read-out, the loss) against finite differences, and short seeded runs that must learn.
 * They train on {@code vector} where it trains, else on {@code scalar}, saying why.
 */
class TrainingTest {
    private static final PlanOptions TRAINING = PlanOptions.defaults().withMode(ForwardMode.TRAINING);

    /** vector if it trains this spec here, else scalar (the oracle, which trains every cell); prints why. */
    static String trainingBackend(RnnSpec spec) {
        Backend vector = Backends.byName("vector");
        String why = vector.availability().available() ? vector.unsupported(spec, TRAINING) : vector.availability().reason();
        if (why.isEmpty()) {
            return "vector";
        }
        System.out.println("TrainingTest: training on scalar, not vector: " + why);
        return "scalar";
    }

    /** Every backend available here that trains {@code spec}. */
    private static List<Backend> trainers(RnnSpec spec) {
        List<Backend> all = Backends.available(spec, TRAINING);
        assertTrue(all.stream().anyMatch(b -> b.name().equals("scalar")), "scalar must train: " + all);
        return all;
    }

    /**
     * d MSE / d every parameter of LSTM(2 layers) -> Dense -> MSE, from the model's backward pass (the
     * kernel's with dhN on the top layer only, the read-out's, the loss's), against central differences of
     * the model's own inference passes with the float64 master weights moved by eps = 1e-3. The kernels
     * compute and round h to float32, so a loss near 0.5 carries about 1e-7 of noise, 5e-5 in a
     * difference quotient over 2e-3; the truncation error is about eps^2 = 1e-6. Tolerance 3e-4 +
     * 2% of the value: a dhN given to the wrong layer, a gradient under another name or a missed
     * weight update moves these by far more. Sampled: 12 elements of each of the 10 parameters.
     */
    @Test
    void modelGradientMatchesFiniteDifferences() {
        RnnSpec spec = RnnSpec.builder().inputSize(2).hiddenSize(5).layers(2).build();
        for (Backend backend : trainers(spec)) {
            SplittableRandom rng = new SplittableRandom(21);
            AddingProblem problem = new AddingProblem(6);
            AddingProblem.Batch batch = problem.draw(rng.split(), 4);
            Dense head = new Dense(5, 1, rng.split(), "head");
            try (RecurrentEncoder encoder = new RecurrentEncoder(spec, RnnWeights.random(spec, 3), backend, TRAINING)) {
                double[] h = encoder.forward(batch.x());
                double[] pred = new double[4];
                head.forward(h, 4, pred);
                double[] dPred = new double[4];
                Losses.meanSquaredError(pred, batch.target(), dPred);
                double[] dh = new double[h.length];
                head.backward(h, dPred, 4, dh);
                encoder.backward(dh);

                List<Parameter> params = new ArrayList<>(encoder.parameters());
                params.addAll(head.parameters());
                assertEquals(10, params.size(), params.toString());
                double eps = 1e-3;
                int checked = 0;
                for (Parameter p : params) {
                    for (int k = 0; k < 12; k++) {
                        int i = rng.nextInt(p.size());
                        double keep = p.value()[i];
                        p.value()[i] = keep + eps;
                        double up = loss(encoder, head, batch);
                        p.value()[i] = keep - eps;
                        double down = loss(encoder, head, batch);
                        p.value()[i] = keep;
                        encoder.weightsUpdated();
                        double numeric = (up - down) / (2 * eps);
                        double analytic = p.grad()[i];
                        assertTrue(Math.abs(numeric - analytic) <= 3e-4 + 0.02 * Math.abs(numeric),
                                backend.name() + ": d loss / d " + p.name() + "[" + i + "]: finite difference " + numeric
                                        + ", backward " + analytic);
                        checked += Math.abs(numeric) > 1e-3 ? 1 : 0;
                    }
                }
                assertTrue(checked > 40, backend.name() + ": too few gradients away from 0 to tell: " + checked);
            }
        }
    }

    private static double loss(RecurrentEncoder encoder, Dense head, AddingProblem.Batch b) {
        encoder.weightsUpdated();
        double[] h = encoder.infer(b.x());
        double[] pred = new double[b.target().length];
        head.forward(h, pred.length, pred);
        return Losses.meanSquaredError(pred, b.target(), null);
    }

    /**
     * The adding problem at T = 10 with 16 hidden units, 1500 steps of 16 sequences, lr 3e-3, seed 42:
     * the test error must fall ten times below always predicting 1 (0.0167; on scalar it reaches about
     * 0.002), and the training loss of the last 20 steps ten times below that of the first 20. A few
     * seconds on 2 cores.
     */
    @Test
    void addingProblemLearnsOnAShortSeededRun(@TempDir Path dir) throws Exception {
        RnnSpec spec = RnnSpec.lstm(AddingProblem.CHANNELS, 16);
        String backend = trainingBackend(spec);
        AddingTask.Config c = new AddingTask.Config(10, 16, 16, 3e-3, 1.0, Double.NaN, 0, 1500, 250, 42, backend, 0, dir);
        StringWriter s = new StringWriter();
        AddingTask.Result r = AddingTask.run(c, new PrintWriter(s), false);
        String out = s.toString();
        assertEquals(backend, r.backend());
        assertEquals(1500, r.iterations(), out);
        assertTrue(r.testMse() < AddingProblem.BASELINE_MSE / 10, "test MSE " + r.testMse() + ":\n" + out);
        assertTrue(r.learnt());
        assertTrue(r.lastLoss() < r.firstLoss() / 10, "loss from " + r.firstLoss() + " to " + r.lastLoss());
        assertTrue(Math.abs(r.baselineMse() - AddingProblem.BASELINE_MSE) < 0.015, "baseline " + r.baselineMse());
        assertTrue(out.contains("goal (< 0.0167) reached"), out);
        assertTrue(Files.readString(dir.resolve("adding-loss.svg")).contains("<polyline"));
        List<String> csv = Files.readAllLines(dir.resolve("adding-loss.csv"));
        assertEquals("kind,step,seconds,mse", csv.getFirst());
        // 1500 / 20 training points, validation at 0 and every 250 steps
        assertEquals(75, csv.stream().filter(l -> l.startsWith("train,")).count());
        assertEquals(7, csv.stream().filter(l -> l.startsWith("validation,")).count());
    }

    /** The same seed and backend give the same run, to the last bit (the data, the weights, the kernels). */
    @Test
    void aSeededRunRepeats() {
        RnnSpec spec = RnnSpec.lstm(AddingProblem.CHANNELS, 8);
        String backend = trainingBackend(spec);
        AddingTask.Config c = new AddingTask.Config(6, 8, 8, 1e-3, 1.0, 1.0, 0, 30, 30, 7, backend, 1, null);
        AddingTask.Result a = AddingTask.run(c, new PrintWriter(new StringWriter()), false);
        AddingTask.Result b = AddingTask.run(c, new PrintWriter(new StringWriter()), false);
        assertEquals(a.testMse(), b.testMse(), 0);
        assertEquals(a.lastLoss(), b.lastLoss(), 0);
    }

    /**
     * The Keras-style classifier, small: 6 epochs over 800 sequences of T = 20 with 12 hidden units, lr
     * 1e-2. The validation loss must fall from the first epoch to the last and end below 1.2 (chance's is
     * ln 4 = 1.386), the validation accuracy above 0.45 (chance 0.25; on scalar it reaches about 0.6).
     * A few seconds on 2 cores.
     */
    @Test
    void classifierFitsForSomeEpochs(@TempDir Path dir) {
        RnnSpec spec = RnnSpec.lstm(1, 12);
        String backend = trainingBackend(spec);
        ClassifyTask.Config c = new ClassifyTask.Config(800, 20, 0.3, 0.2, 12, 16, 6, 1e-2, 0, 1.0, 0, 5, backend, 0, dir);
        StringWriter s = new StringWriter();
        ClassifyTask.Result r = ClassifyTask.run(c, new PrintWriter(s), false);
        String out = s.toString();
        assertEquals(6, r.epochs().size(), out);
        assertTrue(out.contains("Epoch 1/6  40 batches"), out);
        assertTrue(out.contains("640 to train, the last 160 (0.2) to validate"), out);
        assertEquals(6, out.lines().filter(l -> l.startsWith("Epoch ")).count(), "one line per epoch, no bar:\n" + out);
        ClassifyTask.Epoch first = r.epochs().getFirst();
        ClassifyTask.Epoch last = r.epochs().getLast();
        assertTrue(last.valLoss() < first.valLoss() && last.valLoss() < 1.2, out);
        assertTrue(last.valAccuracy() > 0.45, out);
        assertTrue(Files.exists(dir.resolve("classify-loss.svg")) && Files.exists(dir.resolve("classify-accuracy.svg")));
    }

    /** Rows H..2H of b_ih (the forget gate, in i, f, g, o) become the bias, of b_hh 0; nothing else moves. */
    @Test
    void forgetBiasSetsTheForgetGateOfEveryLayer() {
        RnnSpec spec = RnnSpec.builder().inputSize(2).hiddenSize(3).layers(2).build();
        RnnWeights w = RnnWeights.random(spec, 9);
        RnnWeights f = RecurrentEncoder.withForgetBias(w, 1f);
        java.util.Map<String, float[]> before = w.toPyTorch();
        java.util.Map<String, float[]> after = f.toPyTorch();
        for (String name : before.keySet()) {
            float[] a = before.get(name);
            float[] b = after.get(name);
            for (int i = 0; i < a.length; i++) {
                boolean forget = name.startsWith("bias_") && i >= 3 && i < 6;
                float expected = !forget ? a[i] : name.startsWith("bias_ih") ? 1f : 0f;
                assertEquals(expected, b[i], 0, name + "[" + i + "]");
            }
        }
        RnnSpec gru = RnnSpec.gru(2, 3);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> RecurrentEncoder.withForgetBias(RnnWeights.random(gru, 1), 1f));
        assertTrue(e.getMessage().startsWith("weights: expected an LSTM's weights with bias"), e.getMessage());
    }

    @Test
    void encoderRefusesWhatItCannotReadOut() {
        RnnSpec bi = RnnSpec.builder().inputSize(2).hiddenSize(3).direction(io.cellstate.Direction.BIDIRECTIONAL).build();
        Backend scalar = Backends.byName("scalar");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new RecurrentEncoder(bi, RnnWeights.random(bi, 1), scalar, TRAINING));
        assertTrue(e.getMessage().startsWith("spec: expected direction FORWARD"), e.getMessage());
        RnnSpec spec = RnnSpec.lstm(2, 3);
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new RecurrentEncoder(spec, RnnWeights.random(spec, 1), scalar, PlanOptions.defaults()));
        assertTrue(e.getMessage().startsWith("options.mode: expected TRAINING"), e.getMessage());
        try (RecurrentEncoder enc = new RecurrentEncoder(spec, RnnWeights.random(spec, 1), scalar, TRAINING)) {
            IllegalStateException s = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> enc.backward(new double[3]));
            assertTrue(s.getMessage().startsWith("backward: no training forward pass"), s.getMessage());
            enc.forward(Tensor.zeros(4, 2, 2));
            e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> enc.backward(new double[5]));
            assertTrue(e.getMessage().startsWith("dLast: expected B x H = 2 x 3 elements, got 5"), e.getMessage());
        }
    }
}
