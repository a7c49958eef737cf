package trespasser;

/** Names a class of a package io.cellstate does not export. */
public final class Main {
    public static void main(String[] args) {
        System.out.println(io.cellstate.cpu.CpuPlan.class);
    }
}
