import { generatePassword, meetsEntraComplexity } from '../../activities/password';

describe('generatePassword', () => {
  test('meets Entra complexity, with all four classes, every time', () => {
    for (let i = 0; i < 500; i++) {
      const p = generatePassword();
      expect(p).toHaveLength(32);
      expect(meetsEntraComplexity(p)).toBe(true);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[0-9]/);
      expect(p).toMatch(/[^a-zA-Z0-9]/);
    }
  });
  test('does not repeat', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generatePassword()));
    expect(seen.size).toBe(200);
  });
  test('the complexity check rejects weak passwords', () => {
    expect(meetsEntraComplexity('short1A')).toBe(false);
    expect(meetsEntraComplexity('alllowercaseletters')).toBe(false);
    expect(meetsEntraComplexity('lowerUPPER1')).toBe(true);
    expect(() => generatePassword(4)).toThrow(RangeError);
  });
});
