package io.cellstate;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads back what {@link Cell#name()} writes, options included: {@code lstm}, {@code gru-original},
 * {@code rnn-relu}, {@code lstm[projection=4, peepholes, clip=0.3, input_forget, activations=[HardSigmoid(0.2, 0.5),
 * Tanh, Tanh]]}, {@code gru[activations=[Sigmoid, Softsign]]}, {@code rnn[activations=[LeakyRelu(0.1)]]}. Numbers
 * are Java's shortest float text ({@link Float#toString}), so a name reads back as the same cell, bit for bit.
 * {@link Cell#named} reads a name with options through it (a state_dict's {@code cellstate.cell} metadata, the
 * Spark module's broadcast, the command line's {@code --cell} hold such names).
 */
final class CellNames {
    private final String text;
    private int at;

    private CellNames(String text) {
        this.text = text;
    }

    /**
     * The cell a name describes.
     *
     * @param name what {@link Cell#name()} gives
     * @return the cell
     * @throws IllegalArgumentException naming what was expected where, for anything else
     */
    static Cell parse(String name) {
        if (name == null) {
            throw new IllegalArgumentException("cell: expected a cell's name, got null");
        }
        return new CellNames(name).cell();
    }

    private Cell cell() {
        String base = word("a cell (lstm, gru, gru-original, rnn-tanh, rnn-relu, or rnn with activations)");
        int projection = 0;
        boolean peepholes = false;
        float clip = Float.POSITIVE_INFINITY;
        boolean inputForget = false;
        List<Activation> activations = null;
        List<String> seen = new ArrayList<>();
        if (eat("[")) {
            do {
                String option = word("an option (projection, peepholes, clip, input_forget, activations)");
                if (seen.contains(option)) {
                    throw expected("each option once", "'" + option + "' again");
                }
                seen.add(option);
                if (!base.equals("lstm") && !option.equals("activations")) {
                    throw expected("only activations for " + base, "'" + option + "'");
                }
                switch (option) {
                    case "projection" -> {
                        expect("=");
                        projection = integer();
                    }
                    case "peepholes" -> peepholes = true;
                    case "clip" -> {
                        expect("=");
                        clip = number();
                    }
                    case "input_forget" -> inputForget = true;
                    case "activations" -> {
                        expect("=");
                        activations = activations();
                    }
                    default -> {
                        at -= option.length();
                        throw expected("projection, peepholes, clip, input_forget or activations", "'" + option + "'");
                    }
                }
            } while (eat(", "));
            expect("]");
        }
        if (at != text.length()) {
            throw expected("the end of the name", "'" + text.substring(at) + "'");
        }
        try {
            return make(base, projection, peepholes, clip, inputForget, activations);
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith("cell '") ? e : new IllegalArgumentException("cell '" + text + "': "
                    + e.getMessage(), e);
        }
    }

    private Cell make(String base, int projection, boolean peepholes, float clip, boolean inputForget,
            List<Activation> activations) {
        return switch (base) {
            case "lstm" -> new Cell.Lstm(projection, peepholes, clip, inputForget, activations);
            case "gru", "gru-original" -> new Cell.Gru(base.equals("gru"), activations);
            case "rnn" -> {
                if (activations == null) {
                    throw expected("rnn with [activations=[...]] (or rnn-tanh, rnn-relu)", "'" + text + "'");
                }
                yield new Cell.Rnn(activations);
            }
            case "rnn-tanh", "rnn-relu" -> {
                if (activations != null) {
                    throw expected("rnn[activations=...] for other activations", "'" + text + "'");
                }
                yield base.equals("rnn-tanh") ? Cell.rnnTanh() : Cell.rnnRelu();
            }
            default -> {
                at = 0;
                throw expected("lstm, gru, gru-original, rnn-tanh, rnn-relu or rnn", "'" + base + "'");
            }
        };
    }

    private List<Activation> activations() {
        expect("[");
        List<Activation> out = new ArrayList<>();
        do {
            String name = word("an activation's ONNX name");
            Activation.Function f;
            try {
                f = Activation.Function.ofOnnx(name);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cell '" + text + "': " + e.getMessage());
            }
            float alpha = 0;
            float beta = 0;
            if (f.parameters() > 0) {
                expect("(");
                alpha = number();
                if (f.parameters() == 2) {
                    expect(", ");
                    beta = number();
                }
                expect(")");
            }
            try {
                out.add(new Activation(f, alpha, beta));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cell '" + text + "': " + e.getMessage());
            }
        } while (eat(", "));
        expect("]");
        return out;
    }

    /** Letters, digits, '-' and '_'. */
    private String word(String what) {
        int from = at;
        while (at < text.length() && (Character.isLetterOrDigit(text.charAt(at)) || text.charAt(at) == '-'
                || text.charAt(at) == '_')) {
            at++;
        }
        if (at == from) {
            throw expected(what, rest());
        }
        return text.substring(from, at);
    }

    private int integer() {
        int from = at;
        while (at < text.length() && Character.isDigit(text.charAt(at))) {
            at++;
        }
        try {
            return Integer.parseInt(text.substring(from, at));
        } catch (NumberFormatException e) {
            at = from;
            throw expected("a whole number", rest());
        }
    }

    private float number() {
        int from = at;
        while (at < text.length() && "0123456789.-+eEInfityNa".indexOf(text.charAt(at)) >= 0) {
            at++;
        }
        try {
            return Float.parseFloat(text.substring(from, at));
        } catch (NumberFormatException e) {
            at = from;
            throw expected("a number", rest());
        }
    }

    private boolean eat(String s) {
        if (text.startsWith(s, at)) {
            at += s.length();
            return true;
        }
        return false;
    }

    private void expect(String s) {
        if (!eat(s)) {
            throw expected("'" + s + "'", rest());
        }
    }

    private String rest() {
        return at >= text.length() ? "the end" : "'" + text.substring(at) + "'";
    }

    private IllegalArgumentException expected(String what, String got) {
        return new IllegalArgumentException("cell '" + text + "': expected " + what + " at offset " + at + ", got " + got);
    }
}
