package io.cellstate;

import java.util.Locale;
import java.util.Objects;

/**
 * One of ONNX's eleven activation functions of its recurrent operators, with its parameters: what a
 * cell's gates go through ({@link Cell#activations()}). The functions and their defaults are ONNX's
 * ({@code activations}, {@code activation_alpha}, {@code activation_beta} of {@code LSTM}, {@code GRU},
 * {@code RNN}); where ONNX states no default (Affine, ScaledTanh) the identity's parameters are taken.
 *
 * @param function the function
 * @param alpha    its first parameter (ignored by functions without one, and then 0 here)
 * @param beta     its second parameter (likewise)
 */
public record Activation(Function function, float alpha, float beta) {

    /** The functions, with ONNX's names and formulas. */
    public enum Function {
        /** {@code max(0, x)}. */
        RELU("Relu", 0, 0, 0),
        /** {@code tanh(x)}. */
        TANH("Tanh", 0, 0, 0),
        /** {@code 1 / (1 + e^-x)}. */
        SIGMOID("Sigmoid", 0, 0, 0),
        /** {@code alpha x + beta}. */
        AFFINE("Affine", 2, 1, 0),
        /** {@code x} if {@code x >= 0}, else {@code alpha x}. */
        LEAKY_RELU("LeakyRelu", 1, 0.01f, 0),
        /** {@code x} if {@code x > alpha}, else 0 (ONNX Runtime's strict comparison). */
        THRESHOLDED_RELU("ThresholdedRelu", 1, 1, 0),
        /** {@code alpha tanh(beta x)}. */
        SCALED_TANH("ScaledTanh", 2, 1, 1),
        /** {@code min(max(alpha x + beta, 0), 1)}. */
        HARD_SIGMOID("HardSigmoid", 2, 0.2f, 0.5f),
        /** {@code x} if {@code x >= 0}, else {@code alpha (e^x - 1)}. */
        ELU("Elu", 1, 1, 0),
        /** {@code x / (1 + |x|)}. */
        SOFTSIGN("Softsign", 0, 0, 0),
        /** {@code log(1 + e^x)}. */
        SOFTPLUS("Softplus", 0, 0, 0);

        private final String onnxName;
        private final int parameters;
        private final float defaultAlpha;
        private final float defaultBeta;

        Function(String onnxName, int parameters, float defaultAlpha, float defaultBeta) {
            this.onnxName = onnxName;
            this.parameters = parameters;
            this.defaultAlpha = defaultAlpha;
            this.defaultBeta = defaultBeta;
        }

        /**
         * ONNX's name, as in an {@code activations} attribute.
         *
         * @return e.g. {@code LeakyRelu}
         */
        public String onnxName() {
            return onnxName;
        }

        /**
         * How many of alpha and beta the function reads: ONNX takes that many values from
         * {@code activation_alpha} (one if at least one) and {@code activation_beta} (one if two).
         *
         * @return 0, 1 (alpha) or 2 (alpha and beta)
         */
        public int parameters() {
            return parameters;
        }

        /**
         * The function called {@code name} in ONNX, case-insensitively.
         *
         * @param name e.g. {@code Tanh}, {@code leakyrelu}
         * @return the function
         * @throws IllegalArgumentException for another name
         */
        public static Function ofOnnx(String name) {
            Objects.requireNonNull(name, "name");
            for (Function f : values()) {
                if (f.onnxName.toLowerCase(Locale.ROOT).equals(name.toLowerCase(Locale.ROOT))) {
                    return f;
                }
            }
            StringBuilder all = new StringBuilder();
            for (Function f : values()) {
                all.append(all.isEmpty() ? "" : ", ").append(f.onnxName);
            }
            throw new IllegalArgumentException("activation: expected one of " + all + ", got '" + name + "'");
        }
    }

    /**
     * Checks the components.
     *
     * @throws IllegalArgumentException for a null function or a non-finite parameter the function reads
     */
    public Activation {
        if (function == null) {
            throw new IllegalArgumentException("function: expected one of ONNX's activation functions, got null");
        }
        if (function.parameters >= 1 && !Float.isFinite(alpha)) {
            throw new IllegalArgumentException(function.onnxName + " alpha: expected a finite number, got " + alpha);
        }
        if (function.parameters == 2 && !Float.isFinite(beta)) {
            throw new IllegalArgumentException(function.onnxName + " beta: expected a finite number, got " + beta);
        }
        // parameters a function does not read are not part of its identity
        if (function.parameters < 2) {
            beta = 0;
        }
        if (function.parameters < 1) {
            alpha = 0;
        }
    }

    /**
     * {@code function} with ONNX's default parameters.
     *
     * @param function the function
     * @return the activation
     */
    public static Activation of(Function function) {
        Objects.requireNonNull(function, "function");
        return new Activation(function, function.defaultAlpha, function.defaultBeta);
    }

    /**
     * The logistic sigmoid.
     *
     * @return sigmoid
     */
    public static Activation sigmoid() {
        return of(Function.SIGMOID);
    }

    /**
     * The hyperbolic tangent.
     *
     * @return tanh
     */
    public static Activation tanh() {
        return of(Function.TANH);
    }

    /**
     * The rectifier.
     *
     * @return ReLU
     */
    public static Activation relu() {
        return of(Function.RELU);
    }

    /**
     * The function at {@code x}, in float64 (the oracle's).
     *
     * @param x the argument
     * @return the value
     */
    public double apply(double x) {
        return switch (function) {
            case RELU -> Math.max(0, x);
            case TANH -> Math.tanh(x);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case AFFINE -> alpha * x + beta;
            case LEAKY_RELU -> x >= 0 ? x : alpha * x;
            case THRESHOLDED_RELU -> x > alpha ? x : 0;
            case SCALED_TANH -> alpha * Math.tanh(beta * x);
            case HARD_SIGMOID -> Math.min(Math.max(alpha * x + beta, 0), 1);
            case ELU -> x >= 0 ? x : alpha * (Math.exp(x) - 1);
            case SOFTSIGN -> x / (1 + Math.abs(x));
            case SOFTPLUS -> x > 30 ? x : Math.log1p(Math.exp(x));
        };
    }

    /**
     * The derivative at {@code x}, in float64; at a kink, the right-hand side's value where ONNX's
     * condition includes the point ({@code x >= 0}), else the left-hand side's.
     *
     * @param x the argument
     * @return the slope
     */
    public double derivative(double x) {
        return switch (function) {
            case RELU -> x > 0 ? 1 : 0;
            case TANH -> {
                double t = Math.tanh(x);
                yield 1 - t * t;
            }
            case SIGMOID -> {
                double s = 1 / (1 + Math.exp(-x));
                yield s * (1 - s);
            }
            case AFFINE -> alpha;
            case LEAKY_RELU -> x >= 0 ? 1 : alpha;
            case THRESHOLDED_RELU -> x > alpha ? 1 : 0;
            case SCALED_TANH -> {
                double t = Math.tanh(beta * x);
                yield alpha * beta * (1 - t * t);
            }
            case HARD_SIGMOID -> {
                double a = alpha * x + beta;
                yield a > 0 && a < 1 ? alpha : 0;
            }
            case ELU -> x >= 0 ? 1 : alpha * Math.exp(x);
            case SOFTSIGN -> {
                double d = 1 + Math.abs(x);
                yield 1 / (d * d);
            }
            case SOFTPLUS -> 1 / (1 + Math.exp(-x));
        };
    }

    /**
     * The function at {@code x} in float32, as the CPU kernels compute it: each float64 value rounded once.
     *
     * @param x the argument
     * @return the value
     */
    public float apply(float x) {
        return (float) apply((double) x);
    }

    /**
     * The derivative at {@code x} in float32, rounded once.
     *
     * @param x the argument
     * @return the slope
     */
    public float derivative(float x) {
        return (float) derivative((double) x);
    }

    /**
     * ONNX's name, with the parameters the function reads.
     *
     * @return e.g. {@code Tanh}, {@code LeakyRelu(0.1)}, {@code ScaledTanh(2.0, 0.5)}
     */
    @Override
    public String toString() {
        return switch (function.parameters) {
            case 0 -> function.onnxName;
            case 1 -> function.onnxName + "(" + alpha + ")";
            default -> function.onnxName + "(" + alpha + ", " + beta + ")";
        };
    }
}
