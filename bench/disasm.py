#!/usr/bin/env python3
"""Decodes the machine code HotSpot prints for one method, where no hsdis plugin decodes it.

    java -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,io.cellstate.vector.Panels::gemm4 ... > out.log
    bench/disasm.py out.log gemm4            # the last C2 (tier 4), non-OSR compile of a method named gemm4
    bench/disasm.py out.log gemm4 --loop     # only the innermost loop around the first FMA: the hot k loop

Without a disassembler plugin, -XX:CompileCommand=print writes each compiled method's [MachCode] as hex
words; this joins them and hands them to binutils' objdump (Intel syntax). It is how issue 14 found C2
moving the pointer of A through a vector register inside Panels.gemm4's k loop (docs/benchmarks.md).
"""
import re
import subprocess
import sys
import tempfile


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    text = open(argv[1], errors="replace").read()
    name = argv[2]
    loop = "--loop" in argv[3:]
    blocks = re.split(r"\n(?=Compiled method )", text)
    chosen = [b for b in blocks
              if b.startswith("Compiled method (c2)")
              and ("::" + name + " (") in b.split("\n", 1)[0]
              and " % " not in b.split("\n", 1)[0]]
    if not chosen:
        sys.exit(f"no C2 compile of {name} in {argv[1]} (was -XX:CompileCommand=print given for it?)")
    code = chosen[-1][chosen[-1].index("[MachCode]"):]
    start = None
    data = bytearray()
    for line in code.split("\n"):
        m = re.match(r"\s+0x([0-9a-f]+): ([0-9a-f |]+)$", line)
        if m:
            if start is None:
                start = int(m.group(1), 16)
            data += bytes.fromhex(m.group(2).replace("|", "").replace(" ", ""))
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", "-Mintel",
                              "--adjust-vma=%#x" % start, f.name], capture_output=True, text=True, check=True).stdout
    lines = out.split("\n")
    if loop:
        # the innermost loop around the first FMA: from the first backward jump after it to that jump's target
        first = next((i for i, l in enumerate(lines) if "vfmadd" in l), None)
        if first is None:
            sys.exit("no FMA in the method")
        address = [int(l.split(":")[0], 16) if re.match(r"\s+[0-9a-f]+:", l) else None for l in lines]
        for i in range(first, len(lines)):
            jump = re.search(r"\tj[a-z]+\s+0x([0-9a-f]+)", lines[i])
            if jump and int(jump.group(1), 16) <= address[first]:
                target = int(jump.group(1), 16)
                start = next(j for j in range(first, -1, -1) if address[j] is not None and address[j] <= target)
                lines = lines[start:i + 1]
                break
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv)
