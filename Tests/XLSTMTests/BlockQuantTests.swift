// The binary16 rounding the block formats store their scales in, against numpy's
// float32 → float16 cast (values from `numpy.astype(np.float16)`, round to nearest even).

import Testing
import XLSTM

@Suite struct BlockQuantTests {
    /// (float32 bits, float16 bits) as numpy 2.4.6 casts them: zeros, ties, overflow,
    /// subnormals at and around 2^-25, random magnitudes 1e-7 … 1e4.
    static let numpyCasts: [(UInt32, UInt16)] = [
        (0x00000000, 0x0000), (0x80000000, 0x8000), (0x3F800000, 0x3C00), (0xC0200000, 0xC100),
        (0x477FE000, 0x7BFF), (0x477FF000, 0x7C00), (0x477FEFFD, 0x7BFF), (0x49742400, 0x7C00),
        (0xC9742400, 0xFC00), (0x387FDA40, 0x03FF), (0x337FFAE5, 0x0001), (0x32FFFAE5, 0x0000),
        (0x33006B66, 0x0001), (0x3089705F, 0x0000), (0x37FBA882, 0x01F7), (0x3F802000, 0x3C01),
        (0x3F801000, 0x3C00), (0x3F803000, 0x3C02), (0x3DCCCCCD, 0x2E66), (0x3EAAAA9F, 0x3555),
        (0x33146D62, 0x0001), (0x42A452D9, 0x5523), (0x330DEBF1, 0x0001), (0xB908A55C, 0x8845),
        (0x3C145561, 0x20A3), (0x3B92449D, 0x1C92), (0xB5102325, 0x8009), (0x45B59973, 0x6DAD),
        (0x4069538B, 0x434B), (0x4537D533, 0x69BF), (0x32F4252B, 0x0000), (0x40AEF2BA, 0x4578),
        (0xB89A7214, 0x84D4), (0xBC8574B1, 0xA42C), (0xC596A98C, 0xECB5), (0x387B2C9F, 0x03ED),
        (0x3ECB6090, 0x365B), (0xB49D02F3, 0x8005), (0xB8A3FA64, 0x8520), (0xC520BEC2, 0xE906),
    ]

    @Test func floatToHalfMatchesNumpy() {
        for (f, h) in Self.numpyCasts {
            #expect(floatToHalf(Float(bitPattern: f)) == h, "float bits 0x\(String(f, radix: 16))")
        }
        #expect(floatToHalf(.nan) & 0x7C00 == 0x7C00 && floatToHalf(.nan) & 0x3FF != 0)
        #expect(floatToHalf(-.infinity) == 0xFC00)
    }
}
