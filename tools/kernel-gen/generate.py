#!/usr/bin/env python3
"""Writes the three kernel files from one template, so every ISA's variant has the same structure:

  Sources/XLSTM/Kernels/PortableKernels.swift          (the readable reference; baseline ISA)
  Sources/XLSTMKernelsAVX2/KernelsAVX2.swift            (AVX2 + FMA)
  Sources/XLSTMKernelsAVX512/KernelsAVX512.swift        (AVX-512 F/BW/DQ/VL)

Run from the repository root: python3 tools/kernel-gen/generate.py (make kernels). The files are
committed; make test checks they are what this script writes. Register blocking per ISA:

  ISA       lanes  MR (rows / panel)  NR (tokens)  accumulators
  portable  8      8                  4            4 × SIMD8   (SSE2: 8 xmm; NEON: 8 q)
  avx2      8      16                 6            12 ymm      (BLIS haswell's 6×16)
  avx512    16     32                 12           24 zmm      (BLIS skx's 32×12)

Each ISA also has a narrow micro-kernel of NNR = NR / 3 tokens (portable: 1; batched decode's edge
slivers, Sources/XLSTM/Model/Batch.swift): the same per-element FMA chain as the wide one, so a
token's sums are bit-identical whichever of the two computes it.
"""
import os
import sys

# How far ahead of its reads the quantized matvec prefetches each panel stream (bytes): its
# arithmetic per byte is 4-8x the bf16 matvec's, so the hardware prefetcher alone falls behind.
PREFETCH_BYTES = 1024

# How far ahead the f32 / bf16 packed matvec prefetches each of its two panel streams (bytes): the
# hardware prefetcher alone kept the 162 M bf16 step at 59-64% of the read bandwidth; 4 KiB ahead
# measured 12-15% faster in paired runs (and the int8 kernels' loop: 1 KiB 75%, 4 KiB 86-96%).
MATVEC_PREFETCH_BYTES = 4096

# ... and, into L2 (`prefetcht1`), this far ahead: an L1 prefetch holds one of the core's few L1
# line-fill buffers until its line arrives from DRAM, an L2 prefetch does not, so the far requests
# keep more of the stream in flight. Measured in one process, both variants alternating token by
# token (the xLSTM-7B shape, bf16): 2 threads 1.76 -> 2.05 tokens/s (+16%; in two noisier runs
# +26% / +17% median), 1 thread +15%; 8 KiB ahead was worse than 16, 32 KiB the same as 16. The
# 162 M model in f32: +6% median on 1 and 2 threads.
MATVEC_L2_PREFETCH_BYTES = 16384

# k per partial sum in the packed matvec (rounding: each output is a sum of cols / MATVEC_KBLOCK block sums).
MATVEC_KBLOCK = 64

ISAS = {
    "portable": dict(suffix="Portable", lanes=8, mr=8, nr=4, nnr=1, fma=False,
                     path="Sources/XLSTM/Kernels/PortableKernels.swift", title="portable"),
    "avx2": dict(suffix="AVX2", lanes=8, mr=16, nr=6, nnr=2, fma=True,
                 path="Sources/XLSTMKernelsAVX2/KernelsAVX2.swift", title="AVX2 + FMA"),
    "avx512": dict(suffix="AVX512", lanes=16, mr=32, nr=12, nnr=4, fma=True,
                   path="Sources/XLSTMKernelsAVX512/KernelsAVX512.swift", title="AVX-512 (F, BW, DQ, VL)"),
}


def quantized_kernels(c, madd, store):
    """The q8_0 / q4_0 kernels of one ISA: the packed matvec (codes widened to f32 in registers,
    one FMA per weight, the block's sum scaled once) and the panel dequantizer the GEMM runs before
    its f32 micro-kernel. The in-memory layout is Sources/XLSTM/Quant/QuantPanels.swift's."""
    isa_portable = c["suffix"] == "Portable"
    S, L, MR = c["suffix"], c["lanes"], c["mr"]
    NV = MR // L
    V, W = f"SIMD{L}<Float>", f"SIMD{L}<UInt32>"
    HW = "SIMD4<UInt32>" if isa_portable else W      # words of one block's MR scales
    HV = "SIMD4<Float>" if isa_portable else V
    pub = "" if isa_portable else "public "
    out = []
    w = out.append

    w("/// binary16 values in the low 16 bits of each lane → float32, exact for zero, subnormal and normal")
    w("/// values (scales are checked finite at load). ryg's half_to_float, its subnormal case by arithmetic:")
    w("/// the exponent is rebased by 112 (one more when it is zero, then 2^-14 is taken off again).")
    w("@inline(__always)")
    w(f"func widenHalves(_ h: {HW}) -> {HV} {{")
    w(f"    let magnitude = (h & {HW}(repeating: 0x7FFF)) &<< 13")
    w(f"    let subnormal = ((magnitude & {HW}(repeating: 0x0F80_0000)) &- {HW}(repeating: 1)) &>> 31")
    w(f"    let bits = magnitude &+ {HW}(repeating: 0x3800_0000) &+ (subnormal &<< 23)")
    w(f"    let rebased = unsafeBitCast(bits, to: {HV}.self)")
    w(f"        - unsafeBitCast(({HW}() &- subnormal) & {HW}(repeating: 0x3880_0000), to: {HV}.self)")
    w(f"    return unsafeBitCast(unsafeBitCast(rebased, to: {HW}.self) | ((h & {HW}(repeating: 0x8000)) &<< 16), to: {HV}.self)")
    w("}")
    w("")

    def scales(ptr, offset, names, indent):
        I = " " * indent
        lines = [I + f"let words = {ptr}.loadUnaligned(fromByteOffset: {offset}, as: {HW}.self)"]
        lo = f"widenHalves(words & {HW}(repeating: 0xFFFF))"
        hi = f"widenHalves(words &>> 16)"
        if NV == 1:
            lines.append(I + f"let {names[0]} = {V}(lowHalf: {lo}, highHalf: {hi})")
        else:
            lines.append(I + f"let {names[0]} = {lo}, {names[1]} = {hi}")
        return lines

    for fmt in ("Q8", "Q4"):
        per = 4 if fmt == "Q8" else 8          # codes per 32-bit word
        width = 32 // per
        # q8 on 16 lanes (AVX-512): a word holds 4 columns of one row, a chunk is NV loads (rows
        # L·v ..) of 4 columns (QuantPanels.swift `rowWords`); otherwise a chunk is one load of
        # MR rows × cpc columns, code t of a word in row L·(t mod NV) + j, column t div NV.
        row_words = fmt == "Q8" and L == 16
        loads = NV if row_words else 1         # W loads per chunk
        cpc = per if row_words else per // NV  # columns per chunk
        chunks = 32 // cpc
        chunk_bytes = 4 * L * loads

        def slot(load, t):
            """(vector, column within the chunk) of code t of the chunk's load `load`."""
            return (load, t) if row_words else (t % NV, t // NV)
        code_bytes = chunks * chunk_bytes
        block_bytes = code_bytes + 2 * MR
        bias = "8_388_736" if fmt == "Q8" else "8_388_616"   # 2^23 + 128 (offset binary) / 2^23 + 8
        lowmask = "0xFF" if fmt == "Q8" else "0xF"

        def code(word, t):
            shift = t * width
            if t == 0:
                bits = f"{word} & mask"
            elif t == per - 1:
                bits = f"{word} &>> {shift}"
            else:
                bits = f"({word} &>> {shift}) & mask"
            return f"(unsafeBitCast(({bits}) | magic, to: {V}.self) - bias)"

        what = "int8 codes stored offset by 128" if fmt == "Q8" else "4-bit codes, value = code − 8"
        w(f"/// W ({fmt.lower()}_0 panels of {MR} rows: per block of 32 columns {code_bytes} bytes of {what}, then")
        if row_words:
            w(f"/// the {MR} rows' binary16 scales) · x [cols] -> y [rows]. A chunk is {loads} loads of {L} rows × {cpc} columns;")
        else:
            w(f"/// the {MR} rows' binary16 scales) · x [cols] -> y [rows]. A {chunk_bytes}-byte load holds {MR} rows × {cpc} columns;")
        offset = "128" if fmt == "Q8" else "8"
        w(f"/// each code becomes an exact float by `code | 0x4B000000` (2^23 + code) minus 2^23 + {offset}, one FMA per")
        w(f"/// weight into the block's sum, which is scaled once per block. Two panels at a time, like the f32 matvec;")
        w(f"/// each stream prefetched {PREFETCH_BYTES} bytes ahead (the hardware prefetcher falls behind at this arithmetic per byte).")
        w("@inline(never)")
        w(f"{pub}func matVecPacked{fmt}{S}(_ a: UnsafePointer<UInt8>, _ rows: Int, _ cols: Int,")
        w(f"                            _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {{")
        w(f"    let panels = (rows + {MR - 1}) / {MR}")
        w(f"    let blocks = cols / 32")
        w(f"    let panelBytes = blocks * {block_bytes}")
        w(f"    let mask = {W}(repeating: {lowmask}), magic = {W}(repeating: 0x4B00_0000), bias = {V}(repeating: {bias})")

        def body(ptrs, indent):
            I = " " * indent
            lines = []
            lines.append(I + "; ".join(f"var t{p}{v} = {V}()" for p in range(len(ptrs)) for v in range(NV)))
            lines.append(I + "var xp = x")
            lines.append(I + "for _ in 0..<blocks {")
            lines.append(I + "    " + "; ".join(f"var e{p}{v} = {V}(), o{p}{v} = {V}()" for p in range(len(ptrs)) for v in range(NV)))
            lines.append(I + f"    for _ in 0..<{chunks} {{")
            lines.append(I + "        " + "; ".join(f"xlstm_prefetch({ptr} + {PREFETCH_BYTES + 64 * load})"
                                                  for ptr in ptrs for load in range(loads)))
            lines.append(I + "        let " + ", ".join(f"x{k} = {V}(repeating: xp[{k}])" for k in range(cpc)))
            for p, ptr in enumerate(ptrs):
                for load in range(loads):
                    lines.append(I + f"        do {{")
                    offset = f"fromByteOffset: {4 * L * load}, " if load else ""
                    lines.append(I + f"            let word = {ptr}.loadUnaligned({offset}as: {W}.self)")
                    for t in range(per):
                        v, col = slot(load, t)
                        acc = ("e" if col % 2 == 0 else "o") + f"{p}{v}"
                        lines.append(I + f"            {madd(acc, code('word', t), f'x{col}')}")
                    lines.append(I + "        }")
            lines.append(I + "        " + "; ".join(f"{ptr} += {chunk_bytes}" for ptr in ptrs) + f"; xp += {cpc}")
            lines.append(I + "    }")
            for p, ptr in enumerate(ptrs):
                lines.append(I + "    do {")
                lines += scales(ptr, 0, [f"s{v}" for v in range(NV)], indent + 8)
                for v in range(NV):
                    total = f"e{p}{v} + o{p}{v}"
                    lines.append(I + f"        {madd(f't{p}{v}', total, f's{v}')}")
                lines.append(I + "    }")
            lines.append(I + "    " + "; ".join(f"{ptr} += {2 * MR}" for ptr in ptrs))
            lines.append(I + "}")
            return lines

        w("    var panel = 0")
        w("    while panel + 2 <= panels {")
        w("        var pa = UnsafeRawPointer(a) + panel * panelBytes, pb = pa + panelBytes")
        out.extend(body(["pa", "pb"], 8))
        out.extend(store(0, f"panel * {MR}", 8) + store(1, f"panel * {MR} + {MR}", 8))
        w("        panel += 2")
        w("    }")
        w("    if panel < panels {")
        w("        var pa = UnsafeRawPointer(a) + panel * panelBytes")
        out.extend(body(["pa"], 8))
        out.extend(store(0, f"panel * {MR}", 8))
        w("    }")
        w("}")
        w("")

        w(f"/// `blocks` blocks of one {fmt.lower()}_0 panel (a = its first block) -> out [32·blocks][{MR}] f32, the panel")
        w("/// layout of the f32 micro-kernel; each value is scale · code, exactly the reference dequantization.")
        w("@inline(never)")
        w(f"{pub}func dequantizePanel{fmt}{S}(_ a: UnsafeRawPointer, _ blocks: Int, _ out: UnsafeMutablePointer<Float>) {{")
        w(f"    let mask = {W}(repeating: {lowmask}), magic = {W}(repeating: 0x4B00_0000), bias = {V}(repeating: {bias})")
        w("    var pa = a")
        w("    var o = UnsafeMutableRawPointer(out)")
        w("    for _ in 0..<blocks {")
        for line in scales("pa", code_bytes, [f"s{v}" for v in range(NV)], 8):
            w(line)
        w(f"        for _ in 0..<{chunks} {{")
        for load in range(loads):
            offset = f"fromByteOffset: {4 * L * load}, " if load else ""
            word = f"word{load}" if loads > 1 else "word"
            w(f"            let {word} = pa.loadUnaligned({offset}as: {W}.self)")
            for t in range(per):
                v, col = slot(load, t)
                w(f"            o.storeBytes(of: {code(word, t)} * s{v}, toByteOffset: {(col * MR + v * L) * 4}, as: {V}.self)")
        w(f"            pa += {chunk_bytes}; o += {cpc * MR * 4}")
        w("        }")
        w(f"        pa += {2 * MR}")
        w("    }")
        w("}")
        w("")
    return out


def generate(isa):
    c = ISAS[isa]
    S, L, MR, NR = c["suffix"], c["lanes"], c["mr"], c["nr"]
    V = f"SIMD{L}<Float>"
    W = f"SIMD{L}<UInt32>"
    NV = MR // L                   # float vectors per k of a panel
    pub = "" if isa == "portable" else "public "
    out = []
    w = out.append

    def madd(acc, a, b):
        return f"{acc}.addProduct({a}, {b})" if c["fma"] else f"multiplyAdd(&{acc}, {a}, {b})"

    # Widening one k-row of a bf16 panel (MR values = MR/2 words) into NV float vectors.
    def widen_row(ptr, offset, names):
        if isa == "portable":
            # MR = 8 = 4 words: rows 0..3 in the low halves, rows 4..7 in the high halves.
            return [f"let words = {ptr}.loadUnaligned(fromByteOffset: {offset}, as: SIMD4<UInt32>.self)",
                    f"let {names[0]} = {V}(lowHalf: unsafeBitCast(words &<< 16, to: SIMD4<Float>.self), "
                    f"highHalf: unsafeBitCast(words & SIMD4(repeating: 0xFFFF_0000), to: SIMD4<Float>.self))"]
        return [f"let words = {ptr}.loadUnaligned(fromByteOffset: {offset}, as: {W}.self)",
                f"let {names[0]} = unsafeBitCast(words &<< 16, to: {V}.self)",
                f"let {names[1]} = unsafeBitCast(words & {W}(repeating: 0xFFFF_0000), to: {V}.self)"]

    if isa == "portable":
        w("// The portable kernels: the readable reference every ISA's variant is tested against, and the path")
        w("// for any CPU. Compiled, like the whole engine, for the baseline of the architecture: SSE2 on")
        w("// x86-64, where a multiply and an add replace FMA (`multiplyAdd`), NEON FMA on arm64.")
    else:
        w(f"// {c['title']} kernels. This module is compiled for that ISA (Package.swift) and reached only through")
        w("// the dispatch table (Sources/XLSTM/Kernels/KernelSet.swift) once the CPU is known to run it.")
        w("// Only stdlib SIMD operations that inline appear here, so no code compiled for this ISA is shared")
        w("// with another path; tools/check-isa.sh (make test) checks the library's disassembly for that.")
    w("//")
    w("// Generated by tools/kernel-gen/generate.py (make kernels) with the portable, AVX2 and AVX-512")
    w("// kernels from one template; edit the template, not this file. Contracts (same on every path):")
    w("//")
    w(f"//   matVecRowMajorF32{S}   W [rows, cols] row-major f32 · x [cols] -> y [rows]")
    w(f"//   matVecPackedF32{S}     W in panels (below) · x [cols] -> y [rows]")
    w(f"//   matVecPackedBF16{S}    the same with bf16 panels")
    w(f"//   matVecPacked{{F32,BF16}}Streaming{S}  the same, also prefetching far ahead into L2 (matrices streamed from memory)")
    w(f"//   gemmMicroKernelF32{S}  C [NR][MR] (+)= A panel rows [kc][MR] · packed B [kc][NR]; BF16: bf16 panel")
    w(f"//   gemmMicroKernelWideningBF16{S}  the bf16 one, also storing the widened A rows for the block's other slivers")
    w(f"//   gemmMicroKernel{{Single,Pair,Triple}}{{F32,BF16}}{S}  one to three tokens over several panels (batches of one to three)")
    w(f"//   matVecPackedQ8{S}      W in q8_0 panels (QuantPanels.swift) · x [cols] -> y [rows]; Q4: q4_0 panels")
    w(f"//   dequantizePanelQ8{S}   blocks of one q8_0 panel -> f32 panel rows [32·blocks][MR] (prefill); Q4 likewise")
    w(f"//   mLSTMCellUpdate{S}     one head's mLSTM state update and readout in step mode")
    w(f"//   combineRows{S}, dot{S}  out (+)= Σ_i w[i] · row_i; a · b (the chunkwise mLSTM cell)")
    w(f"//   combineRowsFour{S}     four such outputs, each row loaded once (the cell's passes over C and V)")
    w(f"//   siluProduct{S}, multiplyBySigmoid{S}  x ← silu(x) ⊙ y; x ← x ⊙ σ(y) (the 7B family's gates)")
    w(f"//   silu{S}, skipSiluGate{S}, geluProduct{S}  x ← silu(x); x ← (x + s ⊙ c) ⊙ silu(g); x ← gelu(x) ⊙ y (paper blocks)")
    w(f"//   softCap{S}             x ← cap · tanh(x / cap) (the 7B family's logits)")
    w("//")
    w(f"// Panels (MatrixPacking.swift): W is stored as ceil(rows / {MR}) panels of {MR} rows; panel p holds")
    w(f"// rows [{MR}p, {MR}p + {MR}) as [cols][{MR}], the row index fastest (rows past the end are zero). A bf16")
    w(f"// panel row of {MR} values is {MR // 2} 32-bit words: word j holds row j in its low half and row j + {MR // 2} in")
    w("// its high half, so `word << 16` and `word & 0xFFFF0000` are the float32 bit patterns of both.")
    w("")
    if isa != "portable":
        w("#if arch(x86_64)")
        w("")
    w("import CXLSTMCPU")
    w("")

    w(f"/// Lanes of one register ({L} floats) and the micro-kernel's tile: MR rows of W (a panel) × NR tokens.")
    w(f"{pub}let lanes{S} = {L}")
    w(f"{pub}let microTile{S} = (mr: {MR}, nr: {NR})")
    w(f"/// Tokens of the narrow micro-kernel (edge slivers of batched decode).")
    w(f"{pub}let microNarrowNR{S} = {c['nnr']}")
    w("")
    w("@inline(__always)")
    w(f"func horizontalSum(_ v: {V}) -> Float {{")
    if L == 16:
        w("    let h = v.lowHalf + v.highHalf")
        w("    let q = h.lowHalf + h.highHalf")
    else:
        w("    let q = v.lowHalf + v.highHalf")
    w("    let p = q.lowHalf + q.highHalf")
    w("    return p[0] + p[1]")
    w("}")
    w("")
    # --- row-major matvec (small per-head matrices) ---
    w(f"/// W [rows, cols] (f32, row-major) · x [cols] -> y [rows]: four rows per pass, two {L}-wide chains per row.")
    w(f"/// For the small block-diagonal (per-head) projections, used in place.")
    w("@inline(never)")
    w(f"{pub}func matVecRowMajorF32{S}(_ w: UnsafePointer<Float>, _ rows: Int, _ cols: Int,")
    w(f"                              _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {{")
    w(f"    let step = {L}, stride = cols * 4")
    w("    let xr = UnsafeRawPointer(x)")
    w("    var row = 0")
    w("    while row + 4 <= rows {")
    w("        let r0 = UnsafeRawPointer(w + row * cols), r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride")
    w(f"        var a0 = {V}(), a1 = {V}(), a2 = {V}(), a3 = {V}()")
    w(f"        var b0 = {V}(), b1 = {V}(), b2 = {V}(), b3 = {V}()")
    w("        var c = 0")
    w("        while c + 2 * step <= cols {")
    w("            let o = c * 4, o2 = o + step * 4")
    w(f"            let x0 = xr.loadUnaligned(fromByteOffset: o, as: {V}.self)")
    w(f"            let x1 = xr.loadUnaligned(fromByteOffset: o2, as: {V}.self)")
    for r in range(4):
        w(f"            {madd(f'a{r}', f'r{r}.loadUnaligned(fromByteOffset: o, as: {V}.self)', 'x0')}; "
          f"{madd(f'b{r}', f'r{r}.loadUnaligned(fromByteOffset: o2, as: {V}.self)', 'x1')}")
    w("            c += 2 * step")
    w("        }")
    w("        if c + step <= cols {")
    w(f"            let x0 = xr.loadUnaligned(fromByteOffset: c * 4, as: {V}.self)")
    for r in range(4):
        w(f"            {madd(f'a{r}', f'r{r}.loadUnaligned(fromByteOffset: c * 4, as: {V}.self)', 'x0')}")
    w("            c += step")
    w("        }")
    w("        var s0 = horizontalSum(a0 + b0), s1 = horizontalSum(a1 + b1)")
    w("        var s2 = horizontalSum(a2 + b2), s3 = horizontalSum(a3 + b3)")
    w("        let w0 = w + row * cols")
    w("        while c < cols {")
    w("            let xc = x[c]")
    w("            s0 += w0[c] * xc; s1 += w0[cols + c] * xc; s2 += w0[2 * cols + c] * xc; s3 += w0[3 * cols + c] * xc")
    w("            c += 1")
    w("        }")
    w("        y[row] = s0; y[row + 1] = s1; y[row + 2] = s2; y[row + 3] = s3")
    w("        row += 4")
    w("    }")
    w("    while row < rows {")
    w("        let r = UnsafeRawPointer(w + row * cols)")
    w(f"        var a = {V}()")
    w("        var c = 0")
    w("        while c + step <= cols {")
    w(f"            {madd('a', f'r.loadUnaligned(fromByteOffset: c * 4, as: {V}.self)', f'xr.loadUnaligned(fromByteOffset: c * 4, as: {V}.self)')}")
    w("            c += step")
    w("        }")
    w("        var s = horizontalSum(a)")
    w("        while c < cols { s += w[row * cols + c] * x[c]; c += 1 }")
    w("        y[row] = s")
    w("        row += 1")
    w("    }")
    w("}")
    w("")

    # --- packed matvec ---
    def panel_kloop(dtype, row_bytes, ptrs, indent):
        """The k loop over one k-block for the panels at `ptrs` (accumulators e/o + panel index)."""
        I = " " * indent
        out_lines = []
        def emit(line): out_lines.append(I + line)
        emit("while k + 2 <= kEnd {")
        lines_per_step = max(1, 2 * row_bytes // 64)
        emit("    " + "; ".join(f"xlstm_prefetch({ptr} + {MATVEC_PREFETCH_BYTES + 64 * i})"
                              for ptr in ptrs for i in range(lines_per_step)))
        emit("    if streaming { " + "; ".join(f"xlstm_prefetch_l2({ptr} + {MATVEC_L2_PREFETCH_BYTES + 64 * i})"
                                               for ptr in ptrs for i in range(lines_per_step)) + " }")
        emit(f"    let x0 = {V}(repeating: x[k]), x1 = {V}(repeating: x[k + 1])")
        for p_i, ptr in enumerate(ptrs):
            if dtype == "F32":
                for v in range(NV):
                    emit(f"    {madd(f'e{p_i}{v}', f'{ptr}.loadUnaligned(fromByteOffset: {v * L * 4}, as: {V}.self)', 'x0')}")
                for v in range(NV):
                    emit(f"    {madd(f'o{p_i}{v}', f'{ptr}.loadUnaligned(fromByteOffset: {row_bytes + v * L * 4}, as: {V}.self)', 'x1')}")
            else:
                for half, (off, xv, acc) in enumerate(((0, "x0", "e"), (row_bytes, "x1", "o"))):
                    names = [f"r{p_i}{half}_{v}" for v in range(max(NV, 2))]
                    emit("    do {")
                    for line in widen_row(ptr, off, names):
                        emit("        " + line)
                    for v in range(NV):
                        emit(f"        {madd(f'{acc}{p_i}{v}', names[v], xv)}")
                    emit("    }")
        emit("    " + "; ".join(f"{ptr} += {2 * row_bytes}" for ptr in ptrs) + "; k += 2")
        emit("}")
        emit("if k < kEnd {")
        emit(f"    let x0 = {V}(repeating: x[k])")
        for p_i, ptr in enumerate(ptrs):
            if dtype == "F32":
                for v in range(NV):
                    emit(f"    {madd(f'e{p_i}{v}', f'{ptr}.loadUnaligned(fromByteOffset: {v * L * 4}, as: {V}.self)', 'x0')}")
            else:
                emit("    do {")
                names = [f"r{p_i}_{v}" for v in range(max(NV, 2))]
                for line in widen_row(ptr, 0, names):
                    emit("        " + line)
                for v in range(NV):
                    emit(f"        {madd(f'e{p_i}{v}', names[v], 'x0')}")
                emit("    }")
        emit("    " + "; ".join(f"{ptr} += {row_bytes}" for ptr in ptrs) + "; k += 1")
        emit("}")
        return out_lines

    def panel_body(dtype, row_bytes, ptrs, indent):
        I = " " * indent
        lines = []
        lines.append(I + "; ".join(f"var t{p_i}{v} = {V}()" for p_i in range(len(ptrs)) for v in range(NV)))
        lines.append(I + "var k = 0")
        lines.append(I + "while k < cols {")
        lines.append(I + f"    let kEnd = min(k + {MATVEC_KBLOCK}, cols)")
        lines.append(I + "    " + "; ".join(f"var e{p_i}{v} = {V}(), o{p_i}{v} = {V}()" for p_i in range(len(ptrs)) for v in range(NV)))
        lines += panel_kloop(dtype, row_bytes, ptrs, indent + 4)
        for p_i in range(len(ptrs)):
            for v in range(NV):
                lines.append(I + f"    t{p_i}{v} += e{p_i}{v} + o{p_i}{v}")
        lines.append(I + "}")
        return lines

    def store(p_i, first_expr, indent):
        I = " " * indent
        lines = [I + f"do {{", I + f"    let first = {first_expr}"]
        lines.append(I + f"    if first + {MR} <= rows {{")
        for v in range(NV):
            lines.append(I + f"        UnsafeMutableRawPointer(y + first).storeBytes(of: t{p_i}{v}, toByteOffset: {v * L * 4}, as: {V}.self)")
        lines.append(I + "    } else {")
        lines.append(I + "        for i in 0..<(rows - first) {")
        if NV == 1:
            lines.append(I + f"            y[first + i] = t{p_i}0[i]")
        else:
            lines.append(I + f"            y[first + i] = i < {L} ? t{p_i}0[i] : t{p_i}1[i - {L}]")
        lines.append(I + "        }")
        lines.append(I + "    }")
        lines.append(I + "}")
        return lines

    for dtype in ("F32", "BF16"):
        elem = "Float" if dtype == "F32" else "UInt16"
        row_bytes = MR * (4 if dtype == "F32" else 2)
        args = f"_ a: UnsafePointer<{elem}>, _ rows: Int, _ cols: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>"
        w(f"/// W (panels of {MR} rows, {'f32' if dtype == 'F32' else 'bf16'}) · x [cols] -> y [rows]: x[k] broadcast against a panel")
        w("/// row, two k per pass (independent chains), no horizontal sums; two panels at a time, so two")
        w(f"/// sequential streams are in flight (more memory-level parallelism). Partial sums over blocks of")
        w(f"/// {MATVEC_KBLOCK} k keep the rounding of a blocked sum.")
        w("@inline(never)")
        w(f"{pub}func matVecPacked{dtype}{S}({args}) {{")
        w(f"    matVecPacked{dtype}Body{S}(a, rows, cols, x, y, streaming: false, single: false)")
        w("}")
        w("")
        w(f"/// matVecPacked{dtype}{S} for a matrix streamed from memory, one panel at a time with only the")
        w("/// L1 prefetch: one sequential stream (AMD Zen 5 reads one stream faster than two with the far")
        w("/// L2 prefetch: KernelSet `singleStream`). The same sums, so the same bits.")
        w("@inline(never)")
        w(f"{pub}func matVecPacked{dtype}SingleStream{S}({args}) {{")
        w(f"    matVecPacked{dtype}Body{S}(a, rows, cols, x, y, streaming: false, single: true)")
        w("}")
        w("")
        w(f"/// matVecPacked{dtype}{S} for a matrix streamed from memory: each panel stream also prefetched")
        w(f"/// {MATVEC_L2_PREFETCH_BYTES} bytes ahead into L2. The same sums, so the same bits. (For a matrix in")
        w("/// cache the extra prefetches only take load slots: the 0.5 M-parameter model's f32 step -7-11%.)")
        w("@inline(never)")
        w(f"{pub}func matVecPacked{dtype}Streaming{S}({args}) {{")
        w(f"    matVecPacked{dtype}Body{S}(a, rows, cols, x, y, streaming: true, single: false)")
        w("}")
        w("")
        w("/// The three above, `streaming` and `single` constants in each (inlined, so each gets its own loop).")
        w("@inline(__always)")
        w(f"func matVecPacked{dtype}Body{S}({args}, streaming: Bool, single: Bool) {{")
        w(f"    let panels = (rows + {MR - 1}) / {MR}")
        w(f"    let panelBytes = cols * {row_bytes}")
        w("    var panel = 0")
        w("    while !single && panel + 2 <= panels {")
        w("        var pa = UnsafeRawPointer(a) + panel * panelBytes, pb = pa + panelBytes")
        for line in panel_body(dtype, row_bytes, ["pa", "pb"], 8):
            w(line)
        for line in store(0, f"panel * {MR}", 8) + store(1, f"panel * {MR} + {MR}", 8):
            w(line)
        w("        panel += 2")
        w("    }")
        w("    while panel < panels {")
        w("        var pa = UnsafeRawPointer(a) + panel * panelBytes")
        for line in panel_body(dtype, row_bytes, ["pa"], 8):
            w(line)
        for line in store(0, f"panel * {MR}", 8):
            w(line)
        w("        panel += 1")
        w("    }")
        w("}")
        w("")

    def emit_put():
        """A micro-kernel's store of one accumulator to C at a byte offset: C = acc, or C + acc
        when accumulating (the K block's sum added to the blocks before it)."""
        w("    let out = UnsafeMutableRawPointer(c)")
        w(f"    @inline(__always) func put(_ value: {V}, _ offset: Int) {{")
        w(f"        let v = accumulate ? value + out.loadUnaligned(fromByteOffset: offset, as: {V}.self) : value")
        w(f"        out.storeBytes(of: v, toByteOffset: offset, as: {V}.self)")
        w("    }")

    # --- micro-kernels (the wide one, then the narrow one of the same loop) ---
    for dtype, (name, nr) in [(d, k) for k in (("", NR), ("Narrow", c["nnr"])) for d in ("F32", "BF16")] + [("BF16", ("Widening", NR))]:
        elem = "Float" if dtype == "F32" else "UInt16"
        row_bytes = MR * (4 if dtype == "F32" else 2)
        widening = name == "Widening"
        w(f"/// The GEMM micro-kernel ({MR} × {nr}, {NV * nr} accumulator registers): C [{nr} tokens][{MR} rows] (+)= A · B over")
        w(f"/// k in 0..<kc, a = a panel at its k-th row ([kc][{MR}], {'f32' if dtype == 'F32' else 'bf16, widened in registers'}),")
        w(f"/// b packed [kc][{nr}] (tokens of X), c[j·ldc + i] = row i of token j. The only code of the GEMM that multiplies.")
        w(f"/// Meanwhile it prefetches into L2 the kc · {row_bytes} bytes at `next` (the A block the caller runs next, or")
        w("/// `a` when that is this one), as many lines per k as an A row spans (at least one): the weights")
        w("/// stream from memory while the FMAs run, instead of stalling them block by block.")
        if widening:
            w(f"/// This variant also stores the widened rows to `widened` ([kc][{MR}] f32, the f32 micro-kernels' panel")
            w("/// layout), so the block's other token slivers run the f32 kernels on them instead of widening A again:")
            w(f"/// {NV} integer operations per k and sliver on the FMA ports become {NV} stores per k, once.")
        w("@inline(never)")
        w(f"{pub}func gemmMicroKernel{name}{dtype}{S}(_ kc: Int, _ a: UnsafePointer<{elem}>, _ b: UnsafePointer<Float>,")
        w(f"                             _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool, _ next: UnsafeRawPointer"
          + (", _ widened: UnsafeMutablePointer<Float>) {" if widening else ") {"))
        for j in range(nr):
            w("    var " + ", ".join(f"c{j}_{v} = {V}()" for v in range(NV)))
        w("    var pa = UnsafeRawPointer(a), pb = b, pn = next" + (", pw = UnsafeMutableRawPointer(widened)" if widening else ""))
        c_lines = max(1, MR * 4 // 64)
        w(f"    if accumulate {{   // the C tile's {nr} rows, read at the end: L3 → L1 while the FMAs run")
        w("        let pc = UnsafeRawPointer(c)")
        w(f"        for j in 0..<{nr} {{ " + "; ".join(f"xlstm_prefetch(pc + j * ldc * 4{'' if l == 0 else f' + {64 * l}'})" for l in range(c_lines)) + " }")
        w("    }")
        w("    for _ in 0..<kc {")
        w("        " + "; ".join(f"xlstm_prefetch_l2(pn{'' if l == 0 else f' + {64 * l}'})" for l in range(max(1, row_bytes // 64))) + f"; pn += {row_bytes}")
        if dtype == "F32":
            w("        " + "; ".join(f"let a{v} = pa.loadUnaligned(fromByteOffset: {v * L * 4}, as: {V}.self)" for v in range(NV)))
        else:
            for line in widen_row("pa", 0, [f"a{v}" for v in range(max(NV, 2))]):
                w("        " + line)
        for j in range(nr):
            w(f"        let b{j} = {V}(repeating: pb[{j}]); " + "; ".join(madd(f"c{j}_{v}", f"a{v}", f"b{j}") for v in range(NV)))
        if widening:   # after the FMAs: stored before them, the compiler kept b's broadcasts behind the stores and spilled
            w("        " + "; ".join(f"pw.storeBytes(of: a{v}, toByteOffset: {v * L * 4}, as: {V}.self)" for v in range(NV))
              + f"; pw += {MR * 4}")
        w(f"        pa += {row_bytes}; pb += {nr}")
        w("    }")
        emit_put()
        for j in range(nr):
            w("    " + "; ".join(f"put(c{j}_{v}, ({j} * ldc + {v * L}) * 4)" for v in range(NV)))
        w("}")
        w("")

    # --- the few-token micro-kernels: batches of one to three sessions, P panels side by side ---
    for T, tname in ((1, "Single"), (2, "Pair"), (3, "Triple")):
        # Panels per call: at least 8 independent chains (FMA latency × ports), no more than the
        # registers hold beside one panel row and the T broadcasts, counted in vectors of the path
        # (AVX-512 32, AVX2 16: one panel for three tokens; portable 16 SIMD8 = NEON's 32 q registers).
        regs = 32 if isa == "avx512" else 16
        P = -(-8 // (NV * T))
        while P > 1 and P * NV * T + NV + T > regs:
            P -= 1
        what = {1: "one token", 2: "two tokens", 3: "three tokens"}[T]
        w(f"/// Panels of the {what} micro-kernel ({P} × {MR} rows: {P * NV * T} independent chains).")
        w(f"{pub}let micro{tname}Panels{S} = {P}")
        w("")
        for dtype in ("F32", "BF16"):
            elem = "Float" if dtype == "F32" else "UInt16"
            row_bytes = MR * (4 if dtype == "F32" else 2)
            w(f"/// The GEMM micro-kernel for {what} over {P} panels ({P * MR} rows, {P * NV * T} accumulator registers):")
            w(f"/// C [{T} token{'s' if T > 1 else ''}][{P * MR} rows] (+)= Σ_k A_p[k] · B[k] for the panels p at a, a + panelStride, … ([kc][{MR}] each,")
            w(f"/// {'f32' if dtype == 'F32' else 'bf16, widened in registers'}), token j's kc values at b + j·ldb (unpacked), c[j·ldc + i] = row i of token j.")
            w("/// Each element is the chain of the narrow micro-kernel (k in order, one FMA each, the block's")
            passes = -(-T // c['nnr'])
            w(f"/// sum added to C), so the same bits. Through the narrow kernel ({c['nnr']} token{'s' if c['nnr'] > 1 else ''} a pass) a batch of {T} made")
            w(f"/// {passes} pass{'es' if passes > 1 else ''} over A of {NV * c['nnr']} chain{'s' if NV * c['nnr'] > 1 else ''} per k, {NV * T} of {passes * NV * c['nnr']} useful; here one pass of {P * NV * T}.")
            w(f"/// No software prefetch: with each panel's next K block prefetched into L2 (as the other kernels")
            w(f"/// do for their one stream) the {P} streams read slower (162 M model, batches of one and two,")
            w("/// Zen 4: 0.87–1.0× of the hardware prefetcher alone).")
            w("@inline(never)")
            w(f"{pub}func gemmMicroKernel{tname}{dtype}{S}(_ kc: Int, _ a: UnsafePointer<{elem}>, _ panelStride: Int, _ b: UnsafePointer<Float>,")
            w(f"                             _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {{")
            for j in range(T):
                for p in range(P):
                    w("    var " + ", ".join(f"c{j}{p}_{v} = {V}()" for v in range(NV)))
            if P > 1:
                w(f"    let stride = panelStride * {4 if dtype == 'F32' else 2}")
            w("    var pa = UnsafeRawPointer(a)" + "".join(f", pb{j} = b + {j} * ldb" for j in range(1, T)))
            w("    for k in 0..<kc {")
            w("        " + "; ".join(f"let b{j} = {V}(repeating: {'b' if j == 0 else f'pb{j}'}[k])" for j in range(T)))
            for p in range(P):
                pp = "pa" if p == 0 else f"(pa + {p} * stride)"
                fmas = "; ".join(madd(f"c{j}{p}_{v}", f"a{v}", f"b{j}") for j in range(T) for v in range(NV))
                if dtype == "F32":
                    w("        do { " + "; ".join(f"let a{v} = {pp}.loadUnaligned(fromByteOffset: {v * L * 4}, as: {V}.self)" for v in range(NV))
                      + "; " + fmas + " }")
                else:
                    w("        do {")
                    for line in widen_row(pp, 0, [f"a{v}" for v in range(max(NV, 2))]):
                        w("            " + line)
                    w("            " + fmas)
                    w("        }")
            w(f"        pa += {row_bytes}")
            w("    }")
            emit_put()
            for j in range(T):
                for p in range(P):
                    w("    " + "; ".join(f"put(c{j}{p}_{v}, {'' if j == 0 else 'ldc * 4 + ' if j == 1 else f'{j} * ldc * 4 + '}{(p * MR + v * L) * 4})" for v in range(NV)))
            w("}")
            w("")

    # --- block-quantized panels (q8_0 / q4_0: Sources/XLSTM/Quant/QuantPanels.swift) ---
    for line in quantized_kernels(c, madd, store):
        w(line)

    # --- mLSTM cell state update (step mode) ---
    w("/// One mLSTM step's state update and readout for one head (the covariance update of the paper,")
    w("/// eq. 19-21 of Beck et al. 2024, in the stabilised form of mlstm_kernels' native step):")
    w("///   C [qkDim, vDim] <- forget·C + (inputScale·k) vᵀ,  n [qkDim] <- forget·n + inputScale·k,")
    w("///   h [vDim] = Σ_r (queryScale·q[r]) C[r],  returns Σ_r (queryScale·q[r]) n[r].")
    w(f"/// Column blocks of up to {(8 if L >= 16 else 4) * L} (a whole row of C for the usual head widths) keep v and h in")
    w("/// registers while every row of C passes once; each element's chain is the same whatever the block.")
    w("/// (A head width of 96 used to run as a 64-wide pass and two 16-wide passes, the latter bound by")
    w("/// the latency of their single h chain; one pass over whole rows runs at the FMA/load rate.)")
    w("@inline(never)")
    w(f"{pub}func mLSTMCellUpdate{S}(_ c: UnsafeMutablePointer<Float>, _ n: UnsafeMutablePointer<Float>,")
    w(f"                            _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,")
    w(f"                            _ h: UnsafeMutablePointer<Float>, _ qkDim: Int, _ vDim: Int,")
    w(f"                            _ forget: Float, _ inputScale: Float, _ queryScale: Float) -> Float {{")
    w(f"    let f = {V}(repeating: forget)")
    w("    let vr = UnsafeRawPointer(v), hr = UnsafeMutableRawPointer(h)")
    w("    var j = 0")
    def block(nv, cond, indent="    "):
        w(f"{indent}{cond} {{")
        w(indent + "    " + "; ".join(f"let v{u} = vr.loadUnaligned(fromByteOffset: (j + {u * L}) * 4, as: {V}.self)" for u in range(nv)))
        w(indent + "    " + "; ".join(f"var h{u} = {V}()" for u in range(nv)))
        w(f"{indent}    for r in 0..<qkDim {{")
        w(f"{indent}        let row = UnsafeMutableRawPointer(c + r * vDim + j)")
        w(f"{indent}        let kr = {V}(repeating: inputScale * k[r]), qr = {V}(repeating: queryScale * q[r])")
        for u in range(nv):
            w(f"{indent}        var u{u} = f * row.loadUnaligned(fromByteOffset: {u * L * 4}, as: {V}.self); {madd(f'u{u}', 'kr', f'v{u}')}")
            w(f"{indent}        row.storeBytes(of: u{u}, toByteOffset: {u * L * 4}, as: {V}.self); {madd(f'h{u}', 'qr', f'u{u}')}")
        w(f"{indent}    }}")
        w(indent + "    " + "; ".join(f"hr.storeBytes(of: h{u}, toByteOffset: (j + {u * L}) * 4, as: {V}.self)" for u in range(nv)))
        w(f"{indent}    j += {nv * L}")
        w(f"{indent}}}")
    widest = 8 if L >= 16 else 4   # v, h and u of a block in registers: 3·8 + 3 of 32 zmm, 3·4 + 3 of 16 ymm
    block(widest, f"while j + {widest * L} <= vDim")
    w(f"    switch (vDim - j) / {L} {{")
    for nv in range(widest - 1, 0, -1):
        w(f"    case {nv}:")
        w("        do {")
        # reuse block body without loop condition
        w("            " + "; ".join(f"let v{u} = vr.loadUnaligned(fromByteOffset: (j + {u * L}) * 4, as: {V}.self)" for u in range(nv)))
        w("            " + "; ".join(f"var h{u} = {V}()" for u in range(nv)))
        w("            for r in 0..<qkDim {")
        w("                let row = UnsafeMutableRawPointer(c + r * vDim + j)")
        w(f"                let kr = {V}(repeating: inputScale * k[r]), qr = {V}(repeating: queryScale * q[r])")
        for u in range(nv):
            w(f"                var u{u} = f * row.loadUnaligned(fromByteOffset: {u * L * 4}, as: {V}.self); {madd(f'u{u}', 'kr', f'v{u}')}")
            w(f"                row.storeBytes(of: u{u}, toByteOffset: {u * L * 4}, as: {V}.self); {madd(f'h{u}', 'qr', f'u{u}')}")
        w("            }")
        w("            " + "; ".join(f"hr.storeBytes(of: h{u}, toByteOffset: (j + {u * L}) * 4, as: {V}.self)" for u in range(nv)))
        w(f"            j += {nv * L}")
        w("        }")
    w("    default: break")
    w("    }")
    w("    while j < vDim {")
    w("        var sum: Float = 0")
    w("        for r in 0..<qkDim {")
    w("            let updated = forget * c[r * vDim + j] + inputScale * k[r] * v[j]")
    w("            c[r * vDim + j] = updated")
    w("            sum += queryScale * q[r] * updated")
    w("        }")
    w("        h[j] = sum")
    w("        j += 1")
    w("    }")
    w("    var qn: Float = 0")
    w("    for r in 0..<qkDim {")
    w("        let nr = forget * n[r] + inputScale * k[r]")
    w("        n[r] = nr")
    w("        qn += queryScale * q[r] * nr")
    w("    }")
    w("    return qn")
    w("}")
    w("")

    # --- row combination and dot product (the chunkwise mLSTM cell) ---
    w("/// out [cols] (+)= Σ_i weights[i] · rows[i·rowStride ..< i·rowStride + cols]: a vector–matrix product")
    w(f"/// over `count` strided rows. Column blocks of {4 * L} keep `out` in registers while every row passes.")
    w("@inline(never)")
    w(f"{pub}func combineRows{S}(_ weights: UnsafePointer<Float>, _ count: Int, _ rows: UnsafePointer<Float>,")
    w(f"                        _ rowStride: Int, _ cols: Int, _ out: UnsafeMutablePointer<Float>, _ accumulate: Bool) {{")
    w("    let o = UnsafeMutableRawPointer(out)")
    w("    var j = 0")
    w(f"    while j + {4 * L} <= cols {{")
    w(f"        var y0 = {V}(), y1 = {V}(), y2 = {V}(), y3 = {V}()")
    w("        if accumulate {")
    w("            " + "; ".join(f"y{u} = o.loadUnaligned(fromByteOffset: (j + {u * L}) * 4, as: {V}.self)" for u in range(4)))
    w("        }")
    w("        for i in 0..<count {")
    w("            let r = UnsafeRawPointer(rows + i * rowStride + j)")
    w(f"            let a = {V}(repeating: weights[i])")
    w("            " + "; ".join(madd(f"y{u}", "a", f"r.loadUnaligned(fromByteOffset: {u * L * 4}, as: {V}.self)") for u in range(2)))
    w("            " + "; ".join(madd(f"y{u}", "a", f"r.loadUnaligned(fromByteOffset: {u * L * 4}, as: {V}.self)") for u in range(2, 4)))
    w("        }")
    w("        " + "; ".join(f"o.storeBytes(of: y{u}, toByteOffset: (j + {u * L}) * 4, as: {V}.self)" for u in range(4)))
    w(f"        j += {4 * L}")
    w("    }")
    w(f"    while j + {L} <= cols {{")
    w(f"        var y0 = accumulate ? o.loadUnaligned(fromByteOffset: j * 4, as: {V}.self) : {V}()")
    w("        for i in 0..<count {")
    w(f"            {madd('y0', f'{V}(repeating: weights[i])', f'UnsafeRawPointer(rows + i * rowStride + j).loadUnaligned(as: {V}.self)')}")
    w("        }")
    w(f"        o.storeBytes(of: y0, toByteOffset: j * 4, as: {V}.self)")
    w(f"        j += {L}")
    w("    }")
    w("    while j < cols {")
    w("        var sum: Float = accumulate ? out[j] : 0")
    w("        for i in 0..<count { sum += weights[i] * rows[i * rowStride + j] }")
    w("        out[j] = sum")
    w("        j += 1")
    w("    }")
    w("}")
    w("")
    w("/// `combineRows` for four outputs at once: out + k·outStride (+)= Σ_i weights[k·weightStride + i] · row_i")
    w("/// for k in 0..<4. Each row is loaded once for all four (the chunkwise cell's passes over C and V:")
    w("/// one output at a time they were bound by L2 and by four FMA chains), eight chains in flight;")
    w("/// every output sums its rows in the same order and the same way as `combineRows` (the same bits).")
    w("@inline(never)")
    w(f"{pub}func combineRowsFour{S}(_ weights: UnsafePointer<Float>, _ weightStride: Int, _ count: Int,")
    w(f"                            _ rows: UnsafePointer<Float>, _ rowStride: Int, _ cols: Int,")
    w(f"                            _ out: UnsafeMutablePointer<Float>, _ outStride: Int, _ accumulate: Bool) {{")
    w("    let o = UnsafeMutableRawPointer(out)")
    w("    let w0 = weights, w1 = weights + weightStride, w2 = w1 + weightStride, w3 = w2 + weightStride")
    w("    var j = 0")
    w(f"    while j + {2 * L} <= cols {{")
    w(f"        var a0 = {V}(), a1 = {V}(), b0 = {V}(), b1 = {V}(), c0 = {V}(), c1 = {V}(), d0 = {V}(), d1 = {V}()")
    w("        if accumulate {")
    for k, name in enumerate("abcd"):
        w(f"            {name}0 = o.loadUnaligned(fromByteOffset: ({k} * outStride + j) * 4, as: {V}.self); "
          f"{name}1 = o.loadUnaligned(fromByteOffset: ({k} * outStride + j + {L}) * 4, as: {V}.self)")
    w("        }")
    w("        for i in 0..<count {")
    w("            let r = UnsafeRawPointer(rows + i * rowStride + j)")
    w(f"            let r0 = r.loadUnaligned(as: {V}.self), r1 = r.loadUnaligned(fromByteOffset: {L * 4}, as: {V}.self)")
    for k, name in enumerate("abcd"):
        w(f"            let x{k} = {V}(repeating: w{k}[i]); {madd(name + '0', 'x' + str(k), 'r0')}; {madd(name + '1', 'x' + str(k), 'r1')}")
    w("        }")
    for k, name in enumerate("abcd"):
        w(f"        o.storeBytes(of: {name}0, toByteOffset: ({k} * outStride + j) * 4, as: {V}.self); "
          f"o.storeBytes(of: {name}1, toByteOffset: ({k} * outStride + j + {L}) * 4, as: {V}.self)")
    w(f"        j += {2 * L}")
    w("    }")
    w(f"    if j + {L} <= cols {{")
    w(f"        var a0 = {V}(), b0 = {V}(), c0 = {V}(), d0 = {V}()")
    w("        if accumulate {")
    for k, name in enumerate("abcd"):
        w(f"            {name}0 = o.loadUnaligned(fromByteOffset: ({k} * outStride + j) * 4, as: {V}.self)")
    w("        }")
    w("        for i in 0..<count {")
    w(f"            let r0 = UnsafeRawPointer(rows + i * rowStride + j).loadUnaligned(as: {V}.self)")
    for k, name in enumerate("abcd"):
        w(f"            {madd(name + '0', f'{V}(repeating: w{k}[i])', 'r0')}")
    w("        }")
    for k, name in enumerate("abcd"):
        w(f"        o.storeBytes(of: {name}0, toByteOffset: ({k} * outStride + j) * 4, as: {V}.self)")
    w(f"        j += {L}")
    w("    }")
    w("    while j < cols {")
    w("        for k in 0..<4 {")
    w("            let weight = weights + k * weightStride")
    w("            var sum: Float = accumulate ? out[k * outStride + j] : 0")
    w("            for i in 0..<count { sum += weight[i] * rows[i * rowStride + j] }")
    w("            out[k * outStride + j] = sum")
    w("        }")
    w("        j += 1")
    w("    }")
    w("}")
    w("")
    w("/// a [n] · b [n] -> scalar, two chains.")
    w("@inline(never)")
    w(f"{pub}func dot{S}(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {{")
    w(f"    var s0 = {V}(), s1 = {V}()")
    w("    let ar = UnsafeRawPointer(a), br = UnsafeRawPointer(b)")
    w("    var i = 0")
    w(f"    while i + {2 * L} <= n {{")
    w(f"        {madd('s0', f'ar.loadUnaligned(fromByteOffset: i * 4, as: {V}.self)', f'br.loadUnaligned(fromByteOffset: i * 4, as: {V}.self)')}")
    w(f"        {madd('s1', f'ar.loadUnaligned(fromByteOffset: (i + {L}) * 4, as: {V}.self)', f'br.loadUnaligned(fromByteOffset: (i + {L}) * 4, as: {V}.self)')}")
    w(f"        i += {2 * L}")
    w("    }")
    w(f"    if i + {L} <= n {{")
    w(f"        {madd('s0', f'ar.loadUnaligned(fromByteOffset: i * 4, as: {V}.self)', f'br.loadUnaligned(fromByteOffset: i * 4, as: {V}.self)')}")
    w(f"        i += {L}")
    w("    }")
    w("    var sum = horizontalSum(s0 + s1)")
    w("    while i < n { sum += a[i] * b[i]; i += 1 }")
    w("    return sum")
    w("}")
    w("")

    # --- peak loop ---
    # --- the 7B family's gates: silu(gate) · up and h · σ(o), exp of the path's width ---
    I32 = f"SIMD{L}<Int32>"
    def const(value): return f"{V}(repeating: {value})"
    w(f"/// e^x for {L} lanes: Pointwise.swift's exp8 (Cephes' expf: n = round(x·log₂e), r = x − n·ln 2 in two")
    w("/// parts, a degree-6 polynomial, ·2ⁿ through the exponent bits) at this path's width, its multiply-adds")
    w("/// fused where the path has FMA. Clamped to [−87.3, 88.7] (callers divide by 1 + e^x).")
    w("@inline(__always)")
    w(f"func expLanes{S}(_ input: {V}) -> {V} {{")
    w(f"    let low = {const(-87.3)}, high = {const(88.7)}")
    w("    let x = input.replacing(with: low, where: input .< low).replacing(with: high, where: input .> high)")
    w(f"    let magic = {const('12_582_912')}")
    w(f"    var shifted = magic; {madd('shifted', 'x', const('1.44269504088896341'))}")
    w("    let n = shifted - magic")
    w(f"    var r = x; {madd('r', 'n', const(-0.693359375))}; {madd('r', 'n', const('2.12194440e-4'))}")
    w(f"    var p = {const('1.9875691500e-4')}")
    for k in ["1.3981999507e-3", "8.3334519073e-3", "4.1665795894e-2", "1.6666665459e-1", "5.0000001201e-1"]:
        w(f"    do {{ var q = {const(k)}; {madd('q', 'p', 'r')}; p = q }}")
    w(f"    var y = r; {madd('y', 'p', 'r * r')}; y += 1")
    w(f"    let integer = unsafeBitCast(shifted, to: {I32}.self) &- 0x4B40_0000")
    w(f"    return y * unsafeBitCast((integer &+ 127) &<< 23, to: {V}.self)")
    w("}")
    w("")
    def lanewise(name, params, doc, setup, operands, formula):
        """An elementwise kernel over x [n], in place: {L} lanes at a time, the tail through one padded
        vector, so every element's bits are the same wherever it lies. operands: (vector, array, raw
        pointer), x first; setup: statements before the loop; formula: the new x from the vectors."""
        for line in doc:
            w(line)
        w("@inline(never)")
        w(f"{pub}func {name}{S}({params}) {{")
        w("    let " + ", ".join(f"{raw} = {'UnsafeMutableRawPointer' if k == 0 else 'UnsafeRawPointer'}({arr})"
                          for k, (_, arr, raw) in enumerate(operands)))
        for line in setup:
            w("    " + line)
        w("    var i = 0")
        w(f"    while i + {L} <= n {{")
        w("        let " + ", ".join(f"{v} = {raw}.loadUnaligned(fromByteOffset: i * 4, as: {V}.self)" for v, _, raw in operands))
        w(f"        xr.storeBytes(of: {formula}, toByteOffset: i * 4, as: {V}.self)")
        w(f"        i += {L}")
        w("    }")
        w("    if i < n {")
        w("        var " + ", ".join(f"{v} = {V}()" for v, _, _ in operands))
        w("        for k in 0..<(n - i) { " + "; ".join(f"{v}[k] = {arr}[i + k]" for v, arr, _ in operands) + " }")
        w(f"        let result = {formula}")
        w("        for k in 0..<(n - i) { x[i + k] = result[k] }")
        w("    }")
        w("}")
        w("")

    w(f"/// erf(x) for {L} lanes: the rational approximation of Eigen's and XLA's float erf (x clamped to [−4, 4],")
    w("/// x·P(x²) / Q(x²), P of degree 6 and Q of degree 4 in x²), multiply-adds fused where the path has FMA;")
    w("/// absolute error ≤ 4.2e-7 against the double erf over the whole line (at the clamp erf is 1 to float precision).")
    w("@inline(__always)")
    w(f"func erfLanes{S}(_ input: {V}) -> {V} {{")
    w(f"    let four = {const(4)}, minusFour = {const(-4)}")
    w("    let x = input.replacing(with: minusFour, where: input .< minusFour).replacing(with: four, where: input .> four)")
    w("    let x2 = x * x")
    w(f"    var p = {const('-2.72614225801306e-10')}")
    for k in ["2.77068142495902e-08", "-2.10102402082508e-06", "-5.69250639462346e-05", "-7.34990630326855e-04",
              "-2.95459980854025e-03", "-1.60960333262415e-02"]:
        w(f"    do {{ var t = {const(k)}; {madd('t', 'p', 'x2')}; p = t }}")
    w(f"    var q = {const('-1.45660718464996e-05')}")
    for k in ["-2.13374055278905e-04", "-1.68282697438203e-03", "-7.37332916720468e-03", "-1.42647390514189e-02"]:
        w(f"    do {{ var t = {const(k)}; {madd('t', 'q', 'x2')}; q = t }}")
    w("    return x * p / q")
    w("}")
    w("")

    lanewise("silu", "_ x: UnsafeMutablePointer<Float>, _ n: Int",
             [f"/// x [n] ← silu(x) = x / (1 + e^−x) (the paper blocks' convolution output), {L} lanes at a time through",
              f"/// `expLanes{S}`; the tail through one padded vector."],
             [], [("v", "x", "xr")], f"v / (1 + expLanes{S}(-v))")
    lanewise("skipSiluGate", "_ x: UnsafeMutablePointer<Float>, _ skip: UnsafePointer<Float>, _ c: UnsafePointer<Float>, "
             "_ gate: UnsafePointer<Float>, _ n: Int",
             [f"/// x [n] ← (x + skip ⊙ c) ⊙ silu(gate) (the paper mLSTM block's output gate), {L} lanes at a time; the tail",
              "/// through one padded vector."],
             [], [("v", "x", "xr"), ("s", "skip", "sr"), ("u", "c", "cr"), ("g", "gate", "gr")],
             f"(v + s * u) * (g / (1 + expLanes{S}(-g)))")
    lanewise("geluProduct", "_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int",
             [f"/// x [n] ← gelu(x) ⊙ y with the exact (erf) GELU, 0.5 · x · (1 + erf(x / √2)) (the paper family's gated",
              f"/// feed-forward), {L} lanes at a time through `erfLanes{S}`; the tail through one padded vector."],
             [f"let half = {const(0.5)}, invSqrt2 = {const('0.70710678118654752440')}"],
             [("v", "x", "xr"), ("u", "y", "yr")], f"half * v * (1 + erfLanes{S}(v * invSqrt2)) * u")

    for name, doc, formula in [
        ("siluProduct", "x [n] ← silu(x) ⊙ y (the FFN's gate times its up-projection)", f"v / (1 + expLanes{S}(-v)) * u"),
        ("multiplyBySigmoid", "x [n] ← x ⊙ σ(y) (the mLSTM's output gate)", f"v / (1 + expLanes{S}(-u))"),
    ]:
        lanewise(name, "_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int",
                 [f"/// {doc}, {L} lanes at a time through `expLanes{S}`; the tail through one padded vector."],
                 [], [("v", "x", "xr"), ("u", "y", "yr")], formula)

    lanewise("softCap", "_ x: UnsafeMutablePointer<Float>, _ n: Int, _ cap: Float", [
        f"/// x [n] ← cap · tanh(x / cap) (the 7B family's logit soft cap), as (e − 1) / (e + 1) with e = e^(2x / cap),",
        f"/// {L} lanes at a time through `expLanes{S}`; the tail through one padded vector, so every element's bits",
        "/// are the same wherever it lies. Near x = 0 the rounding of e leaves an absolute error of a few 1e-7 · cap,",
        "/// far below the reference tolerance; |x| large gives ±cap (the clamped range), NaN stays NaN. (libm's",
        "/// tanhf was ~5% of a quantized model's step; SIMD8 on the baseline ISA ~3% of a 16-session batch.)"],
        [f"let twoOverCap = {V}(repeating: 2 / cap), c = {V}(repeating: cap)",
         f"@inline(__always) func capped(_ v: {V}) -> {V} {{ let e = expLanes{S}(v * twoOverCap); return c * ((e - 1) / (e + 1)) }}"],
        [("v", "x", "xr")], "capped(v)")

    w(f"/// The peak-rate loop of this ISA for the benchmark: 12 independent {L}-wide {'FMA' if c['fma'] else 'multiply-add'} chains in")
    w("/// registers. Returns a value that depends on every chain (so nothing is optimised away).")
    w("@inline(never)")
    w(f"{pub}func fmaChains{S}(_ iterations: Int) -> Float {{")
    w(f"    let m = {V}(repeating: 0.999_999), b = {V}(repeating: 1e-7)")
    w(f"    var a0 = {V}(repeating: 1), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5")
    w("    var a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11")
    w("    for _ in 0..<iterations {")
    if c["fma"]:
        for chunk in ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11)):
            w("        " + "; ".join(f"a{i} = b.addingProduct(a{i}, m)" for i in chunk))
    else:
        for chunk in ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11)):
            w("        " + "; ".join(f"a{i} = multipliedAdding(a{i}, m, b)" for i in chunk))
    w("    }")
    w("    return horizontalSum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11)")
    w("}")
    w("")

    # --- stream-read loop ---
    per_line = 64 // (4 * L)   # vectors per 64-byte cache line
    w(f"/// The read-bandwidth loop of this ISA for the benchmark: `bytes` at `p` read as 8 independent")
    w(f"/// sequential streams (one per eighth), each one 64-byte line per iteration in {L}-wide loads")
    w("/// summed into its own accumulator — more streams than a matvec's panel walk, so the prefetchers")
    w("/// and the line-fill buffers are the limit, not the loop. With `prefetchL2` each stream also")
    w(f"/// prefetches {MATVEC_L2_PREFETCH_BYTES} bytes ahead into L2, as the streaming kernels do (so that the ceiling is never")
    w("/// lower than what they reach). Returns the sum (so nothing is optimised away).")
    w("@inline(never)")
    w(f"{pub}func streamRead{S}(_ p: UnsafeRawPointer, _ bytes: Int, _ prefetchL2: Bool) -> Float {{")
    w("    let part = bytes / 8 & ~63")
    w("    let q0 = p, q1 = p + part, q2 = q1 + part, q3 = q2 + part, q4 = q3 + part, q5 = q4 + part, q6 = q5 + part, q7 = q6 + part")
    w(f"    var a0 = {V}(), a1 = {V}(), a2 = {V}(), a3 = {V}(), a4 = {V}(), a5 = {V}(), a6 = {V}(), a7 = {V}()")
    w("    var i = 0")
    w("    while i < part {")
    w("        if prefetchL2 { " + "; ".join(f"xlstm_prefetch_l2(q{q} + i + {MATVEC_L2_PREFETCH_BYTES})" for q in range(8)) + " }")
    for q in range(8):
        loads = " + ".join(f"q{q}.loadUnaligned(fromByteOffset: i{'' if v == 0 else f' + {16 * L // 4 * v}'}, as: {V}.self)"
                           for v in range(per_line))
        w(f"        a{q} += {loads}")
    w("        i += 64")
    w("    }")
    w("    return horizontalSum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7)")
    w("}")
    if isa == "portable":
        w("")
        w("/// acc += a · b: one fused multiply-add on arm64 (NEON), a multiply and an add on baseline x86-64,")
        w("/// which has no FMA (`addProduct` would become a software fmaf call per lane, ~10× slower).")
        w("@inline(__always)")
        w(f"func multiplyAdd(_ acc: inout {V}, _ a: {V}, _ b: {V}) {{")
        w("#if arch(arm64)")
        w("    acc.addProduct(a, b)")
        w("#else")
        w("    acc = acc + a * b")
        w("#endif")
        w("}")
        w("")
        w("/// a · m + b through `multiplyAdd`.")
        w("@inline(__always)")
        w(f"func multipliedAdding(_ a: {V}, _ m: {V}, _ b: {V}) -> {V} {{")
        w("    var acc = b")
        w("    multiplyAdd(&acc, a, m)")
        w("    return acc")
        w("}")
    else:
        w("")
        w("#endif")
    return "\n".join(out) + "\n"


def main():
    check = "--check" in sys.argv
    stale = []
    for isa, c in ISAS.items():
        text = generate(isa)
        if check:
            try:
                current = open(c["path"]).read()
            except FileNotFoundError:
                current = None
            if current != text:
                stale.append(c["path"])
        else:
            os.makedirs(os.path.dirname(c["path"]), exist_ok=True)
            with open(c["path"], "w") as f:
                f.write(text)
    if stale:
        print("kernel-gen: stale (run make kernels): " + ", ".join(stale), file=sys.stderr)
        sys.exit(1)
    print("kernel-gen: " + ("up to date" if check else "written") + ": " + ", ".join(c["path"] for c in ISAS.values()))


if __name__ == "__main__":
    main()
