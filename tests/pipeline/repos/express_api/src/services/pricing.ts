import { formatCents, toCents } from '../lib/money';
import taxFor from './tax';

export interface Line { price: string; quantity: number }

export function quote(order: { lines: Line[] }, country: string) {
  const subtotal = order.lines.reduce((sum, line) => sum + toCents(line.price) * line.quantity, 0);
  const tax = taxFor(country).apply(subtotal);
  return { subtotal: formatCents(subtotal), tax: formatCents(tax), total: formatCents(subtotal + tax) };
}
