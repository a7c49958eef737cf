package io.cellstate.bench;

import java.lang.reflect.InvocationTargetException;

/**
 * Prints one line per peer library naming its version, for the report's notes:
 * {@code oneDNN 3.11.0, OpenMP runtime /path/libgomp.so.1}. Reads it from
 * {@code io.cellstate.bench.OneDnnLstm.version()} by reflection, because that class is optional;
 * where it is absent, or fails to load its native library, prints nothing and says why on stderr.
 * Always exits 0: a missing version must not lose a benchmark run's report.
 */
public final class PeerVersions {
    private PeerVersions() {
    }

    public static void main(String[] args) {
        String name = "io.cellstate.bench.OneDnnLstm";
        try {
            Class<?> onednn = Class.forName(name);
            Object version = onednn.getMethod("version").invoke(null);
            System.out.println("oneDNN " + version + openMp(onednn));
        } catch (ClassNotFoundException e) {
            System.err.println("PeerVersions: " + name + " is not in this build; no oneDNN version to report");
        } catch (NoSuchMethodException | IllegalAccessException e) {
            System.err.println("PeerVersions: " + name + " has no public static version(): " + e);
        } catch (InvocationTargetException e) {
            System.err.println("PeerVersions: " + name + ".version() failed: " + e.getCause());
        } catch (LinkageError e) {
            System.err.println("PeerVersions: " + name + " could not be loaded: " + e);
        }
    }

    /** ", OpenMP runtime PATH" where the class can say which one oneDNN threads on; else nothing. */
    private static String openMp(Class<?> onednn) {
        try {
            return ", OpenMP runtime " + onednn.getMethod("openMpRuntime").invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            return "";
        }
    }
}
