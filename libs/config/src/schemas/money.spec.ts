import { formatUsd, microsToUsd, usdAmountSchema, usdToMicros } from './money';

describe('money', () => {
  it('converts USD to integer micro-dollars without floating-point drift', () => {
    expect(usdToMicros(0.1)).toBe(100_000n);
    expect(usdToMicros(0.07)).toBe(70_000n);
    expect(usdToMicros(100)).toBe(100_000_000n);
    expect(usdToMicros(0.000001)).toBe(1n);
    expect(microsToUsd(1_000_000n)).toBe(1);
    expect(microsToUsd(190_000n)).toBe(0.19);
  });

  it('formats amounts with cents, and further digits only when they matter', () => {
    expect(formatUsd(100_000_000n)).toBe('$100.00');
    expect(formatUsd(5_000_000n)).toBe('$5.00');
    expect(formatUsd(2_500_000n)).toBe('$2.50');
    expect(formatUsd(5_000n)).toBe('$0.005');
    expect(formatUsd(1n)).toBe('$0.000001');
    expect(formatUsd(1_234_567_890_000n)).toBe('$1,234,567.89');
    expect(formatUsd(0n)).toBe('$0.00');
  });

  it('accepts at most six decimal places', () => {
    expect(usdAmountSchema.safeParse(0.123456).success).toBe(true);
    expect(usdAmountSchema.safeParse(0.1234567).success).toBe(false);
    expect(usdAmountSchema.safeParse(-1).success).toBe(false);
  });
});
