import { strict as assert } from 'node:assert';

export function total(items) {
  assert.ok(Array.isArray(items));
  return formatPrice(items.reduce((sum, item) => sum + item.cents, 0));
}
