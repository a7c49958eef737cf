package io.cellstate.cli.train;

/**
 * The example's losses, each returning its mean over the batch and writing its gradient with
 * respect to the predictions (PyTorch's {@code reduction='mean'}), in float64.
 */
public final class Losses {

    private Losses() {
    }

    /**
     * Mean squared error, {@code (1/n) sum (p - t)^2} over all n elements (PyTorch's {@code MSELoss}),
     * and its gradient {@code 2 (p - t) / n}.
     *
     * @param prediction the predictions
     * @param target     the targets, as many
     * @param grad       receives d loss / d prediction, as many, or null when not wanted
     * @return the loss
     * @throws IllegalArgumentException if the lengths differ or are 0
     */
    public static double meanSquaredError(double[] prediction, double[] target, double[] grad) {
        int n = prediction.length;
        if (n == 0) {
            throw new IllegalArgumentException("prediction: expected at least one element, got 0");
        }
        sameLength("target", target, n);
        if (grad != null) {
            sameLength("grad", grad, n);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double e = prediction[i] - target[i];
            sum += e * e;
            if (grad != null) {
                grad[i] = 2 * e / n;
            }
        }
        return sum / n;
    }

    /**
     * Softmax cross-entropy of {@code batch} rows of logits against class labels (PyTorch's
     * {@code CrossEntropyLoss}; Keras's {@code Dense} with softmax followed by
     * {@code categorical_crossentropy} on one-hot labels): the mean over rows of
     * {@code logsumexp(z) - z[label]}, computed with the largest logit subtracted so that no
     * exponential overflows; its gradient is {@code (softmax(z) - onehot(label)) / batch}.
     *
     * @param logits  {@code [batch x classes]}, row-major
     * @param labels  {@code [batch]}, each in {@code [0, classes)}
     * @param classes the number of classes, at least 2
     * @param grad    receives d loss / d logits, {@code [batch x classes]}, or null when not wanted
     * @return the loss
     * @throws IllegalArgumentException for mismatched lengths or a label out of range, naming it
     */
    public static double softmaxCrossEntropy(double[] logits, int[] labels, int classes, double[] grad) {
        if (classes < 2) {
            throw new IllegalArgumentException("classes: expected >= 2, got " + classes);
        }
        int batch = labels.length;
        if (batch == 0) {
            throw new IllegalArgumentException("labels: expected at least one, got 0");
        }
        sameLength("logits", logits, batch * classes);
        if (grad != null) {
            sameLength("grad", grad, batch * classes);
        }
        double sum = 0;
        for (int r = 0; r < batch; r++) {
            int y = labels[r];
            if (y < 0 || y >= classes) {
                throw new IllegalArgumentException("labels[" + r + "]: expected 0 <= label < " + classes + ", got " + y);
            }
            int o = r * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[o + c]);
            }
            double z = 0;
            for (int c = 0; c < classes; c++) {
                z += Math.exp(logits[o + c] - max);
            }
            double logZ = max + Math.log(z);
            sum += logZ - logits[o + y];
            if (grad != null) {
                for (int c = 0; c < classes; c++) {
                    double p = Math.exp(logits[o + c] - logZ);
                    grad[o + c] = (p - (c == y ? 1 : 0)) / batch;
                }
            }
        }
        return sum / batch;
    }

    /**
     * Rows whose largest logit is their label's (the first largest on ties).
     *
     * @param logits  {@code [batch x classes]}
     * @param labels  {@code [batch]}
     * @param classes the number of classes
     * @return the count of correct rows
     * @throws IllegalArgumentException for mismatched lengths
     */
    public static int correct(double[] logits, int[] labels, int classes) {
        sameLength("logits", logits, labels.length * classes);
        int n = 0;
        for (int r = 0; r < labels.length; r++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (logits[r * classes + c] > logits[r * classes + best]) {
                    best = c;
                }
            }
            n += best == labels[r] ? 1 : 0;
        }
        return n;
    }

    private static void sameLength(String name, double[] a, int n) {
        if (a.length != n) {
            throw new IllegalArgumentException(name + ": expected " + n + " elements, got " + a.length);
        }
    }
}
