package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The protobuf layer: every kind of damage refused naming the offset or tensor; every tensor encoding decoded. */
class OnnxProtoTest {
    /** A model whose graph holds one initializer, given as TensorProto fields. */
    private static byte[] modelWithTensor(Protobuf.Writer tensor) {
        Protobuf.Writer graph = new Protobuf.Writer().message(5, tensor);
        return new Protobuf.Writer().int64(1, 7).message(7, graph).toBytes();
    }

    private static OnnxProto.TensorData tensor(Protobuf.Writer t) throws ModelFormatException {
        return OnnxProto.readModel(modelWithTensor(t), "t.onnx").graph().initializers().values().iterator().next();
    }

    private static ModelFormatException refused(byte[] b) {
        return assertThrows(ModelFormatException.class, () -> OnnxProto.readModel(b, "bad.onnx"));
    }

    private static Protobuf.Writer raw(String name, int type, long[] dims, byte[] data) {
        return new Protobuf.Writer().packedInt64s(1, dims).int64(2, type).string(8, name).bytes(9, data);
    }

    @Test
    void decodesEveryEncodingOfTheTypesItReads() throws Exception {
        ByteBuffer d = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(1.5).putDouble(-2.25);
        assertArrayEquals(new float[] {1.5f, -2.25f}, tensor(raw("d", OnnxProto.DOUBLE, new long[] {2}, d.array())).floats());
        ByteBuffer h = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort(Float.floatToFloat16(0.5f))
                .putShort(Float.floatToFloat16(-3f));
        assertArrayEquals(new float[] {0.5f, -3f}, tensor(raw("h", OnnxProto.FLOAT16, new long[] {2}, h.array())).floats());
        ByteBuffer bf = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) (Float.floatToIntBits(-1.75f) >>> 16));
        assertArrayEquals(new float[] {-1.75f}, tensor(raw("b", OnnxProto.BFLOAT16, new long[] {1}, bf.array())).floats());
        // int32_data is a varint of the sign-extended value; int64_data plain varints; float_data packed.
        Protobuf.Writer ints = new Protobuf.Writer().packedInt64s(1, new long[] {3}).int64(2, OnnxProto.INT32)
                .packedInt64s(5, new long[] {-1, 7, Integer.MIN_VALUE});
        assertArrayEquals(new long[] {-1, 7, Integer.MIN_VALUE}, tensor(ints).longs());
        Protobuf.Writer longs = new Protobuf.Writer().packedInt64s(1, new long[] {2}).int64(2, OnnxProto.INT64)
                .int64(7, Long.MIN_VALUE).int64(7, 5); // unpacked repeated
        assertArrayEquals(new long[] {Long.MIN_VALUE, 5}, tensor(longs).longs());
        Protobuf.Writer floats = new Protobuf.Writer().packedInt64s(1, new long[] {2, 1}).int64(2, OnnxProto.FLOAT)
                .float32(4, 0.25f).float32(4, 8f);
        OnnxProto.TensorData f = tensor(floats);
        assertArrayEquals(new float[] {0.25f, 8f}, f.floats());
        assertArrayEquals(new long[] {2, 1}, f.dims());
    }

    @Test
    void tensorsThatDoNotHoldTheirShapeAreRefusedNamingThem() {
        ModelFormatException e = refused(modelWithTensor(raw("w", OnnxProto.FLOAT, new long[] {2, 3}, new byte[20])));
        assertEquals("tensor 'w'", e.where());
        assertTrue(e.problem().contains("need 24 bytes"), e.getMessage());
        e = refused(modelWithTensor(raw("big", OnnxProto.FLOAT, new long[] {1L << 20, 1L << 20}, new byte[4])));
        assertTrue(e.problem().contains("more than 2^31-1 elements"), e.getMessage());
        e = refused(modelWithTensor(raw("neg", OnnxProto.FLOAT, new long[] {-1}, new byte[0])));
        assertTrue(e.problem().contains("negative dimension"), e.getMessage());
        e = refused(modelWithTensor(new Protobuf.Writer().packedInt64s(1, new long[] {4}).int64(2, OnnxProto.FLOAT)
                .string(8, "ext").int64(14, 1)));
        assertTrue(e.problem().contains("external data"), e.getMessage());
        e = refused(modelWithTensor(raw("s", 8, new long[] {1}, new byte[1])));
        assertTrue(e.problem().contains("data type 8"), e.getMessage());
        e = refused(modelWithTensor(new Protobuf.Writer().packedInt64s(1, new long[] {3}).int64(2, OnnxProto.FLOAT)
                .string(8, "short").float32(4, 1f)));
        assertTrue(e.problem().contains("need 3 values, the tensor holds 1"), e.getMessage());
    }

    @Test
    void damagedWireFormatIsRefusedNamingTheOffset() {
        byte[] ok = new Protobuf.Writer().int64(1, 7).message(7, new Protobuf.Writer().string(2, "g")).toBytes();
        // A length past the end of the message.
        byte[] b = ok.clone();
        b[3] = 100;
        ModelFormatException e = refused(b);
        assertTrue(e.where().startsWith("offset "), e.getMessage());
        assertTrue(e.problem().contains("claims 100 bytes"), e.getMessage());
        // A length of ten bytes, negative as a long: refused, not taken as a step backwards (found by fuzzing).
        byte[] neg = {0x08, 0x07, 0x3a, (byte) 0x82, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80,
            (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01, 0x00};
        assertTrue(refused(neg).problem().contains("claims a length of 9223372036854775810 bytes"), refused(neg).getMessage());
        // A varint that never ends.
        byte[] v = new byte[12];
        Arrays.fill(v, (byte) 0xff);
        v[0] = 0x08;
        assertTrue(refused(v).problem().contains("varint"));
        // A group (wire type 3), which ONNX never uses.
        assertTrue(refused(new byte[] {0x0b, 0x0c}).problem().contains("wire type 3"));
        // Fields the reader does not know are skipped whole, never descended into: deep nesting costs no stack.
        Protobuf.Writer deep = new Protobuf.Writer().string(1, "x");
        for (int i = 0; i < 2000; i++) {
            deep = new Protobuf.Writer().message(7, deep);
        }
        byte[] d = deep.toBytes();
        assertDoesNotThrow(() -> assertTrue(OnnxProto.readModel(new Protobuf.Writer().int64(1, 7).bytes(7, d).toBytes(), "deep")
                .graph().nodes().isEmpty()));
        // Not UTF-8 where a string is.
        byte[] s = new Protobuf.Writer().int64(1, 7).bytes(2, new byte[] {(byte) 0xc3, 0x28}).toBytes();
        assertTrue(refused(s).problem().contains("not valid UTF-8"));
        // No graph at all.
        assertTrue(refused(new Protobuf.Writer().int64(1, 7).toBytes()).problem().contains("no graph"));
    }
}
