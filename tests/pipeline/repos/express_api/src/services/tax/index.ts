const RATES: Record<string, number> = { DE: 0.19, FR: 0.2, NL: 0.21 };

export default function taxFor(country: string) {
  const rate = RATES[country];
  return { apply: (cents: number) => Math.round(cents * rate) };
}
