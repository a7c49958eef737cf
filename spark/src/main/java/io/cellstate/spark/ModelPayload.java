package io.cellstate.spark;

import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.io.Serial;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Objects;
import java.util.UUID;

/**
 * What the driver broadcasts: a network's spec and weights in a serializable form (the library's
 * {@link RnnSpec} and {@link RnnWeights} are not {@link Serializable}, and should not be: their
 * identity is the value, not a wire format). The cell travels by its name, so
 * {@link #of(RnnSpec, RnnWeights)} refuses a cell whose name does not say everything about it (a cell
 * option added to the library later would otherwise be lost on the way to the executors).
 *
 * <p>Executors never compare payloads by value: {@link #id()} names the model for the plan cache, and
 * the payload's identity on an executor tells the cache whether Spark still holds the broadcast.
 */
final class ModelPayload implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    private final String id;
    private final String cell;
    private final int inputSize;
    private final int hiddenSize;
    private final int layers;
    private final Direction direction;
    private final boolean bias;
    /** PyTorch's names to the tensors, in {@code state_dict()} order. */
    private final LinkedHashMap<String, float[]> tensors;

    private ModelPayload(String id, RnnSpec spec, LinkedHashMap<String, float[]> tensors) {
        this.id = id;
        this.cell = spec.cell().name();
        this.inputSize = spec.inputSize();
        this.hiddenSize = spec.hiddenSize();
        this.layers = spec.layers();
        this.direction = spec.direction();
        this.bias = spec.bias();
        this.tensors = tensors;
    }

    /**
     * The payload of {@code weights}, under a new id.
     *
     * @throws IllegalArgumentException for weights of another spec, or a cell its name does not describe
     */
    static ModelPayload of(RnnSpec spec, RnnWeights weights) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(weights, "weights");
        if (!weights.spec().equals(spec)) {
            throw new IllegalArgumentException("weights: expected weights of " + spec + ", got weights of " + weights.spec());
        }
        Cell named = Cell.named(spec.cell().name());
        if (!named.equals(spec.cell())) {
            throw new IllegalArgumentException("spec.cell: expected a cell that its name describes (the Spark module"
                    + " ships the cell by name), got " + spec.cell() + ", whose name reads back as " + named);
        }
        return new ModelPayload(UUID.randomUUID().toString(), spec, new LinkedHashMap<>(weights.toPyTorch()));
    }

    /** The model's id: one per scorer, the plan cache's key. */
    String id() {
        return id;
    }

    /** The spec, rebuilt. */
    RnnSpec spec() {
        return RnnSpec.builder().cell(Cell.named(cell)).inputSize(inputSize).hiddenSize(hiddenSize).layers(layers)
                .direction(direction).bias(bias).build();
    }

    /** The weights, rebuilt (a copy of the tensors: the payload stays apart from the plans made of it). */
    RnnWeights weights() {
        return RnnWeights.builder(spec()).putAll(tensors).build();
    }

    @Override
    public String toString() {
        return "model " + id + " (" + cell + ", input " + inputSize + ", hidden " + hiddenSize + ", " + layers
                + " layer(s), " + direction + ")";
    }
}
