import { quote } from '../src/services/pricing';

test('quote adds German VAT', () => {
  expect(quote({ lines: [{ price: '10.00', quantity: 2 }] }, 'DE').total).toBe('23.80');
});
