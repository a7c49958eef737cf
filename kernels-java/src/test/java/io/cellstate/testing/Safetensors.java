package io.cellstate.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reader of the float32 {@code .safetensors} files in the shared PyTorch cases: an 8-byte
 * little-endian header length, a JSON header of {@code name -> {dtype, shape, data_offsets}}, the
 * data. Test-only, for reference data this project did not write; it checks what those files need
 * (F32, or F64 rounded to float32 as the gradient cases store them; offsets inside the data,
 * sizes that match the shapes), not every rule of the format.
 */
public final class Safetensors {
    private Safetensors() {
    }

    /** Every tensor of {@code file}, by name, in the header's order. */
    @SuppressWarnings("unchecked")
    public static Map<String, float[]> read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = buf.getLong();
        if (headerLen < 2 || headerLen > bytes.length - 8) {
            throw new IOException(file + ": header length " + headerLen + " outside the file of " + bytes.length + " bytes");
        }
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        Map<String, Object> entries = (Map<String, Object>) MiniJson.parse(header);
        int data = 8 + (int) headerLen;
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : entries.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            Map<String, Object> t = (Map<String, Object>) e.getValue();
            Object dtype = t.get("dtype");
            if (!"F32".equals(dtype) && !"F64".equals(dtype)) {
                throw new IOException(file + ": " + e.getKey() + " has dtype " + dtype + ", expected F32 or F64");
            }
            int width = "F64".equals(dtype) ? Double.BYTES : Float.BYTES;
            List<Object> offsets = (List<Object>) t.get("data_offsets");
            long begin = ((Double) offsets.get(0)).longValue();
            long end = ((Double) offsets.get(1)).longValue();
            long count = 1;
            for (Object d : (List<Object>) t.get("shape")) {
                count *= ((Double) d).longValue();
            }
            if (begin < 0 || end < begin || data + end > bytes.length || end - begin != count * width) {
                throw new IOException(file + ": " + e.getKey() + " has offsets [" + begin + ", " + end + ") for "
                        + count + " " + dtype + " in " + (bytes.length - data) + " bytes of data");
            }
            float[] f = new float[(int) count];
            ByteBuffer values = ByteBuffer.wrap(bytes, data + (int) begin, (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
            if (width == Double.BYTES) {
                for (int i = 0; i < f.length; i++) {
                    f[i] = (float) values.getDouble();
                }
            } else {
                values.asFloatBuffer().get(f);
            }
            out.put(e.getKey(), f);
        }
        return out;
    }
}
