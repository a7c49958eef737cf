package io.cellstate.spark;

import java.io.Serial;
import java.io.Serializable;

/**
 * What the executors need to score one Dataset: the scorer's options resolved against the Dataset's
 * schema (field positions instead of names), shipped with each task.
 *
 * @param sequenceColumn the sequence column's name, for messages
 * @param sequenceField  its position in the row
 * @param flat           whether it is a flat array of floats (else an array of steps)
 * @param lengthColumn   the length column's name, or null
 * @param lengthField    its position, or -1
 * @param idColumn       the column named in error messages, or null
 * @param idField        its position, or -1
 * @param inputFields    the number of fields of an input row (the new ones follow)
 * @param outputSequence whether the output sequence is wanted
 * @param errorColumn    whether bad rows go to the error column (else they fail the task)
 * @param batchSize      the most rows per forward pass
 * @param backend        {@code auto} or a backend's name, chosen on each executor
 */
record ScoringJob(String sequenceColumn, int sequenceField, boolean flat, String lengthColumn, int lengthField,
                  String idColumn, int idField, int inputFields, boolean outputSequence, boolean errorColumn,
                  int batchSize, String backend) implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    /** The number of fields of an output row. */
    int outputFields() {
        return inputFields + 1 + (outputSequence ? 1 : 0) + (errorColumn ? 1 : 0);
    }
}
