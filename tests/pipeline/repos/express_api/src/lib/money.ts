export const toCents = (price: string) => Math.round(Number(price) * 100);
export const formatCents = (cents: number) => (cents / 100).toFixed(2);
