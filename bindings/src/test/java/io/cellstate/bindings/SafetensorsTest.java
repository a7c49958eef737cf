package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    /** A file from a header as written and raw data. */
    static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.writeBytes(h);
        out.writeBytes(data);
        return out.toByteArray();
    }

    static String tensor(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    static ModelFormatException refused(byte[] file, String problem) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Safetensors.read(file, "m.safetensors"));
        assertTrue(e.getMessage().contains(problem), () -> "expected \"" + problem + "\" in: " + e.getMessage());
        return e;
    }

    @Test
    void roundTripsAStateDictWithMetadata() throws Exception {
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("weight_ih_l0", new Safetensors.Tensor(new int[] {8, 3}, floats(24)));
        t.put("weight_hh_l0", new Safetensors.Tensor(new int[] {8, 2}, floats(16)));
        t.put("bias_ih_l0", new Safetensors.Tensor(new int[] {8}, floats(8)));
        t.put("scalar", new Safetensors.Tensor(new int[] {}, new float[] {Float.NaN}));
        t.put("empty", new Safetensors.Tensor(new int[] {0, 4}, new float[0]));
        t.put("ünïcode \"quoted\"", new Safetensors.Tensor(new int[] {1}, new float[] {-0f}));
        Map<String, String> meta = Map.of("format", "pt", "note", "line\nbreak");
        Path f = dir.resolve("m.safetensors");
        Safetensors.write(f, t, meta);
        Safetensors.Contents back = Safetensors.read(f);
        assertEquals(t.keySet(), back.tensors().keySet());
        for (String k : t.keySet()) {
            assertArrayEquals(t.get(k).shape(), back.tensors().get(k).shape(), k);
            assertArrayEquals(t.get(k).data(), back.tensors().get(k).data(), k);
        }
        assertEquals(meta, back.metadata());
    }

    private static float[] floats(int n) {
        float[] f = new float[n];
        for (int k = 0; k < n; k++) {
            f[k] = (k * 0.37f) - 3;
        }
        return f;
    }

    @Test
    void convertsF16Bf16AndF64() throws Exception {
        ByteBuffer d = ByteBuffer.allocate(2 * 2 + 2 * 2 + 2 * 8).order(ByteOrder.LITTLE_ENDIAN);
        d.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-65504f));
        d.putShort((short) (Float.floatToIntBits(3.0f) >>> 16)).putShort((short) (Float.floatToIntBits(-0.5f) >>> 16));
        d.putDouble(0.1).putDouble(1e300);
        String h = "{" + tensor("a", "F16", "[2]", 0, 4) + "," + tensor("b", "BF16", "[2]", 4, 8) + ","
                + tensor("c", "F64", "[2,1]", 8, 24) + "}";
        Safetensors.Contents c = Safetensors.read(file(h, d.array()), "m");
        assertArrayEquals(new float[] {1.5f, -65504f}, c.tensors().get("a").data());
        assertArrayEquals(new float[] {3f, -0.5f}, c.tensors().get("b").data());
        assertArrayEquals(new float[] {0.1f, Float.POSITIVE_INFINITY}, c.tensors().get("c").data());
        assertArrayEquals(new int[] {2, 1}, c.tensors().get("c").shape());
    }

    @Test
    void acceptsTensorsListedOutOfOrderAndPaddedHeaders() throws Exception {
        String h = "{" + tensor("second", "F32", "[1]", 4, 8) + "," + tensor("first", "F32", "[1]", 0, 4) + "}   ";
        Safetensors.Contents c = Safetensors.read(file(h, new byte[8]), "m");
        assertEquals(List.of("first", "second"), List.copyOf(c.tensors().keySet()));
    }

    @Test
    void refusesBadHeaderLengths() {
        byte[] f = file("{}", new byte[0]);
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 100_000_001L);
        refused(f, "over the limit of 100000000");
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        refused(f, "header length 18446744073709551615 over the limit");
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 3);
        refused(f, "runs past the end");
        refused(new byte[5], "too short");
    }

    @Test
    void refusesHeadersThatAreNotStrictJson() {
        refused(file("[1]", new byte[0]), "does not start with '{'");
        refused(file("{\"a\":1,}", new byte[0]), "expected a string key");
        refused(file("{'a':1}", new byte[0]), "expected a string key");
        refused(file("{\"a\":1} x", new byte[0]), "text after the JSON value");
        refused(file("{\"a\":NaN}", new byte[0]), "unexpected character 'N'");
        refused(file("{\"a\":\"x\ty\"}", new byte[0]), "control character");
        refused(file("{\"\\u\uff10\uff10\uff14\uff11\":1}", new byte[0]), "bad \\u escape"); // fullwidth digits: not hex
        refused(file("{\"a\":" + "[".repeat(100) + "]".repeat(100) + "}", new byte[0]), "nested deeper than 64");
        byte[] bad = file("{\"a\":\"xx\"}", new byte[0]);
        bad[8 + 6] = (byte) 0xc3; // a lone lead byte
        refused(bad, "not valid UTF-8");
    }

    @Test
    void refusesEscapesOfLoneSurrogates() throws Exception {
        // "\\ud800" alone is no character: such a name cannot be written as UTF-8, and the writer wrote '?'
        // (found by SafetensorsFuzzTest: the name changed on a round trip). The reference's JSON parser
        // refuses it too.
        String t = "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        ModelFormatException e = refused(file("{\"a\\ud800" + t, new byte[4]), "lone surrogate");
        assertEquals("offset 11", e.where()); // the escape's backslash: 8 + 3
        refused(file("{\"\\udc00\\ud800" + t, new byte[4]), "lone surrogate");
        refused(file("{\"__metadata__\":{\"k\":\"\\ud800x\"},\"w" + t, new byte[4]), "lone surrogate");
        Safetensors.Contents c = Safetensors.read(file("{\"\\ud83d\\ude00" + t, new byte[4]), "m");
        assertEquals(List.of("\ud83d\ude00"), List.copyOf(c.tensors().keySet()));
    }

    @Test
    void namesTheByteOffsetPastNonAsciiText() {
        // "é" is two bytes: the error after it is at byte 8 + 10, not 8 + 8 as characters count
        ModelFormatException e = refused(file("{\"\u00e9\u00e9\":1 x}", new byte[0]), "expected '}'");
        assertEquals("offset 18", e.where());
    }

    @Test
    void refusesDuplicateKeys() {
        String t = tensor("w", "F32", "[1]", 0, 4);
        refused(file("{" + t + "," + tensor("w", "F32", "[1]", 4, 8) + "}", new byte[8]), "duplicate key \"w\"");
        refused(file("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}," + t + "}", new byte[4]), "duplicate key \"k\"");
    }

    @Test
    void refusesBadMetadata() {
        String t = tensor("w", "F32", "[1]", 0, 4);
        refused(file("{\"__metadata__\":{\"k\":1}," + t + "}", new byte[4]), "the value of \"k\" is not a string");
        refused(file("{\"__metadata__\":[]," + t + "}", new byte[4]), "__metadata__: not a JSON object");
    }

    @Test
    void refusesDtypesItCannotReadByName() {
        refused(file("{" + tensor("w", "I64", "[1]", 0, 8) + "}", new byte[8]), "tensor 'w': dtype I64 not supported");
        refused(file("{" + tensor("w", "F128", "[1]", 0, 16) + "}", new byte[16]), "unknown dtype \"F128\"");
        refused(file("{" + tensor("w", "F4", "[3]", 0, 1) + "}", new byte[1]), "does not fill whole bytes");
    }

    @Test
    void refusesBadTensorEntries() {
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", new byte[4]), "unknown field \"x\"");
        refused(file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "dtype missing");
        refused(file("{" + tensor("w", "F32", "[-1]", 0, 4) + "}", new byte[4]), "not a non-negative integer");
        refused(file("{" + tensor("w", "F32", "[1.5]", 0, 4) + "}", new byte[4]), "not a non-negative integer");
        refused(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4]), "not a list of 2");
        refused(file("{" + tensor("w", "F32", "[99999999999999999999]", 0, 4) + "}", new byte[4]), "over 2^63-1");
    }

    @Test
    void refusesOffsetsWithOverlapOrHole() {
        refused(file("{" + tensor("a", "F32", "[1]", 0, 4) + "," + tensor("b", "F32", "[1]", 8, 12) + "}", new byte[12]),
                "tensor 'b': data_offsets [8, 12] do not follow on from 4");
        refused(file("{" + tensor("a", "F32", "[2]", 0, 8) + "," + tensor("b", "F32", "[1]", 4, 8) + "}", new byte[8]),
                "do not follow on");
        refused(file("{" + tensor("a", "F32", "[1]", 4, 8) + "}", new byte[8]), "do not follow on from 0");
        refused(file("{" + tensor("a", "F32", "[0]", 0, 0) + "," + tensor("b", "F32", "[0]", 8, 4) + "}", new byte[0]),
                "do not follow on");
    }

    @Test
    void refusesSizesThatDoNotMatchTheShape() {
        refused(file("{" + tensor("a", "F32", "[3]", 0, 8) + "}", new byte[8]), "hold 8 bytes, shape [3] of F32 needs 12");
        refused(file("{" + tensor("a", "F32", "[4294967296,4294967296]", 0, 8) + "}", new byte[8]), "overflows");
        refused(file("{" + tensor("a", "F64", "[1152921504606846976,2]", 0, 8) + "}", new byte[8]), "overflows");
    }

    @Test
    void readsEmptyTensorsWhoseOtherDimensionsMultiplyPast2To31() throws Exception {
        // the product is 0, but 100000 x 100000 alone is over 2^31-1: Tensor refused the shape with an
        // IllegalArgumentException, which escaped the reader (the bug NpyFuzzTest found in NpyArray)
        Safetensors.Contents c = Safetensors.read(file("{" + tensor("e", "F32", "[100000,100000,0]", 0, 0) + "}", new byte[0]), "m");
        assertArrayEquals(new int[] {100000, 100000, 0}, c.tensors().get("e").shape());
        assertEquals(0, c.tensors().get("e").data().length);
        assertThrows(IllegalArgumentException.class, () -> new Safetensors.Tensor(new int[] {65536, 32768}, new float[0]));
    }

    @Test
    void refusesABufferOfTheWrongLength() {
        refused(file("{" + tensor("a", "F32", "[2]", 0, 8) + "}", new byte[12]), "trailing bytes");
        refused(file("{" + tensor("a", "F32", "[2]", 0, 8) + "}", new byte[4]), "file cut short");
        // a huge declared tensor in a small file is refused before anything is allocated
        refused(file("{" + tensor("a", "F32", "[100000,100000]", 0, 40_000_000_000L) + "}", new byte[4]), "file cut short");
    }
}
